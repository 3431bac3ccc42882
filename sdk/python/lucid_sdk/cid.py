"""CIDv1 (raw codec, sha2-256) as Lucid uses it (docs/formats/cid.md), written independently."""
from __future__ import annotations

import base64

from .hashing import sha256

_PREFIX = bytes([0x01, 0x55, 0x12, 0x20])


class CidError(ValueError):
    """Text that is not a Lucid CID, or content that does not match its CID."""


def cid_from_digest(digest: bytes) -> str:
    """Text form (``bafkrei…``, 59 characters) of a 32-byte SHA-256 digest."""
    if len(digest) != 32:
        raise CidError("a CID digest is 32 bytes")
    return "b" + base64.b32encode(_PREFIX + digest).decode("ascii").lower().rstrip("=")


def cid_of(content: bytes) -> str:
    """CID text of ``content``."""
    return cid_from_digest(sha256(content))


def parse_cid(text: str) -> bytes:
    """Parses CID text to its 32-byte digest, refusing everything but the one canonical form."""
    if len(text) != 59 or not text.startswith("b"):
        raise CidError(f"{text!r} is not a base32 CIDv1 of 59 characters")
    body = text[1:]
    if body != body.lower() or any(c not in "abcdefghijklmnopqrstuvwxyz234567" for c in body):
        raise CidError(f"{text!r}: characters outside the lower-case base32 alphabet")
    try:
        raw = base64.b32decode(body.upper() + "=" * (-len(body) % 8))
    except Exception as e:  # binascii.Error
        raise CidError(f"{text!r}: {e}") from e
    if len(raw) != 36 or raw[:4] != _PREFIX:
        raise CidError(f"{text!r}: not CIDv1 raw sha2-256 with a 32-byte digest")
    if cid_from_digest(raw[4:]) != text:  # non-zero unused bits
        raise CidError(f"{text!r}: not the canonical text form")
    return raw[4:]


def check_cid(content: bytes, expected: str) -> None:
    """Raises :class:`CidError` unless ``SHA-256(content)`` is the digest of ``expected``."""
    got = cid_of(content)
    if got != expected:
        raise CidError(f"content does not match CID {expected}: received bytes have CID {got}")
