#!/usr/bin/env python3
"""Writes tests/data/crypto/eth_account_vectors.json with addresses and RFC 6979
signatures produced by eth-account, so the C++ secp256k1 code is checked against an
independent implementation. Run: .venv/bin/python tools/vectors/eth_account_vectors.py"""
import hashlib
import importlib.metadata
import json
import pathlib

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

# Fixed keys: small, large (n-1), and sha256 of labels (as PrivateKey::FromSeed does).
KEYS = [
    (1).to_bytes(32, "big"),
    (2).to_bytes(32, "big"),
    (N - 1).to_bytes(32, "big"),
    bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"),
] + [hashlib.sha256(label.encode()).digest() for label in ("alice", "bob", "lucid-dev-0", "validator")]

MESSAGES = [
    bytes(32),
    hashlib.sha256(b"hello").digest(),
    bytes.fromhex("ff" * 32),
    keccak(b"lucid receipt"),
]


def sign_hash(account, digest):
    # eth-account renamed signHash -> unsafe_sign_hash; support both.
    fn = getattr(account, "unsafe_sign_hash", None) or getattr(account, "signHash")
    return fn(digest)


def rsv(signed):
    v = signed.v - 27 if signed.v >= 27 else signed.v
    return (signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big") + bytes([v])).hex()


def main():
    vectors = []
    for key in KEYS:
        account = Account.from_key(key)
        sigs = []
        for msg in MESSAGES:
            prefixed = keccak(b"\x19Ethereum Signed Message:\n32" + msg)
            personal = account.sign_message(encode_defunct(primitive=msg))
            assert personal.message_hash == prefixed
            sigs.append({
                "hash": msg.hex(),
                "signature": rsv(sign_hash(account, msg)),
                "personal_digest": prefixed.hex(),
                "personal_signature": rsv(personal),
            })
        vectors.append({"private_key": key.hex(), "address": account.address, "signatures": sigs})
    out = {
        "generator": "tools/vectors/eth_account_vectors.py",
        "eth_account_version": importlib.metadata.version("eth-account"),
        "keys": vectors,
    }
    root = pathlib.Path(__file__).resolve().parents[2]
    path = root / "tests/data/crypto/eth_account_vectors.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
