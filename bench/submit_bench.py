#!/usr/bin/env python3
"""SubmitResult (vanilla) throughput and latency, solo vs a 4-validator CometBFT localnet on
this machine (issue 7). Runs bench/submit_bench (solo in process; comet through
broadcast_tx_sync to every validator's RPC) and prints the load shape, the measured figures
and their ratios to published figures for scale. The peer baseline, in the same run: the
same 4-validator localnet with CometBFT's own example app (abci-cli kvstore, installed by
./scripts/setup) taking "key=value" txs of the same size from the same senders: CometBFT's
ceiling on this machine, which no app behind it can exceed.
  bench/submit_bench.py [--txs N] [--senders S] [--validators V] [--no-kvstore] [--quick]
Needs .tools/bin/cometbft (./scripts/setup) and a build with lucid validator and submit_bench
($LUCID_BUILD_DIR, default build/). Loopback only."""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from localnet import Net  # noqa: E402

# For scale only (not measured here): CometBFT's QA report for v0.38 (200 nodes of which 175
# validators, saturation about 400 tx/s) and the often quoted Cosmos SDK figure.
PUBLISHED = {"CometBFT QA v0.38 (175 validators)": 400, "Cosmos SDK chains (often quoted)": 1800}
GOALS = {"solo": 5000, "comet": 1000}


def cpu_seconds(pid):
    """User + system CPU time of a running process (Linux /proc)."""
    if not pid:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(cmd):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=1800)
    if p.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def show(r):
    lat = r["latency_ms"]
    print(f"  {r['mode']:5}  {r['tx_per_s']:8.0f} tx/s   committed {r['committed']}/{r['submitted']} "
          f"(refused {r['refused']}) in {r['seconds']:.2f} s over {r['blocks']} blocks   "
          f"latency p50 {lat['p50']:.0f} ms  p90 {lat['p90']:.0f} ms  p99 {lat['p99']:.0f} ms  max {lat['max']:.0f} ms")
    print(f"         shape: {json.dumps(r['shape'])}")
    if r["first_refusal"]:
        print(f"         first refusal: {r['first_refusal'][:200]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--txs", type=int, default=10000)
    ap.add_argument("--senders", type=int, default=128)
    ap.add_argument("--validators", type=int, default=4)
    ap.add_argument("--base-ip", type=int, default=61)
    ap.add_argument("--quick", action="store_true", help="CI smoke: 2,048 txs")
    ap.add_argument("--no-kvstore", action="store_true",
                    help="skip the baseline: the same localnet running CometBFT's abci-cli kvstore")
    a = ap.parse_args()
    if a.quick:
        a.txs = 2048
    a.txs = a.txs // a.senders * a.senders  # each sender sends the same number
    build = REPO / os.environ.get("LUCID_BUILD_DIR", "build")
    bench = build / "bench" / "submit_bench"
    lucid = Path(os.environ.get("LUCID_BIN", build / "src" / "cli" / "lucid"))
    print(f"SubmitResult (vanilla) settlement: {a.txs} txs from {a.senders} senders, one in flight per sender; "
          f"machine: {os.cpu_count()} cores shared by every process")
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (other processes share the cores)")
    results = []
    solo = run([bench, "solo", "--txs", a.txs, "--senders", a.senders])
    results.append(solo)
    nets = {}
    for app in ("lucid", "kvstore"):
        if app == "kvstore" and a.no_kvstore:
            continue
        with tempfile.TemporaryDirectory(prefix="lucid-bench-net-") as tmp:
            accounts = run([bench, "accounts", "--senders", a.senders])
            net = Net(Path(tmp) / "net", n=a.validators, base_ip=a.base_ip, lucid=lucid, chain_id="lucid-bench", app=app)
            net.init(extra_accounts=[{"address": x, "balance": 10**15} for x in accounts])
            try:
                net.up(timeout=90)
                cmd = [bench, "comet", "--txs", a.txs, "--senders", a.senders, "--chain-id", net.chain_id,
                       "--rpc", ",".join(net.rpc(i) for i in range(net.n))]
                r = run(cmd + (["--kvstore"] if app == "kvstore" else []))
                heights = [net.height(i) for i in range(net.n)]
                cpu = {"cometbft": 0.0, "app": 0.0}
                for i in range(net.n):
                    cpu["cometbft"] += cpu_seconds(net.pid(f"comet-v{i}"))
                    cpu["app"] += cpu_seconds(net.pid(f"lucid-v{i}"))
            finally:
                net.down()
            r["shape"]["validators"] = a.validators
            r["shape"]["timeout_commit"] = net.timeout_commit
            r["cpu_s"] = cpu
            r["final_heights"] = heights
            nets[app] = r
            results.append(r)
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("Measured (this run):")
    for r in results:
        show(r)
        if "cpu_s" in r:
            n = max(1, r["committed"])
            print(f"         validators' final heights {r['final_heights']}; CPU over the network's life (all "
                  f"{a.validators}): cometbft {r['cpu_s']['cometbft']:.1f} s, {r['shape']['app']} {r['cpu_s']['app']:.1f} s "
                  f"= {1e3 * (r['cpu_s']['cometbft'] + r['cpu_s']['app']) / n:.2f} CPU ms per committed tx")
    comet = nets["lucid"]
    print("Ratios:")
    print(f"  localnet / solo: {comet['tx_per_s'] / solo['tx_per_s']:.2f}")
    if "kvstore" in nets:
        kv = nets["kvstore"]
        print(f"  Lucid localnet / CometBFT's own kvstore localnet (same machine, load, tx size): "
              f"{comet['tx_per_s'] / kv['tx_per_s']:.2f}x (kvstore {kv['tx_per_s']:.0f} tx/s)")
    for name, goal in GOALS.items():
        r = solo if name == "solo" else comet
        print(f"  {name} vs issue-7 goal {goal} tx/s: {r['tx_per_s'] / goal:.2f}x")
    for name, tps in PUBLISHED.items():
        print(f"  localnet vs {name} ~{tps} tx/s (published, not measured here): {comet['tx_per_s'] / tps:.2f}x")
    print(json.dumps({"results": results}))


if __name__ == "__main__":
    main()
