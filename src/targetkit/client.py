"""The synchronous client: :class:`TargetClient`.

A thin layer over :class:`~targetkit.core.ClientCore`: it owns one pooled httpx client,
one daemon thread that polls the artifact, one daemon thread that sends notifications,
and one daemon thread that runs event callbacks. None of them keeps the process alive.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from targetkit.artifact.poller import ArtifactPoller
from targetkit.attributes import Attributes
from targetkit.base import ClientBase
from targetkit.core import ClientCore, LoadedArtifact, Prepared
from targetkit.delivery.notifications import Outgoing
from targetkit.delivery.request import RemoteCall, notification_call
from targetkit.delivery.worker import JOIN_TIMEOUT_S, NotificationWorker
from targetkit.errors import (
    DeliveryError,
    TargetError,
)
from targetkit.events import (
    EventDispatcher,
    GeoLocationUpdated,
    ThreadRunner,
)
from targetkit.logs import ForwardingHandler
from targetkit.options import DecisioningMethod, Options
from targetkit.requests import validate_get_offers
from targetkit.transport import SyncTransport

__all__ = ["TargetClient", "create"]

logger = logging.getLogger(__name__)

#: How long close() waits for pending notifications by default (s).
CLOSE_TIMEOUT_S = 5.0

#: At interpreter exit, how long an open client may spend sending what it queued (s).
EXIT_FLUSH_TIMEOUT_S = 2.0

#: Event callbacks start this long after create() returns (s), so that the caller's
#: ``client = targetkit.create(...)`` assignment has happened when a callback reads it.
CREATE_GRACE_S = 0.02


class _HeldRunner:
    """Queues event jobs until :meth:`release`, then runs them on a ThreadRunner.

    ``create()`` releases it as it returns: the runner first waits
    :data:`CREATE_GRACE_S`, then runs the held jobs, so no callback runs while the caller
    is still waiting for its client, nor before the returned client is assigned.
    """

    def __init__(self, inner: ThreadRunner) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self._held: list[Callable[[], object]] | None = []

    def retarget(self, inner: ThreadRunner) -> None:
        """Run later jobs on ``inner`` (a forked child replaces the dead runner)."""
        with self._lock:
            self._inner = inner

    def __call__(self, job: Callable[[], object]) -> None:
        with self._lock:
            if self._held is not None:
                self._held.append(job)
                return
        self._inner(job)

    def release(self) -> None:
        with self._lock:
            if self._held is None:
                return
            held, self._held = self._held, None
        self._inner(functools.partial(time.sleep, CREATE_GRACE_S))
        for job in held:
            self._inner(job)


class TargetClient(ClientBase):
    """Adobe Target client: server-side, on-device or hybrid decisioning.

    Create it with :meth:`create` (or :func:`targetkit.create`); use it as a context
    manager or call :meth:`close` when done.
    """

    _ready: threading.Event
    _wake: threading.Event
    _worker: NotificationWorker

    def __init__(self, options: Options, *, _internal: bool = False) -> None:
        if not _internal:
            raise TypeError("use TargetClient.create(options) to make a client")
        self._options = options
        self._core = ClientCore(options)
        self._transport = SyncTransport()
        self._runner = ThreadRunner()
        self._held = _HeldRunner(self._runner)
        self._events = EventDispatcher(self._held)
        self._subscribe_options()
        self._ready = threading.Event()
        # Set when ready or closed: wakes get_offers / wait_until_ready callers.
        self._wake = threading.Event()
        # _closing: close() has started (idempotence, waiters give up); _closed: calls
        # are refused. Between the two, queued event callbacks still use the client.
        self._closing = False
        self._closed = False
        self._close_lock = threading.Lock()
        self._poller: ArtifactPoller | None = None
        self._log_handler: ForwardingHandler | None = None  # set by create()
        self._worker = self._new_worker()
        # Weak references: these hooks must not keep a closed or dropped client alive.
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(
                after_in_child=functools.partial(_restart_in_child, weakref.ref(self))
            )
        atexit.register(_close_at_exit, weakref.ref(self))

    def _new_worker(self) -> NotificationWorker:
        options = self._options
        return NotificationWorker(
            self._new_queue(),
            self._post,
            self._events,
            linger_s=options.notification_flush_interval_ms / 1000,
        )

    # -- creation -------------------------------------------------------------------

    @classmethod
    def create(cls, options: Mapping[str, Any] | None = None) -> TargetClient:
        """Validate ``options`` and start a client. Never blocks on the network.

        Raises :class:`ConfigurationError` naming the first invalid option.
        """
        return cls._create(options, cls._build)

    @classmethod
    def _build(cls, options: Options) -> TargetClient:
        return cls(options, _internal=True)

    def _start(self) -> None:
        try:
            super()._start()
        finally:
            self._held.release()

    def _new_poller(self) -> ArtifactPoller:
        return ArtifactPoller(
            self._core,
            self._transport,
            self._events,
            self._core.artifact_location,
            self._install,
        )

    # -- readiness and events -------------------------------------------------------

    def wait_until_ready(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds (None: without bound); True when ready.

        Returns False at once when the client is (or gets) closed before it is ready.
        """
        self._wake.wait(timeout)
        return self._ready.is_set()

    # -- artifact polling -----------------------------------------------------------

    def refresh_artifact(self) -> bool:
        """Download the artifact now, on this thread; True when a new artifact was installed.

        Same events as a scheduled poll (none for a 304). This is how tests and operators
        refresh faster than the 300000 ms ``polling_interval`` floor.
        """
        self._check_open()
        if self._poller is None:
            return False
        return self._poller.refresh()

    # -- get_offers -----------------------------------------------------------------

    def get_offers(self, options: Mapping[str, Any]) -> Any:
        """Decide offers for a Delivery API request; see the README for the envelope.

        With ``callback`` / ``err_callback`` in ``options`` (the reference's style), the
        call runs in the background and returns at once.
        """
        callback = options.get("callback") if isinstance(options, Mapping) else None
        err_callback = options.get("err_callback") if isinstance(options, Mapping) else None
        if callback is None and err_callback is None:
            return self._get_offers(options)
        validate_get_offers(options)  # fail in the caller, not in the background
        rest = {k: v for k, v in options.items() if k not in ("callback", "err_callback")}
        self._spawn_call(lambda: self._get_offers(rest), callback, err_callback)
        return None

    def _spawn_call(self, call: Callable[[], Any], callback: Any, err_callback: Any) -> None:
        def run() -> None:
            try:
                result = call()
            except Exception as err:
                if callable(err_callback):
                    err_callback(err)
                else:
                    logger.exception("get_offers failed")
                return
            if callable(callback):
                callback(result)

        threading.Thread(target=run, name="targetkit-call", daemon=True).start()

    def _get_offers(self, options: Mapping[str, Any]) -> dict[str, Any]:
        self._check_open()
        return self._deliver(self._core.prepare(options))

    def _deliver(self, prepared: Prepared) -> dict[str, Any]:
        """Serve a prepared call as the core plans it: on-device, remote, or both."""
        core = self._core
        loaded = None
        if prepared.method is DecisioningMethod.ON_DEVICE:
            loaded = self._await_artifact(prepared)
        plan = core.plan(prepared, loaded)
        if plan.local is not None and plan.local.geo_ip is not None:
            core.apply_geo(plan.local, self._lookup_geo(plan.local.geo_ip))
        local = core.decide_planned(plan)
        call = core.remote_call(prepared, plan)
        response = self._send(call) if call is not None else None
        envelope, item = core.finish(prepared, plan, local, call, response)
        if item is not None:
            self._worker.enqueue(item)
        return envelope

    def _send(self, call: RemoteCall) -> Any:
        try:
            return self._transport.post_delivery(
                call.url, call.params, call.headers, call.body, call.timeout_s
            )
        except DeliveryError:
            self._core.call_failed(call)
            raise

    def _await_artifact(self, prepared: Prepared) -> LoadedArtifact:
        loaded = self._core.artifact
        if loaded is not None:
            return loaded
        wait_ms = self._options.maximum_wait_ready_ms
        self._wake.wait(None if wait_ms is None else wait_ms / 1000)
        return self._artifact_after_wait()

    def _lookup_geo(self, ip: str) -> dict[str, Any] | None:
        try:
            geo = self._transport.lookup_geo(
                self._core.geo_url, ip, self._options.timeout_ms / 1000
            )
        except TargetError as err:
            logger.warning("geo lookup for %r failed, deciding without geo: %s", ip, err)
            return None
        self._events.emit(GeoLocationUpdated(geo_context=geo))
        return geo

    # -- notifications --------------------------------------------------------------

    def send_notifications(self, options: Mapping[str, Any]) -> Any:
        """Send display/click notifications to the Delivery API now, in any mode.

        ``options`` are get_offers options whose request carries ``notifications``;
        returns the same envelope as a server-side get_offers. ``callback`` /
        ``err_callback`` work as for :meth:`get_offers`.
        """
        self._check_open()
        prepared = self._core.prepare_notifications(options)
        callback = options.get("callback")
        err_callback = options.get("err_callback")
        if callback is None and err_callback is None:
            return self._deliver(prepared)
        self._spawn_call(lambda: self._deliver(prepared), callback, err_callback)
        return None

    def flush(self, timeout: float | None = None) -> bool:
        """Send queued notifications now; True when the queue drained within ``timeout`` s."""
        return self._worker.flush(timeout)

    def _post(self, outgoing: Outgoing) -> Any:
        call = notification_call(self._options, outgoing, _sdk_version())
        return self._transport.post_delivery(
            call.url, call.params, call.headers, call.body, call.timeout_s
        )

    # -- attributes -----------------------------------------------------------------

    def get_attributes(
        self, mbox_names: list[str], options: Mapping[str, Any] | None = None
    ) -> Attributes:
        """Feature-flag style access to the json offers of ``mbox_names``."""
        from targetkit.attributes import attributes_request

        request_options = attributes_request(mbox_names, options)
        return Attributes(self.get_offers(request_options))

    # -- lifecycle ------------------------------------------------------------------

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Stop polling, let queued event callbacks run, flush notifications, free resources.

        Everything together is bounded by ``timeout`` seconds. Idempotent. Callbacks that
        were already queued still run with a usable client; after that, calls raise
        :class:`ClientClosedError`.
        """
        with self._close_lock:
            if self._closing:
                return
            self._closing = True
        self._wake.set()
        deadline = time.monotonic() + timeout
        if self._poller is not None:
            self._poller.stop(0.5)
        self._drain_events(max(0.0, deadline - time.monotonic()))
        self._closed = True
        self._worker.stop(max(0.0, deadline - time.monotonic()))
        # Sends still in flight had until the deadline; now their connections close
        # under them and each ends as send_notification_error (NotSentError), which the
        # event runner still delivers.
        self._transport.close(max(0.0, deadline - time.monotonic()))
        self._worker.join(JOIN_TIMEOUT_S)
        self._runner.close(max(0.0, deadline - time.monotonic()))
        self._detach_logger()

    def _drain_events(self, timeout_s: float) -> None:
        """Wait until the callbacks queued so far have run (not from a callback itself)."""
        if self._runner.in_runner_thread():
            return
        drained = threading.Event()
        self._held(drained.set)
        drained.wait(timeout_s)

    def _restart_after_fork(self) -> None:
        """In a forked child: new threads, connections and queue; the parent's are not ours.

        Notifications still queued belong to the parent (it sends them); sockets of the
        parent's pool must not be shared, so the child opens its own.
        """
        if self._closing:
            return
        self._close_lock = threading.Lock()
        self._parent_transport = self._transport  # never closed here: the parent uses it
        self._transport = SyncTransport()
        self._core.after_fork()
        self._runner = ThreadRunner()
        self._held.retarget(self._runner)
        self._worker = self._new_worker()
        self._worker.start()
        if self._poller is not None:
            self._poller.restart_after_fork(self._transport)

    def __enter__(self) -> TargetClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _close_at_exit(ref: weakref.ReferenceType[TargetClient]) -> None:
    """At interpreter exit, a client left open still sends its queued notifications,
    for at most :data:`EXIT_FLUSH_TIMEOUT_S`; its daemon threads never delay exit."""
    client = ref()
    if client is None or client._closing:
        return
    try:
        client.close(EXIT_FLUSH_TIMEOUT_S)
    except Exception:
        logger.exception("could not close the client at exit")


def _restart_in_child(ref: weakref.ReferenceType[TargetClient]) -> None:
    client = ref()
    if client is None:
        return
    try:
        client._restart_after_fork()
    except Exception:
        logger.exception("could not restart the client's threads after fork")


def _sdk_version() -> str:
    from targetkit import __version__

    return __version__


def create(options: Mapping[str, Any] | None = None) -> TargetClient:
    """Same as :meth:`TargetClient.create`."""
    return TargetClient.create(options)
