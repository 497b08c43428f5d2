/* docctl: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  // Uploads and signatures: show progress text (rendered, translated, by the server) and prevent double submits.
  document.querySelectorAll("form[data-busy-form]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("[data-busy-text]");
      if (!button) { return; }
      var text = button.getAttribute("data-busy-text");
      button.setAttribute("data-idle-text", button.textContent);
      // Disable on the next tick so the submission itself is not cancelled.
      window.setTimeout(function () {
        button.disabled = true;
        button.textContent = text;
        var status = form.querySelector(".busy-status");
        if (status) { status.textContent = text; }
      }, 0);
    });
  });
  // Coming back with the browser's Back button: make the form usable again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("[data-idle-text]").forEach(function (button) {
      button.disabled = false;
      button.textContent = button.getAttribute("data-idle-text");
      var status = button.form && button.form.querySelector(".busy-status");
      if (status) { status.textContent = ""; }
    });
  });

  // "Return (with comment)" needs a comment; "Accept" does not.
  document.querySelectorAll("form").forEach(function (form) {
    var buttons = form.querySelectorAll("button[name=decision]");
    buttons.forEach(function (button) {
      button.addEventListener("click", function () {
        form.querySelectorAll("button[data-requires]").forEach(function (other) {
          var field = document.getElementById(other.getAttribute("data-requires"));
          if (field) { field.required = (other === button); }
        });
      });
    });
  });

  // Register a document: show the source field for external documents, refresh the proposed code.
  var form = document.getElementById("new-document");
  if (form) {
    var type = form.querySelector("[name=type]");
    var parent = form.querySelector("[name=parent]");
    var codeInput = form.querySelector("[name=code]");
    var external = form.querySelector("[data-external-only]");
    var sourceInput = form.querySelector("[name=external_source]");
    var proposalText = form.querySelector("[data-proposal-text]");
    var proposal = form.querySelector("[data-proposal]");

    var showExternal = function () {
      var isExternal = type.value === "external";
      if (external) { external.hidden = !isExternal; }
      if (sourceInput) { sourceInput.required = isExternal; }
    };
    var refreshProposal = function () {
      if (!type.value) { return; }
      var params = new URLSearchParams({ type: type.value });
      if (parent && parent.value) { params.set("parent", parent.value); }
      fetch(form.getAttribute("data-propose-url") + "?" + params.toString(),
            { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) { return response.ok ? response.text() : ""; })
        .then(function (html) {
          if (!html) { return; }
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.querySelector("#new-document [name=code]");
          var value = fresh ? fresh.getAttribute("placeholder") || "" : "";
          codeInput.setAttribute("placeholder", value);
          if (proposal) { proposal.textContent = value; }
          if (proposalText) { proposalText.hidden = !value; }
        })
        .catch(function () { /* the server proposes a code on submit anyway */ });
    };
    type.addEventListener("change", function () { showExternal(); refreshProposal(); });
    if (parent) { parent.addEventListener("change", refreshProposal); }
    showExternal();
  }

  // A destructive form asks once before it is sent (data-confirm holds the question).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
})();
