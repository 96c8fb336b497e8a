"""Server-side delivery through the public clients, against a real (validating) Delivery
API stand-in on 127.0.0.1: request building, envelope, errors, the total timeout,
telemetry, callbacks and send_notifications."""

from __future__ import annotations

import asyncio
import copy
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

import targetkit
from targetkit.delivery.request import delivery_url
from targetkit.errors import DeliveryError, DeliveryTimeoutError, InvalidRequestError
from targetkit.options import parse_options
from tests.servers import DeliveryServer, Fault, HandlerResult, RecordedRequest, target_error

ORG = "65453EA95A70434F0A495D34@AdobeOrg"


def options(server: DeliveryServer, **extra: Any) -> dict[str, Any]:
    return {
        "client": "targetkit",
        "organization_id": ORG,
        "server_domain": server.url,
        "timeout": 2000,
        **extra,
    }


def offers_handler(contents: dict[str, Any]) -> Callable[[RecordedRequest], HandlerResult]:
    """Answer each executed mbox named in ``contents`` with a json offer, tokens and
    analytics, the way the edge does."""

    def handle(request: RecordedRequest) -> HandlerResult:
        body = request.json
        mboxes = []
        for mbox in (body.get("execute") or {}).get("mboxes") or []:
            answer: dict[str, Any] = {"index": mbox.get("index"), "name": mbox["name"]}
            if mbox["name"] in contents:
                answer["options"] = [
                    {
                        "type": "json",
                        "content": contents[mbox["name"]],
                        "responseTokens": {"activity.id": 1, "option.name": "A"},
                    }
                ]
                answer["analytics"] = {"payload": {"pe": "tnt", "tnta": "1:0:0:0"}}
                answer["trace"] = {"clientCode": "targetkit"}
            mboxes.append(answer)
        visitor = dict(body.get("id") or {})
        visitor.setdefault("tntId", "abc.35_0")
        return 200, {
            "status": 200,
            "requestId": body.get("requestId"),
            "client": "targetkit",
            "id": visitor,
            "edgeHost": "mboxedge35.tt.omtrdc.net",
            "execute": {"mboxes": mboxes},
        }

    return handle


def mbox_request(*names: str) -> dict[str, Any]:
    return {"execute": {"mboxes": [{"name": n, "index": i} for i, n in enumerate(names)]}}


@pytest.fixture
def client(validating_delivery_server: DeliveryServer) -> Iterator[Any]:
    with targetkit.create(options(validating_delivery_server)) as made:
        yield made


# -- the request ----------------------------------------------------------------------


def test_request_is_built_from_the_options(validating_delivery_server: DeliveryServer) -> None:
    server = validating_delivery_server
    extra = {"property_token": "prop-1", "environment_id": 42, "version": "2.4.0"}
    with targetkit.create(options(server, **extra)) as client:
        client.get_offers(
            {
                "request": mbox_request("hero"),
                "session_id": "session-1",
                "consumer_id": "checkout",
                "customer_ids": [
                    {"id": "u1", "integrationCode": "crm", "authenticatedState": "authenticated"}
                ],
            }
        )
    [received] = server.delivery_requests()
    assert received.query == {
        "client": "targetkit",
        "imsOrgId": ORG,
        "sessionId": "session-1",
        "version": "2.4.0",
    }
    body = received.json
    assert body["id"]["customerIds"] == [
        {"id": "u1", "integrationCode": "crm", "authenticatedState": "authenticated"}
    ]
    assert body["property"] == {"token": "prop-1"}
    assert body["environmentId"] == 42
    assert isinstance(body["context"]["timeOffsetInMinutes"], int)
    assert body["context"]["channel"] == "web"
    analytics = body["experienceCloud"]["analytics"]
    assert analytics["logging"] == "server_side" and len(analytics["supplementalDataId"]) == 33
    assert received.header("x-request-id") == body["requestId"]
    assert server.schema_errors == []


def test_caller_values_are_kept(client: Any, validating_delivery_server: DeliveryServer) -> None:
    context = {"channel": "web", "timeOffsetInMinutes": 330}
    request = {**mbox_request("hero"), "requestId": "my-request", "context": context}
    before = copy.deepcopy(request)
    result = client.get_offers({"request": request})
    body = validating_delivery_server.requests_json()[0]
    assert body["requestId"] == "my-request" == result["response"]["requestId"]
    assert body["context"]["timeOffsetInMinutes"] == 330
    assert "experienceCloud" not in body  # no consumer id: nothing to stitch
    assert request == before  # the caller's request is never mutated
    assert validating_delivery_server.schema_errors == []


def test_mbox_cookie_gives_session_and_visitor(
    client: Any, validating_delivery_server: DeliveryServer
) -> None:
    expires = int(time.time()) + 600
    cookie = f"session#from-cookie#{expires}|PC#visitor-1.28_0#{expires}"
    result = client.get_offers(
        {"request": mbox_request("hero"), "target_cookie": cookie, "session_id": "ignored"}
    )
    [received] = validating_delivery_server.delivery_requests()
    assert received.query["sessionId"] == "from-cookie"
    assert received.json["id"]["tntId"] == "visitor-1.28_0"
    assert result["target_location_hint_cookie"] == {
        "name": "mboxEdgeCluster",
        "value": "28",
        "maxAge": 1860,
    }


def test_invalid_session_id_is_refused_before_any_call(
    client: Any, validating_delivery_server: DeliveryServer
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        client.get_offers({"request": mbox_request("hero"), "session_id": "a b/c"})
    assert caught.value.field == "options.session_id"
    assert validating_delivery_server.delivery_requests() == []


@pytest.mark.parametrize(
    ("extra", "cluster", "expected"),
    [
        ({"server_domain": "edge.example.com"}, "35", "https://edge.example.com"),
        ({"server_domain": "http://127.0.0.1:9"}, "35", "http://127.0.0.1:9"),
        ({}, "35", "https://mboxedge35.tt.omtrdc.net"),
        ({"secure": False}, "35", "http://mboxedge35.tt.omtrdc.net"),
        ({}, None, "https://targetkit.tt.omtrdc.net"),
        ({}, "ev@il.com/x", "https://targetkit.tt.omtrdc.net"),  # a cookie cannot pick hosts
    ],
)
def test_host_selection(extra: dict[str, Any], cluster: str | None, expected: str) -> None:
    parsed = parse_options({"client": "targetkit", "organization_id": ORG, **extra})
    assert delivery_url(parsed, cluster) == expected + "/rest/v1/delivery"


# -- the envelope ----------------------------------------------------------------------


def test_envelope_keeps_the_reference_keys(validating_delivery_server: DeliveryServer) -> None:
    server = validating_delivery_server
    server.set_handler(offers_handler({"hero": {"color": "red"}}))
    with targetkit.create(options(server)) as client:
        result = client.get_offers({"request": mbox_request("hero", "other")})
    assert set(result) == {
        "request",
        "response",
        "target_cookie",
        "target_location_hint_cookie",
        "response_tokens",
        "analytics_details",
        "trace",
        "meta",
    }
    assert result["response_tokens"] == [{"activity.id": 1, "option.name": "A"}]
    assert result["analytics_details"] == [{"payload": {"pe": "tnt", "tnta": "1:0:0:0"}}]
    assert result["trace"] == [{"clientCode": "targetkit"}]
    assert result["meta"] == {
        "decisioning_method": "server-side",
        "remote_mboxes": [],
        "remote_views": [],
    }
    cookie = result["target_cookie"]
    assert cookie["name"] == "mbox"
    assert 63244800 <= cookie["maxAge"] <= 63244801  # PC life, rounded up as the SDKs do
    assert "|PC#abc.35_0#" in cookie["value"]
    assert result["target_location_hint_cookie"]["value"] == "35"
    assert server.schema_errors == []


def test_the_edge_cluster_of_the_first_answer_is_kept_for_later_calls(
    delivery_server: DeliveryServer,
) -> None:
    """Without a configured hint, the first answer's edge (mboxedge35) becomes the hint:
    a later call without cookie or tntId goes to cluster 35, even when another edge
    answers it, and on-device visitors get tntIds of that cluster."""
    from pathlib import Path

    artifact = Path(__file__).parent / "conformance" / "artifacts" / "TEST_ARTIFACT_AB_SIMPLE.json"
    hybrid = options(
        delivery_server,
        decisioning_method="hybrid",
        artifact_payload=artifact.read_bytes(),
        telemetry_enabled=False,
    )
    remote = {"request": {"execute": {"mboxes": [{"name": "not-in-the-artifact"}]}}}
    local = {"request": {"execute": {"mboxes": [{"name": "mbox-magician"}]}}}
    with targetkit.create(hybrid) as client:
        assert not client.get_offers(local)["request"]["id"]["tntId"].endswith("_0")
        assert client.get_offers(remote)["target_location_hint_cookie"]["value"] == "35"
        delivery_server.edge_host = "mboxedge36.tt.omtrdc.net"
        later = client.get_offers(remote)
        assert later["target_location_hint_cookie"]["value"] == "35"
        decided = client.get_offers(local)
    assert decided["meta"]["decisioning_method"] == "on-device"
    assert decided["request"]["id"]["tntId"].endswith(".35_0")


def test_a_configured_hint_is_not_replaced_by_the_answering_edge(
    delivery_server: DeliveryServer,
) -> None:
    request = {"request": {"execute": {"mboxes": [{"name": "m"}]}}}
    with targetkit.create(options(delivery_server, target_location_hint="28")) as client:
        client.get_offers(request)
        assert client.get_offers(request)["target_location_hint_cookie"]["value"] == "28"


# -- errors ----------------------------------------------------------------------------


def test_target_error_carries_status_message_and_request_id(
    client: Any, validating_delivery_server: DeliveryServer
) -> None:
    validating_delivery_server.set_handler(lambda r: (400, {"status": 400, "message": "bad mbox"}))
    with pytest.raises(DeliveryError) as caught:
        client.get_offers({"request": {**mbox_request("hero"), "requestId": "req-9"}})
    assert caught.value.status == 400
    assert caught.value.message == "bad mbox"
    assert caught.value.request_id == "req-9"


@pytest.mark.parametrize(
    ("fault", "status"),
    [(Fault.error(503), 503), (Fault.connection_reset(), None), (Fault.bad_json(), 200)],
)
def test_http_failures_are_typed(
    client: Any, validating_delivery_server: DeliveryServer, fault: Fault, status: int | None
) -> None:
    validating_delivery_server.fail_next(1, fault)
    with pytest.raises(DeliveryError) as caught:
        client.get_offers({"request": mbox_request("hero")})
    assert caught.value.status == status
    assert caught.value.request_id


# -- the timeout is a total deadline ---------------------------------------------------


class TricklingServer(DeliveryServer):
    """Answers one byte every ``interval_s``: each read succeeds, the answer never ends
    in time. ``headers_too`` trickles the status line and headers as well."""

    def __init__(self, interval_s: float, *, headers_too: bool) -> None:
        super().__init__()
        self.interval_s = interval_s
        self.headers_too = headers_too

    def _serve(self, h: Any) -> None:  # replaces the normal answer
        self._record(h)
        body = b'{"status": 200}' + b" " * 100
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        head += b"Content-Length: %d\r\n\r\n" % len(body)
        data = head + body if self.headers_too else body
        h.close_connection = True
        try:
            if not self.headers_too:
                h.wfile.write(head)
            for i in range(len(data)):
                if self._stop.wait(self.interval_s):
                    return
                h.wfile.write(data[i : i + 1])
                h.wfile.flush()
        except OSError:
            return


@pytest.fixture(params=[False, True], ids=["body", "headers"])
def trickling(request: pytest.FixtureRequest) -> Iterator[TricklingServer]:
    with TricklingServer(0.02, headers_too=request.param) as server:
        yield server


def test_trickling_server_defeats_a_per_read_timeout(trickling: TricklingServer) -> None:
    """Why the deadline is needed: httpx alone waits for the whole trickle."""
    started = time.monotonic()
    with httpx.Client(timeout=0.2) as plain:
        plain.post(trickling.url + "/rest/v1/delivery", json={})
    assert time.monotonic() - started > 0.6


TIMEOUT_MS = 300


def test_sync_timeout_is_enforced_within_100_ms(trickling: TricklingServer) -> None:
    with targetkit.create(options(trickling, timeout=TIMEOUT_MS)) as client:
        started = time.monotonic()
        with pytest.raises(DeliveryTimeoutError):
            client.get_offers({"request": mbox_request("hero")})
        elapsed_ms = (time.monotonic() - started) * 1000
    assert TIMEOUT_MS - 5 <= elapsed_ms < TIMEOUT_MS + 100


def test_async_timeout_is_enforced_within_100_ms(trickling: TricklingServer) -> None:
    async def main() -> float:
        async with targetkit.AsyncTargetClient.create(options(trickling, timeout=TIMEOUT_MS)) as c:
            started = time.monotonic()
            with pytest.raises(DeliveryTimeoutError):
                await c.get_offers({"request": mbox_request("hero")})
            return (time.monotonic() - started) * 1000

    elapsed_ms = asyncio.run(main())
    assert TIMEOUT_MS - 5 <= elapsed_ms < TIMEOUT_MS + 100


# -- telemetry ---------------------------------------------------------------------------


def test_telemetry_rides_on_the_next_call_and_survives_a_failure(
    client: Any, validating_delivery_server: DeliveryServer
) -> None:
    server = validating_delivery_server
    first = client.get_offers({"request": mbox_request("hero")})
    server.fail_next(1, Fault.error(500))
    with pytest.raises(DeliveryError):
        client.get_offers({"request": mbox_request("hero")})
    client.get_offers({"request": mbox_request("hero")})
    bodies = server.requests_json()
    assert "telemetry" not in bodies[0]
    for body in bodies[1:]:  # the failed call carried it; the next one carries it again
        [entry] = body["telemetry"]["entries"]
        assert entry["requestId"] == first["request"]["requestId"]
        assert entry["mode"] == "edge"
        assert entry["features"] == {"executeMboxCount": 1, "decisioningMethod": "server-side"}
    assert server.schema_errors == []


# -- callbacks, notifications, attributes ----------------------------------------------


def test_reference_callbacks_still_work(client: Any) -> None:
    done = threading.Event()
    got: dict[str, Any] = {}

    def callback(result: Any) -> None:
        got["result"] = result
        done.set()

    def err_callback(err: BaseException) -> None:
        got["error"] = err
        done.set()

    call = {"request": mbox_request("hero"), "callback": callback, "err_callback": err_callback}
    assert client.get_offers(call) is None
    assert done.wait(5)
    assert got["result"]["meta"]["decisioning_method"] == "server-side"
    assert "error" not in got


def test_reference_err_callback_gets_the_typed_error(
    client: Any, validating_delivery_server: DeliveryServer
) -> None:
    validating_delivery_server.set_fault(Fault.error(502))
    errors: list[BaseException] = []
    done = threading.Event()
    client.get_offers(
        {
            "request": mbox_request("hero"),
            "callback": lambda r: done.set(),
            "err_callback": lambda e: (errors.append(e), done.set()),
        }
    )
    assert done.wait(5)
    assert isinstance(errors[0], DeliveryError) and errors[0].status == 502


@pytest.mark.parametrize("method", ["server-side", "on-device", "hybrid"])
def test_send_notifications_in_every_mode(
    validating_delivery_server: DeliveryServer, method: str
) -> None:
    server = validating_delivery_server
    extra: dict[str, Any] = {"decisioning_method": method}
    if method != "server-side":
        extra["artifact_payload"] = {"version": "1.0.0", "meta": {}, "rules": {}}
    note = {"id": "n1", "type": "click", "timestamp": 1, "mbox": {"name": "hero"}}
    with targetkit.create(options(server, **extra)) as client:
        result = client.send_notifications({"request": {"notifications": [note]}})
        with pytest.raises(InvalidRequestError):
            client.send_notifications({"request": {"notifications": []}})
    assert server.notifications() == [note]
    assert result["response"]["notifications"] == [{"id": "n1"}]
    assert result["meta"]["decisioning_method"] == "server-side"
    assert server.schema_errors == []


def test_attributes_in_server_side_mode(validating_delivery_server: DeliveryServer) -> None:
    validating_delivery_server.set_handler(
        offers_handler({"flags": {"on": True, "limit": 3, "ratio": 0.5, "name": "x"}})
    )
    with targetkit.create(options(validating_delivery_server)) as client:
        attributes = client.get_attributes(["flags"])
    assert attributes.get_bool("flags", "on") is True
    assert attributes.get_int("flags", "limit") == 3
    assert attributes.get_float("flags", "ratio") == 0.5
    assert attributes.get_str("flags", "name") == "x"
    assert attributes.get_str("flags", "missing", "dflt") == "dflt"
    assert attributes.as_object() == {"flags": {"on": True, "limit": 3, "ratio": 0.5, "name": "x"}}
    assert attributes.get_response()["meta"]["decisioning_method"] == "server-side"


def test_no_debug_noise_for_a_plain_call(client: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="targetkit"):
        client.get_offers({"request": mbox_request("hero")})
    assert caplog.records == []


def test_error_body_helper_is_target_shaped() -> None:
    # The stand-in's error shape is what delivery_error parses (guards the fixture itself).
    assert target_error(400, "x").body == b'{"status": 400, "message": "x"}'
