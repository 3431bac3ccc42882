#!/usr/bin/env python3
"""Server throughput of the node's OpenAI-compatible API (issue 8): N concurrent streaming
clients (the official `openai` client, unmodified) against a fresh `lucid devnet`; prints
total generated tok/s (completion tokens of all clients / wall time of the whole run) and
p50/p99 time to first token (request sent → first content chunk). Every answer is a settled,
signed receipt; the run checks that each stream ended with one.

  .venv/bin/python bench/llm_server_bench.py [--quick] [--clients 8] [--tokens 128] [--rounds 2]
      [--model PATH.gguf] [--lucid build/src/cli/lucid]

Default model: SmolLM2-135M-Instruct when tests/llm/fetch_smollm2.py fetched it; --quick (the
CI smoke) uses the tiny random-weight llama of tests/llm/make_llama_gguf.py and 16 tokens.
Nothing here reaches the network beyond 127.0.0.1."""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import openai

REPO = Path(__file__).resolve().parents[1]
SMOLLM2 = REPO / ".cache" / "models" / "smollm2-135m-instruct-q4_1.gguf"
PROMPTS = ["Write a short story about a robot learning to paint.",
           "Explain how photosynthesis works.",
           "List some tips for learning a new language.",
           "Describe the city of Paris to a visitor.",
           "What are the benefits of regular exercise?",
           "Explain what a blockchain is.",
           "Write a poem about the sea.",
           "How does a rainbow form?"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(xs, p):
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--tokens", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=None, help="requests per client")
    ap.add_argument("--model", default=None)
    ap.add_argument("--lucid", default=os.environ.get("LUCID_BIN", str(REPO / "build" / "src" / "cli" / "lucid")))
    a = ap.parse_args()
    tokens = a.tokens or (16 if a.quick else 128)
    rounds = a.rounds or (1 if a.quick else 2)
    tmp = Path(tempfile.mkdtemp(prefix="llm-bench-"))
    if a.model:
        model = Path(a.model)
    elif not a.quick and SMOLLM2.exists():
        model = SMOLLM2
    else:
        subprocess.run([sys.executable, str(REPO / "tests" / "llm" / "make_llama_gguf.py"), str(tmp)], check=True,
                       capture_output=True)
        model = tmp / "tiny_llama.gguf"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(tmp / "devnet.log", "wb")
    proc = subprocess.Popen([a.lucid, "--home", str(tmp / "home"), "--json", "devnet", "--http", f"127.0.0.1:{port}",
                             "--block-time", "200ms", "--no-tee"],
                            stdout=subprocess.PIPE, stderr=log)
    try:
        buf = ""
        while True:
            line = proc.stdout.readline().decode()
            if not line:
                raise SystemExit(f"devnet exited; see {tmp / 'devnet.log'}")
            buf += line
            try:
                json.loads(buf)
                break
            except json.JSONDecodeError:
                pass
        cli = [a.lucid, "--home", str(tmp / "home"), "--node", url]
        subprocess.run(cli + ["hub", "create", "bench"], check=True, capture_output=True)
        subprocess.run(cli + ["hub", "upload", "bench", str(model), "--version", "1.0"], check=True,
                       capture_output=True)
        client = openai.OpenAI(base_url=url + "/v1", api_key="lucid-dev-key", max_retries=0, timeout=600)
        # Warm-up: loads the model into the node's engine.
        client.chat.completions.create(model="bench@1.0", messages=[{"role": "user", "content": "hi"}], max_tokens=1)

        ttft, completion_tokens, receipts, errors = [], [0], [], []
        lock = threading.Lock()

        def one_client(i):
            for r in range(rounds):
                try:
                    start = time.perf_counter()
                    first = None
                    stream = client.chat.completions.create(
                        model="bench@1.0", stream=True, max_tokens=tokens, temperature=0.7, seed=100 * i + r,
                        messages=[{"role": "user", "content": PROMPTS[(i + r) % len(PROMPTS)]}])
                    last = None
                    for ch in stream:
                        if first is None and ch.choices and ch.choices[0].delta.content:
                            first = time.perf_counter() - start
                        last = ch
                    lucid = (last.model_extra or {}).get("lucid")
                    with lock:
                        ttft.append(first if first is not None else time.perf_counter() - start)
                        completion_tokens[0] += last.usage.completion_tokens
                        receipts.append(lucid["receipt_id"])
                except Exception as e:  # noqa: BLE001
                    with lock:
                        errors.append(repr(e))

        threads = [threading.Thread(target=one_client, args=(i,)) for i in range(a.clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        if errors:
            raise SystemExit(f"{len(errors)} requests failed: {errors[:3]}")
        print(f"model {model.name}, {a.clients} concurrent streaming clients x {rounds} requests, max_tokens {tokens}, "
              f"devnet node (1 engine thread, batches up to 8)")
        print(f"requests {len(receipts)} (each with a signed receipt), completion tokens {completion_tokens[0]}, "
              f"wall {wall:.2f} s")
        print(f"total throughput {completion_tokens[0] / wall:.1f} tok/s")
        print(f"time to first token: p50 {percentile(ttft, 50) * 1000:.0f} ms, p99 {percentile(ttft, 99) * 1000:.0f} ms"
              f" (min {min(ttft) * 1000:.0f}, max {max(ttft) * 1000:.0f})")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


if __name__ == "__main__":
    main()
