"""A tiny HTTP sink on 127.0.0.1 that accepts Delivery API posts (notifications).

It answers every POST with 200 and an empty Delivery response, and counts requests, so
the benchmark can run the SDK's real notification sending without leaving the machine.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_BODY = b'{"status":200,"requestId":"sink"}'


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the SDK's pooled connection is reused

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.server.count += 1  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(_BODY)))
        self.end_headers()
        self.wfile.write(_BODY)

    do_GET = do_POST

    def log_message(self, format: str, *args: object) -> None:
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        return None  # a client closing its pooled connection is not news


class Sink:
    """Start with :meth:`start`; ``host_port`` is what ``server_domain`` needs."""

    def __init__(self) -> None:
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.count = 0  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def host_port(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host}:{port}"

    @property
    def count(self) -> int:
        return int(self.server.count)  # type: ignore[attr-defined]

    def start(self) -> Sink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
