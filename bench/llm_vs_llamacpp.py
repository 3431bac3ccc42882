#!/usr/bin/env python3
"""Lucid's LLM engine vs llama.cpp (llama-cpp-python, pinned) on the same GGUF, same thread
count, one run each: prefill tok/s (a 512-token prompt) and decode tok/s (128 tokens after a
short prompt), at 1 and 2 threads; ratios Lucid / llama.cpp printed (goals: decode >= 0.8x,
prefill >= 0.7x). Lucid runs `lucid-llm llm bench` (its own timing of PromptLogits and of the
decode steps, docs/llm.md "Benchmark"); llama.cpp is timed here around Llama.eval.
llama.cpp uses its defaults (f16 KV cache) and n_batch 512.

Run: .venv/bin/python bench/llm_vs_llamacpp.py [--lucid build-bench/src/cli/lucid-llm] [--quick]
  --quick: CI smoke (64-token prefill, 16 decode tokens, 1 thread).
The model: .cache/models/smollm2-135m-instruct-q4_1.gguf (tests/llm/fetch_smollm2.py); absent: a
message and exit 0."""
import argparse
import glob
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / ".cache/models/smollm2-135m-instruct-q4_1.gguf"
TEXT = "The quick brown fox jumps over the lazy dog. "


def lucid(binary, model, threads, prompt_tokens, gen_tokens):
    out = subprocess.run([binary, "llm", "bench", str(model), "--threads", str(threads), "--prompt-tokens",
                          str(prompt_tokens), "--gen-tokens", str(gen_tokens)], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out)


def llama(model, threads, prompt_tokens, gen_tokens):
    from llama_cpp import Llama
    llm = Llama(model_path=str(model), n_ctx=max(1024, prompt_tokens + 16), n_batch=512, n_ubatch=512,
                n_threads=threads, n_threads_batch=threads, verbose=False)
    ids = []
    while len(ids) < prompt_tokens:
        ids += llm.tokenize(TEXT.encode(), add_bos=False, special=False)
    ids = ids[:prompt_tokens]
    llm.reset()
    t0 = time.perf_counter()
    llm.eval(ids)
    prefill_s = time.perf_counter() - t0
    # Decode: 8 prompt tokens, the first token, then gen_tokens timed single-token steps.
    llm.reset()
    llm.eval(ids[:8])
    tok = int(np.argmax(llm.scores[llm.n_tokens - 1]))
    t0 = time.perf_counter()
    for _ in range(gen_tokens):
        llm.eval([tok])
        tok = int(np.argmax(llm.scores[llm.n_tokens - 1]))
    decode_s = time.perf_counter() - t0
    return dict(prefill_tok_s=prompt_tokens / prefill_s, decode_tok_s=gen_tokens / decode_s)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lucid", help="lucid-llm binary (default: the newest build*/src/cli/lucid-llm)")
    ap.add_argument("--model", default=str(MODEL))
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    model = Path(a.model)
    if not model.exists():
        print(f"llm_vs_llamacpp: {model} is absent (run .venv/bin/python tests/llm/fetch_smollm2.py): skipped")
        return 0
    binary = a.lucid
    if binary is None:
        found = sorted(glob.glob(str(REPO / "build*/src/cli/lucid-llm")), key=os.path.getmtime, reverse=True)
        if not found:
            sys.exit("llm_vs_llamacpp: lucid-llm not built (scripts/build lucid-llm)")
        binary = found[0]
    prompt_tokens, gen_tokens, threads = (64, 16, [1]) if a.quick else (512, 128, [1, 2])
    print(f"SmolLM2-135M-Instruct Q4_1, {model.name}; prefill {prompt_tokens} tokens, decode {gen_tokens} tokens; "
          f"one run each")
    print(f"{'threads':>7} {'':8} {'lucid tok/s':>12} {'llama.cpp tok/s':>16} {'ratio':>7} {'goal':>6}")
    for t in threads:
        ours = lucid(binary, model, t, prompt_tokens, gen_tokens)
        theirs = llama(model, t, prompt_tokens, gen_tokens)
        for kind, goal in (("prefill", 0.7), ("decode", 0.8)):
            o, l = ours[f"{kind}_tok_s"], theirs[f"{kind}_tok_s"]
            print(f"{t:7} {kind:8} {o:12.1f} {l:16.1f} {o / l:6.2f}x {goal:5.1f}x")
    print(f"lucid path: {ours['path']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
