"""Async requests end to end on a devnet (docs/settlement.md "Async requests"): `lucid infer
--async` posts a RequestInference tx (max fee escrowed), the chain assigns a node, the node's
watcher answers it and the CLI prints the result fetched from the node and checked against the
receipt; balances exact to the unit. A request assigned to a registered node that does not run
expires at its deadline: the requester gets the escrow back and the node loses
async_miss_slash_bps = 1 % of its stake (burned: paying it to the requester would reward
requests a node cannot run in time). Pending requests survive a devnet restart and are then answered
or expired as before (the standalone `lucid node` watcher reads them over the devnet's API)."""
import json
import signal
import subprocess
import time
from pathlib import Path

import requests

from conftest import LUCID, Cli, Devnet, free_port

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "models" / "digits"
MODEL = "digits-mlp@1.0"  # a devnet demo model, price 5
PRICE = 5
MISS_SLASH_BPS = 100


class NodeProc:
    """A standalone `lucid node` (it registers itself when it starts)."""

    def __init__(self, devnet: Devnet, key: str, log: Path, *args):
        self.log = open(log, "ab")
        self.proc = subprocess.Popen(
            [str(LUCID), "--home", str(devnet.home), "--from", key, "node", "--chain", devnet.url,
             "--http", "127.0.0.1:0", *[str(a) for a in args]], stdout=subprocess.PIPE, stderr=self.log)
        line = self.proc.stdout.readline()
        assert line, f"lucid node exited {self.proc.wait(timeout=30)}; see {log}"
        self.ready = json.loads(line)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            assert self.proc.wait(timeout=30) == 0
        self.log.close()


def input_file(tmp_path: Path) -> Path:
    vectors = json.loads((MODELS / "mlp.vectors.json").read_text())
    path = tmp_path / "input.json"
    path.write_text(json.dumps(vectors[0]["inputs"]))
    return path


def balance(devnet: Devnet, address: str) -> int:
    return devnet.get(f"/chain/accounts/{address}").json()["balance"]


def tx_fee(devnet: Devnet, height: int, pick) -> int:
    """The fee of the one tx in block `height` that `pick(tx_json)` selects: its size in bytes
    times the genesis tx_fee_per_byte."""
    per_byte = devnet.get("/chain/genesis").json()["params"]["tx_fee_per_byte"]
    txs = [t for t in devnet.get(f"/chain/blocks/{height}").json()["txs"] if pick(t)]
    assert len(txs) == 1, txs
    return len(bytes.fromhex(txs[0]["raw"])) * per_byte


def request_fee(devnet: Devnet, request_id: str) -> int:
    r = devnet.get(f"/chain/requests/{request_id}").json()
    return tx_fee(devnet, r["created_height"],
                  lambda t: t.get("type") == "request_inference" and t["request_id"] == request_id)


def wait_status(devnet: Devnet, request_id: str, timeout=60) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = devnet.get(f"/chain/requests/{request_id}").json()
        if r["status"] != "pending":
            return r
        time.sleep(0.1)
    raise AssertionError(f"request {request_id} still pending after {timeout} s")


def test_async_request_answered(devnet: Devnet, cli: Cli, tmp_path: Path):
    dev1 = cli.json("keys", "show", "dev1")["address"]
    dev0 = cli.json("keys", "show", "dev0")["address"]  # the demo models' publisher
    node = devnet.info["node"]
    node_fee = devnet.get("/status").json()["node"]["fees"]["vanilla"]
    assert "replay" in cli.json("query", "node", node)["modes"]
    before = {a: balance(devnet, a) for a in (dev1, dev0, node)}

    out = cli.json("infer", MODEL, "--input", input_file(tmp_path), "--async", "--deadline-blocks", 30,
                   "--max-fee", 100, key="dev1")
    assert out["status"] == "answered" and out["assigned"] == node
    rid, receipt_id = out["request_id"], out["receipt_id"]
    # The outputs came from the node's API and hash to the receipt (the CLI checked); they are
    # the model's (its test vector) and what a direct inference answers.
    vectors = json.loads((MODELS / "mlp.vectors.json").read_text())
    got = out["outputs"]["probs"]["data"]
    want = vectors[0]["outputs"]["probs"]["data"]
    assert max(abs(a - b) for a, b in zip(got, want)) < 1e-5
    request = cli.json("query", "request", rid)
    assert request["status"] == "answered" and request["receipt_id"] == receipt_id
    assert request["assigned"] == node and request["workflow_id"] == 0
    assert request["request"]["max_fee"] == 100 and request["escrow"] == 0  # spent and refunded
    # Requester: its tx fee, then node fee + price out of the 100 escrowed, the rest refunded.
    fee = request_fee(devnet, rid)
    assert balance(devnet, dev1) == before[dev1] - fee - (node_fee + PRICE)
    assert balance(devnet, dev0) == before[dev0] + PRICE
    rec = devnet.get(f"/chain/receipts/{receipt_id}").json()
    assert rec["settlement"] == "final" and rec["held"] == 0 and rec["node_paid"] == node_fee
    submit_fee = tx_fee(devnet, rec["height"],
                        lambda t: t.get("type") == "submit_result" and t["receipt_id"] == receipt_id)
    assert balance(devnet, node) == before[node] + node_fee - submit_fee
    # Answered once: the node's watcher does not submit it again.
    assert len(devnet.get(f"/chain/nodes/{node}/pending").json()["requests"]) == 0

    direct = cli.json("infer", MODEL, "--input", input_file(tmp_path), key="dev2")
    assert direct["outputs"] == out["outputs"]
    assert direct["receipt"]["output_hash"] == out["output_hash"]

    report = cli.json("verify", receipt_id)
    assert report["valid"] is True
    text = cli.run("query", "request", rid, json_output=False).stdout
    assert f"request {rid}: answered" in text and receipt_id in text

    # replay mode: the same path; the payment is held for the challenge window.
    out = cli.json("infer", MODEL, "--input", input_file(tmp_path), "--async", "--mode", "replay", key="dev1")
    assert out["status"] == "answered" and out["outputs"] == direct["outputs"]
    rec = devnet.get(f"/chain/receipts/{out['receipt_id']}").json()
    assert rec["receipt"]["mode"] == "replay"
    assert rec["settlement"] in ("pending", "final") and rec["final_height"] == rec["height"] + 10
    if rec["settlement"] == "pending":
        assert rec["held"] == node_fee + PRICE


def test_async_request_expires_and_survives_restart(devnet: Devnet, cli: Cli, tmp_path: Path):
    dev1 = cli.json("keys", "show", "dev1")["address"]
    # dev3 registers as a node (stake 10000, vanilla) and stops: registered but not answering.
    idle = NodeProc(devnet, "dev3", tmp_path / "node-dev3.log")
    dev3 = idle.ready["node"]
    idle.stop()
    stake = cli.json("query", "node", "dev3")["stake"]
    assert stake == 10_000

    # 1. Expiry: escrow back, 1 % of the node's stake burned, exact to the unit.
    before = balance(devnet, dev1)
    p = cli.run("infer", MODEL, "--input", input_file(tmp_path), "--async", "--deadline-blocks", 5,
                "--assign", "dev3", "--max-fee", 40, key="dev1", expect=1)
    err = json.loads(p.stdout)["error"]
    assert "expired" in err["message"] and "query node" in err["hint"]
    rid = err["message"].split()[1]
    r = devnet.get(f"/chain/requests/{rid}").json()
    assert r["status"] == "expired" and r["assigned"] == dev3
    assert r["closed_height"] == r["request"]["deadline_height"]
    slashed = stake * MISS_SLASH_BPS // 10_000
    assert balance(devnet, dev1) == before - request_fee(devnet, rid)
    n = cli.json("query", "node", "dev3")
    assert (n["stake"], n["slashed"], n["missed_deadlines"], n["jailed"]) == (stake - slashed, slashed, 1, False)
    stake -= slashed

    # 2. Restart: two requests for dev3 posted, the devnet stopped before either closes.
    before = balance(devnet, dev1)
    later = cli.json("infer", MODEL, "--input", input_file(tmp_path), "--async", "--deadline-blocks", 90,
                     "--assign", "dev3", "--max-fee", 50, "--no-wait", key="dev1")
    soon = cli.json("infer", MODEL, "--input", input_file(tmp_path), "--async", "--deadline-blocks", 15,
                    "--assign", "dev3", "--max-fee", 30, "--no-wait", key="dev1")
    assert later["status"] == soon["status"] == "pending"
    pending = devnet.get(f"/chain/nodes/{dev3}/pending").json()["requests"]
    assert [q["id"] for q in pending] == [soon["request_id"], later["request_id"]]  # oldest deadline first
    fees = request_fee(devnet, later["request_id"]) + request_fee(devnet, soon["request_id"])
    devnet.stop()
    devnet.start()

    # The short one expires after the restart (dev3 is still down): refund and slash as before.
    r = wait_status(devnet, soon["request_id"])
    assert r["status"] == "expired" and r["closed_height"] == soon["deadline_height"]
    slashed2 = stake * MISS_SLASH_BPS // 10_000
    assert devnet.get(f"/chain/requests/{later['request_id']}").json()["status"] == "pending"
    assert balance(devnet, dev1) == before - fees - 50  # 30 escrowed and refunded, 50 held

    # dev3 comes back: its watcher finds the long one over the devnet's API and answers it.
    node = NodeProc(devnet, "dev3", tmp_path / "node-dev3-again.log")
    try:
        r = wait_status(devnet, later["request_id"])
        assert r["status"] == "answered", r
        rec = devnet.get(f"/chain/receipts/{r['receipt_id']}").json()
        assert rec["receipt"]["node"] == dev3 and rec["node_paid"] == 10
        outputs = requests.get(f"{node.ready['api']}/node/results/{r['receipt_id']}", timeout=30).json()
        assert outputs["receipt_id"] == r["receipt_id"] and "probs" in outputs["outputs"]
    finally:
        node.stop()
    # Paid node fee + price out of the 50 escrowed; the rest came back.
    assert balance(devnet, dev1) == before - fees - (10 + PRICE)
    n = cli.json("query", "node", "dev3")
    assert (n["stake"], n["slashed"], n["missed_deadlines"]) == (stake - slashed2, slashed + slashed2, 2)


def test_replay_challenge_decided_by_node_votes(tmp_path: Path):
    """A false challenge of a replay receipt: the committee (three standalone replay nodes,
    drawn by the chain) re-execute through their watchers and vote the node's output; the node
    wins the challenger's bond, exact to the unit."""
    devnet = Devnet(tmp_path / "home", free_port(), block_time="500ms")  # a 5 s challenge window
    devnet.start()
    cli = Cli(devnet)
    members = []
    try:
        for key in ("dev1", "dev2", "dev3"):
            members.append(NodeProc(devnet, key, tmp_path / f"node-{key}.log", "--mode", "vanilla,replay"))
        committee_nodes = {m.ready["node"] for m in members}
        node = devnet.info["node"]
        dev0 = cli.json("keys", "show", "dev0")["address"]  # requester, publisher and challenger here
        result = cli.json("infer", MODEL, "--input", input_file(tmp_path), "--mode", "replay", key="dev0")
        receipt_id = result["receipt_id"]
        rec = devnet.get(f"/chain/receipts/{receipt_id}").json()
        assert rec["settlement"] == "pending" and rec["held"] == 10 + PRICE
        before = {a: balance(devnet, a) for a in (dev0, node)}

        out = cli.json("challenge", receipt_id, "--claim", "ab" * 32, key="dev0")
        c = out["challenge"]
        assert c["status"] == "node_won", c
        assert set(c["committee"]) == committee_nodes
        assert {v["voter"] for v in c["votes"]} <= committee_nodes and len(c["votes"]) >= 2
        assert all(v["output_hash"] == rec["receipt"]["output_hash"] for v in c["votes"])
        bond = c["bond"]
        fee = tx_fee(devnet, c["height"], lambda t: t.get("type") == "challenge" and t["receipt_id"] == receipt_id)
        deadline = time.time() + 30
        while devnet.get(f"/chain/receipts/{receipt_id}").json()["settlement"] != "final":
            assert time.time() < deadline, "the receipt did not become final"
            time.sleep(0.2)
        # The challenger lost its bond to the node; the node was paid its fee and the
        # publisher (dev0 too) its price.
        assert balance(devnet, dev0) == before[dev0] - fee - bond + PRICE
        assert balance(devnet, node) == before[node] + bond + 10
    finally:
        for m in members:
            m.stop()
        devnet.stop()
