/* The assignment rules page: drag rules into a new order (SortableJS); the order is posted as a form. */
document.addEventListener("DOMContentLoaded", function () {
  var list = document.querySelector("[data-rule-order]");
  if (!list || !window.Sortable) { return; }
  var form = document.getElementById(list.getAttribute("data-rule-order"));
  window.Sortable.create(list, {
    handle: "[data-drag-handle]",
    animation: 150,
    onEnd: function () {
      form.querySelectorAll("input[name=rule_ids]").forEach(function (input) { input.remove(); });
      list.querySelectorAll("[data-rule-id]").forEach(function (row) {
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = "rule_ids";
        input.value = row.getAttribute("data-rule-id");
        form.appendChild(input);
      });
      form.submit();
    }
  });
});
