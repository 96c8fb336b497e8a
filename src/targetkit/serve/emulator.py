"""One emulator's state, without any web framework: artifact, geo, faults, edge, stats."""

from __future__ import annotations

from typing import Any

from targetkit.serve.artifacts import ArtifactStore
from targetkit.serve.config import DEMO_CLIENT, EmulatorConfig
from targetkit.serve.edge import DeliveryEdge, EdgeStats
from targetkit.serve.faults import Faults, parse_faults
from targetkit.serve.geo import load_geo_table

__all__ = ["Emulator"]

ARTIFACT_FILES = {"rules.json": "json", "rules.bin": "bin"}


class Emulator:
    """Everything an emulator serves; the web layer (``app.py``) only routes to it."""

    def __init__(self, config: EmulatorConfig) -> None:
        """Load the artifact and geo table and set the starting faults.

        Raises:
            OSError: an artifact or geo file cannot be read.
            ArtifactError: the artifact is invalid (or its URL did not answer 200).
            GeoTableError, FaultError: a bad geo table or fault flag.
        """
        self.config = config
        initial: dict[str, Any] = {
            "latency_ms": config.latency_ms,
            "error_rate": config.error_rate or None,
            "on_device_disabled": config.on_device_disabled,
        }
        if config.error_rate and config.error_status is not None:
            initial["status"] = config.error_status
        settings, _ = parse_faults(initial)
        self.faults = Faults(settings)
        self.store = ArtifactStore(config.artifact, config.organization_id, reload=config.reload)
        self.client = config.client or self.store.current.client_code or DEMO_CLIENT
        self.environment = (config.environment or "production").lower()
        self.geo = load_geo_table(config.geo_file)
        self.stats = EdgeStats()
        self.edge = DeliveryEdge(
            self.store,
            self.geo,
            self.stats,
            default_client=self.client,
            organization_id=config.organization_id,
            location_hint=config.location_hint,
        )

    def artifact_path(self, artifact_format: str = "json") -> str:
        """The CDN path of the artifact, as a client derives it from its options."""
        token = f"{self.config.property_token}/" if self.config.property_token else ""
        return f"/{self.client}/{self.environment}/v1/{token}rules.{artifact_format}"

    def artifact_format_for(self, client: str, environment: str, rest: str) -> str | None:
        """``json`` / ``bin`` when ``/{client}/{environment}/v1/{rest}`` is the artifact.

        The tokenless path always serves; a property-token path serves the configured
        token, or any token when none was configured.
        """
        if client != self.client or environment.lower() != self.environment:
            return None
        token, _, name = rest.rpartition("/")
        artifact_format = ARTIFACT_FILES.get(name)
        if artifact_format is None or "/" in token:
            return None
        configured = self.config.property_token
        if token and configured and token != configured:
            return None
        return artifact_format

    def client_options(self, base_url: str) -> dict[str, Any]:
        """Options that point a targetkit client at this emulator (add the method)."""
        server = base_url.split("://", 1)[-1]
        options: dict[str, Any] = {
            "client": self.client,
            "organization_id": self.config.organization_id,
            "environment": self.environment,
            "cdn_base_path": base_url,
            "server_domain": server,
            "secure": base_url.startswith("https://"),
        }
        if self.config.property_token:
            options["property_token"] = self.config.property_token
        return options

    def info(self, base_url: str) -> dict[str, Any]:
        """What ``GET /`` answers: where everything is."""
        served = self.store.current
        return {
            "emulator": "targetkit",
            "artifact": {
                "source": served.label,
                "version": served.version,
                "etag": served.json_etag,
                "json": base_url + self.artifact_path("json"),
                "bin": base_url + self.artifact_path("bin"),
                "watching": self.store.watching,
            },
            "delivery": base_url + "/rest/v1/delivery",
            "geo": base_url + "/v1/geo",
            "faults": self.faults.settings.to_json(),
            "client_options": self.client_options(base_url),
        }
