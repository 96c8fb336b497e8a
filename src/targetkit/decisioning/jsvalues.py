"""How JavaScript would print a JSON value, where Target's behaviour depends on it."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["js_number", "js_string"]


def js_number(value: float) -> str:
    """``String(n)`` for a JavaScript number: integral floats print without ``.0``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(value)


def js_string(value: Any) -> str:
    """``String(value)`` as JavaScript computes it for JSON-shaped values."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return js_number(value)
    if value is None:
        return "null"
    if isinstance(value, list):
        return ",".join("" if item is None else js_string(item) for item in value)
    return "[object Object]"
