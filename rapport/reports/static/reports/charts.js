// Draws the insights pages' charts. Each chart's Vega-Lite spec travels in the page as an inert
// JSON data block (no inline script: the CSP forbids them); this script, loaded with the page's
// nonce after the vendored vega, vega-lite and vega-embed, finds the blocks and draws them.
// Vega compiles its expressions with `new Function` unless told to interpret them (`ast`), which
// the CSP would refuse; its default styles and tooltip styles are inline <style> elements, also
// refused, so rapport's own stylesheet (reports/analytics.css) styles them instead.
(function () {
  var options = {
    actions: false,
    renderer: "svg",
    ast: true,
    defaultStyle: false,
    tooltip: { disableDefaultStyle: true }
  };

  function draw(root) {
    if (!window.vegaEmbed) { return; }
    (root || document).querySelectorAll("[data-vega-spec]").forEach(function (element) {
      if (element.dataset.drawn) { return; }
      var block = document.getElementById(element.dataset.vegaSpec);
      if (!block) { return; }
      element.dataset.drawn = "pending";
      var spec;
      try {
        spec = JSON.parse(block.textContent);
      } catch (error) {
        element.dataset.drawn = "failed";
        return;
      }
      window.vegaEmbed(element, spec, options).then(function () {
        element.dataset.drawn = "yes";
      }).catch(function (error) {
        element.dataset.drawn = "failed";
        element.textContent = "The chart could not be drawn; the table has its numbers.";
        if (window.console) { window.console.warn("chart", element.id, error); }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
})();
