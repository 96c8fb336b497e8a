"""How JavaScript would print a JSON value, where Target's behaviour depends on it."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

__all__ = ["js_number", "js_string"]


def js_number(value: float) -> str:
    """``String(n)`` for a JavaScript number (ECMAScript Number::toString).

    Python's ``repr`` gives the same shortest round-trip digits as JavaScript; only the
    layout differs (JavaScript writes ``0.00001`` and ``1e-7``, Python ``1e-05``, ``1e-07``).
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    shortest = Decimal(repr(abs(value))).normalize()
    _, digit_tuple, exponent = shortest.as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple))
    k = len(digits)
    n = k + exponent  # the decimal point sits after n digits
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        mantissa = digits if k == 1 else f"{digits[0]}.{digits[1:]}"
        text = f"{mantissa}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"
    return sign + text


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
