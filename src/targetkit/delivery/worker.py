"""The sync client's notification worker: a few daemon threads draining the queue.

See :mod:`targetkit.delivery.notifications` for the queue's bound, batching and
telemetry rules. A sender lingers ``notification_flush_interval_ms`` after the first
item arrives so that nearby items share requests, sends each request with retries and
backoff on transient failures, and fires ``send_notification_error`` for a request that
finally fails. A Delivery request carries one visitor, so a batch of many visitors is
many requests: ``concurrency`` senders (threads, not one per notification) share the
queue so one slow edge answer does not hold up the rest.

:meth:`NotificationWorker.flush` sends at once and waits for the queue to drain;
:meth:`NotificationWorker.stop` flushes within its timeout, then stops retrying and
fires ``send_notification_error`` (:class:`NotSentError`) for whatever is left, so no
notification vanishes without a trace.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from targetkit.delivery.notifications import (
    NotificationQueue,
    NotSentError,
    Outgoing,
    PendingItem,
    QueueFullError,
    Reporter,
)
from targetkit.delivery.retry import Backoff, is_transient
from targetkit.errors import DeliveryError
from targetkit.events import EventDispatcher

__all__ = ["DEFAULT_CONCURRENCY", "NotificationWorker", "QueueFullError"]

logger = logging.getLogger(__name__)

#: Requests in flight at once per client.
DEFAULT_CONCURRENCY = 4
#: How long stop() waits, in all, for the sender threads to finish their request (s).
JOIN_TIMEOUT_S = 0.5


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
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self.queue = queue
        self._post = post
        self._report = Reporter(queue, events)
        self._linger_s = linger_s
        self._backoff = backoff or Backoff()
        self._concurrency = max(1, concurrency)
        self._cond = threading.Condition()
        self._in_flight = 0  # requests taken from the queue and not finished
        self._ready: deque[Outgoing] = deque()  # taken, not yet picked by a sender
        self._flush_requested = False
        self._stopping = False
        self._abort = threading.Event()  # set when close() ran out of time: stop retrying
        self._threads: list[threading.Thread] = []
        self._started = False
        self._rng = random.Random()

    def start(self) -> None:
        """Allow sending. The sender threads start with the first queued item: starting
        them costs ~1 ms that a client's first decision need not wait for."""
        with self._cond:
            self._started = True
            if len(self.queue) and not self._threads:
                self._start_senders()

    def _start_senders(self) -> None:
        """Start the sender threads (with ``_cond`` held)."""
        for n in range(self._concurrency):
            thread = threading.Thread(
                target=self._loop, name=f"targetkit-notifications-{n}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def enqueue(self, item: PendingItem) -> bool:
        """Queue ``item``; on overflow, count, log and fire ``send_notification_error``."""
        dropped = self.queue.offer(item)
        if dropped:
            self._report.overflow(item, dropped)
            return False
        with self._cond:
            if not self._threads and self._started and not self._stopping:
                self._start_senders()
            self._cond.notify()
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
        """Flush within ``timeout_s``, then stop; True when everything was sent or failed
        with its event. Requests not started by then fire ``send_notification_error``
        (:class:`NotSentError`) at once; requests still in flight may finish (or, if
        their connection is closed under them, fail with NotSentError) afterwards:
        :meth:`join` waits for them."""
        deadline = time.monotonic() + timeout_s
        flushed = self.flush(timeout_s)
        self._abort.set()
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self.join(max(0.0, deadline - time.monotonic()))
        left = self._abandon()
        if left:
            logger.warning(
                "close(): %d notification request(s) not sent within %.1f s "
                "(send_notification_error fired for each)",
                left,
                timeout_s,
            )
        return flushed

    def join(self, timeout_s: float = JOIN_TIMEOUT_S) -> bool:
        """Wait up to ``timeout_s`` for the sender threads to end; True when they have."""
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads if t is not threading.current_thread())

    def _abandon(self) -> int:
        """Fire the error event for every request not started; returns their count."""
        with self._cond:
            left = list(self._ready)
            self._ready.clear()
            self._in_flight -= len(left)
        while len(self.queue):
            left += self.queue.take_batch()
        for outgoing in left:
            self._report.failed(outgoing, NotSentError("the client closed before sending"))
        return len(left)

    def _next_outgoing(self) -> Outgoing | None:
        """The next request to send: from the taken batch, else from a new batch."""
        with self._cond:
            while True:
                if self._stopping:
                    return None  # what is left in _ready is abandoned with its event
                if self._ready:
                    return self._ready.popleft()
                if not len(self.queue):
                    self._cond.wait()
                    continue
                if not self._flush_requested:
                    # Let nearby items arrive so that they share requests.
                    self._cond.wait(self._linger_s)
                    if self._ready or self._stopping:
                        continue
                self._flush_requested = False
                batch = self.queue.take_batch()
                self._in_flight += len(batch)
                self._ready.extend(batch)
                self._cond.notify_all()  # idle senders share the batch's requests

    def _loop(self) -> None:
        while (outgoing := self._next_outgoing()) is not None:
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
            except Exception as err:
                if self._abort.is_set():
                    # close() ran out of time while this was in flight (its connection
                    # may have been closed under it): not sent, and said so.
                    not_sent = NotSentError(f"the client closed while sending: {err}")
                    not_sent.__cause__ = err
                    self._report.failed(outgoing, not_sent)
                    return
                if isinstance(err, DeliveryError):
                    retry = attempt < self._backoff.attempts and is_transient(err)
                    if retry and not self._abort.wait(self._backoff.delay_s(attempt, self._rng)):
                        continue
                else:  # a bug must not kill the sender thread
                    logger.exception("unexpected error sending notifications")
                self._report.failed(outgoing, err)
                return
            self.queue.count(sent=1)
            return
