"""The httpx implementation of :mod:`targetkit.transport` (imported on first network use).

Each transport offers the same three calls:

* ``get_artifact(url, etag, timeout_s)`` -> ``(status, etag, body)``;
* ``lookup_geo(url, ip, timeout_s)`` -> geo values for ``context.geo``;
* ``post_delivery(url, params, headers, body, timeout_s)`` -> the parsed response.

Network failures become typed errors here: :class:`ArtifactDownloadError` for the CDN,
:class:`DeliveryError` / :class:`DeliveryTimeoutError` for the Delivery API.

**Delivery timeouts are total deadlines.** httpx applies its timeout to each network
operation, so a server that trickles a byte at a time would never time out. For a
Delivery call ``timeout_s`` bounds the whole call (pool wait, connect, send, every read):
the async transport wraps the call in :func:`asyncio.timeout`; the sync transport gives
httpcore a network backend whose every socket operation may wait only until the calling
thread's deadline (see :class:`_DeadlineBackend`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import threading
import time
import weakref
from collections.abc import Iterable, Mapping
from typing import Any

import httpcore
import httpx
import orjson

from targetkit.delivery.wire import delivery_error, geo_from_payload, parse_json_body
from targetkit.errors import ArtifactDownloadError, DeliveryError, DeliveryTimeoutError
from targetkit.transport import MAX_CONNECTIONS, MAX_KEEPALIVE_CONNECTIONS

__all__ = ["POOL_LIMITS", "HttpxAsyncTransport", "HttpxSyncTransport"]

logger = logging.getLogger(__name__)

#: Connections kept per client; 100 concurrent get_offers share this pool.
POOL_LIMITS = httpx.Limits(
    max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_KEEPALIVE_CONNECTIONS
)


def _artifact_headers(etag: str | None) -> dict[str, str]:
    return {"If-None-Match": etag} if etag else {}


def _geo_headers(ip: str) -> dict[str, str]:
    return {"x-forwarded-for": ip} if ip else {}


def _artifact_error(url: str, err: httpx.HTTPError) -> ArtifactDownloadError:
    kind = "timed out" if isinstance(err, httpx.TimeoutException) else "failed"
    return ArtifactDownloadError(f"download of {url} {kind}: {err!r}")


def _timeout_error(timeout_s: float, request_id: str | None) -> DeliveryTimeoutError:
    return DeliveryTimeoutError(
        f"no complete answer within {timeout_s * 1000:.0f} ms", request_id=request_id
    )


def _delivery_failure(
    err: httpx.HTTPError, timeout_s: float, request_id: str | None
) -> DeliveryError:
    if isinstance(err, httpx.TimeoutException):
        return _timeout_error(timeout_s, request_id)
    return DeliveryError(f"connection failed: {err!r}", request_id=request_id)


def _delivery_result(response: httpx.Response, request_id: str | None) -> Any:
    if response.status_code >= 400:
        raise delivery_error(response.status_code, response.content, request_id)
    body = parse_json_body(response.content)
    if response.content and body is None:
        raise DeliveryError(
            "the Delivery API answered with invalid JSON",
            status=response.status_code,
            request_id=request_id,
        )
    return body if body is not None else {}


def _geo_result(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        raise delivery_error(response.status_code, response.content, None)
    return geo_from_payload(parse_json_body(response.content))


def _request_id(body: Mapping[str, Any]) -> str | None:
    value = body.get("requestId")
    return value if isinstance(value, str) else None


# -- total deadlines for the sync transport ---------------------------------------------


class _Deadlines(threading.local):
    """The deadline (``time.monotonic()`` s) of the call running on each thread."""

    deadline: float | None = None

    def bound(self, timeout: float | None, error: type[Exception]) -> float | None:
        """``timeout`` cut to what is left before the deadline; ``error`` once it passed."""
        if self.deadline is None:
            return timeout
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise error("the call's total deadline passed")
        return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose reads and writes never wait past the thread's deadline.

    Each stream registers in its backend's ``streams`` so that closing the transport can
    shut the sockets down: closing a socket does not wake a thread blocked reading it,
    a shutdown does.
    """

    def __init__(self, inner: httpcore.NetworkStream, backend: _DeadlineBackend) -> None:
        self._inner = inner
        self._deadlines = backend.deadlines
        self._backend = backend
        backend.streams.add(self)

    def shutdown(self) -> None:
        sock = self._inner.get_extra_info("socket")
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadlines.bound(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadlines.bound(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        bounded = self._deadlines.bound(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._inner.start_tls(ssl_context, server_hostname, bounded), self._backend
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend, with every stream bounded by :class:`_Deadlines`."""

    def __init__(self, inner: httpcore.NetworkBackend, deadlines: _Deadlines) -> None:
        self._inner = inner
        self.deadlines = deadlines
        self.streams: weakref.WeakSet[_DeadlineStream] = weakref.WeakSet()

    def shutdown_all(self) -> None:
        """Shut down every open stream: calls blocked on them fail at once."""
        for stream in list(self.streams):
            stream.shutdown()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = self.deadlines.bound(timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_tcp(host, port, bounded, local_address, socket_options)
        return _DeadlineStream(stream, self)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = self.deadlines.bound(timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_unix_socket(path, bounded, socket_options)
        return _DeadlineStream(stream, self)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _deadline_client(deadlines: _Deadlines) -> tuple[httpx.Client, _DeadlineBackend | None]:
    """An ``httpx.Client`` whose direct connections honour ``deadlines``.

    httpx does not let us pass a network backend, so we wrap the one its pool already
    has. Should a future httpx lay its pool out differently, we log it and fall back to
    per-operation timeouts (each capped at the time left when the call started).
    """
    transport = httpx.HTTPTransport(limits=POOL_LIMITS)
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if not isinstance(backend, httpcore.NetworkBackend):
        logger.debug("httpx pool layout unknown; Delivery timeouts apply per operation")
        return httpx.Client(transport=transport), None
    wrapped = _DeadlineBackend(backend, deadlines)
    pool._network_backend = wrapped  # type: ignore[union-attr]
    return httpx.Client(transport=transport), wrapped


class HttpxSyncTransport:
    """HTTP over one pooled ``httpx.Client``."""

    def __init__(self, client: httpx.Client | None = None) -> None:
        self._deadlines = _Deadlines()
        self._backend: _DeadlineBackend | None = None
        if client is None:
            client, self._backend = _deadline_client(self._deadlines)
        self._client = client

    def close(self) -> None:
        """Close the pool; calls still in flight fail at once (their sockets are shut)."""
        if self._backend is not None:
            self._backend.shutdown_all()
        self._client.close()

    def get_artifact(
        self, url: str, etag: str | None, timeout_s: float
    ) -> tuple[int, str | None, bytes]:
        try:
            response = self._client.get(url, headers=_artifact_headers(etag), timeout=timeout_s)
            return response.status_code, response.headers.get("etag"), response.content
        except httpx.HTTPError as err:
            raise _artifact_error(url, err) from err

    def lookup_geo(self, url: str, ip: str, timeout_s: float) -> dict[str, Any]:
        try:
            response = self._client.get(url, headers=_geo_headers(ip), timeout=timeout_s)
        except httpx.HTTPError as err:
            raise _delivery_failure(err, timeout_s, None) from err
        return _geo_result(response)

    def post_delivery(
        self,
        url: str,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        body: Mapping[str, Any],
        timeout_s: float,
    ) -> Any:
        """POST ``body``; the whole call, body read included, ends within ``timeout_s``."""
        request_id = _request_id(body)
        content = orjson.dumps(body)
        outer = self._deadlines.deadline
        self._deadlines.deadline = time.monotonic() + timeout_s
        try:
            response = self._client.post(
                url, params=params, headers=headers, content=content, timeout=timeout_s
            )
        except httpx.HTTPError as err:
            raise _delivery_failure(err, timeout_s, request_id) from err
        finally:
            self._deadlines.deadline = outer
        return _delivery_result(response, request_id)


class HttpxAsyncTransport:
    """HTTP over one pooled ``httpx.AsyncClient``."""

    def __init__(self, client: httpx.AsyncClient | None = None) -> None:
        self._client = client or httpx.AsyncClient(limits=POOL_LIMITS)

    async def close(self) -> None:
        await self._client.aclose()

    async def get_artifact(
        self, url: str, etag: str | None, timeout_s: float
    ) -> tuple[int, str | None, bytes]:
        try:
            response = await self._client.get(
                url, headers=_artifact_headers(etag), timeout=timeout_s
            )
            return response.status_code, response.headers.get("etag"), response.content
        except httpx.HTTPError as err:
            raise _artifact_error(url, err) from err

    async def lookup_geo(self, url: str, ip: str, timeout_s: float) -> dict[str, Any]:
        try:
            response = await self._client.get(url, headers=_geo_headers(ip), timeout=timeout_s)
        except httpx.HTTPError as err:
            raise _delivery_failure(err, timeout_s, None) from err
        return _geo_result(response)

    async def post_delivery(
        self,
        url: str,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        body: Mapping[str, Any],
        timeout_s: float,
    ) -> Any:
        """POST ``body``; the whole call, body read included, ends within ``timeout_s``."""
        request_id = _request_id(body)
        content = orjson.dumps(body)
        try:
            async with asyncio.timeout(timeout_s):
                response = await self._client.post(
                    url, params=params, headers=headers, content=content, timeout=timeout_s
                )
        except TimeoutError as err:  # the total deadline (asyncio.timeout)
            raise _timeout_error(timeout_s, request_id) from err
        except httpx.HTTPError as err:
            raise _delivery_failure(err, timeout_s, request_id) from err
        return _delivery_result(response, request_id)
