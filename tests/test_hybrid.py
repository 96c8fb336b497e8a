"""Hybrid decisioning: local locations on-device, the rest in one Delivery call, merged.

Also: server-side, hybrid and on-device answer the same request the same way."""

from __future__ import annotations

from typing import Any

import pytest

import targetkit
from targetkit.delivery.hybrid import merge, requested_locations, split
from tests.servers import DeliveryServer
from tests.test_on_device import artifact
from tests.test_server_side import ORG, offers_handler

LOCAL = "mbox-feature-flags"  # listed as local by the artifact
REMOTE = "remote-only-mbox-a"  # listed as remote by the artifact
TNT_ID = "338e3c1e51f7416a8e1ccba4f81acea0.28_0"
FLAGS = {  # what the artifact decides for TNT_ID
    "paymentExperience": "alpha10",
    "showFeatureX": True,
    "paymentGatewayVersion": 3.1,
    "customerFeedbackValue": 99,
}


def create(server: DeliveryServer, method: str, **extra: Any) -> Any:
    options: dict[str, Any] = {
        "client": "targetkit",
        "organization_id": ORG,
        "decisioning_method": method,
        "server_domain": server.url,
        "artifact_payload": artifact("TEST_ARTIFACT_FEATURE_FLAG"),
        "polling_interval": 0,
        "telemetry_enabled": False,
        **extra,
    }
    if method == "server-side":
        del options["artifact_payload"]
    return targetkit.create(options)


def request_for(*names: str) -> dict[str, Any]:
    return {
        "id": {"tntId": TNT_ID},
        "context": {"channel": "web"},
        "execute": {"mboxes": [{"name": n, "index": i} for i, n in enumerate(names)]},
    }


def contents(result: dict[str, Any]) -> dict[str, Any]:
    return {
        m["name"]: [o.get("content") for o in m.get("options", [])]
        for m in result["response"]["execute"]["mboxes"]
    }


def test_local_on_device_rest_in_one_remote_call(
    validating_delivery_server: DeliveryServer,
) -> None:
    server = validating_delivery_server
    server.set_handler(offers_handler({REMOTE: {"from": "edge"}}))
    with create(server, "hybrid") as client:
        result = client.get_offers({"request": request_for(REMOTE, LOCAL, "unknown-mbox")})
        assert client.flush(5)
    [call] = [b for b in server.requests_json() if "execute" in b]
    assert [m["name"] for m in call["execute"]["mboxes"]] == [REMOTE, "unknown-mbox"]
    assert call["id"]["tntId"] == TNT_ID
    assert [m["name"] for m in result["response"]["execute"]["mboxes"]] == [
        REMOTE,
        LOCAL,
        "unknown-mbox",
    ]
    assert contents(result) == {REMOTE: [{"from": "edge"}], LOCAL: [FLAGS], "unknown-mbox": []}
    assert result["meta"] == {
        "decisioning_method": "hybrid",
        "remote_mboxes": [REMOTE, "unknown-mbox"],
        "remote_views": [],
    }
    notified = [n["mbox"]["name"] for n in server.notifications()]
    assert notified == [LOCAL]  # the on-device decision is reported through the queue
    assert server.schema_errors == []


def test_all_local_makes_no_remote_call(validating_delivery_server: DeliveryServer) -> None:
    with create(validating_delivery_server, "hybrid", telemetry_enabled=False) as client:
        result = client.get_offers({"request": request_for(LOCAL)})
    assert result["meta"] == {
        "decisioning_method": "on-device",
        "remote_mboxes": [],
        "remote_views": [],
    }
    assert not [b for b in validating_delivery_server.requests_json() if "execute" in b]


def test_not_ready_sends_everything_remote(validating_delivery_server: DeliveryServer) -> None:
    server = validating_delivery_server
    with targetkit.create(
        {
            "client": "targetkit",
            "organization_id": ORG,
            "decisioning_method": "hybrid",
            "server_domain": server.url,
            "cdn_base_path": "http://127.0.0.1:9",  # the artifact never arrives
            "timeout": 500,
        }
    ) as client:
        request = request_for(LOCAL, REMOTE)
        request["execute"]["pageLoad"] = {}
        result = client.get_offers({"request": request})
    [call] = server.requests_json()
    assert [m["name"] for m in call["execute"]["mboxes"]] == [LOCAL, REMOTE]
    assert result["meta"] == {
        "decisioning_method": "server-side",
        "remote_mboxes": [LOCAL, REMOTE, "target-global-mbox"],
        "remote_views": [],
    }
    assert server.schema_errors == []


@pytest.mark.parametrize("method", ["server-side", "hybrid", "on-device"])
def test_every_mode_answers_the_same_request(
    validating_delivery_server: DeliveryServer, method: str
) -> None:
    # The edge stand-in answers what the artifact decides for this visitor.
    validating_delivery_server.set_handler(offers_handler({LOCAL: FLAGS}))
    with create(validating_delivery_server, method) as client:
        result = client.get_offers({"request": request_for(LOCAL)})
        attributes = client.get_attributes([LOCAL], {"request": request_for(LOCAL)})
    assert contents(result) == {LOCAL: [FLAGS]}
    assert attributes.get_float(LOCAL, "paymentGatewayVersion") == 3.1
    assert attributes.get_str(LOCAL, "paymentExperience") == "alpha10"
    assert attributes.get_bool(LOCAL, "showFeatureX") is True
    assert attributes.get_int(LOCAL, "customerFeedbackValue") == 99
    assert attributes.get_int(LOCAL, "paymentExperience", -1) == -1  # wrong type: default
    assert result["target_cookie"]["value"].count("|PC#") == 1
    assert validating_delivery_server.schema_errors == []


# -- split and merge, without I/O -------------------------------------------------------


def test_split_moves_page_load_views_and_notifications() -> None:
    request = {
        "id": {"tntId": "t"},
        "context": {"channel": "web"},
        "notifications": [{"id": "n"}],
        "execute": {"pageLoad": {}, "mboxes": [{"name": "a"}, {"name": "b"}]},
        "prefetch": {"views": [{"name": "home"}, {"name": "cart"}], "mboxes": [{"name": "a"}]},
    }
    local, remote = split(request, ["b", "g"], ["cart"], "g")
    assert local == {
        "id": {"tntId": "t"},
        "context": {"channel": "web"},
        "execute": {"mboxes": [{"name": "a"}]},
        "prefetch": {"views": [{"name": "home"}], "mboxes": [{"name": "a"}]},
    }
    assert remote == {
        "id": {"tntId": "t"},
        "context": {"channel": "web"},
        "notifications": [{"id": "n"}],
        "execute": {"pageLoad": {}, "mboxes": [{"name": "b"}]},
        "prefetch": {"views": [{"name": "cart"}]},
    }
    assert local["context"] is request["context"]  # shallow: nothing is deep-copied


def test_split_keeps_an_unnamed_view_request_whole() -> None:
    request = {"prefetch": {"views": [{}]}}
    assert split(request, [], ["cart"], "g") == (None, {"prefetch": {"views": [{}]}})
    assert split(request, [], [], "g") == ({"prefetch": {"views": [{}]}}, None)


def test_split_of_an_empty_request_is_an_empty_local_answer() -> None:
    assert split({"id": {}}, [], [], "g") == ({"id": {}}, None)


def test_merge_orders_mboxes_as_requested_and_keeps_edge_keys() -> None:
    request = {"execute": {"mboxes": [{"name": "a", "index": 0}, {"name": "b", "index": 1}]}}
    local = {"status": 200, "execute": {"mboxes": [{"name": "a", "index": 0}]}}
    remote = {
        "status": 200,
        "edgeHost": "mboxedge1.tt.omtrdc.net",
        "execute": {"mboxes": [{"name": "b", "index": 1}], "pageLoad": {"options": []}},
        "prefetch": {"views": [{"name": "v2"}]},
    }
    local["prefetch"] = {"views": [{"name": "v1"}], "metrics": [{"x": 1}]}
    merged = merge(request, local, remote)
    assert merged["edgeHost"] == "mboxedge1.tt.omtrdc.net"
    assert merged["execute"]["mboxes"] == [{"name": "a", "index": 0}, {"name": "b", "index": 1}]
    assert merged["execute"]["pageLoad"] == {"options": []}
    assert merged["prefetch"] == {"views": [{"name": "v2"}, {"name": "v1"}], "metrics": [{"x": 1}]}


def test_requested_locations() -> None:
    request = {
        "execute": {"pageLoad": {}, "mboxes": [{"name": "a"}, {"name": "a"}]},
        "prefetch": {"views": [{"name": "v"}, {}], "mboxes": [{"name": "b"}]},
    }
    assert requested_locations(request) == (["a", "target-global-mbox", "b"], ["v"])


def test_caller_notifications_are_never_dropped(validating_delivery_server: DeliveryServer) -> None:
    server = validating_delivery_server
    note = {"id": "click-1", "type": "click", "timestamp": 1, "mbox": {"name": LOCAL}}
    for method in ("on-device", "hybrid"):
        with create(server, method) as client:
            client.get_offers({"request": {**request_for(LOCAL), "notifications": [note]}})
    # On-device they ride the queue; hybrid sends them in its (otherwise empty) edge call.
    clicks = [n for n in server.notifications() if n["type"] == "click"]
    assert clicks == [note, note]
    assert server.schema_errors == []
