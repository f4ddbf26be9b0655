// Starts Swagger UI or ReDoc on /docs and /redoc (kept out of the pages so the CSP needs no inline script).
window.addEventListener("DOMContentLoaded", function () {
  var swagger = document.getElementById("swagger-ui");
  if (swagger && window.SwaggerUIBundle) {
    window.SwaggerUIBundle({ url: swagger.dataset.specUrl, dom_id: "#swagger-ui", deepLinking: true });
  }
  var redoc = document.getElementById("redoc");
  if (redoc && window.Redoc) {
    window.Redoc.init(redoc.dataset.specUrl, {}, redoc);
  }
});
