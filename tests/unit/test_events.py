"""Events: names, immutable dict-like events, the dispatcher and its runners."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest

from targetkit.errors import ConfigurationError
from targetkit.events import (
    EVENT_ALIASES,
    ArtifactDownloadFailed,
    ArtifactDownloadSucceeded,
    ClientReady,
    EventDispatcher,
    EventType,
    GeoLocationUpdated,
    LoopRunner,
    SendNotificationError,
    TargetEvent,
    ThreadRunner,
    callback_takes_event,
    event_type_of,
)

SUCCEEDED = ArtifactDownloadSucceeded("https://cdn/rules.json", {"version": "1.0.0"})


def test_event_type_values_are_the_adobe_names() -> None:
    assert [str(t) for t in EventType] == [
        "client_ready",
        "artifact_download_succeeded",
        "artifact_download_failed",
        "geo_location_updated",
        "send_notification_error",
    ]


def test_alias_resolves_and_alias_map_is_immutable() -> None:
    assert event_type_of("artifact_download_success") is EventType.ARTIFACT_DOWNLOAD_SUCCEEDED
    assert event_type_of("client_ready") is EventType.CLIENT_READY
    assert event_type_of(EventType.GEO_LOCATION_UPDATED) is EventType.GEO_LOCATION_UPDATED
    with pytest.raises(TypeError):
        EVENT_ALIASES["x"] = EventType.CLIENT_READY  # type: ignore[index]


def test_unknown_event_name_lists_valid_names_and_suggests() -> None:
    with pytest.raises(ConfigurationError) as info:
        event_type_of("client_redy")
    assert info.value.option == "events"
    message = str(info.value)
    assert "did you mean 'client_ready'" in message
    for name in [*map(str, EventType), "artifact_download_success"]:
        assert name in message


def test_events_read_as_attributes_and_keys() -> None:
    error = RuntimeError("boom")
    event = ArtifactDownloadFailed("https://cdn/rules.json", error)
    assert event.type is EventType.ARTIFACT_DOWNLOAD_FAILED
    assert event["type"] == "artifact_download_failed"
    assert event["artifact_location"] == event.artifact_location == "https://cdn/rules.json"
    assert event["error"] is error
    assert "error" in event and "type" in event and "nope" not in event
    assert event.get("nope", 7) == 7
    assert list(event.keys()) == ["type", "artifact_location", "error"]
    assert dict(event) == {
        "type": "artifact_download_failed",
        "artifact_location": "https://cdn/rules.json",
        "error": error,
    }
    with pytest.raises(KeyError):
        event["nope"]
    assert dict(ClientReady()) == {"type": "client_ready"}


def test_every_event_class_has_its_type() -> None:
    events: list[TargetEvent] = [
        ClientReady(),
        SUCCEEDED,
        ArtifactDownloadFailed("x", ValueError()),
        GeoLocationUpdated({"city": "SAN FRANCISCO"}),
        SendNotificationError({"id": "n1"}, OSError()),
    ]
    assert [e.type for e in events] == list(EventType)


def test_events_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SUCCEEDED.artifact_location = "elsewhere"  # type: ignore[misc]
    with pytest.raises(TypeError):
        SUCCEEDED.artifact_payload["version"] = "2"  # type: ignore[index]
    geo = GeoLocationUpdated({"city": "X"})
    with pytest.raises(TypeError):
        geo.geo_context["city"] = "Y"  # type: ignore[index]
    with pytest.raises(TypeError):
        SendNotificationError({"id": "n"}, OSError()).notification["id"] = "m"  # type: ignore[index]
    # 3.11's frozen+slots dataclasses raise TypeError for a name that is not a field.
    with pytest.raises((AttributeError, TypeError)):
        ClientReady().extra = 1  # type: ignore[attr-defined]


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def method(self, event: TargetEvent) -> None:
        self.calls.append(("method", event))

    def no_arg_method(self) -> None:
        self.calls.append(("no_arg_method",))

    def __call__(self, event: TargetEvent) -> None:
        self.calls.append(("call", event))


def test_arity_detection() -> None:
    recorder = _Recorder()
    assert callback_takes_event(lambda event: None) is True
    assert callback_takes_event(lambda: None) is False
    assert callback_takes_event(lambda event=None: None) is True
    assert callback_takes_event(lambda *args: None) is True
    assert callback_takes_event(recorder.method) is True
    assert callback_takes_event(recorder.no_arg_method) is False
    assert callback_takes_event(recorder) is True
    assert callback_takes_event(functools.partial(lambda a, b: None, 1)) is True
    assert callback_takes_event(functools.partial(lambda a: None, 1)) is False
    assert callback_takes_event(print) is True
    with pytest.raises(TypeError):
        callback_takes_event(lambda a, b: None)
    with pytest.raises(TypeError):
        callback_takes_event(42)  # type: ignore[arg-type]


def test_callbacks_of_every_shape_are_called_correctly() -> None:
    dispatcher = EventDispatcher()
    recorder = _Recorder()
    seen: list[Any] = []
    dispatcher.subscribe("artifact_download_succeeded", recorder.method)
    dispatcher.subscribe("artifact_download_succeeded", recorder.no_arg_method)
    dispatcher.subscribe("artifact_download_succeeded", recorder)
    dispatcher.subscribe("artifact_download_succeeded", lambda: seen.append("zero"))
    dispatcher.subscribe("artifact_download_succeeded", lambda e: seen.append(e))
    dispatcher.subscribe(
        "artifact_download_succeeded", functools.partial(lambda tag, e: seen.append((tag, e)), "p")
    )
    dispatcher.emit(SUCCEEDED)
    assert recorder.calls == [("method", SUCCEEDED), ("no_arg_method",), ("call", SUCCEEDED)]
    assert seen == ["zero", SUCCEEDED, ("p", SUCCEEDED)]


def test_unreadable_signature_gets_the_event(monkeypatch: pytest.MonkeyPatch) -> None:
    got: list[Any] = []

    def callback(event: TargetEvent) -> None:
        got.append(event)

    def no_signature(obj: object) -> None:
        raise ValueError("no signature found")

    monkeypatch.setattr("targetkit.events.inspect.signature", no_signature)
    dispatcher = EventDispatcher()
    dispatcher.subscribe("geo_location_updated", callback)
    event = GeoLocationUpdated({})
    dispatcher.emit(event)
    assert got == [event]


def test_only_subscribers_of_that_event_are_called() -> None:
    dispatcher = EventDispatcher()
    got: list[str] = []
    dispatcher.subscribe("artifact_download_failed", lambda: got.append("failed"))
    dispatcher.subscribe("artifact_download_success", lambda: got.append("succeeded"))
    dispatcher.emit(SUCCEEDED)
    assert got == ["succeeded"]


def test_exception_is_logged_and_does_not_stop_others(caplog: pytest.LogCaptureFixture) -> None:
    dispatcher = EventDispatcher()
    got: list[int] = []

    def broken() -> None:
        raise RuntimeError("callback bug")

    dispatcher.subscribe("artifact_download_succeeded", lambda: got.append(1))
    dispatcher.subscribe("artifact_download_succeeded", broken)
    dispatcher.subscribe("artifact_download_succeeded", lambda: got.append(3))
    with caplog.at_level(logging.ERROR, logger="targetkit.events"):
        dispatcher.emit(SUCCEEDED)  # must not raise
    assert got == [1, 3]
    [record] = caplog.records
    assert record.exc_info is not None and "callback bug" in str(record.exc_info[1])
    assert "artifact_download_succeeded" in record.getMessage()


def test_runner_failure_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def refusing_runner(job: Callable[[], None]) -> None:
        raise RuntimeError("loop closed")

    dispatcher = EventDispatcher(refusing_runner)
    dispatcher.subscribe("artifact_download_succeeded", lambda: None)
    with caplog.at_level(logging.ERROR, logger="targetkit.events"):
        dispatcher.emit(SUCCEEDED)
    assert "could not schedule" in caplog.text


def test_callbacks_run_through_the_injected_runner() -> None:
    jobs: list[Callable[[], None]] = []
    dispatcher = EventDispatcher(jobs.append)
    got: list[str] = []
    dispatcher.subscribe("artifact_download_succeeded", lambda: got.append("ran"))
    dispatcher.emit(SUCCEEDED)
    assert got == [] and len(jobs) == 1
    jobs[0]()
    assert got == ["ran"]


def test_no_callback_runs_while_the_dispatcher_lock_is_held() -> None:
    dispatcher = EventDispatcher()
    acquired: list[bool] = []

    def probe() -> None:
        def try_lock() -> None:
            ok = dispatcher._lock.acquire(timeout=2)
            acquired.append(ok)
            if ok:
                dispatcher._lock.release()

        other = threading.Thread(target=try_lock)
        other.start()
        other.join()

    dispatcher.subscribe("artifact_download_succeeded", probe)
    dispatcher.subscribe("client_ready", probe)
    dispatcher.emit(SUCCEEDED)
    dispatcher.mark_ready()
    dispatcher.subscribe("client_ready", probe)  # late subscriber path
    assert acquired == [True, True, True]


def test_callback_may_use_the_dispatcher_reentrantly() -> None:
    dispatcher = EventDispatcher()
    got: list[str] = []
    handles = []

    def reentrant() -> None:
        handles.append(dispatcher.subscribe("geo_location_updated", lambda: got.append("geo")))
        dispatcher.emit(GeoLocationUpdated({}))

    handles.append(dispatcher.subscribe("artifact_download_succeeded", reentrant))
    worker = threading.Thread(target=dispatcher.emit, args=(SUCCEEDED,), daemon=True)
    worker.start()
    worker.join(timeout=5)
    assert not worker.is_alive(), "dispatcher deadlocked on a re-entrant callback"
    assert got == ["geo"]


def test_ready_is_emitted_once_and_late_subscribers_called_once() -> None:
    jobs: list[Callable[[], None]] = []
    dispatcher = EventDispatcher(jobs.append)
    early: list[TargetEvent] = []
    late: list[TargetEvent] = []
    dispatcher.subscribe("client_ready", early.append)
    assert dispatcher.ready is False
    assert dispatcher.mark_ready() is True
    assert dispatcher.mark_ready() is False
    dispatcher.emit(ClientReady())  # a second ready is not a second event
    dispatcher.subscribe(EventType.CLIENT_READY, late.append)
    assert late == []  # called through the runner, not inline
    for job in jobs:
        job()
    assert early == [ClientReady()]
    assert late == [ClientReady()]
    assert dispatcher.ready is True


def test_emitting_client_ready_marks_ready() -> None:
    dispatcher = EventDispatcher()
    got: list[int] = []
    dispatcher.subscribe("client_ready", lambda: got.append(1))
    dispatcher.emit(ClientReady())
    dispatcher.emit(ClientReady())
    assert got == [1] and dispatcher.ready


def _race_ready_against_subscribers(subscribers: int) -> list[int]:
    dispatcher = EventDispatcher()
    counts = [0] * subscribers
    barrier = threading.Barrier(subscribers + 1)

    def subscriber(i: int) -> None:
        barrier.wait()
        dispatcher.subscribe("client_ready", lambda: counts.__setitem__(i, counts[i] + 1))

    threads = [threading.Thread(target=subscriber, args=(i,)) for i in range(subscribers)]
    for t in threads:
        t.start()
    barrier.wait()
    dispatcher.mark_ready()
    for t in threads:
        t.join()
    return counts


def test_ready_exactly_once_under_concurrent_subscribe() -> None:
    for _ in range(50):
        assert _race_ready_against_subscribers(8) == [1] * 8


def test_same_callback_twice_gives_two_subscriptions() -> None:
    dispatcher = EventDispatcher()
    got: list[int] = []

    def callback() -> None:
        got.append(1)

    first = dispatcher.subscribe("artifact_download_succeeded", callback)
    second = dispatcher.subscribe("artifact_download_succeeded", callback)
    assert first != second
    dispatcher.emit(SUCCEEDED)
    assert got == [1, 1]
    assert dispatcher.unsubscribe(first) is True
    dispatcher.emit(SUCCEEDED)
    assert got == [1, 1, 1]


def test_unsubscribe() -> None:
    dispatcher = EventDispatcher()
    got: list[int] = []
    handle = dispatcher.subscribe("artifact_download_success", lambda: got.append(1))
    assert handle.event_type is EventType.ARTIFACT_DOWNLOAD_SUCCEEDED
    assert dispatcher.unsubscribe(handle) is True
    assert dispatcher.unsubscribe(handle) is False
    assert EventDispatcher().unsubscribe(handle) is False
    dispatcher.emit(SUCCEEDED)
    assert got == []


def test_unsubscribe_cancels_a_queued_call() -> None:
    jobs: list[Callable[[], None]] = []
    dispatcher = EventDispatcher(jobs.append)
    got: list[int] = []
    handle = dispatcher.subscribe("artifact_download_succeeded", lambda: got.append(1))
    dispatcher.emit(SUCCEEDED)
    dispatcher.unsubscribe(handle)
    jobs[0]()
    assert got == []


def test_clear_drops_every_subscription() -> None:
    dispatcher = EventDispatcher()
    got: list[int] = []
    dispatcher.subscribe("artifact_download_succeeded", lambda: got.append(1))
    dispatcher.clear()
    dispatcher.emit(SUCCEEDED)
    assert got == []


def test_subscribe_rejects_unknown_names_and_bad_callbacks() -> None:
    dispatcher = EventDispatcher()
    with pytest.raises(ConfigurationError, match="valid names"):
        dispatcher.subscribe("artifactDownloadSucceeded", lambda: None)
    with pytest.raises(TypeError):
        dispatcher.subscribe("client_ready", lambda a, b: None)


def test_coroutine_callback_without_async_runner_runs_to_completion() -> None:
    got: list[TargetEvent] = []

    async def callback(event: TargetEvent) -> None:
        await asyncio.sleep(0)
        got.append(event)

    dispatcher = EventDispatcher()
    dispatcher.subscribe("artifact_download_succeeded", callback)
    dispatcher.emit(SUCCEEDED)
    assert got == [SUCCEEDED]


def test_coroutine_callback_exception_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def callback() -> None:
        raise RuntimeError("async bug")

    dispatcher = EventDispatcher()
    dispatcher.subscribe("artifact_download_succeeded", callback)
    with caplog.at_level(logging.ERROR, logger="targetkit.events"):
        dispatcher.emit(SUCCEEDED)
    assert "async bug" in caplog.text


def test_coroutine_callback_inside_a_running_loop_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def callback() -> None:
        pass

    async def main() -> None:
        dispatcher = EventDispatcher()  # inline runner, no async_runner: cannot asyncio.run
        dispatcher.subscribe("artifact_download_succeeded", callback)
        dispatcher.emit(SUCCEEDED)

    with caplog.at_level(logging.ERROR, logger="targetkit.events"):
        asyncio.run(main())
    assert "could not run coroutine" in caplog.text


def test_loop_runner_runs_callbacks_and_coroutines_on_the_loop() -> None:
    got: list[tuple[str, bool]] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop_thread = threading.current_thread()
        runner = LoopRunner(loop)
        dispatcher = EventDispatcher(runner, runner.spawn)

        def sync_callback() -> None:
            got.append(("sync", threading.current_thread() is loop_thread))

        async def async_callback(event: TargetEvent) -> None:
            await asyncio.sleep(0.01)
            got.append(("async", threading.current_thread() is loop_thread))

        dispatcher.subscribe("artifact_download_succeeded", sync_callback)
        dispatcher.subscribe("artifact_download_succeeded", async_callback)
        emitter = threading.Thread(target=dispatcher.emit, args=(SUCCEEDED,))
        emitter.start()
        emitter.join()
        assert got == []  # nothing runs until the loop gets control
        await asyncio.sleep(0)
        await runner.wait_idle()

    asyncio.run(main())
    assert got == [("sync", True), ("async", True)]


def test_thread_runner_runs_in_order_on_one_daemon_thread() -> None:
    runner = ThreadRunner(name="test-events")
    seen: list[tuple[int, str, bool]] = []

    def job(i: int) -> None:
        seen.append((i, threading.current_thread().name, runner.in_runner_thread()))

    for i in range(20):
        runner(functools.partial(job, i))
    assert runner.close(timeout_s=5) is True
    assert [i for i, _, _ in seen] == list(range(20))
    assert {name for _, name, _ in seen} == {"test-events"}
    assert all(inside for _, _, inside in seen)
    assert runner.in_runner_thread() is False


def test_thread_runner_close_drains_and_is_idempotent(caplog: pytest.LogCaptureFixture) -> None:
    runner = ThreadRunner()
    release = threading.Event()
    done: list[int] = []
    runner(lambda: release.wait(5))
    for i in range(5):
        runner(functools.partial(done.append, i))
    release.set()
    assert runner.close(timeout_s=5) is True
    assert done == [0, 1, 2, 3, 4]
    assert runner.close() is True
    with caplog.at_level(logging.DEBUG, logger="targetkit.events"):
        runner(lambda: done.append(99))
    assert done == [0, 1, 2, 3, 4]
    assert "closed" in caplog.text
    assert ThreadRunner().close() is True  # never started


def test_thread_runner_survives_a_failing_job(caplog: pytest.LogCaptureFixture) -> None:
    runner = ThreadRunner()
    done: list[int] = []

    def failing() -> None:
        raise RuntimeError("job bug")

    with caplog.at_level(logging.ERROR, logger="targetkit.events"):
        runner(failing)
        runner(lambda: done.append(1))
        assert runner.close(timeout_s=5)
    assert done == [1]
    assert "job bug" in caplog.text


def test_thread_runner_close_from_inside_a_job_does_not_deadlock() -> None:
    runner = ThreadRunner()
    result: list[bool] = []
    finished = threading.Event()

    def closing_job() -> None:
        result.append(runner.close(timeout_s=5))
        finished.set()

    runner(closing_job)
    assert finished.wait(5)
    assert result == [False]  # cannot have finished: it is still running this job
    assert runner.close(timeout_s=5) is True


def test_dispatcher_with_thread_runner_calls_after_emit_returns() -> None:
    runner = ThreadRunner()
    dispatcher = EventDispatcher(runner)
    gate = threading.Event()
    got: list[bool] = []
    dispatcher.subscribe("client_ready", lambda: got.append(gate.is_set()))
    runner(lambda: gate.wait(5))  # hold the runner until "create()" has returned
    dispatcher.mark_ready()
    gate.set()
    assert runner.close(timeout_s=5)
    assert got == [True]
