"""JavaScript's String() of JSON values, where macros and ids depend on it."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from targetkit.decisioning.jsvalues import js_number, js_string


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.0, "1"),
        (150.0, "150"),
        (-2.5, "-2.5"),
        (1e-7, "1e-7"),
        (1e-6, "0.000001"),
        (0.00001, "0.00001"),
        (1.5e21, "1.5e+21"),
        (1e21, "1e+21"),
        (123456789012345680000.0, "123456789012345680000"),
        (0.1 + 0.2, "0.30000000000000004"),
        (5e-324, "5e-324"),
        (math.nan, "NaN"),
        (-math.inf, "-Infinity"),
        (0.0, "0"),
        (-0.0, "0"),
    ],
)
def test_js_number(value: float, expected: str) -> None:
    assert js_number(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a", "a"),
        (True, "true"),
        (None, "null"),
        (7, "7"),
        ([1, None, "x"], "1,,x"),
        ({"a": 1}, "[object Object]"),
    ],
)
def test_js_string(value: object, expected: str) -> None:
    assert js_string(value) == expected


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_js_number_round_trips(value: float) -> None:
    assert float(js_number(value)) == value
