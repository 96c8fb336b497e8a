"""targetkit: a fast, typed, asyncio-native Python SDK for Adobe Target."""

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

__version__ = "0.1.0"

__all__ = [
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
