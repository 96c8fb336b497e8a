"""targetkit: a fast, typed, asyncio-native Python SDK for Adobe Target."""

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
    "ArtifactDownloadFailed",
    "ArtifactDownloadSucceeded",
    "Attributes",
    "ClientReady",
    "DecisioningMethod",
    "EventType",
    "GeoLocationUpdated",
    "Options",
    "SendNotificationError",
    "Subscription",
    "TargetClient",
    "TargetEvent",
    "create",
    "ArtifactDownloadError",
    "ArtifactError",
    "ArtifactParseError",
    "ArtifactSchemaError",
    "ArtifactVersionError",
    "ClientClosedError",
    "ConfigurationError",
    "DeliveryError",
    "DeliveryTimeoutError",
    "DeobfuscationError",
    "InvalidRequestError",
    "NotReadyError",
    "OnDeviceDisabledError",
    "TargetError",
    "__version__",
]
