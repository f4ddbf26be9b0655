"""Front-end files: pinned versions with SRI hashes, served from a CDN or from static/vendor.

The same files are committed under static/vendor (`make assets` refreshes them from npm and a test
checks each against its SRI hash), so ASSET_MODE=local needs no tool, and in CDN mode a page whose
CDN file fails to load (offline, blocked, tampered with) loads the local copy instead: the tags
carry `data-fallback`, which static/js/boot.js acts on.
"""

from markupsafe import Markup, escape

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
    "socketio": {
        "package": "socket.io-client",
        "version": "4.8.4",
        "file": "dist/socket.io.min.js",
        "integrity": "sha384-fBrXvbDtHoeKWJ/hcA6M+YGueiDW+h45I7V6F2kD1S8bOkrF9rZYPLVkCR6BLR/1",
    },
    "xterm": {
        "package": "@xterm/xterm",
        "version": "6.0.0",
        "file": "lib/xterm.js",
        "integrity": "sha384-f/1U6Z9wM4D71a5eRXEZnyOTMOvjqxr2XLwh+Go1OvIl3L3tOcvUrzudnhbECwl4",
    },
    "xterm-css": {
        "package": "@xterm/xterm",
        "version": "6.0.0",
        "file": "css/xterm.css",
        "integrity": "sha384-n2n7twoohnW+d3myBKaUgl7DSiwidw6MkQy9oesGzkPpMjejKRR3XlnD+5yCdtBD",
    },
    "xterm-fit": {
        "package": "@xterm/addon-fit",
        "version": "0.11.0",
        "file": "lib/addon-fit.js",
        "integrity": "sha384-txoiwu4RR2GD3qySbaj+BbzibkLbSJRcfqGYMu6z1EqHil4A2dyBiBW5dlacG6OR",
    },
    "chart": {
        "package": "chart.js",
        "version": "4.5.1",
        "file": "dist/chart.umd.min.js",
        "integrity": "sha384-jb8JQMbMoBUzgWatfe6COACi2ljcDdZQ2OxczGA3bGNeWe+6DChMTBJemed7ZnvJ",
    },
}


def local_url(name: str) -> str:
    return url_for("static", filename=f"vendor/{ASSETS[name]['file'].rsplit('/', 1)[-1]}")


def asset_url(name: str) -> str:
    asset = ASSETS[name]
    if current_app.config["ASSET_MODE"] == "local":
        return local_url(name)
    return f"{CDN_ORIGIN}/npm/{asset['package']}@{asset['version']}/{asset['file']}"


def asset_tag(name: str) -> Markup:
    """The <script defer> or stylesheet <link> for a pinned file, with its SRI hash and, from the
    CDN, the local copy to fall back on."""
    asset, url = ASSETS[name], asset_url(name)
    common = f'integrity="{escape(asset["integrity"])}" crossorigin="anonymous"'
    if url != (local := local_url(name)):
        common += f' data-fallback="{escape(local)}"'
    if asset["file"].endswith(".css"):
        return Markup(f'<link rel="stylesheet" href="{escape(url)}" {common}>')
    return Markup(f'<script src="{escape(url)}" {common} defer></script>')


def asset_sources(*names: str) -> str:
    """A CSP source list: this site, plus in CDN mode the exact file URL of each named asset (the
    CDN serves any npm package, so trusting its origin would trust all of them)."""
    if current_app.config["ASSET_MODE"] == "local":
        return "'self'"
    return " ".join(["'self'", *(asset_url(name) for name in names)])
