"""Scheduled workflows end to end (docs/settlement.md "Workflows"): the forecast model trained
by models/forecast/train.py is published on a devnet, a poster (dev2) posts the synthetic price
feed every block, and dev3 creates a workflow that runs the model on the feed every 2 blocks,
3 times. Checked against the chain and the local engine:
  - the runs happened at exactly created_height + 2, + 4, + 6;
  - each run's request was answered by its assigned node (the devnet's node);
  - the owner paid exactly the create tx's fee and, per run, the node fee + the publisher
    price (the rest of the prepaid escrow came back), to the unit;
  - each run's forecast is the engine's output (`lucid run`, same output hash) for the feed
    value at the run's height (the last value posted in a block <= that height).
"""
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import REPO, Cli, Devnet, free_port

TRAIN = REPO / "models" / "forecast" / "train.py"
PRICE = 7          # publisher price per inference
MAX_FEE = 100      # per run; node fee + price is far below: the rest must come back
EVERY, RUNS = 2, 3


def balance(cli: Cli, who: str) -> int:
    return cli.json("query", "account", who)["balance"]


@pytest.fixture()
def forecast_model(tmp_path):
    out = tmp_path / "forecast"
    p = subprocess.run([sys.executable, str(TRAIN), "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return out


def test_workflow_runs_on_schedule_with_exact_fees(tmp_path: Path, forecast_model: Path):
    # 1 s blocks: a run's request must be answered within EVERY blocks (its deadline).
    net = Devnet(tmp_path / "home", free_port(), block_time="1s", extra_args=["--no-tee"])
    net.start()
    try:
        run_workflow_scenario(net, Cli(net), tmp_path, forecast_model)
    finally:
        net.stop()


def run_workflow_scenario(net: Devnet, cli: Cli, tmp: Path, model_dir: Path):
    model = model_dir / "forecast.onnx"
    cli.run("hub", "create", "forecast", "--task", "time-series-forecasting", key="dev0")
    cli.run("hub", "upload", "forecast", model, "--version", "1.0", "--price", PRICE,
            "--test-vectors", model_dir / "forecast.vectors.json", key="dev0")
    windows = json.loads((model_dir / "feed.json").read_text())
    assert len(windows) >= 16

    # The feed exists before the workflow: dev2 creates and owns it.
    posts = []  # (height, index into windows)

    def post(i):
        path = tmp / f"window-{i}.json"
        path.write_text(json.dumps(windows[i]))
        r = cli.json("feed", "post", "prices", "--inputs", path, key="dev2")
        assert r["feed"] == "prices"
        posts.append((r["height"], i))

    post(0)
    shown = cli.json("feed", "show", "prices")
    assert shown["updated_height"] == posts[0][0]

    owner = "dev3"
    before = balance(cli, owner)
    wf = cli.json("workflow", "create", "forecast@1.0", "--feed", "prices", "--every", EVERY, "--runs", RUNS,
                  "--max-fee", MAX_FEE, key=owner)
    wf_id, created = wf["workflow_id"], wf["height"]
    assert wf["schedule"] == [created + EVERY * k for k in range(1, RUNS + 1)]
    last_run = created + EVERY * RUNS

    # The poster keeps posting a new window every block until after the last run.
    stop = threading.Event()
    errors = []

    def poster():
        i = 1
        try:
            while not stop.is_set() and i < len(windows):
                post(i)
                i += 1
                if posts[-1][0] > last_run:
                    return
        except Exception as e:  # reported by the main thread
            errors.append(e)

    t = threading.Thread(target=poster)
    t.start()
    t.join(timeout=120)
    stop.set()
    assert not errors, errors
    assert posts[-1][0] > last_run, f"posts stopped at block {posts[-1][0]}, before the last run at {last_run}"

    # Wait until every run's request is closed (answered or expired).
    deadline = time.time() + 60
    while True:
        q = cli.json("query", "workflow", wf_id)
        runs = q["runs_detail"]
        if len(runs) == RUNS and all(r["status"] != "pending" for r in runs):
            break
        assert time.time() < deadline, f"runs not closed in time: {json.dumps(runs, indent=1)}"
        time.sleep(0.5)

    # Runs at exactly created + 2, + 4, + 6.
    assert [r["height"] for r in runs] == [created + EVERY * k for k in range(1, RUNS + 1)]
    assert q["runs_done"] == RUNS and q["next_height"] == 0 and q["escrow"] == 0

    node_addr = net.get("/status").json()["node"]["address"]
    node_fee = net.get("/status").json()["node"]["fee_per_inference"]
    outputs = []
    for r in runs:
        assert r["status"] == "answered", json.dumps(r, indent=1)
        assert r["assigned"].lower() == node_addr.lower()
        assert r["node"].lower() == r["assigned"].lower()  # answered by the node it was assigned to
        assert r["fee"] == node_fee and r["node_paid"] == node_fee and r["publisher_paid"] == PRICE
        assert r["height"] < r["answered_height"] <= r["height"] + EVERY

        # The feed value at the run's height: the last post in a block <= that height.
        value_index = max((h, i) for h, i in posts if h <= r["height"])[1]
        local = cli.json("run", model, "--input", tmp / f"window-{value_index}.json")
        assert r["output_hash"] == local["output_hash"], (r, local)
        if r.get("output") is not None:
            assert r["output"] == local["outputs"]
        outputs.append(local["outputs"]["forecast"]["data"][0])
    # Each run saw a different window (the poster posts every block): three distinct forecasts.
    assert len(set(outputs)) == RUNS, outputs

    # Exactly the fees: the create tx's fee and (node fee + price) per run; the rest came back.
    genesis = net.get("/chain/genesis").json()
    per_byte = genesis["params"]["tx_fee_per_byte"]
    block = net.get(f"/chain/blocks/{created}").json()
    raw = [t["raw"] for t in block["txs"] if t["result"]["hash"] == wf["tx"]]
    assert len(raw) == 1
    tx_fee = per_byte * (len(raw[0]) // 2)
    after = balance(cli, owner)
    assert before - after == tx_fee + RUNS * (node_fee + PRICE), (before, after, tx_fee)

    # The text form names each run.
    text = cli.run("query", "workflow", wf_id, json_output=False).stdout
    for r in runs:
        assert r["request_id"] in text and r["receipt_id"] in text
