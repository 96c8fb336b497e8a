"""The artifact an emulator serves: its JSON and rules.bin bodies, their ETags, reloads.

:class:`ArtifactStore` holds one :class:`ServedArtifact` at a time and swaps it
atomically (a request that took one keeps using it). A rejected replacement or reload
never replaces the served artifact: the old one keeps serving, the error is reported.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from targetkit.artifact.obfuscation import looks_obfuscated, obfuscate
from targetkit.artifact.parse import load_artifact
from targetkit.errors import TargetError
from targetkit.serve.sources import Source, read_source

__all__ = ["ArtifactStore", "ServedArtifact", "strong_etag"]

logger = logging.getLogger(__name__)


def strong_etag(body: bytes) -> str:
    """A strong ETag for ``body``: the same bytes always give the same tag."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@dataclass(frozen=True, slots=True)
class ServedArtifact:
    """One accepted artifact with both of its wire forms."""

    raw: Mapping[str, Any]
    json_body: bytes
    json_etag: str
    bin_body: bytes
    bin_etag: str
    serial: int
    label: str

    @property
    def version(self) -> str:
        return str(self.raw.get("version", ""))

    @property
    def client_code(self) -> str | None:
        meta = self.raw.get("meta")
        code = meta.get("clientCode") if isinstance(meta, Mapping) else None
        return code if isinstance(code, str) and code else None


def _served(payload: bytes, organization_id: str, serial: int, label: str) -> ServedArtifact:
    """Validate ``payload`` (rules.json or rules.bin bytes) into a ServedArtifact.

    Raises an ``ArtifactError`` when it is not a valid artifact.
    """
    raw = load_artifact(payload, organization_id=organization_id)
    json_body = orjson.dumps(raw) if looks_obfuscated(payload) else bytes(payload)
    # A key derived from the content keeps rules.bin (and its ETag) stable across reloads.
    key = hashlib.sha256(json_body).hexdigest()[:32]
    bin_body = obfuscate(json_body, organization_id, key)
    return ServedArtifact(
        raw=raw,
        json_body=json_body,
        json_etag=strong_etag(json_body),
        bin_body=bin_body,
        bin_etag=strong_etag(bin_body),
        serial=serial,
        label=label,
    )


def _file_stamp(source: Source) -> tuple[int, int] | None:
    if source.path is None:
        return None
    try:
        stat = os.stat(source.path)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


class ArtifactStore:
    """The served artifact, replaceable live and (with ``reload``) watched on disk."""

    def __init__(self, spec: str | None, organization_id: str, *, reload: bool = False) -> None:
        """Load the first artifact from ``spec`` (file, URL, or None for the demo one).

        Raises:
            OSError: the file cannot be read.
            ArtifactError: the artifact is invalid or the URL did not answer 200.
        """
        self.organization_id = organization_id
        payload, self.source = read_source(spec)
        self._reload = reload and self.source.path is not None
        self._lock = threading.Lock()
        self._reload_lock = threading.Lock()
        self._stamp = _file_stamp(self.source)
        self._serial = 1
        self._current = _served(payload, organization_id, 1, self.source.label)

    @property
    def current(self) -> ServedArtifact:
        return self._current

    @property
    def watching(self) -> bool:
        """True when the artifact file is watched for changes."""
        return self._reload

    def replace(self, payload: bytes, label: str) -> ServedArtifact:
        """Serve ``payload`` (rules.json or rules.bin bytes) from now on.

        Raises an ``ArtifactError`` (and keeps the current artifact) when it is invalid.
        """
        with self._lock:
            served = _served(payload, self.organization_id, self._serial + 1, label)
            self._serial += 1
            self._current = served
        logger.info("now serving %s (version %s)", label, served.version)
        return served

    def check_reload(self) -> bool:
        """Reload the watched file if it changed on disk; True when a new one is served.

        A file that cannot be read or parsed is logged and skipped: the last good
        artifact keeps serving until the file is fixed.
        """
        path = self.source.path
        if not self._reload or path is None:
            return False
        with self._reload_lock:
            stamp = _file_stamp(self.source)
            if stamp is None or stamp == self._stamp:
                return False
            self._stamp = stamp
            try:
                self.replace(path.read_bytes(), self.source.label)
            except (OSError, TargetError) as err:
                logger.error(
                    "not reloading %s, the previous artifact keeps serving: %s",
                    self.source.label,
                    err,
                )
                return False
        return True
