"""Requests to addresses that users typed (an LLM's base URL), made safely.

- Where: the host is resolved once and the connection goes to the address that was checked (no
  DNS rebinding). Link-local and cloud-metadata addresses are always refused; loopback and private
  networks only when the instance allows them (OUTBOUND_ALLOW_PRIVATE: on in development, where
  LM Studio and Ollama run on the same machine, off in production).
- How long: one deadline for the whole exchange, enforced by a watchdog that shuts the socket, so
  a server dripping a byte every few seconds cannot hold a thread; at most a few requests in
  flight per process, the others told to try again.
- What comes back: redirects are never followed; the body is capped; a failure is one generic
  message, plus the status when a real HTTP answer came back, so errors are no port scanner.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_BODY = 2 * 1024 * 1024
# Cloud metadata endpoints outside the link-local range (AWS IPv6, Alibaba, Oracle).
METADATA = {ipaddress.ip_address(a) for a in ("fd00:ec2::254", "100.100.100.200", "192.0.0.192")}
CGNAT = ipaddress.ip_network("100.64.0.0/10")


class OutboundRefused(Exception):
    """The request was not made or did not complete; `status` is set when an HTTP answer came back."""

    def __init__(self, reason: str, status: int | None = None):
        super().__init__(reason)
        self.reason, self.status = reason, status


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str  # as typed: the Host header and the TLS server name
    address: str  # the checked IP address the connection goes to
    port: int
    path: str


def _forbidden(ip, allow_private: bool) -> bool:
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        return _forbidden(mapped, allow_private)
    if ip.is_link_local or ip in METADATA or ip.is_multicast or ip.is_unspecified:
        return True
    if ip.is_loopback or ip.is_private or ip in CGNAT:
        return not allow_private
    return ip.is_reserved


def destination(url: str, *, allow_private: bool) -> Destination:
    """Resolve `url`'s host once and check where it points; OutboundRefused("blocked") if not allowed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused("invalid")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (ValueError, OSError):
        raise OutboundRefused("unreachable") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not addresses or any(_forbidden(ip, allow_private) for ip in addresses):
        raise OutboundRefused("blocked")  # every answer must pass: no "one good, one internal" tricks
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Destination(parts.scheme, parts.hostname, str(addresses[0]), port, path)


class _Slots:
    """At most `size` requests in flight in this process."""

    def __init__(self):
        self._lock = threading.Lock()
        self._busy = 0

    def take(self, size: int) -> bool:
        with self._lock:
            if self._busy >= size:
                return False
            self._busy += 1
            return True

    def give_back(self) -> None:
        with self._lock:
            self._busy -= 1


SLOTS = _Slots()


class KeyedSlots:
    """At most `size` things at once per key (a tenant, a person) in this process."""

    def __init__(self):
        self._lock = threading.Lock()
        self._busy: dict = {}

    def take(self, key, size: int) -> bool:
        with self._lock:
            if self._busy.get(key, 0) >= size:
                return False
            self._busy[key] = self._busy.get(key, 0) + 1
            return True

    def give_back(self, key) -> None:
        with self._lock:
            left = self._busy.get(key, 1) - 1
            if left:
                self._busy[key] = left
            else:
                self._busy.pop(key, None)


def _connect(target: Destination, timeout: float) -> socket.socket:
    sock = socket.create_connection((target.address, target.port), timeout=timeout)
    if target.scheme == "https":
        sock = ssl.create_default_context().wrap_socket(sock, server_hostname=target.host)
    return sock


def get_json(url: str, *, headers: dict | None = None, deadline: float, allow_private: bool,
             max_in_flight: int) -> object:
    """GET `url` and parse its JSON body, all within `deadline` seconds; OutboundRefused otherwise."""
    return request_json(destination(url, allow_private=allow_private), headers=headers, deadline=deadline,
                        max_in_flight=max_in_flight)


def request_json(target: Destination, *, headers: dict | None = None, deadline: float, max_in_flight: int) -> object:
    """GET the checked destination (its address, never its name resolved again) and parse the JSON."""
    if not SLOTS.take(max_in_flight):
        raise OutboundRefused("busy")
    started = time.monotonic()
    sock = None
    watchdog = None
    try:
        sock = _connect(target, timeout=deadline)
        watchdog = threading.Timer(max(0.0, deadline - (time.monotonic() - started)), _shut, (sock,))
        watchdog.daemon = True
        watchdog.start()
        connection = http.client.HTTPConnection(target.host, target.port)
        connection.sock = sock  # already connected (and wrapped) to the checked address
        connection.request("GET", target.path, headers={"Accept": "application/json", **(headers or {}),
                                                        "Host": _host_header(target)})
        response = connection.getresponse()
        body = response.read(MAX_BODY + 1)
        if time.monotonic() - started > deadline:
            raise OutboundRefused("timeout")
        if response.status != 200:
            raise OutboundRefused("status", response.status)
        if len(body) > MAX_BODY:
            raise OutboundRefused("too_large", response.status)
        return json.loads(body)
    except OutboundRefused:
        raise
    except ValueError:
        raise OutboundRefused("not_json", 200) from None
    except (OSError, http.client.HTTPException):
        raise OutboundRefused("timeout" if time.monotonic() - started >= deadline else "unreachable") from None
    finally:
        if watchdog is not None:
            watchdog.cancel()
        if sock is not None:
            sock.close()
        SLOTS.give_back()


def _host_header(target: Destination) -> str:
    default = 443 if target.scheme == "https" else 80
    host = f"[{target.host}]" if ":" in target.host else target.host
    return host if target.port == default else f"{host}:{target.port}"


def _shut(sock: socket.socket) -> None:
    """The deadline passed: wake whatever read is blocked on this socket."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
