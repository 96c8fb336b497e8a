"""Tests for the JSON Logic compiler.

Three layers: a table of JavaScript answers for edge cases, every condition of the
conformance artifacts, and a property test against ``_Oracle``, a deliberately plain
tree-walking interpreter that mirrors json-logic-js line by line and spells out the
ECMAScript algorithms in their own terms (it shares no code with the module).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from targetkit.decisioning.jsonlogic import OPERATORS, compile_logic, operators_used, truthy
from targetkit.errors import ArtifactSchemaError

# Generated code must never make Python warn (a warning there is a code generation bug).
pytestmark = pytest.mark.filterwarnings("error::SyntaxWarning")

CONFORMANCE = Path(__file__).resolve().parents[1] / "conformance"
NAN = float("nan")
INF = float("inf")


# --------------------------------------------------------------------------- oracle


class _Undefined:
    def __repr__(self) -> str:
        return "undefined"


UNDEFINED = _Undefined()
JS_SPACE = (
    " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def js_type(value: Any) -> str:
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object"


def units(text: str) -> list[int]:
    raw = text.encode("utf-16-be", "surrogatepass")
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]


def from_units(codes: list[int]) -> str:
    raw = b"".join(code.to_bytes(2, "big") for code in codes)
    return raw.decode("utf-16-be", "surrogatepass")


def string_to_number(text: str) -> float:
    text = text.strip(JS_SPACE)
    if text == "":
        return 0.0
    if text in ("Infinity", "+Infinity"):
        return INF
    if text == "-Infinity":
        return -INF
    if text[:2].lower() in ("0x", "0o", "0b"):
        if "_" in text:
            return NAN
        try:
            return float(int(text, 0))
        except ValueError:
            return NAN
    if any(char not in "0123456789+-.eE" for char in text):
        return NAN
    try:
        return float(text)
    except ValueError:
        return NAN


def to_number(value: Any) -> float:
    kind = js_type(value)
    if kind == "undefined":
        return NAN
    if kind == "null":
        return 0.0
    if kind == "boolean":
        return 1.0 if value else 0.0
    if kind == "number":
        return float(value)
    if kind == "string":
        return string_to_number(value)
    return to_number(to_primitive(value))


def number_to_string(number: float) -> str:
    if number != number:
        return "NaN"
    if number in (INF, -INF):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "0"
    if number < 0:
        return "-" + number_to_string(-number)
    for precision in range(1, 18):  # the shortest digits that read back exactly
        text = f"{number:.{precision - 1}e}"
        if float(text) == number:
            break
    mantissa, exponent = text.split("e")
    digits = mantissa.replace(".", "").rstrip("0")
    k, n = len(digits), int(exponent) + 1
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    tail = ("." + digits[1:]) if k > 1 else ""
    return f"{digits[0]}{tail}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"


def to_string(value: Any) -> str:
    kind = js_type(value)
    if kind in ("undefined", "null"):
        return kind
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "number":
        return number_to_string(float(value))
    if kind == "string":
        return value  # type: ignore[no-any-return]
    if isinstance(value, list):
        return ",".join(
            "" if js_type(item) in ("undefined", "null") else to_string(item) for item in value
        )
    return "[object Object]"


def to_primitive(value: Any) -> Any:
    return to_string(value) if js_type(value) == "object" else value


def parse_float(value: Any) -> float:
    text = to_string(value).lstrip(JS_SPACE)
    for sign in ("", "+", "-"):
        if text.startswith(sign + "Infinity"):
            return -INF if sign == "-" else INF
    for end in range(len(text), 0, -1):
        prefix = text[:end]
        if prefix[:2].lower() in ("0x", "0o", "0b") or "_" in prefix:
            continue
        if all(char in "0123456789+-.eE" for char in prefix):
            try:
                return float(prefix)
            except ValueError:
                continue
    return NAN


def strict_equals(a: Any, b: Any) -> bool:
    if js_type(a) != js_type(b):
        return False
    if js_type(a) == "number":
        return float(a) == float(b)
    if js_type(a) == "object":
        return a is b
    return a == b  # type: ignore[no-any-return]


def loose_equals(a: Any, b: Any) -> bool:
    ta, tb = js_type(a), js_type(b)
    if ta == tb:
        return strict_equals(a, b)
    if {ta, tb} == {"null", "undefined"}:
        return True
    if ta == "number" and tb == "string":
        return loose_equals(a, to_number(b))
    if ta == "string" and tb == "number":
        return loose_equals(to_number(a), b)
    if ta == "boolean":
        return loose_equals(to_number(a), b)
    if tb == "boolean":
        return loose_equals(a, to_number(b))
    if ta in ("number", "string") and tb == "object":
        return loose_equals(a, to_primitive(b))
    if ta == "object" and tb in ("number", "string"):
        return loose_equals(to_primitive(a), b)
    return False


def less_than(a: Any, b: Any) -> bool | None:
    """IsLessThan: True, False, or None for undefined (a NaN was involved)."""
    pa, pb = to_primitive(a), to_primitive(b)
    if js_type(pa) == "string" and js_type(pb) == "string":
        return units(pa) < units(pb)
    na, nb = to_number(pa), to_number(pb)
    if na != na or nb != nb:
        return None
    return na < nb


def js_truthy(value: Any) -> bool:
    if isinstance(value, list) and not value:
        return False
    kind = js_type(value)
    if kind in ("undefined", "null"):
        return False
    if kind == "number":
        return not (value != value or value == 0)
    if kind in ("boolean", "string"):
        return bool(value)
    return True


def get_property(obj: Any, key: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(key, UNDEFINED)
    if isinstance(obj, (list, str)):
        size = len(obj) if isinstance(obj, list) else len(units(obj))
        if key == "length":
            return size
        try:
            index = int(key)
        except ValueError:
            return UNDEFINED
        if str(index) != key or not 0 <= index < size:
            return UNDEFINED
        return obj[index] if isinstance(obj, list) else from_units([units(obj)[index]])
    return UNDEFINED


def js_substr(text: str, start: Any, length: Any) -> str:
    codes = units(text)
    size = len(codes)

    def integer(value: Any) -> float:
        number = to_number(value)
        return (
            0.0
            if number != number
            else (number if math.isinf(number) else float(math.trunc(number)))
        )

    first = integer(start)
    if first == -INF:
        first = 0.0
    elif first < 0:
        first = max(size + first, 0.0)
    first = min(first, float(size))
    count = float(size) if length is UNDEFINED else min(max(integer(length), 0.0), float(size))
    last = min(first + count, float(size))
    return from_units(codes[int(first) : int(last)]) if first < last else ""


class _Oracle:
    """json-logic-js 2.0.5 ``apply``, transcribed as plainly as possible."""

    def apply(self, logic: Any, data: Any) -> Any:
        if isinstance(logic, list):
            return [self.apply(item, data) for item in logic]
        if not (isinstance(logic, dict) and len(logic) == 1):
            return logic
        op, values = next(iter(logic.items()))
        if not isinstance(values, list):
            values = [values]
        if op in ("if", "?:"):
            i = 0
            while i < len(values) - 1:
                if js_truthy(self.apply(values[i], data)):
                    return self.apply(values[i + 1], data)
                i += 2
            return self.apply(values[i], data) if len(values) == i + 1 else None
        if op in ("and", "or"):
            current: Any = UNDEFINED
            for value in values:
                current = self.apply(value, data)
                if js_truthy(current) != (op == "and"):
                    return current
            return current
        if op in ("filter", "map", "all", "none", "some", "reduce"):
            return self.scoped(op, values, data)
        args = [self.apply(value, data) for value in values]
        args += [UNDEFINED] * (3 - len(args))
        return self.operation(op, args, data)

    def scoped(self, op: str, values: list[Any], data: Any) -> Any:
        items = self.apply(values[0], data) if values else UNDEFINED
        body = values[1] if len(values) > 1 else UNDEFINED
        if op == "reduce":
            acc = self.apply(values[2], data) if len(values) > 2 else None
            if not isinstance(items, list):
                return acc
            for item in items:
                acc = self.apply(body, {"current": item, "accumulator": acc})
            return acc
        if not isinstance(items, list):
            return {"filter": [], "map": [], "all": False, "none": True, "some": False}[op]
        results = [js_truthy(self.apply(body, item)) for item in items]
        if op == "filter":
            return [item for item, keep in zip(items, results, strict=True) if keep]
        if op == "map":
            return [self.apply(body, item) for item in items]
        if op == "all":
            return bool(items) and all(results)
        return any(results) if op == "some" else not any(results)

    def var(self, data: Any, a: Any, b: Any) -> Any:
        not_found = None if b is UNDEFINED else b
        if a is UNDEFINED or a == "" or a is None:
            return data
        for key in to_string(a).split("."):
            if data is None or data is UNDEFINED:
                return not_found
            data = get_property(data, key)
            if data is UNDEFINED:
                return not_found
        return data

    def operation(self, op: str, args: list[Any], data: Any) -> Any:
        a, b, c = args[0], args[1], args[2]
        real = [arg for arg in args if arg is not UNDEFINED]
        if op == "==":
            return loose_equals(a, b)
        if op == "===":
            return strict_equals(a, b)
        if op == "!=":
            return not loose_equals(a, b)
        if op == "!==":
            return not strict_equals(a, b)
        if op == ">":
            return less_than(b, a) is True
        if op == ">=":
            return less_than(a, b) is False
        if op == "<":
            first = less_than(a, b) is True
            return first if c is UNDEFINED else first and less_than(b, c) is True
        if op == "<=":
            first = less_than(b, a) is False
            return first if c is UNDEFINED else first and less_than(c, b) is False
        if op == "!!":
            return js_truthy(a)
        if op == "!":
            return not js_truthy(a)
        if op == "in":
            if not js_truthy(b) and not isinstance(b, list):
                return False
            if isinstance(b, str):
                return to_string(a) in b
            if isinstance(b, list):
                return any(strict_equals(a, item) for item in b)
            return False
        if op == "cat":
            return "".join(to_string(arg) if arg is not None else "" for arg in real)
        if op == "substr":
            if c is not UNDEFINED and less_than(c, 0) is True:
                if js_type(c) != "number":
                    return ""
                tail = js_substr(to_string(a), b, UNDEFINED)
                return js_substr(tail, 0, len(units(tail)) + c)
            return js_substr(to_string(a), b, c)
        if op in ("+", "*"):
            numbers = [parse_float(arg) for arg in real]
            if op == "+":
                total = 0.0
                for number in numbers:
                    total = total + number
                return total
            if len(real) == 1:
                return real[0]
            return math.prod(numbers)
        if op == "-":
            return -to_number(a) if b is UNDEFINED else to_number(a) - to_number(b)
        if op == "/":
            x, y = to_number(a), to_number(b)
            if y == 0:
                return NAN if x != x or x == 0 else math.copysign(INF, x) * math.copysign(1, y)
            return x / y
        if op == "%":
            x, y = to_number(a), to_number(b)
            if x != x or y != y or math.isinf(x) or y == 0:
                return NAN
            return x if math.isinf(y) else math.fmod(x, y)
        if op in ("min", "max"):
            numbers = [to_number(arg) for arg in real]
            if any(n != n for n in numbers):
                return NAN
            return (min if op == "min" else max)(numbers, default=INF if op == "min" else -INF)
        if op == "merge":
            return [item for arg in real for item in (arg if isinstance(arg, list) else [arg])]
        if op == "var":
            return self.var(data, a, b)
        if op == "missing":
            keys = a if isinstance(a, list) else real
            return [key for key in keys if self.apply({"var": key}, data) in (None, "")]
        if op == "missing_some":
            are_missing = self.operation("missing", [*b, UNDEFINED, UNDEFINED, UNDEFINED], data)
            return [] if less_than(len(b) - len(are_missing), a) is False else are_missing
        raise AssertionError(f"oracle does not know {op}")


def oracle(logic: Any, data: Any) -> Any:
    result = _Oracle().apply(logic, data)
    return None if result is UNDEFINED else result


def same(left: Any, right: Any) -> bool:
    """Equal as JavaScript values: numbers by value (NaN equals NaN), lists deeply."""
    if js_type(left) == "number" and js_type(right) == "number":
        return bool(left == right or (left != left and right != right))
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(same, left, right))
    return type(left) is type(right) and bool(left == right)


# --------------------------------------------------------------------------- tables

X_EQ_BAR = {"==": [{"var": "x"}, "bar"]}
SUB = {"/": [0, 0]}

CASES: list[tuple[Any, Any, Any]] = [
    # var: paths, defaults, null versus missing, list indexes
    ({"var": "a"}, {}, None),
    ({"var": ["a", 5]}, {}, 5),
    ({"var": ["a", 5]}, {"a": None}, None),
    ({"var": ["a.b", 5]}, {"a": None}, 5),
    ({"var": ["a", {"var": "d"}]}, {"d": "fallback"}, "fallback"),
    ({"var": ""}, {"x": 1}, {"x": 1}),
    ({"var": []}, {"x": 1}, {"x": 1}),
    ({"var": "l.1"}, {"l": [10, 20]}, 20),
    ({"var": "l.2"}, {"l": [10, 20]}, None),
    ({"var": "l.01"}, {"l": [10, 20]}, None),
    ({"var": "l.length"}, {"l": [10, 20]}, 2),
    ({"var": "m.1.k"}, {"m": [{}, {"k": "v"}]}, "v"),
    ({"var": "s.1"}, {"s": "abc"}, "b"),
    ({"var": "s.length"}, {"s": "a\U0001f600"}, 3),
    ({"var": 0}, {"0": "zero"}, "zero"),
    ({"var": 1.5}, {"1": {"5": "deep"}}, "deep"),
    ({"var": {"cat": ["a", ".b"]}}, {"a": {"b": 3}}, 3),
    ({"var": {"var": "k"}}, {"k": "x", "x": 7}, 7),
    ({"var": {"var": "k"}}, {"k": None, "x": 7}, {"k": None, "x": 7}),
    ({"var": "n.toString"}, {"n": 1}, None),
    # loose and strict equality
    ({"==": ["1", 1]}, {}, True),
    ({"==": [1, 1.0]}, {}, True),
    ({"===": [1, 1.0]}, {}, True),
    ({"===": ["1", 1]}, {}, False),
    ({"!=": ["1", 1]}, {}, False),
    ({"!==": ["1", 1]}, {}, True),
    ({"==": [None, None]}, {}, True),
    ({"==": [{"var": "nope"}, None]}, {}, True),
    ({"==": [0, None]}, {}, False),
    ({"==": ["", None]}, {}, False),
    ({"==": [False, None]}, {}, False),
    ({"==": [True, 1]}, {}, True),
    ({"==": [True, "1"]}, {}, True),
    ({"==": [False, ""]}, {}, True),
    ({"==": [True, "true"]}, {}, False),
    ({"==": [[1], 1]}, {}, True),
    ({"==": [[1, 2], "1,2"]}, {}, True),
    ({"==": [[], [], 0]}, {}, False),
    ({"==": [" 12\n", 12]}, {}, True),
    ({"==": ["0x10", 16]}, {}, True),
    ({"==": ["1e2", 100]}, {}, True),
    ({"==": ["1_0", 10]}, {}, False),
    ({"==": ["inf", INF]}, {}, False),
    ({"==": ["", 0]}, {}, True),
    ({"==": ["abc", 0]}, {}, False),
    ({"==": [{"var": "a"}, {"var": "a"}]}, {"a": [1]}, True),
    ({"==": [1]}, {}, False),
    ({"==": [None]}, {}, True),
    ({"===": [None]}, {}, False),
    ({"!==": [None]}, {}, True),
    ({"==": []}, {}, True),
    ({"==": [SUB, SUB]}, {}, False),
    ({"!=": [SUB, SUB]}, {}, True),
    (X_EQ_BAR, {"x": "bar"}, True),
    (X_EQ_BAR, {"x": ["bar"]}, True),
    (X_EQ_BAR, {"x": None}, False),
    (X_EQ_BAR, {}, False),
    ({"==": [{"var": "x"}, 1]}, {"x": True}, True),
    ({"==": [{"var": "x"}, 1]}, {"x": "1.0"}, True),
    ({"===": [{"var": "x"}, 1]}, {"x": True}, False),
    ({"===": [{"var": "x"}, True]}, {"x": 1}, False),
    ({"==": [{"var": "x"}, None]}, {"x": 0}, False),
    # relational comparison
    ({"<": [1, 2]}, {}, True),
    ({"<": ["10", "9"]}, {}, True),
    ({"<": ["10", 9]}, {}, False),
    ({"<": [None, 1]}, {}, True),
    ({"<": [{"var": "nope"}, 1]}, {}, True),
    ({"<": ["a", 1]}, {}, False),
    ({">": ["a", 1]}, {}, False),
    ({">=": ["a", 1]}, {}, False),
    ({"<=": ["a", "a"]}, {}, True),
    ({"<": [1]}, {}, False),
    ({"<": [-1]}, {}, False),
    ({"<": [[2], 3]}, {}, True),
    ({"<": [{}, 1]}, {}, False),
    ({"<": [SUB, 1]}, {}, False),
    ({">=": [SUB, SUB]}, {}, False),
    ({"<": ["\ue000", "\U0001f600"]}, {}, False),
    ({"<": [{"var": "a"}, {"var": "b"}]}, {"a": "\ue000", "b": "\U0001f600"}, False),
    ({"<=": ["\U0001f600", {"var": "a"}]}, {"a": "\ue000"}, True),
    ({"<": ["37.70", {"var": "lat"}]}, {"lat": 37.8}, True),
    ({"<": ["37.70", {"var": "lat"}]}, {"lat": "37.8"}, True),
    ({"<": ["37.70", {"var": "lat"}]}, {"lat": "100"}, False),
    ({">=": [50, {"var": "alloc"}]}, {"alloc": 50}, True),
    ({">=": [50, {"var": "alloc"}]}, {"alloc": 50.5}, False),
    ({">=": [50, {"var": "alloc"}]}, {"alloc": "50"}, True),
    ({">=": [50, {"var": "alloc"}]}, {"alloc": True}, True),
    ({">=": [50, {"var": "alloc"}]}, {}, True),
    ({">=": [50, {"var": "alloc"}]}, {"alloc": "x"}, False),
    # the "between" forms
    ({"<": [1, {"var": "x"}, 3]}, {"x": 2}, True),
    ({"<": [1, {"var": "x"}, 3]}, {"x": 3}, False),
    ({"<=": [1, {"var": "x"}, 3]}, {"x": 3}, True),
    ({"<=": [1, {"var": "x"}, 3]}, {"x": "2"}, True),
    ({"<=": [1, {"var": "x"}, 3]}, {"x": None}, False),
    ({"<": [1, {"+": [{"var": "x"}, 1]}, 3]}, {"x": 1}, True),
    ({"<": [1, 2, None]}, {}, False),
    ({">": [3, 2, 1]}, {}, True),
    # in
    ({"in": ["Spring", "Springfield"]}, {}, True),
    ({"in": ["", ""]}, {}, False),
    ({"in": ["", "a"]}, {}, True),
    ({"in": [1, "a1"]}, {}, True),
    ({"in": [1, [1, 2]]}, {}, True),
    ({"in": ["1", [1, 2]]}, {}, False),
    ({"in": [1.0, [1]]}, {}, True),
    ({"in": [True, [1]]}, {}, False),
    ({"in": [1, [True]]}, {}, False),
    ({"in": [None, [None]]}, {}, True),
    ({"in": [SUB, [SUB]]}, {}, False),
    ({"in": ["a", None]}, {}, False),
    ({"in": ["a"]}, {}, False),
    ({"in": [{"var": "x"}, ["a", "b"]]}, {"x": "a"}, True),
    ({"in": [{"var": "x"}, ["a", "b"]]}, {"x": ["a"]}, False),
    ({"in": [{"var": "x"}, [1, 2]]}, {"x": 2.0}, True),
    ({"in": [{"var": "x"}, [1, 2]]}, {"x": True}, False),
    ({"in": ["bar", {"var": "url"}]}, {"url": "foobar"}, True),
    ({"in": ["bar", {"var": "url"}]}, {}, False),
    ({"in": ["bar", {"var": "url"}]}, {"url": ["bar"]}, True),
    ({"in": ["bar", {"var": "url"}]}, {"url": 5}, False),
    # and / or return the deciding operand
    ({"and": [1, "a", 0, 2]}, {}, 0),
    ({"and": [1, "a"]}, {}, "a"),
    ({"and": [[], 1]}, {}, []),
    ({"or": [0, "", [], "x"]}, {}, "x"),
    ({"or": [0, []]}, {}, []),
    ({"or": [{"var": "a"}, "d"]}, {"a": ""}, "d"),
    ({"or": [{"var": "a"}, "d"]}, {"a": {}}, {}),
    ({"or": [{"var": "a"}, "d"]}, {"a": 0.0}, "d"),
    ({"or": [SUB, 7]}, {}, 7),
    ({"and": [{"var": "a"}, {"var": "b"}]}, {"a": [0], "b": None}, None),
    ({"and": [{"var": "a"}, True, {"var": "b"}]}, {"a": "x", "b": "y"}, "y"),
    ({"and": []}, {}, None),
    # ! and !!
    ({"!": [[]]}, {}, True),
    ({"!": [{}]}, {}, False),
    ({"!": []}, {}, True),
    ({"!!": ["0"]}, {}, True),
    ({"!!": [SUB]}, {}, False),
    ({"!": {"var": "x"}}, {"x": 0}, True),
    ({"!": {"var": "x"}}, {"x": {}}, False),
    # if
    ({"if": [True, 1, 2]}, {}, 1),
    ({"if": [False, 1]}, {}, None),
    ({"if": [False, 1, False, 2, 3]}, {}, 3),
    ({"if": []}, {}, None),
    ({"if": ["x"]}, {}, "x"),
    ({"?:": [1, 2, 3]}, {}, 2),
    ({"if": [{"var": "x"}, "y", "n"]}, {"x": []}, "n"),
    ({"if": [{"var": "x"}, "y", {"var": "z"}, "z", "n"]}, {"z": 1}, "z"),
    # arithmetic with JavaScript coercions
    ({"+": ["1", 2]}, {}, 3),
    ({"+": ["1.5abc", 1]}, {}, 2.5),
    ({"+": []}, {}, 0),
    ({"+": [None]}, {}, NAN),
    ({"+": [True]}, {}, NAN),
    ({"-": ["5", 2]}, {}, 3),
    ({"-": [True, 1]}, {}, 0),
    ({"-": [" 3 "]}, {}, -3),
    ({"-": ["3abc", 1]}, {}, NAN),
    ({"-": []}, {}, NAN),
    ({"*": ["2", "3"]}, {}, 6),
    ({"*": ["3"]}, {}, "3"),
    ({"/": [1, 0]}, {}, INF),
    ({"/": [-1, 0]}, {}, -INF),
    ({"/": [1]}, {}, NAN),
    ({"%": [-7, 3]}, {}, -1),
    ({"%": [7, -3]}, {}, 1),
    ({"%": [5.5, 2]}, {}, 1.5),
    ({"%": [1, 0]}, {}, NAN),
    ({"min": [3, "1", 2]}, {}, 1),
    ({"min": [1, "x"]}, {}, NAN),
    ({"max": []}, {}, -INF),
    ({"max": [None, -1]}, {}, 0),
    # strings
    ({"cat": ["a", 1, None, True, 1.5, [1, [2, None]]]}, {}, "a1true1.51,2,"),
    (
        {"cat": [0.1, 1e21, 1e-7, 1.5e-7, 123456789012345680000, -0.0]},
        {},
        "0.11e+211e-71.5e-71234567890123456800000",
    ),
    ({"cat": [{"/": [1, 3]}]}, {}, "0.3333333333333333"),
    ({"substr": ["jsonlogic", 4]}, {}, "logic"),
    ({"substr": ["jsonlogic", -5]}, {}, "logic"),
    ({"substr": ["jsonlogic", 1, 3]}, {}, "son"),
    ({"substr": ["jsonlogic", 4, -2]}, {}, "log"),
    ({"substr": ["jsonlogic", 0, "-2"]}, {}, ""),
    ({"substr": [12345, 1, 2]}, {}, "23"),
    ({"substr": ["a\U0001f600b", 1, 2]}, {}, "\U0001f600"),
    ({"substr": ["x"]}, {}, "x"),
    ({"substr": []}, {}, "undefined"),
    ({"substr": ["abc", "1"]}, {}, "bc"),
    ({"substr": [None, 0, 2]}, {}, "nu"),
    # lists
    ({"merge": [1, [2, [3]], None]}, {}, [1, 2, [3], None]),
    ({"map": [{"var": "xs"}, {"*": [{"var": ""}, 2]}]}, {"xs": [1, 2]}, [2, 4]),
    ({"map": [{"var": "xs"}, {"*": [{"var": ""}, 2]}]}, {"xs": None}, []),
    ({"filter": [{"var": "xs"}, {">": [{"var": ""}, 1]}]}, {"xs": [1, 2, 3]}, [2, 3]),
    ({"reduce": [[1, 2, 3], {"+": [{"var": "current"}, {"var": "accumulator"}]}, 0]}, {}, 6),
    ({"reduce": [{"var": "no"}, {"+": [{"var": "current"}, 1]}, 9]}, {}, 9),
    ({"reduce": [[1, 2], {"+": [{"var": "current"}, {"var": "accumulator"}]}]}, {}, NAN),
    ({"all": [[], True]}, {}, False),
    ({"all": [[1, 0], {"var": ""}]}, {}, False),
    ({"none": [[], True]}, {}, True),
    ({"none": [None, True]}, {}, True),
    ({"some": [[1, 0], {"var": ""}]}, {}, True),
    ({"some": [{"var": "xs"}, {"==": [{"var": "k"}, 2]}]}, {"xs": [{"k": 1}, {"k": "2"}]}, True),
    # missing
    ({"missing": ["a", "b", "c.d"]}, {"a": 1, "b": "", "c": {"d": None}}, ["b", "c.d"]),
    ({"missing": {"merge": ["a", "b"]}}, {"b": 0}, ["a"]),
    ({"missing": []}, {}, []),
    ({"missing_some": [1, ["a", "b"]]}, {"a": 1}, []),
    ({"missing_some": [2, ["a", "b", "c"]]}, {"a": 1}, ["b", "c"]),
    # constants and objects that are not logic
    ({"a": 1, "b": 2}, {}, {"a": 1, "b": 2}),
    ({}, {}, {}),
    ([{"var": "a"}, 1], {"a": 0}, [0, 1]),
    (True, {}, True),
]


@pytest.mark.parametrize(("expr", "data", "expected"), CASES, ids=[json.dumps(c[0]) for c in CASES])
def test_javascript_semantics(expr: Any, data: Any, expected: Any) -> None:
    result = compile_logic(expr)(data)
    assert same(result, expected), result


@pytest.mark.parametrize(("expr", "data", "expected"), CASES, ids=[json.dumps(c[0]) for c in CASES])
def test_oracle_agrees_with_table(expr: Any, data: Any, expected: Any) -> None:
    # Keeps the oracle honest: it must reproduce the hand-written JavaScript answers.
    assert same(oracle(expr, data), expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        (False, False),
        (True, True),
        (0, False),
        (0.0, False),
        (-0.0, False),
        (NAN, False),
        (2, True),
        (-0.5, True),
        ("", False),
        ("0", True),
        ([], False),
        ([0], True),
        ({}, True),
    ],
)
def test_truthy(value: Any, expected: bool) -> None:
    assert truthy(value) is expected


def test_comparisons_return_real_booleans() -> None:
    for op in ("==", "!=", "===", "!==", "<", "<=", ">", ">=", "in"):
        result = compile_logic({op: [{"var": "a"}, {"var": "b"}]})({"a": 1, "b": [1]})
        assert type(result) is bool, op


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("expr", "named"),
    [
        ({"frobnicate": [1]}, "frobnicate"),
        ({"and": [True, {"or": [{"bogus": {"var": "a"}}]}]}, "bogus"),
        ({"map": [[1], {"nope": []}]}, "nope"),
        ({"*": []}, "*"),
        ({"missing_some": [1]}, "missing_some"),
        ({"missing_some": [1, None]}, "missing_some"),
    ],
)
def test_compile_errors_name_the_operator(expr: Any, named: str) -> None:
    with pytest.raises(ArtifactSchemaError, match=re.escape(named)):
        compile_logic(expr)


@pytest.mark.parametrize("expr", [{"var": {1, 2}}, {1: [2]}, {1: 2, 3: 4}, {"==": [object(), 1]}])
def test_non_json_expressions_are_rejected(expr: Any) -> None:
    with pytest.raises(ArtifactSchemaError):
        compile_logic(expr)


def test_operators_used() -> None:
    expr = {
        "and": [
            {"var": "a"},
            {"in": ["x", {"var": "b"}]},
            {"k": 1, "j": {"var": "c"}},
            [{"mystery": 1}],
        ]
    }
    assert operators_used(expr) == {"and", "var", "in", "mystery"}
    assert operators_used(3) == set()


def test_operator_set_matches_json_logic_js() -> None:
    expected = {"==", "===", "!=", "!==", ">", ">=", "<", "<=", "!!", "!", "%", "log", "in"}
    expected |= {"cat", "substr", "+", "*", "-", "/", "min", "max"}
    expected |= {"merge", "var", "missing", "missing_some", "if", "?:", "and", "or"}
    expected |= {"filter", "map", "reduce", "all", "none", "some"}
    assert expected == OPERATORS


# --------------------------------------------------------------------------- deep input


def test_deep_nesting_compiles_and_evaluates() -> None:
    expr: Any = {"var": "x"}
    for _ in range(300):
        expr = {"!": [expr]}
    assert compile_logic(expr)({"x": 1}) is True
    assert compile_logic(expr)({"x": 0}) is False
    sums: Any = {"var": "x"}
    for _ in range(200):
        sums = {"+": [sums, 1]}
    assert compile_logic(sums)({"x": 1}) == 201


def test_deep_lists_and_mixed_nesting() -> None:
    nested: Any = {"var": "a"}
    for _ in range(250):
        nested = [nested]
    result = compile_logic(nested)({"a": 5})
    for _ in range(250):
        result = result[0]
    assert result == 5
    chain: Any = {"var": "a"}
    for _ in range(100):
        chain = {"or": [{"var": "z"}, {"and": [{"var": "a"}, chain]}]}
    for data in ({"a": 3}, {"a": 0}, {"z": "zed"}, {}):
        assert same(compile_logic(chain)(data), oracle(chain, data)), data
    assert compile_logic(chain)({"a": 0}) == 0  # "and" decided by a, then the last "or" operand


def test_absurd_nesting_is_a_schema_error() -> None:
    expr: Any = {"var": "a"}
    for _ in range(3000):
        expr = {"!": [expr]}
    with pytest.raises(ArtifactSchemaError, match="nested too deeply"):
        compile_logic(expr)


def test_long_chains_compile_and_evaluate() -> None:
    operands = [{"var": f"k{i}"} for i in range(1000)]
    data = {f"k{i}": i + 1 for i in range(1000)}
    assert compile_logic({"and": operands})(data) == 1000
    data["k700"] = 0
    assert compile_logic({"and": operands})(data) == 0
    assert compile_logic({"or": operands})({"k998": "hit"}) == "hit"
    branches: list[Any] = []
    for i in range(400):
        branches += [{"==": [{"var": "n"}, i]}, f"branch {i}"]
    rule = compile_logic({"if": [*branches, "none"]})
    assert rule({"n": 399}) == "branch 399"
    assert rule({"n": 400}) == "none"


# --------------------------------------------------------------------------- conformance


def _conformance_conditions() -> Iterator[tuple[str, Any]]:
    for path in [
        *sorted((CONFORMANCE / "artifacts").glob("*.json")),
        CONFORMANCE / "artifact.json",
    ]:
        rules = json.loads(path.read_text())["rules"]
        for kind in ("mboxes", "views"):
            for name, entries in (rules.get(kind) or {}).items():
                for rule in entries:
                    yield f"{path.name}:{kind}:{name}", rule["condition"]


CONDITIONS = list(_conformance_conditions())


def test_conformance_suite_is_not_empty() -> None:
    assert len(CONDITIONS) > 100


def test_every_conformance_condition_compiles_and_matches_the_oracle() -> None:
    contexts: list[dict[str, Any]] = [
        {},
        {"allocation": 10.5, "mbox": {"foo": "bar"}, "geo": {"country": "US", "latitude": 37.8}},
        {"allocation": 99, "page": {"url_lc": "http://local-target-test/", "path": "/"}},
        {"allocation": "20", "user": {"browserType": "chrome"}, "current_day": "5"},
    ]
    for where, condition in CONDITIONS:
        rule = compile_logic(condition)
        for context in contexts:
            assert same(rule(context), oracle(condition, context)), (where, context)


# --------------------------------------------------------------------------- properties

STRINGS = [
    "",
    "0",
    "1",
    " 2 ",
    "1e1",
    "-3.5",
    "0x10",
    "a",
    "abc",
    "b",
    "Infinity",
    "\U0001f600",
    "\ue000",
    "a.b",
]
PATHS = [
    "a",
    "b",
    "n",
    "l",
    "s",
    "a.b",
    "l.0",
    "l.1",
    "l.length",
    "s.0",
    "s.length",
    "",
    "x.y.z",
    "b.0.a",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.5, -1.5, 2.0, 1e21, 1e-7]),
    st.sampled_from(STRINGS),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b", "k"]), inner, max_size=3)
    ),
    max_leaves=8,
)
data_strategy = st.fixed_dictionaries(
    {},
    optional={key: json_values for key in ("a", "b", "n", "l", "s", "x", "current", "accumulator")},
)

EAGER_OPS = [
    "==", "===", "!=", "!==", "<", "<=", ">", ">=", "!", "!!", "in", "cat", "substr",
    "+", "-", "*", "/", "%", "min", "max", "merge",
]  # fmt: skip


def _var(path: str, default: Any) -> Any:
    return {"var": path} if default is None else {"var": [path, default]}


LEAVES = st.one_of(
    scalars,
    st.builds(_var, st.sampled_from(PATHS), st.none() | scalars),
    st.lists(scalars, max_size=2),
)


def _operator_over(operands: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    ops = st.sampled_from([*EAGER_OPS, "and", "or", "if"])
    return st.builds(lambda op, xs: {op: xs}, ops, st.lists(operands, min_size=1, max_size=3))


def _small_expressions() -> st.SearchStrategy[Any]:
    """One or two levels of eager/lazy operators over leaves, every operator equally likely."""
    return _operator_over(st.one_of(LEAVES, LEAVES, _operator_over(LEAVES)))


def _expressions(max_leaves: int) -> st.SearchStrategy[Any]:
    leaves = LEAVES

    def extend(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        args = st.lists(inner, min_size=1, max_size=3)
        keys = st.lists(st.sampled_from(PATHS), max_size=3)
        eager = st.builds(lambda op, xs: {op: xs}, st.sampled_from(EAGER_OPS), args)
        lazy = st.builds(lambda op, xs: {op: xs}, st.sampled_from(["and", "or", "if"]), args)
        rare = st.one_of(
            st.builds(lambda x: {"var": [x]}, inner),
            st.builds(lambda k: {"missing": k}, keys),
            st.builds(lambda k: {"missing": [k]}, keys),
            st.builds(lambda n, k: {"missing_some": [n, k]}, inner, keys),
            st.builds(
                lambda op, items, body: {op: [items, body]},
                st.sampled_from(["map", "filter", "all", "none", "some"]),
                inner,
                inner,
            ),
            st.builds(
                lambda items, body, init: {"reduce": [items, body, init]}, inner, inner, inner
            ),
            st.lists(inner, max_size=2),
        )
        # Weighted towards the eager operators, where most of the coercion rules live.
        return st.one_of(eager, eager, eager, eager, lazy, rare)

    return st.recursive(leaves, extend, max_leaves=max_leaves)


def _check_against_oracle(expr: Any, data: list[dict[str, Any]]) -> None:
    rule = compile_logic(expr)
    for item in data:
        assert same(rule(item), oracle(expr, item)), (expr, item)


# Small expressions put one operator in front of many operand types; large ones exercise
# nesting, folding and short-circuits.
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expr=_small_expressions(), data=st.lists(data_strategy, min_size=1, max_size=4))
def test_small_rules_match_the_oracle(expr: Any, data: list[dict[str, Any]]) -> None:
    _check_against_oracle(expr, data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expr=_expressions(12), data=st.lists(data_strategy, min_size=1, max_size=3))
def test_large_rules_match_the_oracle(expr: Any, data: list[dict[str, Any]]) -> None:
    _check_against_oracle(expr, data)
