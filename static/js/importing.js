/* docctl: follow an import's progress; the page works without this file (Refresh link). */
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box || box.getAttribute("data-state") !== "running") { return; }
  var url = box.getAttribute("data-status-url");
  var bar = document.getElementById("import-bar");
  var count = document.getElementById("import-count");
  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (!status) { window.setTimeout(poll, 5000); return; }
        bar.max = Math.max(status.total, 1);
        bar.value = status.done;
        if (count) { count.textContent = status.done + " / " + status.total; }
        if (status.state !== "running") { window.location.reload(); return; }
        window.setTimeout(poll, 1500);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
}());
