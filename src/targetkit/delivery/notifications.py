"""The notification queue: display notifications from on-device decisions, sent in batches.

On-device ``get_offers`` must tell Target what it displayed, but must not wait for it.
Each call hands its notifications to one bounded queue per client; a single background
worker (a daemon thread, or an asyncio task) drains it, groups the notifications of the
same visitor into one Delivery API call, and retries transient failures with backoff.

This module is the I/O-free part shared by both workers:

* **Bound.** The queue holds at most ``max_items`` pending calls' worth of notifications
  (the ``notification_queue_size`` option). When it is full the *newest* item is refused:
  :meth:`NotificationQueue.put` returns False, the drop is counted in ``dropped``, and the
  worker logs it and fires ``send_notification_error`` carrying the refused notifications
  (with their ids). Nothing is dropped silently.
* **Batches.** Up to ``batch_size`` items are taken at once. Items whose visitor (``id``,
  ``context``, ``experienceCloud``) is identical are merged into one request, since a
  Delivery request carries one visitor.
* **Telemetry** entries waiting in the :class:`TelemetryStore` ride on the first request of
  a batch. An item that carries no notification (a prefetch-only call) exists only to
  carry telemetry and is skipped when there is none left to send.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from targetkit.decisioning.engine import DisplayNotification
from targetkit.delivery.telemetry import TelemetryStore
from targetkit.errors import TargetError
from targetkit.events import EventDispatcher, EventType, SendNotificationError
from targetkit.ids import new_uuid

__all__ = [
    "NotSentError",
    "NotificationQueue",
    "Outgoing",
    "PendingItem",
    "QueueFullError",
    "Reporter",
    "is_transient_status",
]

logger = logging.getLogger(__name__)


def is_transient_status(status: int) -> bool:
    """Statuses worth retrying: timeouts, throttling and server errors."""
    return status in (408, 429) or 500 <= status <= 599


@dataclass(slots=True)
class PendingItem:
    """What one ``get_offers`` call (or ``send_notifications``) left to send."""

    visitor: Mapping[str, Any]
    session_id: str | None
    notifications: Sequence[DisplayNotification | Mapping[str, Any]]


@dataclass(slots=True)
class Outgoing:
    """One Delivery API call to make: its body, session id, and the entries it carries."""

    body: dict[str, Any]
    session_id: str | None
    telemetry: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0


def _notifications(items: Sequence[PendingItem], new_id: Callable[[], str]) -> list[dict[str, Any]]:
    return [
        n.to_dict(new_id) if isinstance(n, DisplayNotification) else dict(n)
        for item in items
        for n in item.notifications
    ]


def _visitor_key(visitor: Mapping[str, Any]) -> bytes:
    return orjson.dumps(visitor, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


class NotificationQueue:
    """A bounded, thread-safe queue of pending notifications (see the module doc)."""

    def __init__(
        self,
        telemetry: TelemetryStore,
        *,
        max_items: int = 10000,
        batch_size: int = 100,
        request_extras: Callable[[], Mapping[str, Any]] | None = None,
        new_id: Callable[[], str] = new_uuid,
    ) -> None:
        self._telemetry = telemetry
        self._new_id = new_id
        self.max_items = max_items
        self._batch_size = batch_size
        self._extras = request_extras
        self._items: deque[PendingItem] = deque()
        self._lock = threading.Lock()
        self.dropped = 0
        self.sent = 0
        self.failed = 0

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: PendingItem) -> bool:
        """Queue an item; False (and counted in ``dropped``) when the queue is full."""
        return not self.offer(item)

    def offer(self, item: PendingItem) -> int:
        """Queue an item: 0, or when the queue is full the drop's number (1 for the
        first drop), counted in ``dropped``."""
        with self._lock:
            if len(self._items) >= self.max_items:
                self.dropped += 1
                return self.dropped
            self._items.append(item)
            return 0

    def take_batch(self) -> list[Outgoing]:
        """Take up to ``batch_size`` items and turn them into Delivery requests."""
        with self._lock:
            count = min(self._batch_size, len(self._items))
            items = [self._items.popleft() for _ in range(count)]
        groups: dict[tuple[bytes, str | None], list[PendingItem]] = {}
        for item in items:
            groups.setdefault((_visitor_key(item.visitor), item.session_id), []).append(item)
        outgoing = []
        for group in groups.values():
            request = self._request_for(group)
            if request is not None:
                outgoing.append(request)
        return outgoing

    def describe(self, item: PendingItem) -> dict[str, Any]:
        """The request ``item`` would have become, for an error event about it."""
        body: dict[str, Any] = {k: v for k, v in item.visitor.items() if v is not None}
        body["notifications"] = _notifications([item], self._new_id)
        return body

    def _request_for(self, group: list[PendingItem]) -> Outgoing | None:
        notes = _notifications(group, self._new_id)
        entries = self._telemetry.drain() if self._telemetry.has_entries() else []
        if not notes and not entries:
            return None
        body: dict[str, Any] = {"requestId": self._new_id()}
        body.update({k: v for k, v in group[0].visitor.items() if v is not None})
        if self._extras is not None:
            for key, value in self._extras().items():
                body.setdefault(key, value)
        if notes:
            body["notifications"] = notes
        if entries:
            body["telemetry"] = {"entries": entries}
        return Outgoing(body, group[0].session_id, entries)

    def count(self, *, sent: int = 0, failed: int = 0) -> None:
        """Count finished requests (senders run concurrently)."""
        with self._lock:
            self.sent += sent
            self.failed += failed

    def give_back_telemetry(self, outgoing: Outgoing) -> None:
        """A request failed for good: keep its telemetry for the next one."""
        self._telemetry.restore(outgoing.telemetry)


class Reporter:
    """What both workers do when a notification cannot be queued or finally fails:
    count it, log it, and fire ``send_notification_error``.

    Overflow is logged at warning level on the first drop and then once per
    ``OVERFLOW_LOG_EVERY`` drops (each drop still fires its event), so a flood cannot
    flood the log too.
    """

    OVERFLOW_LOG_EVERY = 1000

    def __init__(self, queue: NotificationQueue, events: EventDispatcher) -> None:
        self.queue = queue
        self._events = events

    def overflow(self, item: PendingItem, dropped: int) -> None:
        """Called on the caller's thread, so cheap: the queue has counted the drop, and
        the event (with the refused notifications and their new ids) is built on the
        event runner, only when someone subscribed."""
        queue = self.queue
        if (dropped - 1) % self.OVERFLOW_LOG_EVERY == 0:
            logger.warning("%s", _queue_full(queue.max_items, dropped))

        def event() -> SendNotificationError:
            err = _queue_full(queue.max_items, dropped)
            return SendNotificationError(notification={"request": queue.describe(item)}, error=err)

        self._events.emit_lazy(EventType.SEND_NOTIFICATION_ERROR, event)

    def failed(self, outgoing: Outgoing, err: BaseException) -> None:
        self.queue.count(failed=1)
        self.queue.give_back_telemetry(outgoing)
        count = len(outgoing.body.get("notifications") or ())
        logger.warning("sending %d notification(s) failed: %s", count, err)
        self._events.emit(SendNotificationError(notification={"request": outgoing.body}, error=err))


class QueueFullError(TargetError):
    """A notification could not be queued: the queue is at its bound."""


def _queue_full(max_items: int, dropped: int) -> QueueFullError:
    return QueueFullError(f"notification queue full ({max_items} items); {dropped} dropped so far")


class NotSentError(TargetError):
    """Queued notifications were not sent before the client closed."""
