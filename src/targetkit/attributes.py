"""Feature flags: ``get_attributes`` reads the json offers of mboxes as typed values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from targetkit.errors import InvalidRequestError

__all__ = ["Attributes", "attributes_request"]

_MISSING = object()


def attributes_request(mbox_names: Any, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """``get_offers`` options that execute each of ``mbox_names`` not already requested."""
    if not isinstance(mbox_names, list | tuple) or not all(
        isinstance(n, str) and n for n in mbox_names
    ):
        raise InvalidRequestError("mbox_names", "must be a list of non-empty strings")
    if options is not None and not isinstance(options, Mapping):
        raise InvalidRequestError("options", "must be an object")
    result = dict(options or {})
    request = dict(result.get("request") or {})
    execute = dict(request.get("execute") or {})
    prefetch = request.get("prefetch") or {}
    requested = {
        m.get("name")
        for part in (execute, prefetch)
        if isinstance(part, Mapping)
        for m in (part.get("mboxes") or ())
        if isinstance(m, Mapping)
    }
    mboxes = list(execute.get("mboxes") or ())
    next_index = len(mboxes)
    for name in mbox_names:
        if name not in requested:
            mboxes.append({"name": name, "index": next_index})
            next_index += 1
    execute["mboxes"] = mboxes
    request["execute"] = execute
    result["request"] = request
    return result


def _index(response: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    indexed: dict[str, dict[str, Any]] = {}
    for part_name in ("prefetch", "execute"):
        part = response.get(part_name)
        if not isinstance(part, Mapping):
            continue
        for mbox in part.get("mboxes") or ():
            if not isinstance(mbox, Mapping):
                continue
            for option in mbox.get("options") or ():
                content = option.get("content") if isinstance(option, Mapping) else None
                if option.get("type") == "json" and isinstance(content, Mapping):
                    indexed.setdefault(mbox.get("name", ""), {}).update(content)
    return indexed


class Attributes:
    """The json offer attributes of a ``get_offers`` result, by mbox and key."""

    def __init__(self, offers: Mapping[str, Any]) -> None:
        self._offers = offers
        response = offers.get("response")
        self._indexed = _index(response if isinstance(response, Mapping) else {})

    def get_value(self, mbox: str, key: str, default: Any = _MISSING) -> Any:
        """The value of ``key`` in ``mbox``'s json offer.

        Without a default, a missing attribute raises :class:`KeyError` (the Adobe SDK
        returned an error object instead; raising is what Python code expects).
        """
        values = self._indexed.get(mbox)
        if values is None or key not in values:
            if default is _MISSING:
                raise KeyError(f"attribute {key!r} does not exist for mbox {mbox!r}")
            return default
        return values[key]

    def get_bool(self, mbox: str, key: str, default: bool = False) -> bool:
        """A boolean attribute; ``default`` when missing or not a boolean."""
        value = self.get_value(mbox, key, default)
        return value if isinstance(value, bool) else default

    def get_str(self, mbox: str, key: str, default: str = "") -> str:
        """A string attribute; ``default`` when missing or not a string."""
        value = self.get_value(mbox, key, default)
        return value if isinstance(value, str) else default

    def get_int(self, mbox: str, key: str, default: int = 0) -> int:
        value = self.get_value(mbox, key, default)
        if isinstance(value, bool):
            return default
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return default

    def get_float(self, mbox: str, key: str, default: float = 0.0) -> float:
        value = self.get_value(mbox, key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return default
        return float(value)

    def as_object(self, mbox: str | None = None) -> dict[str, Any]:
        """All attributes (by mbox), or one mbox's attributes."""
        if mbox is None:
            return {name: dict(values) for name, values in self._indexed.items()}
        return dict(self._indexed.get(mbox, {}))

    def get_response(self) -> Mapping[str, Any]:
        """The whole ``get_offers`` result the attributes came from."""
        return self._offers
