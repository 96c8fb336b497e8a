"""Target's cookies: the ``mbox`` cookie (session id, PCID) and ``mboxEdgeCluster``."""

from __future__ import annotations

import logging

import pytest

from targetkit.delivery.cookies import (
    DEVICE_ID_MAX_AGE_S,
    LOCATION_HINT_MAX_AGE_S,
    SESSION_ID_MAX_AGE_S,
    location_hint_cookie,
    parse_location_hint,
    parse_target_cookie,
    response_cookies,
    target_cookie,
    valid_session_id,
)

NOW_MS = 1_700_000_000_000
NOW_S = NOW_MS // 1000


def test_lifetimes_match_the_adobe_sdks() -> None:
    assert (SESSION_ID_MAX_AGE_S, DEVICE_ID_MAX_AGE_S, LOCATION_HINT_MAX_AGE_S) == (
        1860,
        63244800,
        1860,
    )


def test_written_cookie_round_trips() -> None:
    cookie = target_cookie("sess-1", {"tntId": "abc.28_0"}, NOW_MS)
    assert cookie == {
        "name": "mbox",
        "value": f"session#sess-1#{NOW_S + 1860}|PC#abc.28_0#{NOW_S + 63244800}",
        "maxAge": 63244800,
    }
    assert parse_target_cookie(cookie["value"], NOW_MS) == {
        "session": "sess-1",
        "PC": "abc.28_0",
    }


def test_without_a_visitor_only_the_session_is_written() -> None:
    cookie = target_cookie("sess-1", None, NOW_MS)
    assert cookie["value"] == f"session#sess-1#{NOW_S + 1860}"
    assert cookie["maxAge"] == 1860


def test_special_characters_are_encoded() -> None:
    cookie = target_cookie("a|b#c", {"tntId": "x y"}, NOW_MS)
    assert "|" not in cookie["value"].split("|")[0]
    assert parse_target_cookie(cookie["value"], NOW_MS) == {"session": "a|b#c", "PC": "x y"}


def test_expired_parts_are_dropped() -> None:
    value = f"session#old#{NOW_S - 1}|PC#keep.1_0#{NOW_S + 10}"
    assert parse_target_cookie(value, NOW_MS) == {"PC": "keep.1_0"}


def test_a_url_encoded_cookie_is_read() -> None:
    value = f"session%23s1%23{NOW_S + 10}%7CPC%23v.2_0%23{NOW_S + 10}"
    assert parse_target_cookie(value, NOW_MS) == {"session": "s1", "PC": "v.2_0"}


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        "session#only-two",
        "session#s#not-a-number",
        "|||",
        f"session#bad id/with?#{NOW_S + 10}",  # the Delivery API would refuse it
        f"#empty-name#{NOW_S + 10}",
    ],
)
def test_malformed_cookie_is_ignored_with_a_debug_log(
    value: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="targetkit.delivery.cookies"):
        assert parse_target_cookie(value, NOW_MS) == {}
    if value != f"#empty-name#{NOW_S + 10}":
        assert any(r.levelno == logging.DEBUG for r in caplog.records)
    assert not any(r.levelno > logging.DEBUG for r in caplog.records)


def test_good_parts_survive_next_to_bad_ones() -> None:
    value = f"junk|session#s2#{NOW_S + 10}|PC#v#nope"
    assert parse_target_cookie(value, NOW_MS) == {"session": "s2"}


def test_location_hint_cookie() -> None:
    assert location_hint_cookie("28") == {"name": "mboxEdgeCluster", "value": "28", "maxAge": 1860}
    assert location_hint_cookie(None, "mboxedge31.tt.omtrdc.net")["value"] == "31"  # type: ignore[index]
    assert location_hint_cookie(None, "not-an-edge") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("35", "35"), (" 17 ", "17"), ("", None), ("a.b", None), ("x" * 40, None), (None, None)],
)
def test_location_hint_parsing(value: str | None, expected: str | None) -> None:
    assert parse_location_hint(value) == expected


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("abc-123", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("a b", False),
        ("a/b", False),
        ("a?b", False),
        ("é", False),
        ("", False),
    ],
)
def test_session_ids_the_delivery_api_accepts(value: str, ok: bool) -> None:
    assert valid_session_id(value) is ok


def test_response_cookies_are_ready_for_a_framework() -> None:
    envelope = {
        "target_cookie": target_cookie("s", {"tntId": "t.9_0"}, NOW_MS),
        "target_location_hint_cookie": location_hint_cookie("9"),
    }
    names = [(c["name"], c["maxAge"]) for c in response_cookies(envelope)]
    assert names == [("mbox", 63244800), ("mboxEdgeCluster", 1860)]
    assert response_cookies({}) == []
