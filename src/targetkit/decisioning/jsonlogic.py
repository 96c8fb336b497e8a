"""JSON Logic compiled to Python functions, with json-logic-js 2.0 semantics.

Target artifacts carry every rule condition as JSON Logic. The engine compiles each
condition once per artifact and evaluates it for every request, so
:func:`compile_logic` turns an expression into generated Python source (one ``def``
per expression, plus one per ``map``/``filter``/... body), compiled with
:func:`compile`. Generated code beat nested closures by about 2x per evaluation on
typical rules (one Python call instead of one per node), at a one-off cost of roughly
0.25 ms per condition.

What the generated code does, and why:

* ``var`` lookups with constant paths are split at compile time and hoisted to the top
  of the function, one lookup per distinct path; lookups are pure and never raise, so
  evaluating them before a short-circuit is unobservable.
* Comparisons with a constant operand get an inline fast path for the common type
  (number vs number, string vs string) and fall back to the exact JavaScript
  algorithm otherwise.
* Constant subexpressions of eager operators fold at compile time.

Semantics follow json-logic-js 2.0.5 on top of JavaScript's own rules (loose ``==``,
relational comparison by UTF-16 code units, ``ToNumber``, ``parseFloat`` for ``+`` and
``*``...). JavaScript's ``null`` and ``undefined`` are both ``None``. Operands that are
*absent* from an expression (``{"<": [1]}``, ``{"substr": ["x"]}``) are handled at
compile time exactly as json-logic-js handles ``undefined``. The one place the two still
differ is the value of degenerate expressions that json-logic-js evaluates to
``undefined`` at run time: ``{"and": []}``, ``{"or": []}``, ``{"log": []}``, a ``map``
or ``reduce`` without a body. We produce ``None`` there, which only shows if that value
then meets ``===``, arithmetic or a string conversion. Other deliberate differences:
integers beyond 2**53 in the data compare exactly (JavaScript would have rounded them
when parsing), JavaScript prototype properties other than ``length`` (``toString``...)
are not visible to ``var``, and ``missing_some`` on a non-list at run time returns the
missing keys where json-logic-js throws.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, NamedTuple

from targetkit.errors import ArtifactSchemaError

__all__ = ["OPERATORS", "Rule", "compile_logic", "operators_used", "scan_logic", "truthy"]

logger = logging.getLogger(__name__)

Rule = Callable[[Mapping[str, Any]], Any]


class _Sentinel:
    """A named marker object that can never come out of JSON."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"<{self._name}>"


# A lookup found nothing (JavaScript's undefined, before var turns it into the default).
_MISSING: Final = _Sentinel("missing")
# An operand that is absent from the expression itself (only ever a compile-time value).
_ABSENT: Final = _Sentinel("absent")

_NUM: Final = frozenset((int, float))
_NAN: Final = math.nan
_INF: Final = math.inf
_MAX_SAFE_INT: Final = 2**53

# JavaScript's StrWhiteSpaceChar: WhiteSpace plus LineTerminator (not Python's isspace()).
_JS_SPACE: Final = (
    " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_DECIMAL: Final = r"[+-]?(?:Infinity|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
_NUMBER_RE: Final = re.compile(_DECIMAL)
_NON_DECIMAL_RE: Final = re.compile(r"0(?:[xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)")
_RADIX: Final = {"x": 16, "o": 8, "b": 2}


# --------------------------------------------------------------------------- JS values


def truthy(value: Any) -> bool:
    """JSON Logic truthiness: JavaScript's, except that an empty list is falsy."""
    kind = type(value)
    if kind is bool:
        return value  # type: ignore[no-any-return]
    if kind is str or kind is list:
        return len(value) > 0
    if value is None:
        return False
    if kind is float:
        return value == value and value != 0.0  # type: ignore[no-any-return]  # NaN is falsy
    if kind is int:
        return value != 0  # type: ignore[no-any-return]
    return True  # objects, even empty ones


def _int_to_float(value: int) -> float:
    try:
        return float(value)
    except OverflowError:
        return _INF if value > 0 else -_INF


def _str_to_number(text: str) -> float:
    """JavaScript ``Number(string)``."""
    text = text.strip(_JS_SPACE)
    if not text:
        return 0.0
    if _NUMBER_RE.fullmatch(text):
        return float(text)
    if _NON_DECIMAL_RE.fullmatch(text):
        return _int_to_float(int(text[2:], _RADIX[text[1].lower()]))
    return _NAN


def _to_number(value: Any) -> float:
    """JavaScript ``ToNumber`` (through ``ToPrimitive`` for lists and objects)."""
    kind = type(value)
    if kind is float:
        return value  # type: ignore[no-any-return]
    if kind is int:
        return _int_to_float(value)
    if kind is str:
        return _str_to_number(value)
    if kind is bool:
        return 1.0 if value else 0.0
    if value is None:
        return 0.0
    if kind is list:
        return _str_to_number(_to_str(value))
    return _NAN


def _parse_float(value: Any) -> float:
    """JavaScript ``parseFloat(value)``: the longest decimal prefix of ``String(value)``."""
    kind = type(value)
    if kind is float or kind is int:
        return _to_number(value) + 0.0  # String(-0) is "0"
    match = _NUMBER_RE.match(_to_str(value).lstrip(_JS_SPACE))
    return float(match.group()) if match else _NAN


def _to_integer(value: Any) -> float:
    """JavaScript ``ToIntegerOrInfinity`` (an absent operand counts as 0)."""
    if value is _ABSENT:
        return 0.0
    number = _to_number(value)
    if number != number:
        return 0.0
    if math.isinf(number):
        return number
    return float(math.trunc(number))


def _number_str(value: float | int) -> str:
    """JavaScript ``Number.prototype.toString()`` for base 10."""
    if isinstance(value, int):
        if -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT:
            return str(value)
        value = _int_to_float(value)
    if value != value:
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) <= _MAX_SAFE_INT:
        return str(int(value))  # exact, and the same digits as the shortest form
    return ("-" if value < 0 else "") + _positive_number_str(abs(value))


def _positive_number_str(value: float) -> str:
    # repr() gives the shortest round-tripping digits, as JavaScript does; only the
    # layout (where the point goes, when to switch to exponent form) differs.
    mantissa, _, exp_text = repr(value).partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    stripped = digits.rstrip("0")
    exponent = (int(exp_text) if exp_text else 0) - len(frac) + len(digits) - len(stripped)
    k = len(stripped)
    n = exponent + k  # value == 0.<digits> * 10**n
    if k <= n <= 21:
        return stripped + "0" * (n - k)
    if 0 < n <= 21:
        return f"{stripped[:n]}.{stripped[n:]}"
    if -6 < n <= 0:
        return "0." + "0" * -n + stripped
    sign = "+" if n >= 1 else "-"
    head = stripped if k == 1 else f"{stripped[0]}.{stripped[1:]}"
    return f"{head}e{sign}{abs(n - 1)}"


def _to_str(value: Any) -> str:
    """JavaScript ``String(value)`` for JSON values."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return _number_str(value)
    if value is None:
        return "null"
    if kind is list:
        return ",".join("" if item is None else _to_str(item) for item in value)
    return "[object Object]"


def _to_primitive(value: Any) -> Any:
    kind = type(value)
    if kind is list:
        return _to_str(value)
    if value is None or kind is str or kind is bool or kind is int or kind is float:
        return value
    return "[object Object]"


def _is_object(value: Any) -> bool:
    return not (value is None or type(value) in (str, bool, int, float))


def _utf16_len(text: str) -> int:
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _utf16_slice(text: str, start: int, stop: int) -> str:
    if text.isascii() or max(text) < "\U00010000":
        return text[start:stop]
    units = text.encode("utf-16-le", "surrogatepass")[2 * start : 2 * stop]
    return units.decode("utf-16-le", "surrogatepass")


def _str_lt(left: str, right: str) -> bool:
    # Code point order equals UTF-16 code unit order unless both sides hold characters
    # at or above U+D800; comparing the big-endian encodings is exact in every case.
    if left.isascii() or right.isascii():
        return left < right
    return left.encode("utf-16-be", "surrogatepass") < right.encode("utf-16-be", "surrogatepass")


def _loose_eq(left: Any, right: Any) -> bool:
    """JavaScript ``left == right``."""
    lkind, rkind = type(left), type(right)
    if lkind is rkind:
        if lkind is list or lkind is dict:
            return left is right
        return left == right  # type: ignore[no-any-return]
    if left is None or right is None:
        return False  # null equals only null/undefined
    if lkind in _NUM and rkind in _NUM:
        return left == right  # type: ignore[no-any-return]
    if lkind is bool:
        return _loose_eq(1.0 if left else 0.0, right)
    if rkind is bool:
        return _loose_eq(left, 1.0 if right else 0.0)
    if lkind is str and rkind in _NUM:
        return _str_to_number(left) == right  # type: ignore[no-any-return]
    if lkind in _NUM and rkind is str:
        return left == _str_to_number(right)  # type: ignore[no-any-return]
    left_object, right_object = _is_object(left), _is_object(right)
    if left_object and not right_object:
        return _loose_eq(_to_primitive(left), right)
    if right_object and not left_object:
        return _loose_eq(left, _to_primitive(right))
    return left is right


def _strict_eq(left: Any, right: Any) -> bool:
    """JavaScript ``left === right``."""
    lkind, rkind = type(left), type(right)
    if lkind is rkind:
        if _is_object(left):
            return left is right
        return left == right  # type: ignore[no-any-return]
    return lkind in _NUM and rkind in _NUM and left == right


def _loose_ne(left: Any, right: Any) -> bool:
    return not _loose_eq(left, right)


def _strict_ne(left: Any, right: Any) -> bool:
    return not _strict_eq(left, right)


def _lt(left: Any, right: Any) -> bool:
    """JavaScript ``left < right`` (an undefined result, from NaN, is false)."""
    if type(left) in _NUM and type(right) in _NUM:
        return left < right  # type: ignore[no-any-return]
    left, right = _to_primitive(left), _to_primitive(right)
    if type(left) is str and type(right) is str:
        return _str_lt(left, right)
    return _to_number(left) < _to_number(right)


def _le(left: Any, right: Any) -> bool:
    """JavaScript ``left <= right``."""
    if type(left) in _NUM and type(right) in _NUM:
        return left <= right  # type: ignore[no-any-return]
    left, right = _to_primitive(left), _to_primitive(right)
    if type(left) is str and type(right) is str:
        return not _str_lt(right, left)
    return _to_number(left) <= _to_number(right)


def _gt(left: Any, right: Any) -> bool:
    return _lt(right, left)


def _ge(left: Any, right: Any) -> bool:
    return _le(right, left)


def _lt3(low: Any, middle: Any, high: Any) -> bool:
    return _lt(low, middle) and _lt(middle, high)


def _le3(low: Any, middle: Any, high: Any) -> bool:
    return _le(low, middle) and _le(middle, high)


# --------------------------------------------------------------------------- operators


def _op_not(value: Any) -> bool:
    return not truthy(value)


def _op_in(needle: Any, haystack: Any) -> bool:
    kind = type(haystack)
    if kind is str:
        return haystack != "" and _to_str(needle) in haystack
    if kind is list:
        return any(_strict_eq(needle, item) for item in haystack)
    return False


def _op_cat(*parts: Any) -> str:
    return "".join("" if part is None else _to_str(part) for part in parts)


def _js_substr(text: str, start: Any, length: Any) -> str:
    """JavaScript ``String.prototype.substr``, in UTF-16 code units."""
    size = _utf16_len(text)
    first = _to_integer(start)
    if first < 0:
        first = max(size + first, 0.0)
    first = min(first, float(size))
    count = float(size) if length is _ABSENT else _to_integer(length)
    last = min(first + min(max(count, 0.0), float(size)), float(size))
    if first >= last:
        return ""
    return _utf16_slice(text, int(first), int(last))


def _op_substr(source: Any, start: Any, length: Any) -> str:
    text = _to_str(source)
    if length is _ABSENT or not _lt(length, 0):
        return _js_substr(text, start, length)
    # json-logic-js emulates PHP here: a negative length cuts from the end.
    if type(length) not in _NUM:
        return ""  # JS computes `size + length` as string concatenation: never a number
    tail = _js_substr(text, start, _ABSENT)
    return _js_substr(tail, 0, _utf16_len(tail) + length)


def _op_add(*values: Any) -> float:
    total = 0.0
    for value in values:
        total = total + _parse_float(value)
    return total


def _op_mul(first: Any, *rest: Any) -> Any:
    if not rest:
        return first  # Array.reduce without a seed returns the lone element untouched
    product = _parse_float(first)
    for value in rest:
        product = _parse_float(product) * _parse_float(value)
    return product


def _op_neg(value: Any) -> float:
    return -_to_number(value)


def _op_sub(left: Any, right: Any) -> float:
    return _to_number(left) - _to_number(right)


def _op_div(left: Any, right: Any) -> float:
    dividend, divisor = _to_number(left), _to_number(right)
    if divisor == 0.0:
        if dividend != dividend or dividend == 0.0:
            return _NAN
        return math.copysign(_INF, dividend) * math.copysign(1.0, divisor)
    return dividend / divisor


def _op_mod(left: Any, right: Any) -> float:
    dividend, divisor = _to_number(left), _to_number(right)
    if divisor == 0.0 or dividend != dividend or divisor != divisor or math.isinf(dividend):
        return _NAN
    if math.isinf(divisor):
        return dividend
    return math.fmod(dividend, divisor)


def _op_min(*values: Any) -> float:
    result = _INF
    for value in values:
        number = _to_number(value)
        if number != number:
            return _NAN
        if number < result or (number == result == 0.0 and math.copysign(1.0, number) < 0):
            result = number
    return result


def _op_max(*values: Any) -> float:
    result = -_INF
    for value in values:
        number = _to_number(value)
        if number != number:
            return _NAN
        if number > result or (number == result == 0.0 and math.copysign(1.0, number) > 0):
            result = number
    return result


def _op_merge(*values: Any) -> list[Any]:
    merged: list[Any] = []
    for value in values:
        if type(value) is list:
            merged.extend(value)
        else:
            merged.append(value)
    return merged


def _op_log(value: Any) -> Any:
    logger.debug("JSON Logic log: %r", value)
    return value


# --------------------------------------------------------------------------- var


class _Segment(NamedTuple):
    """One step of a var path: the property name, and its array index if it is one."""

    key: str
    position: int | None


def _segments(path: str) -> tuple[_Segment, ...]:
    return tuple(_Segment(key, _array_index(key)) for key in path.split("."))


def _array_index(key: str) -> int | None:
    # Only canonical numerals name array elements in JavaScript ("01" and "+1" do not).
    if key.isascii() and key.isdigit() and (key == "0" or key[0] != "0"):
        return int(key)
    return None


def _step(value: Any, segment: _Segment) -> Any:
    """``value[segment]`` as JavaScript reads it, or ``_MISSING``."""
    kind = type(value)
    if kind is dict:
        return value.get(segment.key, _MISSING)
    if kind is list:
        if segment.position is not None and segment.position < len(value):
            return value[segment.position]
        return len(value) if segment.key == "length" else _MISSING
    if kind is str:
        if segment.position is not None and segment.position < _utf16_len(value):
            return _utf16_slice(value, segment.position, segment.position + 1)
        return _utf16_len(value) if segment.key == "length" else _MISSING
    return _MISSING


def _step_or(value: Any, segment: _Segment, default: Any) -> Any:
    found = _step(value, segment)
    return default if found is _MISSING else found


def _lookup(data: Any, segments: tuple[_Segment, ...], default: Any) -> Any:
    value = data
    for segment in segments:
        value = _step(value, segment)
    return default if value is _MISSING else value


def _var_dynamic(data: Any, path: Any, default: Any) -> Any:
    """``var`` whose path was only known at run time."""
    if path is None or path == "" or path is _ABSENT:
        return data
    return _lookup(data, _segments(_to_str(path)), default)


def _op_missing(data: Any, *keys: Any) -> list[Any]:
    # A single list argument is the list of keys (typically the output of merge/if).
    if keys and type(keys[0]) is list:
        keys = tuple(keys[0])
    missing = []
    for key in keys:
        if type(key) is list:  # {"var": [path, default]} once the key is spliced in
            value = _var_dynamic(data, key[0] if key else _ABSENT, key[1] if len(key) > 1 else None)
        else:
            value = _var_dynamic(data, key, None)
        if value is None or value == "":
            missing.append(key)
    return missing


def _op_missing_some(data: Any, need: Any, options: Any) -> list[Any]:
    if type(options) is list:
        missing = _op_missing(data, *options)
        present: Any = len(options) - len(missing)
    elif type(options) is str:
        missing = _op_missing(data, options)
        present = _utf16_len(options) - len(missing)
    else:
        return _op_missing(data, options)  # json-logic-js throws here (or compares NaN)
    return [] if _le(need, present) else missing


# --------------------------------------------------------------------------- scoped ops


def _op_filter(body: Rule, items: Any) -> list[Any]:
    if type(items) is not list:
        return []
    return [item for item in items if truthy(body(item))]


def _op_map(body: Rule, items: Any) -> list[Any]:
    if type(items) is not list:
        return []
    return [body(item) for item in items]


def _op_reduce(body: Rule, items: Any, initial: Any) -> Any:
    if type(items) is not list:
        return initial
    accumulator = initial
    for item in items:
        accumulator = body({"current": item, "accumulator": accumulator})
    return accumulator


def _op_all(body: Rule, items: Any) -> bool:
    if type(items) is not list or not items:
        return False  # json-logic-js: "all" of nothing is false
    return all(truthy(body(item)) for item in items)


def _op_none(body: Rule, items: Any) -> bool:
    if type(items) is not list:
        return True
    return not any(truthy(body(item)) for item in items)


def _op_some(body: Rule, items: Any) -> bool:
    if type(items) is not list:
        return False
    return any(truthy(body(item)) for item in items)


def _constant_rule(value: Any) -> Rule:
    def rule(data: Mapping[str, Any]) -> Any:
        return value

    return rule


def _runtime_namespace() -> dict[str, Any]:
    """Globals of the generated code: every helper it may call, by its own name."""
    helpers: tuple[Callable[..., Any], ...] = (
        truthy,
        _to_str,
        _loose_eq,
        _loose_ne,
        _strict_eq,
        _strict_ne,
        _lt,
        _le,
        _gt,
        _ge,
        _lt3,
        _le3,
        _op_not,
        _op_in,
        _op_cat,
        _op_substr,
        _op_add,
        _op_mul,
        _op_neg,
        _op_sub,
        _op_div,
        _op_mod,
        _op_min,
        _op_max,
        _op_merge,
        _op_log,
        _step_or,
        _var_dynamic,
        _op_missing,
        _op_missing_some,
        _op_filter,
        _op_map,
        _op_reduce,
        _op_all,
        _op_none,
        _op_some,
    )
    namespace: dict[str, Any] = {helper.__name__: helper for helper in helpers}
    namespace.update(_NUM=_NUM, _MISSING=_MISSING, _ABSENT=_ABSENT)
    return namespace


# --------------------------------------------------------------------------- compiler

# Kinds: what Python type an expression is known to produce. For the "truth-safe" kinds
# Python's own truthiness equals JSON Logic's, so `and`/`or`/`!` can use it directly.
_ANY: Final = "any"
_BOOL: Final = "bool"
_NUMBER: Final = "num"  # int or float, never bool (not truth-safe: NaN)
_STR: Final = "str"
_LIST: Final = "list"
_SAFE: Final = "safe"
_TRUTH_SAFE: Final = frozenset((_BOOL, _STR, _LIST, _SAFE))

# Generated Python nests one or two parentheses per JSON Logic level; past this depth a
# subexpression moves to its own function so that compile() never hits parser limits.
_MAX_DEPTH: Final = 24

_EAGER: Final = {
    "!!": ("truthy", _BOOL),
    "!": ("_op_not", _BOOL),
    "cat": ("_op_cat", _STR),
    "+": ("_op_add", _NUMBER),
    "min": ("_op_min", _NUMBER),
    "max": ("_op_max", _NUMBER),
    "merge": ("_op_merge", _LIST),
}
_SCOPED: Final = {
    "filter": ("_op_filter", _LIST),
    "map": ("_op_map", _LIST),
    "all": ("_op_all", _BOOL),
    "none": ("_op_none", _BOOL),
    "some": ("_op_some", _BOOL),
}
_EQUALITY: Final = {"==": "_loose_eq", "!=": "_loose_ne", "===": "_strict_eq", "!==": "_strict_ne"}
_RELATIONAL: Final = {"<": "_lt", "<=": "_le", ">": "_gt", ">=": "_ge"}
_OTHER: Final = frozenset(
    {"if", "?:", "and", "or", "var", "missing", "missing_some", "in", "substr"}
    | {"*", "-", "/", "%", "log", "reduce"}
)

#: Every operator :func:`compile_logic` accepts (json-logic-js 2.0's full set).
OPERATORS: Final[frozenset[str]] = frozenset(
    set(_EAGER) | set(_SCOPED) | set(_EQUALITY) | set(_RELATIONAL) | _OTHER
)


class _Node(NamedTuple):
    """A compiled subexpression: Python source, or a folded constant."""

    src: str
    kind: str
    const: bool = False
    value: Any = None


def _kind_of(value: Any) -> str:
    kind = type(value)
    if kind is bool:
        return _BOOL
    if kind is int or kind is float:
        return _NUMBER
    if kind is str:
        return _STR
    if kind is list:
        return _LIST
    return _SAFE if value is None else _ANY


def _union(kinds: Iterable[str]) -> str:
    distinct = set(kinds)
    if len(distinct) == 1:
        return distinct.pop()
    return _SAFE if distinct <= _TRUTH_SAFE else _ANY


def _operands(expr: dict[str, Any]) -> tuple[str, list[Any]]:
    op, values = next(iter(expr.items()))
    if type(op) is not str:
        raise ArtifactSchemaError(f"JSON Logic operator must be a string, got {op!r}")
    return op, values if type(values) is list else [values]


def _plain_number(value: Any) -> bool:
    return type(value) in _NUM and value == value


class _Function:
    """One generated ``def``: its hoisted var lookups and temporaries."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.lookups: dict[tuple[tuple[_Segment, ...], str], str] = {}
        self.counter = 0

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"


class _Compiler:
    """Turns one expression into Python source, then into a function."""

    def __init__(self) -> None:
        self.namespace = _runtime_namespace()
        self.definitions: list[str] = []
        self.stack: list[_Function] = []
        self.constants = 0

    # ----------------------------------------------------------------- plumbing

    def build(self, expr: Any) -> Rule:
        root = self.function(expr)
        if isinstance(root, _Node):
            return _constant_rule(root.value)
        source = "\n".join(self.definitions)
        exec(compile(source, "<jsonlogic>", "exec"), self.namespace)
        rule: Rule = self.namespace[root]
        return rule

    def function(self, expr: Any) -> str | _Node:
        """Compile ``expr`` as its own ``def`` (or return it folded to a constant)."""
        func = _Function()
        self.stack.append(func)
        try:
            node = self.expr(expr, 0)
        finally:
            self.stack.pop()
        if node.const:
            return node
        # Bodies and outlined parts finish first, so names stay unique.
        name = f"_f{len(self.definitions)}"
        body = "".join(f"    {line}\n" for line in func.lines)
        self.definitions.append(f"def {name}(data):\n{body}    return {node.src}\n")
        return name

    def outlined(self, expr: Any) -> _Node:
        target = self.function(expr)
        if isinstance(target, _Node):
            return target
        return _Node(f"{target}(data)", _ANY)

    def const(self, value: Any) -> _Node:
        return _Node(self.literal(value), _kind_of(value), True, value)

    def literal(self, value: Any) -> str:
        kind = type(value)
        if value is None or kind is bool or kind is int or kind is str:
            return repr(value)
        if kind is float and math.isfinite(value):
            return repr(value)
        self.constants += 1
        name = f"_k{self.constants}"
        self.namespace[name] = value
        return name

    def bind(self, node: _Node) -> tuple[str, str]:
        """(first use, later uses) of a value that the generated code reads twice."""
        if node.src.isidentifier():
            return node.src, node.src
        name = self.stack[-1].fresh("_t")
        return f"({name} := {node.src})", name

    def call(self, helper: str, args: list[_Node], kind: str) -> _Node:
        if all(arg.const for arg in args):
            return self.const(self.namespace[helper](*(arg.value for arg in args)))
        return _Node(f"{helper}({', '.join(arg.src for arg in args)})", kind)

    # ----------------------------------------------------------------- dispatch

    def expr(self, expr: Any, depth: int) -> _Node:
        kind = type(expr)
        if depth > _MAX_DEPTH and (kind is list or (kind is dict and len(expr) == 1)):
            return self.outlined(expr)
        if kind is list:
            items = [self.expr(item, depth + 1) for item in expr]
            if all(item.const for item in items):
                return self.const([item.value for item in items])
            return _Node(f"[{', '.join(item.src for item in items)}]", _LIST)
        if kind is dict:
            if len(expr) != 1:
                _check_json(expr)
                return self.const(expr)  # not logic: json-logic-js returns it as is
            return self.operation(expr, depth)
        if expr is None or kind in (str, bool, float):
            return self.const(expr)
        if kind is int:
            # JavaScript would have parsed a big integer literal as a double.
            return self.const(expr if abs(expr) <= _MAX_SAFE_INT else _int_to_float(expr))
        raise ArtifactSchemaError(f"JSON Logic expression holds a non-JSON value: {expr!r}")

    def operation(self, expr: dict[str, Any], depth: int) -> _Node:
        op, values = _operands(expr)
        if op in _SCOPED:
            return self.scoped(op, values, depth)
        method = _LAZY.get(op)
        if method is not None:
            return method(self, values, depth)
        args = [self.expr(value, depth + 1) for value in values]
        if op in _EQUALITY:
            return self.equality(op, args)
        if op in _RELATIONAL:
            return self.relational(op, args)
        if op in _EAGER:
            return self.eager(op, args)
        handler = _EAGER_SPECIAL.get(op)
        if handler is None:
            raise ArtifactSchemaError(f"unknown JSON Logic operator {op!r}")
        return handler(self, args)

    # ----------------------------------------------------------------- lazy ops

    def if_(self, values: list[Any], depth: int) -> _Node:
        room = max(2, _MAX_DEPTH - depth) * 2
        if len(values) > room + 1:
            values = [*values[:room], {"if": values[room:]}]
        branches: list[tuple[_Node, _Node]] = []
        otherwise: _Node | None = None
        for index in range(0, len(values) - 1, 2):
            test = self.expr(values[index], depth + 1 + index // 2)
            if test.const and not truthy(test.value):
                continue
            then = self.expr(values[index + 1], depth + 1 + index // 2)
            if test.const:
                otherwise = then
                break
            branches.append((test, then))
        else:
            if len(values) % 2:
                otherwise = self.expr(values[-1], depth + 1 + len(values) // 2)
        if otherwise is None:
            otherwise = self.const(None)
        if not branches:
            return otherwise
        src = otherwise.src
        for test, then in reversed(branches):
            src = f"({then.src} if {self.test(test)} else {src})"
        return _Node(src, _union([otherwise.kind, *(then.kind for _, then in branches)]))

    def test(self, node: _Node) -> str:
        return node.src if node.kind in _TRUTH_SAFE else f"truthy({node.src})"

    def and_or(self, values: list[Any], depth: int, is_and: bool) -> _Node:
        room = max(2, _MAX_DEPTH - depth)
        if len(values) > room:
            values = [*values[: room - 1], {"and" if is_and else "or": values[room - 1 :]}]
        nodes: list[_Node] = []
        for index, value in enumerate(values):
            node = self.expr(value, depth + 1 + index)
            if node.const and truthy(node.value) == is_and and index < len(values) - 1:
                continue  # cannot decide the result: skip it
            nodes.append(node)
            if node.const:
                break  # decides the result whenever it is reached
        if not nodes:
            return self.const(None)  # json-logic-js: undefined
        if len(nodes) == 1:
            return nodes[0]
        src = nodes[-1].src
        for node in reversed(nodes[:-1]):
            src = self.chain(node, src, is_and)
        return _Node(src, _union(node.kind for node in nodes))

    def chain(self, node: _Node, rest: str, is_and: bool) -> str:
        if node.kind in _TRUTH_SAFE:
            return f"({node.src} {'and' if is_and else 'or'} {rest})"
        first, name = self.bind(node)
        if is_and:
            return f"({rest} if truthy({first}) else {name})"
        return f"({name} if truthy({first}) else {rest})"

    def and_(self, values: list[Any], depth: int) -> _Node:
        return self.and_or(values, depth, is_and=True)

    def or_(self, values: list[Any], depth: int) -> _Node:
        return self.and_or(values, depth, is_and=False)

    def scoped(self, op: str, values: list[Any], depth: int) -> _Node:
        helper, kind = _SCOPED[op]
        items = self.expr(values[0], depth + 1) if values else self.const(None)
        body = self.body(values[1] if len(values) > 1 else None)
        return _Node(f"{helper}({body}, {items.src})", kind)

    def reduce(self, values: list[Any], depth: int) -> _Node:
        items = self.expr(values[0], depth + 1) if values else self.const(None)
        body = self.body(values[1] if len(values) > 1 else None)
        initial = self.expr(values[2], depth + 1) if len(values) > 2 else self.const(None)
        return _Node(f"_op_reduce({body}, {items.src}, {initial.src})", _ANY)

    def body(self, expr: Any) -> str:
        """A map/filter/... body: a function of the element, never of the outer data."""
        target = self.function(expr)
        if isinstance(target, _Node):
            return self.literal(_constant_rule(target.value))
        return target

    def var(self, values: list[Any], depth: int) -> _Node:
        path = self.expr(values[0], depth + 1) if values else self.const(None)
        default = self.expr(values[1], depth + 1) if len(values) > 1 else self.const(None)
        if not path.const:
            return _Node(f"_var_dynamic(data, {path.src}, {default.src})", _ANY)
        if path.value is None or path.value == "":
            return _Node("data", _ANY)
        segments = _segments(_to_str(path.value))
        if not default.const:
            raw = self.lookup(segments, "_MISSING")
            return _Node(f"({default.src} if {raw} is _MISSING else {raw})", _ANY)
        return _Node(self.lookup(segments, default.src), _ANY)

    def lookup(self, segments: tuple[_Segment, ...], default: str) -> str:
        """Hoist a constant-path lookup into the current function; return its variable."""
        func = self.stack[-1]
        name = func.lookups.get((segments, default))
        if name is not None:
            return name
        name = func.fresh("v")
        func.lookups[(segments, default)] = name
        current = "data"
        for number, segment in enumerate(segments, 1):
            # A null or missing intermediate both end the walk, so only the last step
            # needs to tell "absent" (default) from "null" (None).
            last = number == len(segments)
            fallback = f", {default}" if last and default != "None" else ""
            slow = f"_step_or({current}, {self.literal(segment)}, {default if last else 'None'})"
            func.lines.append(
                f"{name} = {current}.get({segment.key!r}{fallback}) "
                f"if type({current}) is dict else {slow}"
            )
            current = name
        return name

    # ----------------------------------------------------------------- eager ops

    def eager(self, op: str, args: list[_Node]) -> _Node:
        helper, kind = _EAGER[op]
        if op in ("!", "!!"):
            arg = args[0] if args else self.const(None)
            if arg.const:
                return self.call(helper, [arg], kind)
            if arg.kind in _TRUTH_SAFE:
                return _Node(f"(not {arg.src})" if op == "!" else f"bool({arg.src})", _BOOL)
            return _Node(f"{helper}({arg.src})", _BOOL)
        return self.call(helper, args, kind)

    def equality(self, op: str, args: list[_Node]) -> _Node:
        negate = op.startswith("!")
        if len(args) < 2:
            # An absent operand is undefined: it equals only null (loosely) or itself.
            if not args:
                return self.const(not negate)
            if op in ("===", "!==") or args[0].const:
                return self.const(negate != (op in ("==", "!=") and args[0].value is None))
            return _Node(f"({args[0].src} {'is not' if negate else 'is'} None)", _BOOL)
        left, right = args[0], args[1]
        if left.const and not right.const:
            left, right = right, left  # both equalities are symmetric
        if left.const or not right.const:
            return self.call(_EQUALITY[op], [left, right], _BOOL)
        return _Node(self.equality_fast(op, left, right), _BOOL)

    def equality_fast(self, op: str, left: _Node, right: _Node) -> str:
        """``left op constant``, inline for the constant's own type."""
        helper, value, negate = _EQUALITY[op], right.value, op.startswith("!")
        if value is None or (type(value) is bool and op in ("===", "!==")):
            return f"({left.src} {'is not' if negate else 'is'} {right.src})"
        if type(value) is str:
            guard = "type({}) is str"
        elif _plain_number(value):
            guard = "type({}) in _NUM"
        else:
            return f"{helper}({left.src}, {right.src})"
        first, name = self.bind(left)
        if op in ("===", "!=="):
            test = f"({guard.format(first)} and {name} == {right.src})"
            return f"(not {test})" if negate else test
        compare = f"{name} {'!=' if negate else '=='} {right.src}"
        return f"({compare} if {guard.format(first)} else {helper}({name}, {right.src}))"

    def relational(self, op: str, args: list[_Node]) -> _Node:
        if len(args) < 2:
            return self.const(False)  # anything compared with undefined is false
        if len(args) >= 3 and op in ("<", "<="):
            return self.between(op, args[0], args[1], args[2])
        left, right = args[0], args[1]
        if op in (">", ">="):
            # JavaScript defines a > b as b < a, and a >= b as b <= a.
            op, left, right = ("<" if op == ">" else "<="), right, left
        if left.const and right.const:
            return self.call(_RELATIONAL[op], [left, right], _BOOL)
        return _Node(self.compare(op, left, right), _BOOL)

    def compare(self, op: str, left: _Node, right: _Node) -> str:
        helper = _RELATIONAL[op]
        if left.kind == _NUMBER and right.kind == _NUMBER:
            return f"({left.src} {op} {right.src})"
        constant, other = (left, right) if left.const else (right, left)
        if not constant.const or other.const:
            return f"{helper}({left.src}, {right.src})"
        if _plain_number(constant.value):
            guard = "type({}) in _NUM"
        elif type(constant.value) is str and _below_surrogates(constant.value):
            guard = "type({}) is str"  # Python's string order is UTF-16 order here
        else:
            return f"{helper}({left.src}, {right.src})"
        first, name = self.bind(other)
        a, b = (constant.src, name) if left.const else (name, constant.src)
        return f"({a} {op} {b} if {guard.format(first)} else {helper}({a}, {b}))"

    def between(self, op: str, low: _Node, middle: _Node, high: _Node) -> _Node:
        helper = "_lt3" if op == "<" else "_le3"
        if not middle.src.isidentifier() or (low.const and middle.const and high.const):
            return self.call(helper, [low, middle, high], _BOOL)
        return _Node(
            f"({self.compare(op, low, middle)} and {self.compare(op, middle, high)})", _BOOL
        )

    def in_(self, args: list[_Node]) -> _Node:
        if len(args) < 2:
            return self.const(False)  # nothing is in undefined
        needle, haystack = args[0], args[1]
        if needle.const == haystack.const:
            return self.call("_op_in", [needle, haystack], _BOOL)
        if needle.const and type(needle.value) is str and needle.value:
            first, name = self.bind(haystack)
            return _Node(
                f"({needle.src} in {name} if type({first}) is str "
                f"else _op_in({needle.src}, {name}))",
                _BOOL,
            )
        guard = _member_guard(haystack.value) if haystack.const else None
        if guard is None:
            return _Node(f"_op_in({needle.src}, {haystack.src})", _BOOL)
        # Strict equality never matches across types, so one type test and a set lookup do.
        first, name = self.bind(needle)
        members = self.literal(frozenset(haystack.value))
        return _Node(f"({guard.format(first)} and {name} in {members})", _BOOL)

    def substr(self, args: list[_Node]) -> _Node:
        if not args:
            return self.const("undefined")  # String(undefined), whole
        absent = _Node("_ABSENT", _ANY, True, _ABSENT)
        start = args[1] if len(args) > 1 else absent
        length = args[2] if len(args) > 2 else absent
        return self.call("_op_substr", [args[0], start, length], _STR)

    def multiply(self, args: list[_Node]) -> _Node:
        if not args:
            raise ArtifactSchemaError("JSON Logic '*' needs at least one operand")
        if len(args) == 1:
            return args[0]  # json-logic-js returns a lone operand unconverted
        return self.call("_op_mul", args, _NUMBER)

    def subtract(self, args: list[_Node]) -> _Node:
        if not args:
            return self.const(_NAN)
        if len(args) == 1:
            return self.call("_op_neg", args, _NUMBER)
        return self.call("_op_sub", args[:2], _NUMBER)

    def divide(self, args: list[_Node]) -> _Node:
        return self.call("_op_div", args[:2], _NUMBER) if len(args) > 1 else self.const(_NAN)

    def modulo(self, args: list[_Node]) -> _Node:
        return self.call("_op_mod", args[:2], _NUMBER) if len(args) > 1 else self.const(_NAN)

    def log(self, args: list[_Node]) -> _Node:
        if not args:
            return self.const(None)
        return _Node(f"_op_log({args[0].src})", args[0].kind)  # never folded: it logs

    def missing(self, args: list[_Node]) -> _Node:
        return _Node(f"_op_missing({', '.join(['data', *(arg.src for arg in args)])})", _LIST)

    def missing_some(self, args: list[_Node]) -> _Node:
        if len(args) < 2 or (args[1].const and args[1].value is None):
            raise ArtifactSchemaError("JSON Logic 'missing_some' needs a count and a key list")
        return _Node(f"_op_missing_some(data, {args[0].src}, {args[1].src})", _LIST)


def _below_surrogates(text: str) -> bool:
    return not text or max(text) < "\ud800"


def _member_guard(values: Any) -> str | None:
    """The type test under which ``x in frozenset(values)`` is JavaScript's strict search."""
    if type(values) is not list or not values:
        return None
    if all(type(value) is str for value in values):
        return "type({}) is str"
    if all(_plain_number(value) for value in values):
        return "type({}) in _NUM"
    return None


_LazyHandler = Callable[[_Compiler, list[Any], int], _Node]
_LAZY: Final[dict[str, _LazyHandler]] = {
    "if": _Compiler.if_,
    "?:": _Compiler.if_,
    "and": _Compiler.and_,
    "or": _Compiler.or_,
    "var": _Compiler.var,
    "reduce": _Compiler.reduce,
}
_EagerHandler = Callable[[_Compiler, list[_Node]], _Node]
_EAGER_SPECIAL: Final[dict[str, _EagerHandler]] = {
    "in": _Compiler.in_,
    "substr": _Compiler.substr,
    "*": _Compiler.multiply,
    "-": _Compiler.subtract,
    "/": _Compiler.divide,
    "%": _Compiler.modulo,
    "log": _Compiler.log,
    "missing": _Compiler.missing,
    "missing_some": _Compiler.missing_some,
}


# --------------------------------------------------------------------------- public API


def compile_logic(expr: Any) -> Rule:
    """Compile a JSON Logic expression into a function of the data.

    Raises :class:`~targetkit.errors.ArtifactSchemaError` for an unknown operator or a
    malformed expression. The returned function never raises on JSON-shaped data.
    Lists it returns may be shared between calls: do not mutate them.
    """
    try:
        return _Compiler().build(expr)
    except RecursionError:
        raise ArtifactSchemaError("JSON Logic expression is nested too deeply") from None
    except SyntaxError as exc:  # a limit of Python's parser we did not foresee
        raise ArtifactSchemaError(f"JSON Logic expression could not be compiled: {exc}") from exc


def operators_used(expr: Any) -> set[str]:
    """Every operator name in ``expr``, known or not (constant objects are not logic)."""
    return scan_logic(expr)[0]


def scan_logic(expr: Any) -> tuple[set[str], list[Any]]:
    """Every operator name in ``expr`` and the operands of its ``var`` operations, in one
    walk (an artifact's conditions are walked once, when it is accepted)."""
    found: set[str] = set()
    variables: list[Any] = []
    pending = [expr]
    while pending:
        item = pending.pop()
        if type(item) is list:
            pending.extend(item)
        elif type(item) is dict and len(item) == 1:
            op, values = next(iter(item.items()))
            found.add(str(op))
            if op == "var":
                variables.append(values)
            pending.append(values)
    return found, variables


def _check_json(value: Any) -> None:
    """Reject non-JSON values inside a constant object (iteratively: no recursion limit)."""
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is dict:
            if any(type(key) is not str for key in item):
                raise ArtifactSchemaError("JSON Logic object keys must be strings")
            pending.extend(item.values())
        elif kind is list:
            pending.extend(item)
        elif not (item is None or kind in (str, bool, int, float)):
            raise ArtifactSchemaError(f"JSON Logic expression holds a non-JSON value: {item!r}")
