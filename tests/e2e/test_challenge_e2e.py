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
