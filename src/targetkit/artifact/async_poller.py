"""The async client's artifact poller: one asyncio task with a cancellable wait.

It mirrors :class:`~targetkit.artifact.poller.ArtifactPoller`: the decisions (retries,
outcomes, events) live in :mod:`targetkit.artifact.download`; this module performs the
requests with an :class:`~targetkit.transport.AsyncTransport` and waits with
:func:`asyncio.sleep`. Compiling an artifact and the ``artifact_cache`` file I/O run in
a worker thread so a large artifact never stalls the event loop; installing it (the
``on_installed`` hook) and emitting events happen back on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
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
from targetkit.transport import AsyncTransport

__all__ = ["AsyncArtifactPoller"]

logger = logging.getLogger(__name__)


class AsyncArtifactPoller:
    """Downloads and installs artifacts for one async client.

    ``start()`` must be called with a running loop; ``await refresh()`` runs a cycle now
    (serialized with the polling task); ``await stop(timeout_s)`` cancels the task.
    """

    def __init__(
        self,
        core: ClientCore,
        transport: AsyncTransport,
        events: EventDispatcher,
        location: str,
        on_installed: Callable[[LoadedArtifact], None],
        backoff: Backoff | None = None,
    ) -> None:
        self._source = ArtifactSource(core, events, location, on_installed, backoff)
        self._transport = transport
        self.location = location
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopped = False

    def start(self) -> None:
        """Start polling on the running loop (RuntimeError when there is none)."""
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._loop(), name="targetkit-artifact")

    async def stop(self, timeout_s: float) -> None:
        """Cancel polling and wait up to ``timeout_s`` for the task to end. Idempotent."""
        self._stopped = True
        task, self._task = self._task, None
        if task is None or task.done():
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), timeout_s)

    async def refresh(self) -> bool:
        """Run one cycle now; True when a new artifact was installed."""
        async with self._lock:
            if self._stopped:
                return False
            return await self._cycle()

    async def _loop(self) -> None:
        try:
            while not self._stopped:
                await self.refresh()
                wait_s = next_wait_s(
                    self._source.core.options.polling_interval_ms,
                    self._source.core.artifact is not None,
                )
                if wait_s is None:
                    return
                await asyncio.sleep(wait_s)
        except asyncio.CancelledError:
            raise
        except Exception:
            if not self._stopped:
                logger.exception("the artifact poller stopped unexpectedly")

    async def _cycle(self) -> bool:
        cycle = self._source.new_cycle()
        while True:
            cycle.begin_attempt()
            try:
                status, etag, body = await self._transport.get_artifact(
                    cycle.location, cycle.if_none_match, self._source.timeout_s
                )
                step = cycle.on_response(status, etag, body)
            except ArtifactDownloadError as err:
                step = cycle.on_error(err)
            if isinstance(step, Retry):
                await asyncio.sleep(step.delay_s)
                continue
            if self._stopped:
                return False
            return await self._finish(step)

    async def _finish(self, result: CycleResult) -> bool:
        source = self._source
        if result.outcome is Outcome.NOT_MODIFIED:
            return False
        if result.outcome is Outcome.FAILED:
            assert result.error is not None
            source.fail(result.error, result.attempts)
            await self._fall_back_to_cache()
            return False
        started = time.perf_counter()
        try:
            loaded = await asyncio.to_thread(source.compile, result)
        except ArtifactError as err:
            source.fail(err)
            await self._fall_back_to_cache()
            return False
        parsing_ms = (time.perf_counter() - started) * 1000
        if source.cache is not None:
            # Before installing: once the client reports the artifact, the file has it.
            await asyncio.to_thread(source.cache.save, result.body)
        source.accept(loaded, result, parsing_ms)
        return True

    async def _fall_back_to_cache(self) -> None:
        source = self._source
        if source.cache is None or not source.wants_cache():
            return
        body = await asyncio.to_thread(source.cache.load)
        loaded = await asyncio.to_thread(source.compile_cached, body) if body is not None else None
        if loaded is not None:
            source.install_cached(loaded)
