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
