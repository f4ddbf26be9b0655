// Starts Swagger UI or ReDoc on /docs and /redoc (kept out of the pages so the CSP needs no inline
// script), as soon as the library is there: from the CDN, or its local copy (boot.js).
(function () {
  "use strict";
  function start() {
    var swagger = document.getElementById("swagger-ui");
    if (swagger && window.SwaggerUIBundle && !swagger.dataset.started) {
      swagger.dataset.started = "1";
      window.SwaggerUIBundle({ url: swagger.dataset.specUrl, dom_id: "#swagger-ui", deepLinking: true });
    }
    var redoc = document.getElementById("redoc");
    if (redoc && window.Redoc && !redoc.dataset.started) {
      redoc.dataset.started = "1";
      window.Redoc.init(redoc.dataset.specUrl, {}, redoc);
    }
  }
  start();
  document.addEventListener("agentdesk:asset", start);
})();
