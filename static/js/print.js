/* docctl: a "Print" button on printable lists (the page prints without it too: Ctrl+P). */
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
