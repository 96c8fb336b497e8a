"""Retry policy shared by artifact downloads and notification sends."""

from __future__ import annotations

import random
from dataclasses import dataclass

from targetkit.errors import DeliveryError, DeliveryTimeoutError, TargetError

__all__ = ["Backoff", "is_transient"]


def is_transient(error: BaseException) -> bool:
    """Worth another try: no response at all, a timeout, 408, 429 or a 5xx."""
    if isinstance(error, DeliveryTimeoutError):
        return True
    status = getattr(error, "status", None)
    if isinstance(error, TargetError | DeliveryError) and status is None:
        return isinstance(error, DeliveryError)
    if status is None:
        return False
    return status in (408, 429) or 500 <= status <= 599


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter, within a bounded number of attempts.

    ``delay_s(n)`` is the wait before retry ``n`` (1-based): a random value in
    ``[0, min(max_s, base_s * 2**(n-1))]``.
    """

    attempts: int = 4
    base_s: float = 0.1
    max_s: float = 2.0

    def delay_s(self, retry: int, rng: random.Random | None = None) -> float:
        cap = min(self.max_s, self.base_s * (2 ** (retry - 1)))
        return (rng or random).uniform(cap / 2, cap)
