"""The targetkit exception tree.

Every error targetkit raises on purpose derives from :class:`TargetError`, so an
application can catch one class and know it caught only ours::

    TargetError
    ├── ConfigurationError        invalid option given to create()          (also ValueError)
    ├── InvalidRequestError       invalid get_offers / send_notifications input (also ValueError)
    ├── NotReadyError             on-device decision asked before an artifact was ready
    ├── ClientClosedError         the client was used after close()
    ├── ArtifactError             an artifact could not be used
    │   ├── ArtifactParseError        not JSON, or not an object
    │   ├── ArtifactVersionError      unsupported major version
    │   ├── ArtifactSchemaError       required keys missing or of the wrong type
    │   ├── DeobfuscationError        rules.bin could not be decoded (wrong organization id...)
    │   └── ArtifactDownloadError     the CDN could not deliver it (status, if any)
    │       └── OnDeviceDisabledError     403: on-device decisioning is off for the account
    └── DeliveryError             a Delivery API call failed (status, message, request_id)
        └── DeliveryTimeoutError      no answer within the ``timeout`` option (ms)
"""

from __future__ import annotations

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
]


class TargetError(Exception):
    """Base class of every error targetkit raises on purpose."""


class ConfigurationError(TargetError, ValueError):
    """An option given to ``create()`` is missing or invalid.

    ``option`` names the offending option (its snake_case key).
    """

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"option {option!r}: {message}")
        self.option = option


class InvalidRequestError(TargetError, ValueError):
    """A ``get_offers`` / ``send_notifications`` / ``get_attributes`` input is invalid.

    ``field`` is a dotted path to the offending field, e.g. ``request.execute.mboxes[0].name``.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class NotReadyError(TargetError):
    """An on-device decision was asked for before the first artifact was loaded."""


class ClientClosedError(TargetError):
    """The client was used after ``close()``."""


class ArtifactError(TargetError):
    """An artifact could not be used; the last good artifact (if any) keeps serving."""


class ArtifactParseError(ArtifactError):
    """The artifact is not valid JSON, or its top level is not an object."""


class ArtifactVersionError(ArtifactError):
    """The artifact's major version is not one this SDK supports (1)."""


class ArtifactSchemaError(ArtifactError):
    """Required artifact keys are missing or have the wrong type."""


class DeobfuscationError(ArtifactError):
    """A ``rules.bin`` could not be decoded, usually because of a wrong organization id."""


class ArtifactDownloadError(ArtifactError):
    """The artifact could not be downloaded. ``status`` is the HTTP status, if one came back."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class OnDeviceDisabledError(ArtifactDownloadError):
    """The CDN answered 403: on-device decisioning is not enabled for this account."""


class DeliveryError(TargetError):
    """A Delivery API call failed.

    ``status`` is the HTTP status (None when no response came back), ``message`` the
    Target error message if the body carried one, ``request_id`` the request's id.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        detail = message
        if status is not None:
            detail = f"HTTP {status}: {detail}"
        if request_id:
            detail = f"{detail} (requestId {request_id})"
        super().__init__(detail)
        self.message = message
        self.status = status
        self.request_id = request_id


class DeliveryTimeoutError(DeliveryError):
    """The Delivery API did not answer within the ``timeout`` option (ms)."""
