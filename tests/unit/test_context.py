"""Tests for targetkit.decisioning.context (expected values follow the Node.js SDK's
contextProvider.js / utils.js behaviour, checked against it under Node)."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from targetkit.decisioning.context import (
    ContextBuilder,
    geo_context,
    mbox_context,
    timing_context,
)
from targetkit.decisioning.urls import UrlParser
from targetkit.decisioning.useragent import UserAgentParser

FIREFOX_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:73.0) Gecko/20100101 Firefox/73.0"
EMPTY_PAGE = {
    key: ""
    for name in ("url", "path", "query", "fragment", "subdomain", "domain", "topLevelDomain")
    for key in (name, name + "_lc")
}
EMPTY_GEO = dict.fromkeys(("country", "region", "city", "latitude", "longitude"))
UNKNOWN_USER = {
    "browserType": "unknown",
    "browserVersion": -1,
    "platform": "unknown",
    "locale": "en",
}


def epoch_ms(year: int, month: int, day: int, hour: int, minute: int) -> int:
    moment = datetime.datetime(year, month, day, hour, minute, tzinfo=datetime.UTC)
    return int(moment.timestamp() * 1000)


# -- mbox ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        pytest.param({"foo": "Bar"}, {"foo": "Bar", "foo_lc": "bar"}, id="flat"),
        pytest.param(
            {"favorite.color": "Blue", "favorite.movie": "Up"},
            {"favorite": {"color": "Blue", "movie": "Up", "color_lc": "blue", "movie_lc": "up"}},
            id="dotted",
        ),
        pytest.param(
            {"first.programming.language": "Python"},
            {"first": {"programming": {"language": "Python", "language_lc": "python"}}},
            id="nested",
        ),
        pytest.param({".a": "X"}, {".a": "X", ".a_lc": "x"}, id="leading-dot"),
        pytest.param({"a.": "X"}, {"a.": "X", "a._lc": "x"}, id="trailing-dot"),
        pytest.param({"a..b": "X"}, {"a..b": "X", "a..b_lc": "x"}, id="double-dot"),
        pytest.param({".": "X"}, {".": "X", "._lc": "x"}, id="only-dot"),
        pytest.param({"a.b": 1, "c": True}, {"a": {"b": 1}, "c": True}, id="non-strings"),
        pytest.param({"a": "", "a.b": "X"}, {"a": {"b": "X", "b_lc": "x"}}, id="falsy-replaced"),
        pytest.param({"a": "Y", "a.b": "X"}, {"a": "Y", "a_lc": "y"}, id="truthy-kept"),
        pytest.param(
            {"a.b": "X", "a": "Y"}, {"a": "Y", "a_lc": "y"}, id="later-plain-key-overwrites"
        ),
        pytest.param(
            {"b": "1", "2": "x", "1": "y"},
            {"1": "y", "2": "x", "b": "1", "1_lc": "y", "2_lc": "x", "b_lc": "1"},
            id="javascript-key-order",
        ),
        pytest.param(
            {"n": {"K": "V", "m": {"Z": "W"}}},
            {"n": {"K": "V", "K_lc": "v", "m": {"Z": "W", "Z_lc": "w"}}},
            id="nested-objects-lowercased",
        ),
        pytest.param(
            {"a": "X", "a_lc": "Q"}, {"a": "X", "a_lc": "x", "a_lc_lc": "x"}, id="lc-clash"
        ),
        pytest.param({"l": ["A"]}, {"l": ["A"]}, id="lists-untouched"),
        pytest.param({"ΣΑΣ": "ΣΑΣ"}, {"ΣΑΣ": "ΣΑΣ", "ΣΑΣ_lc": "σας"}, id="final-sigma"),
    ],
)
def test_mbox_context(parameters: dict[str, Any], expected: dict[str, Any]) -> None:
    result = mbox_context(parameters)
    assert result == expected
    assert list(result) == list(expected)  # key order, as JavaScript would produce


def test_mbox_context_does_not_modify_its_input() -> None:
    parameters: dict[str, Any] = {"a": {"x": "X"}, "a.b": "Y"}
    snapshot = json.dumps(parameters)
    assert mbox_context(parameters) == {"a": {"x": "X", "b": "Y", "x_lc": "x", "b_lc": "y"}}
    assert json.dumps(parameters) == snapshot


@pytest.mark.parametrize("parameters", [None, "a.b", 3, ["a"]])
def test_mbox_context_of_non_objects_is_empty(parameters: Any) -> None:
    assert mbox_context(parameters) == {}


def test_mbox_context_survives_deep_and_cyclic_input() -> None:
    deep: dict[str, Any] = {"V": "X"}
    for _ in range(5000):
        deep = {"n": deep}
    result = mbox_context(deep)
    for _ in range(5000):
        result = result["n"]
    assert result == {"V": "X", "V_lc": "x"}
    cyclic: dict[str, Any] = {"S": "T"}
    cyclic["self"] = cyclic
    looped = mbox_context(cyclic)
    assert looped["self"]["self"]["S_lc"] == "t"


# -- geo and timing ----------------------------------------------------------------------


def test_geo_context() -> None:
    geo = {
        "countryCode": "US",
        "stateCode": "CA",
        "city": "San Francisco",
        "latitude": 37.75,
        "longitude": -122.4,
        "ipAddress": "127.0.0.1",
    }
    assert geo_context(geo) == {
        "country": "US",
        "region": "CA",
        "city": "San Francisco",
        "latitude": 37.75,
        "longitude": -122.4,
    }


@pytest.mark.parametrize("geo", [None, "US", [1, 2], {}, {"city": {"x": 1}, "latitude": [1]}])
def test_geo_context_garbage(geo: Any) -> None:
    assert geo_context(geo) == EMPTY_GEO


@pytest.mark.parametrize(
    ("moment", "time", "day"),
    [
        ((1970, 1, 1, 0, 0), "0000", 4),  # a Thursday
        ((2024, 1, 1, 0, 0), "0000", 1),  # Monday
        ((2024, 1, 7, 23, 59), "2359", 7),  # Sunday
        ((2024, 1, 8, 0, 0), "0000", 1),
        ((2024, 2, 29, 12, 5), "1205", 4),
        ((1969, 12, 31, 23, 59), "2359", 3),  # before the epoch
        ((2099, 12, 31, 9, 9), "0909", 4),
    ],
)
def test_timing_context(moment: tuple[int, int, int, int, int], time: str, day: int) -> None:
    now = epoch_ms(*moment) + 59_999  # the last millisecond of that minute
    assert timing_context(now) == {
        "current_timestamp": now,
        "current_time": time,
        "current_day": day,
    }
    assert timing_context(now + 1)["current_time"] != time


def test_timing_context_matches_datetime_everywhere() -> None:
    for now in range(-(10**12), 10**13, 7_777_777_777):
        moment = datetime.datetime.fromtimestamp(now / 1000, datetime.UTC)
        context = timing_context(now)
        assert context["current_time"] == moment.strftime("%H%M")
        assert context["current_day"] == moment.isoweekday()


# -- builder -----------------------------------------------------------------------------


def test_blank_context() -> None:
    context = ContextBuilder().build({}, 0)
    assert context == {
        "current_timestamp": 0,
        "current_time": "0000",
        "current_day": 4,
        "user": UNKNOWN_USER,
        "page": EMPTY_PAGE,
        "referring": EMPTY_PAGE,
        "geo": EMPTY_GEO,
    }


def test_full_context() -> None:
    request_context = {
        "channel": "web",
        "userAgent": FIREFOX_MAC,
        "address": {
            "url": "http://apple.com",
            "referringUrl": "http://My.Web-Site.net:8080/About?m=1&t=5&name=Jimmy#home",
        },
        "geo": {"countryCode": "RO", "city": "Cluj"},
    }
    context = ContextBuilder().build(request_context, epoch_ms(2024, 1, 7, 13, 45))
    assert context["current_time"] == "1345"
    assert context["current_day"] == 7
    assert context["user"] == {
        "browserType": "firefox",
        "browserVersion": 73,
        "platform": "mac",
        "locale": "en",
    }
    assert context["page"]["domain"] == "apple.com"
    assert context["page"]["topLevelDomain"] == "com"
    referring = context["referring"]
    assert (referring["path"], referring["query_lc"], referring["fragment"]) == (
        "/About",
        "m=1&t=5&name=jimmy",
        "home",
    )
    assert (referring["subdomain"], referring["domain"]) == ("my", "web-site.net")
    assert context["geo"] == {**EMPTY_GEO, "country": "RO", "city": "Cluj"}


def test_client_hints_reach_the_user_context() -> None:
    hints = {"platform": "macOS", "browserUAWithMajorVersion": '"Google Chrome";v="99"'}
    context = ContextBuilder().build({"clientHints": hints}, 0)
    assert context["user"] == {
        **UNKNOWN_USER,
        "browserType": "chrome",
        "browserVersion": 99,
        "platform": "mac",
    }


@pytest.mark.parametrize(
    "request_context",
    [
        None,
        "web",
        [],
        {"userAgent": 5, "clientHints": "x", "address": "http://a.com", "geo": 7},
        {"address": {"url": 5, "referringUrl": ["x"]}},
        {"address": None, "geo": None, "userAgent": None},
    ],
)
def test_garbage_is_treated_as_absent(request_context: Any) -> None:
    context = ContextBuilder().build(request_context, 0)
    assert context["user"] == UNKNOWN_USER
    assert context["page"] == context["referring"] == EMPTY_PAGE
    assert context["geo"] == EMPTY_GEO


def test_page_context_uses_the_url_only() -> None:
    builder = ContextBuilder()
    page = builder.page_context({"url": "http://a.b.com/x", "referringUrl": "http://other.com"})
    assert (page["subdomain"], page["domain"], page["path"]) == ("a", "b.com", "/x")
    for address in (None, {}, {"url": None}, "http://a.com", {"referringUrl": "http://a.com"}):
        assert builder.page_context(address) == EMPTY_PAGE  # type: ignore[arg-type]


def test_builder_uses_the_given_parsers() -> None:
    agents, urls = UserAgentParser(), UrlParser()
    builder = ContextBuilder(agents, urls)
    builder.build({"userAgent": FIREFOX_MAC, "address": {"url": "http://a.com"}}, 0)
    builder.build({"userAgent": FIREFOX_MAC, "address": {"url": "http://a.com"}}, 1)
    assert agents.cache_info().hits == 1
    assert urls.cache_info().hits == 1


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
CONTEXT_KEYS = st.sampled_from(["userAgent", "clientHints", "address", "geo", "channel"])
INNER_KEYS = st.sampled_from(
    ["url", "referringUrl", "platform", "browserUAWithFullVersion", "countryCode", "latitude"]
)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        JSON,
        st.dictionaries(
            CONTEXT_KEYS, JSON | st.dictionaries(INNER_KEYS, JSON, max_size=4), max_size=5
        ),
    ),
    st.integers(min_value=-(10**15), max_value=10**15),
)
def test_build_never_raises(request_context: Any, now: int) -> None:
    context = ContextBuilder().build(request_context, now)
    assert set(context) == {
        "current_timestamp",
        "current_time",
        "current_day",
        "user",
        "page",
        "referring",
        "geo",
    }
    assert 1 <= context["current_day"] <= 7


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(alphabet="ab._A1", max_size=6), JSON, max_size=6))
def test_mbox_context_never_raises(parameters: dict[str, Any]) -> None:
    result = mbox_context(parameters)
    for key, value in result.items():
        if isinstance(value, str) and not key.endswith("_lc"):
            assert result[key + "_lc"] == result[key].lower() or key + "_lc" in parameters
