"""Deciding a Delivery API request on-device, against a compiled artifact.

:func:`decide` is pure: it reads the request, the decisioning context and the compiled
artifact, and returns the Delivery API response with the display notifications that the
executed locations produced. It does no I/O: geo lookups, notification sending and
telemetry belong to the client layers around it.

The rules, as the Delivery API applies them:

* an mbox gets the consequence of its first matching rule (or an empty answer);
* the global mbox (and ``pageLoad``) gets every matching rule, one per rule key;
* views get every matching rule across the requested view(s), merged per view name;
* executed locations produce display notifications; prefetched ones carry event tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from targetkit.decisioning.allocation import allocation_for_device, visitor_id_for
from targetkit.decisioning.context import mbox_context
from targetkit.decisioning.jsonlogic import truthy
from targetkit.decisioning.macros import replace_macros
from targetkit.decisioning.rules import (
    DECISIONING_METHOD_TOKEN,
    CompiledArtifact,
    CompiledRule,
)
from targetkit.decisioning.trace import RequestTracer, profile_of
from targetkit.ids import new_uuid

__all__ = ["Decision", "DisplayNotification", "decide", "remote_dependency"]

PageContextFn = Callable[[Any], Mapping[str, Any]]

_EMPTY: Mapping[str, Any] = {}


@dataclass(slots=True)
class DisplayNotification:
    """A display notification an executed location produced.

    Kept light on the request path: ids are only drawn when the notification is sent
    (``to_dict``), unless a trace needed the full object at once.
    """

    mbox: str
    tokens: list[str]
    timestamp: int
    materialized: dict[str, Any] | None = None

    def to_dict(self, new_id: Callable[[], str]) -> dict[str, Any]:
        if self.materialized is None:
            self.materialized = {
                "id": new_id(),
                "impressionId": new_id(),
                "timestamp": self.timestamp,
                "type": "display",
                "mbox": {"name": self.mbox},
                "tokens": self.tokens,
            }
        return self.materialized


@dataclass(slots=True)
class Decision:
    """What :func:`decide` returns."""

    response: dict[str, Any]
    notifications: list[DisplayNotification] = field(default_factory=list)
    remote_mboxes: list[str] = field(default_factory=list)
    remote_views: list[str] = field(default_factory=list)


def _names(items: Any) -> list[str]:
    if not isinstance(items, list):
        return []
    return [i["name"] for i in items if isinstance(i, dict) and isinstance(i.get("name"), str)]


def _part(request: Mapping[str, Any], mode: str) -> Mapping[str, Any]:
    value = request.get(mode)
    return value if isinstance(value, dict) else _EMPTY


def _remote(
    requested: list[str], listed_remote: tuple[str, ...], local: frozenset[str]
) -> list[str]:
    """The requested names the artifact lists as remote (in artifact order), then the
    ones it does not know, without duplicates."""
    remote = [name for name in listed_remote if name in requested] if listed_remote else []
    remote += [name for name in requested if name not in local]
    return list(dict.fromkeys(remote)) if remote else remote


def remote_dependency(
    compiled: CompiledArtifact, request: Mapping[str, Any]
) -> tuple[list[str], list[str]]:
    """The mboxes and views of ``request`` that the artifact cannot decide on-device.

    A location needs the edge when the artifact lists it as remote (it has server-side
    activities or audiences), or when the artifact does not know it at all.
    """
    execute, prefetch = _part(request, "execute"), _part(request, "prefetch")
    requested = _names(execute.get("mboxes")) + _names(prefetch.get("mboxes"))
    if isinstance(execute.get("pageLoad"), dict) or isinstance(prefetch.get("pageLoad"), dict):
        requested.append(compiled.global_mbox)
    remote_mboxes = _remote(requested, compiled.remote_mboxes, compiled.local_mboxes)

    views = prefetch.get("views")
    view_names = _names(views)
    if isinstance(views, list) and views and not view_names:
        remote_views = list(compiled.remote_views)
    else:
        remote_views = _remote(view_names, compiled.remote_views, compiled.local_views)
    return remote_mboxes, remote_views


class _RequestDecision:
    """The state of deciding one request: allocations, dedupe keys, notifications."""

    def __init__(
        self,
        compiled: CompiledArtifact,
        request: Mapping[str, Any],
        context: Mapping[str, Any],
        page_context: PageContextFn,
        now_ms: int,
        trace_header: Mapping[str, Any] | None,
    ) -> None:
        self.compiled = compiled
        self.context = context
        self.page_context = page_context
        self.now_ms = now_ms
        self.visitor = visitor_id_for(request.get("id"))
        prop = request.get("property")
        token = prop.get("token") if isinstance(prop, dict) else None
        self.property_token = token if isinstance(token, str) and token else None
        self.trace_header = trace_header
        self.request_tokens = self._request_tokens(context)
        self.allocations: dict[str, float] = {}
        self.notifications: list[DisplayNotification] = []
        self.notified: set[tuple[str, str]] = set()

    def _request_tokens(self, context: Mapping[str, Any]) -> dict[str, Any] | None:
        """The geo response tokens; None when there are none, so rules share theirs."""
        geo = context.get("geo") or _EMPTY
        tokens = {
            name: geo[key] for name, key in self.compiled.geo_tokens if geo.get(key) is not None
        }
        if not tokens:
            return None
        return {DECISIONING_METHOD_TOKEN: "on-device", **tokens}

    def tracer(self) -> RequestTracer | None:
        if self.trace_header is None:
            return None
        return RequestTracer(self.trace_header, self.compiled.meta.get("environment"))

    # -- rule evaluation ------------------------------------------------------------

    def allocation(self, rule: CompiledRule) -> float:
        device = rule.device_prefix + self.visitor
        value = self.allocations.get(device)
        if value is None:
            value = allocation_for_device(device + ".0")
            self.allocations[device] = value
        return value

    def rule_context(self, detail: Mapping[str, Any]) -> dict[str, Any]:
        ctx = dict(self.context)
        params = detail.get("parameters")
        ctx["mbox"] = mbox_context(params) if isinstance(params, dict) and params else {}
        if "address" in detail:
            address = detail["address"]
            # The Delivery API builds both page and referring from the location's own
            # address.url here (not from referringUrl); we keep that for parity.
            page = self.page_context(address)
            ctx["page"] = page
            ctx["referring"] = page
        return ctx

    def matches(
        self, rule: CompiledRule, ctx: dict[str, Any], tracer: RequestTracer | None
    ) -> bool:
        if rule.uses_allocation or tracer is not None:
            ctx["allocation"] = self.allocation(rule)
        satisfied = truthy(rule.test(ctx))
        if tracer is not None:
            tracer.rule_evaluated(rule, ctx, satisfied)
        return satisfied

    # -- consequences ---------------------------------------------------------------

    def consequence(
        self,
        mode: str,
        request_type: str,
        rule: CompiledRule,
        detail: Mapping[str, Any],
        tracer: RequestTracer | None,
    ) -> dict[str, Any]:
        result: dict[str, Any] = {"name": rule.name}
        if mode == "execute":
            self._notify(rule, tracer)
            source = rule.execute_options
            if rule.click_metrics:
                result["metrics"] = list(rule.click_metrics)
        else:
            source = rule.prefetch_options
            if request_type == "view":
                result["metrics"] = list(rule.metrics)
        extra = self.request_tokens
        if extra is None:
            # Prebuilt with the artifact; a fresh list, the option dicts are shared.
            options = list(rule.execute_static if mode == "execute" else rule.prefetch_static)
        else:
            tokens = {**rule.meta_tokens, **extra}
            options = [{**option, "responseTokens": tokens} for option in source]
        if rule.has_macros:
            options = replace_macros(options, rule.meta, detail)
        result["options"] = options
        index = detail.get("index")
        if index is not None:
            result["index"] = index
        if tracer is not None:
            result["trace"] = tracer.result()
        return result

    def _notify(self, rule: CompiledRule, tracer: RequestTracer | None) -> None:
        tokens = []
        for token in rule.event_tokens:
            key = (rule.name, token)
            if key not in self.notified:
                self.notified.add(key)
                tokens.append(token)
        if not tokens:
            return
        note = DisplayNotification(rule.name, tokens, self.now_ms)
        self.notifications.append(note)
        if tracer is not None:
            tracer.notification_sent(rule.activity_id, note.to_dict(new_uuid))

    # -- locations ------------------------------------------------------------------

    def mbox(
        self, mode: str, detail: Mapping[str, Any], tracer: RequestTracer | None
    ) -> list[dict[str, Any]]:
        name = detail.get("name")
        is_global = name == self.compiled.global_mbox
        if tracer is not None:
            tracer.trace_request(mode, "mbox", detail, self.context.get("page") or _EMPTY)
        rules = self.compiled.mboxes.get(name, ()) if isinstance(name, str) else ()
        ctx = self.rule_context(detail)
        results: list[dict[str, Any]] = []
        matched: set[str] = set()
        for rule in rules:
            if not rule.allowed_for(self.property_token):
                continue
            if is_global and rule.key in matched:
                continue
            if self.matches(rule, ctx, tracer):
                results.append(self.consequence(mode, "mbox", rule, detail, tracer))
                matched.add(rule.key)
                if not is_global:
                    break
        if not is_global and not results:
            blank: dict[str, Any] = {"name": name}
            if detail.get("index") is not None:
                blank["index"] = detail["index"]
            if tracer is not None:
                blank["trace"] = tracer.result()
            results.append(blank)
        return results

    def view(
        self, mode: str, detail: Mapping[str, Any], tracer: RequestTracer | None
    ) -> list[dict[str, Any]]:
        if tracer is not None:
            tracer.trace_request(mode, "view", detail, self.context.get("page") or _EMPTY)
        name = detail.get("name")
        if name is not None:
            rules = self.compiled.views.get(name, ()) if isinstance(name, str) else ()
        else:
            rules = self.compiled.all_view_rules
        ctx = self.rule_context(detail)
        merged: dict[str, dict[str, Any]] = {}
        matched: set[str] = set()
        for rule in rules:
            if not rule.allowed_for(self.property_token) or rule.key in matched:
                continue
            if not self.matches(rule, ctx, tracer):
                continue
            matched.add(rule.key)
            found = self.consequence(mode, "view", rule, detail, tracer)
            previous = merged.get(found["name"])
            if previous is None:
                merged[found["name"]] = found
            else:
                previous["options"] = previous["options"] + found["options"]
                previous["metrics"] = previous.get("metrics", []) + found.get("metrics", [])
        return list(merged.values())

    def page_load(
        self, mode: str, detail: Mapping[str, Any], tracer: RequestTracer | None
    ) -> dict[str, Any]:
        found = self.mbox(mode, {**detail, "name": self.compiled.global_mbox}, tracer)
        options: list[dict[str, Any]] = []
        metrics: dict[Any, dict[str, Any]] = {}
        trace = None
        for item in found:
            options.extend(item.get("options", ()))
            trace = item.get("trace", trace)
            for metric in item.get("metrics", ()):
                metrics[metric.get("eventToken")] = metric
        result: dict[str, Any] = {"options": options}
        if trace is not None:
            result["trace"] = trace
        if metrics:
            result["metrics"] = list(metrics.values())
        return result

    def mode(self, mode: str, part: Mapping[str, Any]) -> dict[str, Any]:
        tracer = self.tracer()
        result: dict[str, Any] = {}
        mboxes = part.get("mboxes")
        if isinstance(mboxes, list):
            result["mboxes"] = [
                found
                for detail in mboxes
                if isinstance(detail, dict)
                for found in self.mbox(mode, detail, tracer)
            ]
        views = part.get("views")
        if mode == "prefetch" and isinstance(views, list):
            result["views"] = [
                found
                for detail in views
                if isinstance(detail, dict)
                for found in self.view(mode, detail, tracer)
            ]
        page_load = part.get("pageLoad")
        if isinstance(page_load, dict):
            result["pageLoad"] = self.page_load(mode, page_load, tracer)
        return result


def decide(
    compiled: CompiledArtifact,
    request: Mapping[str, Any],
    context: Mapping[str, Any],
    page_context: PageContextFn,
    *,
    client: str,
    now_ms: int,
    session_id: str | None = None,
    artifact_trace: Mapping[str, Any] | None = None,
) -> Decision:
    """Decide ``request`` on-device.

    ``request`` must already be normalized (``requestId`` and ``id`` present; geo
    resolved into ``context``). ``context`` is the decisioning context built from it,
    ``page_context`` builds a page context for a location's own ``address``, ``now_ms``
    is the request time (epoch ms) stamped on notifications.
    """
    trace_header = None
    if request.get("trace") is not None:
        trace_header = {
            "clientCode": client,
            "artifact": artifact_trace,
            "profile": profile_of(request.get("id")),
            "sessionId": session_id,
        }
    state = _RequestDecision(compiled, request, context, page_context, now_ms, trace_header)
    remote_mboxes, remote_views = remote_dependency(compiled, request)
    response: dict[str, Any] = {
        "status": 206 if remote_mboxes or remote_views else 200,
        "requestId": request.get("requestId"),
        "id": dict(request.get("id") or _EMPTY),
        "client": client,
    }
    for mode in ("execute", "prefetch"):
        part = request.get(mode)
        if isinstance(part, dict):
            response[mode] = state.mode(mode, part)
    return Decision(response, state.notifications, remote_mboxes, remote_views)
