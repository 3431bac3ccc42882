"""Replay-mode disputes and conflict evidence on a devnet (docs/settlement.md).

- `lucid challenge` re-executes a replay receipt first: the devnet node's honest receipt
  reproduces, so nothing is sent (a false claim decided by a committee of standalone nodes is
  test_async_e2e.py's test_replay_challenge_decided_by_node_votes).
- `lucid report-conflict`: a second receipt for the same request with another output, signed
  with the devnet node's (public, dev) key, slashes the node by conflict_slash_bps and jails it;
  the reporter gets half; the same evidence again is refused; the jailed node's results are too.
"""
import json
import sys
from pathlib import Path

from conftest import Cli, Devnet, free_port
from test_async_e2e import balance, input_file, tx_fee

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "sdk" / "python"))
from lucid_sdk.encoding import Evidence, Mode, Receipt  # noqa: E402
from lucid_sdk.keys import PrivateKey  # noqa: E402

MODEL = "digits-mlp@1.0"
CONFLICT_SLASH_BPS = 5000


def test_challenge_reexecutes_first_and_sends_nothing_for_an_honest_receipt(tmp_path: Path):
    devnet = Devnet(tmp_path / "home", free_port(), block_time="1s")  # a 10 s challenge window
    devnet.start()
    try:
        honest_receipt_is_not_challenged(devnet, Cli(devnet), tmp_path)
    finally:
        devnet.stop()


def honest_receipt_is_not_challenged(devnet: Devnet, cli: Cli, tmp_path: Path):
    out = cli.json("infer", MODEL, "--input", input_file(tmp_path), "--mode", "replay")
    rid = out["receipt_id"]
    assert devnet.get(f"/chain/receipts/{rid}").json()["settlement"] == "pending"
    before = balance(devnet, cli.json("keys", "show", "dev0")["address"])
    same = cli.json("challenge", rid)
    assert same["challenged"] is False and same["output_hash"] == out["receipt"]["output_hash"], same
    assert devnet.get(f"/chain/challenges/{rid}").status_code == 404
    assert balance(devnet, cli.json("keys", "show", "dev0")["address"]) == before  # no bond, no tx
    # Not final while its window is open: `lucid verify` says so (only the settlement check fails).
    pending = cli.json("verify", rid, expect=1)
    failed = [c["name"] for c in pending["checks"] if not c["ok"]]
    assert failed == ["settlement"], pending
    final_height = devnet.get(f"/chain/receipts/{rid}").json()["final_height"]
    devnet.wait_height(final_height + 1, timeout=30)
    assert cli.json("verify", rid)["valid"] is True
    # A vanilla receipt cannot be challenged: the error says what to do instead.
    van = cli.json("infer", MODEL, "--input", input_file(tmp_path))
    p = cli.run("challenge", van["receipt_id"], expect=None)
    assert p.returncode != 0
    err = json.loads(p.stdout)["error"]
    assert "only replay receipts" in err["message"] and "--replay" in err["hint"], err


def test_conflicting_results_slash_and_jail_the_node_once(devnet: Devnet, cli: Cli, tmp_path: Path):
    out = cli.json("infer", MODEL, "--input", input_file(tmp_path))
    bundle_a = Path(out["bundle"])
    a = json.loads(bundle_a.read_text())
    # The same request answered with another output, signed with the devnet node's key (a public
    # dev key: this is what a lying node would send a client).
    rec = Receipt.decode(bytes.fromhex(a["receipt"]))
    rec.output_hash = bytes(32)
    key = PrivateKey.from_seed("lucid-devnet-node")
    assert "0x" + key.address.hex() == devnet.get("/status").json()["node"]["address"]
    b = dict(a)
    b["receipt"] = rec.encode().hex()
    b["receipt_id"] = rec.id().hex()
    b["evidence"] = Evidence(Mode.VANILLA, key.sign_hash(rec.id())).encode().hex()
    bundle_b = tmp_path / "b.json"
    bundle_b.write_text(json.dumps(b))

    node = "0x" + key.address.hex()
    stake0 = devnet.get(f"/chain/nodes/{node}").json()["stake"]
    reporter = cli.json("keys", "show", "dev1")["address"]
    r0 = balance(devnet, reporter)
    res = cli.json("report-conflict", bundle_a, bundle_b, key="dev1")
    slashed = stake0 * CONFLICT_SLASH_BPS // 10000
    assert res["jailed"] is True and res["stake"] == stake0 - slashed, res
    fee = tx_fee(devnet, res["height"], lambda t: t.get("type") == "report_conflict")
    assert balance(devnet, reporter) == r0 - fee + slashed // 2

    # Once only, in either order.
    again = cli.run("report-conflict", bundle_b, bundle_a, key="dev1", expect=None)
    assert again.returncode != 0 and "ALREADY_EXISTS" in again.stdout, again.stdout
    assert devnet.get(f"/chain/nodes/{node}").json()["stake"] == stake0 - slashed
    # A jailed node's results are refused: the inference does not settle.
    refused = cli.run("infer", MODEL, "--input", input_file(tmp_path), expect=None)
    assert refused.returncode != 0 and "NODE_JAILED" in refused.stdout + refused.stderr, refused.stdout


def test_honest_challenge_wins_and_the_lying_node_loses_stake(tmp_path: Path):
    """A node that lies: the devnet node's (public, dev) key signs a replay receipt with a wrong
    output for dev0's request and settles it (built with the Python SDK's encoders). dev0 runs
    `lucid challenge`: its local re-execution differs, the three standalone replay nodes of the
    committee re-execute and vote the true output, and the challenge is decided for dev0: the node
    loses replay_slash_bps of its stake, half to dev0; dev0's bond and the held fee come back."""
    from lucid_sdk.cid import parse_cid
    from lucid_sdk.client import LucidClient
    from lucid_sdk.encoding import InferenceRequest, SignedRequest, SubmitResultTx
    from lucid_sdk.tensor import hash_tensor_map
    from test_async_e2e import NodeProc

    devnet = Devnet(tmp_path / "home", free_port(), block_time="1s")  # a 10 s challenge window
    devnet.start()
    cli = Cli(devnet)
    members = []
    try:
        for key in ("dev1", "dev2", "dev3"):
            members.append(NodeProc(devnet, key, tmp_path / f"node-{key}.log", "--mode", "replay"))
        client = LucidClient(devnet.url)
        node_key, dev0 = PrivateKey.from_seed("lucid-devnet-node"), PrivateKey.from_seed("lucid-dev-key-0")
        node = "0x" + node_key.address.hex()
        challenger = "0x" + dev0.address.hex()
        inputs = json.loads(input_file(tmp_path).read_text())
        manifest = devnet.get(f"/chain/models/{MODEL}").json()["manifest"]
        req = InferenceRequest(chain_id=client.status()["chain_id"], requester=dev0.address,
                               model=parse_cid(manifest), mode=Mode.REPLAY, input_hash=hash_tensor_map(inputs),
                               max_fee=100, nonce=int(client.account(dev0.address)["request_nonce"]),
                               node=node_key.address)
        sr = SignedRequest(req, dev0.sign_hash(req.hash()))
        lie = Receipt(chain_id=req.chain_id, request_hash=req.hash(), model=req.model, input_hash=req.input_hash,
                      output_hash=bytes(32), mode=Mode.REPLAY, node=node_key.address,
                      engine="lucid-onnx/f32-canonical/1", fee=10)
        stake0 = devnet.get(f"/chain/nodes/{node}").json()["stake"]
        before = balance(devnet, challenger)
        client.send_tx(node_key, SubmitResultTx(sr, lie, Evidence(Mode.REPLAY, node_key.sign_hash(lie.id()))))
        rid = lie.id().hex()
        rec = devnet.get(f"/chain/receipts/{rid}").json()
        assert rec["settlement"] == "pending" and rec["held"] == 10 + 5, rec
        assert balance(devnet, challenger) == before - 15  # held from the requester

        bundle = tmp_path / "lie.json"
        bundle.write_text(json.dumps({"receipt_id": rid, "inputs": inputs}))
        out = cli.json("challenge", rid, "--bundle", bundle, key="dev0")
        c = out["challenge"]
        assert out["challenged"] is True and c["status"] == "challenger_won", out
        assert c["decided_output_hash"] == c["claimed_output_hash"] != lie.output_hash.hex()
        assert node not in c["committee"] and challenger not in c["committee"]
        slashed = stake0 * 5000 // 10000  # replay_slash_bps
        assert devnet.get(f"/chain/nodes/{node}").json()["stake"] == stake0 - slashed
        fee = tx_fee(devnet, c["height"], lambda t: t.get("type") == "challenge")
        # dev0: the held 15 and the bond back, plus half the node's slashed stake (the other half
        # is burned), less its tx fee.
        assert balance(devnet, challenger) == before - fee + slashed // 2
        rec = devnet.get(f"/chain/receipts/{rid}").json()
        assert rec["settlement"] == "overturned" and rec["held"] == 0 and rec["node_paid"] == 0
        # And `lucid verify` says so.
        report = cli.json("verify", rid, expect=1)
        assert [x["name"] for x in report["checks"] if not x["ok"]] == ["settlement"], report
    finally:
        for m in members:
            m.stop()
        devnet.stop()
