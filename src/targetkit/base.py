"""What :class:`TargetClient` and :class:`AsyncTargetClient` share above the core.

Both clients wrap one :class:`~targetkit.core.ClientCore`; they differ in how they wait
(threads or an event loop), so each brings its own transport, poller, notification
worker, event runner and readiness flags. Everything that does not wait lives here:
creation with the ``logger`` option, the start-up sequence, installing artifacts,
readiness, subscriptions and the closed check.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from targetkit.core import ClientCore, LoadedArtifact
from targetkit.delivery.notifications import NotificationQueue
from targetkit.errors import (
    ArtifactError,
    ClientClosedError,
    ConfigurationError,
    NotReadyError,
)
from targetkit.events import Callback, EventDispatcher, Subscription
from targetkit.logs import ForwardingHandler, attach, detach
from targetkit.options import DecisioningMethod, Options, parse_options

__all__ = ["ClientBase"]

logger = logging.getLogger(__name__)

C = TypeVar("C", bound="ClientBase")


class _Flag(Protocol):
    """``threading.Event`` or ``asyncio.Event``: both are set and read the same way."""

    def set(self) -> None: ...

    def is_set(self) -> bool: ...


class _Poller(Protocol):
    def start(self) -> None: ...


class _Worker(Protocol):
    def start(self) -> None: ...


class ClientBase:
    """The waiting-free half of a client; subclasses set the attributes below."""

    _options: Options
    _core: ClientCore
    _events: EventDispatcher
    _ready: _Flag
    _wake: _Flag  # set when ready or closing: wakes waiters
    _worker: _Worker
    _poller: _Poller | None
    _closing: bool
    _closed: bool
    _log_handler: ForwardingHandler | None

    @classmethod
    def _create(
        cls: type[C], options: Mapping[str, Any] | None, build: Callable[[Options], C]
    ) -> C:
        """Parse options, build the client with ``build`` and start it.

        The ``logger`` option receives our log records from the first one on, and is
        detached again if creation fails.
        """
        parsed = parse_options(options)
        handler = attach(parsed.logger) if parsed.logger is not None else None
        try:
            for warning in parsed.warnings:
                logger.warning(warning)
            client = build(parsed)
            client._log_handler = handler
            client._start()
        except BaseException:
            if handler is not None:
                detach(handler)
            raise
        return client

    def _new_queue(self) -> NotificationQueue:
        """The bounded notification queue the client's worker drains."""
        options = self._options
        return NotificationQueue(
            self._core.telemetry,
            max_items=options.notification_queue_size,
            batch_size=options.notification_batch_size,
            new_id=self._core.new_id,
        )

    def _subscribe_options(self) -> None:
        for name, callback in self._options.events.items():
            self._events.subscribe(name, callback)

    def _new_poller(self) -> _Poller:
        raise NotImplementedError

    def _start(self) -> None:
        options = self._options
        if options.decisioning_method is DecisioningMethod.SERVER_SIDE:
            self._mark_ready()
        else:
            if options.artifact_payload is not None:
                self._install_payload(options.artifact_payload)
            if options.artifact_payload is None or options.artifact_location:
                self._poller = self._new_poller()
                self._poller.start()
        self._worker.start()

    def _install_payload(self, payload: Mapping[str, Any] | bytes | str) -> None:
        try:
            loaded = self._core.compile(payload, None, None)
        except ArtifactError as err:
            # The payload is an option: an unusable one fails create(), naming it.
            raise ConfigurationError("artifact_payload", str(err)) from err
        self._install(loaded)

    def _install(self, loaded: LoadedArtifact) -> None:
        self._core.install(loaded)
        self._mark_ready()

    def _mark_ready(self) -> None:
        self._ready.set()
        self._wake.set()
        self._events.mark_ready()

    def _detach_logger(self) -> None:
        if self._log_handler is not None:
            detach(self._log_handler)
            self._log_handler = None

    def _artifact_after_wait(self) -> LoadedArtifact:
        """The artifact once a wait for readiness ended (ready, timed out, or closing)."""
        if self._closing:
            raise ClientClosedError(
                f"this {type(self).__name__} was closed while waiting to be ready"
            )
        loaded = self._core.artifact
        if loaded is None:
            raise NotReadyError(
                "the client is not ready: no artifact loaded from "
                f"{self._core.artifact_location} within maximum_wait_ready "
                f"({self._options.maximum_wait_ready_ms} ms), so on-device decisions are "
                "not possible yet (artifact_download_failed events carry the reasons)"
            )
        return loaded

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosedError(f"this {type(self).__name__} is closed")

    # -- readiness and events (the same on both clients) ---------------------------

    @property
    def is_ready(self) -> bool:
        """True once get_offers can decide (on-device: an artifact is loaded)."""
        return self._ready.is_set()

    def on(self, name: str, callback: Callback) -> Subscription:
        """Subscribe ``callback`` to event ``name``; returns a handle for :meth:`off`."""
        return self._events.subscribe(name, callback)

    def off(self, handle: Subscription) -> bool:
        """Unsubscribe; False when the handle was not subscribed."""
        return self._events.unsubscribe(handle)
