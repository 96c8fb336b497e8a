"""The client core: everything both clients share, and no I/O.

:class:`ClientCore` turns ``get_offers`` options into a normalized Delivery request,
decides it on-device against the installed artifact, builds envelopes and notification
items, and keeps the artifact and telemetry state. The sync and async clients wrap it
with their own HTTP and timer layers; they differ only in how they wait.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from targetkit.artifact.parse import load_artifact
from targetkit.decisioning.context import ContextBuilder
from targetkit.decisioning.engine import decide, remote_dependency
from targetkit.decisioning.rules import CompiledArtifact, compile_artifact
from targetkit.delivery.cookies import cluster_from_tnt_id, parse_target_cookie
from targetkit.delivery.envelope import build_envelope
from targetkit.delivery.notifications import PendingItem
from targetkit.delivery.telemetry import TelemetryStore
from targetkit.delivery.wire import needs_geo_lookup
from targetkit.ids import new_uuid
from targetkit.options import DecisioningMethod, Options
from targetkit.requests import GetOffersOptions, validate_get_offers

__all__ = ["ClientCore", "LoadedArtifact", "Prepared"]

logger = logging.getLogger(__name__)

_EMPTY: Mapping[str, Any] = {}


def system_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class LoadedArtifact:
    """An accepted, compiled artifact and where it came from."""

    compiled: CompiledArtifact
    location: str | None
    etag: str | None
    loaded_at_ms: int
    retrieval_count: int

    @property
    def raw(self) -> Mapping[str, Any]:
        return self.compiled.raw


class Prepared:
    """A validated, normalized ``get_offers`` call, ready to be decided or sent."""

    __slots__ = (
        "cluster",
        "geo_ip",
        "method",
        "now_ms",
        "options",
        "request",
        "session_id",
        "started",
    )

    def __init__(
        self,
        options: GetOffersOptions,
        request: dict[str, Any],
        session_id: str,
        cluster: str | None,
        method: DecisioningMethod,
        now_ms: int,
        started: float,
    ) -> None:
        self.options = options
        self.request = request
        self.session_id = session_id
        self.cluster = cluster
        self.method = method
        self.now_ms = now_ms
        self.started = started
        self.geo_ip: str | None = None


def _time_offset_minutes(now_ms: int) -> int:
    local = datetime.fromtimestamp(now_ms / 1000, UTC).astimezone()
    offset = local.utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else 0


def _has_visitor(visitor: Mapping[str, Any]) -> bool:
    if visitor.get("tntId") or visitor.get("marketingCloudVisitorId"):
        return True
    if visitor.get("thirdPartyId"):
        return True
    customer_ids = visitor.get("customerIds")
    if isinstance(customer_ids, list):
        return any(
            isinstance(c, Mapping)
            and c.get("authenticatedState") == "authenticated"
            and c.get("id")
            for c in customer_ids
        )
    return False


class ClientCore:
    """State and logic shared by :class:`TargetClient` and :class:`AsyncTargetClient`."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.clock_ms: Callable[[], int] = options.clock_ms or system_clock_ms
        self.contexts = ContextBuilder()
        self.telemetry = TelemetryStore(options.telemetry_enabled)
        self._artifact: LoadedArtifact | None = None
        self._swap_lock = threading.Lock()
        self._retrievals = 0

    # -- artifact -------------------------------------------------------------------

    @property
    def artifact(self) -> LoadedArtifact | None:
        """The installed artifact. Reading one reference is atomic: a request that took
        it keeps using it even if a newer one is installed meanwhile."""
        return self._artifact

    def compile(
        self, payload: Mapping[str, Any] | bytes | str, location: str | None, etag: str | None
    ) -> LoadedArtifact:
        """Parse, validate and compile an artifact; raises an ``ArtifactError``."""
        raw = load_artifact(
            payload,
            organization_id=self.options.organization_id,
            artifact_format=self.options.artifact_format,
        )
        compiled = compile_artifact(raw, self.options.client)
        with self._swap_lock:
            self._retrievals += 1
            count = self._retrievals
        return LoadedArtifact(compiled, location, etag, self.clock_ms(), count)

    def after_fork(self) -> None:
        """In a forked child: a fresh swap lock (the parent's may have been held)."""
        self._swap_lock = threading.Lock()

    def install(self, loaded: LoadedArtifact) -> bool:
        """Make ``loaded`` the artifact new requests use; True if it is the first one."""
        with self._swap_lock:
            first = self._artifact is None
            self._artifact = loaded
        return first

    def artifact_trace(self, loaded: LoadedArtifact) -> dict[str, Any]:
        """The ``artifact`` part of a request trace."""
        opts = self.options
        trace: dict[str, Any] = {
            "artifactLocation": loaded.location or "Not Applicable",
            "pollingInterval": opts.polling_interval_ms,
            "pollingHalted": opts.polling_interval_ms == 0,
            "artifactVersion": loaded.compiled.version,
            "artifactRetrievalCount": loaded.retrieval_count,
            "artifactLastRetrieved": datetime.fromtimestamp(loaded.loaded_at_ms / 1000, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
        }
        trace.update(loaded.compiled.meta)
        return trace

    # -- requests -------------------------------------------------------------------

    def prepare(self, raw_options: Any) -> Prepared:
        """Validate and normalize ``get_offers`` options (raises InvalidRequestError)."""
        started = time.perf_counter()
        opts = validate_get_offers(raw_options)
        now_ms = self.clock_ms()
        cookies = parse_target_cookie(opts.target_cookie, now_ms)
        session_id = cookies.get("session") or opts.session_id or new_uuid()
        hint = opts.target_location_hint or self.options.target_location_hint
        request = self._normalize(opts, cookies.get("PC"), now_ms)
        visitor = request.get("id") or _EMPTY
        cluster = (
            cluster_from_tnt_id(cookies.get("PC"))
            or cluster_from_tnt_id(visitor.get("tntId"))
            or hint
        )
        method = opts.decisioning_method or self.options.decisioning_method
        prepared = Prepared(opts, request, session_id, cluster, method, now_ms, started)
        loaded = self._artifact
        if loaded is not None and method is not DecisioningMethod.SERVER_SIDE:
            context = request.get("context") or _EMPTY
            prepared.geo_ip = needs_geo_lookup(
                context.get("geo"), loaded.compiled.geo_targeting_enabled
            )
        return prepared

    def _normalize(
        self, opts: GetOffersOptions, cookie_tnt_id: str | None, now_ms: int
    ) -> dict[str, Any]:
        """The Delivery request to decide or send, built from the caller's without
        mutating it: the caller's ``requestId`` is kept."""
        source = opts.request
        request = dict(source)
        if not request.get("requestId"):
            request["requestId"] = new_uuid()
        visitor = dict(source.get("id") or _EMPTY)
        if not visitor.get("tntId") and cookie_tnt_id:
            visitor["tntId"] = cookie_tnt_id
        if opts.customer_ids:
            visitor["customerIds"] = list(opts.customer_ids) + list(
                visitor.get("customerIds") or ()
            )
        if visitor:
            request["id"] = visitor
        context = dict(source.get("context") or _EMPTY)
        context.setdefault("channel", "web")
        if context.get("timeOffsetInMinutes") is None:
            context["timeOffsetInMinutes"] = _time_offset_minutes(now_ms)
        request["context"] = context
        token = self.options.property_token
        if token and not isinstance(source.get("property"), Mapping):
            request["property"] = {"token": token}
        if self.options.environment_id is not None and "environmentId" not in request:
            request["environmentId"] = self.options.environment_id
        return request

    def apply_geo(self, prepared: Prepared, geo: Mapping[str, Any] | None) -> None:
        """Merge looked-up geo values into the request's ``context.geo``."""
        context = prepared.request["context"]
        merged = dict(context.get("geo") or _EMPTY)
        merged.pop("ipAddress", None) if prepared.geo_ip == "" else None
        if geo:
            merged.update(geo)
        context["geo"] = merged

    def remote_dependency(self, request: Mapping[str, Any]) -> tuple[list[str], list[str]]:
        loaded = self._artifact
        if loaded is None:
            return [], []
        return remote_dependency(loaded.compiled, request)

    def decide_local(
        self, prepared: Prepared, loaded: LoadedArtifact
    ) -> tuple[dict[str, Any], PendingItem | None]:
        """Decide on-device; returns the envelope and the notification item to queue."""
        request = prepared.request
        visitor = request.get("id") or {}
        if not _has_visitor(visitor):
            hint = prepared.options.target_location_hint or self.options.target_location_hint
            visitor = dict(visitor)
            visitor["tntId"] = new_uuid() + (f".{hint}_0" if hint else "")
            request["id"] = visitor
        parsed = time.perf_counter()
        context = self.contexts.build(request.get("context"), prepared.now_ms)
        decision = decide(
            loaded.compiled,
            request,
            context,
            self.contexts.page_context,
            client=self.options.client,
            now_ms=prepared.now_ms,
            session_id=prepared.session_id,
            artifact_trace=self.artifact_trace(loaded)
            if request.get("trace") is not None
            else None,
        )
        envelope = build_envelope(
            request=request,
            response=decision.response,
            session_id=prepared.session_id,
            cluster=prepared.cluster,
            decisioning_method=DecisioningMethod.ON_DEVICE.value,
            remote_mboxes=decision.remote_mboxes,
            remote_views=decision.remote_views,
            now_ms=prepared.now_ms,
        )
        done = time.perf_counter()
        self.telemetry.add_delivery(
            request,
            prepared.now_ms,
            execution_ms=(done - prepared.started) * 1000,
            parsing_ms=(parsed - prepared.started) * 1000,
            decisioning_method=DecisioningMethod.ON_DEVICE.value,
        )
        item = None
        if decision.notifications or self.telemetry.enabled:
            notification_visitor = {
                "id": request.get("id"),
                "context": request.get("context"),
                "experienceCloud": request.get("experienceCloud"),
            }
            item = PendingItem(notification_visitor, prepared.session_id, decision.notifications)
        return envelope, item
