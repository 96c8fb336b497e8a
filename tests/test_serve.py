"""The local Target edge emulator (``targetkit serve``), over real sockets.

Most tests run the emulator in-process (``BackgroundEmulator``: uvicorn on a thread);
the acceptance tests start ``targetkit serve`` as a subprocess on a free port and point
real targetkit clients at it.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

import targetkit
from targetkit.artifact.obfuscation import deobfuscate
from targetkit.serve.config import DEMO_ORGANIZATION_ID, EmulatorConfig
from targetkit.serve.geo import GeoTableError
from targetkit.serve.server import BackgroundEmulator
from targetkit.serve.sources import BUNDLED_ARTIFACT, BUNDLED_ARTIFACT_V2, bundled_bytes
from tests.openapi_schema import validate_delivery_response, validate_error_body

V1 = bundled_bytes(BUNDLED_ARTIFACT)
V2 = bundled_bytes(BUNDLED_ARTIFACT_V2)
JSON_PATH = "/demo/production/v1/rules.json"
BIN_PATH = "/demo/production/v1/rules.bin"
URL_LINE = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")
#: Longest a subprocess emulator may take to print its URL (s).
START_TIMEOUT_S = 20.0
EVENT_WAIT_S = 5.0
MBOXES = ("homepage-hero", "checkout-button", "loyalty-banner", "shipping-banner")


# -- fixtures and helpers ---------------------------------------------------------------


@pytest.fixture
def emu() -> Iterator[BackgroundEmulator]:
    with BackgroundEmulator(EmulatorConfig()) as emulator:
        yield emulator


@pytest.fixture
def http(emu: BackgroundEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.url, timeout=5.0) as client:
        yield client


class ServeProcess:
    """``targetkit serve`` in a subprocess; ``url`` is parsed from what it prints."""

    def __init__(self, *args: str) -> None:
        command = [sys.executable, "-m", "targetkit.cli", "serve", "--port", "0", *args]
        env = {k: v for k, v in os.environ.items() if not k.startswith("TARGETKIT_")}
        env["NO_COLOR"] = "1"
        self.proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.url = self._read_url()

    def _read_url(self) -> str:
        import threading

        def pump() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                self.lines.put(line)

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            match = URL_LINE.search(line)
            if match:
                return match.group(1)
        self.stop()
        stderr = self.proc.stderr.read() if self.proc.stderr else ""
        raise AssertionError(f"targetkit serve printed no URL; stderr: {stderr}")

    def stop(self, sig: int = signal.SIGINT) -> int:
        """Ctrl-C (SIGINT, or ``sig``) and wait; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@contextlib.contextmanager
def serve_process(*args: str) -> Iterator[ServeProcess]:
    server = ServeProcess(*args)
    try:
        yield server
    finally:
        server.stop()


def client_options(url: str, method: str, **extra: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "client": "demo",
        "organization_id": DEMO_ORGANIZATION_ID,
        "decisioning_method": method,
        "cdn_base_path": url,
        "server_domain": url.split("://", 1)[1],
        "secure": False,
        "telemetry_enabled": False,
        "maximum_wait_ready": 5000,
    }
    options.update(extra)
    return options


class EventLog:
    """Collects client events; ``wait`` blocks until one of a type arrives."""

    def __init__(self) -> None:
        self.events: queue.Queue[Any] = queue.Queue()

    def __call__(self, event: Any) -> None:
        self.events.put(event)

    def wait(self, name: str) -> Any:
        deadline = time.monotonic() + EVENT_WAIT_S
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=0.05)
            except queue.Empty:
                continue
            if event["type"] == name:
                return event
        raise AssertionError(f"no {name} event within {EVENT_WAIT_S} s")


def spec_violations(body: Any) -> list[str]:
    """Spec violations of a DeliveryResponse, minus the spec's responseTokens erratum.

    The spec types every response-token value as an object, while Target (and the
    spec's own description) use strings and numbers: ``activity.id`` is a number.
    """
    return [v for v in validate_delivery_response(body) if "/responseTokens/" not in v]


def deliver(http: httpx.Client, body: Any, **params: str) -> httpx.Response:
    query = {"client": "demo", "imsOrgId": DEMO_ORGANIZATION_ID, **params}
    return http.post("/rest/v1/delivery", params=query, content=orjson.dumps(body))


def execute_request(tnt_id: str, *mboxes: str, **context: Any) -> dict[str, Any]:
    return {
        "id": {"tntId": tnt_id},
        "context": {"channel": "web", **context},
        "execute": {"mboxes": [{"name": m, "index": i} for i, m in enumerate(mboxes)]},
    }


def experience(location: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(activity id, experience id, content) of an answered location."""
    options = location.get("options") or []
    if not options:
        return (None, None, None)
    tokens = options[0].get("responseTokens") or {}
    return tokens.get("activity.id"), tokens.get("experience.id"), options[0].get("content")


# -- CDN: ETag / 304 / rules.bin ----------------------------------------------------------


def test_rules_json_has_a_strong_etag_and_answers_304_when_it_matches(http: httpx.Client) -> None:
    first = http.get(JSON_PATH)
    assert first.status_code == 200
    assert first.content == V1
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    again = http.get(JSON_PATH)
    assert again.headers["etag"] == etag
    cached = http.get(JSON_PATH, headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.content == b""
    assert cached.headers["etag"] == etag
    listed = http.get(JSON_PATH, headers={"If-None-Match": f'"other", {etag}'})
    assert listed.status_code == 304
    stale = http.get(JSON_PATH, headers={"If-None-Match": '"stale"'})
    assert stale.status_code == 200
    assert stale.content == V1


def test_head_and_unknown_paths(http: httpx.Client) -> None:
    head = http.head(JSON_PATH)
    assert head.status_code == 200
    assert int(head.headers["content-length"]) == len(V1)
    for path in (
        "/other/production/v1/rules.json",
        "/demo/staging/v1/rules.json",
        "/demo/production/v1/rules.txt",
        "/demo/production/v1/a/b/rules.json",
    ):
        missing = http.get(path)
        assert missing.status_code == 404, path
        assert validate_error_body(missing.json()) == []


def test_rules_bin_round_trips_to_the_served_json(http: httpx.Client) -> None:
    binary = http.get(BIN_PATH)
    assert binary.status_code == 200
    assert binary.content[:8] == b"ATOD:001"
    assert deobfuscate(binary.content, DEMO_ORGANIZATION_ID) == V1
    etag = binary.headers["etag"]
    assert etag != http.get(JSON_PATH).headers["etag"]
    assert http.get(BIN_PATH).content == binary.content  # stable key, stable ETag
    assert http.get(BIN_PATH, headers={"If-None-Match": etag}).status_code == 304


def test_rules_bin_uses_the_configured_organization_id() -> None:
    org = "ABCDEF0123456789ABCDEF01@AdobeOrg"
    with BackgroundEmulator(EmulatorConfig(organization_id=org)) as emu:
        body = httpx.get(emu.url + BIN_PATH).content
    assert deobfuscate(body, org) == V1
    with pytest.raises(targetkit.DeobfuscationError):
        deobfuscate(body, DEMO_ORGANIZATION_ID)


def test_a_client_loads_rules_bin_from_the_emulator(emu: BackgroundEmulator) -> None:
    options = client_options(emu.url, "on-device", artifact_format="bin")
    with targetkit.create(options) as client:
        assert client.wait_until_ready(5)
        envelope = client.get_offers({"request": execute_request("dave", "homepage-hero")})
    (mbox,) = envelope["response"]["execute"]["mboxes"]
    assert experience(mbox)[:2] == (210001, 0)


def test_property_token_paths() -> None:
    with BackgroundEmulator(EmulatorConfig(property_token="tok-1")) as emu:
        assert httpx.get(emu.url + "/demo/production/v1/tok-1/rules.json").status_code == 200
        assert httpx.get(emu.url + JSON_PATH).status_code == 200
        assert httpx.get(emu.url + "/demo/production/v1/tok-2/rules.json").status_code == 404
        assert emu.emulator.artifact_path() == "/demo/production/v1/tok-1/rules.json"


# -- live replacement and --reload ------------------------------------------------------


def test_posting_an_artifact_replaces_it_and_changes_the_etag(http: httpx.Client) -> None:
    old = http.get(JSON_PATH).headers["etag"]
    posted = http.post("/_admin/artifact", content=V2)
    assert posted.status_code == 200
    assert posted.json()["serial"] == 2
    fresh = http.get(JSON_PATH, headers={"If-None-Match": old})
    assert fresh.status_code == 200
    assert fresh.content == V2
    assert fresh.headers["etag"] == posted.json()["etag"] != old


def test_an_invalid_posted_artifact_is_rejected_and_the_old_one_keeps_serving(
    http: httpx.Client,
) -> None:
    etag = http.get(JSON_PATH).headers["etag"]
    for bad in (b"{not json", b'{"version": "2.0.0", "rules": {}}', b'{"version": "1.0.0"}'):
        rejected = http.post("/_admin/artifact", content=bad)
        assert rejected.status_code == 400
        assert "previous one keeps serving" in rejected.json()["message"]
    assert http.get(JSON_PATH, headers={"If-None-Match": etag}).status_code == 304


def test_reload_serves_the_changed_file_with_a_new_etag(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_bytes(V1)
    with BackgroundEmulator(EmulatorConfig(artifact=str(path), reload=True)) as emu:
        url = emu.url + JSON_PATH
        etag = httpx.get(url).headers["etag"]
        path.write_bytes(V2)
        os.utime(path, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
        changed = httpx.get(url, headers={"If-None-Match": etag})
        assert changed.status_code == 200
        assert changed.content == V2
        new_etag = changed.headers["etag"]
        assert new_etag != etag
        # A broken save is skipped: the last good artifact keeps serving.
        path.write_bytes(b"{half a file")
        os.utime(path, ns=(time.time_ns() + 2 * 10**9, time.time_ns() + 2 * 10**9))
        assert httpx.get(url, headers={"If-None-Match": new_etag}).status_code == 304


def test_without_reload_the_file_is_not_reread(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_bytes(V1)
    with BackgroundEmulator(EmulatorConfig(artifact=str(path))) as emu:
        path.write_bytes(V2)
        os.utime(path, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
        assert httpx.get(emu.url + JSON_PATH).content == V1


# -- faults -----------------------------------------------------------------------------


def test_fault_admin_sets_scoped_errors_and_delete_clears_them(http: httpx.Client) -> None:
    assert http.post("/_admin/faults", json={"status": 500, "scope": ["artifact"]}).is_success
    failed = http.get(JSON_PATH)
    assert failed.status_code == 500
    assert validate_error_body(failed.json()) == []
    assert deliver(http, execute_request("dave", "homepage-hero")).status_code == 200
    assert http.get("/_admin/faults").json()["error_rate"] == 1.0
    assert http.delete("/_admin/faults").json()["error_rate"] == 0.0
    assert http.get(JSON_PATH).status_code == 200


def test_error_rate_fails_a_share_of_requests_reproducibly(http: httpx.Client) -> None:
    settings = {"error_rate": 0.5, "status": 503, "scope": ["geo"], "seed": 7}

    def run() -> list[int]:
        assert http.post("/_admin/faults", json=settings).is_success
        return [http.get("/v1/geo").status_code for _ in range(40)]

    first = run()
    assert set(first) == {200, 503}
    assert run() == first


def test_on_device_disabled_answers_403_on_artifact_paths_only(http: httpx.Client) -> None:
    http.post("/_admin/faults", json={"on_device_disabled": True})
    assert http.get(JSON_PATH).status_code == 403
    assert http.get(BIN_PATH).status_code == 403
    assert http.get("/v1/geo").status_code == 200


def test_latency_is_added_before_the_answer(http: httpx.Client) -> None:
    http.post("/_admin/faults", json={"latency_ms": 150, "scope": ["delivery"]})
    started = time.perf_counter()
    assert deliver(http, execute_request("dave", "homepage-hero")).status_code == 200
    assert time.perf_counter() - started >= 0.15


@pytest.mark.parametrize(
    "body",
    [
        {"latency_ms": -1},
        {"error_rate": 2},
        {"status": 200},
        {"scope": ["cdn"]},
        {"on_device_disabled": "yes"},
        {"surprise": 1},
        [1],
    ],
)
def test_invalid_fault_settings_are_rejected(http: httpx.Client, body: Any) -> None:
    answer = http.post("/_admin/faults", json=body)
    assert answer.status_code == 400
    assert answer.json()["message"]
    assert http.get(JSON_PATH).status_code == 200


def test_faults_from_flags_apply_from_the_start() -> None:
    config = EmulatorConfig(error_rate=1.0, error_status=502)
    with BackgroundEmulator(config) as emu:
        assert httpx.get(emu.url + JSON_PATH).status_code == 502
        assert httpx.get(emu.url + "/_admin/stats").status_code == 200  # admin never faulted


def test_cdn_500_and_403_fire_artifact_download_failed(emu: BackgroundEmulator) -> None:
    events = EventLog()
    options = client_options(
        emu.url,
        "on-device",
        events={
            "artifact_download_succeeded": events,
            "artifact_download_failed": events,
        },
    )
    with targetkit.create(options) as client, httpx.Client(base_url=emu.url) as http:
        events.wait("artifact_download_succeeded")
        request = {"request": execute_request("dave", "homepage-hero")}
        before = client.get_offers(request)["response"]["execute"]

        http.post("/_admin/faults", json={"status": 500, "scope": ["artifact"]})
        assert client.refresh_artifact() is False
        failed = events.wait("artifact_download_failed")
        assert isinstance(failed.error, targetkit.ArtifactDownloadError)
        assert failed.error.status == 500

        http.post("/_admin/faults", json={"on_device_disabled": True})
        assert client.refresh_artifact() is False
        disabled = events.wait("artifact_download_failed")
        assert isinstance(disabled.error, targetkit.OnDeviceDisabledError)
        assert disabled.error.status == 403

        assert client.get_offers(request)["response"]["execute"] == before
        http.delete("/_admin/faults")
        http.post("/_admin/artifact", content=V2)
        assert client.refresh_artifact() is True
        events.wait("artifact_download_succeeded")


def test_on_device_disabled_from_the_start_keeps_the_client_not_ready() -> None:
    with BackgroundEmulator(EmulatorConfig(on_device_disabled=True)) as emu:
        events = EventLog()
        options = client_options(emu.url, "on-device", events={"artifact_download_failed": events})
        with targetkit.create(options) as client:
            failed = events.wait("artifact_download_failed")
            assert isinstance(failed.error, targetkit.OnDeviceDisabledError)
            assert not client.is_ready


# -- delivery -----------------------------------------------------------------------------


def test_delivery_answers_like_the_edge(http: httpx.Client) -> None:
    answer = deliver(http, execute_request("dave", *MBOXES), sessionId="session-1")
    assert answer.status_code == 200
    body = answer.json()
    assert spec_violations(body) == []
    assert body["status"] == 200
    assert body["client"] == "demo"
    assert body["edgeHost"] == "mboxedge35.tt.omtrdc.net"
    assert body["id"]["tntId"] == "dave.35_0"
    assert answer.headers["x-session-id"] == "session-1"
    hero = body["execute"]["mboxes"][0]
    assert experience(hero) == (
        210001,
        0,
        {"headline": "Welcome back", "cta": "Browse the catalog", "theme": "classic"},
    )
    assert hero["options"][0]["responseTokens"]["activity.decisioningMethod"] == "server-side"
    assert "eventToken" not in hero["options"][0]


def test_a_new_visitor_gets_a_tnt_id_with_the_location_hint(http: httpx.Client) -> None:
    request = execute_request("x", "homepage-hero")
    del request["id"]
    body = deliver(http, request).json()
    assert re.fullmatch(r"[0-9a-f-]{36}\.35_0", body["id"]["tntId"])
    assert re.fullmatch(r"[0-9a-f-]{36}", deliver(http, request).headers["x-session-id"])


def test_delivery_prefetch_views_page_load_and_trace(http: httpx.Client) -> None:
    request = {
        "id": {"tntId": "alice"},
        "context": {"channel": "web", "address": {"url": "https://shop.example/p/1"}},
        "prefetch": {
            "mboxes": [{"name": "checkout-button", "index": 0}],
            "views": [{"name": "product-detail"}],
        },
        "execute": {"pageLoad": {}},
        "trace": {},
    }
    body = deliver(http, request).json()
    # The spec types trace parts as objects; Target's (and our) campaigns are lists.
    assert [v for v in spec_violations(body) if "/trace/" not in v] == []
    (mbox,) = body["prefetch"]["mboxes"]
    assert mbox["options"][0]["eventToken"]
    (view,) = body["prefetch"]["views"]
    assert view["name"] == "product-detail"
    assert view["options"][0]["type"] == "actions"
    assert view["metrics"][0]["type"] == "display"
    assert body["execute"]["pageLoad"]["options"] == []
    assert mbox["trace"]["evaluatedCampaignTargets"][0]["campaignId"] == 210002


def test_delivery_geo_comes_from_the_geo_table(http: httpx.Client) -> None:
    canada = deliver(
        http, execute_request("dave", "shipping-banner", geo={"ipAddress": "203.0.113.20"})
    ).json()
    (mbox,) = canada["execute"]["mboxes"]
    assert experience(mbox)[1] == 0
    assert mbox["options"][0]["responseTokens"]["geo.city"] == "VANCOUVER"
    london = deliver(
        http, execute_request("dave", "shipping-banner", geo={"ipAddress": "203.0.113.30"})
    ).json()
    assert experience(london["execute"]["mboxes"][0])[1] == 1


def test_notifications_are_acknowledged_and_recorded(http: httpx.Client) -> None:
    notes = [
        {"id": f"n{i}", "type": "display", "timestamp": 1, "mbox": {"name": "homepage-hero"}}
        for i in range(3)
    ]
    body = deliver(http, {"id": {"tntId": "dave"}, "notifications": notes}).json()
    assert body["notifications"] == [{"id": "n0"}, {"id": "n1"}, {"id": "n2"}]
    assert spec_violations(body) == []
    assert [n["id"] for n in http.get("/_admin/notifications").json()] == ["n0", "n1", "n2"]
    assert http.get("/_admin/stats").json()["notifications"] == 3


def test_a_beacon_gets_204(http: httpx.Client) -> None:
    answer = deliver(http, {"context": {"channel": "web", "beacon": True}})
    assert answer.status_code == 204
    assert answer.content == b""


@pytest.mark.parametrize(
    "body",
    [
        b"{broken",
        b"[1, 2]",
        orjson.dumps({"execute": {"mboxes": "homepage-hero"}}),
        orjson.dumps({"notifications": [{"id": "x", "type": "view", "timestamp": 1}]}),
    ],
)
def test_bad_delivery_requests_get_a_target_error(http: httpx.Client, body: bytes) -> None:
    answer = http.post("/rest/v1/delivery", params={"client": "demo"}, content=body)
    assert answer.status_code == 400
    assert validate_error_body(answer.json()) == []


# -- geo ----------------------------------------------------------------------------------


def test_geo_is_looked_up_by_forwarded_ip(http: httpx.Client) -> None:
    found = http.get("/v1/geo", headers={"x-forwarded-for": "203.0.113.20, 10.0.0.1"}).json()
    assert found == {
        "x-forwarded-for": "203.0.113.20",
        "x-geo-country-code": "CA",
        "x-geo-region-code": "BC",
        "x-geo-city": "VANCOUVER",
        "x-geo-latitude": 49.2827,
        "x-geo-longitude": -123.1207,
    }
    assert http.get("/v1/geo", headers={"x-forwarded-for": "192.0.2.99"}).json() == {
        "x-forwarded-for": "192.0.2.99"
    }
    assert http.get("/v1/geo").json() == {"x-forwarded-for": "127.0.0.1"}


def test_geo_file_replaces_the_built_in_table(tmp_path: Path) -> None:
    table = tmp_path / "geo.json"
    table.write_text(json.dumps({"*": {"x-geo-country-code": "FR", "x-geo-city": "PARIS"}}))
    with BackgroundEmulator(EmulatorConfig(geo_file=str(table))) as emu:
        found = httpx.get(emu.url + "/v1/geo", headers={"x-forwarded-for": "198.51.100.1"})
    assert found.json() == {
        "x-forwarded-for": "198.51.100.1",
        "x-geo-country-code": "FR",
        "x-geo-city": "PARIS",
    }


def test_a_bad_geo_file_is_refused(tmp_path: Path) -> None:
    table = tmp_path / "geo.json"
    table.write_text(json.dumps({"1.2.3.4": {"country": "FR"}}))
    with pytest.raises(GeoTableError, match="unknown key"):
        BackgroundEmulator(EmulatorConfig(geo_file=str(table)))


def test_info_page_tells_clients_where_to_point(
    http: httpx.Client, emu: BackgroundEmulator
) -> None:
    info = http.get("/").json()
    assert info["artifact"]["json"] == emu.url + JSON_PATH
    assert info["client_options"]["cdn_base_path"] == emu.url
    with targetkit.create({**info["client_options"], "decisioning_method": "on-device"}) as c:
        assert c.wait_until_ready(5)


# -- acceptance: targetkit serve as a subprocess; server-side vs on-device vs hybrid -------

VISITORS = ("alice", "dave", "frank", "grace", "heidi", "ivan")


def _parity_requests() -> list[tuple[str, dict[str, Any]]]:
    requests = []
    for visitor in VISITORS:
        for tier, ip in (("gold", "203.0.113.20"), ("", "203.0.113.30")):
            request = {
                "id": {"tntId": visitor},
                "context": {
                    "channel": "web",
                    "address": {"url": "https://shop.example/"},
                    "geo": {"ipAddress": ip},
                },
                "execute": {
                    "mboxes": [
                        {"name": m, "index": i, "parameters": {"tier": tier}}
                        for i, m in enumerate(MBOXES)
                    ]
                },
                "prefetch": {"views": [{"name": "product-detail"}]},
            }
            requests.append((visitor, request))
    return requests


def _answers(envelope: dict[str, Any]) -> dict[str, Any]:
    response = envelope["response"]
    found = {m["name"]: experience(m) for m in response["execute"]["mboxes"]}
    for view in response["prefetch"]["views"]:
        found["view:" + view["name"]] = experience(view)
    return found


def _methods(envelope: dict[str, Any]) -> set[str]:
    """Who decided: the ``activity.decisioningMethod`` tokens of the answered options."""
    response = envelope["response"]
    locations = response["execute"]["mboxes"] + response["prefetch"]["views"]
    return {
        option["responseTokens"]["activity.decisioningMethod"]
        for location in locations
        for option in location.get("options") or []
    }


def test_serve_subprocess_answers_server_side_like_on_device() -> None:
    with serve_process() as server:
        answers: dict[str, list[dict[str, Any]]] = {}
        for method in ("on-device", "server-side", "hybrid"):
            options = client_options(server.url, method)
            with targetkit.create(options) as client:
                assert client.wait_until_ready(5)
                envelopes = [
                    client.get_offers({"request": request}) for _, request in _parity_requests()
                ]
            expected = "server-side" if method == "server-side" else "on-device"
            assert all(_methods(e) == {expected} for e in envelopes), method
            answers[method] = [_answers(e) for e in envelopes]
        assert server.stop() == 0
    on_device = answers["on-device"]
    assert answers["server-side"] == on_device
    assert answers["hybrid"] == on_device
    # The comparison is meaningful: both experiences of the A/B test, and targeting.
    assert {a["homepage-hero"][1] for a in on_device} == {0, 1}
    assert {a["view:product-detail"][1] for a in on_device} == {0, 1}
    assert {a["loyalty-banner"][1] for a in on_device} == {0, 1}
    assert {a["shipping-banner"][1] for a in on_device} == {0, 1}


def test_serve_subprocess_async_client_agrees() -> None:
    async_client = getattr(targetkit, "AsyncTargetClient", None)
    if async_client is None:
        pytest.skip("targetkit.AsyncTargetClient is not available yet")
    import asyncio

    async def decide_all(url: str, method: str) -> list[dict[str, Any]]:
        async with async_client.create(client_options(url, method)) as client:
            assert await client.wait_until_ready(5)
            return [
                _answers(await client.get_offers({"request": request}))
                for _, request in _parity_requests()
            ]

    with serve_process() as server:
        server_side = asyncio.run(decide_all(server.url, "server-side"))
        on_device = asyncio.run(decide_all(server.url, "on-device"))
    assert server_side == on_device
    assert {a["homepage-hero"][1] for a in on_device} == {0, 1}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_subprocess_stops_cleanly_on_ctrl_c(sig: int) -> None:
    server = ServeProcess("--latency-ms", "0")
    assert httpx.get(server.url + JSON_PATH).status_code == 200
    assert server.stop(sig) == 0
    assert server.proc.stderr is not None
    stderr = server.proc.stderr.read()
    assert "Traceback" not in stderr
    assert "stopped" in stderr
