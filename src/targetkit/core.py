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

from targetkit.artifact.location import artifact_url, cdn_base_url, geo_url
from targetkit.artifact.parse import load_artifact
from targetkit.decisioning.context import ContextBuilder
from targetkit.decisioning.engine import decide, remote_dependency
from targetkit.decisioning.rules import CompiledArtifact, compile_artifact
from targetkit.delivery.cookies import (
    cluster_from_edge_host,
    cluster_from_tnt_id,
    parse_target_cookie,
    valid_cluster,
)
from targetkit.delivery.envelope import build_envelope
from targetkit.delivery.hybrid import merge, requested_locations, split
from targetkit.delivery.notifications import PendingItem
from targetkit.delivery.request import RemoteCall, remote_call
from targetkit.delivery.telemetry import TelemetryStore, request_features
from targetkit.delivery.wire import needs_geo_lookup
from targetkit.errors import InvalidRequestError, NotReadyError
from targetkit.ids import UuidSource
from targetkit.options import DecisioningMethod, Options
from targetkit.requests import GetOffersOptions, validate_get_offers, validate_notifications

__all__ = ["ClientCore", "LoadedArtifact", "Plan", "Prepared"]

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
    # The local zone's offset from UTC at that instant (what datetime.astimezone()
    # reads too, at a third of the cost).
    return time.localtime(now_ms / 1000).tm_gmtoff // 60


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
        #: Session ids, request ids and tntIds for the request path.
        self.new_id = UuidSource()
        # The edge cluster of the first Delivery answer, when no hint was configured.
        self._learned_hint: str | None = None
        self._artifact: LoadedArtifact | None = None
        self._swap_lock = threading.Lock()
        self._retrievals = 0
        #: Where the artifact comes from, and the geo endpoint beside it on the CDN.
        self.artifact_location = artifact_url(
            client=options.client,
            environment=options.environment,
            property_token=options.property_token,
            artifact_format=options.artifact_format or "json",
            cdn_environment=options.cdn_environment,
            cdn_base_path=options.cdn_base_path,
            artifact_location=options.artifact_location,
        )
        self.geo_url = geo_url(cdn_base_url(options.cdn_environment, options.cdn_base_path))

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
        self.new_id.reset()

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
        session_id = cookies.get("session") or opts.session_id or self.new_id()
        hint = self.location_hint(opts)
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
            request["requestId"] = self.new_id()
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

    def location_hint(self, opts: GetOffersOptions) -> str | None:
        """The edge cluster for a call without a visitor cluster: the call's option, the
        client's option, else the cluster learned from the first edge answer (as the
        Adobe SDKs keep ``target_location_hint`` from their first response)."""
        return opts.target_location_hint or self.options.target_location_hint or self._learned_hint

    def _learn_hint(self, answer: Mapping[str, Any]) -> None:
        if self._learned_hint is None and self.options.target_location_hint is None:
            # A benign race: concurrent first answers name the same edge or either wins.
            self._learned_hint = valid_cluster(cluster_from_edge_host(answer.get("edgeHost")))

    def apply_geo(self, prepared: Prepared, geo: Mapping[str, Any] | None) -> None:
        """Merge looked-up geo values into the request's ``context.geo``."""
        context = prepared.request["context"]
        merged = dict(context.get("geo") or _EMPTY)
        if prepared.geo_ip == "":
            # The "unknownIpAddress" marker asked for the caller's own location; it is
            # not an address to keep in the request.
            merged.pop("ipAddress", None)
        if geo:
            merged.update(geo)
        context["geo"] = merged

    def decide_local(
        self, prepared: Prepared, loaded: LoadedArtifact
    ) -> tuple[dict[str, Any], PendingItem | None]:
        """Decide on-device; returns the envelope and the notification item to queue."""
        request = prepared.request
        visitor = request.get("id") or {}
        if not _has_visitor(visitor):
            hint = self.location_hint(prepared.options)
            visitor = dict(visitor)
            visitor["tntId"] = self.new_id() + (f".{hint}_0" if hint else "")
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

    # -- server-side and hybrid -----------------------------------------------------

    def prepare_notifications(self, raw_options: Any) -> Prepared:
        """Validate ``send_notifications`` options: a get_offers call sent to the edge,
        whose request must carry a non-empty ``notifications`` list."""
        if not isinstance(raw_options, Mapping):
            raise InvalidRequestError("options", "must be an object")
        request = raw_options.get("request")
        if not isinstance(request, Mapping):
            raise InvalidRequestError("options.request", "must be an object")
        notes = validate_notifications(request.get("notifications"), "request.notifications")
        if not notes:
            raise InvalidRequestError("request.notifications", "must not be empty")
        options = dict(raw_options)
        options["decisioning_method"] = DecisioningMethod.SERVER_SIDE.value
        return self.prepare(options)

    def plan(self, prepared: Prepared, loaded: LoadedArtifact | None = None) -> Plan:
        """Route a prepared call: on-device, to the edge, or split between the two.

        On-device needs ``loaded``. Hybrid decides on-device each location the artifact
        can (``remote_dependency``) and sends the rest in one call; with no artifact yet
        everything goes to the edge.
        """
        method = prepared.method
        if method is DecisioningMethod.ON_DEVICE:
            if loaded is None:
                raise NotReadyError("on-device decisioning needs an artifact")
            return Plan(DecisioningMethod.ON_DEVICE.value, prepared, loaded, None, [], [])
        if method is DecisioningMethod.SERVER_SIDE:
            return Plan(DecisioningMethod.SERVER_SIDE.value, None, None, prepared.request, [], [])
        loaded = loaded or self._artifact
        if loaded is None:
            mboxes, views = requested_locations(prepared.request)
            return Plan(
                DecisioningMethod.SERVER_SIDE.value, None, None, prepared.request, mboxes, views
            )
        mboxes, views = remote_dependency(loaded.compiled, prepared.request)
        local_request, remote_request = split(
            prepared.request, mboxes, views, loaded.compiled.global_mbox
        )
        local = None
        if local_request is not None:
            local = Prepared(
                prepared.options,
                local_request,
                prepared.session_id,
                prepared.cluster,
                DecisioningMethod.ON_DEVICE,
                prepared.now_ms,
                prepared.started,
            )
            local.geo_ip = prepared.geo_ip
        if remote_request is None:
            return Plan(DecisioningMethod.ON_DEVICE.value, local, loaded, None, [], [])
        name = DecisioningMethod.HYBRID if local is not None else DecisioningMethod.SERVER_SIDE
        return Plan(name.value, local, loaded, remote_request, mboxes, views)

    def decide_planned(self, plan: Plan) -> tuple[dict[str, Any], PendingItem | None] | None:
        """The on-device half of ``plan`` (None when everything goes to the edge)."""
        if plan.local is None or plan.loaded is None:
            return None
        return self.decide_local(plan.local, plan.loaded)

    def remote_call(self, prepared: Prepared, plan: Plan) -> RemoteCall | None:
        """The Delivery call for the edge's half of ``plan``; pending telemetry rides on it.

        Call after :meth:`decide_planned`: the edge must see the visitor id the device
        used, so that both halves decide for the same visitor.
        """
        if plan.remote is None:
            return None
        request = plan.remote
        if plan.local is not None and plan.local.request.get("id"):
            request = {**request, "id": plan.local.request["id"]}
        entries = self.telemetry.drain() if self.telemetry.has_entries() else []
        return remote_call(
            self.options,
            request,
            session_id=prepared.session_id,
            cluster=prepared.cluster,
            consumer_id=prepared.options.consumer_id,
            telemetry=entries,
            sdk_version=_sdk_version(),
        )

    def call_failed(self, call: RemoteCall) -> None:
        """A Delivery call failed: keep the telemetry it carried for the next one."""
        self.telemetry.restore(call.telemetry)

    def finish(
        self,
        prepared: Prepared,
        plan: Plan,
        local: tuple[dict[str, Any], PendingItem | None] | None,
        call: RemoteCall | None,
        response: Any,
    ) -> tuple[dict[str, Any], PendingItem | None]:
        """The envelope for a planned call, from its on-device and edge answers, and the
        notification item to queue."""
        if call is None:
            assert local is not None
            return local[0], self._with_caller_notifications(prepared, local[1])
        answer: dict[str, Any] = dict(response) if isinstance(response, Mapping) else {}
        request = {k: v for k, v in call.body.items() if k != "telemetry"}
        item = None
        if local is not None:
            for mode in ("execute", "prefetch"):
                request.pop(mode, None)
                if mode in prepared.request:
                    request[mode] = prepared.request[mode]
            answer = merge(prepared.request, local[0]["response"], answer)
            item = local[1]
        self._record_edge_call(prepared, plan, call, answer)
        self._learn_hint(answer)
        envelope = build_envelope(
            request=request,
            response=answer,
            session_id=prepared.session_id,
            cluster=valid_cluster(prepared.cluster),
            decisioning_method=plan.method,
            remote_mboxes=list(plan.remote_mboxes),
            remote_views=list(plan.remote_views),
            now_ms=prepared.now_ms,
        )
        return envelope, item

    def _record_edge_call(
        self, prepared: Prepared, plan: Plan, call: RemoteCall, answer: Mapping[str, Any]
    ) -> None:
        if not self.telemetry.enabled:
            return
        token = answer.get("telemetryServerToken")
        self.telemetry.add(
            call.request_id,
            prepared.now_ms,
            execution=(time.perf_counter() - prepared.started) * 1000,
            mode="edge",
            features=request_features(call.body, plan.method),
            telemetryServerToken=token if isinstance(token, str) else None,
        )

    def _with_caller_notifications(
        self, prepared: Prepared, item: PendingItem | None
    ) -> PendingItem | None:
        """On-device, notifications the caller put in the request go out with the queue."""
        notes = prepared.request.get("notifications")
        if not isinstance(notes, list) or not notes:
            return item
        if item is None:
            request = prepared.request
            visitor = {
                "id": request.get("id"),
                "context": request.get("context"),
                "experienceCloud": request.get("experienceCloud"),
            }
            return PendingItem(visitor, prepared.session_id, list(notes))
        item.notifications = list(item.notifications) + list(notes)
        return item


@dataclass(slots=True)
class Plan:
    """How one ``get_offers`` call is served (see :meth:`ClientCore.plan`).

    ``method`` is what ``meta.decisioning_method`` reports; ``local`` is the part decided
    on-device with ``loaded``; ``remote`` the request sent to the edge;
    ``remote_mboxes`` / ``remote_views`` name what went there.
    """

    method: str
    local: Prepared | None
    loaded: LoadedArtifact | None
    remote: dict[str, Any] | None
    remote_mboxes: list[str]
    remote_views: list[str]


def _sdk_version() -> str:
    from targetkit import __version__  # late: the package imports this module

    return __version__
