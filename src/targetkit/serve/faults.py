"""Fault injection: added latency, random errors, and "on-device decisioning disabled".

Faults apply per *scope*: ``artifact`` (the CDN rules.json/rules.bin), ``delivery``
(``POST /rest/v1/delivery``) and ``geo`` (``GET /v1/geo``); admin endpoints are never
faulted. Settings come from command-line flags at start and from
``POST /_admin/faults`` (JSON) at run time; ``DELETE /_admin/faults`` clears them.

JSON fields (all optional):

* ``latency_ms`` (int >= 0): added before every answer in scope;
* ``error_rate`` (0..1): share of requests in scope answered with ``status``;
* ``status`` (400..599, default 500): the status of injected errors; given without
  ``error_rate``, every request in scope fails;
* ``on_device_disabled`` (bool): the artifact paths answer 403, as the CDN does for an
  account without on-device decisioning;
* ``scope`` (list of ``artifact``, ``delivery``, ``geo``; default all): where latency
  and errors apply;
* ``seed`` (int): seeds the error-rate draws, for reproducible runs.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["SCOPES", "FaultError", "FaultSettings", "Faults", "Verdict", "parse_faults"]

SCOPES = frozenset({"artifact", "delivery", "geo"})
DEFAULT_ERROR_STATUS = 500
ON_DEVICE_DISABLED_STATUS = 403
_FIELDS = frozenset({"latency_ms", "error_rate", "status", "on_device_disabled", "scope", "seed"})


class FaultError(ValueError):
    """Invalid fault settings; the message names the field."""


@dataclass(frozen=True, slots=True)
class FaultSettings:
    """The faults in force; the default injects nothing."""

    latency_ms: int = 0
    error_rate: float = 0.0
    status: int = DEFAULT_ERROR_STATUS
    on_device_disabled: bool = False
    scope: frozenset[str] = SCOPES

    @property
    def active(self) -> bool:
        return bool(self.latency_ms or self.error_rate or self.on_device_disabled)

    def to_json(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "error_rate": self.error_rate,
            "status": self.status,
            "on_device_disabled": self.on_device_disabled,
            "scope": sorted(self.scope),
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with one request: wait ``delay_s``, then fail with ``status`` if set."""

    delay_s: float
    status: int | None
    message: str | None


def _int_field(payload: Mapping[str, Any], key: str, low: int, high: int | None) -> int | None:
    value = payload.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise FaultError(f"{key} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"{low}..{high}" if high is not None else f">= {low}"
        raise FaultError(f"{key} must be {bound}, got {value}")
    return value


def _rate(payload: Mapping[str, Any]) -> float | None:
    value = payload.get("error_rate")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise FaultError(f"error_rate must be a number in 0..1, got {value!r}")
    return float(value)


def _scope(payload: Mapping[str, Any]) -> frozenset[str]:
    value = payload.get("scope")
    if value is None:
        return SCOPES
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(i in SCOPES for i in items):
        raise FaultError(f"scope must be a list of {', '.join(sorted(SCOPES))}; got {value!r}")
    return frozenset(items)


def parse_faults(payload: Any) -> tuple[FaultSettings, int | None]:
    """Fault settings (and the optional seed) from a JSON object; raises FaultError."""
    if not isinstance(payload, Mapping):
        raise FaultError("fault settings must be a JSON object")
    unknown = sorted(set(payload) - _FIELDS)
    if unknown:
        raise FaultError(f"unknown fault field(s) {', '.join(unknown)}; known: {sorted(_FIELDS)}")
    disabled = payload.get("on_device_disabled", False)
    if not isinstance(disabled, bool):
        raise FaultError(f"on_device_disabled must be true or false, got {disabled!r}")
    status = _int_field(payload, "status", 400, 599)
    rate = _rate(payload)
    if rate is None:
        rate = 1.0 if status is not None else 0.0
    settings = FaultSettings(
        latency_ms=_int_field(payload, "latency_ms", 0, 600_000) or 0,
        error_rate=rate,
        status=status or DEFAULT_ERROR_STATUS,
        on_device_disabled=disabled,
        scope=_scope(payload),
    )
    return settings, _int_field(payload, "seed", 0, None)


class Faults:
    """The emulator's current faults; thread-safe, replaced as a whole."""

    def __init__(self, settings: FaultSettings | None = None, seed: int | None = None) -> None:
        self._settings = settings or FaultSettings()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    @property
    def settings(self) -> FaultSettings:
        return self._settings

    def set(self, settings: FaultSettings, seed: int | None = None) -> None:
        with self._lock:
            self._settings = settings
            if seed is not None:
                self._rng.seed(seed)

    def clear(self) -> None:
        self.set(FaultSettings())

    def verdict(self, scope: str) -> Verdict:
        """What the faults say about one request in ``scope``."""
        settings = self._settings
        in_scope = scope in settings.scope
        delay_s = settings.latency_ms / 1000 if in_scope else 0.0
        if scope == "artifact" and settings.on_device_disabled:
            return Verdict(
                delay_s,
                ON_DEVICE_DISABLED_STATUS,
                "on-device decisioning is not enabled for this client (emulated)",
            )
        if in_scope and settings.error_rate > 0:
            with self._lock:
                roll = self._rng.random()
            if roll < settings.error_rate:
                return Verdict(delay_s, settings.status, "injected fault (emulated)")
        return Verdict(delay_s, None, None)
