"""What an emulator serves, and how: :class:`EmulatorConfig`."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_LOCATION_HINT", "DEMO_CLIENT", "DEMO_ORGANIZATION_ID", "EmulatorConfig"]

DEMO_CLIENT = "demo"
"""Client code of the bundled demo artifact (and the default when an artifact names none)."""

DEMO_ORGANIZATION_ID = "DEMO0000000000000000000@AdobeOrg"
"""Organization id the emulator obfuscates ``rules.bin`` with unless told otherwise."""

DEFAULT_LOCATION_HINT = "35"
"""Edge cluster the emulator claims to be: tntIds end in ``.35_0``, edgeHost is mboxedge35."""


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    """Settings of one emulator.

    ``artifact`` is a file path, an http(s) URL, or None for the bundled demo artifact.
    ``client`` None means the artifact's ``meta.clientCode`` (else :data:`DEMO_CLIENT`).
    ``port`` 0 picks a free port. ``latency_ms``, ``error_rate`` and
    ``on_device_disabled`` are the faults in force at start (see ``faults.py``).
    """

    artifact: str | None = None
    host: str = "127.0.0.1"
    port: int = 0
    client: str | None = None
    environment: str = "production"
    property_token: str | None = None
    organization_id: str = DEMO_ORGANIZATION_ID
    geo_file: str | None = None
    reload: bool = False
    latency_ms: int = 0
    error_rate: float = 0.0
    error_status: int | None = None
    on_device_disabled: bool = False
    location_hint: str = DEFAULT_LOCATION_HINT
    access_log: bool = False
