"""The ``artifact_cache`` option: the last good artifact, kept in a file across restarts.

Each accepted artifact is written as downloaded (a rules.bin stays obfuscated) to a
temporary file in the same directory, flushed to disk, then moved over the cache file
with :func:`os.replace`, so a reader (another process, or this one after a crash) sees
the old file or the new one, never a partial write.

The cache is only read when the CDN fails at start: a client loads it, becomes ready and
keeps polling. A file that cannot be read or does not decode is ignored with a warning.
"""

from __future__ import annotations

import contextlib
import logging
import os

__all__ = ["ArtifactCache"]

logger = logging.getLogger(__name__)


class ArtifactCache:
    """Reads and atomically writes one cache file. Never raises on I/O errors."""

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)

    def save(self, body: bytes) -> bool:
        """Replace the cache file with ``body``; False (and a warning) when it failed."""
        directory = os.path.dirname(self.path)
        prefix = f".{os.path.basename(self.path)}."
        try:
            os.makedirs(directory, exist_ok=True)
            import tempfile  # late: ~4 ms at import, only needed to write

            fd, temp_path = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=directory)
        except OSError as err:
            logger.warning("artifact_cache %s could not be written: %s", self.path, err)
            return False
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(body)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_path, self.path)
        except OSError as err:
            logger.warning("artifact_cache %s could not be written: %s", self.path, err)
            with contextlib.suppress(OSError):
                os.unlink(temp_path)
            return False
        return True

    def load(self) -> bytes | None:
        """The cached artifact bytes; None when there is no cache or it is unreadable."""
        try:
            with open(self.path, "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            logger.debug("artifact_cache %s does not exist yet", self.path)
        except OSError as err:
            logger.warning("artifact_cache %s could not be read, ignored: %s", self.path, err)
        return None
