"""Target's cookies: ``mbox`` (session id and visitor id) and ``mboxEdgeCluster``.

The ``mbox`` cookie packs several internal cookies as ``name#value#expires`` joined by
``|``; ``expires`` is epoch seconds. We read ``session`` (the session id, 1860 s life)
and ``PC`` (the tntId, 63244800 s life, about two years). ``mboxEdgeCluster`` holds the
edge location hint (1860 s). Cookies we return are plain dicts
``{"name", "value", "maxAge"}`` (``maxAge`` in seconds), ready for any web framework.

Malformed cookie text is ignored with a debug log; it never raises.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote

__all__ = [
    "DEVICE_ID_MAX_AGE_S",
    "LOCATION_HINT_COOKIE",
    "LOCATION_HINT_MAX_AGE_S",
    "SESSION_ID_MAX_AGE_S",
    "TARGET_COOKIE",
    "cluster_from_edge_host",
    "cluster_from_tnt_id",
    "location_hint_cookie",
    "parse_target_cookie",
    "target_cookie",
]

logger = logging.getLogger(__name__)

TARGET_COOKIE = "mbox"
SESSION_ID_COOKIE = "session"
DEVICE_ID_COOKIE = "PC"
LOCATION_HINT_COOKIE = "mboxEdgeCluster"
SESSION_ID_MAX_AGE_S = 1860
DEVICE_ID_MAX_AGE_S = 63244800
LOCATION_HINT_MAX_AGE_S = 1860


def parse_target_cookie(value: Any, now_ms: int) -> dict[str, str]:
    """The live internal cookies of an ``mbox`` cookie value, by name."""
    result: dict[str, str] = {}
    if not isinstance(value, str) or not value:
        return result
    now_s = math.ceil(now_ms / 1000)
    for raw in value.split("|"):
        parts = raw.split("#")
        if len(parts) < 3:
            logger.debug("ignoring malformed mbox cookie part %r", raw)
            continue
        try:
            expires = int(parts[2])
        except ValueError:
            logger.debug("ignoring mbox cookie part with a bad expiry %r", raw)
            continue
        if now_s <= expires:
            result[unquote(parts[0])] = unquote(parts[1])
    return result


def target_cookie(
    session_id: str, visitor_id: Mapping[str, Any] | None, now_ms: int
) -> dict[str, Any]:
    """The ``mbox`` cookie to set after a call: session id, and tntId when known."""
    now_s = math.ceil(now_ms / 1000)
    parts = [(SESSION_ID_COOKIE, session_id, now_s + SESSION_ID_MAX_AGE_S)]
    tnt_id = visitor_id.get("tntId") if isinstance(visitor_id, Mapping) else None
    if isinstance(tnt_id, str) and tnt_id:
        parts.append((DEVICE_ID_COOKIE, tnt_id, now_s + DEVICE_ID_MAX_AGE_S))
    latest = max(expires for _, _, expires in parts)
    return {
        "name": TARGET_COOKIE,
        "value": "|".join(f"{quote(n, safe='')}#{quote(v, safe='')}#{e}" for n, v, e in parts),
        "maxAge": math.ceil(abs(latest * 1000 - now_ms) / 1000),
    }


def cluster_from_tnt_id(tnt_id: Any) -> str | None:
    """The edge cluster a tntId carries (``<id>.<cluster>_<n>``), if any."""
    if not isinstance(tnt_id, str) or not tnt_id:
        return None
    parts = tnt_id.split(".")
    if len(parts) != 2 or not parts[1]:
        return None
    node = parts[1].split("_")
    if len(node) != 2 or not node[0]:
        return None
    return node[0]


def cluster_from_edge_host(edge_host: Any) -> str | None:
    """The cluster of an edge host such as ``mboxedge28.tt.omtrdc.net``."""
    if not isinstance(edge_host, str) or not edge_host:
        return None
    parts = edge_host.split(".")
    if len(parts) != 4 or not parts[0]:
        return None
    return parts[0].replace("mboxedge", "") or None


def location_hint_cookie(cluster: str | None, edge_host: Any = None) -> dict[str, Any] | None:
    """The ``mboxEdgeCluster`` cookie, from the request's cluster or the answering edge."""
    value = cluster or cluster_from_edge_host(edge_host)
    if not value:
        return None
    return {"name": LOCATION_HINT_COOKIE, "value": value, "maxAge": LOCATION_HINT_MAX_AGE_S}
