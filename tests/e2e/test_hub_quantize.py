"""`lucid hub quantize`: the devnet's digits-mlp@1.0 quantized to int8 and published as 1.1.

Checks the manifest records the quantization and the measured change, that the new version's
test vectors are the quantized model's own outputs (exact), that an inference on it verifies
with replay, and that the hub refuses an unknown quantization string."""
import json
import sys
from pathlib import Path

import numpy as np
import requests

from conftest import REPO, Cli, Devnet

MODELS = REPO / "models" / "digits"
sys.path.insert(0, str(MODELS))
from train import load_data  # noqa: E402  (the split the models were trained on)


def write_json(path: Path, obj) -> Path:
    path.write_text(json.dumps(obj))
    return path


def test_hub_quantize_digits_mlp(devnet: Devnet, cli: Cli, tmp_path: Path):
    x_train, _, _, _ = load_data()
    calib = write_json(tmp_path / "calib.json",
                       [{"x": {"dtype": "float32", "shape": [1, 64], "data": [float(v) for v in x]}}
                        for x in x_train[:100]])
    source = devnet.get("/chain/models/digits-mlp@1.0").json()["manifest"]

    out = cli.json("hub", "quantize", "digits-mlp@1.0", "--calibration", calib, "--version", "1.1",
                   "--price", 3, key="dev0")
    assert out["version"] == "1.1" and out["quantization"] == "int8-static/1"
    assert out["source_manifest_cid"] == source
    n = len(json.loads((MODELS / "mlp.vectors.json").read_text()))
    k, total = map(int, out["argmax_agreement"].split("/"))
    assert total == n and k >= n - 1, out
    assert 0 < float(out["max_abs_diff"]) < 0.2, out
    assert out["outputs"]["probs"]["argmax_agreement"] == out["argmax_agreement"]

    # The registry now points at the hub's manifest, which records what was measured.
    entry = devnet.get("/chain/models/digits-mlp@1.1").json()
    assert entry["manifest"] == out["manifest_cid"]
    raw = devnet.get("/hub/manifests/" + out["manifest_cid"]).content
    m = json.loads(raw)
    assert m["quantization"] == "int8-static/1"
    assert m["quantized_from"] == {"manifest": source, "max_abs_diff": out["max_abs_diff"],
                                   "argmax_agreement": out["argmax_agreement"]}
    assert m["model_file"] == "mlp.int8.onnx"
    assert "QLinearConv" in m["ops"] or "QLinearMatMul" in m["ops"], m["ops"]
    assert m["test_vectors"]["match"] == "exact" and m["test_vectors"]["count"] == n

    # Its test vectors are the float version's inputs with the int8 model's own outputs.
    float_vectors = json.loads((MODELS / "mlp.vectors.json").read_text())
    q_vectors = devnet.get("/hub/files/" + m["test_vectors"]["cid"]).json()
    for fv, qv in zip(float_vectors, q_vectors):
        assert np.array_equal(np.array(qv["inputs"]["x"]["data"], dtype=np.float32),
                              np.array(fv["inputs"]["x"]["data"], dtype=np.float32))
    assert any(qv["outputs"] != fv["outputs"] for fv, qv in zip(float_vectors, q_vectors))

    # A verifiable inference on the quantized version reproduces its pinned output.
    input_file = write_json(tmp_path / "input.json", float_vectors[0]["inputs"])
    result = cli.json("infer", "digits-mlp@1.1", "--input", input_file, key="dev1")
    got = np.array(result["outputs"]["probs"]["data"], dtype=np.float32)
    want = np.array(q_vectors[0]["outputs"]["probs"]["data"], dtype=np.float32)
    assert np.array_equal(got, want)
    replay = cli.json("verify", result["receipt_id"], "--replay")
    assert replay["valid"] is True
    assert any(c["name"] == "replay" and c["ok"] for c in replay["checks"])

    # Refusals: a wrong quantization string, a quantized source, a taken version.
    body = {"name": "digits-mlp", "version": "1.2",
            "files": [{"path": f["path"], "cid": f["cid"]} for f in m["files"]],
            "quantization": "int8-dynamic/1"}
    r = requests.post(devnet.url + "/hub/versions", json=body, timeout=30)
    assert r.status_code == 400, r.text
    assert "int8-dynamic/1" in r.json()["error"]["message"]
    body["quantization"] = "none"
    body["quantized_from"] = m["quantized_from"]
    r = requests.post(devnet.url + "/hub/versions", json=body, timeout=30)
    assert r.status_code == 400 and "quantized_from" in r.json()["error"]["message"], r.text
    body["quantization"] = "int8-static/1"
    body["quantized_from"] = dict(m["quantized_from"], argmax_agreement="5/4")
    r = requests.post(devnet.url + "/hub/versions", json=body, timeout=30)
    assert r.status_code == 400 and "argmax_agreement" in r.json()["error"]["message"], r.text
    p = cli.run("hub", "quantize", "digits-mlp@1.1", "--calibration", calib, "--version", "1.2", key="dev0",
                expect=1)
    assert "already quantized" in p.stdout + p.stderr
    before = [v["version"] for v in cli.json("hub", "versions", "digits-mlp")]
    p = cli.run("hub", "quantize", "digits-mlp@1.0", "--calibration", calib, "--version", "1.1", key="dev0",
                expect=1)
    assert [v["version"] for v in cli.json("hub", "versions", "digits-mlp")] == before == ["1.0", "1.1"]
    # Only the repository's owner publishes.
    cli.run("hub", "quantize", "digits-mlp@1.0", "--calibration", calib, "--version", "2.0", key="dev1", expect=1)


def test_hub_quantize_refuses_tampered_or_bad_input(devnet: Devnet, cli: Cli, tmp_path: Path):
    vectors = json.loads((MODELS / "mlp.vectors.json").read_text())
    # A calibration set that does not fit the model: named error, nothing published.
    wrong = write_json(tmp_path / "wrong.json", [{"y": vectors[0]["inputs"]["x"]}])
    p = cli.run("hub", "quantize", "digits-mlp@1.0", "--calibration", wrong, "--version", "1.1", key="dev0",
                expect=1)
    assert "unknown input 'y'" in p.stdout, p.stdout
    assert [v["version"] for v in cli.json("hub", "versions", "digits-mlp")] == ["1.0"]

    # One flipped byte in the stored model file: the fetch is refused, nothing published.
    calib = write_json(tmp_path / "calib.json", [v["inputs"] for v in vectors])
    source = devnet.get("/chain/models/digits-mlp@1.0").json()["manifest"]
    manifest = json.loads(devnet.get("/hub/manifests/" + source).content)
    model_cid = manifest["files"][0]["cid"]
    [blob] = list((devnet.home / "hub").glob("*/" + model_cid))
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0x01
    blob.chmod(0o644)
    blob.write_bytes(bytes(data))
    p = cli.run("hub", "quantize", "digits-mlp@1.0", "--calibration", calib, "--version", "1.1", key="dev0",
                expect=1)
    assert "DATA_LOSS" in p.stdout + p.stderr or "does not match" in p.stdout + p.stderr, p.stdout + p.stderr
    assert [v["version"] for v in cli.json("hub", "versions", "digits-mlp")] == ["1.0"]
