"""A tiny OpenAI-compatible and Ollama-compatible server on loopback, for "Test connection" and
the code review's LLM pass.

GET /v1/models answers like OpenAI (and LM Studio) when the Bearer key matches; GET /api/tags
answers like Ollama. POST /v1/chat/completions (OpenAI's chat-completions protocol) and POST
/api/chat (Ollama's) answer with the next of `replies`: a string is the message content, a number
is a delay in seconds before an answer, a dict {"tool": name, "arguments": {...}} calls that tool
(function calling, each protocol's way). A request with "stream": true gets the answer in pieces, the
way each protocol streams it. Every request's Authorization header is recorded, so tests
can prove a stored key was (or was not) sent; chat requests' bodies are kept in `chats`.

POST /v1/embeddings (OpenAI's) and POST /api/embed (Ollama's) answer one vector per input: one
dimension per group of `concepts` (1 when the text has any of the group's words, so "vacation" and
休暇 can mean the same), then a few dimensions from the text's characters (never all zero). Their
bodies are kept in `embeds`; `embed_status` and `embed_delay` make them fail or slow, `embed_reply`
replaces the next answer's vectors (a hostile provider).
"""

from __future__ import annotations

import json
import threading
import time

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


FLOOD = "__flood__"  # a reply that, streamed, never ends


class FakeLLM:
    def __init__(self, api_key: str = "sk-test-good-key-0000"):
        self.api_key = api_key
        self.models = ["gpt-4o", "gpt-4o-mini"]
        self.ollama_models = ["qwen3:30b", "llama3.1:8b"]
        self.seen_authorization: list[str] = []
        self.replies: list = []
        self.chats: list[dict] = []
        self.piece_delay = 0.0  # seconds between the pieces of a streamed answer
        self.concepts: list[tuple[str, ...]] = []
        self.embeds: list[dict] = []
        self.embed_status, self.embed_delay, self.embed_reply = 200, 0.0, None
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
        elif request.path.startswith("/redirect/"):  # a provider that sends clients elsewhere
            return Response("", status=307, headers={"Location": request.path.removeprefix("/redirect")})(
                environ, start_response)
        elif request.path in ("/v1/chat/completions", "/api/chat") and request.method == "POST":
            body, status = self._chat(request)
            if status == 200 and self.chats[-1].get("stream"):
                return Response(self._stream(request.path, body), mimetype="text/event-stream"
                                if request.path == "/v1/chat/completions" else "application/x-ndjson")(
                    environ, start_response)
        elif request.path in ("/v1/embeddings", "/api/embed") and request.method == "POST":
            body, status = self._embed(request)
        else:
            body, status = {"error": "not found"}, 404
        return Response(json.dumps(body), status=status, mimetype="application/json")(environ, start_response)

    def _chat(self, request) -> tuple[dict, int]:
        asked = json.loads(request.get_data())
        self.chats.append({"path": request.path, **asked})
        reply = self.replies.pop(0) if self.replies else '{"findings": []}'
        if isinstance(reply, (int, float)):
            time.sleep(reply)
            reply = '{"findings": []}'
        call = reply if isinstance(reply, dict) else None
        if request.path == "/api/chat":
            message = {"role": "assistant", "content": "" if call else reply}
            if call:
                message["tool_calls"] = [{"function": {"name": call["tool"], "arguments": call["arguments"]}}]
            return {"model": asked["model"], "created_at": "2026-11-28T00:00:00Z", "done": True,
                    "message": message, "prompt_eval_count": 120, "eval_count": 30}, 200
        message = {"role": "assistant", "content": None if call else reply}
        if call:
            message["tool_calls"] = [{"id": f"call_{len(self.chats)}", "type": "function", "function": {
                "name": call["tool"], "arguments": json.dumps(call["arguments"])}}]
        return {"id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": asked["model"],
                "choices": [{"index": 0, "finish_reason": "tool_calls" if call else "stop", "message": message}],
                "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150}}, 200

    def vector(self, text: str) -> list[float]:
        lowered = text.lower()
        meaning = [1.0 if any(word in lowered for word in group) else 0.0 for group in self.concepts]
        characters = [0.0] * 8
        for character in lowered:
            characters[ord(character) % 8] += 0.01
        return meaning + [0.01 + value / max(1, len(lowered)) for value in characters]

    def _embed(self, request) -> tuple[dict, int]:
        asked = json.loads(request.get_data())
        self.embeds.append({"path": request.path, **asked})
        # Settings are read on arrival: a slow request still running when a test ends answers as it was asked.
        status, reply, self.embed_reply = self.embed_status, self.embed_reply, None
        time.sleep(self.embed_delay)
        if status != 200:
            return {"error": {"message": "embedding failed", "type": "server_error"}}, status
        texts = [asked["input"]] if isinstance(asked["input"], str) else asked["input"]
        vectors = reply if reply is not None else [self.vector(text) for text in texts]
        tokens = sum(len(text) for text in texts)
        if request.path == "/api/embed":
            return {"model": asked["model"], "embeddings": vectors, "prompt_eval_count": tokens}, 200
        return {"object": "list", "model": asked["model"], "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]}, 200

    def _stream(self, path: str, answer: dict):
        """The answer in pieces of a few characters, `piece_delay` apart: OpenAI's server-sent events
        (chat.completion.chunk, usage last, then [DONE]) or Ollama's NDJSON lines (done: true last)."""
        if path == "/api/chat":
            content, model = answer["message"]["content"], answer["model"]
        else:
            content, model = answer["choices"][0]["message"]["content"], answer["model"]
        if content == FLOOD:  # a hostile server: bytes without end and without a newline
            while True:
                yield b"x" * 65536
        pieces = [content[i:i + 4] for i in range(0, len(content), 4)]
        for piece in pieces:
            time.sleep(self.piece_delay)
            if path == "/api/chat":
                yield json.dumps({"model": model, "message": {"role": "assistant", "content": piece},
                                  "done": False}) + "\n"
            else:
                yield "data: " + json.dumps({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0,
                                             "model": model, "choices": [{"index": 0, "delta": {"content": piece},
                                                                          "finish_reason": None}]}) + "\n\n"
        if path == "/api/chat":
            yield json.dumps({"model": model, "message": {"role": "assistant", "content": ""}, "done": True,
                              "prompt_eval_count": 120, "eval_count": 30}) + "\n"
        else:
            yield "data: " + json.dumps({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0,
                                         "model": model, "choices": [],
                                         "usage": {"prompt_tokens": 120, "completion_tokens": 30,
                                                   "total_tokens": 150}}) + "\n\n"
            yield "data: [DONE]\n\n"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
