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
import re
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
    "parse_location_hint",
    "parse_target_cookie",
    "response_cookies",
    "target_cookie",
    "valid_cluster",
    "valid_session_id",
]

logger = logging.getLogger(__name__)

TARGET_COOKIE = "mbox"
SESSION_ID_COOKIE = "session"
DEVICE_ID_COOKIE = "PC"
LOCATION_HINT_COOKIE = "mboxEdgeCluster"
SESSION_ID_MAX_AGE_S = 1860
DEVICE_ID_MAX_AGE_S = 63244800
LOCATION_HINT_MAX_AGE_S = 1860

# An edge cluster becomes part of a host name (mboxedge<cluster>.tt.omtrdc.net), so only
# plain labels are accepted: a cookie must not be able to point us at another host.
_CLUSTER_RE = re.compile(r"[A-Za-z0-9]{1,32}")
_PRINTABLE_RE = re.compile(r"[!-~]{1,128}")
# What ``quote(value, safe="")`` leaves as it is: values made only of these (uuids,
# tntIds) skip quote's byte-by-byte work.
_UNRESERVED_RE = re.compile(r"[A-Za-z0-9_.~-]*")


def _quote(value: str) -> str:
    return value if _UNRESERVED_RE.fullmatch(value) else quote(value, safe="")


def valid_cluster(value: Any) -> str | None:
    """``value`` when it is a usable edge cluster (letters and digits), else None."""
    if isinstance(value, str) and _CLUSTER_RE.fullmatch(value):
        return value
    if value not in (None, ""):
        logger.debug("ignoring malformed edge cluster %r", value)
    return None


def valid_session_id(value: Any) -> bool:
    """What the Delivery API accepts as ``sessionId``: 1-128 printable ASCII characters
    other than space, ``?`` and ``/``."""
    return (
        isinstance(value, str)
        and _PRINTABLE_RE.fullmatch(value) is not None
        and "/" not in value
        and "?" not in value
    )


def parse_location_hint(value: Any) -> str | None:
    """The cluster in an ``mboxEdgeCluster`` cookie value; None (logged) when malformed."""
    if isinstance(value, str):
        value = unquote(value.strip())
    return valid_cluster(value)


def parse_target_cookie(value: Any, now_ms: int) -> dict[str, str]:
    """The live internal cookies of an ``mbox`` cookie value, by name."""
    result: dict[str, str] = {}
    if not isinstance(value, str) or not value:
        if value is not None and value != "":
            logger.debug("ignoring an mbox cookie that is not a string: %r", type(value))
        return result
    if "#" not in value and "%23" in value.upper():
        value = unquote(value)  # the whole cookie arrived URL-encoded
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
        name, text = unquote(parts[0]), unquote(parts[1])
        if name == SESSION_ID_COOKIE and not valid_session_id(text):
            logger.debug("ignoring an mbox cookie session id the Delivery API would refuse")
            continue
        if now_s <= expires and name and text:
            result[name] = text
    return result


def target_cookie(
    session_id: str, visitor_id: Mapping[str, Any] | None, now_ms: int
) -> dict[str, Any]:
    """The ``mbox`` cookie to set after a call: session id, and tntId when known."""
    now_s = math.ceil(now_ms / 1000)
    # The cookie names (session, PC) need no quoting.
    value = f"{SESSION_ID_COOKIE}#{_quote(session_id)}#{now_s + SESSION_ID_MAX_AGE_S}"
    latest = now_s + SESSION_ID_MAX_AGE_S
    tnt_id = visitor_id.get("tntId") if isinstance(visitor_id, Mapping) else None
    if isinstance(tnt_id, str) and tnt_id:
        latest = now_s + DEVICE_ID_MAX_AGE_S
        value += f"|{DEVICE_ID_COOKIE}#{_quote(tnt_id)}#{latest}"
    return {
        "name": TARGET_COOKIE,
        "value": value,
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


def response_cookies(envelope: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The cookies a ``get_offers`` result asks the web app to set (``mbox`` first)."""
    found = (envelope.get("target_cookie"), envelope.get("target_location_hint_cookie"))
    return [dict(cookie) for cookie in found if isinstance(cookie, Mapping)]
