"""The API documentation pages: Swagger UI at /docs and ReDoc at /redoc, over /openapi.json."""

from flask import Blueprint, make_response, render_template

from webapp.web.assets import asset_sources

bp = Blueprint("api_docs", __name__)


def _docs_page(template: str, scripts: tuple[str, ...], styles: tuple[str, ...], extra_style: str = ""):
    response = make_response(render_template(template))
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src {asset_sources(*scripts)}; style-src {asset_sources(*styles)}{extra_style}; "
        "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; font-src 'self' data:; "
        "object-src 'none'; base-uri 'self'; frame-ancestors 'none'")
    return response


@bp.get("/docs")
def swagger_ui():
    return _docs_page("api/swagger.html", ("swagger-ui-js",), ("swagger-ui-css",))


@bp.get("/redoc")
def redoc():
    # ReDoc styles itself with runtime-generated <style> elements, so this page alone allows inline styles.
    return _docs_page("api/redoc.html", ("redoc",), (), " 'unsafe-inline'")
