"""Helpers for the lifecycle, artifact-fault and concurrency tests.

``make_artifact(marker)`` builds a small valid artifact whose one mbox always answers
with ``{"artifact": marker}``, so a response tells which artifact decided it.
``EventLog`` subscribes to every event and lets a test wait for them (callbacks run on
the client's events thread, after the step that caused them).
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import targetkit
from tests.servers import CdnServer, DeliveryServer

ARTIFACTS = Path(__file__).parent / "conformance" / "artifacts"
OBFUSCATED = Path(__file__).parent / "conformance" / "obfuscated"
OBFUSCATED_ORG = "74F652E95F1B16FE0A495C92@AdobeOrg"
MBOX = "mbox-magician"
ORG = "1234567890@AdobeOrg"
ARTIFACT_PATH = "/acmeclient/production/v1/rules.json"
EVENT_NAMES = (
    "client_ready",
    "artifact_download_succeeded",
    "artifact_download_failed",
    "geo_location_updated",
    "send_notification_error",
)


def make_artifact(marker: str, version: str = "1.0.0") -> dict[str, Any]:
    """A valid artifact with one always-matching rule for MBOX answering ``marker``."""
    base = json.loads((ARTIFACTS / "TEST_ARTIFACT_AB_SIMPLE.json").read_text())
    rule = copy.deepcopy(base["rules"]["mboxes"][MBOX][0])
    rule["condition"] = {"<=": [0, {"var": "allocation"}]}
    rule["consequence"]["options"][0]["content"] = {"artifact": marker}
    base["rules"]["mboxes"][MBOX] = [rule]
    base["version"] = version
    return dict(base)


def mbox_request() -> dict[str, Any]:
    return {
        "request": {
            "id": {"tntId": "338e3c1e51f7416a8e1ccba4f81acea0.28_0"},
            "execute": {"mboxes": [{"name": MBOX, "index": 1}]},
        }
    }


def marker_of(result: dict[str, Any]) -> Any:
    """The ``artifact`` marker of the offer in a get_offers result."""
    mboxes = result["response"]["execute"]["mboxes"]
    return mboxes[0]["options"][0]["content"]["artifact"]


class EventLog:
    """Records every event in arrival order as ``(type, fields)``; thread-safe."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.events: list[Any] = []

    def callbacks(self) -> dict[str, Callable[[Any], None]]:
        return {name: self._record for name in EVENT_NAMES}

    def _record(self, event: Any) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def types(self) -> list[str]:
        with self._cond:
            return [str(e.type) for e in self.events]

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[Any]:
        """Wait until ``count`` events arrived in total; return them all."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while len(self.events) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{len(self.events)} of {count} events: {self.types()}")
                self._cond.wait(remaining)
            return list(self.events)

    def settle(self, client: Any) -> list[Any]:
        """All events so far, after every queued callback has run (a no-op barrier)."""
        done = threading.Event()
        client._held(done.set)  # the events runner is FIFO: earlier jobs ran before this
        assert done.wait(10.0), "events runner stuck"
        with self._cond:
            return list(self.events)


def on_device_options(
    cdn: CdnServer,
    delivery: DeliveryServer | None = None,
    path: str = ARTIFACT_PATH,
    log: EventLog | None = None,
    **extra: Any,
) -> dict[str, Any]:
    options: dict[str, Any] = {
        "client": "acmeclient",
        "organization_id": ORG,
        "decisioning_method": "on-device",
        "artifact_location": cdn.url + path,
        "polling_interval": 0,
        "telemetry_enabled": False,
        "secure": False,
        "timeout": 2000,
    }
    if delivery is not None:
        options["server_domain"] = delivery.host
    if log is not None:
        options["events"] = log.callbacks()
    options.update(extra)
    return options


def ready_client(options: dict[str, Any]) -> Any:
    client = targetkit.create(options)
    assert client.wait_until_ready(10.0), "client did not become ready"
    return client
