"""Target's allocation bucket: which slice of traffic a visitor falls into for an activity.

Target Edge hashes a *device id* ``"{client}.{activityId}.{visitorId}.{salt}"`` with
MurmurHash3 x86_32 (seed 0) over the string's UTF-16 code units (what Java's
``Hashing.murmur3_32().hashUnencodedChars`` does). The absolute value of the signed hash,
modulo 10 000, is the bucket; divided by 100 it is a percentage in [0, 99.99] with two
decimals. On-device decisions must reproduce it bit for bit so a visitor sees the same
experience whether Edge or this SDK decides.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import mmh3

__all__ = [
    "CAMPAIGN_BUCKET_SALT",
    "TOTAL_BUCKETS",
    "allocation",
    "allocation_for_device",
    "device_id_for",
    "murmur3_utf16",
    "murmur3_utf16_reference",
    "visitor_id_for",
]

CAMPAIGN_BUCKET_SALT = "0"
"""Salt appended to every device id; Target uses ``"0"`` for campaigns."""

TOTAL_BUCKETS = 10_000
"""Number of hash buckets; one bucket is 0.01 percentage points."""

_hash = mmh3.hash


def murmur3_utf16(text: str) -> int:
    """Signed 32-bit MurmurHash3 x86_32 (seed 0) of ``text``'s UTF-16 code units.

    Each code unit is fed little-endian, so the UTF-16-LE bytes are exactly the input
    the Java/JS implementations hash; astral characters count as two units.
    """
    try:
        data = text.encode("utf-16-le")
    except UnicodeEncodeError:
        # A lone surrogate (legal in JS strings, reachable from JSON escapes) is one code
        # unit in JS; "surrogatepass" emits that unit. Kept off the fast path: slower.
        data = text.encode("utf-16-le", "surrogatepass")
    result: int = _hash(data, 0, True)
    return result


def _utf16_units(text: str) -> list[int]:
    """UTF-16 code units of ``text``, computed from code points without any codec."""
    units: list[int] = []
    for char in text:
        point = ord(char)
        if point < 0x10000:
            units.append(point)
        else:
            point -= 0x10000
            units.append(0xD800 | (point >> 10))
            units.append(0xDC00 | (point & 0x3FF))
    return units


def _rotl32(value: int, shift: int) -> int:
    return ((value << shift) | (value >> (32 - shift))) & 0xFFFFFFFF


def _scramble(k1: int) -> int:
    k1 = (k1 * 0xCC9E2D51) & 0xFFFFFFFF
    k1 = _rotl32(k1, 15)
    return (k1 * 0x1B873593) & 0xFFFFFFFF


def _fmix32(h1: int) -> int:
    h1 ^= h1 >> 16
    h1 = (h1 * 0x85EBCA6B) & 0xFFFFFFFF
    h1 ^= h1 >> 13
    h1 = (h1 * 0xC2B2AE35) & 0xFFFFFFFF
    return h1 ^ (h1 >> 16)


def murmur3_utf16_reference(text: str) -> int:
    """Pure-Python MurmurHash3 x86_32 over UTF-16 code units; slow, for tests only.

    Two 16-bit units form one 32-bit block (first unit in the low half); an odd final
    unit is the tail; the length mixed in at the end is in bytes (2 per unit).
    """
    units = _utf16_units(text)
    h1 = 0
    paired = len(units) & ~1
    for i in range(0, paired, 2):
        h1 ^= _scramble(units[i] | (units[i + 1] << 16))
        h1 = _rotl32(h1, 13)
        h1 = (h1 * 5 + 0xE6546B64) & 0xFFFFFFFF
    if len(units) & 1:
        h1 ^= _scramble(units[paired])
    h1 = _fmix32(h1 ^ (len(units) * 2))
    return h1 - (1 << 32) if h1 & 0x80000000 else h1


def visitor_id_for(id_block: Mapping[str, Any] | None) -> str:
    """The visitor id Target hashes: the first non-empty of marketingCloudVisitorId,
    tntId (without its ``.location`` hint), thirdPartyId; else a fresh uuid4 string.

    A fresh uuid means the visitor lands in a random bucket, which is what Target does
    for anonymous visitors.
    """
    if id_block:
        mcid = id_block.get("marketingCloudVisitorId")
        if mcid:
            return str(mcid)
        tnt_id = id_block.get("tntId")
        if isinstance(tnt_id, str) and tnt_id:
            head = tnt_id.split(".", 1)[0]
            if head:
                return head
        third_party = id_block.get("thirdPartyId")
        if third_party:
            return str(third_party)
    return str(uuid.uuid4())


def device_id_for(client: str, activity_id: int | str, visitor_id: str) -> str:
    """The string Target hashes for ``visitor_id`` in ``activity_id`` of ``client``."""
    return f"{client}.{activity_id}.{visitor_id}.{CAMPAIGN_BUCKET_SALT}"


def allocation_for_device(device_id: str) -> float:
    """Allocation percentage in [0, 99.99] (two decimals) for a ready-made device id.

    JS computes ``Math.round((b / 10000) * 100 * 100) / 100`` for bucket ``b``; the
    product is within a few ulps of the integer ``b``, so the rounding always yields
    ``b`` and the result is the correctly rounded ``b / 100`` (proven for every bucket in
    the unit tests). Dividing once is both exact and fastest.
    """
    return (abs(murmur3_utf16(device_id)) % TOTAL_BUCKETS) / 100


def allocation(client: str, activity_id: int | str, visitor_id: str) -> float:
    """Allocation percentage in [0, 99.99] of ``visitor_id`` for one activity.

    ``visitor_id`` should already be resolved (see :func:`visitor_id_for`); an empty one
    gets a fresh uuid4, as in Target's SDKs, so the visitor lands in a random bucket.
    """
    if not visitor_id:
        visitor_id = str(uuid.uuid4())
    device = f"{client}.{activity_id}.{visitor_id}.{CAMPAIGN_BUCKET_SALT}"
    # Inlined murmur3_utf16 + allocation_for_device: two fewer calls on the hottest path.
    try:
        data = device.encode("utf-16-le")
    except UnicodeEncodeError:
        data = device.encode("utf-16-le", "surrogatepass")
    signed: int = _hash(data, 0, True)
    return (abs(signed) % TOTAL_BUCKETS) / 100
