"""A local emulator of the Adobe Target edge: ``targetkit serve`` and ``targetkit demo``.

It serves an artifact on the CDN paths (``rules.json`` and an obfuscated ``rules.bin``,
with strong ETags and 304s), answers ``POST /rest/v1/delivery`` with targetkit's own
decisioning engine over the same artifact, looks up geo by IP, and injects faults on
demand. Starlette and uvicorn are imported only when a server is built, so importing
``targetkit`` stays fast.

Entry points: :class:`EmulatorConfig`, :func:`targetkit.serve.app.create_app`,
:func:`targetkit.serve.server.run` (blocking, Ctrl-C stops it) and
:class:`targetkit.serve.server.BackgroundEmulator` (a thread, for demos and tests).
"""

from targetkit.serve.config import (
    DEFAULT_LOCATION_HINT,
    DEMO_CLIENT,
    DEMO_ORGANIZATION_ID,
    EmulatorConfig,
)

__all__ = ["DEFAULT_LOCATION_HINT", "DEMO_CLIENT", "DEMO_ORGANIZATION_ID", "EmulatorConfig"]
