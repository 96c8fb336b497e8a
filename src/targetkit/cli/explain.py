"""Readable explanations of decisions: JSON Logic conditions as text, traces as reasons.

Used by ``targetkit decide --trace``: for every location it lists the activities the
engine evaluated, which rule matched and which did not, and the values the conditions
read (``allocation = 37.5``, ``mbox.tier = "gold"``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from targetkit.cli.style import Style

__all__ = ["condition_text", "condition_vars", "explain_response"]

_INFIX = {"==", "===", "!=", "!==", "<", "<=", ">", ">=", "in", "+", "-", "*", "/", "%"}
_BOOL = {"and", "or"}


def _value(value: Any) -> str:
    if isinstance(value, dict) and "var" in value:
        target = value["var"]
        name = target[0] if isinstance(target, list) and target else target
        return str(name)
    if isinstance(value, dict):
        return condition_text(value)
    return orjson.dumps(value).decode()


def _range(args: list[Any]) -> str | None:
    """``lo <= x`` and ``hi >= x`` on one variable read as ``lo <= x <= hi``."""
    if len(args) != 2:
        return None
    low = args[0] if isinstance(args[0], dict) and len(args[0]) == 1 else None
    high = args[1] if isinstance(args[1], dict) and len(args[1]) == 1 else None
    if low is None or high is None:
        return None
    ((low_op, low_args),) = low.items()
    ((high_op, high_args),) = high.items()
    if low_op not in ("<=", "<") or high_op not in (">=", ">"):
        return None
    if not (isinstance(low_args, list) and isinstance(high_args, list)):
        return None
    if len(low_args) != 2 or len(high_args) != 2 or low_args[1] != high_args[1]:
        return None
    upper = "<=" if high_op == ">=" else "<"
    return f"{_value(low_args[0])} {low_op} {_value(low_args[1])} {upper} {_value(high_args[0])}"


def condition_text(expr: Any) -> str:
    """A JSON Logic expression written out, e.g. ``0 <= allocation <= 50 and ...``."""
    if not isinstance(expr, dict) or len(expr) != 1:
        return _value(expr)
    ((op, args),) = expr.items()
    items = args if isinstance(args, list) else [args]
    if op in _BOOL:
        ranged = _range(items) if op == "and" else None
        if ranged is not None:
            return ranged
        parts = [condition_text(i) for i in items]
        joined = f" {op} ".join(
            f"({p})" if isinstance(i, dict) and next(iter(i), None) in _BOOL else p
            for p, i in zip(parts, items, strict=True)
        )
        return joined or ("true" if op == "and" else "false")
    if op in ("!", "!!"):
        return f"{'not' if op == '!' else 'truthy'} {_value(items[0] if items else None)}"
    if op == "var":
        return _value(expr)
    if op in _INFIX and len(items) == 2:
        return f"{_value(items[0])} {op} {_value(items[1])}"
    if op in ("<", "<=") and len(items) == 3:
        return f"{_value(items[0])} {op} {_value(items[1])} {op} {_value(items[2])}"
    return f"{op}({', '.join(_value(i) for i in items)})"


def condition_vars(expr: Any) -> list[str]:
    """The variables a condition reads, in order of appearance, without duplicates."""
    found: dict[str, None] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for op, args in node.items():
                if op == "var":
                    target = args[0] if isinstance(args, list) and args else args
                    if isinstance(target, str):
                        found[target] = None
                else:
                    walk(args)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(expr)
    return list(found)


def _lookup(context: Mapping[str, Any], path: str) -> Any:
    node: Any = context
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _where(condition: Any, context: Mapping[str, Any]) -> str:
    values = [f"{name} = {_value(_lookup(context, name))}" for name in condition_vars(condition)]
    return f"  where {', '.join(values)}" if values else ""


Located = tuple[str, str | None, Mapping[str, Any]]


def _located(response: Mapping[str, Any], global_mbox: str) -> Iterator[Located]:
    """(title, location name, answer) for every answered location."""
    for mode in ("execute", "prefetch"):
        part = response.get(mode)
        if not isinstance(part, Mapping):
            continue
        page_load = part.get("pageLoad")
        if isinstance(page_load, Mapping):
            yield f"{mode} pageLoad", global_mbox, page_load
        for kind, label in (("mboxes", "mbox"), ("views", "view")):
            for item in part.get(kind) or ():
                if isinstance(item, Mapping):
                    name = item.get("name")
                    yield f"{mode} {label} {name}", name, item


def _outcome(location: Mapping[str, Any]) -> str:
    names = []
    for option in location.get("options") or ():
        tokens = option.get("responseTokens") if isinstance(option, Mapping) else None
        if isinstance(tokens, Mapping) and tokens.get("experience.name") is not None:
            names.append(f"{tokens.get('activity.name')}: {tokens.get('experience.name')}")
    if names:
        return "; ".join(dict.fromkeys(names))
    return "content served" if location.get("options") else "no activity matched (default content)"


def explain_response(
    response: Mapping[str, Any],
    activity_names: Mapping[Any, str],
    activities_at: Mapping[str, set[Any]],
    global_mbox: str,
    style: Style,
) -> list[str]:
    """Lines explaining each location's decision from the engine's trace.

    The engine's trace of a location holds everything its request mode evaluated so
    far; ``activities_at`` (location name -> activity ids with rules there) keeps each
    location's explanation to its own activities.
    """
    lines: list[str] = []
    for title, name, location in _located(response, global_mbox):
        lines.append(f"{style.bold(title)}  ->  {_outcome(location)}")
        trace = location.get("trace")
        found = trace.get("evaluatedCampaignTargets") if isinstance(trace, Mapping) else None
        own = activities_at.get(name) if isinstance(name, str) else None
        targets = [
            t
            for t in found or ()
            if isinstance(t, Mapping) and (own is None or t.get("campaignId") in own)
        ]
        if not targets:
            lines.append("    no rules evaluated for this location")
            continue
        for target in targets:
            lines.extend(_explain_target(target, activity_names, style))
    return lines


def _explain_target(
    target: Mapping[str, Any], activity_names: Mapping[Any, str], style: Style
) -> list[str]:
    campaign = target.get("campaignId")
    name = activity_names.get(campaign, "")
    lines = [f"    activity {campaign} {name} [{target.get('campaignType')}]"]
    found = target.get("context")
    context: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    for key, mark, paint in (
        ("matchedRuleConditions", "matched  ", style.good),
        ("unmatchedRuleConditions", "no match ", style.dim),
    ):
        for condition in target.get(key) or ():
            lines.append(
                f"      {paint(mark)} {condition_text(condition)}{_where(condition, context)}"
            )
    for key, label in (("matchedSegmentIds", "in audiences"), ("unmatchedSegmentIds", "not in")):
        if target.get(key):
            lines.append(f"      {label}: {', '.join(map(str, target[key]))}")
    return lines
