"""Socket.IO's JSON (webapp/live/codec.py): written by orjson for speed, and what it declines written
as the standard library would, so clients see no difference."""

import json

from webapp.live import codec


def test_packets_are_written_as_the_standard_library_reads_them():
    value = {"type": "output", "payload": {"content": "\x1b[32m移行 done\x1b[0m\r\n", "n": 1.5, "ok": True,
                                           "none": None}}
    assert json.loads(codec.dumps(value)) == value
    assert "移行" in codec.dumps(value)  # UTF-8 on the wire, not \\u escapes
    assert json.loads(codec.dumps({"big": 10 ** 30})) == {"big": 10 ** 30}  # beyond orjson


def test_the_apps_socket_io_writes_with_it(app):
    from engineio import packet

    assert app.extensions["socketio"].server.packet_class.json is codec and packet.Packet.json is codec
