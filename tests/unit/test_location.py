"""Artifact and geo URL derivation."""

from __future__ import annotations

import pytest

from targetkit.artifact.location import (
    artifact_format_of,
    artifact_url,
    cdn_base_url,
    geo_url,
)
from targetkit.errors import ConfigurationError

TOKEN = "693de2cd-ac92-d2c7-59fc-a3c0f2bce646"


def test_default_is_production_json() -> None:
    assert artifact_url(client="acme") == (
        "https://assets.adobetarget.com/acme/production/v1/rules.json"
    )


def test_environment_is_lower_cased_and_property_token_inserted() -> None:
    url = artifact_url(client="MyClient", environment="Development", property_token=TOKEN)
    assert url == f"https://assets.adobetarget.com/MyClient/development/v1/{TOKEN}/rules.json"


def test_empty_environment_means_production() -> None:
    assert "/acme/production/v1/" in artifact_url(client="acme", environment="")


def test_empty_property_token_is_left_out() -> None:
    assert artifact_url(client="acme", property_token="").endswith("/production/v1/rules.json")


@pytest.mark.parametrize(
    ("cdn_environment", "host"),
    [
        ("production", "assets.adobetarget.com"),
        ("staging", "assets.staging.adobetarget.com"),
        ("STAGING", "assets.staging.adobetarget.com"),
        ("development", "assets.staging.adobetarget.com"),
    ],
)
def test_cdn_environment_selects_host(cdn_environment: str, host: str) -> None:
    url = artifact_url(client="acme", environment="staging", cdn_environment=cdn_environment)
    assert url == f"https://{host}/acme/staging/v1/rules.json"


def test_binary_format() -> None:
    url = artifact_url(client="acme", artifact_format="bin", property_token=TOKEN)
    assert url == f"https://assets.adobetarget.com/acme/production/v1/{TOKEN}/rules.bin"
    assert artifact_url(client="acme", artifact_format="BIN").endswith("/rules.bin")


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("assets.example.com", "https://assets.example.com"),
        ("assets.example.com/", "https://assets.example.com"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("https://cdn.example.com/prefix", "https://cdn.example.com/prefix"),
    ],
)
def test_cdn_base_path_keeps_scheme(base: str, expected: str) -> None:
    assert cdn_base_url(cdn_base_path=base) == expected
    assert artifact_url(client="acme", cdn_base_path=base, cdn_environment="staging") == (
        f"{expected}/acme/production/v1/rules.json"
    )
    assert geo_url(base) == f"{expected}/v1/geo"


def test_artifact_location_wins() -> None:
    location = "http://localhost:9/some/where/rules.bin"
    assert artifact_url(client="", artifact_format="bad", artifact_location=location) == location


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"client": ""}, "client"),
        ({"client": "acme", "artifact_format": "xml"}, "artifact_format"),
        ({"client": "acme", "cdn_environment": "qa"}, "cdn_environment"),
    ],
)
def test_invalid_options(kwargs: dict[str, str], option: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        artifact_url(**kwargs)
    assert caught.value.option == option


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://assets.adobetarget.com/acme/production/v1/rules.bin", "bin"),
        ("https://assets.adobetarget.com/acme/production/v1/RULES.BIN", "bin"),
        ("https://cdn/x/rules.bin?cache=no#frag", "bin"),
        ("https://assets.adobetarget.com/acme/production/v1/rules.json", "json"),
        ("https://cdn/x/rules.json?file=rules.bin", "json"),
        ("https://cdn/x/rules.binary", "json"),
        ("/local/file/rules.bin", "bin"),
    ],
)
def test_artifact_format_of(url: str, expected: str) -> None:
    assert artifact_format_of(url) == expected


def test_geo_url_defaults() -> None:
    assert geo_url("assets.adobetarget.com") == "https://assets.adobetarget.com/v1/geo"
    assert geo_url(cdn_base_url("staging")) == "https://assets.staging.adobetarget.com/v1/geo"
