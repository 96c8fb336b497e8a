"""Campaign macros: ``${activity.name}``, ``${mbox.user}``... in html and actions content.

Target replaces these in offer content at delivery time. A macro key is looked up first
in the rule's ``meta`` (``activity.id``, ``offer.name``...), then in the mbox request
itself (``name``, ``index``), then in the mbox parameters. Legacy names still work:
``campaign`` means ``activity`` and ``recipe`` means ``experience``; an ``mbox.``
prefix is dropped. An unknown macro is left as written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from targetkit.decisioning.jsvalues import js_string

__all__ = ["replace_macros"]

_MACRO = re.compile(r"\$\{([a-zA-Z0-9_.]*?)\}")
_LEGACY = re.compile(r"campaign|recipe", re.IGNORECASE)
_LEGACY_NAMES = {"campaign": "activity", "recipe": "experience"}


def _lookup_key(macro: str) -> str:
    renamed = _LEGACY.sub(lambda m: _LEGACY_NAMES[m.group(0).lower()], macro)
    parts = renamed.split(".")
    if len(parts) > 2:
        # Only the last two segments name the value: "mbox.param.x" reads "param.x".
        parts = parts[-2:]
    return ".".join(part for part in parts if part != "mbox")


def _expand(
    text: str, meta: Mapping[str, Any], detail: Mapping[str, Any], params: Mapping[str, Any]
) -> str:
    def value_of(match: re.Match[str]) -> str:
        key = _lookup_key(match.group(1))
        for source in (meta, detail, params):
            value = source.get(key)
            if value is not None:
                return js_string(value)
        return match.group(0)

    return _MACRO.sub(value_of, text)


def replace_macros(
    options: list[dict[str, Any]], meta: Mapping[str, Any], detail: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Options with macros expanded. Options without macros are returned as they are."""
    raw_params = detail.get("parameters")
    params: Mapping[str, Any] = raw_params if isinstance(raw_params, dict) else {}
    result = []
    for option in options:
        kind = option.get("type")
        content = option.get("content")
        if kind == "html" and isinstance(content, str):
            option = {**option, "content": _expand(content, meta, detail, params)}
        elif kind == "actions" and isinstance(content, list):
            actions = []
            for action in content:
                inner = action.get("content") if isinstance(action, dict) else None
                if isinstance(inner, str):
                    action = {**action, "content": _expand(inner, meta, detail, params)}
                actions.append(action)
            option = {**option, "content": actions}
        result.append(option)
    return result
