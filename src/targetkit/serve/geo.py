"""The emulator's IP-to-geo table, answering ``GET /v1/geo`` like Target's CDN does.

A table is a JSON object: IP address -> ``{"x-geo-country-code", "x-geo-region-code",
"x-geo-city", "x-geo-latitude", "x-geo-longitude"}`` (any subset). An optional ``"*"``
entry answers every IP the table does not list.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from targetkit.serve.sources import BUNDLED_GEO, read_source

__all__ = ["GEO_KEYS", "GeoTable", "GeoTableError", "load_geo_table"]

GEO_KEYS = frozenset(
    {"x-geo-country-code", "x-geo-region-code", "x-geo-city", "x-geo-latitude", "x-geo-longitude"}
)


class GeoTableError(ValueError):
    """A geo table file that is not a JSON object of IP -> geo fields."""


class GeoTable:
    """IP -> geo payload lookups."""

    def __init__(self, entries: Mapping[str, Mapping[str, Any]]) -> None:
        self._entries = dict(entries)

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, ip: str) -> dict[str, Any]:
        """The geo endpoint's answer for ``ip``: ``x-forwarded-for`` plus what is known."""
        found = self._entries.get(ip) or self._entries.get("*") or {}
        return {"x-forwarded-for": ip, **found}


def _check(table: Any, label: str) -> dict[str, dict[str, Any]]:
    if not isinstance(table, dict):
        raise GeoTableError(f"{label}: a geo table must be a JSON object of IP -> geo fields")
    for ip, entry in table.items():
        if not isinstance(entry, dict):
            raise GeoTableError(f"{label}: entry {ip!r} must be an object")
        unknown = sorted(set(entry) - GEO_KEYS)
        if unknown:
            raise GeoTableError(
                f"{label}: entry {ip!r} has unknown key(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(GEO_KEYS))}"
            )
    return table


def load_geo_table(spec: str | None) -> GeoTable:
    """The table in file (or URL) ``spec``, or the bundled one when None.

    Raises:
        OSError: the file cannot be read.
        GeoTableError: it is not a valid table.
    """
    payload, source = read_source(spec, BUNDLED_GEO)
    try:
        table = orjson.loads(payload)
    except orjson.JSONDecodeError as err:
        raise GeoTableError(f"{source.label} is not valid JSON: {err}") from err
    return GeoTable(_check(table, source.label))
