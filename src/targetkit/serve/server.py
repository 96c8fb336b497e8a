"""Running an emulator on uvicorn: in the foreground (``targetkit serve``) or in a thread.

Both bind the listening socket themselves, so port 0 works and the actual URL is known
before anyone connects. ``run`` returns when uvicorn shuts down gracefully after
Ctrl-C (uvicorn then re-raises the signal: callers see ``KeyboardInterrupt``).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

from targetkit.serve.config import EmulatorConfig
from targetkit.serve.emulator import Emulator

if TYPE_CHECKING:
    import uvicorn

__all__ = ["BackgroundEmulator", "bind", "run", "url_of"]

#: Longest a background emulator may take to start, and to stop (s).
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
#: Open keep-alive connections get this long to finish at shutdown (s).
GRACEFUL_SHUTDOWN_S = 1


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (0: a free port). Raises OSError."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say TCP, and
    # without it each answer waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _uvicorn_server(emulator: Emulator, access_log: bool) -> uvicorn.Server:
    import uvicorn

    from targetkit.serve.app import create_app

    config = uvicorn.Config(
        create_app(emulator),
        log_config=None,  # leave logging to the application (the CLI configures it)
        access_log=access_log,
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    return uvicorn.Server(config)


async def _serve(
    server: uvicorn.Server, sock: socket.socket, on_started: Callable[[], None]
) -> None:
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if server.started:
        on_started()
    await task


def run(
    config: EmulatorConfig,
    on_started: Callable[[Emulator, str], None],
    emulator: Emulator | None = None,
) -> None:
    """Serve ``config`` until Ctrl-C; ``on_started(emulator, url)`` runs once listening.

    Raises:
        OSError: the address cannot be bound.
        KeyboardInterrupt: after a graceful stop on Ctrl-C.
        and what :class:`Emulator` raises for a bad artifact, geo table or fault flag.
    """
    emulator = emulator or Emulator(config)
    sock = bind(config.host, config.port)
    url = url_of(sock)
    try:
        server = _uvicorn_server(emulator, config.access_log)
        asyncio.run(_serve(server, sock, lambda: on_started(emulator, url)))
    finally:
        sock.close()


class BackgroundEmulator:
    """An emulator served from a daemon thread, for the demo and for tests.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.emulator = Emulator(self.config)
        self._sock = bind(self.config.host, self.config.port)
        self.url = url_of(self._sock)
        self._server = _uvicorn_server(self.emulator, self.config.access_log)
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._main, name="targetkit-emulator", daemon=True)
        self._error: BaseException | None = None

    def _main(self) -> None:
        try:
            asyncio.run(_serve(self._server, self._sock, self._started.set))
        except BaseException as err:  # reported by start(); the thread just ends
            self._error = err
        finally:
            self._started.set()

    def start(self) -> BackgroundEmulator:
        """Start serving; returns once it listens. Raises RuntimeError if it cannot."""
        self._thread.start()
        self._started.wait(START_TIMEOUT_S)
        if not self._server.started:
            self.stop()
            raise RuntimeError(f"the emulator did not start: {self._error!r}")
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread (bounded). Idempotent."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT_S)
        self._sock.close()

    def __enter__(self) -> BackgroundEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
