"""`lucid verify RECEIPT_ID --comet-rpc URL --genesis FILE` on a 4-validator CometBFT network
(127.0.0.71-74): a receipt settled through CometBFT verifies with the commit of block h+1
checked against the local genesis file's validators (docs/lightclient.md); with one validator
stopped it still verifies (3 of 4 power); an RPC that lies about the commit (a signature byte,
the app hash, votes dropped, a duplicated vote, the chain id) and a genesis with a forged key,
two of the four validators or another chain id are refused by name."""
import base64
import hashlib
import http.server
import json
import signal
import subprocess
import threading
import urllib.request

import pytest

from conftest import LUCID, MODELS, Client, http_json, make_net, requires_comet

pytestmark = requires_comet


@pytest.fixture()
def net(tmp_path):
    n = make_net(tmp_path, 4, 71)
    try:
        n.up()
        yield n
    finally:
        n.down()


def verify(net, rid, genesis, rpc_node=0, api_node=0):
    cmd = [str(LUCID), "--home", str(net.client_home), "--node", net.api(api_node), "--json", "verify", rid,
           "--comet-rpc", net.rpc(rpc_node), "--genesis", str(genesis)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    try:
        doc = json.loads(p.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"{' '.join(cmd)}: exit {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p.returncode, {c["name"]: c for c in doc["checks"]}


class LyingRpc:
    """An RPC in front of a real validator's that alters its /commit answers (a node that lies)."""

    def __init__(self, upstream, alter):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                with urllib.request.urlopen(upstream + self.path, timeout=10) as r:
                    body = r.read()
                if self.path.startswith("/commit"):
                    doc = json.loads(body)
                    alter(doc["result"]["signed_header"])
                    body = json.dumps(doc).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def verify_via(net, rid, genesis, rpc_url):
    cmd = [str(LUCID), "--home", str(net.client_home), "--node", net.api(0), "--json", "verify", rid,
           "--comet-rpc", rpc_url, "--genesis", str(genesis)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return p.returncode, {c["name"]: c for c in json.loads(p.stdout)["checks"]}


def flip_hex(h):
    return ("0" if h[0] != "0" else "1") + h[1:]


def flip_sig(sh):
    for s in sh["commit"]["signatures"]:
        if s["block_id_flag"] == 2:
            raw = bytearray(base64.b64decode(s["signature"]))
            raw[10] ^= 1
            s["signature"] = base64.b64encode(bytes(raw)).decode()
            return


def drop_votes(sh):  # keep one commit vote: 1 of 4 power
    kept = 0
    for s in sh["commit"]["signatures"]:
        if s["block_id_flag"] == 2 and kept == 0:
            kept = 1
            continue
        s.update(block_id_flag=1, validator_address="", timestamp="0001-01-01T00:00:00Z", signature=None)


def infer(net, cli, tmp_path, node_api, key):
    vectors = json.loads((MODELS / "mlp.vectors.json").read_text())
    inp = tmp_path / "input.json"
    inp.write_text(json.dumps(vectors[0]["inputs"]))
    p = subprocess.run([str(LUCID), "--home", str(net.client_home), "--node", node_api, "--from", key, "--json",
                        "infer", "digits@1.0", "--input", str(inp)], capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stdout + p.stderr
    return json.loads(p.stdout)["receipt_id"]


def test_verify_receipt_through_cometbft_commit(net, tmp_path):
    cli = Client(net)
    genesis_file = net.comet_home(0) / "config" / "genesis.json"
    genesis = json.loads(genesis_file.read_text())
    assert len(genesis["validators"]) == 4

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
        rid = infer(net, cli, tmp_path, ready["api"], "bob")
        h = http_json(f"{net.api(0)}/chain/receipts/{rid}")["height"]
        net.wait_height(h + 1)

        # Valid: inclusion, app hash of CometBFT block h+1, its commit by > 2/3 of the genesis set.
        rc, checks = verify(net, rid, genesis_file)
        print("valid receipt:", json.dumps({k: [c["ok"], c["detail"]] for k, c in checks.items()}, indent=1))
        assert rc == 0, checks
        for name in ("inclusion", "comet_genesis", "app_hash", "comet_commit", "chain_agrees"):
            assert checks[name]["ok"], checks[name]
        assert "header_signer" not in checks
        assert f"CometBFT block {h + 1}" in checks["comet_commit"]["detail"]
        assert "power 4 of 4" in checks["comet_commit"]["detail"] or "power 3 of 4" in checks["comet_commit"]["detail"]
        # Any validator's RPC serves the same proof.
        rc, _ = verify(net, rid, genesis_file, rpc_node=2, api_node=1)
        assert rc == 0

        # An RPC that lies: each alteration of the commit is refused by name.
        for alter, check, reason in [
            (flip_sig, "comet_commit", "invalid_signature"),
            (lambda sh: sh["header"].update(app_hash=flip_hex(sh["header"]["app_hash"])), "app_hash", "app_hash"),
            (lambda sh: sh["header"].update(app_hash=flip_hex(sh["header"]["app_hash"])), "comet_commit",
             "header_hash_mismatch"),
            (drop_votes, "comet_commit", "insufficient_voting_power"),
            (lambda sh: sh["commit"]["signatures"].__setitem__(1, sh["commit"]["signatures"][0]), "comet_commit",
             "duplicate_vote"),
            (lambda sh: sh["header"].update(chain_id="other"), "comet_commit", "chain_id_mismatch"),
        ]:
            rpc = LyingRpc(net.rpc(0), alter)
            try:
                rc, checks = verify_via(net, rid, genesis_file, rpc.url)
            finally:
                rpc.close()
            assert rc == 1, (reason, checks)
            assert not checks[check]["ok"] and reason in checks[check]["detail"], (reason, checks[check])
            print("lying rpc:", reason, "->", check, ":", checks[check]["detail"][:160])

        # A genesis whose validator key is replaced (the node's chain is not the trusted one).
        forged = json.loads(json.dumps(genesis))
        v0 = forged["validators"][0]
        key = bytearray(base64.b64decode(v0["pub_key"]["value"]))
        key[0] ^= 1
        v0["pub_key"]["value"] = base64.b64encode(bytes(key)).decode()
        v0["address"] = hashlib.sha256(bytes(key)).hexdigest()[:40].upper()
        (tmp_path / "forged.json").write_text(json.dumps(forged))
        rc, checks = verify(net, rid, tmp_path / "forged.json")
        assert rc == 1
        assert not checks["comet_commit"]["ok"]
        print("forged genesis key:", checks["comet_commit"]["detail"])
        assert "validators_hash_mismatch" in checks["comet_commit"]["detail"], checks["comet_commit"]
        assert "is not the genesis file's" in checks["comet_commit"]["detail"]

        # A genesis of another chain id.
        renamed = dict(genesis, chain_id="another-chain")
        (tmp_path / "renamed.json").write_text(json.dumps(renamed))
        rc, checks = verify(net, rid, tmp_path / "renamed.json")
        assert rc == 1 and not checks["comet_genesis"]["ok"], checks
        assert "another-chain" in checks["comet_genesis"]["detail"]

        # A genesis that names only two of the four validators: the set hash differs.
        half = dict(genesis, validators=genesis["validators"][:2])
        (tmp_path / "half.json").write_text(json.dumps(half))
        rc, checks = verify(net, rid, tmp_path / "half.json")
        assert rc == 1 and "validators_hash_mismatch" in checks["comet_commit"]["detail"], checks

        # One validator down: blocks go on with 3 of 4; a new receipt verifies with that commit.
        net.stop(3)
        rid2 = infer(net, cli, tmp_path, ready["api"], "alice")
        h2 = http_json(f"{net.api(0)}/chain/receipts/{rid2}")["height"]
        net.wait_height(h2 + 1, nodes=[0, 1, 2])
        commit = http_json(f"{net.rpc(0)}/commit?height={h2 + 1}")["result"]["signed_header"]["commit"]
        flags = [s["block_id_flag"] for s in commit["signatures"]]
        rc, checks = verify(net, rid2, genesis_file)
        print("one validator down:", flags, checks["comet_commit"]["detail"])
        assert rc == 0, checks
        if flags.count(2) == 3:
            assert "power 3 of 4" in checks["comet_commit"]["detail"], (flags, checks["comet_commit"])
    finally:
        node.send_signal(signal.SIGTERM)
        node.wait(timeout=30)
        log.close()
