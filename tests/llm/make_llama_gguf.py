#!/usr/bin/env python3
"""Writes tiny random-weight llama-family GGUF models with the `gguf` package (pinned in
requirements-dev.txt) for tests/llm/engine_test.cc and tests/llm/parity.py.
Run: .venv/bin/python tests/llm/make_llama_gguf.py OUT_DIR

  tiny_llama.gguf  arch llama, 2 layers, n_embd 256, 4 heads (2 KV heads, GQA), ff 512,
                   tied embeddings (no output.weight), rope_freqs.weight (Llama 3.1-style
                   frequency factors), one weight type per matrix:
                   Q8_0, Q4_0, Q4_1, Q4_K, Q5_K, Q6_K, F16 (K-quants as random blocks).
  tiny_qwen2.gguf  arch qwen2 (NEOX RoPE, q/k/v biases), F32/BF16 weights, output.weight present,
                   linear RoPE scaling (factor 2).
Both carry a byte-level GPT-2 vocabulary: 256 byte tokens, <|endoftext|> (eos),
<|im_start|>, <|im_end|>, and a few merges; and a ChatML chat template."""
import os
import sys
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q

CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
          "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def vocabulary():
    b2u = bytes_to_unicode()
    tokens = [b2u[b] for b in range(256)]
    types = [1] * 256
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tokens += specials
    types += [3] * len(specials)
    merges = []
    for a, b in [("h", "e"), ("l", "l"), ("Ġ", "t"), ("i", "n"), ("Ġt", "he")]:
        merges.append(f"{a} {b}")
        tokens.append(a + b)
        types.append(1)
    return tokens, types, merges


def random_k_blocks(rng, qtype, rows, cols):
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    nb = rows * cols // block_size
    raw = rng.integers(0, 256, size=(nb, type_size), dtype=np.uint8)

    def half(lo, hi):
        return np.asarray(rng.uniform(lo, hi, nb), dtype=np.float16).view(np.uint8).reshape(nb, 2)
    if qtype == Q.Q4_K:
        raw[:, 0:2] = half(2e-5, 8e-5)
        raw[:, 2:4] = half(2e-5, 8e-5)
    elif qtype == Q.Q5_K:
        raw[:, 0:2] = half(1e-5, 4e-5)
        raw[:, 2:4] = half(1e-5, 4e-5)
    elif qtype == Q.Q6_K:
        raw[:, 208:210] = half(-2e-5, 2e-5)
    return raw.reshape(rows, cols // block_size * type_size)


def add_matrix(w, rng, name, rows, cols, qtype):
    if qtype in (Q.Q4_K, Q.Q5_K, Q.Q6_K):
        w.add_tensor(name, random_k_blocks(rng, qtype, rows, cols), raw_dtype=qtype)
        return
    data = rng.normal(0, 1 / np.sqrt(cols), size=(rows, cols)).astype(np.float32)
    if qtype == Q.F32:
        w.add_tensor(name, data)
    else:
        w.add_tensor(name, gguf.quants.quantize(data, qtype), raw_dtype=qtype)


def write(path, arch, seed, types, tied, bias, rope_scale, freq_factors=False):
    rng = np.random.default_rng(seed)
    n_embd, n_head, n_kv, n_ff, n_layer = 256, 4, 2, 512, 2
    head_dim = n_embd // n_head
    tokens, ttypes, merges = vocabulary()
    tmp = Path(f"{path}.{os.getpid()}.tmp")  # concurrent test processes: write, then rename
    w = gguf.GGUFWriter(str(tmp), arch=arch)
    w.add_name(f"tiny-{arch}")
    w.add_context_length(256)
    w.add_embedding_length(n_embd)
    w.add_block_count(n_layer)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    w.add_rope_dimension_count(head_dim)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    if rope_scale:
        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(rope_scale)
    w.add_vocab_size(len(tokens))
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("smollm" if arch == "llama" else "qwen2")
    w.add_token_list(tokens)
    w.add_token_types(ttypes)
    w.add_token_merges(merges)
    w.add_bos_token_id(256)
    w.add_eos_token_id(256)
    w.add_add_bos_token(False)
    w.add_chat_template(CHATML)
    add_matrix(w, rng, "token_embd.weight", len(tokens), n_embd, types["embd"])
    if not tied:
        add_matrix(w, rng, "output.weight", len(tokens), n_embd, types["output"])
    w.add_tensor("output_norm.weight", rng.uniform(0.8, 1.2, n_embd).astype(np.float32))
    if freq_factors:
        w.add_tensor("rope_freqs.weight", rng.uniform(1.0, 8.0, head_dim // 2).astype(np.float32))
    for l in range(n_layer):
        p = f"blk.{l}."
        w.add_tensor(p + "attn_norm.weight", rng.uniform(0.8, 1.2, n_embd).astype(np.float32))
        w.add_tensor(p + "ffn_norm.weight", rng.uniform(0.8, 1.2, n_embd).astype(np.float32))
        add_matrix(w, rng, p + "attn_q.weight", n_embd, n_embd, types["q"])
        add_matrix(w, rng, p + "attn_k.weight", n_kv * head_dim, n_embd, types["k"])
        add_matrix(w, rng, p + "attn_v.weight", n_kv * head_dim, n_embd, types["v"])
        add_matrix(w, rng, p + "attn_output.weight", n_embd, n_embd, types["o"])
        add_matrix(w, rng, p + "ffn_gate.weight", n_ff, n_embd, types["gate"])
        add_matrix(w, rng, p + "ffn_up.weight", n_ff, n_embd, types["up"])
        add_matrix(w, rng, p + "ffn_down.weight", n_embd, n_ff, types["down"])
        if bias:
            w.add_tensor(p + "attn_q.bias", rng.normal(0, 0.1, n_embd).astype(np.float32))
            w.add_tensor(p + "attn_k.bias", rng.normal(0, 0.1, n_kv * head_dim).astype(np.float32))
            w.add_tensor(p + "attn_v.bias", rng.normal(0, 0.1, n_kv * head_dim).astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    tmp.replace(path)


def main() -> int:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    write(out / "tiny_llama.gguf", "llama", 81,
          dict(embd=Q.Q8_0, q=Q.Q8_0, k=Q.Q4_0, v=Q.Q4_1, o=Q.Q4_K, gate=Q.Q5_K, up=Q.Q6_K, down=Q.F16),
          tied=True, bias=False, rope_scale=None, freq_factors=True)
    write(out / "tiny_qwen2.gguf", "qwen2", 82,
          dict(embd=Q.F32, output=Q.BF16, q=Q.F32, k=Q.BF16, v=Q.F16, o=Q.Q8_0, gate=Q.Q4_0, up=Q.Q4_1, down=Q.F32),
          tied=False, bias=True, rope_scale=2.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
