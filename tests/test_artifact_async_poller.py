"""AsyncArtifactPoller against a real local CDN: same cycle rules as the sync poller."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

from targetkit.artifact.async_poller import AsyncArtifactPoller
from targetkit.core import ClientCore, LoadedArtifact
from targetkit.delivery.retry import Backoff
from targetkit.errors import ArtifactDownloadError, ArtifactParseError
from targetkit.events import EventDispatcher
from targetkit.options import parse_options
from targetkit.transport import AsyncTransport
from tests.lifecycle_support import ARTIFACT_PATH, ORG, make_artifact
from tests.servers import CdnServer, Fault

FAST = Backoff(attempts=3, base_s=0.01, max_s=0.02)


class Harness:
    """A core, an inline dispatcher recording events, and the poller under test."""

    def __init__(self, cdn: CdnServer, **options: Any) -> None:
        self.location = cdn.url + ARTIFACT_PATH
        parsed = parse_options(
            {
                "client": "acmeclient",
                "organization_id": ORG,
                "decisioning_method": "on-device",
                "artifact_location": self.location,
                "polling_interval": 0,
                "timeout": 500,
                **options,
            }
        )
        self.core = ClientCore(parsed)
        self.events: list[Any] = []
        self.installed: list[LoadedArtifact] = []
        dispatcher = EventDispatcher()  # inline: events are recorded as they are emitted
        for name in ("client_ready", "artifact_download_succeeded", "artifact_download_failed"):
            dispatcher.subscribe(name, self.events.append)
        self.dispatcher = dispatcher

    def on_installed(self, loaded: LoadedArtifact) -> None:
        self.core.install(loaded)
        self.installed.append(loaded)
        self.dispatcher.mark_ready()

    def types(self) -> list[str]:
        return [str(e.type) for e in self.events]

    def marker(self) -> Any:
        loaded = self.core.artifact
        assert loaded is not None
        return loaded.raw["rules"]["mboxes"]["mbox-magician"][0]["consequence"]["options"][0][
            "content"
        ]["artifact"]


def run(harness: Harness, body: Callable[[AsyncArtifactPoller], Awaitable[None]]) -> None:
    async def main() -> None:
        transport = AsyncTransport()
        poller = AsyncArtifactPoller(
            harness.core,
            transport,
            harness.dispatcher,
            harness.location,
            harness.on_installed,
            FAST,
        )
        try:
            await body(poller)
        finally:
            await poller.stop(1.0)
            await transport.close()

    asyncio.run(main())


async def until(predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not predicate():
            await asyncio.sleep(0.005)


def test_start_loads_then_304_is_silent_and_failures_fire_once(cdn_server: CdnServer) -> None:
    cdn_server.put_json(ARTIFACT_PATH, make_artifact("one"))
    harness = Harness(cdn_server)

    async def body(poller: AsyncArtifactPoller) -> None:
        poller.start()
        await until(lambda: len(harness.events) >= 2)
        assert harness.types() == ["client_ready", "artifact_download_succeeded"]
        assert poller.location == harness.location
        assert await poller.refresh() is False  # 304
        assert len(harness.events) == 2
        cdn_server.set_fault(Fault.error(503), ARTIFACT_PATH)
        before = cdn_server.count(ARTIFACT_PATH)
        assert await poller.refresh() is False
        assert cdn_server.count(ARTIFACT_PATH) - before == FAST.attempts
        assert harness.types()[2:] == ["artifact_download_failed"]
        assert isinstance(harness.events[2].error, ArtifactDownloadError)
        cdn_server.clear_faults()
        cdn_server.put(ARTIFACT_PATH, b"{not json")
        assert await poller.refresh() is False
        assert isinstance(harness.events[3].error, ArtifactParseError)
        assert harness.marker() == "one"  # the last good artifact keeps serving
        cdn_server.put_json(ARTIFACT_PATH, make_artifact("two"))
        assert await poller.refresh() is True
        assert harness.marker() == "two"
        assert harness.types()[4:] == ["artifact_download_succeeded"]

    run(harness, body)


def test_stop_cancels_a_hung_download(cdn_server: CdnServer) -> None:
    cdn_server.set_fault(Fault.hung(), ARTIFACT_PATH)
    harness = Harness(cdn_server, timeout=60_000)

    async def body(poller: AsyncArtifactPoller) -> None:
        poller.start()
        await until(lambda: cdn_server.count(ARTIFACT_PATH) == 1)
        await poller.stop(1.0)
        assert await poller.refresh() is False  # stopped: no more cycles
        assert harness.events == []

    run(harness, body)


def test_cdn_down_at_start_falls_back_to_the_cache(cdn_server: CdnServer, tmp_path: Path) -> None:
    cache = tmp_path / "rules.json"
    cache.write_bytes(orjson.dumps(make_artifact("cached")))
    cdn_server.set_fault(Fault.error(500), ARTIFACT_PATH)
    harness = Harness(cdn_server, artifact_cache=str(cache))

    async def body(poller: AsyncArtifactPoller) -> None:
        poller.start()
        await until(lambda: len(harness.events) >= 2)
        assert harness.types() == ["artifact_download_failed", "client_ready"]
        assert harness.marker() == "cached"
        cdn_server.clear_faults()
        cdn_server.put_json(ARTIFACT_PATH, make_artifact("fresh"))
        assert await poller.refresh() is True
        assert orjson.loads(cache.read_bytes()) == make_artifact("fresh")

    run(harness, body)
