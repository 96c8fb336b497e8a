"""Options: validation, environment overrides, warnings and the documentation table."""

from __future__ import annotations

import dataclasses
import logging
import pathlib
from collections.abc import Mapping
from typing import Any

import pytest

from targetkit.errors import ConfigurationError
from targetkit.options import (
    MINIMUM_POLLING_INTERVAL_MS,
    OPTIONS_DOC,
    DecisioningMethod,
    Options,
    env_var,
    parse_options,
)

BASE: dict[str, Any] = {"client": "acmeclient", "organization_id": "ABC@AdobeOrg"}
NO_ENV: Mapping[str, str] = {}


def parse(environ: Mapping[str, str] = NO_ENV, **options: Any) -> Options:
    return parse_options({**BASE, **options}, environ)


def error_of(environ: Mapping[str, str] = NO_ENV, **options: Any) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as info:
        parse(environ, **options)
    return info.value


def test_defaults() -> None:
    options = parse()
    assert options.client == "acmeclient"
    assert options.organization_id == "ABC@AdobeOrg"
    assert options.decisioning_method is DecisioningMethod.SERVER_SIDE
    assert options.timeout_ms == 3000
    assert options.secure is True and options.telemetry_enabled is True
    assert options.environment == options.cdn_environment == "production"
    assert options.polling_interval_ms == MINIMUM_POLLING_INTERVAL_MS == 300_000
    assert options.maximum_wait_ready_ms is None
    assert dict(options.events) == {}
    assert (
        options.notification_queue_size,
        options.notification_batch_size,
        options.notification_flush_interval_ms,
    ) == (10_000, 100, 100)
    assert options.warnings == ()
    assert options.uses_artifact is False


def test_adobe_keys_map_to_unit_fields() -> None:
    clock = lambda: 1_700_000_000_000  # noqa: E731
    options = parse(
        timeout=1500,
        polling_interval=600_000,
        maximum_wait_ready=2000,
        clock=clock,
        decisioning_method="hybrid",
    )
    assert options.timeout_ms == 1500
    assert options.polling_interval_ms == 600_000
    assert options.maximum_wait_ready_ms == 2000
    assert options.clock_ms is clock
    assert options.decisioning_method is DecisioningMethod.HYBRID
    assert options.uses_artifact is True


def test_options_are_immutable() -> None:
    options = parse(events={"client_ready": lambda: None})
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.timeout_ms = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        options.events["client_ready"] = print  # type: ignore[index]


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("client", "", "non-empty string"),
        ("client", 42, "non-empty string"),
        ("organization_id", "  ", "non-empty string"),
        ("decisioning_method", "on_device", "'server-side', 'on-device', 'hybrid'"),
        ("timeout", "abc", "must be a positive integer (ms), got 'abc'"),
        ("timeout", 0, "positive integer (ms)"),
        ("timeout", True, "positive integer (ms)"),
        ("timeout", 2.5, "positive integer (ms)"),
        ("polling_interval", -1, "non-negative integer (ms)"),
        ("maximum_wait_ready", "10", "non-negative integer (ms)"),
        ("environment_id", -3, "non-negative integer"),
        ("secure", 1, "True or False"),
        ("telemetry_enabled", "no", "True or False"),
        ("server_domain", 5, "non-empty string"),
        ("artifact_format", "yaml", "'json' or 'bin'"),
        ("artifact_payload", 12, "mapping"),
        ("artifact_cache", 3, "file path"),
        ("events", ["client_ready"], "mapping of event names"),
        ("logger", object(), "debug() and error()"),
        ("clock", 5, "callable"),
        ("notification_queue_size", 0, "positive integer"),
        ("notification_batch_size", False, "positive integer"),
        ("notification_flush_interval_ms", 0, "positive integer (ms)"),
    ],
)
def test_each_validation_error_names_its_option(key: str, value: Any, fragment: str) -> None:
    error = error_of(**{key: value})
    assert error.option == key
    assert fragment in str(error)
    assert isinstance(error, ValueError)


def test_required_options() -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_options(None, NO_ENV)
    assert info.value.option == "client"
    with pytest.raises(ConfigurationError) as info:
        parse_options({"client": "c"}, NO_ENV)
    assert info.value.option == "organization_id"
    assert "TARGETKIT_ORGANIZATION_ID" in str(info.value)


def test_options_must_be_a_mapping() -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_options([("client", "c")], NO_ENV)  # type: ignore[arg-type]
    assert info.value.option == "options"


def test_none_counts_as_not_given() -> None:
    options = parse(timeout=None, server_domain=None, events=None)
    assert options.timeout_ms == 3000 and options.server_domain is None


def test_typo_suggests_close_matches() -> None:
    error = error_of(polling_intervall=1)
    assert error.option == "polling_intervall"
    assert "did you mean 'polling_interval'" in str(error)


def test_camel_case_and_field_names_suggest_the_key() -> None:
    assert "'organization_id'" in str(error_of(organizationId="x"))
    assert "'timeout'" in str(error_of(timeout_ms=100))
    assert "'maximum_wait_ready'" in str(error_of(maximum_wait_ready_ms=100))


def test_unknown_key_without_close_match_lists_known_options() -> None:
    message = str(error_of(zzz=1))
    assert "known options" in message and "decisioning_method" in message


def test_adobe_only_keys_are_ignored_with_a_debug_log(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="targetkit.options"):
        options = parse(internal=True, fetch_api=object())
    assert options.client == "acmeclient"
    assert "'internal'" in caplog.text and "'fetch_api'" in caplog.text


def test_per_call_keys_are_rejected_with_an_explanation() -> None:
    error = error_of(callback=print)
    assert error.option == "callback"
    assert "get_offers()" in str(error)


def test_events_are_validated() -> None:
    def on_ready() -> None:
        pass

    options = parse(events={"client_ready": on_ready, "artifact_download_success": print})
    assert options.events == {"client_ready": on_ready, "artifact_download_success": print}
    error = error_of(events={"ready": on_ready})
    assert error.option == "events"
    assert "client_ready" in str(error) and "geo_location_updated" in str(error)
    bad_value = error_of(events={"client_ready": "on_ready"})
    assert bad_value.option == "events" and "callable" in str(bad_value)
    bad_arity = error_of(events={"client_ready": lambda a, b: None})
    assert bad_arity.option == "events" and "zero or one" in str(bad_arity)


def test_logger_accepts_logger_like_objects() -> None:
    class Duck:
        def debug(self, msg: Any, *args: Any) -> None: ...

        def error(self, msg: Any, *args: Any) -> None: ...

    duck = Duck()
    assert parse(logger=duck).logger is duck
    std = logging.getLogger("app")
    assert parse(logger=std).logger is std


def test_artifact_payload_kinds() -> None:
    assert parse(artifact_payload={"version": "1.0.0"}).artifact_payload == {"version": "1.0.0"}
    assert parse(artifact_payload=b"\x00\x01").artifact_payload == b"\x00\x01"
    assert parse(artifact_payload=bytearray(b"ab")).artifact_payload == b"ab"
    assert parse(artifact_payload='{"version": "1.0.0"}').artifact_payload == '{"version": "1.0.0"}'


def test_artifact_cache_accepts_path_objects(tmp_path: pathlib.Path) -> None:
    target = tmp_path / "rules.json"
    assert parse(artifact_cache=target).artifact_cache == str(target)


def test_cross_checks() -> None:
    error = error_of(artifact_format="bin", artifact_payload={"version": "1.0.0"})
    assert error.option == "artifact_format"
    error = error_of(notification_queue_size=10, notification_batch_size=11)
    assert error.option == "notification_batch_size"
    assert parse(artifact_format="bin", artifact_payload=b"...").artifact_format == "bin"


@pytest.mark.parametrize("interval", [1, 30_000, 299_999])
def test_polling_floor_raises_small_intervals_with_a_warning(interval: int) -> None:
    options = parse(polling_interval=interval)
    assert options.polling_interval_ms == 300_000
    [warning] = options.warnings
    assert str(interval) in warning and "300000" in warning


@pytest.mark.parametrize("interval", [0, 300_000, 900_000])
def test_polling_zero_and_large_intervals_are_kept(interval: int) -> None:
    options = parse(polling_interval=interval)
    assert options.polling_interval_ms == interval
    assert options.warnings == ()


def test_tiny_maximum_wait_ready_warns_about_units() -> None:
    options = parse(maximum_wait_ready=10)
    assert options.maximum_wait_ready_ms == 10
    assert any("milliseconds" in w for w in options.warnings)
    assert parse(maximum_wait_ready=0).warnings == ()


def test_unknown_environment_names_fall_back_to_production() -> None:
    options = parse(environment="prod", cdn_environment="staging")
    assert options.environment == "production" and options.cdn_environment == "staging"
    [warning] = options.warnings
    assert "'prod'" in warning


# --- environment ---------------------------------------------------------------------


def test_every_env_capable_option_reads_its_variable() -> None:
    environ = {
        "TARGETKIT_CLIENT": "envclient",
        "TARGETKIT_ORGANIZATION_ID": "ENV@AdobeOrg",
        "TARGETKIT_DECISIONING_METHOD": "on-device",
        "TARGETKIT_TIMEOUT": "1200",
        "TARGETKIT_SERVER_DOMAIN": "edge.example.com",
        "TARGETKIT_SECURE": "no",
        "TARGETKIT_TARGET_LOCATION_HINT": "35",
        "TARGETKIT_ENVIRONMENT": "staging",
        "TARGETKIT_ENVIRONMENT_ID": "12",
        "TARGETKIT_CDN_ENVIRONMENT": "development",
        "TARGETKIT_CDN_BASE_PATH": "cdn.example.com",
        "TARGETKIT_PROPERTY_TOKEN": "tok",
        "TARGETKIT_ARTIFACT_LOCATION": "/srv/rules.json",
        "TARGETKIT_ARTIFACT_FORMAT": "json",
        "TARGETKIT_ARTIFACT_CACHE": "/var/cache/rules.json",
        "TARGETKIT_POLLING_INTERVAL": "0",
        "TARGETKIT_MAXIMUM_WAIT_READY": "5000",
        "TARGETKIT_TELEMETRY_ENABLED": "false",
        "TARGETKIT_VERSION": "9.9.9",
        "TARGETKIT_NOTIFICATION_QUEUE_SIZE": "500",
        "TARGETKIT_NOTIFICATION_BATCH_SIZE": "50",
        "TARGETKIT_NOTIFICATION_FLUSH_INTERVAL_MS": "20",
    }
    assert set(environ) == {d.env for d in OPTIONS_DOC if d.env}
    options = parse_options(None, environ)
    assert options == Options(
        client="envclient",
        organization_id="ENV@AdobeOrg",
        decisioning_method=DecisioningMethod.ON_DEVICE,
        timeout_ms=1200,
        server_domain="edge.example.com",
        secure=False,
        target_location_hint="35",
        environment="staging",
        environment_id=12,
        cdn_environment="development",
        cdn_base_path="cdn.example.com",
        property_token="tok",
        artifact_location="/srv/rules.json",
        artifact_format="json",
        artifact_cache="/var/cache/rules.json",
        polling_interval_ms=0,
        maximum_wait_ready_ms=5000,
        telemetry_enabled=False,
        version="9.9.9",
        notification_queue_size=500,
        notification_batch_size=50,
        notification_flush_interval_ms=20,
        events=options.events,
    )


def test_explicit_option_wins_over_environment() -> None:
    environ = {"TARGETKIT_TIMEOUT": "9999", "TARGETKIT_CLIENT": "envclient"}
    options = parse(environ, timeout=100)
    assert options.timeout_ms == 100
    assert options.client == "acmeclient"


def test_environment_fills_what_options_leave_out() -> None:
    options = parse({"TARGETKIT_TIMEOUT": "9999"}, timeout=None)
    assert options.timeout_ms == 9999


def test_empty_variable_counts_as_unset() -> None:
    assert parse({"TARGETKIT_TIMEOUT": "  "}).timeout_ms == 3000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("yes", True),
        ("false", False),
        ("0", False),
        ("No", False),
        (" off ", False),
    ],
)
def test_env_bools(text: str, expected: bool) -> None:
    assert parse({"TARGETKIT_TELEMETRY_ENABLED": text}).telemetry_enabled is expected


@pytest.mark.parametrize(
    ("variable", "text", "option"),
    [
        ("TARGETKIT_TIMEOUT", "abc", "timeout"),
        ("TARGETKIT_TIMEOUT", "-5", "timeout"),
        ("TARGETKIT_SECURE", "maybe", "secure"),
        ("TARGETKIT_DECISIONING_METHOD", "local", "decisioning_method"),
        ("TARGETKIT_ARTIFACT_FORMAT", "xml", "artifact_format"),
        ("TARGETKIT_POLLING_INTERVAL", "5m", "polling_interval"),
    ],
)
def test_bad_env_value_names_the_variable(variable: str, text: str, option: str) -> None:
    error = error_of({variable: text})
    assert error.option == option
    assert variable in str(error) and repr(text) in str(error)


def test_env_polling_floor_applies() -> None:
    options = parse({"TARGETKIT_POLLING_INTERVAL": "1000"})
    assert options.polling_interval_ms == 300_000 and len(options.warnings) == 1


def test_default_environ_is_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TARGETKIT_TIMEOUT", "4321")
    assert parse_options(BASE).timeout_ms == 4321


def test_misspelt_or_unreadable_variables_warn() -> None:
    options = parse({"TARGETKIT_POLING_INTERVAL": "0", "TARGETKIT_EVENTS": "x"})
    assert any("TARGETKIT_POLLING_INTERVAL" in w for w in options.warnings)
    assert any("TARGETKIT_EVENTS" in w and "cannot" in w for w in options.warnings)
    assert parse({"TARGETKIT_SOMETHING_ELSE_ENTIRELY": "1"}).warnings == ()


# --- documentation table -------------------------------------------------------------


def test_every_options_field_is_documented() -> None:
    option_fields = {f.name for f in dataclasses.fields(Options)} - {"warnings"}
    documented = [d.field for d in OPTIONS_DOC]
    assert sorted(documented) == sorted(option_fields)
    assert all(d.meaning and d.type and d.default for d in OPTIONS_DOC)


def test_every_documented_key_is_accepted() -> None:
    for doc in OPTIONS_DOC:
        with pytest.raises(ConfigurationError) as info:
            parse_options({**BASE, doc.key: object()}, NO_ENV)
        assert info.value.option == doc.key, doc.key


def test_unit_fields_say_ms_in_the_doc() -> None:
    for doc in OPTIONS_DOC:
        if doc.field.endswith("_ms") and doc.field != "clock_ms":
            assert "(ms)" in doc.type and "milliseconds" in doc.meaning, doc.key


def test_doc_defaults_and_env_names() -> None:
    by_key = {d.key: d for d in OPTIONS_DOC}
    assert by_key["client"].default == "required"
    assert by_key["timeout"].default == "3000" and by_key["timeout"].field == "timeout_ms"
    assert by_key["decisioning_method"].default == "'server-side'"
    assert by_key["events"].default == "{}" and by_key["events"].env is None
    assert by_key["polling_interval"].env == env_var("polling_interval")
    assert by_key["polling_interval"].env == "TARGETKIT_POLLING_INTERVAL"
