"""One CometBFT validator + one `lucid validator` on 127.0.0.41: heights advance, a transfer
and a full SubmitResult flow (hub upload, `lucid node --comet-rpc`, `lucid infer`) go through
broadcast_tx_sync, invalid txs are refused in CheckTx and never enter a block, CometBFT
header h+1 carries the Lucid header h's hash, and after a kill -9 of the app the handshake
replays to the same app hash."""
import base64
import hashlib
import json
import signal
import subprocess
import time
import urllib.error

import pytest

from conftest import LUCID, MODELS, Client, abci_query, broadcast_raw, http_json, lucid_header_hash, make_net, \
    requires_comet

pytestmark = requires_comet


@pytest.fixture()
def net(tmp_path):
    n = make_net(tmp_path, 1, 41)
    try:
        n.up()
        yield n
    finally:
        n.down()


def tx_found(net, i, tx_hash_hex, wait=3.0):
    """Whether CometBFT's tx index holds the tx (it indexes just after the block's commit)."""
    deadline = time.time() + wait
    while True:
        try:
            if "result" in http_json(f"{net.rpc(i)}/tx?hash=0x{tx_hash_hex}", timeout=5):
                return True
        except urllib.error.HTTPError:
            pass
        if time.time() > deadline:
            return False
        time.sleep(0.1)


def comet_app_hash(net, i, height):
    return http_json(f"{net.rpc(i)}/block?height={height}")["result"]["block"]["header"]["app_hash"].lower()


def query_json(net, i, path):
    r = abci_query(net, i, path)
    assert r.get("code", 0) == 0, r
    return json.loads(base64.b64decode(r["value"]))


def test_single_validator(net, tmp_path):
    cli = Client(net)
    accounts = json.loads((net.root / "net.json").read_text())["accounts"]
    h0 = net.height(0)
    net.wait_height(h0 + 3, timeout=30)

    # A transfer through the validator's API (forwarded to broadcast_tx_sync), waited for.
    r = cli.json("tx", "transfer", accounts["bob"], 12345, key="alice")
    assert r["check"]["code"] == 0 and r["deliver"]["code"] == 0, r
    height = r["height"]
    assert query_json(net, 0, "/account/" + accounts["bob"])["balance"] == 10**12 + 12345
    assert tx_found(net, 0, r["check"]["hash"])

    # Invalid txs are refused in CheckTx and never enter a block.
    junk = broadcast_raw(net, 0, b"\x00\x01garbage")["result"]
    assert junk["code"] == 1 and junk["codespace"] == "lucid", junk
    p = cli.run("tx", "transfer", accounts["bob"], 10**15, key="alice", expect=1)
    assert "INSUFFICIENT_FUNDS" in p.stdout + p.stderr
    time.sleep(1.0)
    assert not tx_found(net, 0, hashlib.sha256(b"\x00\x01garbage").hexdigest())
    assert query_json(net, 0, "/account/" + accounts["alice"])["nonce"] == 1

    # CometBFT header h+1 carries the hash of Lucid header h (docs/consensus.md).
    net.wait_height(height + 1)
    assert comet_app_hash(net, 0, height + 1) == lucid_header_hash(net, 0, height)

    # SubmitResult: publish a model, run a standalone node that submits over CometBFT's RPC, infer.
    cli.json("hub", "create", "digits", "--task", "image-classification", key="publisher")
    cli.json("hub", "upload", "digits", MODELS / "mlp.onnx", "--version", "1.0", "--test-vectors",
             MODELS / "mlp.vectors.json", "--price", 5, key="publisher")
    log = open(tmp_path / "node.log", "ab")
    node = subprocess.Popen([str(LUCID), "--home", str(net.client_home), "--from", "node0", "--json", "node",
                             "--chain", net.api(0), "--comet-rpc", net.rpc(0), "--http", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=log)
    try:
        line = node.stdout.readline()
        assert line, f"lucid node exited; see {tmp_path / 'node.log'}"
        ready = json.loads(line)
        vectors = json.loads((MODELS / "mlp.vectors.json").read_text())
        inp = tmp_path / "input.json"
        inp.write_text(json.dumps(vectors[0]["inputs"]))
        p = subprocess.run([str(LUCID), "--home", str(net.client_home), "--node", ready["api"], "--from", "bob",
                            "--json", "infer", "digits@1.0", "--input", str(inp)],
                           capture_output=True, text=True, timeout=180)
        assert p.returncode == 0, p.stdout + p.stderr
        rid = json.loads(p.stdout)["receipt_id"]
        rec = http_json(f"{net.api(0)}/chain/receipts/{rid}")
        assert rec["receipt_id"] == rid and rec["proof"]
        q = query_json(net, 0, "/receipt/" + rid)
        assert q["raw"] == rec["raw"] and q["proof"] == rec["proof"]
        h = rec["height"]
        net.wait_height(h + 1)
        assert comet_app_hash(net, 0, h + 1) == q["header_hash"]
    finally:
        node.send_signal(signal.SIGTERM)
        node.wait(timeout=30)
        log.close()

    # kill -9 the app in the middle of blocks: CometBFT stops with it; on restart the handshake
    # replays what the app had not committed and the chain goes on with the same history.
    net.wait_height(net.height(0) + 2)
    before = {hh: lucid_header_hash(net, 0, hh) for hh in (1, height, h)}
    net.kill("lucid-v0", signal.SIGKILL)
    net.kill("comet-v0")
    net.start(0)
    net.wait_height(h + 5, timeout=60)
    top = net.height(0)
    net.wait_height(top + 3, timeout=60)
    for hh, hash_ in before.items():
        assert lucid_header_hash(net, 0, hh) == hash_
    info = http_json(f"{net.rpc(0)}/abci_info")["result"]["response"]
    last = int(info["last_block_height"])
    net.wait_height(last + 1)
    assert comet_app_hash(net, 0, last + 1) == base64.b64decode(info["last_block_app_hash"]).hex()
