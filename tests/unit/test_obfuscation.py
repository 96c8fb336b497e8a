"""rules.bin decoding and encoding."""

from __future__ import annotations

import json
import time
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from targetkit.artifact.obfuscation import (
    HEADER_SIZE,
    deobfuscate,
    looks_obfuscated,
    obfuscate,
)
from targetkit.errors import ArtifactError, DeobfuscationError

CONFORMANCE = Path(__file__).resolve().parents[1] / "conformance"
ORG_ID = "74F652E95F1B16FE0A495C92@AdobeOrg"
RULES_BIN = CONFORMANCE / "obfuscated" / "rules.bin"
RULES_JSON = CONFORMANCE / "obfuscated" / "rules.json"


def test_vendored_rules_bin_decodes_to_rules_json() -> None:
    decoded = deobfuscate(RULES_BIN.read_bytes(), ORG_ID)
    assert orjson.loads(decoded) == json.loads(RULES_JSON.read_text("utf-8"))


def test_vendored_rules_bin_decodes_from_bytearray_and_memoryview() -> None:
    raw = RULES_BIN.read_bytes()
    expected = deobfuscate(raw, ORG_ID)
    assert deobfuscate(bytearray(raw), ORG_ID) == expected
    assert deobfuscate(memoryview(raw), ORG_ID) == expected


def test_wrong_organization_id_is_reported() -> None:
    with pytest.raises(DeobfuscationError, match="organization id is probably wrong"):
        deobfuscate(RULES_BIN.read_bytes(), "0000000000000000DEADBEEF@AdobeOrg")


def test_wrong_organization_id_unchecked_returns_garbage() -> None:
    garbage = deobfuscate(RULES_BIN.read_bytes(), "nope@AdobeOrg", check_json=False)
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(garbage)


def test_deobfuscation_error_is_an_artifact_error() -> None:
    assert issubclass(DeobfuscationError, ArtifactError)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"ATOD:001" + b"k" * 10, "shorter than"),
        (b"ATOD-001" + b"k" * 40, "PREFIX:VERSION"),
        (b'{"version": "1.0.0", "rules": {"mboxes": {}}}', "PREFIX:VERSION"),
        (b"ATOD:002" + b"k" * 40, "version 2 is not supported"),
        (b"ATOD:000" + b"k" * 40, "version 0 is not supported"),
    ],
)
def test_bad_header(data: bytes, message: str) -> None:
    with pytest.raises(DeobfuscationError, match=message):
        deobfuscate(data, ORG_ID)


def test_looks_obfuscated() -> None:
    assert looks_obfuscated(RULES_BIN.read_bytes())
    assert looks_obfuscated(obfuscate(b"{}", ORG_ID))
    assert not looks_obfuscated(RULES_JSON.read_bytes())
    assert not looks_obfuscated(b"ATOD:001")  # too short for the header
    assert not looks_obfuscated(b" " * 100)


@given(st.binary(), st.text(max_size=60))
def test_round_trip_random_bytes(body: bytes, organization_id: str) -> None:
    blob = obfuscate(body, organization_id)
    assert len(blob) == HEADER_SIZE + len(body)
    assert looks_obfuscated(blob)
    assert deobfuscate(blob, organization_id, check_json=False) == body


@given(st.binary(min_size=1, max_size=200))
def test_body_is_actually_masked(body: bytes) -> None:
    key = "k" * 32
    blob = obfuscate(body, ORG_ID, key)
    mask = (ORG_ID + key).encode()
    assert blob[:HEADER_SIZE] == b"ATOD:001" + key.encode()
    assert all(b ^ mask[i % len(mask)] == blob[HEADER_SIZE + i] for i, b in enumerate(body))


def test_round_trip_json_with_fixed_key() -> None:
    payload = RULES_JSON.read_bytes()
    blob = obfuscate(payload, ORG_ID, "r963m:fP}/hM^<I&'Z+7ALcS}q_6z*E,")
    assert blob[:HEADER_SIZE] == RULES_BIN.read_bytes()[:HEADER_SIZE]
    assert deobfuscate(blob, ORG_ID) == payload


def test_random_keys_differ() -> None:
    assert obfuscate(b"{}", ORG_ID)[8:HEADER_SIZE] != obfuscate(b"{}", ORG_ID)[8:HEADER_SIZE]


@pytest.mark.parametrize("key", ["short", "x" * 33, "é" * 32])
def test_obfuscate_rejects_bad_key(key: str) -> None:
    with pytest.raises(ValueError, match="32 ASCII"):
        obfuscate(b"{}", ORG_ID, key)


def test_one_megabyte_is_fast() -> None:
    body = bytes(range(256)) * 4096
    blob = obfuscate(body, ORG_ID)
    started = time.perf_counter()
    assert deobfuscate(blob, ORG_ID, check_json=False) == body
    # Target is < 20 ms; the generous bound only catches a fall back to a Python loop.
    assert time.perf_counter() - started < 0.2
