/*
 * Rapport web forms embedded on your own site. Part of the HTML snippet Rapport gives you for
 * each form; it only fills the form's hidden fields:
 *   rapport_started  a signed start time from Rapport (forms sent faster than a person types are refused),
 *   rapport_page / rapport_referrer  the page the form is on (its UTM parameters go to the lead),
 *   rapport_visitor  the tracking script's anonymous id, when tracking is allowed, so the
 *                    visitor's earlier page views join their contact's timeline.
 * Without JavaScript the form still sends; Rapport then shows it once more on its own page to confirm.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = script ? new URL(script.src).origin : "";

  function set(form, name, value) {
    var input = form.querySelector('input[name="' + name + '"]');
    if (input) input.value = value || "";
  }

  function prepare(form) {
    if (form.getAttribute("data-rapport-ready")) return;
    form.setAttribute("data-rapport-ready", "1");
    var slug = form.getAttribute("data-rapport-form");
    set(form, "rapport_page", location.href.slice(0, 2000));
    set(form, "rapport_referrer", (document.referrer || "").slice(0, 2000));
    fetch(base + "/f/" + encodeURIComponent(slug) + "/start", {credentials: "omit"})
      .then(function (response) { return response.ok ? response.json() : {}; })
      .then(function (data) { set(form, "rapport_started", data.token); })
      .catch(function () { /* Rapport will ask the visitor to confirm on its own page */ });
    form.addEventListener("submit", function () {
      // Read at the last moment: the tracking script may load after this one, or consent may come later.
      var tracker = window.rapport;
      set(form, "rapport_visitor", tracker && tracker.visitorId ? tracker.visitorId() : "");
    });
  }

  function prepareAll() {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-rapport-form]"), prepare);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", prepareAll);
  else prepareAll();
})();
