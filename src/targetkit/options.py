"""Client options: one validated, immutable :class:`Options` built by :func:`parse_options`.

Option keys are the Adobe Target Python SDK's snake_case keys, so an existing options
dict works unchanged. Where our attribute carries a unit the key does not (``timeout``
-> ``Options.timeout_ms``), :data:`OPTIONS_DOC` records both names.

Every option except callables, mappings, the logger and the artifact payload may also
come from the environment as ``TARGETKIT_<KEY>`` (``TARGETKIT_POLLING_INTERVAL=0``,
``TARGETKIT_TELEMETRY_ENABLED=false``). An explicit option wins over the environment;
an option given as ``None`` counts as not given. Empty variables count as unset.

Nothing is silently ignored: an unknown key is an error naming close matches, and the
adjustments we make (the polling floor, an unknown environment name) are returned in
``Options.warnings`` for the client to log.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal, Protocol

from targetkit.errors import ConfigurationError
from targetkit.events import Callback, callback_takes_event, event_type_of

__all__ = [
    "ENV_PREFIX",
    "MINIMUM_POLLING_INTERVAL_MS",
    "OPTIONS_DOC",
    "ArtifactFormat",
    "DecisioningMethod",
    "LoggerLike",
    "OptionDoc",
    "Options",
    "env_var",
    "parse_options",
]

_log = logging.getLogger(__name__)

ENV_PREFIX = "TARGETKIT_"
MINIMUM_POLLING_INTERVAL_MS = 300_000
_KNOWN_ENVIRONMENTS = ("production", "staging", "development")
_BOOL_WORDS = MappingProxyType(
    {"true": True, "1": True, "yes": True, "on": True}
    | {"false": False, "0": False, "no": False, "off": False}
)


class DecisioningMethod(StrEnum):
    """Where decisions are made."""

    SERVER_SIDE = "server-side"
    ON_DEVICE = "on-device"
    HYBRID = "hybrid"


ArtifactFormat = Literal["json", "bin"]


class LoggerLike(Protocol):
    """What the ``logger`` option needs: a ``logging.Logger`` or anything alike."""

    def debug(self, msg: Any, /, *args: Any) -> object: ...

    def error(self, msg: Any, /, *args: Any) -> object: ...


def _no_events() -> Mapping[str, Callback]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Options:
    """Validated client options; build with :func:`parse_options`. See OPTIONS_DOC."""

    client: str
    organization_id: str
    decisioning_method: DecisioningMethod = DecisioningMethod.SERVER_SIDE
    timeout_ms: int = 3000
    server_domain: str | None = None
    secure: bool = True
    target_location_hint: str | None = None
    environment: str = "production"
    environment_id: int | None = None
    cdn_environment: str = "production"
    cdn_base_path: str | None = None
    property_token: str | None = None
    artifact_location: str | None = None
    artifact_payload: Mapping[str, Any] | bytes | str | None = None
    artifact_format: ArtifactFormat | None = None
    artifact_cache: str | None = None
    polling_interval_ms: int = MINIMUM_POLLING_INTERVAL_MS
    maximum_wait_ready_ms: int | None = None
    telemetry_enabled: bool = True
    events: Mapping[str, Callback] = field(default_factory=_no_events)
    logger: LoggerLike | None = None
    version: str | None = None
    clock_ms: Callable[[], int] | None = None
    notification_queue_size: int = 10_000
    notification_batch_size: int = 100
    notification_flush_interval_ms: int = 100
    # Not an option: what parse_options adjusted, for the client to log once it has a logger.
    warnings: tuple[str, ...] = ()

    @property
    def uses_artifact(self) -> bool:
        """True for on-device and hybrid: a rules artifact must be loaded."""
        return self.decisioning_method is not DecisioningMethod.SERVER_SIDE


class _Invalid(ValueError):
    """A bad value; the caller turns it into a ConfigurationError naming option/variable."""


# --- checks: Python value -> validated value (raise _Invalid with the reason) ---------


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Invalid(f"must be a non-empty string, got {value!r}")
    return value


def _path(value: Any) -> str:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value:
        raise _Invalid(f"must be a file path (str or os.PathLike), got {value!r}")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"must be True or False, got {value!r}")
    return value


def _integer(minimum: int, unit: str | None) -> Callable[[Any], int]:
    kind = "a positive integer" if minimum == 1 else "a non-negative integer"
    expected = f"{kind} ({unit})" if unit else kind

    def check(value: Any) -> int:
        # bool is an int subclass; True as a timeout is a mistake, not 1 ms.
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise _Invalid(f"must be {expected}, got {value!r}")
        return value

    return check


def _method(value: Any) -> DecisioningMethod:
    allowed = [str(m) for m in DecisioningMethod]
    if not isinstance(value, str) or value not in allowed:
        raise _Invalid(f"must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return DecisioningMethod(value)


def _format(value: Any) -> str:
    if not isinstance(value, str) or value not in ("json", "bin"):
        raise _Invalid(f"must be 'json' or 'bin', got {value!r}")
    return value


def _payload(value: Any) -> Mapping[str, Any] | bytes | str:
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if not isinstance(value, Mapping | bytes | str):
        raise _Invalid(
            "must be a parsed artifact (a mapping), or its JSON text / rules.bin content "
            f"(str or bytes), got {type(value).__name__}"
        )
    return value


def _events(value: Any) -> Mapping[str, Callback]:
    if not isinstance(value, Mapping):
        raise _Invalid(f"must be a mapping of event names to callables, got {value!r}")
    for name, callback in value.items():
        event_type_of(name)  # raises ConfigurationError("events", ...) listing valid names
        try:
            callback_takes_event(callback)
        except TypeError as exc:
            raise _Invalid(f"{name!r}: {exc}") from None
    # Keys stay as given (aliases too): the dispatcher resolves them when subscribing.
    return MappingProxyType(dict(value))


def _logger(value: Any) -> LoggerLike:
    if not (callable(getattr(value, "debug", None)) and callable(getattr(value, "error", None))):
        raise _Invalid(f"must have callable debug() and error() methods, got {value!r}")
    return value  # type: ignore[no-any-return]


def _clock(value: Any) -> Callable[[], int]:
    if not callable(value):
        raise _Invalid(f"must be a callable returning epoch ms, got {value!r}")
    return value  # type: ignore[no-any-return]


# --- environment parsers: text -> Python value the check then validates -------------


def _env_text(text: str) -> str:
    return text.strip()


def _env_int(text: str) -> int | str:
    try:
        return int(text.strip())
    except ValueError:
        return text  # the check reports it with the option's own wording


def _env_bool(text: str) -> bool:
    word = text.strip().lower()
    if word not in _BOOL_WORDS:
        raise _Invalid(f"must be one of {'/'.join(_BOOL_WORDS)}, got {text!r}")
    return _BOOL_WORDS[word]


# --- the table -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OptionDoc:
    """One row of the options table (the README's table is generated from these)."""

    key: str  # key in the options dict (the Adobe SDK's spelling where it has one)
    field: str  # attribute of Options
    type: str
    default: str
    meaning: str
    env: str | None  # environment variable, None when it cannot come from there


@dataclass(frozen=True, slots=True)
class _Spec:
    key: str
    field: str
    type: str
    meaning: str
    check: Callable[[Any], Any]
    env: Callable[[str], Any] | None


def _spec(
    key: str,
    type_: str,
    check: Callable[[Any], Any],
    meaning: str,
    *,
    field: str | None = None,
    env: Callable[[str], Any] | None = _env_text,
) -> _Spec:
    return _Spec(key, field or key, type_, meaning, check, env)


_MS = "ms"
_SPECS: tuple[_Spec, ...] = (
    _spec("client", "str", _text, "Target client code. Required."),
    _spec("organization_id", "str", _text, "Adobe IMS organization id. Required."),
    _spec(
        "decisioning_method",
        "'server-side' | 'on-device' | 'hybrid'",
        _method,
        "Where decisions are made: Target's edge, this process, or this process with the "
        "edge for what the artifact cannot decide.",
    ),
    _spec(
        "timeout",
        "int (ms)",
        _integer(1, _MS),
        "Delivery API request timeout, in milliseconds.",
        field="timeout_ms",
        env=_env_int,
    ),
    _spec("server_domain", "str", _text, "Delivery API host; default <client>.tt.omtrdc.net."),
    _spec("secure", "bool", _flag, "Use https (False: http).", env=_env_bool),
    _spec("target_location_hint", "str", _text, "Edge cluster hint for the first request."),
    _spec(
        "environment",
        "str",
        _text,
        "Target environment name (production, staging, development) for the artifact.",
    ),
    _spec("environment_id", "int", _integer(0, None), "Target environment id.", env=_env_int),
    _spec(
        "cdn_environment",
        "str",
        _text,
        "CDN the artifact comes from (production, staging, development).",
    ),
    _spec("cdn_base_path", "str", _text, "Artifact CDN host, overriding cdn_environment."),
    _spec("property_token", "str", _text, "at_property token scoping the activities."),
    _spec(
        "artifact_location",
        "str",
        _text,
        "URL or file path of the rules artifact; default derived from client, environment "
        "and property_token.",
    ),
    _spec(
        "artifact_payload",
        "mapping | bytes | str",
        _payload,
        "An artifact already in hand, used instead of a first download.",
        env=None,
    ),
    _spec(
        "artifact_format",
        "'json' | 'bin'",
        _format,
        "Artifact encoding; default from the location's extension.",
    ),
    _spec(
        "artifact_cache",
        "str (file path)",
        _path,
        "File keeping the last good artifact, so a restart can decide before the CDN answers.",
    ),
    _spec(
        "polling_interval",
        "int (ms)",
        _integer(0, _MS),
        "Artifact refresh interval in milliseconds; 0 disables polling; values under "
        "300000 are raised to 300000 with a warning.",
        field="polling_interval_ms",
        env=_env_int,
    ),
    _spec(
        "maximum_wait_ready",
        "int (ms)",
        _integer(0, _MS),
        "How long an on-device get_offers waits for the first artifact before raising "
        "NotReadyError, in milliseconds (hybrid goes server-side instead); None waits "
        "without bound, 0 does not wait. create() itself never waits.",
        field="maximum_wait_ready_ms",
        env=_env_int,
    ),
    _spec(
        "telemetry_enabled",
        "bool",
        _flag,
        "Send SDK performance telemetry to Adobe.",
        env=_env_bool,
    ),
    _spec(
        "events",
        "mapping[str, callable]",
        _events,
        "Event name -> callback taking no argument or the event.",
        env=None,
    ),
    _spec(
        "logger",
        "logging.Logger-like",
        _logger,
        "Adobe-compatible logger object (debug/error methods); it also receives "
        "targetkit's log records. targetkit logs to logging.getLogger('targetkit').",
        env=None,
    ),
    _spec("version", "str", _text, "Version reported to Target in telemetry."),
    _spec(
        "clock",
        "callable -> int (epoch ms)",
        _clock,
        "Clock for decisions and timestamps; for tests.",
        field="clock_ms",
        env=None,
    ),
    _spec(
        "notification_queue_size",
        "int",
        _integer(1, None),
        "targetkit: most on-device notification items kept waiting to be sent; beyond it "
        "new ones are refused, counted, logged and reported via send_notification_error.",
        env=_env_int,
    ),
    _spec(
        "notification_batch_size",
        "int",
        _integer(1, None),
        "targetkit: most notifications sent in one request.",
        env=_env_int,
    ),
    _spec(
        "notification_flush_interval_ms",
        "int (ms)",
        _integer(1, _MS),
        "targetkit: longest a notification waits for a batch to fill, in milliseconds.",
        env=_env_int,
    ),
)
_SPEC_BY_KEY: Mapping[str, _Spec] = MappingProxyType({s.key: s for s in _SPECS})

# Keys the Adobe SDKs set or read that mean nothing here: accepted and ignored.
_IGNORED_KEYS = frozenset({"internal", "fetch_api"})
# Keys of the per-call options, a common mix-up when porting.
_CALL_KEYS = frozenset(
    {
        "request",
        "target_cookie",
        "visitor_cookie",
        "consumer_id",
        "customer_ids",
        "session_id",
        "visitor",
        "callback",
        "err_callback",
    }
)


def env_var(key: str) -> str:
    """The environment variable for option ``key``."""
    return ENV_PREFIX + key.upper()


def _field(name: str) -> dataclasses.Field[Any]:
    return next(f for f in dataclasses.fields(Options) if f.name == name)


def _field_default(name: str) -> Any:
    # Options has slots, so the class attribute is a descriptor, not the default.
    return _field(name).default


def _default_text(spec: _Spec) -> str:
    dc_field = _field(spec.field)
    if dc_field.default is not dataclasses.MISSING:
        default = dc_field.default
        return repr(str(default)) if isinstance(default, StrEnum) else repr(default)
    return "{}" if dc_field.default_factory is not dataclasses.MISSING else "required"


OPTIONS_DOC: tuple[OptionDoc, ...] = tuple(
    OptionDoc(
        s.key, s.field, s.type, _default_text(s), s.meaning, env_var(s.key) if s.env else None
    )
    for s in _SPECS
)


# --- parsing -------------------------------------------------------------------------


def parse_options(
    options: Mapping[str, Any] | None, environ: Mapping[str, str] | None = None
) -> Options:
    """Validate ``options`` (with ``TARGETKIT_*`` overrides from ``environ``, default
    ``os.environ``) into an Options. Raises ConfigurationError naming the bad option."""
    given = _given_options(options)
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for spec in _SPECS:
        if spec.key in given:
            values[spec.field] = _checked(spec, given[spec.key])
        elif spec.env and (text := env.get(env_var(spec.key), "")).strip():
            values[spec.field] = _checked_env(spec, text)
    for required in ("client", "organization_id"):
        if required not in values:
            raise ConfigurationError(
                required, f"is required: a non-empty string (or set {env_var(required)})"
            )
    _cross_check(values)
    warnings = _adjust(values) + _stray_env_warnings(env)
    return Options(**values, warnings=tuple(warnings))


def _given_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise ConfigurationError(
            "options", f"must be a mapping of option names to values, got {options!r}"
        )
    given: dict[str, Any] = {}
    for key, value in options.items():
        if key in _SPEC_BY_KEY:
            if value is not None:
                given[key] = value
        elif key in _IGNORED_KEYS:
            _log.debug("option %r has no meaning in targetkit; ignored", key)
        elif key in _CALL_KEYS:
            raise ConfigurationError(
                key, "is an option of get_offers()/send_notifications(), not of create()"
            )
        else:
            raise ConfigurationError(str(key), _unknown_key_message(str(key)))
    return given


def _unknown_key_message(key: str) -> str:
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()
    by_field = {s.field: s.key for s in _SPECS}
    candidates = [k for k in (snake, by_field.get(key)) if k in _SPEC_BY_KEY]
    import difflib  # late: only for error messages

    candidates += difflib.get_close_matches(key, list(_SPEC_BY_KEY), n=3)
    close = list(dict.fromkeys(candidates))  # dedupe, keep order
    if close:
        return f"unknown option; did you mean {' or '.join(map(repr, close))}?"
    return f"unknown option; known options: {', '.join(_SPEC_BY_KEY)}"


def _checked(spec: _Spec, value: Any) -> Any:
    try:
        return spec.check(value)
    except _Invalid as exc:
        raise ConfigurationError(spec.key, str(exc)) from None


def _checked_env(spec: _Spec, text: str) -> Any:
    assert spec.env is not None
    name = env_var(spec.key)
    try:
        return spec.check(spec.env(text))
    except _Invalid as exc:
        raise ConfigurationError(spec.key, f"from {name}={text!r}: {exc}") from None


def _cross_check(values: Mapping[str, Any]) -> None:
    # on-device/hybrid always has something to load: the location derives from client.
    if values.get("artifact_format") == "bin" and isinstance(
        values.get("artifact_payload"), Mapping
    ):
        raise ConfigurationError(
            "artifact_format", "'bin' contradicts an artifact_payload that is already a mapping"
        )
    batch = values.get("notification_batch_size", _field_default("notification_batch_size"))
    queue = values.get("notification_queue_size", _field_default("notification_queue_size"))
    if batch > queue:
        raise ConfigurationError(
            "notification_batch_size",
            f"must not exceed notification_queue_size ({queue}), got {batch}",
        )


def _adjust(values: dict[str, Any]) -> list[str]:
    """Apply the documented corrections; return one warning per correction."""
    warnings: list[str] = []
    polling = values.get("polling_interval_ms")
    if polling is not None and 0 < polling < MINIMUM_POLLING_INTERVAL_MS:
        warnings.append(
            f"polling_interval {polling} ms is below the {MINIMUM_POLLING_INTERVAL_MS} ms "
            f"minimum; using {MINIMUM_POLLING_INTERVAL_MS} ms (0 disables polling)"
        )
        values["polling_interval_ms"] = MINIMUM_POLLING_INTERVAL_MS
    wait = values.get("maximum_wait_ready_ms")
    if wait is not None and 0 < wait < 100:
        # Adobe's Python engine described this value in seconds; ours is ms.
        warnings.append(f"maximum_wait_ready is {wait} ms; this option is in milliseconds")
    for key in ("environment", "cdn_environment"):
        name = values.get(key)
        if name is not None and name not in _KNOWN_ENVIRONMENTS:
            warnings.append(
                f"{key} {name!r} is not one of {', '.join(_KNOWN_ENVIRONMENTS)}; using 'production'"
            )
            values[key] = "production"
    return warnings


def _stray_env_warnings(env: Mapping[str, str]) -> list[str]:
    """Warn about TARGETKIT_* variables that look like a misspelt option variable.

    Other TARGETKIT_* variables (the CLI's, the test suite's) pass without a word.
    """
    readable = sorted(env_var(s.key) for s in _SPECS if s.env)
    unreadable = {env_var(s.key) for s in _SPECS if not s.env}
    warnings = []
    for name in sorted(n for n in env if n.startswith(ENV_PREFIX) and n not in readable):
        import difflib  # late: only when there is a variable to check

        if name in unreadable:
            warnings.append(f"{name} is ignored: that option cannot come from the environment")
        elif close := difflib.get_close_matches(name, readable, n=1, cutoff=0.85):
            warnings.append(f"{name} is not read by targetkit; did you mean {close[0]}?")
    return warnings


def options_markdown() -> str:
    """The README's options table, rendered from :data:`OPTIONS_DOC`."""
    lines = [
        "| option | type | default | environment | meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for doc in OPTIONS_DOC:
        env = f"`{doc.env}`" if doc.env else "-"
        meaning = doc.meaning.replace("|", "\\|")
        kind = doc.type.replace("|", "\\|")
        lines.append(f"| `{doc.key}` | {kind} | {doc.default} | {env} | {meaning} |")
    return "\n".join(lines)
