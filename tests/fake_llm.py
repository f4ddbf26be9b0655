"""A tiny OpenAI-compatible and Ollama-compatible server on loopback, for "Test connection".

GET /v1/models answers like OpenAI (and LM Studio) when the Bearer key matches; GET /api/tags
answers like Ollama. Every request's Authorization header is recorded, so tests can prove a
stored key was (or was not) sent.
"""

from __future__ import annotations

import json
import threading

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


class FakeLLM:
    def __init__(self, api_key: str = "sk-test-good-key-0000"):
        self.api_key = api_key
        self.models = ["gpt-4o", "gpt-4o-mini"]
        self.ollama_models = ["qwen3:30b", "llama3.1:8b"]
        self.seen_authorization: list[str] = []
        self.server = make_server("127.0.0.1", 0, self, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.seen_authorization.append(request.headers.get("Authorization", ""))
        if request.path == "/v1/models":
            if request.headers.get("Authorization") != f"Bearer {self.api_key}":
                body, status = {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                                          "code": "invalid_api_key"}}, 401
            else:
                body, status = {"object": "list", "data": [
                    {"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in self.models]}, 200
        elif request.path == "/api/tags":
            body, status = {"models": [{"name": m, "size": 1} for m in self.ollama_models]}, 200
        else:
            body, status = {"error": "not found"}, 404
        return Response(json.dumps(body), status=status, mimetype="application/json")(environ, start_response)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
