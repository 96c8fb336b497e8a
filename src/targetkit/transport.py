"""The HTTP layer: one pooled httpx client per targetkit client, sync or async.

Each transport offers the same three calls, so the clients above stay thin:

* ``get_artifact(url, etag, timeout_s)`` -> ``(status, etag, body)``;
* ``lookup_geo(url, ip, timeout_s)`` -> geo values for ``context.geo``;
* ``post_delivery(url, params, headers, body, timeout_s)`` -> the parsed response.

Network failures become typed errors (see :mod:`targetkit.httpx_transport`).

**Lazy.** httpx (35-50 ms to import) and its client (SSL context and CA bundle, another
20-45 ms) are loaded on the first network call, not at import or ``create()``: an
on-device client whose artifact is given as ``artifact_payload`` decides without them.
The sync transport builds its client under a lock, once, whichever thread comes first.

**Closing.** ``close()`` refuses new calls (a typed error, never httpx's RuntimeError),
waits up to its timeout for the calls in flight, then closes the connections. A call
that the close cuts short ends with the same typed errors as any network failure.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from targetkit.errors import ArtifactDownloadError, DeliveryError, TargetError

if TYPE_CHECKING:
    import httpx

    from targetkit.httpx_transport import HttpxAsyncTransport, HttpxSyncTransport

__all__ = ["MAX_CONNECTIONS", "MAX_KEEPALIVE_CONNECTIONS", "AsyncTransport", "SyncTransport"]

#: Connections per client; 100 concurrent get_offers share this pool.
MAX_CONNECTIONS = 100
#: Idle connections kept open per client.
MAX_KEEPALIVE_CONNECTIONS = 20

_CLOSED = "the client's HTTP transport is closed"


def _closed_error(artifact: bool) -> TargetError:
    return ArtifactDownloadError(_CLOSED) if artifact else DeliveryError(_CLOSED)


class SyncTransport:
    """HTTP over one pooled ``httpx.Client``, created on first use; thread-safe."""

    def __init__(self, client: httpx.Client | None = None) -> None:
        self._client = client
        self._impl: HttpxSyncTransport | None = None
        self._cond = threading.Condition()
        self._active = 0  # calls in flight
        self._closed = False

    def _enter(self, artifact: bool) -> HttpxSyncTransport:
        with self._cond:
            if self._closed:
                raise _closed_error(artifact)
            if self._impl is None:
                from targetkit.httpx_transport import HttpxSyncTransport

                self._impl = HttpxSyncTransport(self._client)
            self._active += 1
            return self._impl

    def _exit(self) -> None:
        with self._cond:
            self._active -= 1
            if not self._active:
                self._cond.notify_all()

    @contextlib.contextmanager
    def _call(self, artifact: bool) -> Iterator[HttpxSyncTransport]:
        impl = self._enter(artifact)
        try:
            yield impl
        except TargetError:
            raise
        except Exception as err:
            if not self._closed:
                raise
            raise _closed_error(artifact) from err  # close() cut the call short
        finally:
            self._exit()

    def close(self, timeout_s: float = 0.0) -> None:
        """Refuse new calls, wait up to ``timeout_s`` for those in flight, then close."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            self._closed = True
            while self._active and (remaining := deadline - time.monotonic()) > 0:
                self._cond.wait(remaining)
            impl = self._impl
        if impl is not None:
            impl.close()

    def get_artifact(
        self, url: str, etag: str | None, timeout_s: float
    ) -> tuple[int, str | None, bytes]:
        with self._call(artifact=True) as impl:
            return impl.get_artifact(url, etag, timeout_s)

    def lookup_geo(self, url: str, ip: str, timeout_s: float) -> dict[str, Any]:
        with self._call(artifact=False) as impl:
            return impl.lookup_geo(url, ip, timeout_s)

    def post_delivery(
        self,
        url: str,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        body: Mapping[str, Any],
        timeout_s: float,
    ) -> Any:
        """POST ``body``; the whole call, body read included, ends within ``timeout_s``."""
        with self._call(artifact=False) as impl:
            return impl.post_delivery(url, params, headers, body, timeout_s)


class AsyncTransport:
    """HTTP over one pooled ``httpx.AsyncClient``, created on first use (on the loop)."""

    def __init__(self, client: httpx.AsyncClient | None = None) -> None:
        self._client = client
        self._impl: HttpxAsyncTransport | None = None
        self._closed = False

    def _enter(self, artifact: bool) -> HttpxAsyncTransport:
        if self._closed:
            raise _closed_error(artifact)
        if self._impl is None:
            from targetkit.httpx_transport import HttpxAsyncTransport

            self._impl = HttpxAsyncTransport(self._client)
        return self._impl

    @contextlib.contextmanager
    def _call(self, artifact: bool) -> Iterator[HttpxAsyncTransport]:
        impl = self._enter(artifact)
        try:
            yield impl
        except TargetError:
            raise
        except Exception as err:
            if not self._closed:
                raise
            raise _closed_error(artifact) from err  # close() cut the call short

    async def close(self) -> None:
        """Refuse new calls and close the connections."""
        self._closed = True
        if self._impl is not None:
            await self._impl.close()

    async def get_artifact(
        self, url: str, etag: str | None, timeout_s: float
    ) -> tuple[int, str | None, bytes]:
        with self._call(artifact=True) as impl:
            return await impl.get_artifact(url, etag, timeout_s)

    async def lookup_geo(self, url: str, ip: str, timeout_s: float) -> dict[str, Any]:
        with self._call(artifact=False) as impl:
            return await impl.lookup_geo(url, ip, timeout_s)

    async def post_delivery(
        self,
        url: str,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        body: Mapping[str, Any],
        timeout_s: float,
    ) -> Any:
        """POST ``body``; the whole call, body read included, ends within ``timeout_s``."""
        with self._call(artifact=False) as impl:
            return await impl.post_delivery(url, params, headers, body, timeout_s)
