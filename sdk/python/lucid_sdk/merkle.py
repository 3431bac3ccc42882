"""RFC 6962 / RFC 9162 Merkle trees with SHA-256 (docs/formats/merkle.md), written independently."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Sequence

from .hashing import sha256


class MerkleError(ValueError):
    """An inclusion proof that does not verify (shape problem or root mismatch)."""


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``."""
    return sha256(b"\x00" + data)


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return sha256(b"\x01" + left + right)


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def merkle_root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over leaves that already went through :func:`leaf_hash` (empty tree: SHA-256 of nothing)."""
    n = len(leaf_hashes)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return leaf_hashes[0]
    k = _split(n)
    return node_hash(merkle_root(leaf_hashes[:k]), merkle_root(leaf_hashes[k:]))


def audit_path(m: int, leaf_hashes: Sequence[bytes]) -> List[bytes]:
    """RFC 6962 ``PATH(m, D[n])``: siblings from the leaf upward."""
    n = len(leaf_hashes)
    if n <= 1:
        return []
    k = _split(n)
    if m < k:
        return audit_path(m, leaf_hashes[:k]) + [merkle_root(leaf_hashes[k:])]
    return audit_path(m - k, leaf_hashes[k:]) + [merkle_root(leaf_hashes[:k])]


@dataclass
class InclusionProof:
    """``{leaf_index, tree_size, path}`` as the API and result bundles carry it."""

    leaf_index: int
    tree_size: int
    path: List[bytes] = field(default_factory=list)

    @classmethod
    def from_json(cls, j: Any) -> "InclusionProof":
        """Parses the bundle/API JSON form; raises :class:`MerkleError` on a malformed proof."""
        if not isinstance(j, dict) or not all(k in j for k in ("leaf_index", "tree_size", "path")):
            raise MerkleError("inclusion proof must have leaf_index, tree_size and path")
        li, ts, path = j["leaf_index"], j["tree_size"], j["path"]
        for v in (li, ts):
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 1 << 64:
                raise MerkleError("leaf_index and tree_size must be unsigned integers")
        if not isinstance(path, list):
            raise MerkleError("proof path must be a list")
        hashes = []
        for h in path:
            if not isinstance(h, str):
                raise MerkleError("proof path entries must be hex strings")
            try:
                b = bytes.fromhex(h[2:] if h.startswith("0x") else h)
            except ValueError as e:
                raise MerkleError(f"proof path entry is not hex: {e}") from e
            if len(b) != 32:
                raise MerkleError("proof path entries must be 32 bytes")
            hashes.append(b)
        return cls(li, ts, hashes)

    def to_json(self) -> Dict[str, Any]:
        return {"leaf_index": self.leaf_index, "tree_size": self.tree_size, "path": [h.hex() for h in self.path]}


def verify_inclusion(leaf: bytes, proof: InclusionProof, root: bytes) -> None:
    """RFC 9162 §2.1.3.2: raises :class:`MerkleError` unless ``proof`` leads from ``leaf`` to ``root``.

    ``leaf`` is the leaf hash (already through :func:`leaf_hash`).
    """
    if proof.leaf_index >= proof.tree_size:
        raise MerkleError("index not below tree size")
    fn, sn, r = proof.leaf_index, proof.tree_size - 1, leaf
    for p in proof.path:
        if sn == 0:
            raise MerkleError("path too long")
        if fn & 1 == 1 or fn == sn:
            r = node_hash(p, r)
            if fn & 1 == 0:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise MerkleError("path too short")
    if r != root:
        raise MerkleError(f"computed root {r.hex()} does not match {root.hex()}")
