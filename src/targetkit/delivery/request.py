"""Server-side calls: the Delivery API request a ``get_offers`` call sends, without I/O.

:func:`remote_call` turns a normalized request (see ``ClientCore.prepare``: requestId
kept or drawn, ``id.customerIds``, ``context.channel`` and ``timeOffsetInMinutes``,
property token, ``environmentId``) into a :class:`RemoteCall`: URL, query parameters,
headers, body and timeout. Both clients send the same :class:`RemoteCall` with their own
HTTP layer, so what goes on the wire cannot differ between sync and async.

Host: ``server_domain`` when set (it may carry a scheme, as tests do); else
``mboxedge{cluster}.tt.omtrdc.net`` when an edge cluster is known (from the ``PC``
cookie's tntId, the visitor's tntId, or the ``target_location_hint`` option, which is
what the ``mboxEdgeCluster`` cookie holds); else ``{client}.tt.omtrdc.net``. ``secure``
picks https or http.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from targetkit.delivery.cookies import cluster_from_tnt_id, valid_cluster
from targetkit.delivery.notifications import Outgoing
from targetkit.delivery.wire import (
    DELIVERY_PATH,
    delivery_headers,
    delivery_params,
    target_base_url,
)
from targetkit.ids import new_uuid
from targetkit.options import Options

__all__ = [
    "RemoteCall",
    "delivery_url",
    "notification_call",
    "remote_call",
    "supplemental_data_id",
]

_EMPTY: Mapping[str, Any] = {}


@dataclass(slots=True)
class RemoteCall:
    """One Delivery API call, ready to send.

    ``telemetry`` holds the entries drained into ``body``: give them back to the store
    when the call fails, so they ride on the next one.
    """

    url: str
    params: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any]
    timeout_s: float
    telemetry: list[dict[str, Any]] = field(default_factory=list)

    @property
    def request_id(self) -> str | None:
        value = self.body.get("requestId")
        return value if isinstance(value, str) else None


def _header_request_id(value: Any) -> str:
    """The ``X-Request-Id`` header: the body's requestId when a header can carry it."""
    if isinstance(value, str) and value.isascii() and value.isprintable() and value:
        return value
    return new_uuid()


def supplemental_data_id() -> str:
    """A fresh Analytics supplemental data id (two 16-hex-digit halves, upper case)."""
    import secrets  # late: hashlib/hmac cost ~4 ms at import

    return f"{secrets.token_hex(8)}-{secrets.token_hex(8)}".upper()


def delivery_url(options: Options, cluster: str | None) -> str:
    """The Delivery endpoint for this client and edge cluster (None: the default host)."""
    base = target_base_url(
        client=options.client,
        secure=options.secure,
        server_domain=options.server_domain,
        location_hint=valid_cluster(cluster),
    )
    return base + DELIVERY_PATH


def _with_analytics(request: dict[str, Any], consumer_id: str) -> None:
    """Stitch with Analytics (A4T): ``consumer_id`` asks for a supplemental data id.

    The Adobe SDKs get it from the Visitor API per consumer id; we draw a fresh one per
    call unless the request carries its own, and default logging to server side.
    """
    cloud = dict(request.get("experienceCloud") or _EMPTY)
    analytics = dict(cloud.get("analytics") or _EMPTY)
    analytics.setdefault("logging", "server_side")
    if not analytics.get("supplementalDataId"):
        analytics["supplementalDataId"] = supplemental_data_id()
    cloud["analytics"] = analytics
    request["experienceCloud"] = cloud


def remote_call(
    options: Options,
    request: Mapping[str, Any],
    *,
    session_id: str,
    cluster: str | None,
    consumer_id: str | None,
    telemetry: list[dict[str, Any]],
    sdk_version: str,
) -> RemoteCall:
    """The call that sends ``request`` (a normalized Delivery request) to the edge."""
    body = {key: value for key, value in request.items() if value is not None}
    if not body.get("requestId"):
        body["requestId"] = new_uuid()
    if consumer_id:
        _with_analytics(body, consumer_id)
    if telemetry:
        body["telemetry"] = {"entries": telemetry}
    return RemoteCall(
        url=delivery_url(options, cluster),
        params=delivery_params(
            options.client, options.organization_id, session_id, options.version
        ),
        headers=delivery_headers(_header_request_id(body["requestId"]), sdk_version),
        body=body,
        timeout_s=options.timeout_ms / 1000,
        telemetry=telemetry,
    )


def notification_call(options: Options, outgoing: Outgoing, sdk_version: str) -> RemoteCall:
    """The call for a batch of queued notifications.

    It goes to the edge cluster of the visitor (its tntId) or of the client's
    ``target_location_hint``, so that it lands where the visitor's profile lives.
    """
    visitor = outgoing.body.get("id")
    tnt_id = visitor.get("tntId") if isinstance(visitor, Mapping) else None
    cluster = cluster_from_tnt_id(tnt_id) or options.target_location_hint
    return RemoteCall(
        url=delivery_url(options, cluster),
        params=delivery_params(
            options.client, options.organization_id, outgoing.session_id, options.version
        ),
        headers=delivery_headers(_header_request_id(outgoing.body.get("requestId")), sdk_version),
        body=outgoing.body,
        timeout_s=options.timeout_ms / 1000,
        telemetry=outgoing.telemetry,
    )
