"""Telemetry: what the SDK tells Target about its own timings, when ``telemetry_enabled``.

Entries collect in a bounded store and ride along on the next Delivery API call the
client makes (a server-side request or a notification batch), as ``telemetry.entries``.
Durations are in milliseconds, rounded to two decimals; timestamps are epoch ms.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping
from typing import Any

__all__ = ["TelemetryStore", "request_features"]

#: Entries kept when no Delivery call goes out for a long time; the oldest are dropped.
MAX_ENTRIES = 1000


def _count(part: Any, key: str) -> int:
    if not isinstance(part, dict):
        return 0
    items = part.get(key)
    return len(items) if isinstance(items, list) else 0


def request_features(request: Mapping[str, Any], decisioning_method: str) -> dict[str, Any]:
    """The ``features`` of a telemetry entry: what the request asked for."""
    execute, prefetch = request.get("execute"), request.get("prefetch")
    features: dict[str, Any] = {}
    if isinstance(execute, dict) and isinstance(execute.get("pageLoad"), dict):
        features["executePageLoad"] = True
    if count := _count(execute, "mboxes"):
        features["executeMboxCount"] = count
    if isinstance(prefetch, dict) and isinstance(prefetch.get("pageLoad"), dict):
        features["prefetchPageLoad"] = True
    if count := _count(prefetch, "mboxes"):
        features["prefetchMboxCount"] = count
    if count := _count(prefetch, "views"):
        features["prefetchViewCount"] = count
    features["decisioningMethod"] = decisioning_method
    return features


class TelemetryStore:
    """A thread-safe, bounded list of telemetry entries waiting to be sent."""

    def __init__(self, enabled: bool, max_entries: int = MAX_ENTRIES) -> None:
        self.enabled = enabled
        self._entries: deque[dict[str, Any]] = deque(maxlen=max_entries)
        self._lock = threading.Lock()

    def add(self, request_id: str | None, timestamp_ms: int, **fields: Any) -> None:
        """Record an entry; ``execution``/``parsing`` are ms and get two decimals."""
        if not self.enabled:
            return
        entry: dict[str, Any] = {"requestId": request_id, "timestamp": timestamp_ms}
        for key, value in fields.items():
            if value is None:
                continue
            entry[key] = round(value, 2) if isinstance(value, float) else value
        with self._lock:
            self._entries.append(entry)

    def add_delivery(
        self,
        request: Mapping[str, Any],
        timestamp_ms: int,
        *,
        execution_ms: float,
        decisioning_method: str,
        parsing_ms: float | None = None,
        edge: bool = False,
    ) -> None:
        """Record one ``get_offers`` call: its own duration, mode and features."""
        if not self.enabled:
            return
        # The same entry as add() makes, built directly: this runs on every decision.
        entry: dict[str, Any] = {
            "requestId": request.get("requestId"),
            "timestamp": timestamp_ms,
            "execution": round(execution_ms, 2),
        }
        if parsing_ms is not None:
            entry["parsing"] = round(parsing_ms, 2)
        entry["mode"] = "edge" if edge else "local"
        entry["features"] = request_features(request, decisioning_method)
        with self._lock:
            self._entries.append(entry)

    def has_entries(self) -> bool:
        return bool(self._entries)

    def drain(self) -> list[dict[str, Any]]:
        with self._lock:
            entries = list(self._entries)
            self._entries.clear()
        return entries

    def restore(self, entries: list[dict[str, Any]]) -> None:
        """Put back entries whose request failed, ahead of newer ones."""
        if not entries or not self.enabled:
            return
        with self._lock:
            newer = list(self._entries)
            self._entries.clear()
            self._entries.extend(entries)
            self._entries.extend(newer)
