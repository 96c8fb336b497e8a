"""Reading an artifact (or a geo table) from a file, an http(s) URL or the bundled data."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from targetkit.errors import ArtifactDownloadError

__all__ = [
    "BUNDLED_ARTIFACT",
    "BUNDLED_ARTIFACT_V2",
    "BUNDLED_GEO",
    "Source",
    "bundled_bytes",
    "is_url",
    "read_source",
]

BUNDLED_ARTIFACT = "demo_artifact.json"
BUNDLED_ARTIFACT_V2 = "demo_artifact_v2.json"
BUNDLED_GEO = "demo_geo.json"

#: How long fetching an artifact given by URL may take (s).
URL_TIMEOUT_S = 10.0


def is_url(spec: str) -> bool:
    return spec.startswith(("http://", "https://"))


def bundled_bytes(name: str) -> bytes:
    """The bytes of a file shipped in ``targetkit/data``."""
    return resources.files("targetkit.data").joinpath(name).read_bytes()


class Source:
    """Where an artifact came from: a label for messages and, for files, the path."""

    __slots__ = ("label", "path")

    def __init__(self, label: str, path: Path | None) -> None:
        self.label = label
        self.path = path


def read_source(spec: str | None, bundled: str = BUNDLED_ARTIFACT) -> tuple[bytes, Source]:
    """The bytes behind ``spec``: None for bundled data, an http(s) URL, or a file path.

    Raises:
        OSError: the file cannot be read (FileNotFoundError when it does not exist).
        ArtifactDownloadError: the URL did not answer 200.
    """
    if spec is None:
        return bundled_bytes(bundled), Source(f"bundled {bundled}", None)
    if is_url(spec):
        return _fetch(spec), Source(spec, None)
    path = Path(spec).expanduser()
    return path.read_bytes(), Source(str(path), path)


def _fetch(url: str) -> bytes:
    import httpx

    try:
        response = httpx.get(url, timeout=URL_TIMEOUT_S, follow_redirects=True)
    except httpx.HTTPError as err:
        raise ArtifactDownloadError(f"download of {url} failed: {err}") from err
    if response.status_code != 200:
        raise ArtifactDownloadError(
            f"download of {url} answered HTTP {response.status_code}", status=response.status_code
        )
    return response.content
