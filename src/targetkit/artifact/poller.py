"""The sync client's artifact poller: one daemon thread with a stoppable wait.

Each *cycle* downloads the artifact once (with ``If-None-Match``), retrying transient
failures with backoff; a cycle ends in one of three ways: a new artifact installed
(``artifact_download_succeeded``), not modified (304, no event), or failed (exactly one
``artifact_download_failed``, whatever the number of attempts). A failure never replaces
the installed artifact, and a later successful cycle recovers (``client_ready`` then
fires if it had not yet).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from targetkit.artifact.download import classify_status, is_transient_download_error
from targetkit.core import ClientCore, LoadedArtifact
from targetkit.delivery.retry import Backoff
from targetkit.errors import ArtifactDownloadError, ArtifactError
from targetkit.events import ArtifactDownloadFailed, ArtifactDownloadSucceeded, EventDispatcher
from targetkit.ids import new_uuid
from targetkit.transport import SyncTransport

__all__ = ["ArtifactPoller"]

logger = logging.getLogger(__name__)

#: While no artifact has ever loaded, cycles repeat at most this often (s), even when
#: polling is off or slow: a failed first download must recover.
FIRST_LOAD_RETRY_S = 5.0


class ArtifactPoller:
    """Downloads and installs artifacts for one sync client."""

    def __init__(
        self,
        core: ClientCore,
        transport: SyncTransport,
        events: EventDispatcher,
        location: str,
        on_installed: Callable[[LoadedArtifact], None],
        backoff: Backoff | None = None,
    ) -> None:
        self._core = core
        self._transport = transport
        self._events = events
        self.location = location
        self._on_installed = on_installed
        self._backoff = backoff or Backoff()
        self._etag: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="targetkit-artifact", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    def refresh(self) -> bool:
        """Run one cycle now; True when a new artifact was installed."""
        with self._lock:
            return self._cycle()

    def _loop(self) -> None:
        interval_s = self._core.options.polling_interval_ms / 1000
        while not self._stop.is_set():
            self.refresh()
            ready = self._core.artifact is not None
            if interval_s <= 0 and ready:
                return
            wait_s = (
                interval_s if ready else min(interval_s or FIRST_LOAD_RETRY_S, FIRST_LOAD_RETRY_S)
            )
            if self._stop.wait(wait_s):
                return

    def _cycle(self) -> bool:
        timeout_s = self._core.options.timeout_ms / 1000
        last_error: BaseException | None = None
        for attempt in range(1, self._backoff.attempts + 1):
            if attempt > 1 and self._stop.wait(self._backoff.delay_s(attempt - 1)):
                return False
            started = time.perf_counter()
            try:
                status, etag, body = self._transport.get_artifact(
                    self.location, self._etag, timeout_s
                )
                error = classify_status(status, self.location)
                if error is not None:
                    raise error
            except ArtifactDownloadError as err:
                last_error = err
                if is_transient_download_error(err):
                    logger.debug("artifact download attempt %d failed: %s", attempt, err)
                    continue
                break
            if status == 304:
                return False
            return self._accept(body, etag, (time.perf_counter() - started) * 1000)
        assert last_error is not None
        logger.warning("artifact download from %s failed: %s", self.location, last_error)
        self._events.emit(ArtifactDownloadFailed(artifact_location=self.location, error=last_error))
        return False

    def _accept(self, body: bytes, etag: str | None, download_ms: float) -> bool:
        started = time.perf_counter()
        try:
            loaded = self._core.compile(body, self.location, etag)
        except ArtifactError as err:
            logger.warning("artifact from %s rejected: %s", self.location, err)
            self._events.emit(ArtifactDownloadFailed(artifact_location=self.location, error=err))
            return False
        self._etag = etag
        self._core.telemetry.add(
            new_uuid(),
            self._core.clock_ms(),
            execution=download_ms,
            parsing=(time.perf_counter() - started) * 1000,
        )
        self._on_installed(loaded)
        self._events.emit(
            ArtifactDownloadSucceeded(artifact_location=self.location, artifact_payload=loaded.raw)
        )
        return True
