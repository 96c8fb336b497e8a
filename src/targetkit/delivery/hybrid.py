"""Hybrid decisioning: split one request between the device and the edge, merge answers.

:func:`split` cuts a normalized Delivery request in two. The *local* part keeps the
mboxes, views and page loads the artifact can decide; the *remote* part gets the rest
(as reported by ``engine.remote_dependency``) plus any caller notifications, and is sent
in one Delivery call. :func:`merge` puts the two answers back into one response, with
mboxes in the order the request asked for them. Both parts share the visitor, context
and every other top-level key; the dicts are copied one level deep, never deeply.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["merge", "requested_locations", "split"]

#: The name the edge gives page loads (``execute.pageLoad`` / ``prefetch.pageLoad``) when
#: no artifact says otherwise.
DEFAULT_GLOBAL_MBOX = "target-global-mbox"

_MODES = ("execute", "prefetch")
_LIST_KEYS = ("mboxes", "views", "metrics")


def _named(items: Any) -> list[Mapping[str, Any]]:
    return [i for i in items if isinstance(i, Mapping)] if isinstance(items, list) else []


def requested_locations(
    request: Mapping[str, Any], global_mbox: str = DEFAULT_GLOBAL_MBOX
) -> tuple[list[str], list[str]]:
    """Every mbox (page loads count as ``global_mbox``) and view name ``request`` asks for."""
    mboxes: list[str] = []
    views: list[str] = []
    for mode in _MODES:
        part = request.get(mode)
        if not isinstance(part, Mapping):
            continue
        mboxes += [str(m["name"]) for m in _named(part.get("mboxes")) if m.get("name")]
        if isinstance(part.get("pageLoad"), Mapping):
            mboxes.append(global_mbox)
        if mode == "prefetch":
            views += [str(v["name"]) for v in _named(part.get("views")) if v.get("name")]
    return list(dict.fromkeys(mboxes)), list(dict.fromkeys(views))


def _split_views(views: list[Any], remote_views: set[str]) -> tuple[list[Any], list[Any]]:
    if any(isinstance(v, Mapping) and not v.get("name") for v in views):
        # An unnamed view request asks for every view: it cannot be cut in two.
        return ([], views) if remote_views else (views, [])
    local = [v for v in views if not (isinstance(v, Mapping) and v.get("name") in remote_views)]
    remote = [v for v in views if isinstance(v, Mapping) and v.get("name") in remote_views]
    return local, remote


def _split_part(
    part: Mapping[str, Any], remote_mboxes: set[str], remote_views: set[str], global_mbox: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    local: dict[str, Any] = {}
    remote: dict[str, Any] = {}
    for key, value in part.items():
        if key == "mboxes" and isinstance(value, list):
            goes_remote = [isinstance(m, Mapping) and m.get("name") in remote_mboxes for m in value]
            local_mboxes = [m for m, r in zip(value, goes_remote, strict=True) if not r]
            remote_mboxes_list = [m for m, r in zip(value, goes_remote, strict=True) if r]
            if local_mboxes:
                local["mboxes"] = local_mboxes
            if remote_mboxes_list:
                remote["mboxes"] = remote_mboxes_list
        elif key == "views" and isinstance(value, list):
            local_views, remote_views_list = _split_views(value, remote_views)
            if local_views:
                local["views"] = local_views
            if remote_views_list:
                remote["views"] = remote_views_list
        elif key == "pageLoad":
            (remote if global_mbox in remote_mboxes else local)[key] = value
        else:
            remote[key] = value  # unknown to the engine: the edge knows what to do
    return local, remote


def split(
    request: Mapping[str, Any],
    remote_mboxes: Iterable[str],
    remote_views: Iterable[str],
    global_mbox: str,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """``(local, remote)`` halves of ``request``; None for a half with nothing to do."""
    mboxes, views = set(remote_mboxes), set(remote_views)
    local = {k: v for k, v in request.items() if k not in _MODES and k != "notifications"}
    remote = {k: v for k, v in request.items() if k not in _MODES}
    local_has = remote_has = False
    for mode in _MODES:
        part = request.get(mode)
        if not isinstance(part, Mapping):
            continue
        local_part, remote_part = _split_part(part, mboxes, views, global_mbox)
        if local_part:
            local[mode], local_has = local_part, True
        if remote_part:
            remote[mode], remote_has = remote_part, True
    remote_has = remote_has or bool(request.get("notifications"))
    if not local_has and not remote_has:
        return local, None  # nothing requested: an empty on-device answer
    return (local if local_has else None), (remote if remote_has else None)


def _position_key(request_part: Any) -> Any:
    """Sort key putting answered mboxes in the order their requests came."""
    by_index: dict[tuple[Any, Any], int] = {}
    by_name: dict[Any, int] = {}
    for position, mbox in enumerate(_named(request_part)):
        by_index.setdefault((mbox.get("name"), mbox.get("index")), position)
        by_name.setdefault(mbox.get("name"), position)
    last = len(by_name) + len(by_index)

    def key(answer: Any) -> int:
        if not isinstance(answer, Mapping):
            return last
        name = answer.get("name")
        found = by_index.get((name, answer.get("index")))
        return found if found is not None else by_name.get(name, last)

    return key


def merge(
    request: Mapping[str, Any], local: Mapping[str, Any], remote: Mapping[str, Any]
) -> dict[str, Any]:
    """One response from the on-device answer and the edge's: the edge's top-level keys
    (status, id, edgeHost, notifications...) with both answers' locations."""
    merged = dict(remote)
    for mode in _MODES:
        local_part, remote_part = local.get(mode), remote.get(mode)
        if not isinstance(local_part, Mapping):
            continue
        part = dict(remote_part) if isinstance(remote_part, Mapping) else {}
        for key, value in local_part.items():
            if key in _LIST_KEYS and isinstance(value, list):
                part[key] = list(part.get(key) or ()) + value
            else:
                part.setdefault(key, value)
        if isinstance(part.get("mboxes"), list):
            request_part = request.get(mode)
            wanted = request_part.get("mboxes") if isinstance(request_part, Mapping) else None
            part["mboxes"] = sorted(part["mboxes"], key=_position_key(wanted))
        merged[mode] = part
    return merged
