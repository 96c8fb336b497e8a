"""The cross-SDK on-device conformance suites, run through the public client.

Each case of ``tests/conformance/models/TEST_SUITE_*.json`` is one test id,
``TEST_SUITE_X::case``. Everything is real: the artifact comes from a CDN on 127.0.0.1,
``mockGeo`` is served by a real geo endpoint, and notifications (with telemetry) go to a
real Delivery API stand-in. (Some suite inputs break the OpenAPI spec's field limits,
so spec validation of what we send lives in the delivery tests instead.)
``mockDate`` goes through the client's injectable clock.
"""

from __future__ import annotations

import calendar
import json
from pathlib import Path
from typing import Any

import pytest

import targetkit
from tests.matching import mismatches
from tests.servers import CdnServer, DeliveryServer

HERE = Path(__file__).parent / "conformance"
SUITES = sorted((HERE / "models").glob("TEST_SUITE_*.json"))

#: The suites' camelCase conf keys -> our option keys.
CONF_KEYS = {
    "client": "client",
    "organizationId": "organization_id",
    "pollingInterval": "polling_interval",
    "telemetryEnabled": "telemetry_enabled",
    "propertyToken": "property_token",
    "environment": "environment",
}


def _cases() -> list[Any]:
    cases = []
    for path in SUITES:
        suite = json.loads(path.read_text())
        for key, case in suite["test"].items():
            cases.append(pytest.param(suite, case, id=f"{path.stem}::{key}"))
    return cases


def _artifact(name_or_payload: Any) -> Any:
    if isinstance(name_or_payload, str):
        return json.loads((HERE / "artifacts" / f"{name_or_payload}.json").read_text())
    return name_or_payload


def _mock_clock(mock: dict[str, int]) -> Any:
    """The suites' mockDate: JavaScript Date.UTC fields (month is 0-based)."""
    stamp = calendar.timegm(
        (
            mock["year"],
            mock["month"] + 1,
            mock["date"],
            mock.get("hours", 0),
            mock.get("minutes", 0),
            mock.get("seconds", 0),
        )
    )
    return lambda: stamp * 1000


@pytest.mark.parametrize(("suite", "case"), _cases())
def test_conformance(
    suite: dict[str, Any],
    case: dict[str, Any],
    cdn_server: CdnServer,
    delivery_server: DeliveryServer,
) -> None:
    conf = case.get("conf") or suite["conf"]
    artifact = _artifact(case.get("artifact") or suite["artifact"])
    client_code = conf["client"]
    path = f"/{client_code}/production/v1/rules.json"
    cdn_server.put(path, json.dumps(artifact).encode())
    if case.get("mockGeo") is not None:
        cdn_server.set_geo(case["mockGeo"])
    options: dict[str, Any] = {CONF_KEYS[k]: v for k, v in conf.items()}
    options.update(
        decisioning_method="on-device",
        artifact_location=cdn_server.url + path,
        cdn_base_path=cdn_server.url,
        server_domain=delivery_server.url,
        secure=False,
    )
    if case.get("mockDate"):
        options["clock"] = _mock_clock(case["mockDate"])
    inputs = case["input"]
    call: dict[str, Any] = {"request": inputs["request"]}
    if inputs.get("sessionId"):
        call["session_id"] = inputs["sessionId"]
    if inputs.get("locationHint"):
        call["target_location_hint"] = inputs["locationHint"]

    with targetkit.create(options) as client:
        assert client.wait_until_ready(10), "the artifact never loaded"
        result = client.get_offers(call)
        if "output" in case:
            assert mismatches(result["response"], case["output"]) == []
        if "notificationOutput" in case:
            assert client.flush(10)
            sent = delivery_server.requests_json()
            expected = case["notificationOutput"]
            if expected is None:
                assert sent == []
            else:
                assert len(sent) == 1, sent
                assert mismatches({"request": sent[0]}, expected) == []
