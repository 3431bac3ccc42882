"""The spine of Lucid, end to end through the CLI against a real devnet process:
keys, transfers, hub publish/list/download, a verifiable inference, offline verification
(with and without replay), tampering of every piece of evidence, refusals that change no
state, and survival of a clean restart and of kill -9 during block production."""
import base64
import copy
import hashlib
import json
import signal
import threading
import time
from pathlib import Path

import numpy as np
import requests

from conftest import REPO, Cli, Devnet

MODELS = REPO / "models" / "digits"


def cid_of(data: bytes) -> str:
    # CIDv1, raw codec 0x55, sha2-256 multihash, base32 lower without padding, prefix 'b'.
    binary = bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(binary).decode().lower().rstrip("=")


def balance(cli: Cli, who: str) -> int:
    return cli.json("query", "account", who)["balance"]


def write_json(path: Path, obj) -> Path:
    path.write_text(json.dumps(obj))
    return path


def flip_hex(hex_text: str, byte_index: int) -> str:
    raw = bytearray(bytes.fromhex(hex_text))
    raw[byte_index] ^= 0x01
    return raw.hex()


def verify_fails(cli: Cli, receipt_id: str, bundle: dict, tmp: Path, name: str, check: str):
    path = write_json(tmp / f"tampered-{name}.json", bundle)
    p = cli.run("verify", receipt_id, "--bundle", path, expect=1)
    report = json.loads(p.stdout)
    assert report["valid"] is False
    failed = {c["name"] for c in report["checks"] if not c["ok"]}
    assert check in failed, f"{name}: expected {check} to fail, failed: {failed}"
    return report


def test_devnet_end_to_end(devnet: Devnet, cli: Cli, tmp_path: Path):
    # --- keys and funds ---
    alice = cli.json("keys", "new", "alice")["address"]
    keys = {k["name"]: k["address"] for k in cli.json("keys", "list")}
    assert keys["alice"] == alice and "dev0" in keys and "dev1" in keys
    cli.run("keys", "new", "alice", expect=1)  # duplicate name refused
    cli.json("tx", "transfer", alice, 5_000_000, key="dev0")
    assert balance(cli, alice) == 5_000_000

    # --- hub: create, upload two versions with test vectors ---
    desc = tmp_path / "desc.md"
    desc.write_text("# Digits\nClassifies 8x8 digits.\n")
    cli.json("hub", "create", "digits", "--description", desc, "--task", "image-classification",
             "--license", "MIT", "--tags", "digits,demo", key="alice")
    cli.run("hub", "create", "digits", key="alice", expect=1)  # exists
    v10 = cli.json("hub", "upload", "digits", MODELS / "mlp.onnx", "--version", "1.0",
                   "--test-vectors", MODELS / "mlp.vectors.json", "--price", 7, key="alice")
    v11 = cli.json("hub", "upload", "digits", MODELS / "cnn.onnx", "--version", "1.1",
                   "--test-vectors", MODELS / "cnn.vectors.json", "--price", 7, key="alice")
    # Version order is enforced and only the owner publishes.
    cli.run("hub", "upload", "digits", MODELS / "mlp.onnx", "--version", "1.0", key="alice", expect=1)
    cli.run("hub", "upload", "digits", MODELS / "mlp.onnx", "--version", "2.0", key="dev1", expect=1)
    # A file that is not ONNX, and vectors that do not reproduce, are refused.
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    assert cli.run("hub", "upload", "digits", junk, "--version", "3.0", key="alice", expect=1).returncode == 1
    bad_vectors = json.loads((MODELS / "mlp.vectors.json").read_text())
    bad_vectors[0]["outputs"]["probs"]["data"][0] += 0.5
    bad = cli.run("hub", "upload", "digits", MODELS / "mlp.onnx", "--version", "3.0", "--test-vectors",
                  write_json(tmp_path / "bad_vectors.json", bad_vectors), key="alice", expect=1)
    assert "vector" in bad.stdout.lower()

    listed = cli.json("hub", "list", "digit")
    assert "digits" in [r["name"] for r in listed]
    versions = [v["version"] for v in cli.json("hub", "versions", "digits")]
    assert versions == ["1.0", "1.1"]

    out = tmp_path / "download"
    dl = cli.json("hub", "download", "digits@1.0", "--out", out)
    assert dl["manifest_cid"] == v10["manifest_cid"]
    model_bytes = (MODELS / "mlp.onnx").read_bytes()
    assert (out / "mlp.onnx").read_bytes() == model_bytes
    assert [f["cid"] for f in dl["files"]] == [cid_of(model_bytes)]
    assert cid_of((out / "manifest.json").read_bytes()) == v10["manifest_cid"]
    assert v11["manifest_cid"] != v10["manifest_cid"]

    # --- a verifiable inference ---
    vectors = json.loads((MODELS / "mlp.vectors.json").read_text())
    input_file = write_json(tmp_path / "input.json", vectors[0]["inputs"])
    node = devnet.info["node"]
    node_before, alice_before, dev1_before = balance(cli, node), balance(cli, alice), balance(cli, "dev1")
    result = cli.json("infer", "digits@1.0", "--input", input_file, key="dev1")
    receipt_id = result["receipt_id"]
    got = np.array(result["outputs"]["probs"]["data"], dtype=np.float32)
    want = np.array(vectors[0]["outputs"]["probs"]["data"], dtype=np.float32)
    assert np.allclose(got, want, rtol=1e-4, atol=1e-5)
    assert int(np.argmax(got)) == int(np.argmax(want))
    node_fee = devnet.get("/status").json()["node"]["fee_per_inference"]
    assert balance(cli, "dev1") == dev1_before - node_fee - 7
    assert balance(cli, alice) == alice_before + 7
    assert balance(cli, node) >= node_before + node_fee - 100_000  # node also paid its tx fee

    report = cli.json("verify", receipt_id)
    assert report["valid"] is True
    names = {c["name"] for c in report["checks"] if c["ok"] and not c["skipped"]}
    for check in ("request_signature", "evidence", "inclusion", "header_signer", "outputs_hash", "receipt_id"):
        assert check in names
    replay = cli.json("verify", receipt_id, "--replay")
    assert replay["valid"] is True
    assert any(c["name"] == "replay" and c["ok"] for c in replay["checks"])
    assert cli.json("query", "receipt", receipt_id)["receipt_id"] == receipt_id

    # --- tampering: each piece of evidence is checked ---
    bundle = json.loads((devnet.home / "results" / f"{receipt_id}.json").read_text())
    t = copy.deepcopy(bundle)
    t["outputs"]["probs"]["data"][3] += 0.25
    verify_fails(cli, receipt_id, t, tmp_path, "output", "outputs_hash")
    t = copy.deepcopy(bundle)
    t["receipt"] = flip_hex(bundle["receipt"], len(bytes.fromhex(bundle["receipt"])) - 9)
    verify_fails(cli, receipt_id, t, tmp_path, "receipt", "receipt_id")
    t = copy.deepcopy(bundle)
    t["evidence"] = flip_hex(bundle["evidence"], len(bytes.fromhex(bundle["evidence"])) - 20)
    verify_fails(cli, receipt_id, t, tmp_path, "node-signature", "evidence")
    t = copy.deepcopy(bundle)
    t["request"] = flip_hex(bundle["request"], len(bytes.fromhex(bundle["request"])) - 30)
    verify_fails(cli, receipt_id, t, tmp_path, "request-signature", "request_signature")
    t = copy.deepcopy(bundle)
    if t["proof"]["path"]:
        t["proof"]["path"][0] = flip_hex(t["proof"]["path"][0], 0)
    else:
        t["proof"]["tree_size"] += 1
    verify_fails(cli, receipt_id, t, tmp_path, "inclusion-proof", "inclusion")
    t = copy.deepcopy(bundle)
    t["header"] = flip_hex(bundle["header"], 40)
    verify_fails(cli, receipt_id, t, tmp_path, "header", "inclusion")

    # --- refusals change nothing ---
    cli.json("keys", "new", "bob")
    before = {w: balance(cli, w) for w in ("bob", "dev1", node, alice)}
    low = cli.run("infer", "digits@1.0", "--input", input_file, key="bob", expect=1)
    assert "balance" in (low.stdout + low.stderr).lower()
    # Wrong shape, wrong dtype, unknown model: clear errors, nothing charged.
    x = vectors[0]["inputs"]["x"]
    wrong_shape = {"x": {"dtype": "float32", "shape": [1, 63], "data": x["data"][:63]}}
    p = cli.run("infer", "digits@1.0", "--input", write_json(tmp_path / "shape.json", wrong_shape),
                key="dev1", expect=1)
    assert "shape" in p.stdout.lower(), p.stdout
    wrong_dtype = {"x": {"dtype": "int32", "shape": [1, 64], "data": [0] * 64}}
    p = cli.run("infer", "digits@1.0", "--input", write_json(tmp_path / "dtype.json", wrong_dtype),
                key="dev1", expect=1)
    assert "dtype" in p.stdout.lower() or "int32" in p.stdout, p.stdout
    p = cli.run("infer", "nosuchmodel@1.0", "--input", input_file, key="dev1", expect=1)
    assert "NOT_FOUND" in p.stdout
    p = cli.run("infer", "digits@9.9", "--input", input_file, key="dev1", expect=1)
    assert "NOT_FOUND" in p.stdout
    over = cli.run("tx", "transfer", alice, 10**18, key="dev1", expect=1)
    assert "INSUFFICIENT_FUNDS" in over.stdout
    # The same signed request again (replayed nonce) is refused by the node.
    r = requests.post(devnet.url + "/infer", json={"request": bundle["request"], "inputs": bundle["inputs"]},
                      timeout=30)
    assert r.status_code in (400, 403, 409, 422) and "nonce" in r.json()["error"]["message"]
    # A tx replayed from a block is refused by the chain (bad nonce).
    height = result.get("height") or bundle["height"]
    block = devnet.get(f"/chain/blocks/{height}").json()
    raw_tx = block["txs"][0]["raw"]
    r = requests.post(devnet.url + "/chain/txs", json={"tx": raw_tx, "wait_ms": 0}, timeout=30)
    assert r.status_code == 422 and r.json()["check"]["code_name"] == "BAD_NONCE"
    # Malformed tx and oversized request bodies get clear 4xx errors.
    r = requests.post(devnet.url + "/chain/txs", json={"tx": "00ff"}, timeout=30)
    assert 400 <= r.status_code < 500
    r = requests.post(devnet.url + "/infer", data="x" * (33 << 20), timeout=60)
    assert r.status_code == 413
    r = requests.get(devnet.url + "/hub/files/" + cid_of(b"never uploaded"), timeout=30)
    assert r.status_code == 404
    time.sleep(0.5)
    after = {w: balance(cli, w) for w in ("bob", "dev1", node, alice)}
    assert after == before

    # --- restart: everything is still there ---
    height_before = devnet.get("/status").json()["height"]
    app_hash_before = devnet.get(f"/chain/blocks/{height_before}").json()["header"]["app_hash"]
    devnet.stop()
    devnet.start()
    assert devnet.get(f"/chain/blocks/{height_before}").json()["header"]["app_hash"] == app_hash_before
    assert cli.json("verify", receipt_id, "--replay")["valid"] is True
    assert [v["version"] for v in cli.json("hub", "versions", "digits")] == ["1.0", "1.1"]
    assert balance(cli, alice) == after[alice]
    dl2 = cli.json("hub", "download", "digits@1.1", "--out", tmp_path / "dl2")
    assert dl2["manifest_cid"] == v11["manifest_cid"]


def test_kill_9_during_block_production(devnet: Devnet, cli: Cli, tmp_path: Path):
    carol = cli.json("keys", "new", "carol")["address"]
    # A receipt and a hub version that must survive the kill.
    result = cli.json("infer", "digits-cnn@1.0", "--input", MODELS / "sample_input_cnn.json", key="dev3")
    receipt_id = result["receipt_id"]
    settled_height = result["height"]
    settled_header = devnet.get(f"/chain/blocks/{settled_height}").json()["header"]
    stop = threading.Event()
    confirmed = []

    def spam():
        while not stop.is_set():
            p = cli.run("tx", "transfer", carol, 1, key="dev2", expect=None)
            if p.returncode == 0:
                confirmed.append(json.loads(p.stdout)["height"])

    worker = threading.Thread(target=spam)
    worker.start()
    time.sleep(3)
    devnet.proc.send_signal(signal.SIGKILL)
    devnet.proc.wait()
    stop.set()
    worker.join()
    assert confirmed, "no transfer confirmed before the kill"

    devnet.start()
    status = devnet.get("/status").json()
    assert status["height"] >= max(confirmed)
    # Every transfer confirmed before the kill is still there; blocks chain by hash.
    assert balance(cli, carol) >= len(confirmed)
    prev = None
    for h in range(1, status["height"] + 1):
        header = devnet.get(f"/chain/blocks/{h}").json()["header"]
        if prev is not None:
            assert header["prev_hash"] == prev
        prev = header["hash"]
    # Committed blocks are unchanged (same app hash), the receipt verifies, the hub serves.
    assert devnet.get(f"/chain/blocks/{settled_height}").json()["header"] == settled_header
    last_confirmed = max(confirmed)
    assert devnet.get(f"/chain/blocks/{last_confirmed}").json()["header"]["height"] == last_confirmed
    assert cli.json("verify", receipt_id, "--replay")["valid"] is True
    dl = cli.json("hub", "download", "digits-cnn@1.0", "--out", tmp_path / "after-kill")
    assert (tmp_path / "after-kill" / "cnn.onnx").read_bytes() == (MODELS / "cnn.onnx").read_bytes()
    assert dl["manifest_cid"] == devnet.info["demo_models"][1]["manifest_cid"]
    # The chain keeps producing after recovery.
    devnet.wait_height(status["height"] + 2)
    cli.json("tx", "transfer", carol, 1, key="dev2")
