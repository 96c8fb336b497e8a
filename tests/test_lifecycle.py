"""Client lifecycle and events: readiness, subscriptions, close, the artifact cache,
rules.bin, process exit and fork, all against real local servers."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

import targetkit
from targetkit.artifact.obfuscation import obfuscate
from targetkit.errors import ClientClosedError, ConfigurationError, DeobfuscationError
from tests.lifecycle_support import (
    ARTIFACT_PATH,
    OBFUSCATED,
    OBFUSCATED_ORG,
    ORG,
    EventLog,
    make_artifact,
    marker_of,
    mbox_request,
    on_device_options,
    ready_client,
)
from tests.servers import CdnServer, DeliveryServer, Fault

REPO = Path(__file__).resolve().parent.parent

# -- events ---------------------------------------------------------------------------


def test_unknown_event_name_fails_create_listing_valid_names() -> None:
    with pytest.raises(ConfigurationError) as caught:
        targetkit.create({"client": "c", "organization_id": ORG, "events": {"client_redy": print}})
    message = str(caught.value)
    assert caught.value.option == "events"
    assert "'client_redy'" in message and "did you mean 'client_ready'" in message
    for name in ("client_ready", "artifact_download_failed", "send_notification_error"):
        assert name in message


def test_callbacks_take_zero_or_one_argument_and_events_read_both_ways(
    cdn_server: CdnServer, delivery_server: DeliveryServer
) -> None:
    cdn_server.put_json(ARTIFACT_PATH, make_artifact("one"))
    seen: list[Any] = []
    done = threading.Event()

    def succeeded(event: Any) -> None:
        seen.append((event.type, event.artifact_location, event["artifact_location"]))
        done.set()

    options = on_device_options(cdn_server, delivery_server)
    options["events"] = {
        "client_ready": lambda: seen.append("ready"),
        "artifact_download_success": succeeded,
    }
    with ready_client(options) as client:
        assert done.wait(10)
        url = cdn_server.url + ARTIFACT_PATH
        assert seen == ["ready", ("artifact_download_succeeded", url, url)]
        assert client.is_ready is True


def test_on_off_and_late_client_ready_subscribers_run_once_at_once(
    cdn_server: CdnServer, delivery_server: DeliveryServer
) -> None:
    cdn_server.put_json(ARTIFACT_PATH, make_artifact("one"))
    log = EventLog()
    with ready_client(on_device_options(cdn_server, delivery_server, log=log)) as client:
        log.wait_for(2)
        late: list[str] = []
        client.on("client_ready", lambda: late.append("late"))
        extra: list[Any] = []
        handle = client.on("artifact_download_succeeded", extra.append)
        cdn_server.put_json(ARTIFACT_PATH, make_artifact("two"))
        assert client.refresh_artifact()
        log.settle(client)
        assert late == ["late"] and len(extra) == 1
        assert client.off(handle) is True and client.off(handle) is False
        cdn_server.put_json(ARTIFACT_PATH, make_artifact("three"))
        assert client.refresh_artifact()
        log.settle(client)
        assert len(extra) == 1 and late == ["late"]
        assert log.types().count("client_ready") == 1  # once per client
        assert log.types().count("artifact_download_succeeded") == 3


@pytest.fixture
def eager_thread_switches() -> Iterator[None]:
    """Make the interpreter switch threads as often as it can, to expose ordering bugs."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


@pytest.mark.usefixtures("eager_thread_switches")
def test_callbacks_never_run_before_create_returned_the_client() -> None:
    # artifact_payload makes the client ready inside create(): the strictest case. With
    # callbacks not held until create() returns, about 2 in 3 rounds fail here.
    for _ in range(30):
        holder: dict[str, Any] = {}
        got: list[Any] = []
        done = threading.Event()

        def ready() -> None:
            got.append(holder.get("client"))  # noqa: B023 (read when called)
            done.set()  # noqa: B023

        holder["client"] = targetkit.create(
            {
                "client": "c",
                "organization_id": ORG,
                "decisioning_method": "on-device",
                "artifact_payload": make_artifact("one"),
                "polling_interval": 0,
                "telemetry_enabled": False,
                "events": {"client_ready": ready},
            }
        )
        assert done.wait(10)
        assert got == [holder["client"]]
        holder["client"].close()


def test_callbacks_run_off_the_callers_thread_without_our_locks(
    cdn_server: CdnServer, delivery_server: DeliveryServer
) -> None:
    cdn_server.put_json(ARTIFACT_PATH, make_artifact("one"))
    threads: list[str] = []
    reentered: list[bool] = []
    holder: dict[str, Any] = {}
    assigned = threading.Event()

    def succeeded() -> None:
        threads.append(threading.current_thread().name)
        # ready_client() returns after the first download, which may be after this runs.
        assigned.wait(5)
        # Re-entering the client from a callback must not deadlock on one of our locks.
        reentered.append(holder["client"].refresh_artifact())

    options = on_device_options(cdn_server, delivery_server)
    options["events"] = {"artifact_download_succeeded": succeeded}
    holder["client"] = client = ready_client(options)
    assigned.set()
    with client:
        client.refresh_artifact()
        EventLog().settle(client)
        assert threads == ["targetkit-events"]
        assert reentered == [False]  # a 304


# -- readiness ------------------------------------------------------------------------


def test_create_does_not_wait_for_the_network(
    cdn_server: CdnServer, delivery_server: DeliveryServer
) -> None:
    cdn_server.put_json(ARTIFACT_PATH, make_artifact("one"))
    cdn_server.set_fault(Fault.hung(), ARTIFACT_PATH)
    client = targetkit.create(on_device_options(cdn_server, delivery_server, timeout=60_000))
    with client:
        assert client.is_ready is False
        assert client.wait_until_ready(0.01) is False
        cdn_server.wait_for_requests(1, path=ARTIFACT_PATH)  # the download is under way


def test_maximum_wait_ready_bounds_get_offers_then_not_ready_error(
    cdn_server: CdnServer, delivery_server: DeliveryServer
) -> None:
    cdn_server.set_fault(Fault.error(500), ARTIFACT_PATH)
    options = on_device_options(cdn_server, delivery_server, maximum_wait_ready=200)
    with targetkit.create(options) as client:
        with pytest.raises(targetkit.NotReadyError) as caught:
            client.get_offers(mbox_request())
        assert "not ready" in str(caught.value) and "200 ms" in str(caught.value)


def test_get_offers_waits_for_the_first_artifact(
    cdn_server: CdnServer, delivery_server: DeliveryServer
) -> None:
    cdn_server.put_json(ARTIFACT_PATH, make_artifact("one"))
    cdn_server.fail_next(1, Fault.delay(0.2), ARTIFACT_PATH)
    options = on_device_options(cdn_server, delivery_server, maximum_wait_ready=10_000)
    with targetkit.create(options) as client:
        assert marker_of(client.get_offers(mbox_request())) == "one"


def test_close_wakes_waiters_and_is_idempotent(
    cdn_server: CdnServer, delivery_server: DeliveryServer
) -> None:
    cdn_server.set_fault(Fault.error(500), ARTIFACT_PATH)
    client = targetkit.create(on_device_options(cdn_server, delivery_server))
    results: list[Any] = []

    def wait() -> None:
        try:
            client.get_offers(mbox_request())
        except Exception as err:
            results.append(err)

    waiter = threading.Thread(target=wait)
    waiter.start()
    cdn_server.wait_for_requests(1, path=ARTIFACT_PATH)
    client.close()
    client.close()
    waiter.join(10)
    assert len(results) == 1 and isinstance(results[0], ClientClosedError)
    assert client.wait_until_ready() is False
    with pytest.raises(ClientClosedError):
        client.refresh_artifact()


def test_polling_interval_floor_and_zero(
    cdn_server: CdnServer, delivery_server: DeliveryServer, caplog: pytest.LogCaptureFixture
) -> None:
    cdn_server.put_json(ARTIFACT_PATH, make_artifact("one"))
    with caplog.at_level(logging.WARNING):
        options = on_device_options(cdn_server, delivery_server, polling_interval=1000)
        with ready_client(options) as client:
            assert client._options.polling_interval_ms == 300_000
    assert any("below the 300000 ms minimum" in r.getMessage() for r in caplog.records)


def test_close_stops_polling_and_flushes_notifications(
    cdn_server: CdnServer, delivery_server: DeliveryServer
) -> None:
    cdn_server.put_json(ARTIFACT_PATH, make_artifact("one"))
    options = on_device_options(cdn_server, delivery_server, notification_flush_interval_ms=60_000)
    with ready_client(options) as client:
        client.get_offers(mbox_request())
        assert delivery_server.notifications() == []  # lingering for a minute
        poller = client._poller._thread
    # __exit__ closed it: the queued display notification went out, within the bound.
    assert len(delivery_server.notifications()) == 1
    assert poller is not None and not poller.is_alive()
    with pytest.raises(ClientClosedError):
        client.get_offers(mbox_request())


# -- artifact location, rules.bin -----------------------------------------------------


def test_location_is_derived_with_property_token_and_bin_format(
    cdn_server: CdnServer, delivery_server: DeliveryServer
) -> None:
    path = "/acmeclient/staging/v1/tok-123/rules.bin"
    cdn_server.put(path, obfuscate(orjson.dumps(make_artifact("one")), ORG))
    options = on_device_options(cdn_server, delivery_server)
    del options["artifact_location"]
    options.update(
        cdn_base_path=cdn_server.url,
        environment="staging",
        property_token="tok-123",
        artifact_format="bin",
    )
    with ready_client(options) as client:
        assert client._core.artifact_location == cdn_server.url + path
        assert marker_of(client.get_offers(mbox_request())) == "one"


def test_real_rules_bin_decodes_and_a_wrong_org_id_is_rejected(
    cdn_server: CdnServer, delivery_server: DeliveryServer
) -> None:
    path = "/targettesting/production/v1/rules.bin"
    cdn_server.put(path, (OBFUSCATED / "rules.bin").read_bytes())
    expected = orjson.loads((OBFUSCATED / "rules.json").read_bytes())
    log = EventLog()
    options = on_device_options(
        cdn_server, delivery_server, path=path, log=log, organization_id=OBFUSCATED_ORG
    )
    with ready_client(options):
        (_, succeeded) = log.wait_for(2)
        assert dict(succeeded.artifact_payload) == expected
    wrong = EventLog()
    options = on_device_options(
        cdn_server, delivery_server, path=path, log=wrong, maximum_wait_ready=0
    )
    with targetkit.create(options) as client:
        (failed,) = wrong.wait_for(1)
        assert isinstance(failed.error, DeobfuscationError)
        assert ORG in str(failed.error) and "organization id is probably wrong" in str(failed.error)
        assert client.is_ready is False


# -- artifact_cache -------------------------------------------------------------------


def test_each_accepted_artifact_is_written_to_the_cache(
    cdn_server: CdnServer, delivery_server: DeliveryServer, tmp_path: Path
) -> None:
    cache = tmp_path / "cache" / "rules.json"
    cdn_server.put_json(ARTIFACT_PATH, make_artifact("one"))
    options = on_device_options(cdn_server, delivery_server, artifact_cache=str(cache))
    with ready_client(options) as client:
        assert orjson.loads(cache.read_bytes()) == make_artifact("one")
        cdn_server.set_fault(Fault.bad_json(), ARTIFACT_PATH)
        client.refresh_artifact()  # rejected: the cache keeps the good one
        assert orjson.loads(cache.read_bytes()) == make_artifact("one")
        cdn_server.clear_faults()
        cdn_server.put_json(ARTIFACT_PATH, make_artifact("two"))
        assert client.refresh_artifact()
        assert orjson.loads(cache.read_bytes()) == make_artifact("two")
    assert sorted(p.name for p in cache.parent.iterdir()) == ["rules.json"]  # no temp files


def test_cdn_down_at_start_loads_the_cache_then_keeps_polling(
    cdn_server: CdnServer, delivery_server: DeliveryServer, tmp_path: Path
) -> None:
    cache = tmp_path / "rules.bin"
    cache.write_bytes(obfuscate(orjson.dumps(make_artifact("cached")), ORG))
    cdn_server.set_fault(Fault.error(503), ARTIFACT_PATH)
    log = EventLog()
    options = on_device_options(cdn_server, delivery_server, log=log, artifact_cache=str(cache))
    with ready_client(options) as client:
        assert marker_of(client.get_offers(mbox_request())) == "cached"
        log.settle(client)
        assert log.types() == ["artifact_download_failed", "client_ready"]
        cdn_server.clear_faults()
        cdn_server.put_json(ARTIFACT_PATH, make_artifact("fresh"))
        assert client.refresh_artifact()
        assert marker_of(client.get_offers(mbox_request())) == "fresh"
        assert log.settle(client)[2:][-1].type == "artifact_download_succeeded"
        assert log.types().count("client_ready") == 1


def test_a_corrupt_cache_is_ignored_with_a_warning(
    cdn_server: CdnServer,
    delivery_server: DeliveryServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cache = tmp_path / "rules.json"
    cache.write_bytes(b'{"version": "1.0.0", "rules": {"mbo')
    cdn_server.set_fault(Fault.error(503), ARTIFACT_PATH)
    log = EventLog()
    options = on_device_options(
        cdn_server, delivery_server, log=log, artifact_cache=str(cache), maximum_wait_ready=0
    )
    with caplog.at_level(logging.WARNING), targetkit.create(options) as client:
        log.wait_for(1)
        log.settle(client)
        assert client.is_ready is False
        assert log.types() == ["artifact_download_failed"]
    warnings = [r.getMessage() for r in caplog.records if "artifact_cache" in r.getMessage()]
    assert warnings and "ignored" in warnings[0]


# -- process exit and fork ------------------------------------------------------------


def run_python(code: str, env: dict[str, str] | None = None, timeout_s: float = 60) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_a_process_whose_only_live_object_is_an_open_client_exits(
    cdn_server: CdnServer, delivery_server: DeliveryServer
) -> None:
    cdn_server.put_json(ARTIFACT_PATH, make_artifact("one"))
    options = on_device_options(cdn_server, delivery_server, polling_interval=300_000)
    out = run_python(
        f"""
        import targetkit
        client = targetkit.create({options!r})
        assert client.wait_until_ready(10)
        client.get_offers({mbox_request()!r})
        print("ready, leaving without close()")
        """
    )
    assert out.strip() == "ready, leaving without close()"
    # The display notification queued by that get_offers was still sent at exit.
    assert len(delivery_server.notifications()) == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_gets_a_working_poller_events_and_notifications(
    delivery_server: DeliveryServer,
) -> None:
    # The CDN lives in the script's parent process so that the parent can publish a new
    # artifact after the fork; the child must download it with its own threads.
    out = run_python(
        f"""
        import os, sys, threading
        import targetkit
        from tests.servers import CdnServer
        from tests.lifecycle_support import make_artifact, marker_of, mbox_request

        cdn = CdnServer().start()
        cdn.put_json("/a/rules.json", make_artifact("one"))
        client = targetkit.create({{
            "client": "acmeclient", "organization_id": "o@AdobeOrg",
            "decisioning_method": "on-device", "telemetry_enabled": False,
            "artifact_location": cdn.url + "/a/rules.json", "secure": False,
            "server_domain": {delivery_server.host!r},
        }})
        assert client.wait_until_ready(10)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.read(read_end, 1)  # wait for the parent to publish "two"
            got = threading.Event()
            client.on("artifact_download_succeeded", got.set)
            names = {{t.name for t in threading.enumerate()}}
            ok = client.refresh_artifact() and got.wait(10)
            marker = marker_of(client.get_offers(mbox_request()))
            flushed = client.flush(10)
            print("child", "targetkit-artifact" in names, ok, marker, flushed, flush=True)
            os._exit(0)
        cdn.put_json("/a/rules.json", make_artifact("two"))
        os.write(write_end, b"x")
        _, status = os.waitpid(pid, 0)
        marker = marker_of(client.get_offers(mbox_request()))
        print("parent", os.waitstatus_to_exitcode(status), marker)
        client.close()
        cdn.stop()
        """
    )
    assert out.splitlines() == ["child True True two True", "parent 0 one"]
    assert len(delivery_server.notifications()) >= 1
