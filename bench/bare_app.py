"""The baseline: a bare Flask app answering one route with exactly the bytes the real endpoint sends."""

import os
from pathlib import Path

from flask import Flask, Response

app = Flask(__name__)
BODY = Path(os.environ["BENCH_BODY_FILE"]).read_bytes()


@app.get("/v1/users/<platform>/<username>/llm-config")
def same_bytes(platform, username):
    return Response(BODY, mimetype="application/json")
