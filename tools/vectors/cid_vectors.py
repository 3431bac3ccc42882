#!/usr/bin/env python3
"""Writes tests/data/crypto/cid_vectors.json (content -> CIDv1 raw sha2-256 base32) using
the independent `multiformats` package. Content is given either as hex or, for large
inputs, as a pattern the test regenerates (byte i = (i * 31 + 7) % 251).
Run: .venv/bin/python tools/vectors/cid_vectors.py"""
import importlib.metadata
import json
import pathlib

from multiformats import CID, multihash


def cid_of(data):
    return str(CID("base32", 1, "raw", multihash.digest(data, "sha2-256")))


def pattern(n):
    return bytes((i * 31 + 7) % 251 for i in range(n))


def main():
    small = [b"", b"hello world", b"\x00", bytes(range(256)), b"lucid model bytes\n" * 100]
    vectors = [{"content_hex": d.hex(), "cid": cid_of(d)} for d in small]
    for n in (1 << 20, (1 << 20) + 1):
        vectors.append({"pattern_length": n, "cid": cid_of(pattern(n))})
    # Non-raw / non-sha256 CIDs that Lucid must refuse.
    rejected = {
        "dag_pb": str(CID("base32", 1, "dag-pb", multihash.digest(b"hello world", "sha2-256"))),
        "dag_cbor": str(CID("base32", 1, "dag-cbor", multihash.digest(b"hello world", "sha2-256"))),
        "sha2_512": str(CID("base32", 1, "raw", multihash.digest(b"hello world", "sha2-512"))),
        "base58_v1": str(CID("base58btc", 1, "raw", multihash.digest(b"hello world", "sha2-256"))),
        "v0": str(CID("base58btc", 0, "dag-pb", multihash.digest(b"hello world", "sha2-256"))),
        "base32_upper": CID("base32", 1, "raw", multihash.digest(b"hello world", "sha2-256")).encode("base32upper"),
    }
    out = {
        "generator": "tools/vectors/cid_vectors.py",
        "multiformats_version": importlib.metadata.version("multiformats"),
        "vectors": vectors,
        "rejected": rejected,
    }
    root = pathlib.Path(__file__).resolve().parents[2]
    (root / "tests/data/crypto/cid_vectors.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
