"""The ``trace`` a request gets when it asks for one (``request.trace`` present).

A trace tells which activities matched, which audiences (segments) matched or not, and the
context each activity was evaluated with. It is built only when asked for, so it costs
nothing on the normal path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["RequestTracer", "profile_of"]


def profile_of(visitor_id: Mapping[str, Any] | None) -> dict[str, Any]:
    """The trace's ``profile``: the visitor id with the tntId split from its location."""
    result = dict(visitor_id or {})
    tnt_id = result.get("tntId")
    if isinstance(tnt_id, str):
        head, _, location = tnt_id.partition(".")
        result["tntId"] = head
        if location:
            result["profileLocation"] = location.split(".")[0]
    return {"visitorId": result}


class RequestTracer:
    """Collects what one request mode (execute or prefetch) evaluated.

    ``header`` holds the parts common to every location of the request: client code,
    artifact trace, profile and session id.
    """

    __slots__ = ("_campaigns", "_environment", "_header", "_request", "_targets")

    def __init__(self, header: Mapping[str, Any], environment: Any) -> None:
        self._header = header
        self._environment = environment
        self._request: dict[str, Any] = {}
        self._campaigns: dict[Any, dict[str, Any]] = {}
        self._targets: dict[Any, dict[str, Any]] = {}

    def trace_request(
        self, mode: str, request_type: str, detail: Mapping[str, Any], page: Mapping[str, Any]
    ) -> None:
        entry = dict(detail)
        entry["type"] = mode
        self._request = {
            "pageURL": page.get("url"),
            "host": page.get("domain"),
            request_type: entry,
        }

    def rule_evaluated(self, rule: Any, context: Mapping[str, Any], satisfied: bool) -> None:
        meta = rule.meta
        activity_id = rule.activity_id
        if satisfied and activity_id not in self._campaigns:
            offer = meta.get("offer.id")
            self._campaigns[activity_id] = {
                "id": activity_id,
                "campaignType": meta.get("activity.type"),
                "branchId": meta.get("experience.id"),
                "offers": [offer] if offer is not None else [],
                "environment": self._environment,
            }
        target = self._targets.get(activity_id)
        if target is None:
            target = {
                "context": dict(context),
                "campaignId": activity_id,
                "campaignType": meta.get("activity.type"),
                "matchedSegmentIds": [],
                "unmatchedSegmentIds": [],
                "matchedRuleConditions": [],
                "unmatchedRuleConditions": [],
            }
            self._targets[activity_id] = target
        segments = target["matchedSegmentIds" if satisfied else "unmatchedSegmentIds"]
        for audience in rule.audience_ids:
            if audience not in segments:
                segments.append(audience)
        key = "matchedRuleConditions" if satisfied else "unmatchedRuleConditions"
        target[key].append(rule.condition)

    def notification_sent(self, activity_id: Any, notification: Mapping[str, Any]) -> None:
        campaign = self._campaigns.get(activity_id)
        if campaign is not None:
            campaign.setdefault("notifications", []).append(notification)

    def result(self) -> dict[str, Any]:
        """A snapshot of the trace so far, shaped like the Delivery API's."""
        request = {"sessionId": self._header.get("sessionId")}
        request.update(self._request)
        return {
            "clientCode": self._header.get("clientCode"),
            "artifact": self._header.get("artifact"),
            "profile": self._header.get("profile"),
            "request": {k: v for k, v in request.items() if v is not None},
            # Snapshots: a location's trace shows what was evaluated up to its answer.
            "campaigns": [_snapshot(c) for c in self._campaigns.values()],
            "evaluatedCampaignTargets": [_snapshot(t) for t in self._targets.values()],
        }


def _snapshot(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, list) else v for k, v in entry.items()}
