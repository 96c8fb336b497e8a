"""Validating what callers pass to ``get_offers`` / ``send_notifications`` / ``get_attributes``.

The Delivery API request is the caller's dict, camelCase as on the wire. We check the
shapes the SDK relies on and raise :class:`InvalidRequestError` naming the field; leaf
values we do not rely on are passed through untouched. We never copy the caller's
request deeply, and never mutate it: normalization builds new top-level dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from targetkit.delivery.cookies import valid_session_id
from targetkit.errors import InvalidRequestError
from targetkit.options import DecisioningMethod

__all__ = ["GetOffersOptions", "validate_get_offers", "validate_notifications"]

_DICT_PARTS = ("id", "context", "execute", "prefetch", "property", "experienceCloud")
_STRING_OPTIONS = ("session_id", "target_cookie", "target_location_hint", "consumer_id")


class GetOffersOptions:
    """The validated ``get_offers`` options, with the request kept by reference."""

    __slots__ = (
        "consumer_id",
        "customer_ids",
        "decisioning_method",
        "raw",
        "request",
        "session_id",
        "target_cookie",
        "target_location_hint",
    )

    def __init__(self, raw: Mapping[str, Any], request: Mapping[str, Any]) -> None:
        self.raw = raw
        self.request = request
        self.session_id: str | None = raw.get("session_id")
        self.target_cookie: str | None = raw.get("target_cookie")
        self.target_location_hint: str | None = raw.get("target_location_hint")
        self.consumer_id: str | None = raw.get("consumer_id")
        customer_ids = raw.get("customer_ids")
        self.customer_ids: list[Any] | None = customer_ids
        method = raw.get("decisioning_method")
        self.decisioning_method = DecisioningMethod(method) if method is not None else None


def _not_object(value: Any) -> bool:
    # Plain dicts first: an ABC isinstance check costs several times more.
    return type(value) is not dict and not isinstance(value, Mapping)


def _not_an_object(value: Any, field: str) -> InvalidRequestError:
    return InvalidRequestError(field, f"must be an object, got {type(value).__name__}")


def _require_dict(value: Any, field: str) -> Mapping[str, Any]:
    if _not_object(value):
        raise _not_an_object(value, field)
    return value  # type: ignore[no-any-return]


def _check_locations(items: Any, field: str, *, named: bool) -> None:
    if not isinstance(items, list):
        raise InvalidRequestError(field, f"must be a list, got {type(items).__name__}")
    for i, item in enumerate(items):
        if _not_object(item):
            raise _not_an_object(item, f"{field}[{i}]")
        name = item.get("name")
        if named and (not isinstance(name, str) or not name):
            raise InvalidRequestError(f"{field}[{i}].name", "must be a non-empty string")
        if not named and name is not None and not isinstance(name, str):
            raise InvalidRequestError(f"{field}[{i}].name", "must be a string")
        index = item.get("index")
        if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
            raise InvalidRequestError(f"{field}[{i}].index", "must be an integer")
        for key in ("parameters", "address"):
            value = item.get(key)
            if value is not None and _not_object(value):
                raise _not_an_object(value, f"{field}[{i}].{key}")


def _check_part(part: Mapping[str, Any], field: str, *, views: bool) -> None:
    if part.get("mboxes") is not None:
        _check_locations(part["mboxes"], f"{field}.mboxes", named=True)
    if part.get("pageLoad") is not None:
        page_load = _require_dict(part["pageLoad"], f"{field}.pageLoad")
        if page_load.get("parameters") is not None:
            _require_dict(page_load["parameters"], f"{field}.pageLoad.parameters")
    if views and part.get("views") is not None:
        _check_locations(part["views"], f"{field}.views", named=False)


def _check_request(request: Mapping[str, Any]) -> None:
    for key in _DICT_PARTS:
        value = request.get(key)
        if value is not None and _not_object(value):
            raise _not_an_object(value, f"request.{key}")
    request_id = request.get("requestId")
    if request_id is not None and not isinstance(request_id, str):
        raise InvalidRequestError("request.requestId", "must be a string")
    visitor = request.get("id")
    if visitor is not None and visitor.get("customerIds") is not None:
        customer_ids = visitor["customerIds"]
        if not isinstance(customer_ids, list):
            raise InvalidRequestError("request.id.customerIds", "must be a list")
        for i, item in enumerate(customer_ids):
            _require_dict(item, f"request.id.customerIds[{i}]")
    context = request.get("context")
    if context is not None:
        for key in ("address", "geo", "clientHints", "browser"):
            value = context.get(key)
            if value is not None and _not_object(value):
                raise _not_an_object(value, f"request.context.{key}")
    if request.get("execute") is not None:
        _check_part(request["execute"], "request.execute", views=False)
    if request.get("prefetch") is not None:
        _check_part(request["prefetch"], "request.prefetch", views=True)
    notifications = request.get("notifications")
    if notifications is not None:
        validate_notifications(notifications, "request.notifications")


def validate_notifications(notifications: Any, field: str) -> list[Mapping[str, Any]]:
    """Notifications must be a list of objects with an ``id``, a ``type`` and a ``timestamp``."""
    if not isinstance(notifications, list):
        raise InvalidRequestError(field, "must be a list")
    for i, item in enumerate(notifications):
        where = f"{field}[{i}]"
        _require_dict(item, where)
        if not isinstance(item.get("id"), str) or not item["id"]:
            raise InvalidRequestError(f"{where}.id", "must be a non-empty string")
        if item.get("type") not in ("display", "click"):
            raise InvalidRequestError(f"{where}.type", "must be 'display' or 'click'")
        stamp = item.get("timestamp")
        if isinstance(stamp, bool) or not isinstance(stamp, int | float):
            raise InvalidRequestError(f"{where}.timestamp", "must be a number (epoch ms)")
    return notifications


def validate_get_offers(options: Any) -> GetOffersOptions:
    """Check ``get_offers`` options; raises :class:`InvalidRequestError` naming the field."""
    raw = _require_dict(options, "options")
    request = _require_dict(raw.get("request"), "options.request")
    for key in _STRING_OPTIONS:
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            raise InvalidRequestError(f"options.{key}", "must be a string")
    for key in ("callback", "err_callback"):
        if raw.get(key) is not None and not callable(raw[key]):
            raise InvalidRequestError(f"options.{key}", "must be callable")
    session_id = raw.get("session_id")
    if session_id and not valid_session_id(session_id):
        raise InvalidRequestError(
            "options.session_id",
            "must be 1-128 printable ASCII characters other than space, '?' and '/'",
        )
    customer_ids = raw.get("customer_ids")
    if customer_ids is not None:
        if not isinstance(customer_ids, list):
            raise InvalidRequestError("options.customer_ids", "must be a list")
        for i, item in enumerate(customer_ids):
            _require_dict(item, f"options.customer_ids[{i}]")
    method = raw.get("decisioning_method")
    if method is not None and (
        not isinstance(method, str) or method not in {m.value for m in DecisioningMethod}
    ):
        raise InvalidRequestError(
            "options.decisioning_method",
            "must be one of 'on-device', 'server-side', 'hybrid'",
        )
    _check_request(request)
    return GetOffersOptions(raw, request)
