"""The HTTP layer: one httpx client per targetkit client, sync or async.

Each transport offers the same three calls, so the clients above stay thin:

* ``get_artifact(url, etag, timeout_s)`` -> ``(status, etag, body)``;
* ``lookup_geo(url, ip, timeout_s)`` -> geo values for ``context.geo``;
* ``post_delivery(url, params, headers, body, timeout_s)`` -> the parsed response.

Network failures become typed errors here: :class:`ArtifactDownloadError` for the CDN,
:class:`DeliveryError` / :class:`DeliveryTimeoutError` for the Delivery API.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import orjson

from targetkit.delivery.wire import delivery_error, geo_from_payload, parse_json_body
from targetkit.errors import ArtifactDownloadError, DeliveryError, DeliveryTimeoutError

__all__ = ["AsyncTransport", "SyncTransport"]

#: Connections kept per client; 100 concurrent get_offers share this pool.
POOL_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


def _artifact_headers(etag: str | None) -> dict[str, str]:
    return {"If-None-Match": etag} if etag else {}


def _geo_headers(ip: str) -> dict[str, str]:
    return {"x-forwarded-for": ip} if ip else {}


def _artifact_error(url: str, err: httpx.HTTPError) -> ArtifactDownloadError:
    kind = "timed out" if isinstance(err, httpx.TimeoutException) else "failed"
    return ArtifactDownloadError(f"download of {url} {kind}: {err!r}")


def _delivery_failure(
    err: httpx.HTTPError, timeout_s: float, request_id: str | None
) -> DeliveryError:
    if isinstance(err, httpx.TimeoutException):
        return DeliveryTimeoutError(
            f"no answer within {timeout_s * 1000:.0f} ms", request_id=request_id
        )
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


class SyncTransport:
    """HTTP over one pooled ``httpx.Client``."""

    def __init__(self, client: httpx.Client | None = None) -> None:
        self._client = client or httpx.Client(limits=POOL_LIMITS)

    def close(self) -> None:
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
        if response.status_code >= 400:
            raise delivery_error(response.status_code, response.content, None)
        return geo_from_payload(parse_json_body(response.content))

    def post_delivery(
        self,
        url: str,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        body: Mapping[str, Any],
        timeout_s: float,
    ) -> Any:
        request_id = body.get("requestId")
        try:
            response = self._client.post(
                url, params=params, headers=headers, content=orjson.dumps(body), timeout=timeout_s
            )
        except httpx.HTTPError as err:
            raise _delivery_failure(err, timeout_s, request_id) from err
        return _delivery_result(response, request_id)


class AsyncTransport:
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
        if response.status_code >= 400:
            raise delivery_error(response.status_code, response.content, None)
        return geo_from_payload(parse_json_body(response.content))

    async def post_delivery(
        self,
        url: str,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        body: Mapping[str, Any],
        timeout_s: float,
    ) -> Any:
        request_id = body.get("requestId")
        try:
            response = await self._client.post(
                url, params=params, headers=headers, content=orjson.dumps(body), timeout=timeout_s
            )
        except httpx.HTTPError as err:
            raise _delivery_failure(err, timeout_s, request_id) from err
        return _delivery_result(response, request_id)
