// AgentDesk's page behaviour: the narrow-screen menu, menus, the confirmation dialog, toasts,
// copy buttons, and the IME guard. Everything is delegated from document, so it also covers
// content HTMX swaps in later. No inline scripts or styles (the CSP forbids both).
(function () {
  "use strict";

  // ---- Narrow-screen menu and the <details> menus -----------------------------------------------
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest(".nav-toggle");
    if (toggle) {
      var bar = document.getElementById("topbar");
      var open = bar.classList.toggle("nav-open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      return;
    }
    // A click outside an open menu closes it, as in any desktop menu.
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (summary && menu.contains(document.activeElement)) summary.focus();
    });
  });

  // ---- Confirmation dialog ------------------------------------------------------------------------
  // Forms and buttons with hx-confirm="question" ask in the page's <dialog> first; data-confirm-label names
  // the action on the confirming button, data-confirm-danger paints it red. An HTMX request waits
  // for the answer in htmx:confirm; a plain form (or any form, if HTMX failed to load) in its submit.
  function ask(trigger, proceed) {
    var dialog = document.getElementById("confirm-dialog");
    if (!dialog || typeof dialog.showModal !== "function") {
      if (window.confirm(trigger.getAttribute("hx-confirm"))) proceed();
      return;
    }
    document.getElementById("confirm-message").textContent = trigger.getAttribute("hx-confirm");
    var ok = document.getElementById("confirm-ok");
    ok.textContent = trigger.getAttribute("data-confirm-label") || ok.getAttribute("data-default") || ok.textContent;
    ok.className = "btn " + (trigger.hasAttribute("data-confirm-danger") ? "btn-danger solid" : "btn-primary");
    dialog.returnValue = "";
    dialog.addEventListener("close", function onClose() {
      dialog.removeEventListener("close", onClose);
      if (dialog.returnValue === "confirm") proceed();
      else if (trigger.focus) trigger.focus();
    });
    dialog.showModal();
  }
  var okButton = document.getElementById("confirm-ok");
  if (okButton) okButton.setAttribute("data-default", okButton.textContent);

  document.addEventListener("htmx:confirm", function (event) {
    var trigger = event.detail.elt;
    if (!event.detail.question || !trigger) return;
    event.preventDefault();
    ask(trigger, function () { event.detail.issueRequest(true); });
  });
  function sentByHtmx(form, submitter) {
    var hx = "[hx-post],[hx-get],[hx-put],[hx-patch],[hx-delete]";
    return !!window.htmx && (form.matches(hx) || (!!submitter && submitter.matches(hx)));
  }
  document.addEventListener("submit", function (event) {
    var form = event.target, submitter = event.submitter;
    if (sentByHtmx(form, submitter)) return;  // HTMX asks through htmx:confirm
    var trigger = submitter && submitter.hasAttribute("hx-confirm") ? submitter
      : form.hasAttribute("hx-confirm") ? form : null;
    if (!trigger || form.dataset.confirmed) return;
    event.preventDefault();
    ask(trigger, function () {
      form.dataset.confirmed = "1";
      form.requestSubmit(submitter || undefined);
    });
  });

  // ---- Toasts -------------------------------------------------------------------------------------
  document.addEventListener("click", function (event) {
    var dismiss = event.target.closest("[data-dismiss]");
    if (dismiss) dismiss.closest(".flash").remove();
  });

  // ---- Copy buttons: <button data-copy="#element-id" data-copied="Copied"> --------------------------
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.textContent.trim();
    var done = function () {
      var status = button.querySelector(".copy-status") || button;
      var label = status.textContent;
      status.textContent = button.getAttribute("data-copied") || label;
      setTimeout(function () { status.textContent = label; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
    } else {
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      document.execCommand("copy");
      done();
    }
  });

  // ---- Japanese input: the Enter that confirms an IME conversion never submits a form -------------
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.isComposing || event.keyCode === 229) &&
        event.target.matches && event.target.matches("input, select")) {
      event.preventDefault();
    }
  }, true);
})();

// What the pages' charts share: the theme's colours (light-dark() pairs, resolved by the browser
// for a canvas) and UTC days as short local dates.
window.AgentDesk = window.AgentDesk || {};
window.AgentDesk.themeColors = function (near) {
  "use strict";
  var probe = document.createElement("span");
  near.appendChild(probe);
  var found = {};
  ["--brand", "--off", "--ok", "--muted", "--line", "--ink"].forEach(function (name) {
    probe.style.color = "var(" + name + ")";
    found[name] = getComputedStyle(probe).color;
  });
  probe.remove();
  return found;
};
window.AgentDesk.dayLabels = function (days) {
  "use strict";
  return days.map(function (day) {
    return new Date(day + "T00:00:00Z").toLocaleDateString(document.documentElement.lang, { month: "numeric", day: "numeric", timeZone: "UTC" });
  });
};
