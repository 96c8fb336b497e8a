"""Artifact downloads without I/O: reading one HTTP answer into an outcome.

The sync and async pollers make the request (with ``If-None-Match``), then hand the
status, headers and body here. One *attempt cycle* retries transient failures with
backoff; its outcome is one of: accepted (a new artifact to install), not modified
(304: keep the current one, no event), or failed (one ``artifact_download_failed``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from targetkit.errors import ArtifactDownloadError, OnDeviceDisabledError

__all__ = ["AttemptResult", "Outcome", "classify_status", "is_transient_download_error"]


class Outcome(Enum):
    ACCEPTED = "accepted"
    NOT_MODIFIED = "not_modified"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """What one download attempt cycle ended with."""

    outcome: Outcome
    error: BaseException | None = None


def classify_status(status: int, location: str) -> ArtifactDownloadError | None:
    """None for 200/304, else the typed error for that status."""
    if status in (200, 304):
        return None
    if status == 403:
        return OnDeviceDisabledError(
            f"the CDN answered 403 for {location}: on-device decisioning is not enabled "
            "for this account (enable it in Target's administration settings)",
            status=status,
        )
    return ArtifactDownloadError(f"the CDN answered HTTP {status} for {location}", status=status)


def is_transient_download_error(error: BaseException) -> bool:
    """Connection errors, timeouts, 408, 429 and 5xx are retried; 403 and 404 are not."""
    if isinstance(error, OnDeviceDisabledError):
        return False
    if isinstance(error, ArtifactDownloadError):
        status = error.status
        return status is None or status in (408, 429) or status >= 500
    return False


def etag_of(headers: Mapping[str, str]) -> str | None:
    value = headers.get("etag")
    return value or None
