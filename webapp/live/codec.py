"""JSON for Socket.IO packets: written by orjson, because a terminal's output is sent as it streams
and the standard library's encoder was the largest single cost of each `message` event; anything
orjson declines (integers beyond 64 bits) is written by the standard library. Incoming packets are
few and are read by the standard library, exactly as before (orjson reads large integers as floats)."""

from __future__ import annotations

import json

import orjson

loads = json.loads


def dumps(value, **options) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, **options)
