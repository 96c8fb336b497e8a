"""The decisioning context: the data artifact rules are evaluated against.

Built from a Delivery API request's ``context`` (camelCase keys) the way the Node.js
SDK builds it (contextProvider.js), since the conformance suites were produced by it::

    {"current_timestamp": ms, "current_time": "HHMM", "current_day": 1..7,
     "user": {...}, "page": {...}, "referring": {...}, "geo": {...}}

and, per mbox, ``mbox`` from the mbox parameters. Input is untrusted JSON: a value of the
wrong type anywhere is treated as absent, and nothing here raises on it.

The ``user``, ``page`` and ``referring`` dicts come from LRU caches and are shared
between requests: treat them as read-only (the engine copies the top level only).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, TypeGuard

from targetkit.decisioning.urls import UrlParser
from targetkit.decisioning.useragent import UserAgentParser

__all__ = ["ContextBuilder", "geo_context", "mbox_context", "timing_context"]

logger = logging.getLogger(__name__)

_MS_PER_MINUTE = 60_000
_MS_PER_DAY = 86_400_000
_MAX_ARRAY_INDEX = 2**32 - 2  # the largest property name JavaScript treats as an index
_GEO_NAMES = ("country", "region", "city", "latitude", "longitude")


def timing_context(now_ms: int) -> dict[str, Any]:
    """``current_timestamp`` (ms), ``current_time`` ("HHMM", UTC) and ``current_day``
    (1 = Monday .. 7 = Sunday, UTC) for the epoch time ``now_ms`` (ms)."""
    ms = int(now_ms)
    minutes = ms // _MS_PER_MINUTE
    days = ms // _MS_PER_DAY
    return {
        "current_timestamp": now_ms,
        "current_time": f"{minutes // 60 % 24:02d}{minutes % 60:02d}",
        # 1970-01-01 was a Thursday (4).
        "current_day": (days + 3) % 7 + 1,
    }


def geo_context(geo: Mapping[str, Any] | None) -> dict[str, Any]:
    """``country, region, city, latitude, longitude`` from a Delivery API ``geo`` object.

    Values pass through as given (the Node SDK does no coercion either), except that
    objects and arrays, which no rule can compare meaningfully, become None.
    """
    if not isinstance(geo, Mapping):
        return dict.fromkeys(_GEO_NAMES)
    get = geo.get
    return {
        "country": _scalar(get("countryCode")),
        "region": _scalar(get("stateCode")),
        "city": _scalar(get("city")),
        "latitude": _scalar(get("latitude")),
        "longitude": _scalar(get("longitude")),
    }


def mbox_context(parameters: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``mbox`` context: parameters with dotted names expanded into nested objects
    (``"a.b": 1`` -> ``{"a": {"b": 1}}``) and a lower-cased ``<key>_lc`` twin next to
    every string value, at every depth. The input is never modified."""
    if not isinstance(parameters, Mapping):
        return {}
    return _with_lower_case_strings(_unflatten(parameters))


class ContextBuilder:
    """Builds decisioning contexts; owns the user-agent and URL caches."""

    def __init__(
        self, user_agents: UserAgentParser | None = None, urls: UrlParser | None = None
    ) -> None:
        self.user_agents = user_agents if user_agents is not None else UserAgentParser()
        self.urls = urls if urls is not None else UrlParser()

    def build(self, request_context: Mapping[str, Any] | None, now_ms: int) -> dict[str, Any]:
        """The request-level context for the request ``context`` at ``now_ms`` (epoch ms)."""
        context: Mapping[Any, Any] = request_context if _is_object(request_context) else {}
        address = context.get("address")
        if not _is_object(address):
            address = {}
        hints = context.get("clientHints")
        user_agent = context.get("userAgent")
        result = timing_context(now_ms)
        result["user"] = self.user_agents.user_context(
            user_agent if isinstance(user_agent, str) else None,
            hints if _is_object(hints) else None,
        )
        result["page"] = self.urls.url_context(address.get("url"))
        result["referring"] = self.urls.url_context(address.get("referringUrl"))
        result["geo"] = geo_context(context.get("geo"))
        return result

    def page_context(self, address: Mapping[str, Any] | None) -> Mapping[str, Any]:
        """The URL context of an mbox's or view's own ``address`` (its ``url`` only).

        The Node SDK (ruleEvaluator.js) builds *both* ``page`` and ``referring`` from
        ``address.url`` when a request detail carries an address, ignoring
        ``referringUrl``; callers reproduce that by using this result for both.
        Anything but an object with a string ``url`` gives the empty context.
        """
        url = address.get("url") if _is_object(address) else None
        return self.urls.url_context(url)


def _is_object(value: object) -> TypeGuard[Mapping[Any, Any]]:
    # Plain dicts first: the ABC check costs ~10x more and JSON input is always dicts.
    return type(value) is dict or isinstance(value, Mapping)


def _scalar(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is float or kind is int or value is None:
        return value
    return None if isinstance(value, Mapping | list | tuple) else value


def _is_array_index(key: str) -> bool:
    return (
        key.isascii()
        and key.isdigit()
        and len(key) <= 10
        and (key == "0" or key[0] != "0")
        and int(key) <= _MAX_ARRAY_INDEX
    )


def _js_keys(obj: Mapping[Any, Any]) -> list[str]:
    """String keys in JavaScript's ``Object.keys`` order: array indices first, ascending.

    The order decides which of two colliding parameters (``"a"`` and ``"a.b"``) wins.
    """
    keys = [key for key in obj if isinstance(key, str)]
    indices = [key for key in keys if _is_array_index(key)]
    if not indices:
        return keys
    indices.sort(key=int)
    return indices + [key for key in keys if not _is_array_index(key)]


def _expandable(key: str) -> bool:
    return "." in key and ".." not in key and key[0] != "." and key[-1] != "."


def _unflatten(parameters: Mapping[Any, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    created: set[int] = set()  # ids of the dicts made here, which we may write into
    for key in _js_keys(parameters):
        value = parameters[key]
        if _expandable(key):
            _set_nested(result, key.split("."), value, created)
        else:
            result[key] = value
    return result


def _set_nested(target: dict[str, Any], path: list[str], value: Any, created: set[int]) -> None:
    current = target
    for name in path[:-1]:
        found = current.get(name)
        child: dict[str, Any]
        if not _js_truthy(found):
            child = {}
        elif isinstance(found, dict) and id(found) in created:
            child = found
        elif isinstance(found, Mapping):
            child = dict(found)  # never write into the caller's objects
        else:
            # JavaScript (strict mode) throws when it writes a property onto a string or
            # number here; we drop the dotted parameter instead and keep the plain one.
            logger.debug("mbox parameter %r collides with a non-object value", ".".join(path))
            return
        created.add(id(child))
        current[name] = child
        current = child
    current[path[-1]] = value


def _js_truthy(value: Any) -> bool:
    if isinstance(value, Mapping | list):
        return True  # JavaScript objects and arrays are truthy even when empty
    return bool(value) and value == value  # NaN is falsy


def _with_lower_case_strings(root: Mapping[Any, Any]) -> dict[str, Any]:
    """Add ``<key>_lc`` twins to string values at every depth, like the Node SDK.

    Iterative, so deeply nested input cannot exhaust the stack; a mapping met twice is
    converted once (which also makes self-referencing input terminate).
    """
    done: dict[int, dict[str, Any]] = {}
    top: dict[str, Any] = {}
    pending: list[tuple[Mapping[Any, Any], dict[str, Any]]] = [(root, top)]
    while pending:
        source, result = pending.pop()
        done[id(source)] = result
        keys = _js_keys(source)
        for key in keys:
            result[key] = source[key]
        for key in keys:
            # Read the result, not the source: as in Node, "a_lc" written for key "a"
            # is what a later key "a_lc" sees.
            value = result[key]
            if isinstance(value, str):
                result[key + "_lc"] = value.lower()
            if not isinstance(source[key], Mapping):
                continue
            if isinstance(value, str):  # an object replaced by the "_lc" twin of another key
                result[key] = _spread_string(value)
            elif isinstance(value, Mapping):
                converted = done.get(id(value))
                if converted is None:
                    converted = done[id(value)] = {}
                    pending.append((value, converted))
                result[key] = converted
    return top


def _spread_string(text: str) -> dict[str, str]:
    """What Node's lower-casing makes of a string where it expected an object: one entry
    per UTF-16 code unit (JavaScript's ``{...text}``), each with its ``_lc`` twin."""
    data = text.encode("utf-16-le", "surrogatepass")
    units = [data[i : i + 2].decode("utf-16-le", "surrogatepass") for i in range(0, len(data), 2)]
    spread = {str(i): unit for i, unit in enumerate(units)}
    spread.update({f"{i}_lc": unit.lower() for i, unit in enumerate(units)})
    return spread
