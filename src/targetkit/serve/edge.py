"""``POST /rest/v1/delivery`` answered by targetkit's own engine over the served artifact.

The emulator decides a Delivery request exactly as an on-device client would (the same
:class:`~targetkit.core.ClientCore` and compiled rules), then dresses the answer like the
edge: status 200, a tntId carrying the location hint (``<id>.35_0``), ``edgeHost``,
``activity.decisioningMethod`` = ``server-side`` in response tokens, and one
``notifications`` entry per notification received. Geo for ``context.geo.ipAddress``
comes from the emulator's geo table.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from targetkit.core import ClientCore, LoadedArtifact
from targetkit.decisioning.rules import DECISIONING_METHOD_TOKEN
from targetkit.delivery.envelope import locations
from targetkit.delivery.wire import geo_from_payload
from targetkit.errors import ArtifactError, InvalidRequestError
from targetkit.ids import new_uuid
from targetkit.options import parse_options
from targetkit.serve.artifacts import ArtifactStore
from targetkit.serve.geo import GeoTable

__all__ = ["DeliveryEdge", "EdgeAnswer", "EdgeStats"]

logger = logging.getLogger(__name__)

#: Notifications kept for ``GET /_admin/notifications`` (the oldest are dropped beyond it).
NOTIFICATION_LOG_SIZE = 1000
#: Distinct client codes the emulator decides for (each compiles the artifact once).
MAX_CLIENT_CODES = 32


@dataclass(slots=True)
class EdgeAnswer:
    """An HTTP answer: status, JSON body (None for no body) and extra headers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class EdgeStats:
    """Counters and the recent notifications, for ``/_admin/stats`` and tests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {
            "artifact_requests": 0,
            "artifact_not_modified": 0,
            "delivery_requests": 0,
            "notifications": 0,
            "impressions": 0,
            "geo_requests": 0,
            "faults_injected": 0,
        }
        self.notifications: deque[dict[str, Any]] = deque(maxlen=NOTIFICATION_LOG_SIZE)

    def bump(self, name: str, by: int = 1) -> None:
        with self._lock:
            self.counts[name] = self.counts.get(name, 0) + by

    def record_notifications(self, items: list[dict[str, Any]]) -> None:
        with self._lock:
            self.counts["notifications"] += len(items)
            self.notifications.extend(items)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)

    def recent_notifications(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.notifications)


def _error(status: int, message: str) -> EdgeAnswer:
    # Target's own error body shape.
    return EdgeAnswer(status, {"status": status, "message": message})


class DeliveryEdge:
    """Decides Delivery requests against the store's current artifact."""

    def __init__(
        self,
        store: ArtifactStore,
        geo: GeoTable,
        stats: EdgeStats,
        *,
        default_client: str,
        organization_id: str,
        location_hint: str,
    ) -> None:
        self._store = store
        self._geo = geo
        self._stats = stats
        self._default_client = default_client
        self._organization_id = organization_id
        self._hint = location_hint
        self.edge_host = f"mboxedge{location_hint}.tt.omtrdc.net"
        self._lock = threading.Lock()
        self._cores: dict[str, ClientCore] = {}
        self._loaded: dict[str, LoadedArtifact] = {}

    # -- compiled artifact per client code ----------------------------------------------

    def _core(self, client: str) -> ClientCore:
        core = self._cores.get(client)
        if core is None:
            options = parse_options(
                {
                    "client": client,
                    "organization_id": self._organization_id,
                    "decisioning_method": "on-device",
                    "target_location_hint": self._hint,
                    "telemetry_enabled": False,
                },
                environ={},  # the emulator must not pick up TARGETKIT_* meant for apps
            )
            core = ClientCore(options)
            self._cores[client] = core
        return core

    def loaded_for(self, client: str) -> tuple[ClientCore, LoadedArtifact]:
        """The core for ``client`` and the current artifact compiled for it.

        Raises ArtifactError when the artifact cannot be compiled, InvalidRequestError
        when too many client codes were seen.
        """
        served = self._store.current
        with self._lock:
            if client not in self._cores and len(self._cores) >= MAX_CLIENT_CODES:
                raise InvalidRequestError(
                    "client", f"the emulator serves at most {MAX_CLIENT_CODES} client codes"
                )
            core = self._core(client)
            loaded = self._loaded.get(client)
            if loaded is None or loaded.etag != served.json_etag:
                loaded = core.compile(served.raw, served.label, served.json_etag)
                core.install(loaded)  # prepare() reads it (geo targeting)
                self._loaded[client] = loaded
        return core, loaded

    # -- requests ------------------------------------------------------------------------

    def handle(self, body: bytes, query: Mapping[str, str], caller_ip: str | None) -> EdgeAnswer:
        """Answer one ``POST /rest/v1/delivery``."""
        self._stats.bump("delivery_requests")
        try:
            request = orjson.loads(body) if body else None
        except orjson.JSONDecodeError as err:
            return _error(400, f"request body is not valid JSON: {err}")
        if not isinstance(request, dict):
            return _error(400, "request body must be a JSON object")
        context = request.get("context")
        if isinstance(context, dict) and context.get("beacon") is True:
            self._record(request)
            return EdgeAnswer(204, None)
        client = query.get("client") or self._default_client
        session_id = query.get("sessionId") or new_uuid()
        try:
            response = self._decide(request, client, session_id, caller_ip)
        except InvalidRequestError as err:
            return _error(400, str(err))
        except ArtifactError as err:
            logger.error("the served artifact cannot be compiled for %r: %s", client, err)
            return _error(500, f"the emulator's artifact cannot be used: {err}")
        received = self._record(request)
        if received:
            response["notifications"] = [{"id": item["id"]} for item in received]
        return EdgeAnswer(200, response, {"x-session-id": session_id})

    def _record(self, request: Mapping[str, Any]) -> list[dict[str, Any]]:
        notes = request.get("notifications")
        items = [n for n in notes if isinstance(n, dict)] if isinstance(notes, list) else []
        if items:
            self._stats.record_notifications(items)
        return items

    def _decide(
        self, request: dict[str, Any], client: str, session_id: str, caller_ip: str | None
    ) -> dict[str, Any]:
        core, loaded = self.loaded_for(client)
        prepared = core.prepare({"request": request, "session_id": session_id})
        if prepared.geo_ip is not None:
            ip = prepared.geo_ip or caller_ip or ""
            core.apply_geo(prepared, geo_from_payload(self._geo.lookup(ip)) if ip else None)
        envelope, item = core.decide_local(prepared, loaded)
        if item is not None and item.notifications:
            self._stats.bump("impressions", len(item.notifications))
        response: dict[str, Any] = envelope["response"]
        response["status"] = 200
        response["edgeHost"] = self.edge_host
        response["id"] = self._visitor_with_hint(response.get("id"))
        _mark_server_side(response)
        return response

    def _visitor_with_hint(self, visitor: Any) -> dict[str, Any]:
        """The response's ``id``, its tntId carrying the location hint like the edge's."""
        result = dict(visitor) if isinstance(visitor, Mapping) else {}
        tnt_id = result.get("tntId")
        if not isinstance(tnt_id, str) or not tnt_id:
            result["tntId"] = f"{new_uuid()}.{self._hint}_0"
        elif "." not in tnt_id:
            result["tntId"] = f"{tnt_id}.{self._hint}_0"
        return result


def _mark_server_side(response: Mapping[str, Any]) -> None:
    """Say ``server-side`` in each option's response tokens, as the edge does.

    The engine builds fresh option dicts per request, but their token dicts may be shared
    with the compiled artifact: replace them, never update them.
    """
    for location in locations(response):
        for option in location.get("options") or ():
            tokens = option.get("responseTokens") if isinstance(option, dict) else None
            if isinstance(tokens, Mapping):
                option["responseTokens"] = {**tokens, DECISIONING_METHOD_TOKEN: "server-side"}
