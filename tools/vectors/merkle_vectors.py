#!/usr/bin/env python3
"""Writes tests/data/crypto/merkle_vectors.json: RFC 6962 roots and audit paths over the
Certificate Transparency test leaves, from this independent Python implementation.
Run: python3 tools/vectors/merkle_vectors.py"""
import hashlib
import json
import pathlib

CT_LEAVES = [bytes.fromhex(h) for h in [
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f"]]


def sha(b):
    return hashlib.sha256(b).digest()


def mth(leaves):
    n = len(leaves)
    if n == 0:
        return sha(b"")
    if n == 1:
        return sha(b"\x00" + leaves[0])
    k = 1 << ((n - 1).bit_length() - 1)
    return sha(b"\x01" + mth(leaves[:k]) + mth(leaves[k:]))


def path(m, leaves):
    n = len(leaves)
    if n <= 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def main():
    out = {"generator": "tools/vectors/merkle_vectors.py",
           "leaves": [l.hex() for l in CT_LEAVES], "trees": []}
    for size in range(0, len(CT_LEAVES) + 1):
        leaves = CT_LEAVES[:size]
        out["trees"].append({
            "size": size,
            "root": mth(leaves).hex(),
            "paths": [[p.hex() for p in path(m, leaves)] for m in range(size)],
        })
    assert out["trees"][8]["root"] == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    root = pathlib.Path(__file__).resolve().parents[2]
    (root / "tests/data/crypto/merkle_vectors.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
