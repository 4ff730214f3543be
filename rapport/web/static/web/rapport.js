// Keyboard shortcuts and small conveniences. No inline scripts: the CSP forbids them.
document.addEventListener("keydown", function (event) {
  var target = event.target;
  var typing = target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT" || target.isContentEditable);
  if (typing) { return; }
  var field = document.querySelector('[data-shortcut="' + event.key + '"]');
  if (field) { event.preventDefault(); field.focus(); }
});
// "Select all" checkbox on lists with bulk actions.
document.addEventListener("change", function (event) {
  var box = event.target;
  if (box && box.matches("[data-select-all]")) {
    document.querySelectorAll('input[name="' + box.dataset.selectAll + '"]').forEach(function (b) { b.checked = box.checked; });
  }
});
// Confirm destructive buttons.
document.addEventListener("click", function (event) {
  var button = event.target.closest ? event.target.closest("[data-confirm]") : null;
  if (button && !window.confirm(button.dataset.confirm)) { event.preventDefault(); }
});
// Deal board: drag a card onto another column. The drop picks that stage in the card's own
// "Move to" form and submits it, so dragging, the keyboard and pages without JavaScript share
// one endpoint and its error messages.
(function () {
  var dragged = null;
  function element(event) {
    var target = event.target;
    return target && target.nodeType === 1 ? target : target && target.parentElement;
  }
  function columnOf(event) {
    var el = element(event);
    return el ? el.closest(".board-column[data-stage]") : null;
  }
  function clearTargets() {
    document.querySelectorAll(".board-column.drop-target").forEach(function (c) { c.classList.remove("drop-target"); });
  }
  document.addEventListener("dragstart", function (event) {
    var el = element(event);
    var card = el ? el.closest(".deal-card[draggable]") : null;
    if (!card) { return; }
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.deal);
  });
  document.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("dragging"); }
    dragged = null;
    clearTargets();
  });
  document.addEventListener("dragover", function (event) {
    var column = columnOf(event);
    if (!column || !dragged) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    if (!column.classList.contains("drop-target")) { clearTargets(); column.classList.add("drop-target"); }
  });
  document.addEventListener("drop", function (event) {
    var column = columnOf(event);
    var card = dragged;
    if (!column || !card) { return; }
    event.preventDefault();
    clearTargets();
    var form = card.querySelector("form.move-form");
    var select = form ? form.querySelector("select[name=stage]") : null;
    if (!select || select.value === column.dataset.stage) { return; }
    select.value = column.dataset.stage;
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
  });
})();
