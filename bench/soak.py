#!/usr/bin/env python3
"""Soak (issue 7): settle N vanilla SubmitResult receipts on the solo producer, in process
(bench/submit_bench soak), printing every K receipts the state size on disk (the RocksDB
folder), the process's RSS and the settlement rate, and at the end GetReceipt / ProveReceipt /
GetAccount latency (p50/p99) over random receipt ids and accounts.
  bench/soak.py [--receipts N] [--every K] [--senders S] [--quick]
--quick: 20,000 receipts, a line every 5,000 (CI's bench smoke). Needs a build with
submit_bench ($LUCID_BUILD_DIR, default build/). Loopback only: nothing leaves the process."""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def mib(b):
    return b / (1 << 20)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--receipts", type=int, default=1_000_000)
    ap.add_argument("--every", type=int, default=100_000)
    ap.add_argument("--senders", type=int, default=32)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if a.quick:
        a.receipts, a.every, a.queries = 20_000, 5_000, 500
    build = REPO / os.environ.get("LUCID_BUILD_DIR", "build")
    bench = build / "bench" / "submit_bench"
    print(f"soak: {a.receipts} vanilla receipts on the solo producer (200 ms blocks), {a.senders} senders; "
          f"machine: {os.cpu_count()} cores shared by every process")
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    t0 = time.time()
    cmd = [str(bench), "soak", "--receipts", str(a.receipts), "--report-every", str(a.every),
           "--senders", str(a.senders), "--queries", str(a.queries)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    last = None
    print(f"{'receipts':>10} {'height':>7} {'state MiB':>10} {'RSS MiB':>8} {'tx/s (interval)':>16} "
          f"{'tx/s (all)':>11} {'elapsed s':>10}  load")
    for line in p.stdout:
        r = json.loads(line)
        last = r
        if r.get("done"):
            break
        load = " ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"{r['receipts']:>10} {r['height']:>7} {mib(r['state_bytes']):>10.1f} {mib(r['rss_bytes']):>8.1f} "
              f"{r.get('tx_per_s_interval', r['tx_per_s_total']):>16.0f} {r['tx_per_s_total']:>11.0f} "
              f"{r['elapsed_s']:>10.1f}  {load}", flush=True)
    rc = p.wait()
    if last is None or not last.get("done"):
        raise SystemExit(f"soak: submit_bench failed ({rc})")
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"settled {last['receipts']} receipts (refused {last['refused']}) in {last['height']} blocks; "
          f"settlement {last['settle_s']:.0f} s ({last['tx_per_s_total']:.0f} tx/s), signing the load "
          f"{last['sign_s']:.0f} s, wall {time.time() - t0:.0f} s")
    print(f"state on disk {mib(last['state_bytes']):.1f} MiB "
          f"({last['state_bytes'] / max(1, last['receipts']):.0f} bytes/receipt), RSS {mib(last['rss_bytes']):.1f} MiB")
    print(f"query latency over {last['queries']} random ids (errors {last['query_errors']}):")
    for q in ("GetReceipt", "ProveReceipt", "GetAccount"):
        print(f"  {q:13} p50 {last[q]['p50_us']:8.1f} us   p99 {last[q]['p99_us']:8.1f} us")
    print(json.dumps(last))
    sys.exit(rc)


if __name__ == "__main__":
    main()
