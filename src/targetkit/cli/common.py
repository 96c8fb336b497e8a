"""What the CLI commands share: the error they exit with, and reading inputs."""

from __future__ import annotations

from typing import Any

import orjson

from targetkit.artifact.obfuscation import looks_obfuscated
from targetkit.artifact.parse import load_artifact
from targetkit.errors import ArtifactError, TargetError
from targetkit.serve.sources import read_source

__all__ = [
    "EXIT_USAGE",
    "CliError",
    "LoadedInput",
    "dumps",
    "load_artifact_input",
    "read_bytes",
    "read_json",
]

EXIT_USAGE = 2
"""Exit code for bad input (missing file, invalid JSON, unknown mbox, ...), as argparse."""


class CliError(Exception):
    """A user error: printed as one line on stderr, exit code :data:`EXIT_USAGE`."""


def read_bytes(spec: str, what: str) -> tuple[bytes, str]:
    """The bytes of file or URL ``spec`` and a label; CliError when unreadable."""
    try:
        payload, source = read_source(spec)
    except FileNotFoundError as err:
        raise CliError(f"{what} file not found: {spec}") from err
    except IsADirectoryError as err:
        raise CliError(f"{what} is a directory, not a file: {spec}") from err
    except OSError as err:
        raise CliError(f"cannot read {what} {spec}: {err.strerror or err}") from err
    except TargetError as err:
        raise CliError(str(err)) from err
    return payload, source.label


def read_json(spec: str, what: str) -> Any:
    """The parsed JSON in file ``spec``; CliError when missing or invalid."""
    payload, label = read_bytes(spec, what)
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as err:
        raise CliError(f"{what} {label} is not valid JSON: {err}") from err


class LoadedInput:
    """An artifact read for a command: parsed dict, its size and where it came from."""

    __slots__ = ("label", "obfuscated", "raw", "size_bytes")

    def __init__(self, raw: dict[str, Any], size_bytes: int, label: str, obfuscated: bool) -> None:
        self.raw = raw
        self.size_bytes = size_bytes
        self.label = label
        self.obfuscated = obfuscated


def load_artifact_input(spec: str, organization_id: str | None) -> LoadedInput:
    """Read and validate an artifact file or URL (rules.json, or rules.bin with the org id)."""
    payload, label = read_bytes(spec, "artifact")
    obfuscated = looks_obfuscated(payload)
    if obfuscated and not organization_id:
        raise CliError(f"{label} is a rules.bin: decoding it needs --organization-id")
    try:
        raw = load_artifact(payload, organization_id=organization_id)
    except ArtifactError as err:
        raise CliError(f"{label}: {err}") from err
    return LoadedInput(raw, len(payload), label, obfuscated)


def dumps(value: Any) -> str:
    """Pretty JSON for output."""
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
