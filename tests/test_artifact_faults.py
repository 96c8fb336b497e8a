"""The artifact provider under CDN faults: which events fire, in what order, with which
fields, and that decisions keep coming from the last good artifact.

Each test starts a client on artifact "one" (events: client_ready, then
artifact_download_succeeded), injects one fault, runs ``refresh_artifact()`` (the
test-speed stand-in for a scheduled poll), and checks the events that cycle produced.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

import targetkit
from targetkit.artifact.obfuscation import HEADER_SIZE, obfuscate
from targetkit.errors import (
    ArtifactDownloadError,
    ArtifactParseError,
    ArtifactSchemaError,
    ArtifactVersionError,
    DeobfuscationError,
    OnDeviceDisabledError,
)
from tests.lifecycle_support import (
    ARTIFACT_PATH,
    ORG,
    EventLog,
    make_artifact,
    marker_of,
    mbox_request,
    on_device_options,
    ready_client,
)
from tests.servers import CdnServer, DeliveryServer, Fault

ATTEMPTS = 4  # Backoff().attempts: the bounded retry budget per cycle


@pytest.fixture
def started(
    cdn_server: CdnServer, delivery_server: DeliveryServer
) -> Iterator[tuple[Any, EventLog, CdnServer]]:
    """A ready client on artifact "one", its event log (start events checked), the CDN."""
    cdn_server.put_json(ARTIFACT_PATH, make_artifact("one"))
    log = EventLog()
    client = ready_client(on_device_options(cdn_server, delivery_server, log=log, timeout=300))
    events = log.wait_for(2)
    assert [str(e.type) for e in events] == ["client_ready", "artifact_download_succeeded"]
    assert events[1].artifact_location == cdn_server.url + ARTIFACT_PATH
    assert events[1]["artifact_payload"]["version"] == "1.0.0"
    cdn_server.reset()  # forget the start-up requests
    try:
        yield client, log, cdn_server
    finally:
        client.close()


def cycle_events(client: Any, log: EventLog, before: int = 2) -> list[Any]:
    """Run one refresh cycle; the events it produced (after the start-up ones)."""
    assert client.refresh_artifact() is False
    return log.settle(client)[before:]


def assert_one_failure(
    events: list[Any], location: str, error_type: type[Exception], *words: str
) -> Any:
    assert [str(e.type) for e in events] == ["artifact_download_failed"]
    event = events[0]
    assert event.artifact_location == location == event["artifact_location"]
    assert type(event.error) is error_type, repr(event.error)
    for word in words:
        assert word in str(event.error)
    assert dict(event).keys() == {"type", "artifact_location", "error"}
    return event


def assert_still_serving(client: Any, marker: str = "one") -> None:
    assert marker_of(client.get_offers(mbox_request())) == marker


def assert_recovers(client: Any, log: EventLog, cdn: CdnServer, seen: int) -> None:
    cdn.clear_faults()
    cdn.put_json(ARTIFACT_PATH, make_artifact("two"))
    assert client.refresh_artifact() is True
    events = log.settle(client)[seen:]
    assert [str(e.type) for e in events] == ["artifact_download_succeeded"]
    assert_still_serving(client, "two")


def test_http_500_is_retried_within_the_budget_and_fires_one_failure(started: Any) -> None:
    client, log, cdn = started
    cdn.set_fault(Fault.error(500), ARTIFACT_PATH)
    events = cycle_events(client, log)
    assert cdn.count(ARTIFACT_PATH) == ATTEMPTS
    event = assert_one_failure(
        events, client._core.artifact_location, ArtifactDownloadError, "HTTP 500"
    )
    assert event.error.status == 500
    assert_still_serving(client)
    assert_recovers(client, log, cdn, seen=3)


@pytest.mark.parametrize("status", [408, 429, 502, 503])
def test_other_transient_statuses_are_retried(started: Any, status: int) -> None:
    client, log, cdn = started
    cdn.fail_next(ATTEMPTS - 1, Fault.error(status), ARTIFACT_PATH)
    cdn.put_json(ARTIFACT_PATH, make_artifact("two"))
    assert client.refresh_artifact() is True
    assert cdn.count(ARTIFACT_PATH) == ATTEMPTS
    assert [str(e.type) for e in log.settle(client)[2:]] == ["artifact_download_succeeded"]
    assert_still_serving(client, "two")


def test_http_403_is_not_retried_and_says_on_device_is_disabled(started: Any) -> None:
    client, log, cdn = started
    cdn.set_fault(Fault.error(403), ARTIFACT_PATH)
    events = cycle_events(client, log)
    assert cdn.count(ARTIFACT_PATH) == 1
    assert_one_failure(
        events,
        client._core.artifact_location,
        OnDeviceDisabledError,
        "403",
        "on-device decisioning is not",
    )
    assert_still_serving(client)
    assert_recovers(client, log, cdn, seen=3)


def test_304_keeps_the_artifact_and_fires_nothing(started: Any) -> None:
    client, log, cdn = started
    events = cycle_events(client, log)
    assert events == []
    (request,) = cdn.requests_for(ARTIFACT_PATH)
    assert request.header("if-none-match") == cdn.etag(ARTIFACT_PATH)
    assert_still_serving(client)


def test_slow_answer_beyond_the_timeout_fails_once_after_the_budget(started: Any) -> None:
    client, log, cdn = started
    cdn.set_fault(Fault.delay(2.0), ARTIFACT_PATH)  # the client's timeout is 300 ms
    events = cycle_events(client, log)
    assert cdn.count(ARTIFACT_PATH) == ATTEMPTS
    event = assert_one_failure(
        events, client._core.artifact_location, ArtifactDownloadError, "timed out"
    )
    assert event.error.status is None
    assert_still_serving(client)


def test_truncated_body_fails_once(started: Any) -> None:
    client, log, cdn = started
    cdn.put_json(ARTIFACT_PATH, make_artifact("two"))  # a 200, not a 304, gets cut
    cdn.set_fault(Fault.truncated(), ARTIFACT_PATH)
    events = cycle_events(client, log)
    assert cdn.count(ARTIFACT_PATH) == ATTEMPTS  # a cut connection is transient
    failure = assert_one_failure(
        events, client._core.artifact_location, ArtifactDownloadError, "failed"
    )
    assert "RemoteProtocolError" in str(failure.error)
    assert_still_serving(client)
    assert_recovers(client, log, cdn, seen=3)


def test_invalid_json_is_rejected_with_the_reason(started: Any) -> None:
    client, log, cdn = started
    cdn.set_fault(Fault.bad_json(), ARTIFACT_PATH)
    events = cycle_events(client, log)
    assert cdn.count(ARTIFACT_PATH) == 1  # a bad artifact is not retried
    assert_one_failure(events, client._core.artifact_location, ArtifactParseError, "not valid JSON")
    assert_still_serving(client)
    assert_recovers(client, log, cdn, seen=3)


def test_wrong_major_version_is_rejected(started: Any) -> None:
    client, log, cdn = started
    cdn.put_json(ARTIFACT_PATH, make_artifact("two", version="2.0.0"))
    events = cycle_events(client, log)
    assert_one_failure(
        events, client._core.artifact_location, ArtifactVersionError, "'2.0.0'", "major version"
    )
    assert_still_serving(client)


def test_missing_keys_are_rejected(started: Any) -> None:
    client, log, cdn = started
    broken = make_artifact("two")
    del broken["rules"]
    cdn.put_json(ARTIFACT_PATH, broken)
    events = cycle_events(client, log)
    assert_one_failure(events, client._core.artifact_location, ArtifactSchemaError, "rules")
    assert_still_serving(client)


def test_refused_connection_fails_once_and_recovers_on_a_new_server(
    cdn_server: CdnServer, delivery_server: DeliveryServer
) -> None:
    cdn_server.put_json(ARTIFACT_PATH, make_artifact("one"))
    port = cdn_server.port
    log = EventLog()
    with ready_client(on_device_options(cdn_server, delivery_server, log=log)) as client:
        log.wait_for(2)
        cdn_server.stop()  # nothing listens on the port any more: connections are refused
        events = cycle_events(client, log)
        failure = assert_one_failure(
            events, client._core.artifact_location, ArtifactDownloadError, "failed"
        )
        assert "ConnectError" in str(failure.error)
        assert_still_serving(client)
        with CdnServer(port) as revived:
            revived.put_json(ARTIFACT_PATH, make_artifact("two"))
            assert client.refresh_artifact() is True
            assert_still_serving(client, "two")
        assert [str(e.type) for e in log.settle(client)[3:]] == ["artifact_download_succeeded"]


BIN_PATH = "/acmeclient/production/v1/rules.bin"


def test_rules_bin_with_a_wrong_key_is_rejected(
    cdn_server: CdnServer, delivery_server: DeliveryServer
) -> None:
    good = obfuscate(orjson.dumps(make_artifact("one")), ORG)
    cdn_server.put(BIN_PATH, good, content_type="application/octet-stream")
    log = EventLog()
    options = on_device_options(
        cdn_server, delivery_server, path=BIN_PATH, log=log, artifact_format="bin"
    )
    with ready_client(options) as client:
        assert_still_serving(client)
        log.wait_for(2)
        other_key = b"Z" * (HEADER_SIZE - 8)
        wrong = good[:8] + other_key + good[HEADER_SIZE:]
        cdn_server.put(BIN_PATH, wrong, content_type="application/octet-stream")
        events = cycle_events(client, log)
        assert_one_failure(
            events,
            client._core.artifact_location,
            DeobfuscationError,
            "organization id is probably wrong",
        )
        assert_still_serving(client)


def test_a_raising_callback_does_not_turn_a_good_download_into_a_failure(
    cdn_server: CdnServer, delivery_server: DeliveryServer, caplog: pytest.LogCaptureFixture
) -> None:
    cdn_server.put_json(ARTIFACT_PATH, make_artifact("one"))
    log = EventLog()
    options = on_device_options(cdn_server, delivery_server, log=log)

    def broken(event: Any) -> None:
        raise RuntimeError("user bug")

    options["events"] = {**options["events"], "artifact_download_success": broken}
    with caplog.at_level(logging.ERROR), ready_client(options) as client:
        events = log.wait_for(2)
        log.settle(client)
        assert [str(e.type) for e in events] == ["client_ready", "artifact_download_succeeded"]
        assert_still_serving(client)
    records = [r for r in caplog.records if "raised" in r.getMessage()]
    assert records and records[0].exc_info is not None
    assert "user bug" in str(records[0].exc_info[1])
    assert "artifact_download_failed" not in log.types()


def test_a_failed_first_download_recovers_and_fires_client_ready_then(
    cdn_server: CdnServer, delivery_server: DeliveryServer
) -> None:
    cdn_server.put_json(ARTIFACT_PATH, make_artifact("one"))
    cdn_server.set_fault(Fault.error(503), ARTIFACT_PATH)
    log = EventLog()
    client = targetkit.create(
        on_device_options(cdn_server, delivery_server, log=log, maximum_wait_ready=0)
    )
    with client:
        events = log.wait_for(1)
        assert [str(e.type) for e in events] == ["artifact_download_failed"]
        assert client.is_ready is False
        with pytest.raises(targetkit.NotReadyError, match="not ready"):
            client.get_offers(mbox_request())
        cdn_server.clear_faults()
        assert client.refresh_artifact() is True
        assert client.is_ready
        events = log.settle(client)
        assert [str(e.type) for e in events] == [
            "artifact_download_failed",
            "client_ready",
            "artifact_download_succeeded",
        ]
        assert_still_serving(client)
