"""The sync client's notification worker: one daemon thread draining the queue.

See :mod:`targetkit.delivery.notifications` for the queue's bound, batching and
telemetry rules. The worker lingers ``notification_flush_interval_ms`` after the first
item arrives so that nearby items share requests, sends each request with retries on
transient failures, and fires ``send_notification_error`` for a request that finally
fails. :meth:`NotificationWorker.flush` sends at once and waits for the queue to drain.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from targetkit.delivery.notifications import NotificationQueue, Outgoing, PendingItem
from targetkit.delivery.retry import Backoff, is_transient
from targetkit.errors import DeliveryError, TargetError
from targetkit.events import EventDispatcher, SendNotificationError

__all__ = ["NotificationWorker", "QueueFullError"]

logger = logging.getLogger(__name__)


class QueueFullError(TargetError):
    """A notification could not be queued: the queue is at its bound."""


class NotificationWorker:
    """Sends queued notifications for one sync client."""

    def __init__(
        self,
        queue: NotificationQueue,
        post: Callable[[Outgoing], Any],
        events: EventDispatcher,
        *,
        linger_s: float,
        backoff: Backoff | None = None,
    ) -> None:
        self.queue = queue
        self._post = post
        self._events = events
        self._linger_s = linger_s
        self._backoff = backoff or Backoff()
        self._cond = threading.Condition()
        self._in_flight = 0
        self._flush_requested = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._rng = random.Random()

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._loop, name="targetkit-notifications", daemon=True
        )
        self._thread.start()

    def enqueue(self, item: PendingItem) -> bool:
        """Queue ``item``; on overflow, log and fire ``send_notification_error``."""
        if not self.queue.put(item):
            err = QueueFullError(
                f"notification queue full ({self.queue.max_items} items); "
                f"{self.queue.dropped} dropped so far"
            )
            logger.warning("%s", err)
            self._events.emit(
                SendNotificationError(notification={"request": dict(item.visitor)}, error=err)
            )
            return False
        with self._cond:
            self._cond.notify_all()
        return True

    def flush(self, timeout_s: float | None = None) -> bool:
        """Send what is queued now; True when everything was handled within the timeout."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._cond:
            self._flush_requested = True
            self._cond.notify_all()
            while len(self.queue) or self._in_flight:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(0.05 if remaining is None else min(remaining, 0.05))
        return True

    def stop(self, timeout_s: float) -> bool:
        """Flush within ``timeout_s`` then stop the thread; True when all was sent."""
        flushed = self.flush(timeout_s)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(0.5)
        if not flushed:
            logger.warning(
                "close(): %d notification item(s) still queued after %.1f s were not sent",
                len(self.queue),
                timeout_s,
            )
        return flushed

    def _next_batch(self) -> list[Outgoing] | None:
        with self._cond:
            while not len(self.queue) and not self._stopping:
                self._cond.wait()
            if self._stopping:
                return None
            if not self._flush_requested:
                # Let nearby items arrive so that they share requests.
                self._cond.wait(self._linger_s)
            self._flush_requested = False
            batch = self.queue.take_batch()
            self._in_flight += len(batch)
            return batch

    def _loop(self) -> None:
        while (batch := self._next_batch()) is not None:
            for outgoing in batch:
                try:
                    self._send(outgoing)
                finally:
                    with self._cond:
                        self._in_flight -= 1
                        self._cond.notify_all()

    def _send(self, outgoing: Outgoing) -> None:
        for attempt in range(1, self._backoff.attempts + 1):
            try:
                self._post(outgoing)
                self.queue.sent += 1
                return
            except DeliveryError as err:
                if attempt < self._backoff.attempts and is_transient(err):
                    time.sleep(self._backoff.delay_s(attempt, self._rng))
                    continue
                self._fail(outgoing, err)
                return
            except Exception as err:  # a bug must not kill the worker thread
                logger.exception("unexpected error sending notifications")
                self._fail(outgoing, err)
                return

    def _fail(self, outgoing: Outgoing, err: BaseException) -> None:
        self.queue.failed += 1
        self.queue.give_back_telemetry(outgoing)
        logger.warning("sending notifications failed: %s", err)
        self._events.emit(SendNotificationError(notification={"request": outgoing.body}, error=err))
