#!/usr/bin/env python3
"""Writes a copy of a GGUF file with every quantized tensor dequantized to F32
(tests/llm/parity.py's exact-weights comparison; docs/llm.md, "Parity with llama.cpp").

Same metadata (every key, in order; only general.file_type becomes 0, ALL_F32, since it
describes the tensor types), same tensor names, shapes and order. F32 tensors are copied
byte for byte; the others go through the `gguf` package's `gguf.quants.dequantize` (the same
formulas as Lucid's DequantizeRow and ggml's dequantize_row_*: Q8_0 q·d, Q4_1 q·d + m with
the product and the sum each rounded to float32). The script checks that each dequantized
value is the exact value the block encodes (float64 arithmetic on the same fields, for the
Q4_0/Q4_1/Q8_0 blocks; Q4_1's q·d + m is the only step that could round) and reports how
many are not, so "the same numbers the quantized file encodes" is measured, not assumed.

Run: .venv/bin/python tests/llm/dequantize_gguf.py IN.gguf OUT.gguf
"""
import argparse
import os
import sys
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q


def exact_values(raw: np.ndarray, qtype: Q) -> np.ndarray | None:
    """The encoded values in float64 (exact for these block types), or None if not checked."""
    if qtype not in (Q.Q4_0, Q.Q4_1, Q.Q8_0):
        return None
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    blocks = raw.reshape(-1, type_size)
    d = blocks[:, 0:2].copy().view(np.float16).astype(np.float64)
    if qtype == Q.Q8_0:
        q = blocks[:, 2:].copy().view(np.int8).astype(np.float64)
        return (q * d).reshape(-1)
    off = 4 if qtype == Q.Q4_1 else 2
    qs = blocks[:, off:off + block_size // 2]
    q = np.concatenate([qs & 0xF, qs >> 4], axis=1).astype(np.float64)
    if qtype == Q.Q4_0:
        return ((q - 8) * d).reshape(-1)
    m = blocks[:, 2:4].copy().view(np.float16).astype(np.float64)
    return (q * d + m).reshape(-1)


def convert(src: Path, dst: Path, quiet: bool = False) -> dict:
    reader = gguf.GGUFReader(str(src))
    arch = reader.fields[gguf.Keys.General.ARCHITECTURE].contents()
    tmp = dst.with_name(f"{dst.name}.{os.getpid()}.tmp")  # renamed into place when complete
    writer = gguf.GGUFWriter(str(tmp), arch=arch, endianess=reader.endianess)
    alignment = reader.fields.get(gguf.Keys.General.ALIGNMENT)
    if alignment is not None:
        writer.data_alignment = int(alignment.contents())
    for field in reader.fields.values():
        # GGUF.* are the reader's virtual fields; the writer writes general.architecture itself.
        if field.name.startswith("GGUF.") or field.name == gguf.Keys.General.ARCHITECTURE:
            continue
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        value = field.contents()
        if field.name == gguf.Keys.General.FILE_TYPE:
            value = int(gguf.LlamaFileType.ALL_F32)
        writer.add_key_value(field.name, value, vtype, sub_type=sub)

    stats = {"tensors": 0, "dequantized": 0, "values": 0, "checked": 0, "inexact": 0, "types": {}}
    for t in reader.tensors:
        shape = tuple(int(x) for x in reversed(t.shape.tolist()))  # numpy order: rows last-but-one
        writer.add_tensor_info(t.name, shape, np.dtype(np.float32), int(t.n_elements) * 4, raw_dtype=Q.F32)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for t in reader.tensors:
        qtype = Q(int(t.tensor_type))
        stats["types"][qtype.name] = stats["types"].get(qtype.name, 0) + 1
        stats["tensors"] += 1
        shape = tuple(int(x) for x in reversed(t.shape.tolist()))
        if qtype == Q.F32:
            data = np.asarray(t.data, dtype=np.float32).reshape(shape)
        else:
            raw = np.asarray(t.data)
            data = gguf.quants.dequantize(raw, qtype).astype(np.float32, copy=False).reshape(shape)
            stats["dequantized"] += 1
            ref = exact_values(raw, qtype)
            if ref is not None:
                stats["checked"] += ref.size
                stats["inexact"] += int(np.count_nonzero(data.reshape(-1).astype(np.float64) != ref))
        stats["values"] += data.size
        writer.write_tensor_data(np.ascontiguousarray(data))
    writer.close()
    os.replace(tmp, dst)
    if not quiet:
        types = ", ".join(f"{n} {k}" for k, n in sorted(stats["types"].items()))
        print(f"{dst}: {stats['tensors']} tensors ({types}), {stats['dequantized']} dequantized to F32, "
              f"{stats['values']} values, {dst.stat().st_size} bytes; {stats['checked']} dequantized values "
              f"checked against float64: {stats['inexact']} not exact")
    return stats


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", type=Path)
    ap.add_argument("output", type=Path)
    a = ap.parse_args()
    stats = convert(a.input, a.output)
    sys.exit(1 if stats["inexact"] else 0)


if __name__ == "__main__":
    main()
