"""A tiny Stripe API on loopback: POST /v1/checkout/sessions as Stripe answers it (form-encoded
parameters in, a Checkout Session out), so the real `stripe` library is exercised. A wrong secret
key gets Stripe's 401; `fail_next` makes the next call a 500. Requests are kept in `sessions`."""

from __future__ import annotations

import json
import secrets
import threading

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


class FakeStripe:
    def __init__(self, secret_key: str = "sk_test_fake_0123456789"):
        self.secret_key = secret_key
        self.sessions: list[dict] = []
        self.fail_next = False
        self.server = make_server("127.0.0.1", 0, self, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.headers.get("Authorization") != f"Bearer {self.secret_key}":
            body, status = {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}}, 401
        elif self.fail_next:
            self.fail_next = False
            body, status = {"error": {"type": "api_error", "message": "Something went wrong"}}, 500
        elif request.path == "/v1/checkout/sessions" and request.method == "POST":
            params = request.form.to_dict()
            self.sessions.append(params)
            session_id = f"cs_test_{secrets.token_hex(12)}"
            body, status = {"id": session_id, "object": "checkout.session", "mode": params.get("mode"),
                            "url": f"https://checkout.stripe.com/c/pay/{session_id}", "status": "open",
                            "client_reference_id": params.get("client_reference_id"),
                            "success_url": params.get("success_url"), "cancel_url": params.get("cancel_url")}, 200
        else:
            body, status = {"error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}}, 404
        return Response(json.dumps(body), status=status, mimetype="application/json",
                        headers={"Request-Id": "req_fake"})(environ, start_response)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
