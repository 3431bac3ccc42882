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
A second test: a replay-mode workflow (fees held until the challenge window closes, then paid
to the unit), a feed posted with --tensor by a poster the owner added, and the refusals a user
meets (a stranger posting, a max fee below the price, unknown feeds and workflows).
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


def test_replay_workflow_added_poster_and_refusals(tmp_path: Path, forecast_model: Path):
    net = Devnet(tmp_path / "home", free_port(), block_time="1s", extra_args=["--no-tee"])
    net.start()
    try:
        cli = Cli(net)
        model = forecast_model / "forecast.onnx"
        cli.run("hub", "create", "forecast", key="dev0")
        cli.run("hub", "upload", "forecast", model, "--version", "1.0", "--price", PRICE, key="dev0")
        windows = json.loads((forecast_model / "feed.json").read_text())

        def tensor_arg(i):
            return "prices=" + ",".join(repr(v) for v in windows[i]["prices"]["data"])

        # dev2 creates the feed with --tensor; the value on chain is exactly the window posted.
        first = cli.json("feed", "post", "ticks", "--tensor", tensor_arg(0), key="dev2")
        shown = cli.json("feed", "show", "ticks")
        assert shown["value_tensors"] == windows[0] and shown["value_hash"] == first["value_hash"]
        assert shown["updated_height"] == first["height"] and shown["posters"] == []
        text = cli.run("feed", "show", "ticks", json_output=False).stdout
        assert "prices float32[1,16]" in text and shown["owner"] in text

        # A stranger may not post; the owner adds it as a poster, then it may.
        p = cli.run("feed", "post", "ticks", "--tensor", tensor_arg(1), key="dev1", expect=1)
        err = json.loads(p.stdout)["error"]
        assert "UNAUTHORIZED" in err["message"] and "lucid feed show ticks" in err["hint"]
        assert cli.json("feed", "show", "ticks")["updated_height"] == first["height"]  # unchanged
        dev1 = cli.json("keys", "show", "dev1")["address"]
        cli.json("feed", "post", "ticks", "--tensor", tensor_arg(1), "--poster", "dev1", key="dev2")
        assert [a.lower() for a in cli.json("feed", "show", "ticks")["posters"]] == [dev1.lower()]

        # Refusals: one JSON error document each, nothing created.
        for args, word in [
            (("workflow", "create", "forecast@1.0", "--feed", "ticks", "--every", 2, "--runs", 2, "--max-fee",
              PRICE - 1), "below the publisher price"),
            (("workflow", "create", "forecast@1.0", "--feed", "Bad Name", "--every", 2, "--runs", 2, "--max-fee",
              MAX_FEE), "INVALID_FIELD"),
            (("workflow", "create", "forecast@1.0", "--feed", "ticks", "--every", 0, "--runs", 2, "--max-fee",
              MAX_FEE), "every_blocks"),
            (("feed", "show", "nosuchfeed"), ""),
            (("query", "workflow", 999), ""),
        ]:
            p = cli.run(*args, key="dev3", expect=1)
            err = json.loads(p.stdout)["error"]
            assert word in err["message"], (args, err)
        assert "lucid feed post nosuchfeed" in cli.json("feed", "show", "nosuchfeed", expect=1)["error"]["hint"]

        # A replay-mode workflow, 2 runs every 2 blocks; dev1 (the added poster) posts each block.
        runs_n = 2
        owner_before, publisher_before = balance(cli, "dev3"), balance(cli, "dev0")
        wf = cli.json("workflow", "create", "forecast@1.0", "--feed", "ticks", "--every", EVERY, "--runs", runs_n,
                      "--max-fee", MAX_FEE, "--mode", "replay", key="dev3")
        created, last_run = wf["height"], wf["schedule"][-1]
        posts, i = [], 2
        while not posts or posts[-1][0] <= last_run:
            r = cli.json("feed", "post", "ticks", "--tensor", tensor_arg(i), key="dev1")
            posts.append((r["height"], i))
            i += 1

        params = net.get("/chain/genesis").json()["params"]
        window = params.get("settlement", {}).get("replay_challenge_blocks", 10)
        deadline = time.time() + 90
        while True:
            q = cli.json("query", "workflow", wf["workflow_id"])
            runs = q["runs_detail"]
            done = len(runs) == runs_n and all(r["status"] == "answered" for r in runs)
            if done and all(r["settlement"] == "final" for r in runs):
                break
            if done:  # answered, held until the challenge window closes
                for r in runs:
                    if r["settlement"] == "pending":
                        assert r["node_paid"] == 0 and r["publisher_paid"] == 0, r
            assert time.time() < deadline, json.dumps(runs, indent=1)
            time.sleep(0.5)

        assert [r["height"] for r in runs] == [created + EVERY * k for k in range(1, runs_n + 1)]
        node_fee = net.get("/status").json()["node"]["fee_per_inference"]
        for r in runs:
            assert r["assigned"].lower() == r["node"].lower()
            assert r["node_paid"] == node_fee and r["publisher_paid"] == PRICE, r
            rec = net.get(f"/chain/receipts/{r['receipt_id']}").json()
            assert rec["receipt"]["mode"] == "replay" and rec["final_height"] == r["answered_height"] + window
            value_index = max((h, i) for h, i in posts if h <= r["height"])[1]
            local_in = tmp_path / f"w{value_index}.json"
            local_in.write_text(json.dumps(windows[value_index]))
            local = cli.json("run", model, "--input", local_in)
            assert r["output_hash"] == local["output_hash"] and r["output"] == local["outputs"]

        block = net.get(f"/chain/blocks/{created}").json()
        raw = [t["raw"] for t in block["txs"] if t["result"]["hash"] == wf["tx"]]
        tx_fee = params["tx_fee_per_byte"] * (len(raw[0]) // 2)
        assert owner_before - balance(cli, "dev3") == tx_fee + runs_n * (node_fee + PRICE)
        assert balance(cli, "dev0") - publisher_before == runs_n * PRICE
    finally:
        net.stop()
