"""The 4-validator localnet (scripts/localnet.py) on 127.0.0.51-54: publish, infer (through
the inference node) and settle on all four; every validator's Lucid
header hashes are equal at every height (and equal to CometBFT's app_hash one height later);
with one validator stopped blocks and txs go on, and it catches up to the same app hash after
restart; a kill -9 of one `lucid validator` mid-blocks is recovered by the handshake replay;
invalid txs sent to every node are refused in CheckTx and never enter a block. (A proposal
holding an invalid tx is rejected by ProcessProposal: tests/consensus/abci_test.cc.)"""
import base64
import hashlib
import json
import signal
import subprocess
import time

import pytest

from conftest import LUCID, MODELS, Client, broadcast_raw, http_json, lucid_header_hash, make_net, requires_comet

pytestmark = requires_comet


@pytest.fixture()
def net(tmp_path):
    n = make_net(tmp_path, 4, 51)
    try:
        n.up(timeout=90)
        yield n
    finally:
        n.down()


def assert_same_history(net, nodes, upto):
    for h in range(1, upto + 1):
        hashes = {i: lucid_header_hash(net, i, h) for i in nodes}
        assert len(set(hashes.values())) == 1, (h, hashes)
        comet = http_json(f"{net.rpc(nodes[0])}/block?height={h + 1}")["result"]["block"]["header"]["app_hash"]
        assert comet.lower() == hashes[nodes[0]], h


def lucid_height(net, i):
    return http_json(f"{net.api(i)}/status", timeout=5)["height"]


def wait_lucid_height(net, i, h, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if lucid_height(net, i) >= h:
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"validator {i}: Lucid height {h} not reached")


def test_localnet(net):
    cli = Client(net)
    accounts = json.loads((net.root / "net.json").read_text())["accounts"]
    everyone = list(range(4))

    def transfer(amount, via, running):
        # The CLI takes the sender's nonce from the validator it talks to: let every running
        # validator commit the block before the next tx (they trail each other by a few ms).
        r = cli.json("tx", "transfer", accounts["bob"], amount, key="alice", node=via)
        assert r["deliver"]["code"] == 0, r
        for k in running:
            wait_lucid_height(net, k, r["height"])
        return r

    # Txs through every validator's API; all four apps agree on every block.
    for i in everyone:
        transfer(100 + i, i, everyone)
    top = max(lucid_height(net, i) for i in everyone)
    for i in everyone:
        wait_lucid_height(net, i, top)
    assert_same_history(net, everyone, top - 1)

    # Publish, infer, settle: a model published through validator 0, the inference node reading
    # validator 0 and submitting through its CometBFT RPC, the receipt settled on all four.
    cli.json("hub", "create", "digits", key="publisher", node=0)
    cli.json("hub", "upload", "digits", MODELS / "mlp.onnx", "--version", "1.0", "--test-vectors",
             MODELS / "mlp.vectors.json", key="publisher", node=0)
    net.start_node()
    deadline = time.time() + 60  # registered on chain (its RegisterNode tx committed)
    while not any(n["endpoint"] == net.node_api() for n in http_json(f"{net.api(0)}/chain/nodes")["nodes"]):
        assert time.time() < deadline, "the inference node did not register"
        time.sleep(0.2)
    host, port = net.node_api()[7:].rsplit(":", 1)
    net.wait_port(host, int(port), timeout=60)
    inp = net.root / "input.json"
    inp.write_text(json.dumps(json.loads((MODELS / "mlp.vectors.json").read_text())[0]["inputs"]))
    p = subprocess.run([str(LUCID), "--home", str(net.client_home), "--node", net.node_api(), "--from", "bob",
                        "--json", "infer", "digits@1.0", "--input", str(inp)], capture_output=True, text=True,
                       timeout=180)
    assert p.returncode == 0, p.stdout + p.stderr
    rid = json.loads(p.stdout)["receipt_id"]
    rec = http_json(f"{net.api(0)}/chain/receipts/{rid}")
    for i in everyone:
        wait_lucid_height(net, i, rec["height"])
        assert http_json(f"{net.api(i)}/chain/receipts/{rid}")["raw"] == rec["raw"]
    net.kill("node")

    # Invalid txs to every node: refused in CheckTx, never in a block.
    bad = [b"junk-" + bytes([i]) * 40 for i in everyone]
    for i in everyone:
        res = broadcast_raw(net, i, bad[i])["result"]
        assert res["code"] != 0 and res["codespace"] == "lucid", res
        p = cli.run("tx", "transfer", accounts["bob"], 10**16, key="alice", node=i, expect=1)
        assert "INSUFFICIENT_FUNDS" in p.stdout + p.stderr
    time.sleep(1.5)
    for i in everyone:
        for b in bad:
            assert "result" not in _tx(net, i, hashlib.sha256(b).hexdigest())

    # Stop validator 3 (both processes): 3 of 4 keep committing, txs still settle.
    net.stop(3)
    h_stop = net.height(0)
    for k in range(3):
        transfer(7, k, [0, 1, 2])
    net.wait_height(h_stop + 5, nodes=[0, 1, 2], timeout=60)
    # Restart: it catches up to the others' height and the same app hashes.
    net.start(3)
    target = net.height(0) + 2
    net.wait_height(target, nodes=everyone, timeout=90)
    wait_lucid_height(net, 3, target - 1)
    assert_same_history(net, everyone, target - 1)

    # kill -9 validator 2's app mid-blocks (its CometBFT stops with it); restart both: the
    # handshake replays and it rejoins with the same app hash.
    net.kill("lucid-v2", signal.SIGKILL)
    net.kill("comet-v2")
    transfer(9, 0, [0, 1, 3])
    net.start(2)
    target = net.height(0) + 3
    net.wait_height(target, nodes=everyone, timeout=90)
    wait_lucid_height(net, 2, target - 1)
    assert_same_history(net, everyone, target - 1)
    info = http_json(f"{net.rpc(2)}/abci_info")["result"]["response"]
    last = int(info["last_block_height"])
    app_hash = base64.b64decode(info["last_block_app_hash"]).hex()
    assert app_hash == lucid_header_hash(net, 0, last)


def _tx(net, i, hash_hex):
    try:
        return http_json(f"{net.rpc(i)}/tx?hash=0x{hash_hex}", timeout=5)
    except Exception:
        return {}
