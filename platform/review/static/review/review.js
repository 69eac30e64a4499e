// Review list: "Compare selected" is enabled only for two or more interviews of one exercise.
(function () {
  "use strict";
  var form = document.getElementById("compare-form");
  if (!form) return;
  var button = document.getElementById("compare-button");
  var hint = document.getElementById("compare-hint");
  function update() {
    var checked = Array.prototype.slice.call(form.querySelectorAll("input[name=ids]:checked"));
    var exercises = new Set(checked.map(function (c) { return c.dataset.exercise; }));
    var ok = checked.length >= 2 && exercises.size === 1;
    button.disabled = !ok;
    if (exercises.size > 1) hint.textContent = "Only interviews of the same exercise can be compared.";
    else if (checked.length < 2) hint.textContent = "Pick two or more interviews of the same exercise.";
    else hint.textContent = checked.length + " selected.";
  }
  form.addEventListener("change", update);
  update();
})();
