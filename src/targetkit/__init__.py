"""targetkit: a fast, typed, asyncio-native Python SDK for Adobe Target."""

from typing import TYPE_CHECKING, Any

from targetkit.attributes import Attributes
from targetkit.client import TargetClient, create
from targetkit.errors import (
    ArtifactDownloadError,
    ArtifactError,
    ArtifactParseError,
    ArtifactSchemaError,
    ArtifactVersionError,
    ClientClosedError,
    ConfigurationError,
    DeliveryError,
    DeliveryTimeoutError,
    DeobfuscationError,
    InvalidRequestError,
    NotReadyError,
    OnDeviceDisabledError,
    TargetError,
)
from targetkit.events import (
    ArtifactDownloadFailed,
    ArtifactDownloadSucceeded,
    ClientReady,
    EventType,
    GeoLocationUpdated,
    SendNotificationError,
    Subscription,
    TargetEvent,
)
from targetkit.options import DecisioningMethod, Options

if TYPE_CHECKING:
    from targetkit.async_client import AsyncTargetClient

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # AsyncTargetClient loads asyncio (20-40 ms): only when an application asks for it.
    if name == "AsyncTargetClient":
        from targetkit.async_client import AsyncTargetClient

        return AsyncTargetClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ArtifactDownloadError",
    "ArtifactDownloadFailed",
    "ArtifactDownloadSucceeded",
    "ArtifactError",
    "ArtifactParseError",
    "ArtifactSchemaError",
    "ArtifactVersionError",
    "AsyncTargetClient",
    "Attributes",
    "ClientClosedError",
    "ClientReady",
    "ConfigurationError",
    "DecisioningMethod",
    "DeliveryError",
    "DeliveryTimeoutError",
    "DeobfuscationError",
    "EventType",
    "GeoLocationUpdated",
    "InvalidRequestError",
    "NotReadyError",
    "OnDeviceDisabledError",
    "Options",
    "SendNotificationError",
    "Subscription",
    "TargetClient",
    "TargetError",
    "TargetEvent",
    "__version__",
    "create",
]
