"""Canonical tensor bytes and named-tensor-set hashing (docs/formats/tensor.md), from the JSON view.

Tensors are given as the API's JSON: ``{"x": {"dtype": "float32", "shape": [1, 2], "data": [1.0, -2.0]}}``.
Hashes are always over canonical bytes, never over JSON.
"""
from __future__ import annotations

import math
import struct
from typing import Any, Dict, Mapping

from .encoding import Writer
from .hashing import sha256

DTYPES: Dict[str, int] = {"float32": 1, "uint8": 2, "int8": 3, "int32": 6, "int64": 7, "bool": 9}
_INT_RANGES = {"uint8": (0, 255, "B"), "int8": (-128, 127, "b"), "int32": (-(1 << 31), (1 << 31) - 1, "i"),
               "int64": (-(1 << 63), (1 << 63) - 1, "q")}
_FLT_MAX = 3.4028234663852886e38
MAX_RANK = 8
MAX_ELEMENTS = 1 << 28

TensorJson = Mapping[str, Any]


class TensorError(ValueError):
    """A JSON tensor that the C++ parser would refuse (message names the tensor)."""


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def tensor_bytes(name: str, t: TensorJson) -> bytes:
    """Canonical bytes of one JSON tensor: version, dtype, rank, u64 dims, little-endian data."""
    if not isinstance(t, Mapping):
        raise TensorError(f'tensor "{name}": expected an object with dtype, shape and data')
    for k in t:
        if k not in ("dtype", "shape", "data"):
            raise TensorError(f'tensor "{name}": unknown field "{k}"')
    dtype, shape, data = t.get("dtype"), t.get("shape"), t.get("data")
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise TensorError(f'tensor "{name}": unknown or missing dtype {dtype!r}')
    if not isinstance(shape, list) or not all(_is_int(d) and d >= 0 for d in shape):
        raise TensorError(f'tensor "{name}": shape must be a list of non-negative integers')
    if len(shape) > MAX_RANK:
        raise TensorError(f'tensor "{name}": rank {len(shape)} > {MAX_RANK}')
    count = 1
    for d in shape:
        if d > MAX_ELEMENTS:
            raise TensorError(f'tensor "{name}": dimension {d} over the limit')
        count *= d
        if count > MAX_ELEMENTS:
            raise TensorError(f'tensor "{name}": too many elements')
    if not isinstance(data, list) or len(data) != count:
        raise TensorError(f'tensor "{name}": data must be a list of {count} values')
    w = Writer().u8(1).u8(DTYPES[dtype]).u8(len(shape))
    for d in shape:
        w.u64(d)
    out = bytearray(w.bytes())
    if dtype == "float32":
        for i, v in enumerate(data):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise TensorError(f'tensor "{name}": data[{i}] is not a number')
            try:
                d = float(v)
            except OverflowError:
                raise TensorError(f'tensor "{name}": data[{i}] is out of range for float32') from None
            if not math.isfinite(d) or abs(d) > _FLT_MAX:
                raise TensorError(f'tensor "{name}": data[{i}] is out of range for float32')
            out += struct.pack("<f", d)  # round to nearest, as static_cast<float>
    elif dtype == "bool":
        for i, v in enumerate(data):
            if isinstance(v, bool):
                out.append(1 if v else 0)
            elif _is_int(v) and v in (0, 1):
                out.append(v)
            else:
                raise TensorError(f'tensor "{name}": data[{i}] (bool) must be true/false or 0/1')
    else:
        lo, hi, fmt = _INT_RANGES[dtype]
        for i, v in enumerate(data):
            if not _is_int(v) or not lo <= v <= hi:
                raise TensorError(f'tensor "{name}": data[{i}] is not an integer in the range of {dtype}')
            out += struct.pack("<" + fmt, v)
    return bytes(out)


def encode_tensor_map(tensors: Mapping[str, TensorJson]) -> bytes:
    """``u8 1 | u32 count | (str name | blob tensor)*`` in bytewise UTF-8 name order."""
    if not isinstance(tensors, Mapping):
        raise TensorError("a tensor set is an object of named tensors")
    names = sorted(tensors, key=lambda n: n.encode("utf-8"))
    w = Writer().u8(1).u32(len(names))
    for n in names:
        w.string(n).blob(tensor_bytes(n, tensors[n]))
    return w.bytes()


def hash_tensor_map(tensors: Mapping[str, TensorJson]) -> bytes:
    """``HashTensorMap``: SHA-256 of :func:`encode_tensor_map` (the receipt's input/output hash)."""
    return sha256(encode_tensor_map(tensors))
