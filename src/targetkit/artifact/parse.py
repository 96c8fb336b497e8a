"""Turn a downloaded or supplied artifact payload into a validated artifact dict.

Validation covers what every later stage relies on (top-level object, supported major
version, rule containers of the right shape). It is all-or-nothing: the caller either
gets a dict that passed every check or an :class:`~targetkit.errors.ArtifactError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from targetkit.artifact.obfuscation import deobfuscate, looks_obfuscated, wrong_organization_error
from targetkit.errors import (
    ArtifactParseError,
    ArtifactSchemaError,
    ArtifactVersionError,
    ConfigurationError,
    DeobfuscationError,
)

__all__ = ["SUPPORTED_MAJOR_VERSION", "load_artifact", "validate_artifact"]

SUPPORTED_MAJOR_VERSION = 1
"""The artifact major version this SDK understands."""

# Like JS parseInt on the first dotted part: optional blanks and sign, then digits.
_MAJOR = re.compile(r"\s*([+-]?\d+)")

Payload = Mapping[str, Any] | bytes | bytearray | memoryview | str


def load_artifact(
    payload: Payload,
    *,
    organization_id: str | None = None,
    artifact_format: str | None = None,
) -> dict[str, Any]:
    """Parse (and, for a rules.bin, deobfuscate) ``payload`` and validate it.

    ``artifact_format`` is ``"json"``, ``"bin"`` or None to detect a rules.bin by its
    header. A mapping is validated as is (a ``dict`` is returned without copying).

    Raises:
        ArtifactParseError: not JSON, or the top level is not an object.
        ArtifactVersionError: the major version is not 1.
        ArtifactSchemaError: ``rules`` or its containers have the wrong shape.
        DeobfuscationError: a rules.bin without ``organization_id``, or that does not
            decode with it.
        ConfigurationError: unknown ``artifact_format``.
    """
    if isinstance(payload, Mapping):
        artifact: object = payload if isinstance(payload, dict) else dict(payload)
    else:
        artifact = _decode(payload, organization_id, _format_option(artifact_format))
    return validate_artifact(artifact)


def _format_option(artifact_format: str | None) -> str | None:
    if artifact_format is None:
        return None
    lowered = artifact_format.lower()
    if lowered not in ("json", "bin"):
        raise ConfigurationError("artifact_format", f"{artifact_format!r} is not json or bin")
    return lowered


def _decode(
    payload: bytes | bytearray | memoryview | str,
    organization_id: str | None,
    artifact_format: str | None,
) -> object:
    if isinstance(payload, str):
        if artifact_format == "bin":
            raise DeobfuscationError("a rules.bin payload must be bytes, not str")
        return _parse_json(payload)
    if artifact_format == "bin" or (artifact_format is None and looks_obfuscated(payload)):
        return _decode_bin(payload, organization_id)
    return _parse_json(payload)


def _decode_bin(payload: bytes | bytearray | memoryview, organization_id: str | None) -> object:
    if not organization_id:
        raise DeobfuscationError(
            "the artifact is a rules.bin; decoding it needs the organization_id option"
        )
    plain = deobfuscate(payload, organization_id, check_json=False)
    try:
        return orjson.loads(plain)
    except orjson.JSONDecodeError as exc:
        raise wrong_organization_error(organization_id, exc) from exc


def _parse_json(payload: bytes | bytearray | memoryview | str) -> object:
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        hint = ""
        if not isinstance(payload, str) and looks_obfuscated(payload):
            hint = " (it looks like a rules.bin; use artifact_format 'bin')"
        raise ArtifactParseError(f"artifact is not valid JSON: {exc}{hint}") from exc


def validate_artifact(artifact: object) -> dict[str, Any]:
    """Check an already-parsed artifact; return it unchanged when it passes.

    Raises:
        ArtifactParseError, ArtifactVersionError, ArtifactSchemaError: as for
            :func:`load_artifact`.
    """
    if not isinstance(artifact, dict):
        raise ArtifactParseError(
            f"artifact top level must be a JSON object, got {_json_type(artifact)}"
        )
    _check_version(artifact.get("version"))
    rules = artifact.get("rules")
    if not isinstance(rules, dict):
        raise ArtifactSchemaError(f"rules: expected an object, got {_json_type(rules)}")
    for container in ("mboxes", "views"):
        if container in rules:
            _check_rule_map(rules[container], f"rules.{container}")
    return artifact


def _check_version(version: object) -> None:
    major = None
    if isinstance(version, str):
        match = _MAJOR.match(version.split(".", 1)[0])
        major = int(match.group(1)) if match else None
    if major != SUPPORTED_MAJOR_VERSION:
        raise ArtifactVersionError(
            f"artifact version {version!r} is not supported; "
            f"this SDK reads major version {SUPPORTED_MAJOR_VERSION}"
        )


def _check_rule_map(rule_map: object, path: str) -> None:
    if not isinstance(rule_map, dict):
        raise ArtifactSchemaError(f"{path}: expected an object, got {_json_type(rule_map)}")
    for name, rule_list in rule_map.items():
        if not isinstance(rule_list, list):
            raise ArtifactSchemaError(
                f"{path}[{name!r}]: expected a list of rules, got {_json_type(rule_list)}"
            )
        for index, rule in enumerate(rule_list):
            if not isinstance(rule, dict):
                raise ArtifactSchemaError(
                    f"{path}[{name!r}][{index}]: expected a rule object, got {_json_type(rule)}"
                )


def _json_type(value: object) -> str:
    """The JSON name of a parsed value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__
