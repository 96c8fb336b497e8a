"""TargetClient and AsyncTargetClient: the same public surface (modulo async), and the
same envelopes and wire requests for the same inputs."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest

import targetkit
from tests.servers import DeliveryServer
from tests.test_hybrid import LOCAL, REMOTE, TNT_ID
from tests.test_on_device import artifact
from tests.test_server_side import ORG, offers_handler

#: Public methods that stay plain functions on the async client.
SYNC_ON_BOTH = frozenset({"create", "on", "off"})
CONTEXT_MANAGERS = {"__enter__": "__aenter__", "__exit__": "__aexit__"}


def public(cls: type) -> dict[str, Any]:
    return {
        name: inspect.getattr_static(cls, name) for name in dir(cls) if not name.startswith("_")
    }


def _parameters(function: Any) -> list[tuple[str, Any, Any]]:
    if isinstance(function, classmethod | staticmethod):
        function = function.__func__
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


def surface_differences(sync_cls: type, async_cls: type) -> list[str]:
    """What differs between the two public surfaces (empty when they agree)."""
    sync, async_ = public(sync_cls), public(async_cls)
    problems = [f"only on {sync_cls.__name__}: {n}" for n in sorted(sync.keys() - async_.keys())]
    problems += [f"only on {async_cls.__name__}: {n}" for n in sorted(async_.keys() - sync.keys())]
    for name in sorted(sync.keys() & async_.keys()):
        a, b = sync[name], async_[name]
        if isinstance(a, property) or isinstance(b, property):
            if not (isinstance(a, property) and isinstance(b, property)):
                problems.append(f"{name}: property on one client only")
            continue
        if _parameters(a) != _parameters(b):
            problems.append(f"{name}: signatures differ: {_parameters(a)} / {_parameters(b)}")
        wants_async = name not in SYNC_ON_BOTH
        if inspect.iscoroutinefunction(a) or inspect.iscoroutinefunction(b) != wants_async:
            problems.append(
                f"{name}: must be {'async' if wants_async else 'sync'} on the async client"
            )
    for sync_name, async_name in CONTEXT_MANAGERS.items():
        if not (hasattr(sync_cls, sync_name) and hasattr(async_cls, async_name)):
            problems.append(f"context manager: {sync_name} / {async_name} missing")
    return problems


def test_public_surfaces_match() -> None:
    assert surface_differences(targetkit.TargetClient, targetkit.AsyncTargetClient) == []


def test_the_surface_check_notices_drift() -> None:
    class Drifted(targetkit.AsyncTargetClient):
        async def get_offers(self, options: Any, extra: int = 0) -> Any:  # type: ignore[override]
            return None

        def flush(self, timeout: float | None = None) -> bool:  # type: ignore[override]
            return True

        async def brand_new(self) -> None:
            return None

    assert surface_differences(targetkit.TargetClient, Drifted) == [
        f"only on {Drifted.__name__}: brand_new",
        "flush: must be async on the async client",
        "get_offers: signatures differ: "
        f"{_parameters(targetkit.TargetClient.get_offers)} / {_parameters(Drifted.get_offers)}",
    ]


# -- identical envelopes ------------------------------------------------------------------


def _client_options(server: DeliveryServer, method: str) -> dict[str, Any]:
    options: dict[str, Any] = {
        "client": "targetkit",
        "organization_id": ORG,
        "decisioning_method": method,
        "server_domain": server.url,
        "telemetry_enabled": False,  # timings would differ between runs
        "clock": lambda: 1_700_000_000_000,
        "polling_interval": 0,
    }
    if method != "server-side":
        options["artifact_payload"] = artifact("TEST_ARTIFACT_FEATURE_FLAG")
    return options


def _calls() -> list[dict[str, Any]]:
    def request(request_id: str, *names: str) -> dict[str, Any]:
        return {
            "requestId": request_id,
            "id": {"tntId": TNT_ID},
            "context": {"channel": "web", "timeOffsetInMinutes": 60},
            "execute": {"mboxes": [{"name": n, "index": i} for i, n in enumerate(names)]},
        }

    return [
        {"request": request("r1", LOCAL), "session_id": "s1"},
        {"request": request("r2", LOCAL, REMOTE), "session_id": "s2", "target_location_hint": "28"},
        {"request": {**request("r3", REMOTE), "prefetch": {"views": [{"name": "home"}]}}},
    ]


def _sync_run(server: DeliveryServer, method: str) -> list[dict[str, Any]]:
    with targetkit.create(_client_options(server, method)) as client:
        return [client.get_offers(call) for call in _calls()]


def _async_run(server: DeliveryServer, method: str) -> list[dict[str, Any]]:
    async def main() -> list[dict[str, Any]]:
        async with targetkit.AsyncTargetClient.create(_client_options(server, method)) as client:
            return [await client.get_offers(call) for call in _calls()]

    return asyncio.run(main())


def _without_session(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The third call draws a random session id: equal in shape, not in value."""
    for result in results:
        if "session#s" not in result["target_cookie"]["value"]:
            result["target_cookie"] = {**result["target_cookie"], "value": "<drawn>"}
    return results


@pytest.mark.parametrize("method", ["server-side", "hybrid", "on-device"])
def test_sync_and_async_give_identical_envelopes(
    validating_delivery_server: DeliveryServer, method: str
) -> None:
    server = validating_delivery_server
    server.set_handler(offers_handler({REMOTE: {"remote": True}, LOCAL: {"local": True}}))
    sync_results = _sync_run(server, method)
    sync_wire = _wire(server)
    server.reset()
    async_results = _async_run(server, method)
    assert _without_session(sync_results) == _without_session(async_results)
    assert _wire(server) == sync_wire
    assert server.schema_errors == []


def _wire(server: DeliveryServer) -> list[Any]:
    """The requests received, with drawn ids blanked and notification batches sorted (the
    background queue sends them in its own time)."""
    calls, notes = [], []
    for received in server.delivery_requests():
        query = dict(received.query)
        if query["sessionId"][0] != "s":
            query["sessionId"] = "<drawn>"
        body = dict(received.json)
        if "notifications" in body:
            body["requestId"] = "<drawn>"
            body["notifications"] = [
                {**n, "id": "<drawn>", "impressionId": "<drawn>"} for n in body["notifications"]
            ]
            notes.append(repr((query, body)))
        else:
            calls.append((query, body))
    return [calls, sorted(notes)]
