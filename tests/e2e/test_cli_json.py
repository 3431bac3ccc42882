"""`--json` on every command: stdout is exactly one JSON document, for successes and for
errors (which carry the code, the message and a hint with the next step), across keys, tx,
hub, infer, verify, query, run, quantize and tee."""
import json
import subprocess

from conftest import LUCID, REPO, Cli, Devnet

M = REPO / "models" / "digits"


def run_json(devnet, *args):
    p = subprocess.run([str(LUCID), "--home", str(devnet.home), "--node", devnet.url, "--json", *map(str, args)],
                       capture_output=True, text=True, timeout=120)
    try:
        doc = json.loads(p.stdout)
    except json.JSONDecodeError as e:
        raise AssertionError(f"lucid {' '.join(map(str, args))}: stdout is not one JSON document ({e}):\n{p.stdout}")
    return p.returncode, doc


def test_every_command_prints_one_json_document(devnet: Devnet, cli: Cli, tmp_path):
    ok = [
        ("keys", "new", "js"), ("keys", "list"), ("keys", "show", "js"),
        ("tx", "transfer", "js", 5, "--from", "dev0"),
        ("hub", "create", "js", "--from", "dev1"),
        ("hub", "upload", "js", M / "mlp.onnx", "--version", "1.0", "--test-vectors", M / "mlp.vectors.json",
         "--from", "dev1"),
        ("hub", "list"), ("hub", "versions", "js"), ("hub", "download", "js@1.0", "--out", tmp_path / "dl"),
        ("query", "account", "js"), ("query", "block", 1),
        ("run", M / "mlp.onnx", "--input", M / "sample_input_mlp.json"),
        ("quantize", M / "mlp.onnx", "--calibration", M / "mlp.vectors.json", "--out", tmp_path / "q.onnx"),
    ]
    for args in ok:
        rc, _ = run_json(devnet, *args)
        assert rc == 0, args
    rc, inf = run_json(devnet, "infer", "js@1.0", "--input", M / "sample_input_mlp.json", "--from", "dev1")
    assert rc == 0 and len(inf["receipt_id"]) == 64
    rc, ver = run_json(devnet, "verify", inf["receipt_id"])
    assert rc == 0 and ver["valid"] is True
    rc, _ = run_json(devnet, "query", "receipt", inf["receipt_id"])
    assert rc == 0

    # Errors: one JSON document with code, message and the next step to take.
    for args in [("verify", "00" * 32), ("hub", "versions", "nosuchrepo"),
                 ("tee", "verify", tmp_path / "missing.b64"), ("query", "account", "nosuchkey")]:
        rc, doc = run_json(devnet, *args)
        assert rc == 1, args
        assert doc["error"]["code"] and doc["error"]["message"], doc
    rc, doc = run_json(devnet, "hub", "versions", "nosuchrepo")
    assert "lucid hub list" in doc["error"]["hint"], doc
