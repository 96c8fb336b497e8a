"""The Delivery API on the wire, without I/O: hosts, URLs, headers, error mapping, geo.

Both HTTP layers (httpx ``Client`` and ``AsyncClient``) call these, so the sync and async
clients cannot drift in what they send or how they read answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from targetkit.errors import DeliveryError

__all__ = [
    "DELIVERY_PATH",
    "SDK_NAME",
    "delivery_error",
    "delivery_headers",
    "delivery_params",
    "geo_from_payload",
    "is_valid_ip",
    "parse_json_body",
    "target_base_url",
]

DELIVERY_PATH = "/rest/v1/delivery"
SDK_NAME = "targetkit"
EDGE_DOMAIN = "tt.omtrdc.net"
UNKNOWN_IP_ADDRESS = "unknownIpAddress"

#: Geo endpoint payload keys -> Delivery API ``context.geo`` keys, with their parsers.
_GEO_FIELDS: tuple[tuple[str, str, type], ...] = (
    ("x-forwarded-for", "ipAddress", str),
    ("x-geo-latitude", "latitude", float),
    ("x-geo-longitude", "longitude", float),
    ("x-geo-country-code", "countryCode", str),
    ("x-geo-region-code", "stateCode", str),
    ("x-geo-city", "city", str),
)


def target_base_url(
    *, client: str, secure: bool, server_domain: str | None, location_hint: str | None
) -> str:
    """``scheme://host`` of the Delivery API for this client.

    ``server_domain`` wins when given; else the edge cluster from the location hint
    (``mboxedge{hint}``); else the client's own host.
    """
    scheme = "https" if secure else "http"
    if server_domain:
        if "://" in server_domain:
            return server_domain.rstrip("/")
        return f"{scheme}://{server_domain}"
    if location_hint:
        return f"{scheme}://mboxedge{location_hint}.{EDGE_DOMAIN}"
    return f"{scheme}://{client}.{EDGE_DOMAIN}"


def delivery_params(
    client: str, organization_id: str, session_id: str | None, version: str | None = None
) -> dict[str, str]:
    params = {"client": client, "imsOrgId": organization_id}
    if session_id:
        params["sessionId"] = session_id
    if version:
        params["version"] = version
    return params


def delivery_headers(request_id: str, sdk_version: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-EXC-SDK": SDK_NAME,
        "X-EXC-SDK-Version": sdk_version,
        "X-Request-Id": request_id,
    }


def parse_json_body(content: bytes) -> Any:
    """Parse a JSON body, or None when it is empty or not JSON."""
    if not content:
        return None
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return None


def delivery_error(status: int, content: bytes, request_id: str | None) -> DeliveryError:
    """The typed error for a non-2xx Delivery API answer, with Target's own message."""
    body = parse_json_body(content)
    message = None
    if isinstance(body, dict):
        message = body.get("message")
        request_id = body.get("requestId") or request_id
    if not isinstance(message, str) or not message:
        message = content[:200].decode("utf-8", "replace").strip() or "no message"
    return DeliveryError(message, status=status, request_id=request_id)


def is_valid_ip(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    import ipaddress  # late: only for geo lookups

    try:
        ipaddress.ip_address(value.strip())
    except ValueError:
        return False
    return True


def geo_from_payload(payload: Any) -> dict[str, Any]:
    """``context.geo`` values from the geo endpoint's answer (``x-geo-*`` keys)."""
    if not isinstance(payload, Mapping):
        return {}
    geo: dict[str, Any] = {}
    for source, target, kind in _GEO_FIELDS:
        value = payload.get(source)
        if value is None:
            continue
        try:
            geo[target] = float(value) if kind is float else str(value)
        except (TypeError, ValueError):
            continue
    return geo


def needs_geo_lookup(geo: Mapping[str, Any] | None, geo_targeting_enabled: bool) -> str | None:
    """The IP to look up (``""`` for "the caller's own"), or None when no lookup is needed.

    A lookup happens only when the artifact uses geo, the request names an IP (or the
    "unknown" marker) and gives no geo values of its own.
    """
    if not geo_targeting_enabled or not isinstance(geo, Mapping):
        return None
    ip = geo.get("ipAddress")
    if ip != UNKNOWN_IP_ADDRESS and not is_valid_ip(ip):
        return None
    for key in ("latitude", "longitude", "countryCode", "stateCode", "city"):
        if geo.get(key) is not None:
            return None
    return "" if ip == UNKNOWN_IP_ADDRESS else str(ip).strip()
