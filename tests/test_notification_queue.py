"""The notification queue and its workers (sync threads, asyncio tasks) against a real
Delivery API stand-in: nothing vanishes, under failures, overflow or close."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from targetkit.delivery.async_worker import AsyncNotificationWorker
from targetkit.delivery.notifications import (
    NotificationQueue,
    NotSentError,
    Outgoing,
    PendingItem,
    QueueFullError,
)
from targetkit.delivery.request import notification_call
from targetkit.delivery.retry import Backoff
from targetkit.delivery.telemetry import TelemetryStore
from targetkit.delivery.worker import NotificationWorker
from targetkit.events import EventDispatcher, SendNotificationError
from targetkit.options import parse_options
from targetkit.transport import AsyncTransport, SyncTransport
from tests.servers import DeliveryServer, Fault

FAST = Backoff(attempts=3, base_s=0.002, max_s=0.01)


def items(count: int, *, same_visitor: bool = False) -> list[PendingItem]:
    def visitor(i: int) -> dict[str, Any]:
        return {"id": {"tntId": "same" if same_visitor else f"v{i}"}, "context": {"channel": "web"}}

    return [
        PendingItem(
            visitor(i),
            "session" if same_visitor else f"s{i}",
            [{"id": f"n{i}", "type": "display", "timestamp": 1, "mbox": {"name": "m"}}],
        )
        for i in range(count)
    ]


class Harness:
    """A queue, a dispatcher that records error events, and the real HTTP post."""

    def __init__(self, server: DeliveryServer, *, max_items: int = 5000, timeout_ms: int = 2000):
        self.options = parse_options(
            {
                "client": "targetkit",
                "organization_id": "org@AdobeOrg",
                "server_domain": server.url,
                "timeout": timeout_ms,
            }
        )
        self.queue = NotificationQueue(TelemetryStore(False), max_items=max_items, batch_size=100)
        self.events = EventDispatcher()  # inline: events are recorded as they fire
        self.errors: list[SendNotificationError] = []
        self._lock = threading.Lock()
        self.events.subscribe("send_notification_error", self._record)

    def _record(self, event: SendNotificationError) -> None:
        with self._lock:
            self.errors.append(event)

    def error_ids(self) -> list[str]:
        with self._lock:
            return [
                n["id"] for e in self.errors for n in e.notification["request"]["notifications"]
            ]

    def sync_post(self, transport: SyncTransport) -> Callable[[Outgoing], Any]:
        def post(outgoing: Outgoing) -> Any:
            call = notification_call(self.options, outgoing, "test")
            return transport.post_delivery(
                call.url, call.params, call.headers, call.body, call.timeout_s
            )

        return post

    def async_post(self, transport: AsyncTransport) -> Callable[[Outgoing], Any]:
        async def post(outgoing: Outgoing) -> Any:
            call = notification_call(self.options, outgoing, "test")
            return await transport.post_delivery(
                call.url, call.params, call.headers, call.body, call.timeout_s
            )

        return post


def delivered_ids(server: DeliveryServer) -> list[str]:
    return [
        n["id"]
        for r in server.delivery_requests()
        if r.fault is None
        for n in r.json.get("notifications", [])
    ]


def assert_none_vanished(server: DeliveryServer, harness: Harness, count: int) -> None:
    delivered, failed = delivered_ids(server), harness.error_ids()
    assert sorted(delivered + failed) == sorted(f"n{i}" for i in range(count))
    assert delivered and failed  # the seeded 30% error rate exercises both outcomes
    assert server.schema_errors == []


def test_sync_1000_notifications_under_a_flaky_server(
    validating_delivery_server: DeliveryServer,
) -> None:
    server = validating_delivery_server
    server.set_error_rate(0.3, Fault.error(503), seed=4)
    harness = Harness(server)
    transport = SyncTransport()
    worker = NotificationWorker(
        harness.queue, harness.sync_post(transport), harness.events, linger_s=0.001, backoff=FAST
    )
    worker.start()
    for item in items(1000):
        assert worker.enqueue(item)
    assert worker.stop(30)
    transport.close()
    assert_none_vanished(server, harness, 1000)
    assert harness.queue.sent + harness.queue.failed == 1000
    assert harness.queue.failed == len(harness.errors)


def test_async_1000_notifications_under_a_flaky_server(
    validating_delivery_server: DeliveryServer,
) -> None:
    server = validating_delivery_server
    server.set_error_rate(0.3, Fault.error(503), seed=4)
    harness = Harness(server)

    async def main() -> None:
        transport = AsyncTransport()
        worker = AsyncNotificationWorker(
            harness.queue,
            harness.async_post(transport),
            harness.events,
            linger_s=0.001,
            backoff=FAST,
        )
        worker.start()
        for item in items(1000):
            assert worker.enqueue(item)
        assert await worker.stop(30)
        await transport.close()

    asyncio.run(main())
    assert_none_vanished(server, harness, 1000)
    assert harness.queue.sent + harness.queue.failed == 1000


def test_one_visitor_shares_requests(delivery_server: DeliveryServer) -> None:
    harness = Harness(delivery_server)
    transport = SyncTransport()
    worker = NotificationWorker(
        harness.queue, harness.sync_post(transport), harness.events, linger_s=0.05
    )
    for item in items(250, same_visitor=True):
        worker.enqueue(item)
    worker.start()
    assert worker.stop(10)
    transport.close()
    assert len(delivered_ids(delivery_server)) == 250
    assert delivery_server.count() == 3  # batches of 100


def test_overflow_is_counted_logged_and_reported(
    delivery_server: DeliveryServer, caplog: pytest.LogCaptureFixture
) -> None:
    harness = Harness(delivery_server, max_items=5)
    worker = NotificationWorker(harness.queue, lambda o: None, harness.events, linger_s=0.01)
    with caplog.at_level(logging.WARNING, logger="targetkit"):
        accepted = [worker.enqueue(item) for item in items(8)]  # not started: nothing drains
    assert accepted == [True] * 5 + [False] * 3
    assert harness.queue.dropped == 3
    assert harness.error_ids() == ["n5", "n6", "n7"]
    assert all(isinstance(e.error, QueueFullError) for e in harness.errors)
    assert [r.levelno for r in caplog.records] == [logging.WARNING]  # once, not per drop


def test_overflow_builds_its_event_off_the_callers_thread_and_only_when_subscribed() -> None:
    from targetkit.events import ThreadRunner

    described_on: list[str] = []

    class RecordingQueue(NotificationQueue):
        def describe(self, item: PendingItem) -> dict[str, Any]:
            described_on.append(threading.current_thread().name)
            return super().describe(item)

    queue = RecordingQueue(TelemetryStore(False), max_items=1, batch_size=1)
    runner = ThreadRunner("test-events")
    events = EventDispatcher(runner)
    worker = NotificationWorker(queue, lambda o: None, events, linger_s=0.01)
    assert [worker.enqueue(item) for item in items(3)] == [True, False, False]
    assert queue.dropped == 2
    assert described_on == []  # nobody listens: nothing was built
    got: list[SendNotificationError] = []
    events.subscribe("send_notification_error", got.append)
    assert worker.enqueue(items(4)[3]) is False
    assert runner.close(5)
    assert [e.notification["request"]["notifications"][0]["id"] for e in got] == ["n3"]
    assert "3 dropped so far" in str(got[0].error)
    assert described_on == ["test-events"]


def test_close_is_bounded_and_accounts_for_everything(delivery_server: DeliveryServer) -> None:
    delivery_server.set_fault(Fault.hung())
    harness = Harness(delivery_server, timeout_ms=2000)
    transport = SyncTransport()
    worker = NotificationWorker(
        harness.queue, harness.sync_post(transport), harness.events, linger_s=0.001
    )
    for item in items(10):
        worker.enqueue(item)
    worker.start()  # one batch of ten requests
    delivery_server.wait_for_requests(4)  # four senders are stuck on the hung edge
    started = time.monotonic()
    assert worker.stop(0.2) is False
    assert time.monotonic() - started < 1.5  # well before the 2000 ms request timeout
    assert sorted(harness.error_ids()) == [f"n{i}" for i in range(4, 10)]
    assert all(isinstance(e.error, NotSentError) for e in harness.errors)
    deadline = time.monotonic() + 5
    while len(harness.errors) < 10 and time.monotonic() < deadline:
        time.sleep(0.05)  # the stuck requests time out and report too
    assert sorted(harness.error_ids()) == sorted(f"n{i}" for i in range(10))
    transport.close()


def test_async_close_is_bounded_and_accounts_for_everything(
    delivery_server: DeliveryServer,
) -> None:
    delivery_server.set_fault(Fault.hung())
    harness = Harness(delivery_server, timeout_ms=5000)

    async def main() -> None:
        transport = AsyncTransport()
        worker = AsyncNotificationWorker(
            harness.queue, harness.async_post(transport), harness.events, linger_s=0.001
        )
        worker.start()
        for item in items(10):
            worker.enqueue(item)
        await asyncio.to_thread(delivery_server.wait_for_requests, 4)
        started = time.monotonic()
        assert await worker.stop(0.2) is False
        assert time.monotonic() - started < 2  # the hung sends are cancelled
        await transport.close()

    asyncio.run(main())
    assert sorted(harness.error_ids()) == sorted(f"n{i}" for i in range(10))
    assert all(isinstance(e.error, NotSentError) for e in harness.errors)


def test_client_close_cuts_an_in_flight_send_into_a_not_sent_event(
    delivery_server: DeliveryServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A send still in flight at close()'s deadline is cut (its socket shut down) and
    ends as send_notification_error with NotSentError: no traceback, no waiting for
    the 3000 ms request timeout, and the subscriber hears of it."""
    from pathlib import Path

    import targetkit

    artifact = Path(__file__).parent / "conformance" / "artifacts" / "TEST_ARTIFACT_AB_SIMPLE.json"
    delivery_server.set_fault(Fault.hung())
    errors: list[BaseException] = []
    client = targetkit.create(
        {
            "client": "someClientId",
            "organization_id": "someOrgId",
            "decisioning_method": "on-device",
            "artifact_payload": artifact.read_bytes(),
            "polling_interval": 0,
            "telemetry_enabled": False,
            "server_domain": delivery_server.url,
            "secure": False,
            "timeout": 3000,
            "events": {"send_notification_error": lambda e: errors.append(e.error)},
        }
    )
    client.get_offers({"request": {"execute": {"mboxes": [{"name": "mbox-magician"}]}}})
    delivery_server.wait_for_requests(1)  # the notification is in flight, and hangs
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="targetkit"):
        client.close(0.2)
        elapsed = time.monotonic() - started
        deadline = time.monotonic() + 2
        while not errors and time.monotonic() < deadline:
            time.sleep(0.01)
    assert elapsed < 1.0
    assert len(errors) == 1 and isinstance(errors[0], NotSentError)
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
