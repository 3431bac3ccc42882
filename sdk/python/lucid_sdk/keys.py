"""secp256k1 keys, Ethereum-compatible addresses and Lucid signatures (docs/formats/signatures.md).

A Lucid key is an Ethereum key: :meth:`PrivateKey.from_eth_account` takes an ``eth-account``
``LocalAccount`` and the address is the same. Signatures are 65 bytes ``r || s || v`` with
``v`` in {0, 1} and low ``s``, over :func:`lucid_sdk.hashing.signing_digest` of a tagged hash.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from eth_keys.datatypes import PrivateKey as _EthPrivateKey
from eth_keys.datatypes import Signature as _EthSignature

from .hashing import keccak256, signing_digest

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
HALF_N = SECP256K1_N // 2


class SignatureError(ValueError):
    """A signature is malformed or does not recover a public key."""


def address_from_public_key(xy: bytes) -> bytes:
    """``keccak256(x || y)[12:]`` for a 64-byte uncompressed public key without the 0x04 prefix."""
    if len(xy) != 64:
        raise ValueError(f"public key must be 64 bytes (x || y), got {len(xy)}")
    return keccak256(xy)[12:]


def address_to_hex(address: bytes) -> str:
    """Lower-case ``0x`` hex of a 20-byte address (what the node's API prints)."""
    return "0x" + address.hex()


def address_to_checksum_hex(address: bytes) -> str:
    """EIP-55 mixed-case form of a 20-byte address."""
    low = address.hex()
    h = keccak256(low.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if c.isalpha() and int(h[i], 16) >= 8 else c for i, c in enumerate(low))


def address_from_hex(text: str) -> bytes:
    """Parses ``0x``-prefixed or bare hex, either case (the checksum is not enforced)."""
    t = text[2:] if text.startswith(("0x", "0X")) else text
    b = bytes.fromhex(t)
    if len(b) != 20:
        raise ValueError(f"address must be 20 bytes, got {len(b)}")
    return b


def recover_address(digest: bytes, signature: bytes) -> bytes:
    """Recovers the signer's address from a 32-byte digest and a 65-byte signature.

    Follows the C++ rules: v of 27/28 is read as 0/1, any other v is refused; r, s must be in
    ``[1, n)`` and s must be low (``s <= n/2``); a signature that recovers no point is refused.
    Raises :class:`SignatureError`.
    """
    if len(digest) != 32:
        raise SignatureError("digest must be 32 bytes")
    if len(signature) != 65:
        raise SignatureError(f"signature must be 65 bytes, got {len(signature)}")
    r = int.from_bytes(signature[0:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    if v in (27, 28):
        v -= 27
    if v not in (0, 1):
        raise SignatureError(f"recovery id {signature[64]} is not 0/1 (or 27/28)")
    if not (1 <= r < SECP256K1_N) or not (1 <= s < SECP256K1_N):
        raise SignatureError("r or s out of range")
    if s > HALF_N:
        raise SignatureError("high s")
    try:
        pub = _EthSignature(vrs=(v, r, s)).recover_public_key_from_msg_hash(digest)
    except Exception as e:  # eth-keys raises BadSignature / ValidationError / ValueError
        raise SignatureError(f"signature recovers no public key: {e}") from e
    return address_from_public_key(pub.to_bytes())


@dataclass(frozen=True)
class PrivateKey:
    """A secp256k1 private key (32 bytes, ``1 <= k < n``)."""

    secret: bytes

    def __post_init__(self) -> None:
        if len(self.secret) != 32:
            raise ValueError("private key must be 32 bytes")
        k = int.from_bytes(self.secret, "big")
        if not 1 <= k < SECP256K1_N:
            raise ValueError("private key out of range")

    def __repr__(self) -> str:  # never print the secret
        return f"PrivateKey(address={address_to_hex(self.address)})"

    @classmethod
    def from_hex(cls, text: str) -> "PrivateKey":
        """From 64 hex characters, with or without ``0x``."""
        return cls(bytes.fromhex(text[2:] if text.startswith("0x") else text))

    @classmethod
    def generate(cls) -> "PrivateKey":
        """A fresh random key (``os.urandom``)."""
        while True:
            b = os.urandom(32)
            if 1 <= int.from_bytes(b, "big") < SECP256K1_N:
                return cls(b)

    @classmethod
    def from_seed(cls, seed: Union[str, bytes]) -> "PrivateKey":
        """Dev keys only: ``k = SHA-256(seed)``, hashed again until valid (``PrivateKey::FromSeed``).

        The devnet's funded accounts are ``from_seed("lucid-dev-key-0")``, ``...-1`` and so on.
        """
        k = hashlib.sha256(seed.encode() if isinstance(seed, str) else seed).digest()
        while not 1 <= int.from_bytes(k, "big") < SECP256K1_N:
            k = hashlib.sha256(k).digest()
        return cls(k)

    @classmethod
    def from_eth_account(cls, account: Any) -> "PrivateKey":
        """From an ``eth_account`` ``LocalAccount`` (``Account.create()``, ``Account.from_key(...)``)."""
        return cls(bytes(account.key))

    @classmethod
    def from_keystore(cls, home: Union[str, Path], name: str) -> "PrivateKey":
        """Loads ``<home>/keys/<name>.json`` as written by ``lucid keys new`` (plain JSON, ``secret`` hex)."""
        j = json.loads((Path(home) / "keys" / f"{name}.json").read_text())
        return cls.from_hex(j["secret"])

    @property
    def public_key(self) -> bytes:
        """Uncompressed public key ``x || y`` (64 bytes)."""
        return bytes(_EthPrivateKey(self.secret).public_key.to_bytes())

    @property
    def address(self) -> bytes:
        """The 20-byte Ethereum address of this key."""
        return address_from_public_key(self.public_key)

    @property
    def address_hex(self) -> str:
        """Lower-case ``0x`` hex of :attr:`address`."""
        return address_to_hex(self.address)

    def sign_digest(self, digest: bytes) -> bytes:
        """Signs a 32-byte digest: RFC 6979 ECDSA, low s, 65 bytes ``r || s || v`` with v in {0, 1}."""
        sig = _EthPrivateKey(self.secret).sign_msg_hash(digest)
        r, s, v = int(sig.r), int(sig.s), int(sig.v)
        if s > HALF_N:  # normalise (eth-keys already gives low s)
            s, v = SECP256K1_N - s, v ^ 1
        return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])

    def sign_hash(self, h: bytes) -> bytes:
        """Signs a Lucid tagged hash: the signature is over ``signing_digest(h)``."""
        return self.sign_digest(signing_digest(h))
