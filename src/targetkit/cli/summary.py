"""What ``targetkit artifact inspect`` reports about an artifact, as plain data.

Allocations are read from the rule conditions: Target writes an experience's traffic
share as bounds on the ``allocation`` variable (``0 <= allocation <= 50``), so the share
is the width of that range. A rule without such bounds serves everyone its audience
matches (reported as ``None``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["allocation_range", "summarize"]

_LOWER_OPS = {"<=": False, "<": True}  # op -> bound is strict
_UPPER_OPS = {">=": False, ">": True}


def _is_allocation(value: Any) -> bool:
    return isinstance(value, dict) and value.get("var") in ("allocation", ["allocation"])


def _bounds(expr: Any, found: dict[str, float]) -> None:
    """Collect ``lo``/``hi`` from ``lo <= allocation`` and ``hi >= allocation`` terms."""
    if not isinstance(expr, dict) or len(expr) != 1:
        return
    ((op, args),) = expr.items()
    if op == "and" and isinstance(args, list):
        for item in args:
            _bounds(item, found)
        return
    if not isinstance(args, list) or len(args) != 2 or not _is_allocation(args[1]):
        return
    bound = args[0]
    if isinstance(bound, bool) or not isinstance(bound, int | float):
        return
    if op in _LOWER_OPS:
        found["lo"] = float(bound)
    elif op in _UPPER_OPS:
        found["hi"] = float(bound)


def allocation_range(condition: Any) -> tuple[float, float] | None:
    """The ``(lo, hi)`` allocation bounds a condition sets, or None when it sets none."""
    found: dict[str, float] = {}
    _bounds(condition, found)
    if not found:
        return None
    return found.get("lo", 0.0), found.get("hi", 100.0)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(raw: Mapping[str, Any], key: str) -> list[str]:
    value = raw.get(key)
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _rules(raw: Mapping[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Every rule as ``(location type, location name, rule)``."""
    found = []
    rules = raw.get("rules")
    if not isinstance(rules, Mapping):
        return []
    for kind, group in (("mbox", rules.get("mboxes")), ("view", rules.get("views"))):
        if not isinstance(group, Mapping):
            continue
        for name, items in group.items():
            for rule in items if isinstance(items, list) else ():
                if isinstance(rule, dict):
                    found.append((kind, name, rule))
    return found


def _names(rules: list[tuple[str, str, dict[str, Any]]], kind: str) -> list[str]:
    """Location names of ``kind`` that have rules (for artifacts without local lists)."""
    return sorted({name for k, name, _ in rules if k == kind})


def _activity(
    entries: dict[Any, dict[str, Any]], kind: str, name: str, rule: dict[str, Any]
) -> None:
    meta = _mapping(rule.get("meta"))
    activity_id = meta.get("activity.id", rule.get("activityId"))
    entry = entries.setdefault(
        activity_id,
        {
            "id": activity_id,
            "name": meta.get("activity.name"),
            "type": meta.get("activity.type"),
            "locations": [],
            "audiences": [],
            "experiences": [],
            "property_tokens": [],
        },
    )
    location = {"type": kind, "name": name}
    if location not in entry["locations"]:
        entry["locations"].append(location)
    found = meta.get("audience.ids")
    audiences: list[Any] = found if isinstance(found, list) else []
    for audience in audiences:
        if audience not in entry["audiences"]:
            entry["audiences"].append(audience)
    for token in rule.get("propertyTokens") or ():
        if token not in entry["property_tokens"]:
            entry["property_tokens"].append(token)
    experience_id = meta.get("experience.id")
    if any(e["id"] == experience_id for e in entry["experiences"]):
        return
    bounds = allocation_range(rule.get("condition"))
    entry["experiences"].append(
        {
            "id": experience_id,
            "name": meta.get("experience.name"),
            "audiences": audiences,
            "allocation_percent": round(bounds[1] - bounds[0], 2) if bounds else None,
            "allocation_range": list(bounds) if bounds else None,
        }
    )


def summarize(raw: Mapping[str, Any], size_bytes: int, label: str) -> dict[str, Any]:
    """The inspection report of a validated artifact (JSON-ready)."""
    meta = _mapping(raw.get("meta"))
    activities: dict[Any, dict[str, Any]] = {}
    rules = _rules(raw)
    for kind, name, rule in rules:
        _activity(activities, kind, name, rule)
    return {
        "source": label,
        "size_bytes": size_bytes,
        "version": raw.get("version"),
        "client_code": meta.get("clientCode"),
        "environment": meta.get("environment"),
        "generated_at": meta.get("generatedAt"),
        "global_mbox": raw.get("globalMbox") or "target-global-mbox",
        "geo_targeting_enabled": bool(raw.get("geoTargetingEnabled", False)),
        "response_tokens": _list(raw, "responseTokens"),
        "mboxes": {
            "local": _list(raw, "localMboxes") or _names(rules, "mbox"),
            "remote": _list(raw, "remoteMboxes"),
        },
        "views": {
            "local": _list(raw, "localViews") or _names(rules, "view"),
            "remote": _list(raw, "remoteViews"),
        },
        "rule_count": len(rules),
        "activities": list(activities.values()),
    }
