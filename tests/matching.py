"""Subset matching with type wildcards, as the cross-SDK conformance suites define it.

The suites were written for Jest's ``toMatchObject``: every key of an expected object
must be present and match in the actual one (extra keys are fine), arrays must have the
same length and match element by element, and the strings ``expect.any(Object)``,
``expect.any(String)`` and ``expect.any(Number)`` match any value of that type.
"""

from __future__ import annotations

from typing import Any

WILDCARDS = {
    "expect.any(Object)": lambda v: isinstance(v, dict | list),
    "expect.any(String)": lambda v: isinstance(v, str),
    "expect.any(Number)": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}


def mismatches(actual: Any, expected: Any, path: str = "$") -> list[str]:
    """Every place where ``actual`` fails to match ``expected``; empty when it matches."""
    if isinstance(expected, str) and expected in WILDCARDS:
        if WILDCARDS[expected](actual):
            return []
        return [f"{path}: expected {expected}, got {actual!r}"]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        problems = []
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{path}.{key}: missing")
            else:
                problems.extend(mismatches(actual[key], value, f"{path}.{key}"))
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: expected a list, got {actual!r}"]
        if len(actual) != len(expected):
            return [f"{path}: expected {len(expected)} items, got {len(actual)}: {actual!r}"]
        problems = []
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            problems.extend(mismatches(a, e, f"{path}[{i}]"))
        return problems
    if isinstance(expected, bool) or isinstance(actual, bool):
        same = type(actual) is type(expected) and actual == expected
    else:
        same = actual == expected
    return [] if same else [f"{path}: expected {expected!r}, got {actual!r}"]
