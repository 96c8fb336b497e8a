"""The ``user`` context for on-device decisioning: browser type, major version, platform.

Artifact rules compare ``user.browserType`` / ``user.browserVersion`` / ``user.platform``
with the values the Node.js SDK derives, so these are computed with the Node SDK's own
matching rules (target-tools ``clientInfo``), checked in the same order and with
JavaScript regular-expression semantics (ASCII-only ``\\w`` and case folding,
JavaScript's ``\\s`` and ``.``, ``$`` only at the very end).

Why not ``ua-parser`` (uap-core)? It was evaluated: it names many common browsers
differently from the Node SDK (Opera and Samsung Internet are ``chrome`` for Node,
Android WebView is ``safari`` 4, Chrome and Firefox on iOS are ``unknown``, IE 11 in
IE 7 compatibility mode is ``ie`` 7), so rules would match different visitors
on-device than with the Node SDK. It is also ~70 ms to import, ~40-150 ms to load and
~0.4 ms per uncached parse, against a few microseconds here.

Browser types produced: ``edge``, ``mobile safari``, ``safari``, ``chrome``,
``firefox``, ``ie`` and ``unknown``. Platforms: ``windows``, ``mac``, ``linux``, ``iOS``,
``Android``, ``Unix``, ``unknown``, or the ``platform`` client hint verbatim when it is
not one of Windows / macOS / Mac OS / Macintosh / Linux.
"""

from __future__ import annotations

import bisect
import functools
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from targetkit.errors import ConfigurationError

__all__ = ["UserAgentParser"]

logger = logging.getLogger(__name__)

UNKNOWN = "unknown"

# JavaScript's \s; its "." is any character but the four in _LINE_BREAK.
_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_S = f"[{_SPACE}]"

# Cache only user agents up to this length (characters); real ones are < 1 KB.
_MAX_CACHED_UA = 2048

# JavaScript regular expressions: ASCII-only \w, \d and case folding.
_JS_FLAGS = re.IGNORECASE | re.ASCII
_LINE_BREAK = re.compile("[\n\r\u2028\u2029]")
_VERSION_RUN = re.compile(r"[\w.]*", re.ASCII)
_VERSION_PREFIX = re.compile("version/", _JS_FLAGS)
_MOBILE_SAFARI_TAIL = re.compile(rf"mobile/\w+{_S}safari", _JS_FLAGS)
_SAFARI_TAIL = re.compile("safari", _JS_FLAGS)
_TRIDENT = re.compile("trident", _JS_FLAGS)
_RV = re.compile(rf"rv[:{_SPACE}](?=[\w.])", _JS_FLAGS)
_LIKE_GECKO = re.compile(f"like{_S}gecko", _JS_FLAGS)


class _Scan:
    """One user agent, with the positions the linear-time matchers below look up.

    Three of the Node SDK's patterns (``version/(..).+?mobile/..safari``,
    ``version/(..).+?safari`` and ``trident.+rv[:\\s](..).+like\\sgecko``) backtrack
    catastrophically on long hostile strings (seconds for 8 KB). Their result only
    depends on where their literal parts occur, so it is computed from sorted position
    lists instead; the differential tests check the equivalence.
    """

    def __init__(self, text: str) -> None:
        self.text = text

    @functools.cached_property
    def breaks(self) -> list[int]:
        return [m.start() for m in _LINE_BREAK.finditer(self.text)]

    def line_end(self, pos: int) -> int:
        """Index of the first JavaScript line terminator at or after ``pos``."""
        i = bisect.bisect_left(self.breaks, pos)
        return self.breaks[i] if i < len(self.breaks) else len(self.text)

    def run_end(self, pos: int) -> int:
        found = _VERSION_RUN.match(self.text, pos)
        return found.end() if found else pos

    def version_before(self, start: int, tails: list[int]) -> str | None:
        """``([\\w.]+).+TAIL`` at ``start``: the longest version leaving one or more
        characters before a tail that begins on the same line, else None."""
        i = bisect.bisect_left(tails, self.line_end(start)) - 1
        if i < 0 or tails[i] < start + 2:
            return None
        return self.text[start : min(self.run_end(start), tails[i] - 1)]

    def safari(self, tail: re.Pattern[str]) -> str | None:
        tails = [m.start() for m in tail.finditer(self.text)]
        for prefix in _VERSION_PREFIX.finditer(self.text):
            version = self.version_before(prefix.end(), tails)
            if version:
                return version
        return None

    def trident(self) -> str | None:
        rvs = [m.start() for m in _RV.finditer(self.text)]
        tails = [m.start() for m in _LIKE_GECKO.finditer(self.text)]
        line = -1
        for found in _TRIDENT.finditer(self.text):
            end = self.line_end(found.end())
            if end == line:
                continue  # a later "trident" on a failed line has fewer options
            line = end
            # Greedy ".+": the last "rv" on the line (at least one character later) first.
            low = bisect.bisect_left(rvs, found.end() + 1)
            for j in reversed(rvs[low : bisect.bisect_right(rvs, end - 2)]):
                version = self.version_before(j + 3, tails)
                if version:
                    return version
        return None


def _regex_detector(pattern: str, group: int) -> Callable[[_Scan], str | None]:
    compiled = re.compile(pattern, _JS_FLAGS)

    def detect(scan: _Scan) -> str | None:
        found = compiled.search(scan.text)
        return found.group(group) if found else None

    return detect


_Detectors = tuple[tuple[str, Callable[[_Scan], str | None]], ...]

# Order matters: Edge and Safari user agents also carry "Chrome/" and "Safari/".
_UA_BROWSERS: _Detectors = (
    ("Edge", _regex_detector(r"(edge|edgios|edga|edg)/((\d+)?[\w.]+)", 2)),
    ("Mobile Safari", lambda scan: scan.safari(_MOBILE_SAFARI_TAIL)),
    ("Safari", lambda scan: scan.safari(_SAFARI_TAIL)),
    ("Chrome", _regex_detector(r"(chrome)/v?([\w.]+)", 2)),
    ("Firefox", _regex_detector(r"(firefox)/([\w.-]+)\Z", 2)),
    ("IE", _regex_detector(rf"(?:ms|\()(ie){_S}([\w.]+)", 2)),
    ("IE", _Scan.trident),
)

# Sec-CH-UA brand lists, e.g. '"Chromium";v="99", "Google Chrome";v="99"'.
_HINT_BROWSERS: _Detectors = tuple(
    (name, _regex_detector(rf'{brand}";v="([0-9.]+)"', 1))
    for name, brand in (
        ("Chrome", "Chrome"),
        ("Edge", "Edge"),
        ("Safari", "Safari"),
        ("Firefox", "Firefox"),
    )
)

_OPERATING_SYSTEMS = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("iOS", "iPhone|iPad|iPod"),
        ("Android", "Android [0-9.]+;"),
        ("Linux", " Linux "),
        ("Unix", "FreeBSD|OpenBSD|CrOS"),
        ("Windows", "[( ]Windows "),
        ("Mac OS", "Macintosh;"),
    )
)

_TARGET_PLATFORMS = {
    "Windows": "windows",
    "Macintosh": "mac",
    "Mac OS": "mac",
    "macOS": "mac",
    "Linux": "linux",
}

_LEADING_INT = re.compile(r"[+-]?([0-9]+)")

# Beyond this many digits a JavaScript number is no longer an exact integer.
_EXACT_DIGITS = 15


def _major(version: str) -> int | float:
    """JavaScript ``parseInt(version.split(".")[0], 10)``, with NaN mapped to -1.

    Absurdly long digit runs give a float (possibly ``inf``), as in JavaScript; this
    also avoids Python's limit on int() of very long strings.
    """
    found = _LEADING_INT.match(version.split(".", 1)[0])
    if found is None:
        return -1
    if len(found.group(1)) > _EXACT_DIGITS:
        return float(found.group())
    return int(found.group())


def _detect(detectors: _Detectors, scan: _Scan) -> tuple[str, int | float]:
    for name, detect in detectors:
        version = detect(scan)
        if version is not None:
            return name, _major(version)
    return UNKNOWN, -1


def _operating_system(user_agent: str) -> str:
    for name, pattern in _OPERATING_SYSTEMS:
        if pattern.search(user_agent):
            return name
    return UNKNOWN


def _hint_text(value: object) -> str | None:
    return value if isinstance(value, str) else None


class UserAgentParser:
    """Computes the decisioning ``user`` context, with a bounded LRU cache.

    The cache is keyed by the user agent and the three client hints that matter
    (``browserUAWithFullVersion``, ``browserUAWithMajorVersion``, ``platform``) and holds
    at most ``cache_size`` entries. Methods are thread-safe.
    """

    def __init__(self, cache_size: int = 2048) -> None:
        if not isinstance(cache_size, int) or cache_size < 0:
            raise ConfigurationError("cache_size", "must be an integer >= 0")
        self._cached = functools.lru_cache(maxsize=cache_size)(_compute)

    def user_context(
        self, user_agent: str | None, client_hints: Mapping[str, Any] | None
    ) -> Mapping[str, Any]:
        """Return ``{"browserType", "browserVersion", "platform", "locale"}``.

        ``browserVersion`` is the major version (int), -1 when unknown. Client hints
        win over the user agent, each attribute separately. Values of the wrong type are
        treated as absent. The dict is shared between calls (cached): treat it as read-only.
        """
        agent = user_agent if isinstance(user_agent, str) else ""
        full = major = platform = None
        if isinstance(client_hints, Mapping):
            full = _hint_text(client_hints.get("browserUAWithFullVersion"))
            major = _hint_text(client_hints.get("browserUAWithMajorVersion"))
            platform = _hint_text(client_hints.get("platform"))
        # JavaScript picks the full-version list unless it is missing or empty.
        brands = full or major or ""
        if len(agent) > _MAX_CACHED_UA:
            return _compute(agent, brands, platform)
        return self._cached(agent, brands, platform)

    def cache_info(self) -> functools._CacheInfo:
        """Hit/miss counters and size of the LRU."""
        return self._cached.cache_info()


def _compute(user_agent: str, brands: str, platform_hint: str | None) -> Mapping[str, Any]:
    name, version = _detect(_UA_BROWSERS, _Scan(user_agent))
    hint_name, hint_version = _detect(_HINT_BROWSERS, _Scan(brands))
    if hint_name != UNKNOWN:
        name = hint_name
    if hint_version >= 0:
        version = hint_version
    # A platform hint is used even when empty, as in the Node SDK.
    platform = platform_hint if platform_hint is not None else _operating_system(user_agent)
    return {
        "browserType": name.lower(),
        "browserVersion": max(version, -1),
        "platform": _TARGET_PLATFORMS.get(platform, platform),
        "locale": "en",
    }
