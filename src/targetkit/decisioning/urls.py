"""Page and referring URL context for on-device decisioning.

Rules in an artifact test ``page.*`` and ``referring.*`` attributes, so these must be
computed exactly as the Node.js SDK computes them, because its output defines the
conformance suites:

* path, query and fragment follow the "loose" mode of the ``parse-uri`` 1.0.x package
  (Steven Levithan's parseUri), which the Node SDK uses. Its quirks are kept: a URL
  without a scheme treats its first token as the host (``"foo/bar"`` has host ``foo``
  and path ``/bar``), and a non-numeric port ends the path early.
* subdomain, domain and top-level domain follow the Node SDK's ``parseDomainPsl``
  on top of the ``psl`` 1.9 package: the host is validated, then the *last* matching
  rule in public-suffix-list file order is used. A host that is not valid or whose
  suffix is not listed gives ``domain == host`` and empty subdomain and TLD.

The public suffix list is the copy shipped with the ``publicsuffixlist`` package; it is
read from disk on first use, never fetched from the network.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from targetkit.errors import ConfigurationError

__all__ = ["UrlParser"]

logger = logging.getLogger(__name__)

_KEYS = ("url", "path", "query", "fragment", "subdomain", "domain", "topLevelDomain")

# Cache only URLs up to this length (characters): longer ones are still parsed, but
# keeping them would let a few hostile requests pin a lot of memory in the LRU.
_MAX_CACHED_URL = 4096

# Equivalent to parse-uri's loose regex for the groups we use (protocol guard, host,
# path, query, anchor). The original expresses the path as directory + file with a
# per-character lookahead, which costs O(n^2) on long paths; it always reduces to "from a
# leading '/' up to the first '?' or '#'", or "up to the first '/', '?' or '#'" when the
# path does not start with '/'. Character classes mirror JavaScript: ``\d`` is ASCII and
# ``.`` stops at JavaScript's four line terminators.
_URI = re.compile(
    r"(?:(?![^:@]+:[^:@/]*@)[^:/?#.]+:)?"  # scheme, unless it looks like user:pass@
    r"(?://)?"
    r"(?:(?:[^:@]*(?::[^:@]*)?)?@)?"  # user info
    r"([^:/?#]*)"  # host
    r"(?::[0-9]*)?"  # port
    r"(/[^?#]*|[^?#/]*)"  # path
    r"(?:\?([^#]*))?"  # query
    r"(?:#([^\n\r\u2028\u2029]*))?"  # anchor
)

_MAX_DOMAIN = 255  # characters, as checked by psl

# JavaScript punycode's label separators: full stop and its CJK / full-width forms.
_SEPARATORS = re.compile("[\u3002\uff0e\uff61]")
_LABEL_OK = re.compile(r"[a-z0-9\-]+")


# One rule per line: leading blanks, then the rule up to the first blank; "//" lines
# are comments. Blanks are ASCII whitespace. The list is kept as bytes (reading it as
# text costs more than searching it); these patterns only clean up an unusual list
# (blank-led lines) and find the few Unicode rules; lookups search the bytes themselves
# (see _SuffixTable).
_RULE_LINE = re.compile(rb"^[^\S\n]*(?!//)(\*\.|!)?(\S+)", re.MULTILINE)
_BLANK_LED = re.compile(rb"\n[^\S\n]")
_UNICODE_RULE = re.compile(rb"^(?!//)(\*\.|!)?(\S*[\x80-\xff]\S*)", re.MULTILINE)
_RULE_AT = re.compile(rb"(\*\.|!)?(\S+)")
_RULE_END = rb")(?=[ \t\n\r\f\v]|\Z)"  # a rule ends at a blank or at the end
_PSL_FILE = "public_suffix_list.dat"


class _Rule(NamedTuple):
    order: int  # position in the list file: psl picks the last matching rule
    suffix: str  # as written in the list (may be Unicode)
    wildcard: bool
    exception: bool


def _punycode_label(label: str) -> str:
    return label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii")


def _to_ascii(domain: str) -> str:
    """Mirror JavaScript ``punycode.toASCII`` for names without ``@`` (never valid here)."""
    if domain.isascii():
        return domain
    domain = _SEPARATORS.sub(".", domain)
    return ".".join(_punycode_label(label) for label in domain.split("."))


def _valid_ascii_domain(ascii_domain: str) -> bool:
    if not 1 <= len(ascii_domain) <= _MAX_DOMAIN:
        return False
    for label in ascii_domain.split("."):
        if not 1 <= len(label) <= 63 or label[0] == "-" or label[-1] == "-":
            return False
        if _LABEL_OK.fullmatch(label) is None:
            return False
    return True


def _default_rules() -> bytes:
    """The list shipped in the ``publicsuffixlist`` package, found without importing the
    package (its import alone costs ~10 ms, and we only want the file)."""
    spec = importlib.util.find_spec("publicsuffixlist")
    locations = spec.submodule_search_locations if spec is not None else None
    if not locations:
        raise ConfigurationError("publicsuffixlist", "the package is not installed")
    with open(os.path.join(locations[0], _PSL_FILE), "rb") as handle:
        return handle.read()


class _SuffixTable:
    """A public suffix list (UTF-8 bytes), searched in place.

    Indexing its ~16k rules in a dict costs 5-10 ms, most of a cold start's first
    decision. A lookup instead scans the bytes once with a pattern matching a line whose
    rule is any suffix of the host in any form (``c``, ``*.c``, ``!c``): 0.3-1 ms, once
    per distinct host (the parser caches hosts). A rule's *order* is the offset of its
    line, so "the last matching rule in file order" is the largest offset.
    Internationalized rules are also found by their punycode form, through an index
    built the first time a punycode host is looked up.
    """

    def __init__(self, data: bytes) -> None:
        data = b"\n" + data
        if _BLANK_LED.search(data):
            # Lines that start with blanks: rewrite as one bare rule per line first.
            data = b"\n" + b"\n".join(map(b"".join, _RULE_LINE.findall(data)))
        self._data = data
        self._punycode: dict[str, int] | None = None

    def punycode(self) -> dict[str, int]:
        # Racing first calls may both build it; either result is identical.
        if self._punycode is None:
            table: dict[str, int] = {}
            for match in _UNICODE_RULE.finditer(self._data):
                try:
                    table[_to_ascii(match.group(2).decode("utf-8"))] = match.start() - 1
                except UnicodeError:
                    logger.debug("skipping public suffix rule %r", match.group())
            self._punycode = table
        return self._punycode

    def rule(self, order: int) -> _Rule:
        match = _RULE_AT.match(self._data, order + 1)
        assert match is not None  # order is the offset of a rule's line
        marker, suffix = match.groups()
        return _Rule(order, suffix.decode("utf-8"), marker == b"*.", marker == b"!")

    def find(self, ascii_name: str) -> _Rule | None:
        """The last rule in file order matching ``ascii_name`` or one of its suffixes."""
        suffixes = [ascii_name]
        start = ascii_name.find(".")
        while start != -1:
            suffixes.append(ascii_name[start + 1 :])
            start = ascii_name.find(".", start + 1)
        # A host is ASCII letters, digits, dots and dashes (validated before), so only
        # the dots need escaping.
        alternatives = b"|".join(s.encode("ascii").replace(b".", b"\\.") for s in suffixes)
        pattern = re.compile(b"\n(?:\\*\\.|!)?(?:" + alternatives + _RULE_END)
        best = max((m.start() for m in pattern.finditer(self._data)), default=-1)
        if "xn--" in ascii_name:
            punycode = self.punycode()
            best = max(best, max(punycode.get(s, -1) for s in suffixes))
        return None if best < 0 else self.rule(best)


class UrlParser:
    """Builds the ``page`` / ``referring`` context of a URL, with a bounded LRU cache.

    One instance owns one parsed copy of the public suffix list (loaded on first use,
    tens of ms) and one LRU of ``cache_size`` URLs. Methods are thread-safe.
    """

    def __init__(
        self, cache_size: int = 2048, *, suffix_rules: Iterable[str] | None = None
    ) -> None:
        """``suffix_rules``: lines of a public suffix list, in file order (default: the
        list shipped with ``publicsuffixlist``); mainly for tests."""
        if not isinstance(cache_size, int) or cache_size < 0:
            raise ConfigurationError("cache_size", "must be an integer >= 0")
        self._rule_lines = suffix_rules
        self._rules: _SuffixTable | None = None
        self._cached = functools.lru_cache(maxsize=cache_size)(self._compute)
        # Many URLs share a host: its split (a suffix list search) is cached apart.
        self._hosts = functools.lru_cache(maxsize=cache_size)(self._split_host)
        # The context of an absent, empty or non-string URL (every value "").
        self._empty = _url_dict(("",) * len(_KEYS))

    def url_context(self, url: object) -> Mapping[str, Any]:
        """Return the context of ``url`` (any object; non-strings give the empty context).

        Keys: ``url, path, query, fragment, subdomain, domain, topLevelDomain`` and a
        lower-cased ``<key>_lc`` twin of each. The dict is shared between calls (cached):
        treat it as read-only.
        """
        if not isinstance(url, str) or not url:
            return self._empty
        if len(url) > _MAX_CACHED_URL:
            return self._compute(url)
        return self._cached(url)

    def cache_info(self) -> functools._CacheInfo:
        """Hit/miss counters and size of the LRU."""
        return self._cached.cache_info()

    def _compute(self, url: str) -> Mapping[str, Any]:
        match = _URI.match(url)
        # The pattern cannot fail (every part is optional); keep the check for mypy.
        if match is None:  # pragma: no cover
            return self._empty
        host, path, query, fragment = (group or "" for group in match.groups())
        subdomain, domain, tld = self._hosts(host)
        return _url_dict((url, path, query, fragment, subdomain, domain, tld))

    def _table(self) -> _SuffixTable:
        # Racing first calls may both build the table; either result is identical.
        if self._rules is None:
            lines = self._rule_lines
            data = _default_rules() if lines is None else "\n".join(lines).encode("utf-8")
            self._rules = _SuffixTable(data)
            self._rule_lines = None
        return self._rules

    def _split_host(self, host: str) -> tuple[str, str, str]:
        """(subdomain, domain, topLevelDomain) like the Node SDK's parseDomainPsl."""
        try:
            parsed = self._psl_parse(host)
        except (UnicodeError, ValueError):
            parsed = None
        if parsed is None:
            return "", host, ""
        domain, tld, subdomain = parsed
        if subdomain.startswith("www"):
            # Node drops four characters after any "www" prefix ("wwwx.a" -> "a").
            subdomain = subdomain[4:]
        return subdomain, domain, tld

    def _psl_parse(self, host: str) -> tuple[str, str, str] | None:
        """(domain, tld, subdomain) when psl would call ``host`` valid, else None."""
        name = host.lower()
        if name.endswith("."):
            name = name[:-1]
        # Punycode never shortens a label and '@' is never valid: reject these before
        # paying for the encoding of a long hostile host.
        if len(name) > _MAX_DOMAIN or "@" in name:
            return None
        ascii_name = _to_ascii(name)
        if not _valid_ascii_domain(ascii_name):
            return None
        labels = name.split(".")
        if labels[-1] == "local":
            return None
        rule = self._find_rule(ascii_name)
        if rule is None:  # unlisted suffixes are never "valid"
            return None
        tld_parts = rule.suffix.split(".")
        private = labels[: len(labels) - len(tld_parts)]
        if rule.exception:
            private.append(tld_parts.pop(0))
        if private and rule.wildcard:
            tld_parts.insert(0, private.pop())
        if not private:
            return None
        tld = ".".join(tld_parts)
        domain = private.pop() + "." + tld
        subdomain = ".".join(private)
        if "xn--" in name:
            domain = _to_ascii(domain)
            subdomain = _to_ascii(subdomain) if subdomain else ""
        return domain, tld, subdomain

    def _find_rule(self, ascii_name: str) -> _Rule | None:
        return self._table().find(ascii_name)


def _url_dict(values: tuple[str, ...]) -> dict[str, Any]:
    context: dict[str, Any] = dict(zip(_KEYS, values, strict=True))
    for key, value in zip(_KEYS, values, strict=True):
        context[key + "_lc"] = value.lower()
    return context
