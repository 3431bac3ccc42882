"""zkml mode end to end (docs/zk.md): local `lucid zk prove/verify` with tampering, and a
devnet where the node answers, proves in the background and settles the proof on chain,
validators and `lucid verify` check it against the version's commitment, the digits CNN
published and answered with a proof, and a model whose circuit cannot be built (a padded
MaxPool) refused for zkml at publish time naming the op."""
import json
import time
from pathlib import Path

import numpy as np

from conftest import LUCID, REPO, Cli, Devnet
from test_devnet_e2e import balance, flip_hex, verify_fails, write_json

MODELS = REPO / "models" / "digits"


def lucid_local(*args, expect=0):
    import subprocess
    p = subprocess.run([str(LUCID), "--json", *map(str, args)], capture_output=True, text=True, timeout=300)
    assert p.returncode == expect, f"{args}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p


def test_local_prove_and_verify(tmp_path: Path):
    vectors = json.loads((MODELS / "mlp.vectors.json").read_text())
    inp = write_json(tmp_path / "input.json", vectors[0]["inputs"])
    proof = tmp_path / "mlp.proof"
    # A float model is quantized first (calibrated on the vectors' inputs), then proved.
    out = json.loads(lucid_local("zk", "prove", MODELS / "mlp.onnx", "--input", inp, "--out", proof,
                                 "--calibration", MODELS / "mlp.vectors.json").stdout)
    qmodel = Path(out["quantized_model"])
    assert proof.stat().st_size == out["proof_bytes"] < 1_000_000
    probs = np.array(out["outputs"]["probs"]["data"])
    assert int(np.argmax(probs)) == int(np.argmax(vectors[0]["outputs"]["probs"]["data"]))
    # The outputs are exactly what `lucid run` gives on the quantized model.
    ran = json.loads(lucid_local("run", qmodel, "--input", inp).stdout)
    assert ran["output_hash"] == out["output_hash"]

    ok = json.loads(lucid_local("zk", "verify", proof, "--model", qmodel).stdout)
    assert ok["valid"] is True and ok["model_commitment"] == out["model_commitment"]
    assert ok["output_hash"] == out["output_hash"] and ok["bound_to"] == "model"
    lucid_local("zk", "verify", proof, "--commitment", out["model_commitment"])
    # Another commitment, a flipped byte anywhere, a truncated proof: refused with a reason.
    other = "00" * 32
    bad = json.loads(lucid_local("zk", "verify", proof, "--commitment", other, expect=1).stdout)
    assert bad["valid"] is False and "another model" in bad["reason"]
    data = proof.read_bytes()
    for at in (10, len(data) // 3, len(data) // 2, len(data) - 5):
        tampered = bytearray(data)
        tampered[at] ^= 0x04
        t = tmp_path / f"t{at}.proof"
        t.write_bytes(bytes(tampered))
        r = json.loads(lucid_local("zk", "verify", t, "--model", qmodel, expect=1).stdout)
        assert r["valid"] is False and r["reason"]
    (tmp_path / "short.proof").write_bytes(data[:-1])
    lucid_local("zk", "verify", tmp_path / "short.proof", "--model", qmodel, expect=1)


def test_zkml_on_the_devnet(devnet: Devnet, cli: Cli, tmp_path: Path):
    vectors = json.loads((MODELS / "mlp.vectors.json").read_text())
    inp = write_json(tmp_path / "input.json", vectors[1]["inputs"])
    ref = "digits-mlp-int8@1.0"
    manifest = cli.json("hub", "versions", "digits-mlp-int8")
    assert manifest and manifest[0]["version"] == "1.0"

    node = devnet.info["node"]
    node_before, dev1_before = balance(cli, node), balance(cli, "dev1")
    result = cli.json("infer", ref, "--mode", "zkml", "--input", inp, key="dev1")
    rid = result["receipt_id"]
    assert "height" in result  # settled: the proof landed in a SubmitResult and was verified
    status = devnet.get(f"/node/proofs/{rid}").json()
    assert status["status"] == "submitted", status
    node_fee = devnet.get("/status").json()["node"]["fees"]["zkml"]
    assert balance(cli, "dev1") == dev1_before - node_fee - 5  # node's zkml fee + the publisher's price
    # The node paid its SubmitResult tx fee, 1 per byte of a ~0.12 MB proof, out of that fee.
    assert node_before + node_fee - 400_000 <= balance(cli, node) <= node_before + node_fee - 50_000

    report = cli.json("verify", rid)
    assert report["valid"] is True
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["evidence"]["ok"] and "zkml" in checks["evidence"]["detail"]

    # Tamper with the saved bundle's proof: refused offline, naming the evidence check.
    bundle = json.loads((devnet.home / "results" / f"{rid}.json").read_text())
    evidence_len = len(bytes.fromhex(bundle["evidence"]))
    for at in (20, evidence_len // 2, evidence_len - 40):
        t = dict(bundle)
        t["evidence"] = flip_hex(bundle["evidence"], at)
        verify_fails(cli, rid, t, tmp_path, f"proof{at}", "evidence")

    # Without waiting: the receipt is "proving" at the node until the proof settles on chain,
    # then `lucid verify` takes the settled proof.
    inp2 = write_json(tmp_path / "input2.json", vectors[3]["inputs"])
    quick = cli.json("infer", ref, "--mode", "zkml", "--input", inp2, "--no-wait", key="dev1")
    rid2 = quick["receipt_id"]
    seen = set()
    deadline = time.time() + 60
    while time.time() < deadline:
        q = cli.json("query", "receipt", rid2)
        seen.add(q["status"])
        if q["status"] == "settled":
            break
        assert q["status"] in ("proving", "submitted"), q
        time.sleep(0.05)
    assert "settled" in seen, seen
    assert cli.json("verify", rid2)["valid"] is True

    # zkml on a version published without a commitment: refused, nothing charged.
    before = balance(cli, "dev1")
    p = cli.run("infer", "digits-mlp@1.0", "--mode", "zkml", "--input", inp, key="dev1", expect=1)
    assert "zkml" in (p.stdout + p.stderr)
    assert balance(cli, "dev1") == before


def test_publish_refuses_zkml_naming_the_blocking_op(devnet: Devnet, cli: Cli, tmp_path: Path):
    qcnn = tmp_path / "cnn.int8.onnx"
    lucid_local("quantize", MODELS / "cnn.onnx", "--calibration", MODELS / "cnn.vectors.json", "--out", qcnn)
    # The quantized CNN proves (docs/zk.md "Convolutions and pooling"); the same CNN with a
    # padded MaxPool does not.
    import onnx
    m = onnx.load(str(qcnn))
    pool = next(n for n in m.graph.node if n.op_type == "MaxPool")
    for a in [a for a in pool.attribute if a.name == "pads"]:
        pool.attribute.remove(a)
    pool.attribute.append(onnx.helper.make_attribute("pads", [0, 0, 1, 1]))
    padded = tmp_path / "cnn.padded_pool.int8.onnx"
    onnx.save(m, str(padded))
    cli.json("hub", "create", "cnn8", key="dev0")
    p = cli.run("hub", "upload", "cnn8", padded, "--version", "1.0", "--zkml", key="dev0", expect=1)
    text = p.stdout + p.stderr
    assert "MaxPool" in text and "padded" in text, text
    # Without --zkml the version publishes, just without a commitment.
    pub = cli.json("hub", "upload", "cnn8", padded, "--version", "1.0", key="dev0")
    assert "zkml" not in pub["manifest"]
    pub = cli.json("hub", "upload", "cnn8", qcnn, "--version", "1.1", "--zkml", key="dev0")
    assert len(pub["manifest"]["zkml"]["model_commitment"]) == 64
    cin = write_json(tmp_path / "cnn_input.json", json.loads((MODELS / "cnn.vectors.json").read_text())[0]["inputs"])
    res = cli.json("infer", "cnn8@1.1", "--mode", "zkml", "--input", cin, key="dev1")
    assert cli.json("verify", res["receipt_id"])["valid"] is True
    # The quantized MLP publishes with a commitment the CLI recomputed from the file.
    qmlp = tmp_path / "mlp.int8.onnx"
    lucid_local("quantize", MODELS / "mlp.onnx", "--calibration", MODELS / "mlp.vectors.json", "--out", qmlp)
    cli.json("hub", "create", "mlp8", key="dev0")
    pub = cli.json("hub", "upload", "mlp8", qmlp, "--version", "1.0", "--zkml", key="dev0")
    assert len(pub["manifest"]["zkml"]["model_commitment"]) == 64
    inp = write_json(tmp_path / "input.json", json.loads((MODELS / "mlp.vectors.json").read_text())[2]["inputs"])
    res = cli.json("infer", "mlp8@1.0", "--mode", "zkml", "--input", inp, key="dev1")
    assert cli.json("verify", res["receipt_id"])["valid"] is True
