"""Front-end files: pinned versions with SRI hashes, served from a CDN or from static/vendor."""

from flask import current_app, url_for

CDN_ORIGIN = "https://cdn.jsdelivr.net"

# name -> npm package, version (pinned in package.json too), file inside the package, SRI of that file.
ASSETS = {
    "htmx": {
        "package": "htmx.org",
        "version": "2.0.8",
        "file": "dist/htmx.min.js",
        "integrity": "sha384-/TgkGk7p307TH7EXJDuUlgG3Ce1UVolAOFopFekQkkXihi5u/6OCvVKyz1W+idaz",
    },
    "swagger-ui-js": {
        "package": "swagger-ui-dist",
        "version": "5.35.0",
        "file": "swagger-ui-bundle.js",
        "integrity": "sha384-gjRm0bEPMeTmMh5jT2cHccIwCUZSTd8YC+j0d0sXw0MdGEfScduGpSyF3ZSSLkX9",
    },
    "swagger-ui-css": {
        "package": "swagger-ui-dist",
        "version": "5.35.0",
        "file": "swagger-ui.css",
        "integrity": "sha384-WlYgdmXYOOBWL5apwjDEZwN+U3HmXSSu5R6V5aGxEcf7z+KuRNwBhoxKVN1i3D5I",
    },
    "redoc": {
        "package": "redoc",
        "version": "2.5.2",
        "file": "bundles/redoc.standalone.js",
        "integrity": "sha384-70P5pmIdaQdVbxvjhrcTDv1uKcKqalZ3OHi7S2J+uzDl0PW8dO6L+pHOpm9EEjGJ",
    },
}


def asset_url(name: str) -> str:
    asset = ASSETS[name]
    if current_app.config["ASSET_MODE"] == "local":
        return url_for("static", filename=f"vendor/{asset['file'].rsplit('/', 1)[-1]}")
    return f"{CDN_ORIGIN}/npm/{asset['package']}@{asset['version']}/{asset['file']}"


def asset_sources(*names: str) -> str:
    """A CSP source list: this site, plus in CDN mode the exact file URL of each named asset (the
    CDN serves any npm package, so trusting its origin would trust all of them)."""
    if current_app.config["ASSET_MODE"] == "local":
        return "'self'"
    return " ".join(["'self'", *(asset_url(name) for name in names)])
