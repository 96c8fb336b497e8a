"""Real HTTP servers on 127.0.0.1 for tests, with faults injected on demand.

Each server is a stdlib ``ThreadingHTTPServer`` speaking HTTP/1.1 with keep-alive, bound to a free
port and served from a daemon thread. Clients under test (httpx, sync or async) talk to real
sockets, so connection resets, truncated bodies and timeouts are the genuine article.

- ``LocalServer``: request log, fault model, lifecycle. Subclasses implement ``handle()``.
- ``CdnServer``: static artifacts with strong ETags / 304s, plus the ``/v1/geo`` lookup.
- ``DeliveryServer``: ``POST /rest/v1/delivery`` with a pluggable handler and spec validation.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import json
import random
import socket
import struct
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Literal, Self, TypeAlias
from urllib.parse import parse_qsl, urlsplit

FaultKind: TypeAlias = Literal["none", "reset", "truncate", "invalid_json", "hang"]
FAULT_KINDS: frozenset[str] = frozenset({"none", "reset", "truncate", "invalid_json", "hang"})

# A hung request waits this long at most; stop() wakes it at once.
HANG_LIMIT_S = 300.0
# Extra bytes announced (but never sent) by a "truncate" fault.
TRUNCATE_MISSING_BYTES = 64
INVALID_JSON_BODY = b'{"status": 200, "requestId": "broken'


@dataclass(frozen=True)
class Fault:
    """What to do instead of (or on top of) the normal answer.

    kind "none": with ``status`` set, answer that status with ``body`` (default: an error body);
    with ``status`` None, answer normally but after ``delay_s`` and with extra ``headers``.
    ``delay_s`` applies before every kind.
    """

    status: int | None = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    kind: FaultKind = "none"

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}")

    @classmethod
    def error(cls, status: int, body: bytes | None = None) -> Fault:
        return cls(status=status, body=body)

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        return cls(delay_s=seconds)

    @classmethod
    def connection_reset(cls) -> Fault:
        return cls(kind="reset")

    @classmethod
    def truncated(cls) -> Fault:
        return cls(kind="truncate")

    @classmethod
    def bad_json(cls) -> Fault:
        return cls(kind="invalid_json")

    @classmethod
    def hung(cls) -> Fault:
        return cls(kind="hang")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it (before any fault was applied)."""

    seq: int  # arrival order since start/reset, from 0
    method: str
    path: str  # without the query string
    query: dict[str, str]  # last value wins; see query_list for repeats
    query_list: list[tuple[str, str]]
    headers: dict[str, str]  # lower-cased names; repeated headers joined with ", "
    body: bytes
    json: Any  # parsed body when it is JSON, else None
    received_at: float  # time.monotonic()
    wall_time: float  # time.time()
    fault: Fault | None  # the fault applied to this request, if any
    peer: str  # client "ip:port"; equal for requests sharing a keep-alive connection

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    merged = {"Content-Type": "application/json", **(headers or {})}
    return Response(status, json.dumps(payload).encode(), merged)


def target_error(status: int, message: str | None = None) -> Response:
    """An error in Target's shape: ``{"status": 400, "message": "..."}``."""
    text = message if message is not None else _reason(status)
    return json_response(status, {"status": status, "message": text})


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


@dataclass
class _Rule:
    fault: Fault
    path: str | None
    remaining: int | None = None  # None: persistent

    def matches(self, path: str) -> bool:
        return self.path is None or fnmatch.fnmatchcase(path, self.path)


@dataclass
class _ErrorRate:
    rate: float
    fault: Fault
    rng: random.Random
    path: str | None


class _Faults:
    """Thread-safe fault selection: queued one-shots, then persistent faults, then error rate."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued: list[_Rule] = []
        self._persistent: list[_Rule] = []
        self._rate: _ErrorRate | None = None

    def queue(self, n: int, fault: Fault, path: str | None) -> None:
        if n > 0:
            with self._lock:
                self._queued.append(_Rule(fault, path, n))

    def persist(self, fault: Fault | None, path: str | None) -> None:
        with self._lock:
            self._persistent = [r for r in self._persistent if r.path != path]
            if fault is not None:
                self._persistent.append(_Rule(fault, path))

    def error_rate(self, rate: float, fault: Fault, seed: int, path: str | None) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be within [0, 1]")
        with self._lock:
            self._rate = _ErrorRate(rate, fault, random.Random(seed), path)

    def clear(self) -> None:
        with self._lock:
            self._queued.clear()
            self._persistent.clear()
            self._rate = None

    def pick(self, path: str) -> Fault | None:
        with self._lock:
            for rule in self._queued:
                if rule.matches(path):
                    rule.remaining = (rule.remaining or 1) - 1
                    if rule.remaining <= 0:
                        self._queued.remove(rule)
                    return rule.fault
            for rule in reversed(self._persistent):  # the latest setting wins
                if rule.matches(path):
                    return rule.fault
            return self._roll(path)

    def _roll(self, path: str) -> Fault | None:
        rate = self._rate
        if rate is None or (rate.path is not None and not fnmatch.fnmatchcase(path, rate.path)):
            return None
        # Draw for every matching request so the sequence depends only on the seed.
        return rate.fault if rate.rng.random() < rate.rate else None


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = True  # server_close() joins the handler threads
    request_queue_size = 128

    def __init__(self, owner: LocalServer, port: int) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-response is routine in fault tests; anything else is recorded.
        self.owner._note_error(traceback.format_exc())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections are dropped eventually
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this Nagle's algorithm meets the
        # client's delayed ACK and every response takes ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.owner._track(self.connection)

    def finish(self) -> None:
        self.server.owner._untrack(self.connection)
        with contextlib.suppress(OSError):  # the socket may be gone (reset fault, client hang-up)
            super().finish()

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionError, TimeoutError, OSError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet

    def do_GET(self) -> None:
        self.server.owner._serve(self)

    do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = do_GET

    def read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()


class LocalServer:
    """Base of the test servers: lifecycle, request log and faults.

    Subclasses override ``handle(request) -> Response``.
    """

    def __init__(self, port: int = 0) -> None:
        self._requested_port = port
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._log: list[RecordedRequest] = []
        self._conns: set[socket.socket] = set()
        self._stopping = False
        self._faults = _Faults()
        self.errors: list[str] = []  # unexpected exceptions inside the server (should stay empty)

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> Self:
        if self._httpd is not None:
            return self
        self._stop.clear()
        self._stopping = False
        self._httpd = _HTTPServer(self, self._requested_port)
        name = f"{type(self).__name__}:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name=name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None or thread is None:
            return
        self._stop.set()  # wakes delays and hangs
        httpd.shutdown()  # no new connections after this returns
        with self._lock:
            self._stopping = True
            conns = list(self._conns)
        for conn in conns:
            _shutdown_quietly(conn)  # unblocks handlers waiting for the next keep-alive request
        httpd.server_close()  # joins every handler thread
        thread.join()
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return int(self._httpd.server_address[1])

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def reset(self) -> None:
        """Forget requests, faults and errors; published content and handlers stay."""
        self._faults.clear()
        with self._lock:
            self._log.clear()
            self.errors.clear()

    # -- faults ----------------------------------------------------------------------------------

    def fail_next(self, n: int, fault: Fault, path: str | None = None) -> None:
        """Apply ``fault`` to the next ``n`` requests whose path matches (glob; None = any)."""
        self._faults.queue(n, fault, path)

    def set_fault(self, fault: Fault | None, path: str | None = None) -> None:
        """Apply ``fault`` to every matching request until cleared (None clears this path)."""
        self._faults.persist(fault, path)

    def set_error_rate(
        self, rate: float, fault: Fault, seed: int = 0, path: str | None = None
    ) -> None:
        """Apply ``fault`` to a seeded-random share of matching requests (same seed, same picks)."""
        self._faults.error_rate(rate, fault, seed, path)

    def clear_faults(self) -> None:
        self._faults.clear()

    # -- request log -----------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._log)

    def requests_for(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        """Requests whose path matches ``path`` (glob), optionally of one method."""
        return [r for r in self.requests if _selected(r, path, method)]

    def count(self, path: str | None = None, method: str | None = None) -> int:
        return sum(1 for r in self.requests if _selected(r, path, method))

    def path_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.requests:
            counts[r.path] = counts.get(r.path, 0) + 1
        return counts

    def wait_for_requests(
        self, n: int, timeout_s: float = 5.0, path: str | None = None
    ) -> list[RecordedRequest]:
        """Block until at least ``n`` (matching) requests arrived; raise TimeoutError otherwise."""
        deadline = time.monotonic() + timeout_s
        with self._arrived:
            while True:
                matching = [r for r in self._log if _selected(r, path, None)]
                remaining = deadline - time.monotonic()
                if len(matching) >= n:
                    return matching
                if remaining <= 0:
                    raise TimeoutError(f"{len(matching)} of {n} requests after {timeout_s}s")
                self._arrived.wait(remaining)

    # -- to override -----------------------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> Response:
        return target_error(404, f"no route for {request.method} {request.path}")

    def error_response(self, status: int, body: bytes | None) -> Response:
        """The answer for a status-only fault."""
        if body is None:
            return target_error(status)
        return Response(status, body, {"Content-Type": "application/json"})

    def on_record(self, request: RecordedRequest) -> None:
        """Hook called for every request as it is logged (before faults)."""

    # -- internals -------------------------------------------------------------------------------

    def _track(self, conn: socket.socket) -> None:
        with self._lock:
            if not self._stopping:
                self._conns.add(conn)
                return
        _shutdown_quietly(conn)

    def _untrack(self, conn: socket.socket) -> None:
        with self._lock:
            self._conns.discard(conn)

    def _note_error(self, text: str) -> None:
        if "ConnectionResetError" in text or "BrokenPipeError" in text:
            return
        with self._lock:
            self.errors.append(text)

    def _record(self, h: _Handler) -> RecordedRequest:
        body = h.read_body()
        split = urlsplit(h.path)
        query_list = parse_qsl(split.query, keep_blank_values=True)
        headers: dict[str, str] = {}
        for name, value in h.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        fault = self._faults.pick(split.path)
        with self._arrived:
            request = RecordedRequest(
                seq=len(self._log),
                method=h.command,
                path=split.path,
                query=dict(query_list),
                query_list=query_list,
                headers=headers,
                body=body,
                json=_parse_json(body),
                received_at=time.monotonic(),
                wall_time=time.time(),
                fault=fault,
                peer=f"{h.client_address[0]}:{h.client_address[1]}",
            )
            self._log.append(request)
            self._arrived.notify_all()
        return request

    def _serve(self, h: _Handler) -> None:
        request = self._record(h)
        self.on_record(request)
        fault = request.fault
        if fault is not None and fault.delay_s > 0 and self._stop.wait(fault.delay_s):
            h.close_connection = True
            return
        if fault is not None and fault.kind == "hang":
            self._stop.wait(HANG_LIMIT_S)
            h.close_connection = True
            return
        if fault is not None and fault.kind == "reset":
            _reset(h)
            return
        response = self._respond(request, fault)
        _write(h, request.method, response, truncate=fault is not None and fault.kind == "truncate")

    def _respond(self, request: RecordedRequest, fault: Fault | None) -> Response:
        if fault is not None and fault.kind == "invalid_json":
            body = fault.body if fault.body is not None else INVALID_JSON_BODY
            headers = {"Content-Type": "application/json", **fault.headers}
            return Response(fault.status or 200, body, headers)
        if fault is not None and fault.status is not None:
            response = self.error_response(fault.status, fault.body)
        else:
            response = self._safe_handle(request)
            if fault is not None and fault.body is not None:
                response = replace(response, body=fault.body)
        if fault is not None:
            response.headers = {**response.headers, **fault.headers}
        return response

    def _safe_handle(self, request: RecordedRequest) -> Response:
        try:
            return self.handle(request)
        except Exception:
            with self._lock:
                self.errors.append(traceback.format_exc())
            return target_error(500, "test server handler failed")


def _selected(request: RecordedRequest, path: str | None, method: str | None) -> bool:
    if method is not None and request.method != method.upper():
        return False
    return path is None or fnmatch.fnmatchcase(request.path, path)


def _parse_json(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def _shutdown_quietly(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)


def _reset(h: _Handler) -> None:
    """Close with SO_LINGER 0 so the kernel sends RST instead of FIN."""
    h.close_connection = True
    conn = h.connection
    try:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        return
    h.rfile.close()  # drop the makefile reference, or close() would not release the descriptor
    conn.close()


def _write(h: _Handler, method: str, response: Response, *, truncate: bool) -> None:
    no_body = method == "HEAD" or response.status in (204, 304) or 100 <= response.status < 200
    h.send_response(response.status)
    for name, value in response.headers.items():
        if name.lower() not in ("content-length", "connection"):
            h.send_header(name, value)
    if truncate:
        h.send_header("Content-Length", str(len(response.body) + TRUNCATE_MISSING_BYTES))
        h.send_header("Connection", "close")
        h.close_connection = True
    elif response.status not in (204, 304):
        h.send_header("Content-Length", str(len(response.body)))
    h.end_headers()
    if not no_body or truncate:
        h.wfile.write(response.body)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (servers should rather bind port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- CDN ------------------------------------------------------------------------------------------


def strong_etag(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def _quote_etag(tag: str) -> str:
    return tag if tag.startswith(('"', 'W/"')) else f'"{tag}"'


def _etag_matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 weak comparison, as required for If-None-Match."""
    wanted = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in wanted or etag.removeprefix("W/") in wanted


@dataclass(frozen=True)
class Artifact:
    body: bytes
    content_type: str
    etag: str
    headers: dict[str, str]


class CdnServer(LocalServer):
    """Static files (rule artifacts) with ETags, and the IP-to-geo lookup at ``/v1/geo``."""

    GEO_PATH: ClassVar[str] = "/v1/geo"

    def __init__(self, port: int = 0) -> None:
        super().__init__(port)
        self._artifacts: dict[str, Artifact] = {}
        self._geo: dict[str | None, dict[str, Any]] = {}

    def put(
        self,
        path: str,
        body: bytes,
        content_type: str = "application/json",
        etag: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> str:
        """Publish ``body`` at ``path``; returns the (quoted) ETag it is served with."""
        tag = strong_etag(body) if etag is None else _quote_etag(etag)
        with self._lock:
            self._artifacts[path] = Artifact(body, content_type, tag, dict(headers or {}))
        return tag

    def put_json(self, path: str, payload: Any, etag: str | None = None) -> str:
        return self.put(path, json.dumps(payload).encode(), etag=etag)

    def remove(self, path: str) -> None:
        with self._lock:
            self._artifacts.pop(path, None)

    def etag(self, path: str) -> str | None:
        with self._lock:
            artifact = self._artifacts.get(path)
        return artifact.etag if artifact else None

    def set_geo(self, payload: dict[str, Any], for_ip: str | None = None) -> None:
        """Answer ``GET /v1/geo`` with ``payload`` for visitors at ``for_ip`` (None: default)."""
        with self._lock:
            self._geo[for_ip] = dict(payload)

    def clear_geo(self) -> None:
        with self._lock:
            self._geo.clear()

    def handle(self, request: RecordedRequest) -> Response:
        if request.method not in ("GET", "HEAD"):
            return target_error(405)
        if request.path == self.GEO_PATH:
            geo = self._geo_for(request)
            if geo is not None:
                return json_response(200, geo)
        with self._lock:
            artifact = self._artifacts.get(request.path)
        if artifact is None:
            return target_error(404)
        headers = {"ETag": artifact.etag, **artifact.headers}
        inm = request.header("if-none-match")
        if inm is not None and _etag_matches(inm, artifact.etag):
            return Response(304, b"", headers)
        return Response(200, artifact.body, {"Content-Type": artifact.content_type, **headers})

    def _geo_for(self, request: RecordedRequest) -> dict[str, Any] | None:
        forwarded = request.header("x-forwarded-for")
        ip = forwarded.split(",")[0].strip() if forwarded else None
        with self._lock:
            if ip is not None and ip in self._geo:
                return self._geo[ip]
            return self._geo.get(None)


# -- Delivery API ---------------------------------------------------------------------------------

HandlerResult: TypeAlias = (
    tuple[int, dict[str, Any] | bytes] | tuple[int, dict[str, Any] | bytes, dict[str, str]]
)
DeliveryHandler: TypeAlias = Callable[[RecordedRequest], HandlerResult]


class DeliveryServer(LocalServer):
    """``POST /rest/v1/delivery``: records requests and answers through a handler.

    With ``validate=True`` every delivery request is checked against the vendored OpenAPI spec
    (body and query); violations land in ``schema_errors`` and the request gets a 400.
    """

    DELIVERY_PATH: ClassVar[str] = "/rest/v1/delivery"

    def __init__(
        self,
        port: int = 0,
        *,
        validate: bool = False,
        client_code: str = "targetkit",
        edge_host: str = "mboxedge35.tt.omtrdc.net",
    ) -> None:
        super().__init__(port)
        self.validate = validate
        self.client_code = client_code
        self.edge_host = edge_host
        self.schema_errors: list[str] = []
        self._violations: dict[int, list[str]] = {}
        self._handler: DeliveryHandler = self.default_handler

    def set_handler(self, fn: DeliveryHandler | None) -> None:
        """Answer delivery requests with ``fn``; None restores ``default_handler``."""
        self._handler = fn if fn is not None else self.default_handler

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self.schema_errors.clear()
            self._violations.clear()

    def delivery_requests(self) -> list[RecordedRequest]:
        return self.requests_for(self.DELIVERY_PATH, "POST")

    def requests_json(self) -> list[Any]:
        """Parsed bodies of the delivery requests, in arrival order."""
        return [r.json for r in self.delivery_requests()]

    def notifications(self) -> list[dict[str, Any]]:
        """Every ``notifications`` entry received, flattened across requests."""
        found: list[dict[str, Any]] = []
        for body in self.requests_json():
            if isinstance(body, dict):
                found.extend(body.get("notifications") or [])
        return found

    def default_response(self, request: RecordedRequest) -> dict[str, Any]:
        """A minimal valid DeliveryResponse echoing the request (no offers)."""
        return minimal_delivery_response(request, self.client_code, self.edge_host)

    def default_handler(self, request: RecordedRequest) -> HandlerResult:
        body = request.json if isinstance(request.json, dict) else {}
        if (body.get("context") or {}).get("beacon") is True:
            return 204, b""  # the spec's answer to beacon requests
        return 200, self.default_response(request)

    def on_record(self, request: RecordedRequest) -> None:
        if not self.validate or request.path != self.DELIVERY_PATH or request.method != "POST":
            return
        # Imported lazily: only validating servers pay for loading the spec.
        from tests.openapi_schema import validate_delivery_query, validate_delivery_request

        problems = validate_delivery_query(request.query)
        if request.json is None:
            problems.append("body: not JSON")
        else:
            problems += validate_delivery_request(request.json)
        if problems:
            with self._lock:
                self._violations[request.seq] = problems
                self.schema_errors.extend(f"request #{request.seq}: {p}" for p in problems)

    def handle(self, request: RecordedRequest) -> Response:
        if request.path != self.DELIVERY_PATH:
            return target_error(404, f"no route for {request.path}")
        if request.method != "POST":
            return target_error(405)
        with self._lock:
            problems = self._violations.get(request.seq)
        if problems:
            return target_error(400, "; ".join(problems))
        return _to_response(self._handler(request))


def _to_response(result: HandlerResult) -> Response:
    status, payload = result[0], result[1]
    extra = result[2] if len(result) == 3 else {}
    if isinstance(payload, bytes):
        return Response(status, payload, {"Content-Type": "application/json", **extra})
    return json_response(status, payload, extra)


def minimal_delivery_response(
    request: RecordedRequest, client_code: str, edge_host: str
) -> dict[str, Any]:
    body = request.json if isinstance(request.json, dict) else {}
    visitor = dict(body.get("id") or {})
    visitor.setdefault("tntId", f"{uuid.uuid4().hex}.35_0")
    response: dict[str, Any] = {
        "status": 200,
        "requestId": body.get("requestId") or str(uuid.uuid4()),
        "client": request.query.get("client") or client_code,
        "id": visitor,
        "edgeHost": edge_host,
    }
    for section in ("execute", "prefetch"):
        echoed = _echo_section(body.get(section))
        if echoed is not None:
            response[section] = echoed
    notes = [n.get("id") for n in body.get("notifications") or [] if isinstance(n, dict)]
    if notes:
        response["notifications"] = [{"id": i} for i in notes if i is not None]
    return response


def _echo_section(section: Any) -> dict[str, Any] | None:
    """Answer each requested mbox/pageLoad/view with no content, as Target does on no match."""
    if not isinstance(section, dict):
        return None
    out: dict[str, Any] = {}
    mboxes = [m for m in section.get("mboxes") or [] if isinstance(m, dict)]
    if mboxes:
        out["mboxes"] = [{"index": m.get("index"), "name": m.get("name")} for m in mboxes]
    if "pageLoad" in section:
        out["pageLoad"] = {}
    if "views" in section:
        out["views"] = []
    return out


def iter_faults() -> Iterator[Fault]:
    """One fault of each kind (handy for parametrized tests)."""
    yield Fault.error(500)
    yield Fault.connection_reset()
    yield Fault.truncated()
    yield Fault.bad_json()
    yield Fault.hung()
