"""The envelope ``get_offers`` returns around a Delivery API response.

Its keys are the Adobe Python SDK's: ``response``, ``request``, ``target_cookie``,
``target_location_hint_cookie``, ``analytics_details``, ``trace``, ``response_tokens`` and
``meta`` (``decisioning_method``, ``remote_mboxes``, ``remote_views``). Keys with nothing
to say are left out, as the reference does, except ``response``, ``request`` and ``meta``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from targetkit.delivery.cookies import location_hint_cookie, target_cookie

__all__ = ["build_envelope", "locations"]


def locations(response: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every answered location, in the reference's order: execute pageLoad and mboxes,
    then prefetch pageLoad, views and mboxes."""
    execute = response.get("execute")
    prefetch = response.get("prefetch")
    if isinstance(execute, dict):
        yield from _part(execute, ("pageLoad", "mboxes"))
    if isinstance(prefetch, dict):
        yield from _part(prefetch, ("pageLoad", "views", "mboxes"))


def _part(part: Mapping[str, Any], keys: tuple[str, ...]) -> Iterator[Mapping[str, Any]]:
    for key in keys:
        value = part.get(key)
        if isinstance(value, dict):
            yield value
        elif isinstance(value, list):
            yield from (item for item in value if isinstance(item, dict))


def _collect(response: Mapping[str, Any]) -> tuple[list[Any], list[Any], list[Any]]:
    analytics: list[Any] = []
    traces: list[Any] = []
    tokens: list[Any] = []
    for location in locations(response):
        if location.get("analytics"):
            analytics.append(location["analytics"])
        if location.get("trace"):
            traces.append(location["trace"])
        for option in location.get("options") or ():
            if isinstance(option, dict) and option.get("responseTokens"):
                tokens.append(option["responseTokens"])
    return analytics, traces, tokens


def build_envelope(
    *,
    request: Mapping[str, Any],
    response: dict[str, Any],
    session_id: str,
    cluster: str | None,
    decisioning_method: str,
    remote_mboxes: list[str],
    remote_views: list[str],
    now_ms: int,
) -> dict[str, Any]:
    """Wrap ``response`` the way the Adobe SDKs do, cookies included."""
    analytics, traces, tokens = _collect(response)
    envelope: dict[str, Any] = {
        "target_cookie": target_cookie(session_id, response.get("id"), now_ms),
    }
    hint = location_hint_cookie(cluster, response.get("edgeHost"))
    if hint is not None:
        envelope["target_location_hint_cookie"] = hint
    if analytics:
        envelope["analytics_details"] = analytics
    if traces:
        envelope["trace"] = traces
    if tokens:
        envelope["response_tokens"] = tokens
    envelope["meta"] = {
        "decisioning_method": decisioning_method,
        "remote_mboxes": remote_mboxes,
        "remote_views": remote_views,
    }
    envelope["request"] = request
    envelope["response"] = response
    return envelope
