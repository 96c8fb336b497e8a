"""Property-based: arbitrary JSON-shaped get_offers input gives a response or one of our
documented errors, never anything else."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import targetkit
from targetkit.errors import TargetError

ARTIFACT = json.loads(
    (
        Path(__file__).parent / "conformance" / "artifacts" / "TEST_ARTIFACT_PAGELOAD_VEC_AB.json"
    ).read_text()
)
GEO_ARTIFACT = json.loads(
    (Path(__file__).parent / "conformance" / "artifacts" / "TEST_ARTIFACT_GEO.json").read_text()
)

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def mostly(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually (nine times in ten) a well-formed value, else arbitrary JSON."""
    # Hypothesis favours early branches, so pick by an integer where 0..8 is "valid".
    return st.integers(0, 9).flatmap(lambda i: valid if i < 9 else json_values)


MBOX_NAMES = st.sampled_from(["target-global-mbox", "mbox-magician", "x", "", "home"])


def _location() -> st.SearchStrategy[Any]:
    known = st.fixed_dictionaries(
        {},
        optional={
            "name": mostly(MBOX_NAMES),
            "index": mostly(st.integers()),
            "parameters": mostly(st.dictionaries(st.text(max_size=10), json_values, max_size=4)),
            "address": mostly(st.fixed_dictionaries({}, optional={"url": mostly(st.text())})),
        },
    )
    return mostly(known)


def _part() -> st.SearchStrategy[Any]:
    return mostly(
        st.fixed_dictionaries(
            {},
            optional={
                "mboxes": mostly(st.lists(_location(), max_size=3)),
                "views": mostly(st.lists(_location(), max_size=3)),
                "pageLoad": _location(),
            },
        )
    )


visitor_ids = st.fixed_dictionaries(
    {},
    optional={
        "tntId": mostly(st.text(max_size=40)),
        "marketingCloudVisitorId": mostly(st.text(max_size=40)),
        "thirdPartyId": mostly(st.text(max_size=40)),
        "customerIds": json_values,
    },
)
geos = st.fixed_dictionaries(
    {},
    optional={
        "ipAddress": st.sampled_from(["127.0.0.1", "::1", "unknownIpAddress", "x"]),
        "city": json_values,
        "latitude": json_values,
    },
)
contexts = st.fixed_dictionaries(
    {},
    optional={
        "userAgent": mostly(st.text(max_size=80)),
        "address": mostly(
            st.fixed_dictionaries(
                {}, optional={"url": st.text(), "referringUrl": mostly(st.text())}
            )
        ),
        "geo": mostly(geos),
        "clientHints": mostly(
            st.fixed_dictionaries(
                {},
                optional={
                    "browserUAWithMajorVersion": st.text(max_size=40),
                    "platform": st.text(max_size=10),
                },
            )
        ),
    },
)
requests = st.fixed_dictionaries(
    {},
    optional={
        "id": mostly(visitor_ids),
        "context": mostly(contexts),
        "execute": _part(),
        "prefetch": _part(),
        "property": mostly(st.fixed_dictionaries({"token": mostly(st.text(max_size=8))})),
        "trace": mostly(st.just({})),
        "requestId": mostly(st.text(max_size=10)),
        "notifications": mostly(st.just([])),
    },
)


get_offers_options = mostly(
    st.fixed_dictionaries(
        {"request": mostly(requests)},
        optional={
            "session_id": mostly(st.text(max_size=10)),
            "target_cookie": mostly(st.text(max_size=60)),
            "target_location_hint": mostly(st.text(max_size=4)),
            "consumer_id": mostly(st.text(max_size=4)),
            "customer_ids": mostly(
                st.lists(
                    st.fixed_dictionaries(
                        {
                            "id": st.text(max_size=8),
                            "integrationCode": st.text(max_size=8),
                            "authenticatedState": st.sampled_from(
                                ["authenticated", "logged_out", "unknown"]
                            ),
                        }
                    ),
                    max_size=2,
                )
            ),
            "decisioning_method": mostly(st.sampled_from(["on-device", "hybrid"])),
        },
    )
)


@pytest.fixture(scope="module")
def clients() -> Iterator[list[Any]]:
    made = [
        targetkit.create(
            {
                "client": "someClientId",
                "organization_id": "someOrgId",
                "decisioning_method": "on-device",
                "artifact_payload": payload,
                "polling_interval": 0,
                "timeout": 200,
                "telemetry_enabled": False,
                # Nothing listens here: any remote call fails fast with a typed error.
                "server_domain": "http://127.0.0.1:9",
                "cdn_base_path": "http://127.0.0.1:9",
            }
        )
        for payload in (ARTIFACT, GEO_ARTIFACT)
    ]
    yield made
    for client in made:
        client.close(timeout=0.5)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(options=get_offers_options, which=st.integers(0, 1))
def test_get_offers_answers_or_raises_a_documented_error(
    clients: list[Any], options: Any, which: int
) -> None:
    try:
        result = clients[which].get_offers(options)
    except TargetError as err:
        event(f"raised {type(err).__name__} {getattr(err, 'field', '')}")
        return
    event("answered")
    if isinstance(options, dict) and options.get("callback") is not None:
        assert result is None
        return
    assert isinstance(result, dict)
    assert isinstance(result["response"], dict)
    assert result["meta"]["decisioning_method"] in ("on-device", "server-side", "hybrid")
    json.dumps(result)  # a response is always plain JSON data
