"""Where the on-device decisioning artifact (and the geo lookup service) live on Target's CDN.

URL shape: ``{cdn base}/{client}/{environment}/v1/[{property token}/]rules.{json|bin}``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from targetkit.errors import ConfigurationError

__all__ = [
    "ARTIFACT_FORMATS",
    "ARTIFACT_MAJOR_VERSION",
    "CDN_HOSTS",
    "artifact_format_of",
    "artifact_url",
    "cdn_base_url",
    "geo_url",
]

ARTIFACT_MAJOR_VERSION = 1

ARTIFACT_FORMATS = ("json", "bin")
"""``json`` is plain rules.json; ``bin`` is the obfuscated rules.bin."""

CDN_HOSTS = {
    "production": "assets.adobetarget.com",
    "staging": "assets.staging.adobetarget.com",
    # Adobe's SDKs point the development CDN at the staging host too; there is no
    # separate development host in either SDK.
    "development": "assets.staging.adobetarget.com",
}
"""CDN host per ``cdn_environment``."""


def cdn_base_url(cdn_environment: str = "production", cdn_base_path: str | None = None) -> str:
    """The CDN base URL, without a trailing slash.

    ``cdn_base_path`` overrides ``cdn_environment``; it may be a bare host
    (``assets.adobetarget.com``, https is implied) or carry a scheme and even a path
    (``http://127.0.0.1:8080``, for tests and local emulators), which are kept.

    Raises:
        ConfigurationError: unknown ``cdn_environment``.
    """
    if cdn_base_path:
        base = cdn_base_path.strip().rstrip("/")
        return base if "://" in base else f"https://{base}"
    host = CDN_HOSTS.get(cdn_environment.lower())
    if host is None:
        raise ConfigurationError(
            "cdn_environment",
            f"{cdn_environment!r} is not one of {', '.join(CDN_HOSTS)}",
        )
    return f"https://{host}"


def artifact_url(
    *,
    client: str,
    environment: str = "production",
    property_token: str | None = None,
    artifact_format: str = "json",
    cdn_environment: str = "production",
    cdn_base_path: str | None = None,
    artifact_location: str | None = None,
) -> str:
    """The URL of the decisioning artifact.

    ``artifact_location``, when given, is returned as is. ``environment`` is the Target
    environment name (lower-cased; custom names pass through; empty means production).

    Raises:
        ConfigurationError: empty ``client``, unknown ``artifact_format`` or
            ``cdn_environment``.
    """
    if artifact_location:
        return artifact_location
    if not client:
        raise ConfigurationError("client", "is required to locate the artifact")
    file_format = artifact_format.lower()
    if file_format not in ARTIFACT_FORMATS:
        raise ConfigurationError(
            "artifact_format", f"{artifact_format!r} is not one of {', '.join(ARTIFACT_FORMATS)}"
        )
    parts = [
        cdn_base_url(cdn_environment, cdn_base_path),
        client,
        (environment or "production").lower(),
        f"v{ARTIFACT_MAJOR_VERSION}",
    ]
    if property_token:
        parts.append(property_token)
    parts.append(f"rules.{file_format}")
    return "/".join(parts)


def artifact_format_of(url: str) -> str:
    """``"bin"`` when the URL's path ends with ``.bin`` (any case), else ``"json"``.

    Only the path counts, so a query string (``rules.bin?cache=no``) does not hide it.
    """
    return "bin" if urlsplit(url).path.lower().endswith(".bin") else "json"


def geo_url(cdn_base: str) -> str:
    """The IP-to-geo lookup endpoint on a CDN: ``{cdn base}/v1/geo``.

    ``cdn_base`` is a bare host or a URL, as accepted by :func:`cdn_base_url`.
    """
    return f"{cdn_base_url(cdn_base_path=cdn_base)}/v{ARTIFACT_MAJOR_VERSION}/geo"
