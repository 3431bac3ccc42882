"""Hub files on IPFS (docs/ipfs.md, issue 11): kubo daemons in one PRIVATE swarm (a generated
swarm key, no bootstrap, no mDNS, no DHT, loopback only), started through `lucid-ipfs daemon`
(the same launcher `lucid devnet --ipfs` uses).

- upload through hub A (the devnet, its hub on kubo A): the manifest records each file's IPFS
  root next to its Lucid CID; a standalone node whose hub knows only kubo B fetches and runs
  the model, and the file it used has the right whole-file CID; kubo B pinned it;
- kubo A stopped: another node, again only on kubo B, still runs the model;
- a test double posing as a kubo API serves wrong bytes: refused by name, the node falls back
  to the next peer; with only that peer the request fails with a clear error;
- a generated 128 MiB file streams through `lucid-ipfs add/get` with bounded RSS, and the
  throughput is compared with plain `ipfs add` / `ipfs cat` on the same file and daemons.

Skipped when kubo (.tools/bin/ipfs, ./scripts/setup) or the lucid-ipfs tool is missing."""
import base64
import hashlib
import http.server
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import requests

from conftest import LUCID, Cli, Devnet, free_port

REPO = Path(__file__).resolve().parents[2]
IPFS_BIN = Path(os.environ.get("LUCID_IPFS_BIN", REPO / ".tools" / "bin" / "ipfs"))
TOOL = Path(os.environ.get("LUCID_IPFS_TOOL", LUCID.parent.parent / "ipfs" / "lucid-ipfs"))

pytestmark = pytest.mark.skipif(not IPFS_BIN.exists() or not TOOL.exists(),
                                reason=f"kubo ({IPFS_BIN}: run ./scripts/setup) or {TOOL} missing")


def lucid_cid(data_or_digest: bytes, digest=False) -> str:
    d = data_or_digest if digest else hashlib.sha256(data_or_digest).digest()
    return "b" + base64.b32encode(bytes([1, 0x55, 0x12, 0x20]) + d).decode().lower().rstrip("=")


def file_cid(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return lucid_cid(h.digest(), digest=True)


class Kubo:
    """`lucid-ipfs daemon`: one kubo in the private swarm."""

    def __init__(self, tmp: Path, name: str, key: Path, peers=()):
        self.repo = tmp / name
        self.log = open(tmp / f"kubo-{name}.log", "ab")
        args = [str(TOOL), "daemon", "--repo", str(self.repo), "--swarm-key", str(key)]
        for p in peers:
            args += ["--peer", p]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log)
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=30)
            raise RuntimeError(f"kubo {name} did not start; see {self.log.name}")
        self.ready = json.loads(line)
        assert self.ready["ok"], self.ready
        self.api = self.ready["api"]
        self.peer = self.ready["peer"]

    def ipfs(self, *args, **kw):
        env = dict(os.environ, IPFS_PATH=str(self.repo), LIBP2P_FORCE_PNET="1", IPFS_TELEMETRY="off")
        return subprocess.run([str(IPFS_BIN), *[str(a) for a in args]], env=env, capture_output=True, timeout=600,
                              check=True, **kw)

    def rpc(self, path):
        r = requests.post(f"http://{self.api}/api/v0/{path}", timeout=60)
        assert r.status_code == 200, r.text
        return r

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            assert self.proc.wait(timeout=30) == 0
        self.log.close()


def tool(*args, expect_ok=True):
    p = subprocess.run([str(TOOL), *[str(a) for a in args]], capture_output=True, text=True, timeout=600)
    out = json.loads(p.stdout.strip().splitlines()[-1])
    if expect_ok:
        assert out["ok"], (out, p.stderr)
    return out


class NodeProc:
    def __init__(self, devnet: Devnet, key: str, tmp: Path, *args):
        self.log_path = tmp / f"node-{key}.log"
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(LUCID), "--home", str(devnet.home), "--from", key, "node", "--chain", devnet.url, "--http",
             "127.0.0.1:0", *[str(a) for a in args]], stdout=subprocess.PIPE, stderr=self.log)
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=30)
            raise RuntimeError(f"node {key} exited {self.proc.returncode}; see {self.log_path}")
        self.ready = json.loads(line)
        self.hub = devnet.home / "node" / self.ready["node"] / "hub"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
        self.log.close()


def make_big_model(tmp: Path):
    """A Gemm + Relu model with 1.2 MB of weights (so its IPFS root is a dag-pb node over
    two raw leaves, not its Lucid CID) and two test vectors from numpy."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(7)
    w = (rng.standard_normal((512, 600)) * 0.05).astype(np.float32)
    b = (rng.standard_normal(600) * 0.05).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w", "b"], ["h"]), helper.make_node("Relu", ["h"], ["y"])], "big",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 512])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 600])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = tmp / "big.onnx"
    onnx.save(model, str(path))
    vectors = []
    for _ in range(2):
        x = rng.standard_normal((1, 512)).astype(np.float32)
        y = np.maximum(x.astype(np.float64) @ w.astype(np.float64) + b, 0).astype(np.float32)
        vectors.append({"inputs": {"x": {"dtype": "float32", "shape": [1, 512], "data": x.ravel().tolist()}},
                        "outputs": {"y": {"dtype": "float32", "shape": [1, 600], "data": y.ravel().tolist()}}})
    (tmp / "big.vectors.json").write_text(json.dumps(vectors))
    (tmp / "big.input.json").write_text(json.dumps(vectors[0]["inputs"]))
    return path


def upload_big_model(devnet: Devnet, tmp: Path):
    """big-gemm@1.0 (make_big_model) uploaded by dev0 through the devnet's hub. Returns the
    Cli, the model's path, the manifest CID, the manifest and its one file entry (whose IPFS
    root is a dag-pb node over two raw leaves)."""
    cli = Cli(devnet)
    model = make_big_model(tmp)
    cli.run("hub", "create", "big-gemm")
    cli.run("hub", "upload", "big-gemm", model, "--version", "1.0", "--test-vectors", tmp / "big.vectors.json",
            key="dev0")
    manifest_cid = devnet.get("/chain/models/big-gemm@1.0").json()["manifest"]
    manifest = json.loads(devnet.get(f"/hub/files/{manifest_cid}").content)
    (entry,) = manifest["files"]
    assert entry["ipfs"].startswith("bafybei"), entry  # a dag-pb root: the file spans 2 chunks
    return cli, model, manifest_cid, manifest, entry


class CorruptKubo(http.server.ThreadingHTTPServer):
    """A test double posing as a kubo RPC API: `cat` answers the real bytes (read from a
    real kubo) with one byte flipped; `pin/add` and `id` answer like kubo."""

    def __init__(self, real_api: str):
        self.real_api = real_api
        self.cats = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(h):
                path = h.path.split("?")[0]
                if path == "/api/v0/cat":
                    h.server.cats += 1
                    r = requests.post(f"http://{h.server.real_api}{h.path}", timeout=60)
                    body = bytearray(r.content)
                    if body:
                        body[len(body) // 2] ^= 0x01
                    h.send_response(200)
                    h.send_header("Content-Type", "application/octet-stream")
                    h.send_header("Content-Length", str(len(body)))
                    h.end_headers()
                    h.wfile.write(bytes(body))
                    return
                body = b"{}"
                if path == "/api/v0/pin/add":
                    body = json.dumps({"Pins": []}).encode()
                elif path == "/api/v0/id":
                    body = json.dumps({"ID": "12D3KooWcorrupt", "Addresses": []}).encode()
                h.send_response(200)
                h.send_header("Content-Type", "application/json")
                h.send_header("Content-Length", str(len(body)))
                h.end_headers()
                h.wfile.write(body)

        super().__init__(("127.0.0.1", 0), Handler)
        self.api = f"127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()


def assert_private(kubo: Kubo):
    config = json.loads(kubo.ipfs("config", "show").stdout)
    text = json.dumps(config)
    assert config["Bootstrap"] == [] or config["Bootstrap"] is None
    assert config["Discovery"]["MDNS"]["Enabled"] is False
    assert config["Routing"]["Type"] == "none"
    assert config["Swarm"]["DisableNatPortMap"] is True
    assert config["Swarm"]["RelayClient"]["Enabled"] is False
    assert config["Swarm"]["RelayService"]["Enabled"] is False
    assert config["AutoNAT"]["ServiceMode"] == "disabled"
    if "AutoConf" in config:
        assert config["AutoConf"]["Enabled"] is False
    for field in ("Swarm", "API", "Gateway"):
        addrs = config["Addresses"][field]
        for a in (addrs if isinstance(addrs, list) else [addrs]):
            assert a.startswith("/ip4/127.0.0.1/"), (field, a)
    for public in ("0.0.0.0", "/ip6/", "/dnsaddr/", "bootstrap.libp2p.io", "delegated-ipfs.dev", "cid.contact"):
        assert public not in text, public
    assert (kubo.repo / "swarm.key").read_text().startswith("/key/swarm/psk/1.0.0/\n/base16/\n")
    # Only the swarm's own peers are connected.
    peers = kubo.rpc("swarm/peers").json().get("Peers") or []
    for p in peers:
        assert p["Addr"].startswith("/ip4/127.0.0.1/"), p


@pytest.fixture()
def swarm(tmp_path):
    key = tmp_path / "swarm.key"
    tool("swarm-key", key)
    a = Kubo(tmp_path, "kubo-a", key)
    b = Kubo(tmp_path, "kubo-b", key, peers=[a.peer])
    a.rpc(f"swarm/connect?arg={b.peer}")
    yield a, b, key
    b.stop()
    a.stop()


def test_upload_on_a_run_through_b_then_a_stopped(swarm, tmp_path):
    a, b, _ = swarm
    assert_private(a)
    assert_private(b)
    devnet = Devnet(tmp_path / "home", free_port(), extra_args=["--ipfs-api", a.api]).start()
    nodes = []
    try:
        cli, model, manifest_cid, manifest, entry = upload_big_model(devnet, tmp_path)
        assert entry["cid"] == file_cid(model)
        assert manifest["test_vectors"]["ipfs"] == manifest["test_vectors"]["cid"]  # small: one raw block
        pins_a = tool("pins", "--api", a.api)["pins"]
        assert entry["ipfs"] in pins_a and manifest_cid in pins_a
        print(f"\nmanifest {manifest_cid}: {entry['path']} cid {entry['cid']} ipfs {entry['ipfs']} ({entry['size']} bytes)")

        # A node whose hub knows only kubo B.
        node = NodeProc(devnet, "dev3", tmp_path, "--ipfs", b.api)
        nodes.append(node)
        result = cli.json("infer", "big-gemm@1.0", "--input", tmp_path / "big.input.json", key="dev1",
                          node=node.ready["api"])
        assert result["receipt"]["node"] == node.ready["node"]
        used = {p.name: p for p in node.hub.rglob("bafk*")}
        assert entry["cid"] in used, used.keys()
        assert file_cid(used[entry["cid"]]) == entry["cid"]  # the file it ran has the right whole-file CID
        assert cli.json("verify", result["receipt_id"])["valid"] is True
        pins_b = tool("pins", "--api", b.api)["pins"]
        assert entry["ipfs"] in pins_b and manifest_cid in pins_b, pins_b  # B keeps what the node used
        log = node.log_path.read_text()
        assert f"from {b.api}" in log
        # `lucid hub status`: where each file is pinned.
        status = cli.json("hub", "status", "big-gemm@1.0", "--ipfs", a.api, "--ipfs", b.api)
        by_path = {f["path"]: f for f in status["files"]}
        assert by_path["big.onnx"]["ipfs"] == entry["ipfs"] and by_path["big.onnx"]["pinned_on"] == 2, status
        assert by_path["(manifest)"]["pinned_on"] == 2, status

        # Hub A's kubo gone: a fresh node, again only on kubo B, still gets and runs the model.
        a.stop()
        node2 = NodeProc(devnet, "dev2", tmp_path, "--ipfs", b.api)
        nodes.append(node2)
        assert not any(node2.hub.rglob("bafk*")) if node2.hub.exists() else True
        result2 = cli.json("infer", "big-gemm@1.0", "--input", tmp_path / "big.input.json", key="dev1",
                           node=node2.ready["api"])
        assert result2["receipt"]["node"] == node2.ready["node"]
        assert file_cid(next(node2.hub.rglob(entry["cid"]))) == entry["cid"]
        assert result2["receipt"]["output_hash"] == result["receipt"]["output_hash"]
        status = cli.json("hub", "status", "big-gemm@1.0", "--ipfs", a.api, "--ipfs", b.api)
        model_row = next(f for f in status["files"] if f["path"] == "big.onnx")
        assert model_row["status"] == {a.api: "unreachable", b.api: "pinned"}, model_row
        print(cli.run("hub", "status", "big-gemm@1.0", "--ipfs", a.api, "--ipfs", b.api, json_output=False).stdout)
    finally:
        for n in nodes:
            n.stop()
        devnet.stop()


def test_corrupting_peer_is_refused_and_next_peer_serves(swarm, tmp_path):
    a, b, _ = swarm
    devnet = Devnet(tmp_path / "home", free_port(), extra_args=["--ipfs-api", a.api]).start()
    fake = CorruptKubo(b.api)
    nodes = []
    try:
        cli = Cli(devnet)
        model = make_big_model(tmp_path)
        cli.run("hub", "create", "big-gemm")
        cli.run("hub", "upload", "big-gemm", model, "--version", "1.0", "--test-vectors", tmp_path / "big.vectors.json",
                key="dev0")
        inputs = tmp_path / "big.input.json"

        # Only the corrupting peer: the request fails, naming the mismatch; nothing is kept.
        bad = NodeProc(devnet, "dev3", tmp_path, "--ipfs", fake.api)
        nodes.append(bad)
        p = cli.run("infer", "big-gemm@1.0", "--input", inputs, key="dev1", node=bad.ready["api"], expect=None)
        assert p.returncode != 0
        assert "do not match the whole-file CID" in p.stderr + p.stdout, p.stderr
        assert fake.cats >= 1
        assert not any(x for x in bad.hub.rglob("*") if x.is_file() and x.stat().st_size > 1_000_000)
        try:
            shown = json.loads(p.stdout)["error"]
        except (ValueError, KeyError, TypeError):
            shown = (p.stderr + p.stdout).strip()
        print(f"\ncorrupting peer only -> {str(shown)[:500]}")

        # The corrupting peer first, then kubo B: refused, logged, and B serves.
        good = NodeProc(devnet, "dev2", tmp_path, "--ipfs", fake.api, "--ipfs", b.api)
        nodes.append(good)
        cats_before = fake.cats
        result = cli.json("infer", "big-gemm@1.0", "--input", inputs, key="dev1", node=good.ready["api"])
        assert result["receipt"]["node"] == good.ready["node"]
        assert fake.cats > cats_before
        log = good.log_path.read_text()
        assert f"{fake.api} refused" in log and "do not match the whole-file CID" in log, log[-2000:]
        assert f"from {b.api}" in log
    finally:
        for n in nodes:
            n.stop()
        fake.shutdown()
        devnet.stop()


def run_measured(args, env=None):
    """Runs a command; returns (wall seconds, stdout)."""
    t0 = time.perf_counter()
    p = subprocess.run([str(a) for a in args], capture_output=True, env=env, timeout=600)
    seconds = time.perf_counter() - t0
    assert p.returncode == 0, (args, p.stderr[-2000:])
    return seconds, p.stdout


def test_large_file_streams_with_bounded_memory(swarm, tmp_path):
    a, b, _ = swarm
    size = 128 << 20
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        rng = np.random.default_rng(11)
        for _ in range(size >> 22):
            f.write(rng.integers(0, 256, 4 << 20, dtype=np.uint8).tobytes())
    cid = file_cid(big)
    mib = size / (1 << 20)
    env_a = dict(os.environ, IPFS_PATH=str(a.repo), LIBP2P_FORCE_PNET="1", IPFS_TELEMETRY="off")
    env_b = dict(os.environ, IPFS_PATH=str(b.repo), LIBP2P_FORCE_PNET="1", IPFS_TELEMETRY="off")

    def clear(kubo: Kubo, root: str):
        kubo.ipfs("pin", "rm", root)
        kubo.ipfs("repo", "gc")

    # Each way twice, alternating plain kubo and Lucid's streamed client, every run on an empty
    # store (A: pin removed and gc before each add; B: gc before each fetch); the best of the
    # two runs counts for each, so neither side gains from running second.
    plain_add, lucid_add, plain_cat, lucid_get = [], [], [], []
    root = None
    add_rss = get_rss = 0.0
    for _ in range(2):
        seconds, out = run_measured([IPFS_BIN, "add", "-Q", "--cid-version=1", "--raw-leaves",
                                     "--chunker=size-1048576", big], env=env_a)
        plain_add.append(seconds)
        root = out.decode().strip()
        clear(a, root)
        seconds, out = run_measured([TOOL, "add", "--api", a.api, big])
        lucid_add.append(seconds)
        added = json.loads(out)
        add_rss = max(add_rss, added["peak_rss_mib"])  # the tool's own VmHWM
        assert added["ipfs_cid"] == root and added["cid"] == cid and added["size"] == size
    for _ in range(2):
        b.ipfs("repo", "gc")
        seconds, _ = run_measured(["sh", "-c", f'"{IPFS_BIN}" cat {root} > "{tmp_path}/plain.out"'], env=env_b)
        plain_cat.append(seconds)
        assert file_cid(tmp_path / "plain.out") == cid
        (tmp_path / "plain.out").unlink()
        b.ipfs("repo", "gc")
        out_path = tmp_path / "lucid.out"
        seconds, out = run_measured([TOOL, "get", "--api", b.api, "--ipfs-cid", root, "--cid", cid, "--out", out_path])
        lucid_get.append(seconds)
        got = json.loads(out)
        assert got["size"] == size
        get_rss = max(get_rss, got["peak_rss_mib"])
        assert file_cid(out_path) == cid
        out_path.unlink()
    plain_add_s, lucid_add_s, plain_cat_s, lucid_get_s = map(min, (plain_add, lucid_add, plain_cat, lucid_get))

    print(f"\n{mib:.0f} MiB file, kubo {a.ready['id'][:16]}.. -> {b.ready['id'][:16]}.. (private swarm, loopback)")
    print(f"  add   plain ipfs add {mib / plain_add_s:8.1f} MiB/s ({plain_add_s:.2f} s)   lucid-ipfs add "
          f"{mib / lucid_add_s:8.1f} MiB/s ({lucid_add_s:.2f} s)   ratio lucid/plain {plain_add_s / lucid_add_s:.2f}"
          f"   lucid peak RSS {add_rss:.1f} MiB")
    print(f"  fetch plain ipfs cat {mib / plain_cat_s:8.1f} MiB/s ({plain_cat_s:.2f} s)   lucid-ipfs get "
          f"{mib / lucid_get_s:8.1f} MiB/s ({lucid_get_s:.2f} s)   ratio lucid/plain {plain_cat_s / lucid_get_s:.2f}"
          f"   lucid peak RSS {get_rss:.1f} MiB")
    # Streamed: the client never holds the file (128 MiB) in memory.
    assert add_rss < 48 and get_rss < 48, (add_rss, get_rss)


def test_devnet_starts_its_own_private_kubo(tmp_path):
    devnet = Devnet(tmp_path / "home", free_port(), extra_args=["--ipfs"]).start()
    try:
        api = devnet.info["ipfs_api"]
        assert api.startswith("127.0.0.1:") and devnet.info["ipfs_peer"].startswith("/ip4/127.0.0.1/tcp/")
        kubo = Kubo.__new__(Kubo)
        kubo.repo = devnet.home / "ipfs"
        kubo.api = api
        assert_private(kubo)
        assert (devnet.home / "ipfs-swarm.key").exists()
        # The demo models were published through it: roots in the manifest, pinned.
        manifest_cid = devnet.get("/chain/models/digits-mlp@1.0").json()["manifest"]
        manifest = json.loads(devnet.get(f"/hub/files/{manifest_cid}").content)
        roots = [f["ipfs"] for f in manifest["files"]]
        pins = tool("pins", "--api", api)["pins"]
        assert all(r in pins for r in roots) and manifest_cid in pins
    finally:
        devnet.stop()
    # Its kubo ends with it.
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(f"http://{api}/api/v0/id", timeout=5)
