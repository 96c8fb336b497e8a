"""Artifact payload parsing and validation."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import MappingProxyType
from typing import Any

import orjson
import pytest

from targetkit.artifact.obfuscation import obfuscate
from targetkit.artifact.parse import load_artifact, validate_artifact
from targetkit.errors import (
    ArtifactParseError,
    ArtifactSchemaError,
    ArtifactVersionError,
    ConfigurationError,
    DeobfuscationError,
)

CONFORMANCE = Path(__file__).resolve().parents[1] / "conformance"
ORG_ID = "74F652E95F1B16FE0A495C92@AdobeOrg"
ARTIFACTS = sorted((CONFORMANCE / "artifacts").glob("*.json"))
SUPPORTED = [p for p in ARTIFACTS if "UNSUPPORTED" not in p.name] + [CONFORMANCE / "artifact.json"]


def _minimal(**overrides: Any) -> dict[str, Any]:
    artifact: dict[str, Any] = {"version": "1.0.0", "rules": {"mboxes": {}, "views": {}}}
    artifact.update(overrides)
    return artifact


def test_vendored_artifacts_are_found() -> None:
    assert len(ARTIFACTS) >= 18


@pytest.mark.parametrize("path", SUPPORTED, ids=lambda p: p.name)
def test_every_supported_vendored_artifact_loads(path: Path) -> None:
    raw = path.read_bytes()
    expected = json.loads(raw)
    assert load_artifact(raw) == expected
    assert load_artifact(raw.decode("utf-8")) == expected
    assert load_artifact(bytearray(raw), artifact_format="json") == expected
    assert load_artifact(memoryview(raw)) == expected


def test_unsupported_vendored_artifact_names_its_version() -> None:
    raw = (CONFORMANCE / "artifacts" / "TEST_ARTIFACT_UNSUPPORTED.json").read_bytes()
    with pytest.raises(ArtifactVersionError, match=r"'99\.0\.0'"):
        load_artifact(raw)


def test_rules_bin_is_detected_and_decoded() -> None:
    raw = (CONFORMANCE / "obfuscated" / "rules.bin").read_bytes()
    expected = json.loads((CONFORMANCE / "obfuscated" / "rules.json").read_bytes())
    assert load_artifact(raw, organization_id=ORG_ID) == expected
    assert load_artifact(raw, organization_id=ORG_ID, artifact_format="BIN") == expected


def test_rules_bin_without_organization_id() -> None:
    raw = (CONFORMANCE / "obfuscated" / "rules.bin").read_bytes()
    with pytest.raises(DeobfuscationError, match="organization_id"):
        load_artifact(raw)


def test_rules_bin_with_wrong_organization_id() -> None:
    raw = (CONFORMANCE / "obfuscated" / "rules.bin").read_bytes()
    with pytest.raises(DeobfuscationError, match="probably wrong"):
        load_artifact(raw, organization_id="0000000000000000DEADBEEF@AdobeOrg")


def test_rules_bin_read_as_json_hints_at_format() -> None:
    raw = (CONFORMANCE / "obfuscated" / "rules.bin").read_bytes()
    with pytest.raises(ArtifactParseError, match=r"looks like a rules\.bin"):
        load_artifact(raw, organization_id=ORG_ID, artifact_format="json")


def test_forced_bin_on_plain_json_fails_on_header() -> None:
    with pytest.raises(DeobfuscationError, match="header"):
        load_artifact(orjson.dumps(_minimal()), organization_id=ORG_ID, artifact_format="bin")
    with pytest.raises(DeobfuscationError, match="bytes"):
        load_artifact(orjson.dumps(_minimal()).decode(), artifact_format="bin")


def test_obfuscated_unsupported_version_is_still_checked() -> None:
    blob = obfuscate(orjson.dumps(_minimal(version="2.0.0")), ORG_ID)
    with pytest.raises(ArtifactVersionError):
        load_artifact(blob, organization_id=ORG_ID)


def test_unknown_format_option() -> None:
    with pytest.raises(ConfigurationError):
        load_artifact(b"{}", artifact_format="xml")


@pytest.mark.parametrize("cut", [1, 10, 1000, -1])
def test_truncated_bytes(cut: int) -> None:
    raw = (CONFORMANCE / "artifact.json").read_bytes().rstrip()
    with pytest.raises(ArtifactParseError, match="not valid JSON"):
        load_artifact(raw[:cut])


@pytest.mark.parametrize("text", ["", "{", "{'a': 1}", "[1,]", "nul", '{"version": "1.0.0"} x'])
def test_invalid_json_carries_orjson_message(text: str) -> None:
    with pytest.raises(orjson.JSONDecodeError) as original:
        orjson.loads(text)
    with pytest.raises(ArtifactParseError) as caught:
        load_artifact(text)
    assert str(original.value) in str(caught.value)


def test_invalid_utf8_is_a_parse_error() -> None:
    with pytest.raises(ArtifactParseError):
        load_artifact(b'{"version": "\xff"}')


@pytest.mark.parametrize(("text", "kind"), [("[]", "array"), ("1", "number"), ("null", "null")])
def test_top_level_must_be_an_object(text: str, kind: str) -> None:
    with pytest.raises(ArtifactParseError, match=kind):
        load_artifact(text)


@pytest.mark.parametrize("version", [None, 1, "", "2.0.0", "0.9", "x.1", "99", "-1.0"])
def test_unsupported_versions(version: object) -> None:
    artifact = _minimal(version=version)
    with pytest.raises(ArtifactVersionError, match=re.escape(repr(version))):
        load_artifact(artifact)


@pytest.mark.parametrize("version", ["1.0.0", "1", "1.2", " 1.0.0", "+1.0", "1a.0", "01.0.0"])
def test_parse_int_like_major_versions(version: str) -> None:
    assert load_artifact(_minimal(version=version))["version"] == version


def test_missing_version() -> None:
    artifact = _minimal()
    del artifact["version"]
    with pytest.raises(ArtifactVersionError, match="None"):
        load_artifact(artifact)


@pytest.mark.parametrize(
    ("rules", "path"),
    [
        (None, "rules"),
        ([], "rules"),
        ({"mboxes": []}, "rules.mboxes"),
        ({"views": "x"}, "rules.views"),
        ({"mboxes": {"box": {}}}, "rules.mboxes['box']"),
        ({"mboxes": {"box": [{}, 3]}}, "rules.mboxes['box'][1]"),
        ({"mboxes": {}, "views": {"home": [{}, {}, None]}}, "rules.views['home'][2]"),
    ],
)
def test_schema_errors_name_the_key_path(rules: object, path: str) -> None:
    with pytest.raises(ArtifactSchemaError) as caught:
        load_artifact(orjson.dumps(_minimal(rules=rules)))
    assert str(caught.value).startswith(f"{path}:")


def test_missing_rules() -> None:
    artifact = _minimal()
    del artifact["rules"]
    with pytest.raises(ArtifactSchemaError, match="rules"):
        load_artifact(artifact)


def test_rule_containers_are_optional() -> None:
    assert load_artifact(_minimal(rules={}))["rules"] == {}


def test_dict_payload_is_returned_without_copy() -> None:
    artifact = _minimal()
    assert load_artifact(artifact) is artifact


def test_other_mappings_become_dicts() -> None:
    result = load_artifact(MappingProxyType(_minimal()))
    assert type(result) is dict
    assert result == _minimal()


def test_validate_artifact_accepts_parsed_value() -> None:
    artifact = _minimal()
    assert validate_artifact(artifact) is artifact
    with pytest.raises(ArtifactParseError):
        validate_artifact("not an object")
