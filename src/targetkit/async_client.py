"""The asyncio client: :class:`AsyncTargetClient`.

The same client as :class:`~targetkit.client.TargetClient`, for asyncio applications
(FastAPI, Starlette, aiohttp): it shares the :class:`~targetkit.core.ClientCore` (request
building, routing, decisions, envelopes, cookies, events) and differs only in how it
waits. It owns one pooled ``httpx.AsyncClient``, one task that polls the artifact, one
task that sends notifications, and runs event callbacks on its loop (coroutine callbacks
are awaited as tasks).

``AsyncTargetClient.create(options)`` is a plain (not ``async``) factory, like the sync
one, but it must be called while an event loop runs (inside a coroutine, e.g. a FastAPI
lifespan): the background tasks start on that loop, and the client must be used and
closed on it. ``async with AsyncTargetClient.create(options) as client:`` closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from targetkit.artifact.async_poller import AsyncArtifactPoller
from targetkit.attributes import Attributes, attributes_request
from targetkit.base import ClientBase
from targetkit.core import ClientCore, LoadedArtifact, Prepared
from targetkit.delivery.async_worker import AsyncNotificationWorker
from targetkit.delivery.notifications import Outgoing
from targetkit.delivery.request import RemoteCall, notification_call
from targetkit.errors import (
    DeliveryError,
    InvalidRequestError,
    TargetError,
)
from targetkit.events import (
    Callback,
    EventDispatcher,
    GeoLocationUpdated,
    LoopRunner,
    Subscription,
)
from targetkit.logs import ForwardingHandler
from targetkit.options import DecisioningMethod, Options
from targetkit.transport import AsyncTransport

__all__ = ["AsyncTargetClient"]

logger = logging.getLogger(__name__)

#: How long close() waits for pending notifications and callbacks by default (s).
CLOSE_TIMEOUT_S = 5.0

_CALLBACK_KEYS = ("callback", "err_callback")


def _running_loop() -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            "AsyncTargetClient.create() needs a running event loop: call it inside a "
            "coroutine (e.g. a FastAPI lifespan), or use TargetClient in sync code"
        ) from None


def _refuse_callbacks(options: Any) -> None:
    if isinstance(options, Mapping):
        for key in _CALLBACK_KEYS:
            if options.get(key) is not None:
                raise InvalidRequestError(
                    f"options.{key}",
                    "AsyncTargetClient methods are coroutines: await them instead",
                )


class AsyncTargetClient(ClientBase):
    """Adobe Target client for asyncio: server-side, on-device or hybrid decisioning.

    Create it with :meth:`create` inside a running loop; use ``async with`` or
    ``await client.close()`` when done.
    """

    _ready: asyncio.Event
    _wake: asyncio.Event
    _worker: AsyncNotificationWorker

    def __init__(self, options: Options, *, _internal: bool = False) -> None:
        if not _internal:
            raise TypeError("use AsyncTargetClient.create(options) to make a client")
        loop = _running_loop()
        self._options = options
        self._core = ClientCore(options)
        self._transport = AsyncTransport()
        self._runner = LoopRunner(loop)
        self._events = EventDispatcher(self._runner, self._runner.spawn)
        self._subscribe_options()
        self._ready = asyncio.Event()
        self._wake = asyncio.Event()  # set when ready or closing: wakes waiters
        self._closing = False
        self._closed = False
        self._poller: AsyncArtifactPoller | None = None
        self._log_handler: ForwardingHandler | None = None  # set by create()
        self._worker = AsyncNotificationWorker(
            self._new_queue(),
            self._post,
            self._events,
            linger_s=options.notification_flush_interval_ms / 1000,
        )

    # -- creation -------------------------------------------------------------------

    @classmethod
    def create(cls, options: Mapping[str, Any] | None = None) -> AsyncTargetClient:
        """Validate ``options`` and start a client on the running loop. Never waits on
        the network; ``await client.wait_until_ready()`` does.

        Raises :class:`ConfigurationError` naming the first invalid option, and
        RuntimeError when no event loop is running.
        """
        return cls._create(options, cls._build)

    @classmethod
    def _build(cls, options: Options) -> AsyncTargetClient:
        return cls(options, _internal=True)

    def _new_poller(self) -> AsyncArtifactPoller:
        return AsyncArtifactPoller(
            self._core,
            self._transport,
            self._events,
            self._core.artifact_location,
            self._install,
        )

    # -- readiness and events -------------------------------------------------------

    async def wait_until_ready(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds (None: without bound); True when ready.

        Returns False at once when the client is (or gets) closed before it is ready.
        """
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)
        return self._ready.is_set()

    def on(self, name: str, callback: Callback) -> Subscription:
        """Subscribe ``callback`` (a function or a coroutine function) to event ``name``."""
        return self._events.subscribe(name, callback)

    def off(self, handle: Subscription) -> bool:
        """Unsubscribe; False when the handle was not subscribed."""
        return self._events.unsubscribe(handle)

    # -- artifact polling -----------------------------------------------------------

    async def refresh_artifact(self) -> bool:
        """Download the artifact now; True when a new artifact was installed."""
        self._check_open()
        if self._poller is None:
            return False
        return await self._poller.refresh()

    # -- get_offers -----------------------------------------------------------------

    async def get_offers(self, options: Mapping[str, Any]) -> Any:
        """Decide offers for a Delivery API request; the same envelope as the sync client."""
        self._check_open()
        _refuse_callbacks(options)
        return await self._deliver(self._core.prepare(options))

    async def _deliver(self, prepared: Prepared) -> dict[str, Any]:
        """Serve a prepared call as the core plans it: on-device, remote, or both."""
        core = self._core
        loaded = None
        if prepared.method is DecisioningMethod.ON_DEVICE:
            loaded = await self._await_artifact()
        plan = core.plan(prepared, loaded)
        if plan.local is not None and plan.local.geo_ip is not None:
            core.apply_geo(plan.local, await self._lookup_geo(plan.local.geo_ip))
        local = core.decide_planned(plan)
        call = core.remote_call(prepared, plan)
        response = await self._send(call) if call is not None else None
        envelope, item = core.finish(prepared, plan, local, call, response)
        if item is not None:
            self._worker.enqueue(item)
        return envelope

    async def _send(self, call: RemoteCall) -> Any:
        try:
            return await self._transport.post_delivery(
                call.url, call.params, call.headers, call.body, call.timeout_s
            )
        except DeliveryError:
            self._core.call_failed(call)
            raise

    async def _await_artifact(self) -> LoadedArtifact:
        loaded = self._core.artifact
        if loaded is not None:
            return loaded
        wait_ms = self._options.maximum_wait_ready_ms
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), None if wait_ms is None else wait_ms / 1000)
        return self._artifact_after_wait()

    async def _lookup_geo(self, ip: str) -> dict[str, Any] | None:
        try:
            geo = await self._transport.lookup_geo(
                self._core.geo_url, ip, self._options.timeout_ms / 1000
            )
        except TargetError as err:
            logger.warning("geo lookup for %r failed, deciding without geo: %s", ip, err)
            return None
        self._events.emit(GeoLocationUpdated(geo_context=geo))
        return geo

    # -- notifications --------------------------------------------------------------

    async def send_notifications(self, options: Mapping[str, Any]) -> Any:
        """Send display/click notifications to the Delivery API now, in any mode.

        ``options`` are get_offers options whose request carries ``notifications``;
        returns the same envelope as a server-side get_offers.
        """
        self._check_open()
        _refuse_callbacks(options)
        return await self._deliver(self._core.prepare_notifications(options))

    async def flush(self, timeout: float | None = None) -> bool:
        """Send queued notifications now; True when the queue drained within ``timeout`` s."""
        return await self._worker.flush(timeout)

    async def _post(self, outgoing: Outgoing) -> Any:
        call = notification_call(self._options, outgoing, _sdk_version())
        return await self._transport.post_delivery(
            call.url, call.params, call.headers, call.body, call.timeout_s
        )

    # -- attributes -----------------------------------------------------------------

    async def get_attributes(
        self, mbox_names: list[str], options: Mapping[str, Any] | None = None
    ) -> Attributes:
        """Feature-flag style access to the json offers of ``mbox_names``."""
        return Attributes(await self.get_offers(attributes_request(mbox_names, options)))

    # -- lifecycle ------------------------------------------------------------------

    async def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Stop polling, let queued event callbacks run, flush notifications, free
        resources; everything together is bounded by ``timeout`` seconds. Idempotent."""
        if self._closing:
            return
        self._closing = True
        self._wake.set()
        deadline = time.monotonic() + timeout
        if self._poller is not None:
            await self._poller.stop(0.5)
        await self._drain_events(deadline)
        self._closed = True
        await self._worker.stop(max(0.0, deadline - time.monotonic()))
        await self._transport.close()
        await self._drain_events(deadline)  # send_notification_error from the last sends
        self._detach_logger()

    async def _drain_events(self, deadline: float) -> None:
        """Run the callbacks queued so far (coroutine ones included) until ``deadline``."""
        await asyncio.sleep(0)  # queued plain callbacks run; coroutine ones become tasks
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._runner.wait_idle(), max(0.0, deadline - time.monotonic()))

    async def __aenter__(self) -> AsyncTargetClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def _sdk_version() -> str:
    from targetkit import __version__  # late: the package imports this module

    return __version__
