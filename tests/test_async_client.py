"""AsyncTargetClient through its public surface, against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest

import targetkit
from targetkit.errors import ClientClosedError, DeliveryError, InvalidRequestError
from targetkit.transport import MAX_CONNECTIONS
from tests.servers import CdnServer, DeliveryServer, Fault, HandlerResult, RecordedRequest
from tests.test_hybrid import FLAGS, LOCAL, REMOTE, request_for
from tests.test_on_device import artifact
from tests.test_server_side import ORG, mbox_request, offers_handler


def options(server: DeliveryServer, **extra: Any) -> dict[str, Any]:
    return {
        "client": "targetkit",
        "organization_id": ORG,
        "server_domain": server.url,
        "timeout": 3000,
        **extra,
    }


def on_device(server: DeliveryServer, **extra: Any) -> dict[str, Any]:
    return options(
        server,
        decisioning_method="on-device",
        artifact_payload=artifact("TEST_ARTIFACT_FEATURE_FLAG"),
        polling_interval=0,
        **extra,
    )


def test_create_needs_a_running_loop(delivery_server: DeliveryServer) -> None:
    with pytest.raises(RuntimeError, match="running event loop"):
        targetkit.AsyncTargetClient.create(options(delivery_server))


def test_server_side_call(validating_delivery_server: DeliveryServer) -> None:
    server = validating_delivery_server
    server.set_handler(offers_handler({"hero": {"color": "blue"}}))

    async def main() -> dict[str, Any]:
        async with targetkit.AsyncTargetClient.create(options(server)) as client:
            assert client.is_ready
            assert await client.wait_until_ready(0)
            return await client.get_offers({"request": mbox_request("hero")})  # type: ignore[no-any-return]

    result = asyncio.run(main())
    [mbox] = result["response"]["execute"]["mboxes"]
    assert mbox["options"][0]["content"] == {"color": "blue"}
    assert result["meta"]["decisioning_method"] == "server-side"
    assert server.schema_errors == []


def test_errors_are_typed(delivery_server: DeliveryServer) -> None:
    delivery_server.set_fault(Fault.error(429))

    async def main() -> None:
        async with targetkit.AsyncTargetClient.create(options(delivery_server)) as client:
            with pytest.raises(DeliveryError) as caught:
                await client.get_offers({"request": mbox_request("hero")})
            assert caught.value.status == 429
            with pytest.raises(InvalidRequestError) as refused:
                await client.get_offers({"request": {}, "callback": print})
            assert refused.value.field == "options.callback"
        with pytest.raises(ClientClosedError):
            await client.get_offers({"request": mbox_request("hero")})

    asyncio.run(main())


def test_on_device_notifications_go_through_the_async_queue(
    validating_delivery_server: DeliveryServer,
) -> None:
    server = validating_delivery_server

    async def main() -> dict[str, Any]:
        async with targetkit.AsyncTargetClient.create(on_device(server)) as client:
            result = await client.get_offers({"request": request_for(LOCAL)})
            assert await client.flush(5)
            return result  # type: ignore[no-any-return]

    result = asyncio.run(main())
    assert result["response"]["execute"]["mboxes"][0]["options"][0]["content"] == FLAGS
    [note] = server.notifications()
    assert note["mbox"] == {"name": LOCAL} and note["type"] == "display"
    assert server.schema_errors == []


def test_coroutine_callbacks_are_awaited(delivery_server: DeliveryServer) -> None:
    delivery_server.set_fault(Fault.error(400))  # not transient: fails at once
    seen: list[str] = []

    async def ready() -> None:
        await asyncio.sleep(0)
        seen.append("ready")

    async def failed(event: Any) -> None:
        await asyncio.sleep(0)
        seen.append(f"failed:{event.notification['request']['notifications'][0]['mbox']['name']}")

    async def main() -> None:
        client = targetkit.AsyncTargetClient.create(
            on_device(delivery_server, events={"client_ready": ready})
        )
        client.on("send_notification_error", failed)
        await client.get_offers({"request": request_for(LOCAL)})
        await client.close()

    asyncio.run(main())
    assert seen == ["ready", f"failed:{LOCAL}"]


def test_hybrid_and_attributes(validating_delivery_server: DeliveryServer) -> None:
    server = validating_delivery_server
    server.set_handler(offers_handler({REMOTE: {"remote": 1}}))

    async def main() -> Any:
        extra = {"decisioning_method": "hybrid"}
        async with targetkit.AsyncTargetClient.create({**on_device(server), **extra}) as client:
            return await client.get_attributes([LOCAL, REMOTE], {"request": request_for()})

    attributes = asyncio.run(main())
    assert attributes.get_int(REMOTE, "remote") == 1
    assert attributes.get_str(LOCAL, "paymentExperience") == "alpha10"
    assert attributes.get_response()["meta"]["remote_mboxes"] == [REMOTE]


def test_artifact_from_the_cdn(cdn_server: CdnServer, delivery_server: DeliveryServer) -> None:
    cdn_server.put("/rules.json", json.dumps(artifact("TEST_ARTIFACT_FEATURE_FLAG")).encode())

    async def main() -> None:
        async with targetkit.AsyncTargetClient.create(
            options(
                delivery_server,
                decisioning_method="on-device",
                artifact_location=cdn_server.url + "/rules.json",
            )
        ) as client:
            assert await client.wait_until_ready(5)
            assert await client.refresh_artifact() is False  # 304: nothing new
            result = await client.get_offers({"request": request_for(LOCAL)})
            assert result["meta"]["decisioning_method"] == "on-device"

    asyncio.run(main())


class InFlight:
    """A Delivery handler that holds each call until ``target`` calls are held at once (or
    ``hold_s`` passed) and records the most held at once."""

    def __init__(self, server: DeliveryServer) -> None:
        self._server = server
        self.hold_s = 0.0
        self._cond = threading.Condition()
        self.target = 0
        self.released = False
        self.now = 0
        self.most = 0

    def __call__(self, request: RecordedRequest) -> HandlerResult:
        with self._cond:
            self.now += 1
            self.most = max(self.most, self.now)
            if self.now >= self.target:
                self.released = True  # every held call may go now
                self._cond.notify_all()
            self._cond.wait_for(lambda: self.released, self.hold_s)
            self.now -= 1
        return self._server.default_handler(request)


def test_concurrent_calls_share_one_connection_pool(delivery_server: DeliveryServer) -> None:
    in_flight = InFlight(delivery_server)
    delivery_server.set_handler(in_flight)

    async def wave(client: Any, count: int, hold_s: float) -> int:
        in_flight.most, in_flight.target, in_flight.hold_s = 0, count, hold_s
        in_flight.released = False
        calls = [client.get_offers({"request": mbox_request("hero")}) for _ in range(count)]
        await asyncio.gather(*calls)
        return in_flight.most

    async def main() -> tuple[int, int]:
        async with targetkit.AsyncTargetClient.create(options(delivery_server)) as client:
            return await wave(client, 100, 5.0), await wave(client, 150, 0.3)

    hundred, more = asyncio.run(main())
    limit = MAX_CONNECTIONS
    assert hundred == 100 == limit  # 100 concurrent calls really ran at once...
    assert len({r.peer for r in delivery_server.requests[:100]}) == 100
    assert more <= limit  # ...and 150 never open more than the one pool allows
    assert delivery_server.count() == 250
