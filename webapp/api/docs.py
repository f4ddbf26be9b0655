"""The API documentation pages: Swagger UI at /docs and ReDoc at /redoc, over /openapi.json."""

from flask import Blueprint, current_app, make_response, render_template

from webapp.web.assets import CDN_ORIGIN

bp = Blueprint("api_docs", __name__)


def _docs_page(template: str, extra_style: str = ""):
    response = make_response(render_template(template))
    origins = "'self'" if current_app.config["ASSET_MODE"] == "local" else f"'self' {CDN_ORIGIN}"
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src {origins}; style-src {origins}{extra_style}; img-src 'self' data:; "
        f"worker-src 'self' blob:; connect-src 'self'; font-src 'self' data: {CDN_ORIGIN}; object-src 'none'; "
        "base-uri 'self'; frame-ancestors 'none'")
    return response


@bp.get("/docs")
def swagger_ui():
    return _docs_page("api/swagger.html")


@bp.get("/redoc")
def redoc():
    # ReDoc styles itself with runtime-generated <style> elements, so this page alone allows inline styles.
    return _docs_page("api/redoc.html", " 'unsafe-inline'")
