"""Allocation bucket: MurmurHash3 over UTF-16 code units and the JS rounding rule."""

from __future__ import annotations

import math
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from targetkit.decisioning.allocation import (
    TOTAL_BUCKETS,
    allocation,
    allocation_for_device,
    device_id_for,
    murmur3_utf16,
    murmur3_utf16_reference,
    visitor_id_for,
)

# (input, signed hash, allocation): computed once by running the Node SDK's
# hashUnencodedCharsRaw + calculateAllocation under node 20, not by this package.
KNOWN = [
    ("", 0, 0.0),
    ("a", 1867108634, 86.34),
    ("ab", 374890698, 6.98),
    ("abc", 1118836419, 64.19),
    ("hello world", 1689409188, 91.88),
    ("acme.125880.338e3c1e51f7416a8e1ccba4f81acea0.28_0.0", -500377790, 77.9),
    ("é", 1105794559, 45.59),
    ("日本語", 1004281861, 18.61),
    ("\U0001f600", 1443257913, 79.13),
    ("a\U0001f600b", 2145382652, 26.52),
    ("x\ud800", 940552506, 25.06),
]


@pytest.mark.parametrize(("text", "expected_hash", "expected_allocation"), KNOWN)
def test_known_vectors(text: str, expected_hash: int, expected_allocation: float) -> None:
    assert murmur3_utf16(text) == expected_hash
    assert murmur3_utf16_reference(text) == expected_hash
    assert allocation_for_device(text) == expected_allocation


# Every code point except lone surrogates (which `st.text` excludes by default), plus
# strings that do carry lone surrogates, since JS strings may.
_any_text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF))
_with_lone_surrogates = st.lists(
    st.one_of(st.characters(), st.integers(0xD800, 0xDFFF).map(chr))
).map("".join)


@given(_any_text)
def test_fast_hash_equals_reference(text: str) -> None:
    assert murmur3_utf16(text) == murmur3_utf16_reference(text)


@given(_with_lone_surrogates)
def test_fast_hash_equals_reference_with_lone_surrogates(text: str) -> None:
    assert murmur3_utf16(text) == murmur3_utf16_reference(text)


@given(st.text(alphabet=st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF), min_size=1))
def test_astral_characters_hash_as_surrogate_pairs(text: str) -> None:
    # A Python str holding the pair as two code points is the same UTF-16 as the astral char.
    as_pairs = text.encode("utf-16-le").decode("utf-16-le", "surrogatepass")
    split = "".join(
        chr(0xD800 | ((ord(c) - 0x10000) >> 10)) + chr(0xDC00 | ((ord(c) - 0x10000) & 0x3FF))
        for c in as_pairs
    )
    assert len(split) == 2 * len(text)
    assert murmur3_utf16(split) == murmur3_utf16(text)


@given(st.text())
def test_hash_is_signed_32_bit(text: str) -> None:
    assert -(2**31) <= murmur3_utf16(text) < 2**31


def _js_round(value: float) -> float:
    """Math.round: nearest integer, ties toward +infinity (exact for |value| < 2**52)."""
    floor = math.floor(value)
    return floor + 1 if value - floor >= 0.5 else floor


def test_bucket_division_matches_js_rounding_for_every_bucket() -> None:
    for bucket in range(TOTAL_BUCKETS):
        js_value = _js_round((bucket / TOTAL_BUCKETS) * 100 * 100) / 100
        assert bucket / 100 == js_value, bucket


def test_js_round_helper_rounds_half_up() -> None:
    assert _js_round(2.5) == 3
    assert _js_round(-2.5) == -2
    assert _js_round(0.49999999999999994) == 0


@given(st.text(), st.integers(min_value=0), st.text(min_size=1))
def test_allocation_range_and_two_decimals(client: str, activity: int, visitor: str) -> None:
    value = allocation(client, activity, visitor)
    assert 0.0 <= value <= 99.99
    assert round(value * 100) / 100 == value


@given(st.text(), st.integers(min_value=0), st.text(min_size=1))
def test_allocation_hashes_the_device_id(client: str, activity: int, visitor: str) -> None:
    device = device_id_for(client, activity, visitor)
    assert device == f"{client}.{activity}.{visitor}.0"
    expected = (abs(murmur3_utf16_reference(device)) % TOTAL_BUCKETS) / 100
    assert allocation(client, activity, visitor) == expected
    assert allocation(client, str(activity), visitor) == expected


def test_empty_visitor_id_gets_random_bucket_input(monkeypatch: pytest.MonkeyPatch) -> None:
    fixed = uuid.UUID("12345678-1234-4234-8234-123456789abc")
    monkeypatch.setattr(uuid, "uuid4", lambda: fixed)
    assert allocation("acme", 1, "") == allocation_for_device(f"acme.1.{fixed}.0")


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ({"marketingCloudVisitorId": "mcid", "tntId": "tnt.28_0", "thirdPartyId": "3p"}, "mcid"),
        ({"marketingCloudVisitorId": "", "tntId": "tnt.28_0", "thirdPartyId": "3p"}, "tnt"),
        ({"tntId": "tnt-no-hint"}, "tnt-no-hint"),
        ({"tntId": "a.b.c"}, "a"),
        ({"tntId": ".28_0", "thirdPartyId": "3p"}, "3p"),
        ({"tntId": None, "thirdPartyId": "3p"}, "3p"),
        ({"thirdPartyId": "3p", "customerIds": [{"id": "x"}]}, "3p"),
    ],
)
def test_visitor_id_precedence(block: dict[str, object], expected: str) -> None:
    assert visitor_id_for(block) == expected


@pytest.mark.parametrize("block", [None, {}, {"tntId": ""}, {"marketingCloudVisitorId": None}])
def test_visitor_id_falls_back_to_fresh_uuid(block: dict[str, object] | None) -> None:
    first = visitor_id_for(block)
    assert uuid.UUID(first).version == 4
    assert visitor_id_for(block) != first


@given(st.text(), st.integers(min_value=0), _with_lone_surrogates.filter(bool))
def test_allocation_accepts_lone_surrogates(client: str, activity: int, visitor: str) -> None:
    device = device_id_for(client, activity, visitor)
    assert allocation(client, activity, visitor) == allocation_for_device(device)
