"""`lucid node`: a standalone inference node beside the devnet's chain, reached only over the
devnet's Lucid API (docs/node.md). vanilla: it registers itself, fetches the model's files from
the devnet's hub by CID into its own hub, serves `lucid infer`, and its receipts settle and
verify. tee (`--mode tee --enclave ADDR`, with its own `lucid enclave --dev` process): a
restarted enclave (new key) is re-attested before its first receipt is submitted; without
heartbeats the registration expires and the chain refuses that key's receipts from then on."""
import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from conftest import LUCID, Cli, Devnet, free_port

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "models" / "digits"


class Proc:
    """A child `lucid` process that prints one JSON line when ready."""

    def __init__(self, args, log: Path):
        self.log = open(log, "ab")
        self.proc = subprocess.Popen([str(LUCID), *[str(a) for a in args]], stdout=subprocess.PIPE, stderr=self.log)
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=30)
            raise RuntimeError(f"{args} exited {self.proc.returncode}; see {log}")
        self.ready = json.loads(line)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            assert self.proc.wait(timeout=30) == 0
        self.log.close()


def start_enclave(devnet: Devnet, port: int, tmp_path: Path) -> Proc:
    # The devnet's dev PKI: its root is the one the devnet's genesis trusts.
    return Proc(["enclave", "--dev", "--listen", f"127.0.0.1:{port}", "--pki", devnet.home / "enclave-pki"],
                tmp_path / "enclave.log")


def start_node(devnet: Devnet, key: str, tmp_path: Path, *args) -> Proc:
    return Proc(["--home", devnet.home, "--from", key, "node", "--chain", devnet.url, "--http", "127.0.0.1:0", *args],
                tmp_path / f"node-{key}.log")


def input_file(tmp_path: Path) -> Path:
    vectors = json.loads((MODELS / "mlp.vectors.json").read_text())
    path = tmp_path / "input.json"
    path.write_text(json.dumps(vectors[0]["inputs"]))
    return path


def test_standalone_node_vanilla(devnet: Devnet, cli: Cli, tmp_path: Path):
    node = start_node(devnet, "dev3", tmp_path)
    try:
        address = node.ready["node"]
        registered = {n["address"]: n for n in devnet.get("/chain/nodes").json()["nodes"]}
        assert registered[address]["endpoint"] == node.ready["api"]
        assert registered[address]["modes"] == ["vanilla"]
        # Its hub holds nothing yet: the model's files are fetched from the devnet's hub.
        node_hub = devnet.home / "node" / address / "hub"
        assert not node_hub.exists() or not any(node_hub.rglob("bafkrei*"))

        result = cli.json("infer", "digits-mlp@1.0", "--input", input_file(tmp_path), key="dev1",
                          node=node.ready["api"])
        assert result["receipt"]["node"] == address
        fetched = {p.name for p in node_hub.rglob("bafkrei*")}
        manifest = devnet.get("/chain/models/digits-mlp@1.0").json()["manifest"]
        assert manifest in fetched and len(fetched) >= 2  # the manifest and the model file at least
        report = cli.json("verify", result["receipt_id"])
        assert report["valid"] is True, report
        # The node's API reads the chain through: the same receipt, the same status.
        here = requests.get(node.ready["api"] + "/chain/receipts/" + result["receipt_id"], timeout=30).json()
        assert here["raw"] == devnet.get("/chain/receipts/" + result["receipt_id"]).json()["raw"]
        assert requests.get(node.ready["api"] + "/status", timeout=30).json()["node"]["address"] == address
    finally:
        node.stop()


def test_standalone_node_refuses_bad_options(devnet: Devnet, tmp_path: Path):
    p = subprocess.run([str(LUCID), "--home", str(devnet.home), "--from", "dev3", "node", "--chain", devnet.url,
                        "--mode", "tee"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "--enclave" in p.stderr, p.stderr
    p = subprocess.run([str(LUCID), "--home", str(devnet.home), "--from", "dev3", "node", "--chain",
                        f"http://127.0.0.1:{free_port()}"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "connecting to the chain" in p.stderr, p.stderr


@pytest.fixture()
def tee_devnet(tmp_path):
    # Enclave registrations last 8 s on this chain, so the test can outlive one.
    net = Devnet(tmp_path / "home", free_port(), extra_args=["--tee-heartbeat", "8s"])
    net.start()
    yield net
    net.stop()


def test_standalone_tee_node_restart_and_expiry(tee_devnet: Devnet, tmp_path: Path):
    devnet = tee_devnet
    cli = Cli(devnet)
    assert devnet.get("/chain/tee/params").json()["heartbeat_ms"] == 8000
    port = free_port()
    enclave = start_enclave(devnet, port, tmp_path)
    # --heartbeat 0: this node never re-attests on its own, so its registration can expire.
    node = start_node(devnet, "dev3", tmp_path, "--mode", "vanilla,tee", "--enclave", f"127.0.0.1:{port}",
                      "--heartbeat", "0")
    try:
        address = node.ready["node"]
        first = devnet.get(f"/chain/enclaves/{address}").json()
        assert first["public_key"] == enclave.ready["public_key"]
        assert node.ready["enclave_key"] == enclave.ready["address"]
        inputs = input_file(tmp_path)
        r1 = cli.json("infer", "digits-mlp@1.0", "--input", inputs, "--mode", "tee", key="dev1", node=node.ready["api"])
        assert cli.json("verify", r1["receipt_id"])["valid"] is True

        # Restart the enclave: a new key. The node sees the unregistered signer and re-attests.
        enclave.stop()
        enclave = start_enclave(devnet, port, tmp_path)
        assert enclave.ready["public_key"] != first["public_key"]
        r2 = cli.json("infer", "digits-mlp@1.0", "--input", inputs, "--mode", "tee", key="dev2", node=node.ready["api"])
        second = devnet.get(f"/chain/enclaves/{address}").json()
        assert second["public_key"] == enclave.ready["public_key"]
        assert second["registered_height"] > first["registered_height"]
        assert cli.json("verify", r2["receipt_id"])["valid"] is True
        # The first key's receipt stays valid history: verified against its own registration.
        assert cli.json("verify", r1["receipt_id"])["valid"] is True

        # No heartbeat: once the chain's time passes expires_at_ms, the key's receipts are refused.
        deadline = time.time() + 30
        while devnet.get("/status").json()["last_time_ms"] <= second["expires_at_ms"]:
            assert time.time() < deadline, "the chain's time did not pass the registration's expiry"
            time.sleep(0.2)
        p = cli.run("infer", "digits-mlp@1.0", "--input", inputs, "--mode", "tee", key="dev2", node=node.ready["api"],
                    expect=1)
        # The chain's CheckTx refused the SubmitResult (the node passes its reason on).
        out = p.stderr + p.stdout
        assert "chain refused the tx: BAD_EVIDENCE" in out and "expired" in out, out
        # Nothing settled for it: the node's receipts are the two above.
        receipts = [r1["receipt_id"], r2["receipt_id"]]
        for rid in receipts:
            assert devnet.get(f"/chain/receipts/{rid}").status_code == 200
    finally:
        node.stop()
        enclave.stop()
