"""Hashes used by Lucid (docs/formats/protocol.md "Hashing and signing").

SHA-256 comes from :mod:`hashlib`, Keccak-256 (the original Keccak padding, not SHA3-256)
from pycryptodome. Nothing here calls the C++ code.
"""
from __future__ import annotations

import hashlib

from Crypto.Hash import keccak as _keccak

REQUEST_TAG = "lucid:request:v1"
RECEIPT_TAG = "lucid:receipt:v1"
TX_TAG = "lucid:tx:v1"
BLOCK_TAG = "lucid:block:v1"

_EIP191_PREFIX = b"\x19Ethereum Signed Message:\n32"


def sha256(data: bytes) -> bytes:
    """SHA-256 digest of ``data`` (32 bytes)."""
    return hashlib.sha256(data).digest()


def keccak256(data: bytes) -> bytes:
    """Keccak-256 digest of ``data`` (Ethereum's hash; 32 bytes)."""
    h = _keccak.new(digest_bits=256)
    h.update(data)
    return h.digest()


def tagged_sha256(tag: str, data: bytes) -> bytes:
    """``SHA-256(tag || 0x00 || data)``: the domain-separated hash of a canonical encoding."""
    return sha256(tag.encode("ascii") + b"\x00" + data)


def signing_digest(h: bytes) -> bytes:
    """``keccak256("\\x19Ethereum Signed Message:\\n32" || h)``: what every Lucid signature signs.

    This is EIP-191 ``personal_sign`` of the 32 raw bytes of ``h``, so an Ethereum wallet
    signs it as is.
    """
    if len(h) != 32:
        raise ValueError(f"signing digest takes a 32-byte hash, got {len(h)} bytes")
    return keccak256(_EIP191_PREFIX + h)
