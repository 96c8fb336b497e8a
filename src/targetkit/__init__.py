"""targetkit: a fast, typed, asyncio-native Python SDK for Adobe Target."""

from targetkit.async_client import AsyncTargetClient
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

__version__ = "0.1.0"

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
