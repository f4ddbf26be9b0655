// Runs first, in <head>, before anything is painted: marks the page as scripted (the narrow-screen
// menu collapses only then), and loads the local copy of a CDN file that failed (offline, blocked,
// or an SRI mismatch). Runs before the CDN tags; each carries data-fallback="/static/vendor/<file>". Resource errors do
// not bubble, so they are caught on the way down. When the copy has run, "agentdesk:asset" is
// dispatched on document so code waiting for a library (docs.js, the home page chart) can start.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  function announce(element) {
    document.dispatchEvent(new CustomEvent("agentdesk:asset", { detail: { src: element.src || element.href } }));
  }

  window.addEventListener("error", function (event) {
    var failed = event.target;
    if (!failed || !failed.getAttribute || !failed.hasAttribute("data-fallback") || failed.dataset.fellBack) return;
    failed.dataset.fellBack = "1";
    var local = failed.getAttribute("data-fallback");
    var copy;
    if (failed.tagName === "LINK") {
      copy = document.createElement("link");
      copy.rel = "stylesheet";
      copy.href = local;
    } else {
      copy = document.createElement("script");
      copy.src = local;
      copy.async = false;
      // htmx starts itself on DOMContentLoaded, or at once when readyState is "complete"; the copy
      // may run in between (readyState "interactive") and would then wait for an event that has
      // passed. A deferred script fails only after the page is parsed, so starting at once is
      // right: the copy reads "complete" while it runs.
      if (document.readyState !== "complete") {
        Object.defineProperty(document, "readyState", { configurable: true, get: function () { return "complete"; } });
        var restore = function () { delete document.readyState; };
        copy.addEventListener("load", restore);
        copy.addEventListener("error", restore);
      }
    }
    copy.integrity = failed.integrity;
    copy.crossOrigin = "anonymous";
    copy.addEventListener("load", function () { announce(copy); });
    failed.parentNode.insertBefore(copy, failed.nextSibling);
  }, true);
})();
