"""A small GitHub + GitLab OAuth 2 provider on loopback, speaking the real wire protocol.

It serves GitHub's /login/oauth/authorize, /login/oauth/access_token, /api/v3/user (Enterprise) and
/user (github.com style), and GitLab's /oauth/authorize, /oauth/token and /api/v4/user. The
authorize step approves at once as whichever person the test has "signed in" at the provider.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass, field
from urllib.parse import urlencode

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


@dataclass
class ProviderUser:
    id: int
    login: str
    name: str = ""
    email: str | None = None


@dataclass
class FakeIdP:
    clients: dict[str, str] = field(default_factory=dict)  # client_id -> secret
    signed_in: dict[str, ProviderUser] = field(default_factory=dict)  # platform -> person at the provider
    deny_next: dict[str, str] = field(default_factory=dict)  # platform -> OAuth error to answer with
    codes: dict[str, dict] = field(default_factory=dict)
    tokens: dict[str, tuple[str, ProviderUser]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    url: str = ""

    def sign_in(self, platform: str, user: ProviderUser) -> None:
        self.signed_in[platform] = user

    # --- WSGI -------------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.requests.append(f"{request.method} {request.path}")
        routes = {
            "/login/oauth/authorize": lambda: self.authorize(request, "github"),
            "/oauth/authorize": lambda: self.authorize(request, "gitlab"),
            "/login/oauth/access_token": lambda: self.token(request, "github"),
            "/oauth/token": lambda: self.token(request, "gitlab"),
            "/api/v3/user": lambda: self.user(request, "github"),
            "/user": lambda: self.user(request, "github"),
            "/api/v4/user": lambda: self.user(request, "gitlab"),
        }
        handler = routes.get(request.path)
        response = handler() if handler else self.json({"message": "Not Found"}, 404)
        return response(environ, start_response)

    @staticmethod
    def json(body: dict, status: int = 200) -> Response:
        return Response(json.dumps(body), status=status, mimetype="application/json")

    @staticmethod
    def redirect(target: str, params: dict) -> Response:
        return Response("", status=302, headers={"Location": f"{target}?{urlencode(params)}"})

    def authorize(self, request: Request, platform: str) -> Response:
        args = request.args
        if args.get("client_id") not in self.clients or args.get("response_type") != "code":
            return self.json({"error": "invalid_client"}, 400)
        redirect_uri, state = args.get("redirect_uri", ""), args.get("state", "")
        if not redirect_uri or not state:
            return self.json({"error": "invalid_request", "error_description": "redirect_uri and state required"}, 400)
        if args.get("code_challenge_method") != "S256" or not args.get("code_challenge"):
            return self.json({"error": "invalid_request", "error_description": "PKCE S256 required"}, 400)
        if platform in self.deny_next:
            error = self.deny_next.pop(platform)
            return self.redirect(redirect_uri, {"error": error, "error_description": "The user has denied your application access.", "state": state})
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"platform": platform, "client_id": args["client_id"], "redirect_uri": redirect_uri,
                            "challenge": args["code_challenge"], "user": self.signed_in[platform]}
        return self.redirect(redirect_uri, {"code": code, "state": state})

    def _client_credentials(self, request: Request) -> tuple[str, str]:
        if request.authorization and request.authorization.type == "basic":
            return request.authorization.username or "", request.authorization.password or ""
        return request.form.get("client_id", ""), request.form.get("client_secret", "")

    def token(self, request: Request, platform: str) -> Response:
        client_id, secret = self._client_credentials(request)
        if self.clients.get(client_id) != secret or not secret:
            return self.json({"error": "invalid_client"}, 401)
        grant = self.codes.pop(request.form.get("code", ""), None)
        if request.form.get("grant_type") != "authorization_code" or grant is None or grant["platform"] != platform:
            return self.json({"error": "bad_verification_code"}, 400)
        if grant["redirect_uri"] != request.form.get("redirect_uri") or grant["client_id"] != client_id:
            return self.json({"error": "redirect_uri_mismatch"}, 400)
        verifier = request.form.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if digest != grant["challenge"]:
            return self.json({"error": "invalid_grant", "error_description": "PKCE verification failed"}, 400)
        token = secrets.token_urlsafe(24)
        self.tokens[token] = (platform, grant["user"])
        return self.json({"access_token": token, "token_type": "bearer", "scope": "read:user"})

    def user(self, request: Request, platform: str) -> Response:
        auth = request.headers.get("Authorization", "")
        found = self.tokens.get(auth.removeprefix("Bearer ").strip()) if auth.startswith("Bearer ") else None
        if found is None or found[0] != platform:
            return self.json({"message": "Bad credentials"}, 401)
        person = found[1]
        login_key = "login" if platform == "github" else "username"
        return self.json({"id": person.id, login_key: person.login, "name": person.name, "email": person.email})


class RunningIdP:
    """Serve a FakeIdP on 127.0.0.1 in a background thread."""

    def __init__(self):
        self.idp = FakeIdP()
        self.server = make_server("127.0.0.1", 0, self.idp, threaded=True)
        self.idp.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeIdP:
        self.thread.start()
        return self.idp

    def __exit__(self, *exc):
        self.server.shutdown()
