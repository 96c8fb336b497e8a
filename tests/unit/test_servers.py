"""The test servers themselves: real sockets, real httpx clients, every fault kind."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.openapi_schema import (
    spec_errata,
    validate_delivery_query,
    validate_delivery_request,
    validate_delivery_response,
    validate_error_body,
)
from tests.servers import (
    CdnServer,
    DeliveryServer,
    Fault,
    RecordedRequest,
    strong_etag,
)

QUICK = httpx.Timeout(0.3)
DELIVERY = "/rest/v1/delivery"
QUERY = {"imsOrgId": "ORG@AdobeOrg", "sessionId": "session-1", "client": "acme"}
BROKEN_CONNECTION = (httpx.RemoteProtocolError, httpx.ReadError)


def valid_request() -> dict[str, Any]:
    return {
        "requestId": "req-1",
        "id": {
            "tntId": "abc.28_0",
            "customerIds": [
                {"id": "c1", "integrationCode": "crm", "authenticatedState": "authenticated"}
            ],
        },
        "context": {
            "channel": "web",
            "address": {"url": "https://example.com/page"},
            "userAgent": "Mozilla/5.0",
            "screen": {"width": 1200, "height": 800},
        },
        "execute": {
            "pageLoad": {"parameters": {"a": "1"}},
            "mboxes": [{"index": 0, "name": "hero", "parameters": {"color": "red"}}],
        },
        "prefetch": {"mboxes": [{"index": 1, "name": "promo"}]},
        "notifications": [
            {
                "id": "n1",
                "type": "display",
                "timestamp": 1_700_000_000_000,
                "tokens": ["t1"],
                "mbox": {"name": "promo"},
            }
        ],
    }


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=QUICK) as c:
        yield c


# -- lifecycle and request log --------------------------------------------------------------------


def test_url_host_and_context_manager() -> None:
    before = set(threading.enumerate())
    with CdnServer() as server:
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.host == f"127.0.0.1:{server.port}"
        assert httpx.get(f"{server.url}/missing").status_code == 404
    assert set(threading.enumerate()) <= before


def test_explicit_port_and_restart(unused_port: int) -> None:
    server = CdnServer(port=unused_port).start()
    assert server.port == unused_port
    server.stop()
    server.stop()  # idempotent
    with server:
        assert httpx.get(f"{server.url}/x").status_code == 404


def test_stop_is_quick_and_leaves_no_thread_with_a_hang_in_progress() -> None:
    before = set(threading.enumerate())
    server = CdnServer().start()
    server.set_fault(Fault.hung())
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            httpx.get(f"{server.url}/x", timeout=10)
        except httpx.HTTPError as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    server.wait_for_requests(1, timeout_s=2)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1.0
    caller.join(2)
    assert outcome and isinstance(outcome[0], BROKEN_CONNECTION)
    # Only the server's own threads count: other tests' clients may still be winding down.
    leftover = [
        t
        for t in set(threading.enumerate()) - before
        if t.name.startswith("CdnServer:") or "process_request" in t.name
    ]
    assert leftover == []


def test_stop_closes_idle_keep_alive_connections(cdn_server: CdnServer) -> None:
    cdn_server.put("/a", b"x")
    with httpx.Client() as c:
        c.get(f"{cdn_server.url}/a")  # the connection stays pooled and open
        started = time.monotonic()
        cdn_server.stop()
        assert time.monotonic() - started < 1.0


def test_request_log_records_everything(
    delivery_server: DeliveryServer, client: httpx.Client
) -> None:
    client.post(
        f"{delivery_server.url}{DELIVERY}",
        params=QUERY,
        json={"context": {"channel": "web"}},
        headers={"X-Custom": "yes"},
    )
    (req,) = delivery_server.wait_for_requests(1)
    assert req.method == "POST" and req.path == DELIVERY
    assert req.query == QUERY
    assert req.header("x-custom") == "yes" and req.headers["content-type"] == "application/json"
    assert req.json == {"context": {"channel": "web"}}
    assert req.body.startswith(b"{")
    assert req.seq == 0 and req.fault is None
    assert req.received_at <= time.monotonic()


def test_keep_alive_reuses_the_connection(cdn_server: CdnServer, client: httpx.Client) -> None:
    cdn_server.put("/a", b"x")
    for _ in range(3):
        client.get(f"{cdn_server.url}/a")
    assert len({r.peer for r in cdn_server.requests}) == 1


def test_wait_for_requests_times_out_and_reset_clears(cdn_server: CdnServer) -> None:
    with pytest.raises(TimeoutError):
        cdn_server.wait_for_requests(1, timeout_s=0.05)
    httpx.get(f"{cdn_server.url}/a")
    cdn_server.fail_next(5, Fault.error(500))
    cdn_server.reset()
    assert cdn_server.requests == []
    assert httpx.get(f"{cdn_server.url}/a").status_code == 404  # the queued fault is gone too


def test_wait_for_requests_wakes_on_arrival(cdn_server: CdnServer) -> None:
    timer = threading.Timer(0.05, lambda: httpx.get(f"{cdn_server.url}/late"))
    timer.start()
    got = cdn_server.wait_for_requests(1, timeout_s=2, path="/late")
    timer.join()
    assert [r.path for r in got] == ["/late"]


def test_concurrent_requests_are_all_logged(cdn_server: CdnServer) -> None:
    cdn_server.put("/a", b"x")
    with httpx.Client() as c, ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: c.get(f"{cdn_server.url}/a").status_code, range(40)))
    assert statuses == [200] * 40
    assert cdn_server.count("/a") == 40
    assert sorted(r.seq for r in cdn_server.requests) == list(range(40))


# -- CDN ------------------------------------------------------------------------------------------


def test_cdn_etag_and_304(cdn_server: CdnServer, client: httpx.Client) -> None:
    tag = cdn_server.put("/v1/rules.json", b'{"rules": []}')
    assert tag == strong_etag(b'{"rules": []}') and tag.startswith('"')
    first = client.get(f"{cdn_server.url}/v1/rules.json")
    assert first.status_code == 200 and first.headers["etag"] == tag
    assert first.headers["content-type"] == "application/json"
    again = client.get(f"{cdn_server.url}/v1/rules.json", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
    weak = client.get(f"{cdn_server.url}/v1/rules.json", headers={"If-None-Match": f"W/{tag}"})
    assert weak.status_code == 304
    star = client.get(f"{cdn_server.url}/v1/rules.json", headers={"If-None-Match": "*"})
    assert star.status_code == 304
    stale = client.get(f"{cdn_server.url}/v1/rules.json", headers={"If-None-Match": '"old"'})
    assert stale.status_code == 200 and stale.content == b'{"rules": []}'
    assert cdn_server.count("/v1/rules.json") == 5
    assert cdn_server.path_counts() == {"/v1/rules.json": 5}


def test_cdn_new_content_new_etag_custom_etag_head_and_remove(
    cdn_server: CdnServer, client: httpx.Client
) -> None:
    old = cdn_server.put("/a", b"one")
    new = cdn_server.put("/a", b"two")
    assert old != new
    assert cdn_server.put("/b", b"x", content_type="text/plain", etag="v7") == '"v7"'
    head = client.head(f"{cdn_server.url}/b")
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == '"v7"'
    assert head.headers["content-length"] == "1"
    head_304 = client.head(f"{cdn_server.url}/b", headers={"If-None-Match": '"v7"'})
    assert head_304.status_code == 304
    cdn_server.remove("/b")
    assert client.get(f"{cdn_server.url}/b").status_code == 404


def test_geo_by_forwarded_ip(cdn_server: CdnServer, client: httpx.Client) -> None:
    default = {"x-geo-country-code": "US"}
    paris = {"x-geo-country-code": "FR", "x-geo-city": "PARIS", "x-geo-latitude": 48.86}
    cdn_server.set_geo(default)
    cdn_server.set_geo(paris, for_ip="203.0.113.7")
    url = f"{cdn_server.url}/v1/geo"
    assert client.get(url, headers={"x-forwarded-for": "203.0.113.7"}).json() == paris
    assert client.get(url, headers={"x-forwarded-for": "203.0.113.7, 10.0.0.1"}).json() == paris
    assert client.get(url).json() == default
    assert client.get(url, headers={"x-forwarded-for": "198.51.100.1"}).json() == default
    assert [r.header("x-forwarded-for") for r in cdn_server.requests_for("/v1/geo")][:1] == [
        "203.0.113.7"
    ]
    cdn_server.clear_geo()
    assert client.get(url).status_code == 404


# -- faults (sync) --------------------------------------------------------------------------------


def test_reset_fault(cdn_server: CdnServer, client: httpx.Client) -> None:
    cdn_server.put("/a", b"x")
    cdn_server.fail_next(1, Fault.connection_reset())
    with pytest.raises(BROKEN_CONNECTION):
        client.get(f"{cdn_server.url}/a")
    assert client.get(f"{cdn_server.url}/a").status_code == 200
    assert [r.fault for r in cdn_server.requests] == [Fault(kind="reset"), None]


def test_truncate_fault(cdn_server: CdnServer, client: httpx.Client) -> None:
    cdn_server.put("/a", b'{"big": "artifact"}')
    cdn_server.fail_next(1, Fault.truncated())
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(f"{cdn_server.url}/a")
    assert client.get(f"{cdn_server.url}/a").json() == {"big": "artifact"}


def test_delay_beyond_timeout_and_hang(cdn_server: CdnServer, client: httpx.Client) -> None:
    cdn_server.put("/a", b"x")
    cdn_server.fail_next(1, Fault.delay(1.0))
    with pytest.raises(httpx.ReadTimeout):
        client.get(f"{cdn_server.url}/a")
    cdn_server.fail_next(1, Fault.hung())
    with pytest.raises(httpx.ReadTimeout):
        client.get(f"{cdn_server.url}/a")
    assert client.get(f"{cdn_server.url}/a").status_code == 200


def test_short_delay_still_answers(cdn_server: CdnServer, client: httpx.Client) -> None:
    cdn_server.put("/a", b"x")
    cdn_server.fail_next(1, Fault(delay_s=0.05, headers={"X-Slow": "1"}))
    started = time.monotonic()
    response = client.get(f"{cdn_server.url}/a")
    assert time.monotonic() - started >= 0.05
    assert response.status_code == 200 and response.headers["x-slow"] == "1"


def test_invalid_json_fault(delivery_server: DeliveryServer, client: httpx.Client) -> None:
    delivery_server.fail_next(1, Fault.bad_json())
    response = client.post(f"{delivery_server.url}{DELIVERY}", params=QUERY, json=valid_request())
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    with pytest.raises(ValueError):
        response.json()


def test_status_fault_uses_target_error_shape(
    delivery_server: DeliveryServer, client: httpx.Client
) -> None:
    delivery_server.fail_next(2, Fault(status=503, headers={"Retry-After": "1"}), path=DELIVERY)
    url = f"{delivery_server.url}{DELIVERY}"
    for _ in range(2):
        response = client.post(url, params=QUERY, json=valid_request())
        assert response.status_code == 503 and response.headers["retry-after"] == "1"
        assert response.json() == {"status": 503, "message": "Service Unavailable"}
        assert validate_error_body(response.json()) == []
    assert client.post(url, params=QUERY, json=valid_request()).status_code == 200


def test_persistent_fault_by_path_glob(cdn_server: CdnServer, client: httpx.Client) -> None:
    cdn_server.put("/v1/a.json", b"a")
    cdn_server.put("/other", b"o")
    cdn_server.set_fault(Fault.error(500, b"boom"), path="/v1/*")
    for _ in range(3):
        response = client.get(f"{cdn_server.url}/v1/a.json")
        assert (response.status_code, response.content) == (500, b"boom")
    assert client.get(f"{cdn_server.url}/other").status_code == 200
    cdn_server.set_fault(None, path="/v1/*")
    assert client.get(f"{cdn_server.url}/v1/a.json").status_code == 200
    cdn_server.set_fault(Fault.error(502))
    assert client.get(f"{cdn_server.url}/other").status_code == 502
    cdn_server.clear_faults()
    assert client.get(f"{cdn_server.url}/other").status_code == 200


def test_queued_faults_take_precedence_and_apply_in_order(
    cdn_server: CdnServer, client: httpx.Client
) -> None:
    cdn_server.put("/a", b"x")
    cdn_server.set_fault(Fault.error(500))
    cdn_server.fail_next(1, Fault.error(429))
    cdn_server.fail_next(1, Fault.error(418))
    codes = [client.get(f"{cdn_server.url}/a").status_code for _ in range(3)]
    assert codes == [429, 418, 500]


def _failure_pattern(seed: int, rate: float = 0.5, n: int = 30) -> list[int]:
    with CdnServer() as server, httpx.Client(timeout=QUICK) as c:
        server.put("/a", b"x")
        server.set_error_rate(rate, Fault.error(500), seed=seed)
        return [c.get(f"{server.url}/a").status_code for _ in range(n)]


def test_error_rate_is_deterministic_by_seed() -> None:
    first, second, other = _failure_pattern(7), _failure_pattern(7), _failure_pattern(8)
    assert first == second
    assert first != other
    assert 5 < first.count(500) < 25
    assert set(_failure_pattern(1, rate=0.0, n=5)) == {200}
    assert set(_failure_pattern(1, rate=1.0, n=5)) == {500}


# -- faults (async) -------------------------------------------------------------------------------


def test_async_client_sees_every_fault(cdn_server: CdnServer) -> None:
    tag = cdn_server.put("/a", b'{"k": 1}')

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=cdn_server.url, timeout=QUICK) as c:
            assert (await c.get("/a", headers={"If-None-Match": tag})).status_code == 304
            cdn_server.fail_next(1, Fault.connection_reset())
            with pytest.raises(BROKEN_CONNECTION):
                await c.get("/a")
            cdn_server.fail_next(1, Fault.truncated())
            with pytest.raises(httpx.RemoteProtocolError):
                await c.get("/a")
            cdn_server.fail_next(1, Fault.delay(1.0))
            with pytest.raises(httpx.ReadTimeout):
                await c.get("/a")
            cdn_server.fail_next(1, Fault.hung())
            with pytest.raises(httpx.ReadTimeout):
                await c.get("/a")
            responses = await asyncio.gather(*(c.get("/a") for _ in range(10)))
            assert {r.status_code for r in responses} == {200}

    asyncio.run(scenario())


# -- Delivery API ---------------------------------------------------------------------------------


def test_default_delivery_response(delivery_server: DeliveryServer, client: httpx.Client) -> None:
    body = valid_request()
    response = client.post(f"{delivery_server.url}{DELIVERY}", params=QUERY, json=body)
    payload = response.json()
    assert response.status_code == 200
    assert payload["status"] == 200 and payload["requestId"] == "req-1"
    assert payload["client"] == "acme" and payload["id"] == body["id"]
    assert payload["edgeHost"] == delivery_server.edge_host
    assert payload["execute"]["mboxes"] == [{"index": 0, "name": "hero"}]
    assert payload["notifications"] == [{"id": "n1"}]
    assert validate_delivery_response(payload) == []


def test_default_response_generates_ids(delivery_server: DeliveryServer) -> None:
    url = f"{delivery_server.url}{DELIVERY}"
    payload = httpx.post(url, json={"context": {"channel": "web"}}).json()
    assert payload["id"]["tntId"] and payload["requestId"]
    assert payload["client"] == delivery_server.client_code
    beacon = httpx.post(url, json={"context": {"channel": "web", "beacon": True}})
    assert beacon.status_code == 204 and beacon.content == b""


def test_notifications_and_requests_json(delivery_server: DeliveryServer) -> None:
    url = f"{delivery_server.url}{DELIVERY}"
    bodies = [
        {"context": {"channel": "web"}, "notifications": [{"id": "a"}, {"id": "b"}]},
        {"context": {"channel": "web"}},
        {"context": {"channel": "web"}, "notifications": [{"id": "c"}]},
    ]
    with httpx.Client() as c:
        for body in bodies:
            c.post(url, params=QUERY, json=body)
    assert delivery_server.requests_json() == bodies
    assert [n["id"] for n in delivery_server.notifications()] == ["a", "b", "c"]


def test_custom_handler(delivery_server: DeliveryServer, client: httpx.Client) -> None:
    url = f"{delivery_server.url}{DELIVERY}"

    def handler(req: RecordedRequest) -> tuple[int, dict[str, Any]]:
        response = delivery_server.default_response(req)
        response["execute"] = {"mboxes": [{"index": 0, "name": "hero", "options": []}]}
        return 200, response

    delivery_server.set_handler(handler)
    assert client.post(url, json=valid_request()).json()["execute"]["mboxes"][0]["options"] == []
    delivery_server.set_handler(lambda req: (400, {"status": 400, "message": "bad tntId"}))
    response = client.post(url, json=valid_request())
    assert (response.status_code, response.json()["message"]) == (400, "bad tntId")
    delivery_server.set_handler(lambda req: (200, b"raw", {"X-Extra": "1"}))
    response = client.post(url, json=valid_request())
    assert (response.content, response.headers["x-extra"]) == (b"raw", "1")
    delivery_server.set_handler(None)
    assert client.post(url, json=valid_request()).json()["requestId"] == "req-1"


def test_failing_handler_answers_500_and_is_recorded(
    delivery_server: DeliveryServer, client: httpx.Client
) -> None:
    def broken(req: RecordedRequest) -> tuple[int, dict[str, Any]]:
        raise RuntimeError("handler bug")

    delivery_server.set_handler(broken)
    response = client.post(f"{delivery_server.url}{DELIVERY}", json=valid_request())
    assert response.status_code == 500 and response.json()["status"] == 500
    assert "handler bug" in delivery_server.errors[0]
    delivery_server.errors.clear()  # the fixture fails tests that leave server errors behind


def test_unknown_delivery_route(delivery_server: DeliveryServer, client: httpx.Client) -> None:
    assert client.get(f"{delivery_server.url}{DELIVERY}").status_code == 405
    response = client.post(f"{delivery_server.url}/rest/v2/other", json={})
    assert response.status_code == 404 and set(response.json()) == {"status", "message"}


# -- OpenAPI validation ---------------------------------------------------------------------------


def test_spec_accepts_a_valid_request() -> None:
    assert validate_delivery_request(valid_request()) == []
    assert validate_delivery_request({"context": {"channel": "mobile"}}) == []
    assert validate_delivery_query(QUERY) == []


def test_spec_rejects_invalid_requests() -> None:
    body = valid_request()
    body["context"]["channel"] = "tv"
    body["execute"]["mboxes"][0].pop("index")
    body["notifications"][0]["timestamp"] = "yesterday"
    body["id"]["tntId"] = "x" * 200
    errors = validate_delivery_request(body)
    assert any(e.startswith("context/channel:") for e in errors)
    assert any(e.startswith("execute/mboxes/0:") and "'index'" in e for e in errors)
    assert any(e.startswith("notifications/0/timestamp:") for e in errors)
    assert any(e.startswith("id/tntId:") for e in errors)
    assert validate_delivery_request({"id": {"tntId": "a"}}) == [
        "<root>: 'context' is a required property"
    ]
    assert validate_delivery_query({"sessionId": "has space"}) == [
        "query: missing required parameter 'imsOrgId'",
        "query: invalid sessionId 'has space'",
    ]


def test_spec_errata_are_reported() -> None:
    # MboxRequest lists 'mbox' as required, but the property is called 'name'.
    assert spec_errata() == ("ignored required property 'mbox' with no definition",)


def test_validating_server(client: httpx.Client) -> None:
    with DeliveryServer(validate=True) as server:
        url = f"{server.url}{DELIVERY}"
        assert client.post(url, params=QUERY, json=valid_request()).status_code == 200
        assert server.schema_errors == []
        bad = client.post(url, params=QUERY, json={"context": {"channel": "tv"}})
        assert bad.status_code == 400 and bad.json()["status"] == 400
        assert "context/channel" in bad.json()["message"]
        assert server.schema_errors == [
            "request #1: context/channel: 'tv' is not one of ['mobile', 'web']"
        ]
        no_query = client.post(url, json=valid_request())
        assert no_query.status_code == 400 and len(server.schema_errors) == 3
        server.reset()
        assert server.schema_errors == []
