// The Today page's keyboard: j/k move between lines, x completes, s snoozes to tomorrow,
// o opens the record. Actions are the line's own buttons, so the keyboard and the mouse share
// one endpoint and its error messages. No inline scripts: the CSP forbids them.
(function () {
  function lines() { return Array.prototype.slice.call(document.querySelectorAll(".agenda-line")); }
  function current() {
    var el = document.activeElement;
    return el && el.closest ? el.closest(".agenda-line") : null;
  }
  function move(step) {
    var all = lines();
    if (!all.length) { return; }
    var at = all.indexOf(current());
    var next = all[Math.max(0, Math.min(all.length - 1, at < 0 ? 0 : at + step))];
    next.focus();
  }
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT")) { return; }
    var line = current();
    var button = null;
    if (event.key === "j") { event.preventDefault(); move(1); return; }
    if (event.key === "k") { event.preventDefault(); move(-1); return; }
    if (!line) { return; }
    if (event.key === "x") { button = line.querySelector('[data-action="complete"]'); }
    if (event.key === "s") { button = line.querySelector('[data-action="snooze"]'); }
    if (event.key === "o") {
      var link = line.querySelector("[data-open]");
      if (link) { event.preventDefault(); window.location = link.href; }
      return;
    }
    if (button) {
      event.preventDefault();
      var after = line.nextElementSibling || line.previousElementSibling;
      button.click();
      if (after) { after.focus(); }
    }
  });
  // Server notices after an htmx action ("Done: …") land in the page's live region.
  document.body.addEventListener("rapport:notice", function (event) {
    var box = document.getElementById("agenda-notice");
    if (box) { box.innerHTML = ""; var p = document.createElement("p"); p.className = "message success";
      p.setAttribute("role", "status"); p.textContent = event.detail.value; box.appendChild(p); }
  });
})();
