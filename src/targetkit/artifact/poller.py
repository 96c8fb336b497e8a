"""The sync client's artifact poller: one daemon thread with a stoppable wait.

The decisions (retries, outcomes, events) live in :mod:`targetkit.artifact.download`;
this module only performs requests, waits and writes the cache. A failure never
replaces the installed artifact, and a later successful cycle recovers (``client_ready``
then fires if it had not yet). When the first download fails and ``artifact_cache`` is
set, the cached artifact is installed and polling goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from targetkit.artifact.download import (
    ArtifactSource,
    CycleResult,
    Outcome,
    Retry,
    next_wait_s,
)
from targetkit.core import ClientCore, LoadedArtifact
from targetkit.delivery.retry import Backoff
from targetkit.errors import ArtifactDownloadError, ArtifactError
from targetkit.events import EventDispatcher
from targetkit.transport import SyncTransport

__all__ = ["ArtifactPoller"]

logger = logging.getLogger(__name__)


class ArtifactPoller:
    """Downloads and installs artifacts for one sync client.

    ``refresh()`` runs a cycle on the caller's thread (serialized with the polling
    thread), which is how tests and operators poll faster than the 300000 ms floor.
    """

    def __init__(
        self,
        core: ClientCore,
        transport: SyncTransport,
        events: EventDispatcher,
        location: str,
        on_installed: Callable[[LoadedArtifact], None],
        backoff: Backoff | None = None,
    ) -> None:
        self._source = ArtifactSource(core, events, location, on_installed, backoff)
        self._transport = transport
        self.location = location
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, *, wait_first: bool = False) -> None:
        """Start the polling thread; with ``wait_first`` it sleeps an interval first."""
        self._thread = threading.Thread(
            target=self._loop, args=(wait_first,), name="targetkit-artifact", daemon=True
        )
        self._thread.start()

    def stop(self, timeout_s: float) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    def restart_after_fork(self, transport: SyncTransport) -> None:
        """In a forked child: fresh lock, transport and thread (the parent's are gone)."""
        self._transport = transport
        self._lock = threading.Lock()
        self._stop = threading.Event()
        # The parent polled recently: a loaded child waits an interval like it would have.
        self.start(wait_first=self._source.core.artifact is not None)

    def refresh(self) -> bool:
        """Run one cycle now; True when a new artifact was installed."""
        with self._lock:
            if self._stop.is_set():
                return False
            return self._cycle()

    def _loop(self, wait_first: bool) -> None:
        try:
            if wait_first and self._wait():
                return
            while not self._stop.is_set():
                self.refresh()
                if self._wait():
                    return
        except Exception:
            # After close() the transport is gone; anything else is a bug worth a trace.
            if not self._stop.is_set():
                logger.exception("the artifact poller stopped unexpectedly")

    def _wait(self) -> bool:
        """Wait until the next cycle is due; True when polling should end."""
        wait_s = next_wait_s(
            self._source.core.options.polling_interval_ms,
            self._source.core.artifact is not None,
        )
        return wait_s is None or self._stop.wait(wait_s)

    def _cycle(self) -> bool:
        cycle = self._source.new_cycle()
        while True:
            cycle.begin_attempt()
            try:
                status, etag, body = self._transport.get_artifact(
                    cycle.location, cycle.if_none_match, self._source.timeout_s
                )
                step = cycle.on_response(status, etag, body)
            except ArtifactDownloadError as err:
                step = cycle.on_error(err)
            if isinstance(step, Retry):
                if self._stop.wait(step.delay_s):
                    return False
                continue
            if self._stop.is_set():
                return False
            return self._finish(step)

    def _finish(self, result: CycleResult) -> bool:
        source = self._source
        if result.outcome is Outcome.NOT_MODIFIED:
            return False
        if result.outcome is Outcome.FAILED:
            assert result.error is not None
            source.fail(result.error, result.attempts)
            self._fall_back_to_cache()
            return False
        started = time.perf_counter()
        try:
            loaded = source.compile(result)
        except ArtifactError as err:
            source.fail(err)
            self._fall_back_to_cache()
            return False
        parsing_ms = (time.perf_counter() - started) * 1000
        if source.cache is not None:
            # Before installing: once the client reports the artifact, the file has it.
            source.cache.save(result.body)
        source.accept(loaded, result, parsing_ms)
        return True

    def _fall_back_to_cache(self) -> None:
        source = self._source
        if source.cache is None or not source.wants_cache():
            return
        body = source.cache.load()
        loaded = source.compile_cached(body) if body is not None else None
        if loaded is not None:
            source.install_cached(loaded)
