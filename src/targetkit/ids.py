"""Identifiers the SDK draws: request ids, notification ids, session ids, tntIds."""

from __future__ import annotations

import os
import threading
import uuid

__all__ = ["UuidSource", "new_uuid"]

#: Bytes drawn from the operating system at once by a UuidSource (256 UUIDs' worth).
_BLOCK_BYTES = 16 * 256

# Version 4 and the RFC 4122 variant, as bit masks over the 128-bit integer.
_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_SET = (0x4000 << 64) | (0x8000 << 48)


def new_uuid() -> str:
    """A random (version 4) UUID as a lower-case hex string with dashes."""
    return str(uuid.uuid4())


class UuidSource:
    """Version 4 UUID strings like :func:`new_uuid`, for the request path.

    ``uuid.uuid4()`` makes one ``os.urandom`` system call per id, ~10 µs on a busy
    machine and three per on-device decision (session id, request id, tntId). This draws
    the same kernel randomness in blocks and slices 16 bytes per id. Thread-safe. A
    forked child never reuses its parent's bytes: the block is dropped when the process
    id changes (and :meth:`reset` drops it from an at-fork hook).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._block = b""
        self._offset = 0
        self._pid = os.getpid()

    def reset(self) -> None:
        """Forget drawn bytes and locks (in a forked child: the parent may hold them)."""
        self._lock = threading.Lock()
        self._block = b""
        self._offset = 0
        self._pid = os.getpid()

    def __call__(self) -> str:
        with self._lock:
            offset = self._offset
            if offset + 16 > len(self._block) or self._pid != os.getpid():
                self._block = os.urandom(_BLOCK_BYTES)
                self._pid = os.getpid()
                offset = 0
            self._offset = offset + 16
            raw = self._block[offset : offset + 16]
        text = f"{(int.from_bytes(raw) & _CLEAR) | _SET:032x}"
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
