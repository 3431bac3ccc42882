"""Fixtures for the network tests: CometBFT validators with `lucid validator` ABCI apps on
loopback (scripts/localnet.py). Skipped when cometbft (./scripts/setup) or a lucid binary
with `validator` is missing."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
from localnet import Net, http_json  # noqa: E402

LUCID = Path(os.environ.get("LUCID_BIN", REPO / "build" / "src" / "cli" / "lucid"))
COMETBFT = Path(os.environ.get("COMETBFT_BIN", REPO / ".tools" / "bin" / "cometbft"))
MODELS = REPO / "models" / "digits"


def have_network_tools():
    if not COMETBFT.exists() or not LUCID.exists():
        return False
    p = subprocess.run([str(LUCID), "validator", "--help"], capture_output=True, text=True)
    return p.returncode == 0


requires_comet = pytest.mark.skipif(not have_network_tools(),
                                    reason="needs .tools/bin/cometbft (./scripts/setup) and lucid built with ABCI")


class Client:
    """The lucid CLI with the network's client home (keys alice, bob, node0, publisher)."""

    def __init__(self, net: Net):
        self.net = net

    def run(self, *args, key=None, node=0, expect=0, timeout=180):
        cmd = [str(LUCID), "--home", str(self.net.client_home), "--node", self.net.api(node)]
        if key:
            cmd += ["--from", key]
        cmd += ["--json", *map(str, args)]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if expect is not None and p.returncode != expect:
            raise AssertionError(f"{' '.join(cmd)} exited {p.returncode} (expected {expect})\n"
                                 f"stdout: {p.stdout}\nstderr: {p.stderr}")
        return p

    def json(self, *args, **kw):
        return json.loads(self.run(*args, **kw).stdout)


def make_net(tmp_path, n, base_ip):
    net = Net(tmp_path / "net", n=n, base_ip=base_ip, lucid=LUCID, cometbft=COMETBFT, chain_id=f"lucid-test-{n}")
    net.init()
    return net


def abci_query(net, i, path):
    r = http_json(f"{net.rpc(i)}/abci_query?path=%22{path}%22", timeout=10)["result"]["response"]
    return r


def broadcast_raw(net, i, tx: bytes):
    import base64
    body = {"jsonrpc": "2.0", "id": 1, "method": "broadcast_tx_sync", "params": {"tx": base64.b64encode(tx).decode()}}
    return http_json(net.rpc(i), body, timeout=10)


def lucid_header_hash(net, i, height):
    return http_json(f"{net.api(i)}/chain/blocks/{height}", timeout=10)["header"]["hash"]
