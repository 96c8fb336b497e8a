"""Tests for targetkit.decisioning.useragent.

Expected values were produced by the Node.js SDK 2.4.3's own code (target-tools
clientInfo.js + contextProvider.js) run under Node, not by this implementation.
"""

from __future__ import annotations

import json
import pathlib
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from targetkit.decisioning.useragent import UserAgentParser
from targetkit.errors import ConfigurationError

MODELS = pathlib.Path(__file__).parent.parent / "conformance" / "models"

# Every user agent used by the conformance suites, with the Node SDK's answer.
CONFORMANCE_UAS = {
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:73.0) Gecko/20100101 Firefox/73.0": (
        "firefox",
        73,
        "mac",
    ),
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_3) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/79.0.3945.130 Safari/537.36": ("chrome", 79, "mac"),
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_3) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/80.0.3987.132 Safari/537.36": ("chrome", 80, "mac"),
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_3) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/80.0.3987.163 Safari/537.36": ("chrome", 80, "mac"),
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_3) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/13.0.5 Safari/605.1.15": ("safari", 13, "mac"),
    "Mozilla/5.0 (Windows NT 10.0; Trident/7.0; rv:11.0) like Gecko": ("ie", 11, "windows"),
    "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.1; WOW64; Trident/6.0)": (
        "ie",
        10,
        "windows",
    ),
}

COMMON_UAS = [
    pytest.param(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like "
        "Gecko) Chrome/120.0.0.0 Safari/537.36",
        ("chrome", 120, "mac"),
        id="chrome_mac",
    ),
    pytest.param(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36",
        ("chrome", 120, "windows"),
        id="chrome_win",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Mobile Safari/537.36",
        ("chrome", 120, "Android"),
        id="chrome_android",
    ),
    pytest.param(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36",
        ("chrome", 120, "linux"),
        id="chrome_linux",
    ),
    pytest.param(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1",
        ("unknown", -1, "iOS"),
        id="chrome_ios",
    ),
    pytest.param(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
        ("firefox", 121, "windows"),
        id="firefox_win",
    ),
    pytest.param(
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
        ("firefox", 121, "linux"),
        id="firefox_linux",
    ),
    pytest.param(
        "Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0",
        ("firefox", 121, "Android"),
        id="firefox_android",
    ),
    pytest.param(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) FxiOS/121.0 Mobile/15E148 Safari/605.1.15",
        ("unknown", -1, "iOS"),
        id="firefox_ios",
    ),
    pytest.param(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/17.2 Safari/605.1.15",
        ("safari", 17, "mac"),
        id="safari_mac",
    ),
    pytest.param(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
        ("mobile safari", 17, "iOS"),
        id="mobile_safari",
    ),
    pytest.param(
        "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
        ("mobile safari", 16, "iOS"),
        id="ipad_safari",
    ),
    pytest.param(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
        ("edge", 120, "windows"),
        id="edge_win",
    ),
    pytest.param(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/70.0.3538.102 Safari/537.36 Edge/18.19582",
        ("edge", 18, "windows"),
        id="edge_legacy",
    ),
    pytest.param(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Version/17.0 EdgiOS/120.0.2210.126 Mobile/15E148 Safari/605.1.15",
        ("edge", 120, "iOS"),
        id="edge_ios",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Mobile Safari/537.36 EdgA/120.0.2210.115",
        ("edge", 120, "Android"),
        id="edge_android",
    ),
    pytest.param(
        "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko",
        ("ie", 11, "windows"),
        id="ie11",
    ),
    pytest.param(
        "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.1; WOW64; Trident/6.0)",
        ("ie", 10, "windows"),
        id="ie10",
    ),
    pytest.param(
        "Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 10.0; WOW64; Trident/8.0; .NET4.0C; "
        ".NET4.0E)",
        ("ie", 7, "windows"),
        id="ie7_compat",
    ),
    pytest.param(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0",
        ("chrome", 120, "windows"),
        id="opera",
    ),
    pytest.param(
        "Opera/9.80 (Windows NT 6.1; WOW64) Presto/2.12.388 Version/12.18",
        ("unknown", -1, "windows"),
        id="opera_presto",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like "
        "Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
        ("chrome", 115, "Android"),
        id="samsung",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230805.001; wv) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.43 Mobile "
        "Safari/537.36",
        ("safari", 4, "Android"),
        id="android_webview",
    ),
    pytest.param(
        "Mozilla/5.0 (Linux; U; Android 4.0.2; en-us; Galaxy Nexus Build/ICL53F) "
        "AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30",
        ("safari", 4, "Android"),
        id="android_stock",
    ),
    pytest.param(
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36",
        ("chrome", 120, "Unix"),
        id="chromeos",
    ),
    pytest.param(
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        ("unknown", -1, "unknown"),
        id="googlebot",
    ),
    pytest.param(
        "curl/8.4.0",
        ("unknown", -1, "unknown"),
        id="curl",
    ),
]

CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.2 Safari/605.1.15"
)
FIREFOX_WIN = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
CHROME_99_FULL = (
    '" Not A;Brand";v="99.0.0.0", "Chromium";v="99.0.4844.83", "Google Chrome";v="99.0.4844.83"'
)
CHROME_99_MAJOR = '" Not A;Brand";v="99", "Chromium";v="99", "Google Chrome";v="99"'
EDGE_102 = (
    '" Not A;Brand";v="99.0.0.0", "Chromium";v="99.0.1150.46", "Microsoft Edge";v="102.0.1150.46"'
)

CLIENT_HINTS = [
    pytest.param(
        "", {"browserUAWithFullVersion": CHROME_99_FULL, "platform": "macOS"}, ("chrome", 99, "mac")
    ),
    pytest.param(
        FIREFOX_WIN, {"browserUAWithMajorVersion": CHROME_99_MAJOR}, ("chrome", 99, "windows")
    ),
    pytest.param(
        "", {"browserUAWithMajorVersion": EDGE_102, "platform": "Windows"}, ("edge", 102, "windows")
    ),
    pytest.param(CHROME_MAC, {"platform": "Linux"}, ("chrome", 120, "linux")),
    pytest.param(CHROME_MAC, {"platform": "Chrome OS"}, ("chrome", 120, "Chrome OS")),
    pytest.param(CHROME_MAC, {"platform": ""}, ("chrome", 120, ""), id="empty-platform-hint-wins"),
    pytest.param(
        SAFARI_MAC,
        {"browserUAWithFullVersion": "", "browserUAWithMajorVersion": '"Firefox";v="120"'},
        ("firefox", 120, "mac"),
        id="empty-full-list-falls-back-to-major",
    ),
    pytest.param(
        SAFARI_MAC,
        {"browserUAWithFullVersion": '"Safari";v="."'},
        ("safari", 17, "mac"),
        id="hint-name-without-version-keeps-ua-version",
    ),
    pytest.param(
        "oh hai", {"browserUAWithFullVersion": '"Chromium";v="99"'}, ("unknown", -1, "unknown")
    ),
    pytest.param(
        CHROME_MAC,
        {
            "browserUAWithFullVersion": 5,
            "browserUAWithMajorVersion": '"Firefox";v="3"',
            "platform": 7,
        },
        ("firefox", 3, "mac"),
        id="wrong-types-are-absent",
    ),
]


def triple(context: Any) -> tuple[Any, Any, Any]:
    assert context["locale"] == "en"
    assert set(context) == {"browserType", "browserVersion", "platform", "locale"}
    return context["browserType"], context["browserVersion"], context["platform"]


def test_table_covers_every_user_agent_in_the_conformance_models() -> None:
    found: set[str] = set()
    for path in MODELS.glob("*.json"):
        found.update(_walk(json.loads(path.read_text(encoding="utf-8"))))
    assert found, "no userAgent found in the conformance models"
    assert found <= set(CONFORMANCE_UAS)


def _walk(node: Any) -> Any:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "userAgent" and isinstance(value, str):
                yield value
            else:
                yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


@pytest.mark.parametrize(("agent", "expected"), list(CONFORMANCE_UAS.items()))
def test_conformance_user_agents(agent: str, expected: tuple[str, int, str]) -> None:
    assert triple(UserAgentParser().user_context(agent, None)) == expected


@pytest.mark.parametrize(("agent", "expected"), COMMON_UAS)
def test_common_user_agents(agent: str, expected: tuple[str, int, str]) -> None:
    assert triple(UserAgentParser().user_context(agent, None)) == expected


@pytest.mark.parametrize(("agent", "hints", "expected"), CLIENT_HINTS)
def test_client_hints(agent: str, hints: dict[str, Any], expected: tuple[str, int, str]) -> None:
    assert triple(UserAgentParser().user_context(agent, hints)) == expected


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        pytest.param(None, ("unknown", -1, "unknown"), id="none"),
        pytest.param("", ("unknown", -1, "unknown"), id="empty"),
        pytest.param(12345, ("unknown", -1, "unknown"), id="not-a-string"),
        pytest.param("Edge/abc", ("edge", -1, "unknown"), id="non-numeric-version"),
        pytest.param("Firefox/-5", ("firefox", -1, "unknown"), id="negative-version"),
        pytest.param("Firefox/73.0 (extra)", ("unknown", -1, "unknown"), id="firefox-not-at-end"),
        pytest.param(
            "Firefox/73.0\n", ("unknown", -1, "unknown"), id="js-dollar-not-before-newline"
        ),
        pytest.param("Chrome/5abc", ("chrome", 5, "unknown"), id="parseint-prefix"),
        pytest.param("Edg/2", ("edge", 2, "unknown"), id="single-digit-edge"),
        pytest.param("trident rv:11 like gecko", ("ie", 11, "unknown"), id="trident-lower"),
        pytest.param("trident rv:11like gecko", ("ie", 1, "unknown"), id="trident-backtracks"),
        pytest.param("trident rv\n9 x like gecko", ("ie", 9, "unknown"), id="rv-newline"),
        pytest.param("trident\nrv:9 x like gecko", ("unknown", -1, "unknown"), id="trident-line"),
        pytest.param(
            "version/1.2mobile/x safari", ("mobile safari", 1, "unknown"), id="mobile-inside-run"
        ),
        pytest.param("version/3 safari", ("safari", 3, "unknown"), id="plain-safari"),
        pytest.param("version/3\nsafari", ("unknown", -1, "unknown"), id="safari-next-line"),
        pytest.param(
            "Chrome/\u0661\u0662", ("unknown", -1, "unknown"), id="unicode-digits-no-word"
        ),
        pytest.param("CHROME/12", ("chrome", 12, "unknown"), id="case-insensitive"),
        pytest.param(
            "\u017fafari version/2 \u017fafari", ("unknown", -1, "unknown"), id="no-unicode-folding"
        ),
        pytest.param(
            "Chrome/" + "9" * 40, ("chrome", float("9" * 40), "unknown"), id="huge-version"
        ),
        pytest.param("Chrome/" + "9" * 5000, ("chrome", float("inf"), "unknown"), id="int-limit"),
    ],
)
def test_edge_cases_follow_javascript(agent: Any, expected: tuple[str, Any, str]) -> None:
    assert triple(UserAgentParser().user_context(agent, None)) == expected


def test_non_mapping_client_hints_are_ignored() -> None:
    parser = UserAgentParser()
    for hints in (None, "platform", ["platform"], 3):
        assert triple(parser.user_context(FIREFOX_WIN, hints)) == ("firefox", 121, "windows")  # type: ignore[arg-type]


def test_results_are_cached_and_shared() -> None:
    parser = UserAgentParser()
    first = parser.user_context(CHROME_MAC, None)
    assert parser.user_context(CHROME_MAC, {}) is first  # no relevant hints: same key
    assert parser.user_context(CHROME_MAC, {"platform": "Linux"}) is not first
    info = parser.cache_info()
    assert (info.hits, info.misses) == (1, 2)


def test_lru_is_bounded() -> None:
    parser = UserAgentParser(cache_size=8)
    for i in range(100):
        parser.user_context(f"Chrome/{i}", None)
    assert parser.cache_info().currsize == 8
    assert parser.cache_info().maxsize == 8
    # The most recent entry is still cached, the oldest is gone.
    assert parser.user_context("Chrome/99", None)["browserVersion"] == 99
    assert parser.cache_info().hits == 1
    parser.user_context("Chrome/0", None)
    assert parser.cache_info().hits == 1


def test_instances_have_separate_caches() -> None:
    one, two = UserAgentParser(), UserAgentParser()
    one.user_context(CHROME_MAC, None)
    assert two.cache_info().currsize == 0


def test_long_user_agents_are_not_cached() -> None:
    parser = UserAgentParser()
    agent = CHROME_MAC + " " * 5000
    assert triple(parser.user_context(agent, None)) == ("chrome", 120, "mac")
    assert parser.cache_info().currsize == 0


@pytest.mark.parametrize("size", [-1, 1.5, "10"])
def test_invalid_cache_size(size: Any) -> None:
    with pytest.raises(ConfigurationError):
        UserAgentParser(cache_size=size)


@pytest.mark.parametrize(
    "hostile",
    [
        "trident " + "rv:1 " * 20_000,
        "trident rv:" + "a" * 100_000,
        "trident rv:1 " * 8_000,
        "version/1 " * 10_000,
        "version/1 mobile/x " * 5_000,
    ],
)
def test_hostile_user_agents_take_linear_time(hostile: str) -> None:
    # The Node SDK's regular expressions, run by a backtracking engine, take minutes here.
    started = time.perf_counter()
    UserAgentParser().user_context(hostile, None)
    assert time.perf_counter() - started < 1.0


@settings(max_examples=300, deadline=None)
@given(
    agent=st.one_of(st.none(), st.text(), st.integers()),
    hints=st.one_of(
        st.none(),
        st.dictionaries(
            st.sampled_from(["browserUAWithFullVersion", "browserUAWithMajorVersion", "platform"]),
            st.one_of(st.text(), st.none(), st.integers(), st.lists(st.text())),
        ),
    ),
)
def test_never_raises(agent: Any, hints: Any) -> None:
    context = UserAgentParser().user_context(agent, hints)
    assert isinstance(context["browserType"], str)
    assert context["browserVersion"] == -1 or context["browserVersion"] >= 0
