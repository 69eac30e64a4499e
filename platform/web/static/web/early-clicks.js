// A click on a button before the page's module scripts have wired it would be lost (a
// slow load shows the page before its scripts run). Such clicks are held, and replayed
// once the scripts have run: module scripts execute before DOMContentLoaded fires.
(function () {
  "use strict";
  const held = [];
  function hold(event) {
    const target = event.target instanceof Element ? event.target.closest("button, [role=tab]") : null;
    if (!target || !event.isTrusted) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    if (!held.includes(target)) held.push(target);
  }
  document.addEventListener("click", hold, true);
  document.addEventListener("DOMContentLoaded", function () {
    document.removeEventListener("click", hold, true);
    for (const target of held) {
      if (target.isConnected && !target.disabled) target.click();
    }
  });
})();
