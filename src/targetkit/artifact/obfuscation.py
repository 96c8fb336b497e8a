"""The ``rules.bin`` artifact format: JSON XOR-ed with a key derived from the organization id.

Layout (all sizes in bytes)::

    0..8    "PREFIX:VERSION", e.g. "ATOD:001"; VERSION (decimal) must be 1
    8..40   key, 32 characters
    40..    body: JSON UTF-8 bytes XOR-ed with the repeated UTF-8 bytes of organization_id + key

It is obfuscation, not encryption: it only keeps the rules unreadable without the id.
"""

from __future__ import annotations

import re
import string

import orjson

from targetkit.errors import DeobfuscationError

__all__ = [
    "HEADER_SIZE",
    "SUPPORTED_VERSION",
    "deobfuscate",
    "looks_obfuscated",
    "obfuscate",
    "wrong_organization_error",
]

HEADER_SIZE = 40
"""Size of the rules.bin header, in bytes."""

SUPPORTED_VERSION = 1
"""The only obfuscation version Target has published."""

_PREFIX = "ATOD"
_KEY_SIZE = HEADER_SIZE - 8
_KEY_ALPHABET = string.ascii_letters + string.digits
_HEADER_TAG = re.compile(rb"([A-Za-z0-9]+):([0-9]+)")


def looks_obfuscated(data: bytes | bytearray | memoryview) -> bool:
    """True when ``data`` starts like a rules.bin (a ``PREFIX:DIGITS`` tag, 40+ bytes).

    JSON can never start that way (its first byte is ``{``, ``[``, a quote, whitespace
    or part of a literal that a colon cannot follow), so this cleanly tells the two apart.
    """
    return len(data) >= HEADER_SIZE and _HEADER_TAG.fullmatch(bytes(data[:8])) is not None


def _xor_repeating(body: bytes | bytearray | memoryview, key: bytes) -> bytes:
    """``body`` XOR-ed with ``key`` repeated; big-int XOR runs in C, ~1 ms per MB."""
    size = len(body)
    if size == 0:
        return b""
    stream = (key * (size // len(key) + 1))[:size]
    mixed = int.from_bytes(body, "little") ^ int.from_bytes(stream, "little")
    return mixed.to_bytes(size, "little")


def _header_key(data: bytes | bytearray | memoryview) -> str:
    """Validate the header and return its key (as text, the way the Node SDK reads it)."""
    if len(data) < HEADER_SIZE:
        raise DeobfuscationError(
            f"rules.bin is {len(data)} bytes, shorter than its {HEADER_SIZE}-byte header"
        )
    match = _HEADER_TAG.fullmatch(bytes(data[:8]))
    if match is None:
        raise DeobfuscationError(
            f"rules.bin header does not start with PREFIX:VERSION (got {bytes(data[:8])!r})"
        )
    version = int(match.group(2))
    if version != SUPPORTED_VERSION:
        raise DeobfuscationError(
            f"rules.bin obfuscation version {version} is not supported "
            f"(this SDK reads version {SUPPORTED_VERSION})"
        )
    # Node decodes the header with a lenient UTF-8 decoder; "replace" mirrors that.
    return bytes(data[8:HEADER_SIZE]).decode("utf-8", "replace")


def deobfuscate(
    data: bytes | bytearray | memoryview,
    organization_id: str,
    *,
    check_json: bool = True,
) -> bytes:
    """Decode a rules.bin into its JSON bytes.

    With ``check_json`` (the default) the result is parsed once to prove it is UTF-8
    JSON; callers that parse it anyway pass ``False`` and must map their own parse
    failure to :class:`DeobfuscationError` (a wrong organization id yields garbage).

    Raises:
        DeobfuscationError: bad header, unsupported version, or (``check_json``) a result
            that is not UTF-8 JSON, which almost always means a wrong organization id.
    """
    key = _header_key(data)
    plain = _xor_repeating(memoryview(data)[HEADER_SIZE:], (organization_id + key).encode())
    if check_json:
        try:
            orjson.loads(plain)
        except orjson.JSONDecodeError as exc:
            raise wrong_organization_error(organization_id, exc) from exc
    return plain


def wrong_organization_error(organization_id: str, cause: Exception) -> DeobfuscationError:
    """The error for a rules.bin whose decoded body is not UTF-8 JSON."""
    return DeobfuscationError(
        f"rules.bin did not decode to UTF-8 JSON with organization id {organization_id!r}; "
        f"the organization id is probably wrong ({cause})"
    )


def obfuscate(json_bytes: bytes, organization_id: str, key: str | None = None) -> bytes:
    """Encode JSON bytes as a rules.bin (inverse of :func:`deobfuscate`).

    ``key`` must be 32 ASCII characters; when None a random alphanumeric key is drawn.

    Raises:
        ValueError: ``key`` is not 32 ASCII characters.
    """
    if key is None:
        import secrets  # late: hashlib/hmac cost ~4 ms at import

        key = "".join(secrets.choice(_KEY_ALPHABET) for _ in range(_KEY_SIZE))
    if len(key) != _KEY_SIZE or not key.isascii():
        raise ValueError(f"rules.bin key must be {_KEY_SIZE} ASCII characters, got {key!r}")
    header = f"{_PREFIX}:{SUPPORTED_VERSION:03d}{key}".encode("ascii")
    return header + _xor_repeating(json_bytes, (organization_id + key).encode())
