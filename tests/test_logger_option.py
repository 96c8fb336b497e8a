"""The ``logger`` option: an Adobe-style object (debug/error methods) receives our log
records from create() until close(), in both clients."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

import targetkit

ARTIFACT = Path(__file__).parent / "conformance" / "artifacts" / "TEST_ARTIFACT_AB_SIMPLE.json"


class AdobeStyleLogger:
    """Only debug and error, as the Adobe SDKs' logger option expects."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def debug(self, msg: Any, *args: Any) -> None:
        self.lines.append(("debug", str(msg)))

    def error(self, msg: Any, *args: Any) -> None:
        self.lines.append(("error", str(msg)))


def options(log: AdobeStyleLogger, **extra: Any) -> dict[str, Any]:
    return {
        "client": "someClientId",
        "organization_id": "someOrgId",
        "decisioning_method": "on-device",
        "artifact_payload": ARTIFACT.read_bytes(),
        "environment": "nowhere",  # a warning at create(): "using 'production'"
        "polling_interval": 0,
        "telemetry_enabled": False,
        "logger": log,
        **extra,
    }


def handlers() -> int:
    return len(logging.getLogger("targetkit").handlers)


def test_sync_client_forwards_records_until_close() -> None:
    log = AdobeStyleLogger()
    before = handlers()
    client = targetkit.create(options(log))
    assert [level for level, line in log.lines if "'nowhere'" in line] == ["error"]
    logging.getLogger("targetkit.client").error("while open")
    client.close()
    assert handlers() == before
    logging.getLogger("targetkit.client").error("after close")
    assert ("error", "while open") in log.lines
    assert all("after close" not in line for _, line in log.lines)


def test_async_client_forwards_records_until_close() -> None:
    log = AdobeStyleLogger()
    before = handlers()

    async def main() -> None:
        client = targetkit.AsyncTargetClient.create(options(log))
        logging.getLogger("targetkit.async_client").error("while open")
        await client.close()

    asyncio.run(main())
    assert handlers() == before
    assert [level for level, line in log.lines if "'nowhere'" in line] == ["error"]
    assert ("error", "while open") in log.lines


def test_a_failed_create_leaves_no_handler_behind() -> None:
    before = handlers()
    with pytest.raises(targetkit.ConfigurationError):
        targetkit.create(options(AdobeStyleLogger(), artifact_payload=b"not json"))
    assert handlers() == before
