"""Client events and the dispatcher that delivers them to user callbacks.

Events are immutable dataclasses that also read like the plain dicts older SDKs handed
to callbacks: ``event.artifact_location`` and ``event["artifact_location"]`` are the
same value, ``event["type"]`` is the event name, and ``dict(event)`` gives a plain dict.

How a callback is *run* is not decided here but injected as a *runner*, a callable
that receives a zero-argument job:

* the sync client passes a :class:`ThreadRunner`, so callbacks run one at a time on a
  single daemon thread, never before ``create()`` returns and never on a thread that
  holds one of our locks;
* the async client passes a :class:`LoopRunner`, so callbacks run on its event loop;
* with no runner, callbacks run inline in the emitting thread (handy in tests).

A callback may be a coroutine function (or anything returning a coroutine). The
coroutine is handed to ``async_runner`` when one is given (``LoopRunner.spawn`` makes
it a task on the loop); otherwise it is run to completion with :func:`asyncio.run` on
the runner's thread. Either way its exceptions are logged, never raised.
"""

from __future__ import annotations

import inspect
import logging
import queue
import threading
from collections.abc import Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from targetkit.errors import ConfigurationError

if TYPE_CHECKING:
    # asyncio loads on first use only: ``import targetkit`` stays cheap for
    # sync applications (asyncio alone is ~20-40 ms).
    import asyncio

__all__ = [
    "EVENT_ALIASES",
    "ArtifactDownloadFailed",
    "ArtifactDownloadSucceeded",
    "AsyncRunner",
    "Callback",
    "ClientReady",
    "EventDispatcher",
    "EventType",
    "GeoLocationUpdated",
    "LoopRunner",
    "Runner",
    "SendNotificationError",
    "Subscription",
    "TargetEvent",
    "ThreadRunner",
    "callback_takes_event",
    "event_type_of",
]

logger = logging.getLogger(__name__)

Job = Callable[[], None]
Runner = Callable[[Job], object]
"""Runs a job somewhere: now, on a thread, on an event loop. Its return value is ignored."""
AsyncRunner = Callable[[Coroutine[Any, Any, Any]], object]
"""Takes ownership of a coroutine that never raises (it is already guarded)."""
Callback = Callable[..., Any]
"""An event callback: takes no argument, or the event."""


class EventType(StrEnum):
    """The names of the events a client emits (the keys of the ``events`` option)."""

    CLIENT_READY = "client_ready"
    ARTIFACT_DOWNLOAD_SUCCEEDED = "artifact_download_succeeded"
    ARTIFACT_DOWNLOAD_FAILED = "artifact_download_failed"
    GEO_LOCATION_UPDATED = "geo_location_updated"
    SEND_NOTIFICATION_ERROR = "send_notification_error"


EVENT_ALIASES: Mapping[str, EventType] = MappingProxyType(
    # Spelled this way in Adobe's documentation, so users copy it.
    {"artifact_download_success": EventType.ARTIFACT_DOWNLOAD_SUCCEEDED}
)


def _valid_names() -> list[str]:
    names = [str(t) for t in EventType]
    names += [f"{alias} (alias of {target})" for alias, target in EVENT_ALIASES.items()]
    return sorted(names)


def event_type_of(name: str | EventType) -> EventType:
    """Resolve an event name or alias; ConfigurationError("events", ...) if unknown."""
    if isinstance(name, EventType):
        return name
    if isinstance(name, str):
        if name in EVENT_ALIASES:
            return EVENT_ALIASES[name]
        try:
            return EventType(name)
        except ValueError:
            pass
    candidates = [str(t) for t in EventType] + list(EVENT_ALIASES)
    import difflib  # late: only for error messages

    close = difflib.get_close_matches(str(name), candidates, n=2)
    hint = f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""
    raise ConfigurationError(
        "events", f"unknown event {name!r}{hint}; valid names: {', '.join(_valid_names())}"
    )


class TargetEvent(Mapping[str, Any]):
    """Base of every event: read-only, with both attribute and key access.

    The keys are ``"type"`` followed by the event's fields, in declaration order.
    """

    __slots__ = ()
    __match_args__: ClassVar[tuple[str, ...]] = ()
    type: ClassVar[EventType]

    def __getitem__(self, key: str) -> Any:
        if key == "type":
            return self.type
        if key in self.__match_args__:
            return getattr(self, key)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        yield "type"
        yield from self.__match_args__

    def __len__(self) -> int:
        return 1 + len(self.__match_args__)


def _read_only(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    # A shallow read-only view: no copy of a possibly large artifact.
    if isinstance(mapping, MappingProxyType):
        return mapping
    return MappingProxyType(mapping) if isinstance(mapping, dict) else mapping


@dataclass(frozen=True, slots=True)
class ClientReady(TargetEvent):
    """The client can decide: the first artifact is loaded (or no artifact is needed)."""

    type: ClassVar[EventType] = EventType.CLIENT_READY


@dataclass(frozen=True, slots=True)
class ArtifactDownloadSucceeded(TargetEvent):
    """A rules artifact was downloaded and accepted."""

    type: ClassVar[EventType] = EventType.ARTIFACT_DOWNLOAD_SUCCEEDED
    artifact_location: str
    artifact_payload: Mapping[str, Any]

    def __post_init__(self) -> None:
        object.__setattr__(self, "artifact_payload", _read_only(self.artifact_payload))


@dataclass(frozen=True, slots=True)
class ArtifactDownloadFailed(TargetEvent):
    """A rules artifact could not be downloaded or used; the last good one keeps serving."""

    type: ClassVar[EventType] = EventType.ARTIFACT_DOWNLOAD_FAILED
    artifact_location: str
    error: BaseException


@dataclass(frozen=True, slots=True)
class GeoLocationUpdated(TargetEvent):
    """The geo context used for on-device decisions was resolved or changed."""

    type: ClassVar[EventType] = EventType.GEO_LOCATION_UPDATED
    geo_context: Mapping[str, Any]

    def __post_init__(self) -> None:
        object.__setattr__(self, "geo_context", _read_only(self.geo_context))


@dataclass(frozen=True, slots=True)
class SendNotificationError(TargetEvent):
    """A batch of on-device display/click notifications could not be delivered."""

    type: ClassVar[EventType] = EventType.SEND_NOTIFICATION_ERROR
    notification: Mapping[str, Any]
    error: BaseException

    def __post_init__(self) -> None:
        object.__setattr__(self, "notification", _read_only(self.notification))


def callback_takes_event(callback: Callback) -> bool:
    """Whether ``callback`` should be called with the event (True) or with nothing.

    Raises TypeError when it is not callable or can take neither form. When the
    signature cannot be read (some builtins), the event is passed.
    """
    if not callable(callback):
        raise TypeError(f"event callback must be callable, got {callback!r}")
    try:
        signature = inspect.signature(callback)
    except (TypeError, ValueError):
        return True
    for args, takes_event in (((None,), True), ((), False)):
        try:
            signature.bind(*args)
        except TypeError:
            continue
        return takes_event
    raise TypeError(f"event callback {callback!r} must accept zero or one positional argument")


@dataclass(frozen=True, slots=True, eq=False)
class Subscription:
    """Handle returned by :meth:`EventDispatcher.subscribe`; compares by identity."""

    event_type: EventType
    callback: Callback


@dataclass(slots=True)
class _Listener:
    callback: Callback
    takes_event: bool
    # Cleared by unsubscribe so a job already queued for it does not start.
    active: bool = True


def _run_inline(job: Job) -> None:
    job()


async def _guarded(coroutine: Coroutine[Any, Any, Any], callback: Callback) -> None:
    try:
        await coroutine
    except Exception:
        logger.exception("event callback %r raised", callback)


class EventDispatcher:
    """Delivers events to subscribed callbacks; see the module docstring for runners.

    Listeners are snapshotted under a lock and run outside it, each in its own job, so
    a callback may subscribe, unsubscribe or emit, and one failing callback (logged with
    its traceback) never stops the others nor reaches the emitter.
    """

    def __init__(
        self,
        runner: Runner | None = None,
        async_runner: AsyncRunner | None = None,
    ) -> None:
        self._runner: Runner = runner or _run_inline
        self._async_runner = async_runner
        self._lock = threading.Lock()
        self._listeners: dict[EventType, dict[Subscription, _Listener]] = {}
        self._ready = False

    @property
    def ready(self) -> bool:
        """True once :meth:`mark_ready` has run."""
        return self._ready

    def subscribe(self, name: str | EventType, callback: Callback) -> Subscription:
        """Call ``callback`` on each event ``name`` (an EventType, name or alias).

        A ``client_ready`` callback added after the client became ready is called at once
        (through the runner), exactly once. Subscribing a callback twice calls it twice.
        """
        event_type = event_type_of(name)
        listener = _Listener(callback, callback_takes_event(callback))
        handle = Subscription(event_type, callback)
        with self._lock:
            self._listeners.setdefault(event_type, {})[handle] = listener
            late_ready = event_type is EventType.CLIENT_READY and self._ready
        if late_ready:
            self._submit(listener, ClientReady())
        return handle

    def unsubscribe(self, handle: Subscription) -> bool:
        """Stop calling a subscription's callback; False if it was not subscribed here."""
        with self._lock:
            listener = self._listeners.get(handle.event_type, {}).pop(handle, None)
        if listener is None:
            return False
        listener.active = False
        return True

    def clear(self) -> None:
        """Drop every subscription (used by the client's close())."""
        with self._lock:
            dropped = [lst for group in self._listeners.values() for lst in group.values()]
            self._listeners.clear()
        for listener in dropped:
            listener.active = False

    def mark_ready(self) -> bool:
        """Emit ClientReady, only the first time; returns whether this call emitted it."""
        with self._lock:
            if self._ready:
                return False
            self._ready = True
            listeners = self._snapshot(EventType.CLIENT_READY)
        event = ClientReady()
        for listener in listeners:
            self._submit(listener, event)
        return True

    def emit(self, event: TargetEvent) -> None:
        """Deliver ``event`` to its subscribers. Never raises because of a callback."""
        if isinstance(event, ClientReady):
            # Ready is a state, not a stream: it goes out once per dispatcher.
            self.mark_ready()
            return
        with self._lock:
            listeners = self._snapshot(event.type)
        for listener in listeners:
            self._submit(listener, event)

    def emit_lazy(self, event_type: EventType, build: Callable[[], TargetEvent]) -> None:
        """Deliver the event ``build()`` makes, built on the runner, and only when
        ``event_type`` has subscribers: the emitter pays for neither (queue overflow
        emits from the caller's hot path)."""
        with self._lock:
            listeners = self._snapshot(event_type)
        if not listeners:
            return

        def deliver() -> None:
            event = build()
            for listener in listeners:
                self._invoke(listener, event)

        try:
            self._runner(deliver)
        except Exception:
            logger.exception("could not schedule event callbacks for %s", event_type)

    def _snapshot(self, event_type: EventType) -> tuple[_Listener, ...]:
        return tuple(self._listeners.get(event_type, {}).values())

    def _submit(self, listener: _Listener, event: TargetEvent) -> None:
        try:
            self._runner(lambda: self._invoke(listener, event))
        except Exception:
            logger.exception("could not schedule event callback for %s", event.type)

    def _invoke(self, listener: _Listener, event: TargetEvent) -> None:
        if not listener.active:
            return
        callback = listener.callback
        try:
            result = callback(event) if listener.takes_event else callback()
        except Exception:
            logger.exception("event callback %r for %s raised", callback, event.type)
            return
        if inspect.iscoroutine(result):
            self._run_coroutine(result, callback)

    def _run_coroutine(self, coroutine: Coroutine[Any, Any, Any], callback: Callback) -> None:
        guarded = _guarded(coroutine, callback)
        try:
            if self._async_runner is not None:
                self._async_runner(guarded)
            else:
                import asyncio

                asyncio.run(guarded)
        except Exception:
            # e.g. asyncio.run inside a running loop: close both to avoid "never awaited".
            guarded.close()
            coroutine.close()
            logger.exception("could not run coroutine event callback %r", callback)


class ThreadRunner:
    """Runs jobs in order on one daemon thread, started on first use.

    ``close()`` lets queued jobs finish, then stops the thread; jobs submitted after
    close are dropped (logged at debug level) so a late event never raises.
    """

    def __init__(self, name: str = "targetkit-events") -> None:
        self._name = name
        self._queue: queue.SimpleQueue[Callable[[], object] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def __call__(self, job: Callable[[], object]) -> None:
        with self._lock:
            if self._closed:
                logger.debug("event runner %s is closed; job dropped", self._name)
                return
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._queue.put(job)

    def in_runner_thread(self) -> bool:
        """True when called from the runner's own thread (i.e. from inside a callback)."""
        return self._thread is not None and threading.current_thread() is self._thread

    def close(self, timeout_s: float | None = 5.0) -> bool:
        """Drain queued jobs and stop; True when the thread has finished. Idempotent."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._queue.put(None)
            thread = self._thread
        if thread is None:
            return True
        if thread is not threading.current_thread():
            # From a callback we cannot wait for ourselves; the sentinel stops us later.
            thread.join(timeout_s)
        return not thread.is_alive()

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            try:
                job()
            except Exception:
                logger.exception("event runner job raised")


@dataclass(slots=True)
class LoopRunner:
    """Runs jobs on an asyncio event loop, from any thread; coroutines become tasks.

    Pass ``runner=loop_runner, async_runner=loop_runner.spawn`` to the dispatcher.
    """

    loop: asyncio.AbstractEventLoop
    # Tasks are kept referenced until done; the loop holds only weak references.
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def __call__(self, job: Job) -> None:
        self.loop.call_soon_threadsafe(job)

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        """Start ``coroutine`` as a task; must be called on the loop's thread."""
        task = self.loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait_idle(self) -> None:
        """Wait for the coroutine callbacks started so far (used by the client's close)."""
        import asyncio

        while self._tasks:
            await asyncio.gather(*tuple(self._tasks), return_exceptions=True)
