#!/usr/bin/env python3
"""Writes the tiny GGUF files of tests/llm/gguf_test.cc with the `gguf` package (pinned in
requirements-dev.txt), so the reader is checked against the format's reference writer and
the dequantizers against the package's own numpy dequantize functions.
Run: .venv/bin/python tests/llm/make_gguf.py OUT_DIR   (writes OUT_DIR/types.gguf, small.gguf)

types.gguf holds, for every supported tensor type T, a tensor "w.T" [rows 3 x cols 512]
(F16/BF16/Q8_0/Q4_0/Q4_1 quantized from random floats by gguf.quants.quantize; K-quants as
random blocks with finite fp16 scales) and "ref.T", the float32 values
gguf.quants.dequantize gives for it; and metadata of every GGUF value type."""
import os
import sys
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q

ROWS, COLS = 3, 512


def random_k_blocks(rng, qtype, n_blocks):
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
    def half(vals):
        return np.asarray(vals, dtype=np.float16).view(np.uint8).reshape(n_blocks, 2)
    if qtype in (Q.Q4_K, Q.Q5_K):
        raw[:, 0:2] = half(rng.uniform(-0.05, 0.05, n_blocks))   # d
        raw[:, 2:4] = half(rng.uniform(-0.05, 0.05, n_blocks))   # dmin
    elif qtype == Q.Q6_K:
        raw[:, 208:210] = half(rng.uniform(-0.05, 0.05, n_blocks))
    return raw


def main() -> int:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(8)
    tmp = out / f"types.gguf.{os.getpid()}.tmp"  # concurrent test processes: write, then rename
    w = gguf.GGUFWriter(str(tmp), arch="llama")
    w.add_uint8("t.u8", 200)
    w.add_int8("t.i8", -100)
    w.add_uint16("t.u16", 60000)
    w.add_int16("t.i16", -30000)
    w.add_uint32("t.u32", 4000000000)
    w.add_int32("t.i32", -2000000000)
    w.add_float32("t.f32", 0.15625)
    w.add_uint64("t.u64", 2**63 + 5)
    w.add_int64("t.i64", -(2**62))
    w.add_float64("t.f64", 1e300)
    w.add_bool("t.bool", True)
    w.add_string("t.str", "héllo")
    w.add_array("t.arr_i32", [1, -2, 3])
    w.add_array("t.arr_f32", [0.5, -1.25])
    w.add_array("t.arr_str", ["a", "", "ccc"])
    w.add_context_length(8192)
    for qtype in (Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q4_K, Q.Q5_K, Q.Q6_K):
        name = qtype.name
        if qtype in (Q.Q4_K, Q.Q5_K, Q.Q6_K):
            block_size, _ = gguf.GGML_QUANT_SIZES[qtype]
            raw = random_k_blocks(rng, qtype, ROWS * COLS // block_size).reshape(ROWS, -1)
        else:
            x = rng.standard_normal((ROWS, COLS)).astype(np.float32)
            x[0, :5] = [0.0, -0.0, 1e-6, 65504.0, -2.5]
            raw = x if qtype == Q.F32 else gguf.quants.quantize(x, qtype)
        ref = gguf.quants.dequantize(raw, qtype).astype(np.float32).reshape(ROWS, COLS)
        if qtype == Q.F32:
            w.add_tensor(f"w.{name}", raw)
        else:
            w.add_tensor(f"w.{name}", raw, raw_dtype=qtype)
        w.add_tensor(f"ref.{name}", ref)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(tmp, out / "types.gguf")
    write_small(out, rng)
    return 0


def write_small(out, rng):
    """small.gguf (~2 KB): a few metadata values and one 1-row tensor per type (fuzz seed)."""
    tmp = out / f"small.gguf.{os.getpid()}.tmp"
    w = gguf.GGUFWriter(str(tmp), arch="llama")
    w.add_uint32("t.u32", 7)
    w.add_array("t.arr_str", ["a", "bc"])
    w.add_array("t.arr_f32", [0.5])
    for qtype in (Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q4_K, Q.Q5_K, Q.Q6_K):
        block_size, _ = gguf.GGML_QUANT_SIZES[qtype]
        cols = 4 if block_size == 1 else block_size
        if qtype in (Q.Q4_K, Q.Q5_K, Q.Q6_K):
            w.add_tensor(qtype.name, random_k_blocks(rng, qtype, 1), raw_dtype=qtype)
        else:
            x = rng.standard_normal((1, cols)).astype(np.float32)
            w.add_tensor(qtype.name, x if qtype == Q.F32 else gguf.quants.quantize(x, qtype),
                         raw_dtype=None if qtype == Q.F32 else qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(tmp, out / "small.gguf")


if __name__ == "__main__":
    sys.exit(main())
