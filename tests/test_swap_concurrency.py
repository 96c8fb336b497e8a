"""Atomic artifact swaps: 8 threads decide while the artifact changes 100 times."""

from __future__ import annotations

import copy
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from targetkit.errors import TargetError
from tests.lifecycle_support import (
    ARTIFACT_PATH,
    MBOX,
    make_artifact,
    on_device_options,
    ready_client,
)
from tests.servers import CdnServer, DeliveryServer

THREADS = 8
SWAPS = 100
OTHER_MBOX = "mbox-second"


def two_mbox_artifact(marker: str) -> dict[str, Any]:
    """Both mboxes answer ``marker``: a response mixing two artifacts would show it."""
    artifact = make_artifact(marker)
    rule = copy.deepcopy(artifact["rules"]["mboxes"][MBOX][0])
    rule["consequence"]["name"] = OTHER_MBOX
    rule["meta"]["location.name"] = OTHER_MBOX
    rule["meta"]["activity.name"] = f"activity {marker}"
    artifact["rules"]["mboxes"][OTHER_MBOX] = [rule]
    return artifact


REQUEST = {
    "request": {
        "id": {"tntId": "338e3c1e51f7416a8e1ccba4f81acea0.28_0"},
        # prefetch: no display notifications, so close() has nothing to flush.
        "prefetch": {"mboxes": [{"name": MBOX, "index": 1}, {"name": OTHER_MBOX, "index": 2}]},
    }
}


def markers(result: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(
        m["options"][0]["content"]["artifact"] for m in result["response"]["prefetch"]["mboxes"]
    )


@pytest.fixture
def quick_thread_switches() -> Iterator[None]:
    # Eight busy deciders would hold the GIL 5 ms at a time (the default), slowing the
    # swapping thread and the in-process CDN; shorter slices also interleave more.
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


@pytest.mark.usefixtures("quick_thread_switches")
def test_eight_threads_decide_while_the_artifact_is_swapped_100_times(
    cdn_server: CdnServer, delivery_server: DeliveryServer
) -> None:
    cdn_server.put_json(ARTIFACT_PATH, two_mbox_artifact("one"))
    stop = threading.Event()
    seen: list[tuple[Any, ...]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    with ready_client(on_device_options(cdn_server, delivery_server)) as client:

        def decide() -> None:
            local: list[tuple[Any, ...]] = []
            try:
                while not stop.is_set():
                    local.append(markers(client.get_offers(REQUEST)))
                    time.sleep(0.0005)  # share the interpreter with the swapping thread
            except (TargetError, KeyError, IndexError, TypeError) as err:
                errors.append(err)
            with lock:
                seen.extend(local)

        workers = [threading.Thread(target=decide) for _ in range(THREADS)]
        for worker in workers:
            worker.start()
        installed = 0
        for swap in range(SWAPS):
            cdn_server.put_json(ARTIFACT_PATH, two_mbox_artifact("two" if swap % 2 == 0 else "one"))
            installed += client.refresh_artifact()
        stop.set()
        for worker in workers:
            worker.join(30)

    assert errors == []
    assert installed == SWAPS
    assert set(seen) == {("one", "one"), ("two", "two")}  # both, and never a mix
    assert len(seen) >= SWAPS
