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
}


def asset_url(name: str) -> str:
    asset = ASSETS[name]
    if current_app.config["ASSET_MODE"] == "local":
        return url_for("static", filename=f"vendor/{asset['file'].rsplit('/', 1)[-1]}")
    return f"{CDN_ORIGIN}/npm/{asset['package']}@{asset['version']}/{asset['file']}"


def script_origins() -> str:
    """Origins the CSP must allow for scripts: exactly the CDN in use, nothing else."""
    return "'self'" if current_app.config["ASSET_MODE"] == "local" else f"'self' {CDN_ORIGIN}"
