"""On-device decisioning through the public client: documented outcomes, and regression
tests for bugs measured in the Adobe Python SDK 1.1.0 that we must not repeat."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

import targetkit
from targetkit.errors import (
    ArtifactVersionError,
    ConfigurationError,
    InvalidRequestError,
)
from tests.servers import CdnServer, DeliveryServer, Fault

ARTIFACTS = Path(__file__).parent / "conformance" / "artifacts"
CHROME = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_3) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/80.0.3987.163 Safari/537.36"
)


def artifact(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((ARTIFACTS / f"{name}.json").read_text())
    return loaded


def on_device(payload: Any, delivery: DeliveryServer | None = None, **extra: Any) -> Any:
    options: dict[str, Any] = {
        "client": "someClientId",
        "organization_id": "someOrgId",
        "decisioning_method": "on-device",
        "artifact_payload": payload,
        "polling_interval": 0,
        "telemetry_enabled": False,
        "secure": False,
    }
    if delivery is not None:
        options["server_domain"] = delivery.url
    options.update(extra)
    return targetkit.create(options)


def mbox_request(name: str, **context: Any) -> dict[str, Any]:
    return {
        "id": {"tntId": "338e3c1e51f7416a8e1ccba4f81acea0.28_0"},
        "context": {"channel": "web", "userAgent": CHROME, **context},
        "execute": {"mboxes": [{"name": name, "index": 1}]},
    }


# -- documented outcomes -------------------------------------------------------------


def test_unknown_mbox_gets_an_empty_answer_and_goes_remote_in_meta() -> None:
    with on_device(artifact("TEST_ARTIFACT_AB_SIMPLE")) as client:
        result = client.get_offers({"request": mbox_request("no-such-mbox")})
    assert result["response"]["execute"]["mboxes"] == [{"name": "no-such-mbox", "index": 1}]
    assert result["meta"]["remote_mboxes"] == ["no-such-mbox"]
    assert result["response"]["status"] == 206


def test_unsupported_major_version_fails_create_naming_the_option() -> None:
    with pytest.raises(ConfigurationError) as caught:
        on_device(artifact("TEST_ARTIFACT_UNSUPPORTED"))
    assert caught.value.option == "artifact_payload"
    assert isinstance(caught.value.__cause__, ArtifactVersionError)
    assert "99.0.0" in str(caught.value)


@pytest.mark.parametrize(
    "context",
    [
        {"address": {"url": "::not a url::"}},
        {"address": {"url": "http://[broken"}},
        {"address": {"url": 42}},
        {"userAgent": "\x00\uffff" * 100},
        {"userAgent": 12345},
        {"address": {"url": "http://" + "a." * 3000 + "com/"}},
    ],
)
def test_malformed_url_or_user_agent_decides_with_an_empty_context(context: dict[str, Any]) -> None:
    with on_device(artifact("TEST_ARTIFACT_AB_SIMPLE")) as client:
        result = client.get_offers({"request": mbox_request("mbox-magician", **context)})
    (mbox,) = result["response"]["execute"]["mboxes"]
    assert mbox["name"] == "mbox-magician"
    assert mbox["options"][0]["content"] == {"doMagic": True, "importantValue": 150}


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        ({"execute": {"mboxes": [{"index": 1}]}}, "request.execute.mboxes[0].name"),
        ({"execute": {"mboxes": "mbox-magician"}}, "request.execute.mboxes"),
        ({"prefetch": {"views": [{"name": 3}]}}, "request.prefetch.views[0].name"),
        ({"context": []}, "request.context"),
        ({"execute": {"mboxes": [{"name": "x", "index": "1"}]}}, "request.execute.mboxes[0].index"),
    ],
)
def test_invalid_requests_raise_naming_the_field(request_: dict[str, Any], field: str) -> None:
    with (
        on_device(artifact("TEST_ARTIFACT_AB_SIMPLE")) as client,
        pytest.raises(InvalidRequestError) as caught,
    ):
        client.get_offers({"request": request_})
    assert caught.value.field == field


# -- reference bugs not to repeat ----------------------------------------------------


def test_keeps_the_callers_request_id() -> None:
    with on_device(artifact("TEST_ARTIFACT_AB_SIMPLE")) as client:
        request = {**mbox_request("mbox-magician"), "requestId": "my-own-id"}
        result = client.get_offers({"request": request})
    assert result["response"]["requestId"] == "my-own-id"
    assert result["request"]["requestId"] == "my-own-id"


def test_execute_with_trace_is_serializable_even_with_debug_logging(
    caplog: pytest.LogCaptureFixture, delivery_server: DeliveryServer
) -> None:
    caplog.set_level("DEBUG", logger="targetkit")
    with on_device(artifact("TEST_ARTIFACT_AB_SIMPLE"), delivery_server) as client:
        result = client.get_offers({"request": {**mbox_request("mbox-magician"), "trace": {}}})
        assert client.flush(5)
    trace = result["response"]["execute"]["mboxes"][0]["trace"]
    assert trace["campaigns"][0]["notifications"][0]["type"] == "display"
    assert orjson.loads(orjson.dumps(result)) == json.loads(json.dumps(result))


def test_failing_geo_lookup_is_bounded_by_the_timeout(
    cdn_server: CdnServer, caplog: pytest.LogCaptureFixture
) -> None:
    cdn_server.set_fault(Fault.hung(), path="/v1/geo")
    geo_artifact = artifact("TEST_ARTIFACT_GEO")
    assert geo_artifact["geoTargetingEnabled"] is True
    with on_device(geo_artifact, timeout=300, cdn_base_path=cdn_server.url) as client:
        request = mbox_request("mbox-geography", geo={"ipAddress": "127.0.0.1"})
        started = time.monotonic()
        result = client.get_offers({"request": request})
        elapsed = time.monotonic() - started
    assert elapsed < 3.0  # bounded by the 300 ms timeout, not forever
    assert result["response"]["execute"]["mboxes"][0]["name"] == "mbox-geography"
    assert "geo lookup" in caplog.text


def test_no_geo_lookup_without_an_ip_address(cdn_server: CdnServer) -> None:
    with on_device(artifact("TEST_ARTIFACT_GEO"), cdn_base_path=cdn_server.url) as client:
        client.get_offers({"request": mbox_request("mbox-geography")})
        client.get_offers({"request": mbox_request("mbox-geography")})
    assert cdn_server.count("/v1/geo") == 0


def test_telemetry_execution_is_the_calls_own_duration_in_ms(
    delivery_server: DeliveryServer,
) -> None:
    with on_device(
        artifact("TEST_ARTIFACT_AB_SIMPLE"), delivery_server, telemetry_enabled=True
    ) as client:
        client.get_offers({"request": mbox_request("mbox-magician")})
        time.sleep(1.2)  # the reference reported time since the first call, in seconds
        client.get_offers({"request": mbox_request("mbox-magician")})
        assert client.flush(5)
    entries = [
        entry
        for body in delivery_server.requests_json()
        for entry in body.get("telemetry", {}).get("entries", [])
    ]
    assert len(entries) == 2
    for entry in entries:
        assert 0 < entry["execution"] < 1000
        assert entry["features"]["decisioningMethod"] == "on-device"


def test_get_offers_neither_deep_copies_nor_mutates_the_caller_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    payload = artifact("TEST_ARTIFACT_AB_SIMPLE")
    with on_device(payload) as client:
        request = mbox_request("mbox-magician")
        before = copy.deepcopy(request)

        def forbidden(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError("deepcopy on the request path")

        monkeypatch.setattr(copy, "deepcopy", forbidden)
        client.get_offers({"request": request, "session_id": "s1"})
        monkeypatch.undo()
        assert request == before
        assert client._core.artifact is not None
        assert client._core.artifact.raw is payload
