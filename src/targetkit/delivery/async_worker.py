"""The async client's notification worker: one asyncio task draining the queue.

It mirrors :class:`~targetkit.delivery.worker.NotificationWorker` (same queue, bound,
batching, retry policy and events; see :mod:`targetkit.delivery.notifications`), with
asyncio in place of threads: one task takes batches, and each request of a batch is
sent by its own short task, at most ``concurrency`` at a time. Every method must be
called on the loop the worker was started on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from targetkit.delivery.notifications import (
    NotificationQueue,
    NotSentError,
    Outgoing,
    PendingItem,
    Reporter,
)
from targetkit.delivery.retry import Backoff, is_transient
from targetkit.delivery.worker import DEFAULT_CONCURRENCY, JOIN_TIMEOUT_S
from targetkit.errors import DeliveryError
from targetkit.events import EventDispatcher

__all__ = ["AsyncNotificationWorker"]

logger = logging.getLogger(__name__)


class AsyncNotificationWorker:
    """Sends queued notifications for one async client."""

    def __init__(
        self,
        queue: NotificationQueue,
        post: Callable[[Outgoing], Awaitable[Any]],
        events: EventDispatcher,
        *,
        linger_s: float,
        backoff: Backoff | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self.queue = queue
        self._post = post
        self._report = Reporter(queue, events)
        self._linger_s = linger_s
        self._backoff = backoff or Backoff()
        self._concurrency = max(1, concurrency)
        self._rng = random.Random()
        self._in_flight = 0
        self._sends: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        # Created in start(), on the running loop.
        self._wake: asyncio.Event | None = None
        self._flush_now: asyncio.Event | None = None
        self._settled: asyncio.Event | None = None
        self._abort: asyncio.Event | None = None
        self._slots: asyncio.Semaphore | None = None

    def start(self) -> None:
        """Start on the running loop (RuntimeError when there is none)."""
        loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._flush_now = asyncio.Event()
        self._settled = asyncio.Event()
        self._settled.set()
        self._abort = asyncio.Event()
        self._slots = asyncio.Semaphore(self._concurrency)
        self._task = loop.create_task(self._loop(), name="targetkit-notifications")

    def enqueue(self, item: PendingItem) -> bool:
        """Queue ``item``; on overflow, count, log and fire ``send_notification_error``."""
        dropped = self.queue.offer(item)
        if dropped:
            self._report.overflow(item, dropped)
            return False
        if self._wake is not None and self._settled is not None:
            self._settled.clear()
            self._wake.set()
        return True

    async def flush(self, timeout_s: float | None = None) -> bool:
        """Send what is queued now; True when everything was handled within the timeout."""
        if self._settled is None or self._wake is None or self._flush_now is None:
            return not len(self.queue)
        self._flush_now.set()
        self._wake.set()
        try:
            await asyncio.wait_for(self._settled.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def stop(self, timeout_s: float) -> bool:
        """Flush within ``timeout_s``, then stop; what is left fires
        ``send_notification_error`` (:class:`NotSentError`). True when all was handled."""
        flushed = await self.flush(timeout_s)
        if self._abort is not None:
            self._abort.set()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._finish_sends()
        left = self._abandon()
        if left:
            logger.warning(
                "close(): %d notification request(s) not sent within %.1f s "
                "(send_notification_error fired for each)",
                left,
                timeout_s,
            )
        return flushed

    async def _finish_sends(self) -> None:
        """Let sends end (an abort cuts their backoff short), then cancel the rest."""
        if not self._sends:
            return
        _done, pending = await asyncio.wait(tuple(self._sends), timeout=JOIN_TIMEOUT_S)
        for send in pending:
            send.cancel()
        if pending:
            await asyncio.wait(pending)

    def _abandon(self) -> int:
        left = 0
        while len(self.queue):
            for outgoing in self.queue.take_batch():
                left += 1
                self._report.failed(outgoing, NotSentError("the client closed before sending"))
        return left

    def _settle(self) -> None:
        if self._settled is not None and not len(self.queue) and not self._in_flight:
            self._settled.set()

    async def _next_batch(self) -> list[Outgoing]:
        assert self._wake is not None and self._flush_now is not None
        while not len(self.queue):
            self._wake.clear()
            self._settle()
            await self._wake.wait()
        if not self._flush_now.is_set():
            # Let nearby items arrive so that they share requests.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flush_now.wait(), self._linger_s)
        self._flush_now.clear()
        batch = self.queue.take_batch()
        self._in_flight += len(batch)
        return batch

    async def _loop(self) -> None:
        assert self._slots is not None
        while True:
            batch = await self._next_batch()
            sent = 0
            try:
                for outgoing in batch:
                    await self._slots.acquire()
                    self._spawn(outgoing)
                    sent += 1
            except asyncio.CancelledError:
                for outgoing in batch[sent:]:  # taken from the queue but never started
                    self._in_flight -= 1
                    self._report.failed(outgoing, NotSentError("the client closed first"))
                raise
            self._settle()

    def _spawn(self, outgoing: Outgoing) -> None:
        send = asyncio.get_running_loop().create_task(self._send_one(outgoing))
        self._sends.add(send)
        send.add_done_callback(self._sends.discard)

    async def _send_one(self, outgoing: Outgoing) -> None:
        assert self._slots is not None
        try:
            await self._send(outgoing)
        except asyncio.CancelledError:
            self._report.failed(outgoing, NotSentError("the client closed while sending"))
            raise
        finally:
            self._in_flight -= 1
            self._slots.release()
            self._settle()

    async def _send(self, outgoing: Outgoing) -> None:
        for attempt in range(1, self._backoff.attempts + 1):
            try:
                await self._post(outgoing)
            except DeliveryError as err:
                retry = attempt < self._backoff.attempts and is_transient(err)
                if retry and not await self._aborted_within(
                    self._backoff.delay_s(attempt, self._rng)
                ):
                    continue
                self._report.failed(outgoing, err)
                return
            except Exception as err:  # a bug must not kill the worker
                logger.exception("unexpected error sending notifications")
                self._report.failed(outgoing, err)
                return
            self.queue.count(sent=1)
            return

    async def _aborted_within(self, delay_s: float) -> bool:
        """Wait ``delay_s`` before a retry; True when stop() asked to give up meanwhile."""
        assert self._abort is not None
        try:
            await asyncio.wait_for(self._abort.wait(), delay_s)
        except TimeoutError:
            return False
        return True
