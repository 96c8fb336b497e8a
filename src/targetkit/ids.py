"""Identifiers the SDK draws: request ids, notification ids, session ids, tntIds."""

from __future__ import annotations

import uuid

__all__ = ["new_uuid"]


def new_uuid() -> str:
    """A random (version 4) UUID as a lower-case hex string with dashes."""
    return str(uuid.uuid4())
