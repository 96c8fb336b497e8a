"""Tests for targetkit.decisioning.urls.

Expected values were produced by the Node.js SDK's own pipeline (parse-uri 1.0.x loose
mode + psl 1.9 + parseDomainPsl + createUrlContext) run under Node, not by this code.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from targetkit.decisioning.urls import UrlParser
from targetkit.errors import ConfigurationError

MODELS = pathlib.Path(__file__).parent.parent / "conformance" / "models"
KEYS = ("url", "path", "query", "fragment", "subdomain", "domain", "topLevelDomain")

# url -> (path, query, fragment, subdomain, domain, topLevelDomain)
CONFORMANCE_URLS = {
    "": ("", "", "", "", "", ""),
    "http://adobe.com": ("", "", "", "", "adobe.com", "com"),
    "http://local-target-test": ("", "", "", "", "local-target-test", ""),
    "http://local-target-test/": ("/", "", "", "", "local-target-test", ""),
    "http://local-target-test:8080/": ("/", "", "", "", "local-target-test", ""),
    "http://local-target-test:8080/home?bar=true#hello": (
        "/home",
        "bar=true",
        "hello",
        "",
        "local-target-test",
        "",
    ),
    "http://local-target-test:8080/home?fabulous=true#sosumi": (
        "/home",
        "fabulous=true",
        "sosumi",
        "",
        "local-target-test",
        "",
    ),
    "https://pied.piper.decentralized.test.hooli.com/?implementation=psl": (
        "/",
        "implementation=psl",
        "",
        "pied.piper.decentralized.test",
        "hooli.com",
        "com",
    ),
    "https://test.wayne-enterprises.us-east-1.elasticbeanstalk.com": (
        "",
        "",
        "",
        "test",
        "wayne-enterprises.us-east-1.elasticbeanstalk.com",
        "us-east-1.elasticbeanstalk.com",
    ),
}

NODE_CASES = [
    (
        "https://www.town.ide.kyoto.jp:8080/About?m=1&t=5&name=Jimmy#home",
        ("/About", "m=1&t=5&name=Jimmy", "home", "", "town.ide.kyoto.jp", "ide.kyoto.jp"),
    ),
    (
        "https://www.a.b.c.d.foo.com/help?Language=Javascript&fiz=buzz#bar",
        ("/help", "Language=Javascript&fiz=buzz", "bar", "a.b.c.d", "foo.com", "com"),
    ),
    (
        "http://My.Web-Site.net:8080/About?m=1&t=5&name=Jimmy#home",
        ("/About", "m=1&t=5&name=Jimmy", "home", "my", "web-site.net", "net"),
    ),
    ("https://stage.applookout.net/", ("/", "", "", "stage", "applookout.net", "net")),
    # psl 1.9 picks the last matching rule in list order; a wildcard rule also matches
    # its own base name, which is then not a valid domain.
    ("http://kawasaki.jp", ("", "", "", "", "kawasaki.jp", "")),
    ("http://a.b.kawasaki.jp", ("", "", "", "", "a.b.kawasaki.jp", "b.kawasaki.jp")),
    ("http://city.kawasaki.jp", ("", "", "", "", "city.kawasaki.jp", "kawasaki.jp")),
    ("http://x.city.kawasaki.jp", ("", "", "", "x", "city.kawasaki.jp", "kawasaki.jp")),
    # Node drops four characters after any "www" prefix of the subdomain.
    ("http://wwwx.y.foo.com/", ("/", "", "", ".y", "foo.com", "com")),
    ("http://www.foo.com", ("", "", "", "", "foo.com", "com")),
    ("http://foo.local/", ("/", "", "", "", "foo.local", "")),
    ("http://com", ("", "", "", "", "com", "")),
    ("http://a_b.com", ("", "", "", "", "a_b.com", "")),
    ("http://-a.com", ("", "", "", "", "-a.com", "")),
    ("http://example.com.", ("", "", "", "", "example.com", "com")),
    ("http://1.2.3.4/x", ("/x", "", "", "", "1.2.3.4", "")),
    ("http://[::1]:80/", (":1]:80", "", "", "", "[", "")),
    ("http://bücher.de/", ("/", "", "", "", "bücher.de", "de")),
    ("http://sub.xn--bcher-kva.de/", ("/", "", "", "sub", "xn--bcher-kva.de", "de")),
    ("http://foo.公司.cn/", ("/", "", "", "", "foo.公司.cn", "公司.cn")),
    (
        "http://x.y.us-east-1.amazonaws.com/",
        ("/", "", "", "x", "y.us-east-1.amazonaws.com", "us-east-1.amazonaws.com"),
    ),
    # parse-uri's loose mode: the first token of a scheme-less URL is its host.
    ("foo/bar", ("/bar", "", "", "", "foo", "")),
    ("/just/a/path?q#f", ("/just/a/path", "q", "f", "", "", "")),
    ("?q=1", ("", "q=1", "", "", "", "")),
    ("#frag", ("", "", "frag", "", "", "")),
    ("mailto:someone@example.com", ("", "", "", "", "example.com", "com")),
    (
        "http://user:pw@www.example.co.uk:8080/a/b.html?x=1#y\nz",
        ("/a/b.html", "x=1", "y", "", "example.co.uk", "co.uk"),
    ),
    ("http://host:abc/def?q", ("abc", "", "", "", "host", "")),
    ("HTTP://EXAMPLE.COM/PATH?Q#F", ("/PATH", "Q", "F", "", "example.com", "com")),
]


@pytest.fixture(scope="module")
def parser() -> UrlParser:
    return UrlParser()


def check(context: Any, url: str, expected: tuple[str, ...]) -> None:
    assert tuple(context) == KEYS + tuple(key + "_lc" for key in KEYS)
    values = (url, *expected)
    assert tuple(context[key] for key in KEYS) == values
    assert tuple(context[key + "_lc"] for key in KEYS) == tuple(v.lower() for v in values)


def test_table_covers_every_url_in_the_conformance_models() -> None:
    found: set[str] = set()
    for path in MODELS.glob("*.json"):
        found.update(_urls(json.loads(path.read_text(encoding="utf-8"))))
    assert found
    assert found <= set(CONFORMANCE_URLS)


def _urls(node: Any) -> Any:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("url", "referringUrl") and isinstance(value, str):
                yield value
            else:
                yield from _urls(value)
    elif isinstance(node, list):
        for item in node:
            yield from _urls(item)


@pytest.mark.parametrize(("url", "expected"), list(CONFORMANCE_URLS.items()))
def test_conformance_urls(parser: UrlParser, url: str, expected: tuple[str, ...]) -> None:
    check(parser.url_context(url), url, expected)


@pytest.mark.parametrize(("url", "expected"), NODE_CASES)
def test_node_behaviour(parser: UrlParser, url: str, expected: tuple[str, ...]) -> None:
    check(parser.url_context(url), url, expected)


@pytest.mark.parametrize("url", [None, 0, 1.5, ["http://a.com"], {"url": "x"}, b"http://a.com", ""])
def test_non_strings_give_the_empty_context(parser: UrlParser, url: Any) -> None:
    check(parser.url_context(url), "", ("",) * 6)


def test_custom_suffix_list_last_rule_wins() -> None:
    # psl's findRule keeps the last matching rule in file order, not the longest.
    parser = UrlParser(suffix_rules=["// comment", "b.c", "", "c", "!x.b.c"])
    # The longest-match algorithm of the PSL spec would say domain "a.b.c", suffix "b.c".
    check(parser.url_context("http://a.b.c/"), "http://a.b.c/", ("/", "", "", "a", "b.c", "c"))
    check(parser.url_context("http://x.b.c"), "http://x.b.c", ("", "", "", "", "x.b.c", "b.c"))


def test_suffix_list_is_loaded_lazily() -> None:
    lines: list[str] = []

    def rules() -> Any:
        lines.append("read")
        yield "com"

    parser = UrlParser(suffix_rules=rules())
    assert parser.url_context("/no/host")["path"] == "/no/host"
    assert lines == []  # no host: no need for the list
    assert parser.url_context("http://a.com")["domain"] == "a.com"
    assert lines == ["read"]


def test_importing_targetkit_does_not_load_the_list() -> None:
    code = (
        "import sys, targetkit.decisioning.context\n"
        "assert 'publicsuffixlist' not in sys.modules\n"
        "assert 'ua_parser' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_results_are_cached_and_shared(parser: UrlParser) -> None:
    url = "http://cache.example.com/x"
    first = parser.url_context(url)
    assert parser.url_context(url) is first


def test_lru_is_bounded() -> None:
    parser = UrlParser(cache_size=4)
    for i in range(50):
        parser.url_context(f"http://h{i}.com/")
    info = parser.cache_info()
    assert (info.currsize, info.maxsize, info.misses) == (4, 4, 50)


def test_long_urls_are_not_cached() -> None:
    parser = UrlParser()
    url = "http://a.com/" + "x" * 10_000
    assert parser.url_context(url)["domain"] == "a.com"
    assert parser.cache_info().currsize == 0


@pytest.mark.parametrize("size", [-1, 2.0, None])
def test_invalid_cache_size(size: Any) -> None:
    with pytest.raises(ConfigurationError):
        UrlParser(cache_size=size)


@pytest.mark.parametrize(
    "hostile",
    [
        "http://h/" + "a." * 100_000,  # the original regex's path lookahead is quadratic here
        "http://h" + "/a.b" * 50_000,
        "a:" + "@" * 200_000,
        "http://" + "é." * 100_000 + "com",
    ],
)
def test_hostile_urls_take_linear_time(parser: UrlParser, hostile: str) -> None:
    started = time.perf_counter()
    parser.url_context(hostile)
    assert time.perf_counter() - started < 1.0


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.text(), st.text(alphabet="htp:/?#@.-_wéΣ\n\u3002[]0189"), st.none(), st.integers())
)
def test_never_raises(url: Any) -> None:
    context = UrlParser(suffix_rules=["com", "*.ck", "!www.ck", "公司.cn"]).url_context(url)
    assert len(context) == 2 * len(KEYS)
    assert all(isinstance(value, str) for value in context.values())


def _indexed_find(text: str, host: str) -> tuple[str, bool, bool] | None:
    """The last rule in file order for ``host``, from a plain index of every rule line
    (how psl reads the list): the reference for the in-place search."""
    rules: dict[str, tuple[int, str, bool, bool]] = {}
    for order, line in enumerate(text.splitlines()):
        words = line.split()
        if not words or words[0].startswith("//"):
            continue
        rule = words[0]
        wildcard, exception = rule.startswith("*."), rule.startswith("!")
        bare = rule[2:] if wildcard else rule[1:] if exception else rule
        key = bare.encode("idna").decode("ascii") if not bare.isascii() else bare
        rules[key] = (order, bare, wildcard, exception)
    labels = host.split(".")
    found = [rules[s] for i in range(len(labels)) if (s := ".".join(labels[i:])) in rules]
    return max(found)[1:] if found else None


def test_suffix_search_matches_an_index_of_the_whole_list() -> None:
    from targetkit.decisioning.urls import _default_rules, _SuffixTable

    data = _default_rules()
    text = data.decode("utf-8")
    table = _SuffixTable(data)
    rules = [w[0] for line in text.splitlines() if (w := line.split()) and w[0][0] != "/"]
    hosts = ["example.com", "a.b.example.co.uk", "nope.invalidtld", "x.www.ck", "a.b.ck"]
    for rule in rules[::37]:
        bare = rule.lstrip("*.!")
        ascii_bare = bare.encode("idna").decode("ascii") if not bare.isascii() else bare
        hosts += [ascii_bare, "a." + ascii_bare, "q.a." + ascii_bare]
    for host in hosts:
        found = table.find(host)
        got = None if found is None else (found.suffix, found.wildcard, found.exception)
        assert got == _indexed_find(text, host), host
