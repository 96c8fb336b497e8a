"""Artifact downloads without I/O: the logic both pollers share.

A poller (sync thread or asyncio task) only performs requests and waits; everything it
decides lives here:

* :class:`DownloadCycle` is one *attempt cycle*: the poller asks it for the
  ``If-None-Match`` value, performs the request, and reports the answer (or the transport
  error). The cycle answers with :class:`Retry` (wait that long, then try again) or a
  :class:`CycleResult`: accepted (a body to compile), not modified (304: keep the current
  artifact, no event), or failed (exactly one ``artifact_download_failed``, however many
  attempts it took). Transient failures (connection errors, timeouts, 408, 429, 5xx) are
  retried with exponential backoff and jitter, within ``Backoff.attempts``.
* :class:`ArtifactSource` keeps the per-poller state (the last ETag) and turns results
  into installs and events: compile (CPU only), accept (install, telemetry, success
  event), fail (one failure event). Nothing in it blocks on the network or holds a lock
  while a callback runs (events go through the dispatcher's runner).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum

from targetkit.artifact.cache import ArtifactCache
from targetkit.core import ClientCore, LoadedArtifact
from targetkit.delivery.retry import Backoff
from targetkit.errors import ArtifactDownloadError, ArtifactError, OnDeviceDisabledError
from targetkit.events import ArtifactDownloadFailed, ArtifactDownloadSucceeded, EventDispatcher
from targetkit.ids import new_uuid

__all__ = [
    "FIRST_LOAD_RETRY_S",
    "ArtifactSource",
    "CycleResult",
    "DownloadCycle",
    "Outcome",
    "Retry",
    "classify_status",
    "etag_of",
    "is_transient_download_error",
    "next_wait_s",
]

logger = logging.getLogger(__name__)

#: While no artifact has ever loaded, cycles repeat at most this often (s), even when
#: polling is off or slow: a failed first download must recover.
FIRST_LOAD_RETRY_S = 5.0


class Outcome(Enum):
    ACCEPTED = "accepted"
    NOT_MODIFIED = "not_modified"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class CycleResult:
    """How an attempt cycle ended. ``body``/``etag`` are set when accepted, ``error``
    when failed; ``download_ms`` is the duration of the last attempt."""

    outcome: Outcome
    body: bytes = b""
    etag: str | None = None
    error: ArtifactDownloadError | None = None
    download_ms: float = 0.0
    attempts: int = 1


@dataclass(frozen=True, slots=True)
class Retry:
    """Wait ``delay_s`` seconds (stoppably), then make the next attempt."""

    delay_s: float


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


def next_wait_s(polling_interval_ms: int, ready: bool) -> float | None:
    """Seconds until the next scheduled cycle; None when polling should end.

    Once an artifact is loaded the interval rules (0: stop). Until then cycles repeat at
    least every :data:`FIRST_LOAD_RETRY_S`, so a failed first download recovers.
    """
    interval_s = polling_interval_ms / 1000
    if ready:
        return interval_s if interval_s > 0 else None
    return min(interval_s, FIRST_LOAD_RETRY_S) if interval_s > 0 else FIRST_LOAD_RETRY_S


class DownloadCycle:
    """One attempt cycle, without I/O; see the module docstring for the protocol."""

    def __init__(
        self,
        location: str,
        etag: str | None,
        backoff: Backoff,
        rng: random.Random | None = None,
    ) -> None:
        self.location = location
        self.if_none_match = etag
        self.attempt = 0
        self._backoff = backoff
        self._rng = rng
        self._started = 0.0

    def begin_attempt(self) -> None:
        """Call right before each request (it times the attempt)."""
        self.attempt += 1
        self._started = time.perf_counter()

    def on_response(self, status: int, etag: str | None, body: bytes) -> Retry | CycleResult:
        """Report the HTTP answer of the current attempt."""
        error = classify_status(status, self.location)
        if error is not None:
            return self.on_error(error)
        elapsed_ms = (time.perf_counter() - self._started) * 1000
        if status == 304:
            return CycleResult(Outcome.NOT_MODIFIED, download_ms=elapsed_ms, attempts=self.attempt)
        return CycleResult(
            Outcome.ACCEPTED, body, etag, download_ms=elapsed_ms, attempts=self.attempt
        )

    def on_error(self, error: ArtifactDownloadError) -> Retry | CycleResult:
        """Report a failed attempt (transport error or error status)."""
        if is_transient_download_error(error) and self.attempt < self._backoff.attempts:
            logger.debug(
                "artifact download attempt %d of %d failed, retrying: %s",
                self.attempt,
                self._backoff.attempts,
                error,
            )
            return Retry(self._backoff.delay_s(self.attempt, self._rng))
        return CycleResult(Outcome.FAILED, error=error, attempts=self.attempt)


class ArtifactSource:
    """Per-poller download state and the shared accept/fail steps.

    ``on_installed`` is the client's install hook (it installs into the core and marks
    the client ready); it is called before ``artifact_download_succeeded`` is emitted.
    """

    def __init__(
        self,
        core: ClientCore,
        events: EventDispatcher,
        location: str,
        on_installed: Callable[[LoadedArtifact], None],
        backoff: Backoff | None = None,
    ) -> None:
        self.core = core
        self.events = events
        self.location = location
        self.backoff = backoff or Backoff()
        self.etag: str | None = None
        self._on_installed = on_installed
        cache_path = core.options.artifact_cache
        self.cache = ArtifactCache(cache_path) if cache_path else None
        self._cache_tried = False

    @property
    def timeout_s(self) -> float:
        """Per-attempt timeout: the ``timeout`` option."""
        return self.core.options.timeout_ms / 1000

    def new_cycle(self) -> DownloadCycle:
        # A 304 only makes sense while the artifact it refers to is installed.
        etag = self.etag if self.core.artifact is not None else None
        return DownloadCycle(self.location, etag, self.backoff)

    def compile(self, result: CycleResult) -> LoadedArtifact:
        """Decode, validate and compile an accepted body (CPU only; raises ArtifactError)."""
        return self.core.compile(result.body, self.location, result.etag)

    def accept(self, loaded: LoadedArtifact, result: CycleResult, parsing_ms: float) -> None:
        """Install ``loaded`` and announce it."""
        self.etag = result.etag
        self.core.telemetry.add(
            new_uuid(),
            self.core.clock_ms(),
            execution=result.download_ms,
            parsing=parsing_ms,
        )
        self._on_installed(loaded)
        logger.debug("artifact from %s installed (etag %s)", self.location, result.etag)
        self.events.emit(
            ArtifactDownloadSucceeded(artifact_location=self.location, artifact_payload=loaded.raw)
        )

    def fail(self, error: ArtifactError, attempts: int = 1) -> None:
        """Announce a failed cycle or a rejected artifact; the installed one keeps serving."""
        keeping = "; the last good artifact keeps serving" if self.core.artifact else ""
        if isinstance(error, ArtifactDownloadError):
            logger.warning(
                "artifact download from %s failed after %d attempt(s): %s%s",
                self.location,
                attempts,
                error,
                keeping,
            )
        else:
            logger.warning("artifact from %s rejected: %s%s", self.location, error, keeping)
        self.events.emit(ArtifactDownloadFailed(artifact_location=self.location, error=error))

    def wants_cache(self) -> bool:
        """True once, after a failed or rejected download while nothing is installed."""
        if self.cache is None or self._cache_tried or self.core.artifact is not None:
            return False
        self._cache_tried = True
        return True

    def compile_cached(self, body: bytes) -> LoadedArtifact | None:
        """Compile the cache file's bytes; None (and a warning) when they do not decode."""
        try:
            return self.core.compile(body, self.location, None)
        except ArtifactError as err:
            path = self.cache.path if self.cache else "?"
            logger.warning("artifact_cache %s is not a usable artifact, ignored: %s", path, err)
            return None

    def install_cached(self, loaded: LoadedArtifact) -> None:
        """Install the cached artifact: the client becomes ready; polling goes on."""
        path = self.cache.path if self.cache else "?"
        logger.warning(
            "the CDN failed at start; deciding with the cached artifact from %s until a "
            "download succeeds",
            path,
        )
        self._on_installed(loaded)
