"""The ``logger`` option: forwarding targetkit's log records to an Adobe-style logger.

targetkit logs through ``logging.getLogger("targetkit.…")`` and never sets levels. The
Adobe SDKs instead take a ``logger`` object with ``debug`` and ``error`` methods; when
one is given, a handler on the ``targetkit`` logger passes each record to it (``debug``
for DEBUG and INFO, ``error`` for WARNING and above, or the matching method when the
object has one). The handler is removed when the client closes.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["ForwardingHandler", "attach", "detach"]

ROOT = "targetkit"


class ForwardingHandler(logging.Handler):
    """Passes formatted records to an object with ``debug``/``error`` methods."""

    def __init__(self, target: Any) -> None:
        super().__init__(logging.DEBUG)
        self._target = target

    def emit(self, record: logging.LogRecord) -> None:
        try:
            method = self._method_for(record.levelno)
            method(self.format(record))
        except Exception:
            self.handleError(record)

    def _method_for(self, level: int) -> Any:
        name = logging.getLevelName(level).lower()
        method = getattr(self._target, name, None)
        if callable(method):
            return method
        return self._target.error if level >= logging.WARNING else self._target.debug


def attach(target: Any) -> ForwardingHandler:
    handler = ForwardingHandler(target)
    logging.getLogger(ROOT).addHandler(handler)
    return handler


def detach(handler: ForwardingHandler) -> None:
    logging.getLogger(ROOT).removeHandler(handler)
