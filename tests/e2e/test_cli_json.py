"""`--json` on every command: stdout is exactly one JSON document, for successes and for
errors (which carry the code, the message and a hint with the next step), across keys, tx,
hub, infer, verify, query, run, quantize and tee."""
import json
import subprocess

from conftest import LUCID, REPO, Cli, Devnet, free_port

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


def test_errors_a_user_meets_name_the_next_step(devnet: Devnet, cli: Cli, tmp_path):
    """No node, an unknown model or version, a balance too low, a missing or damaged key, an
    unknown receipt, another chain's trust anchor: each error ends with the command to run."""
    def hint_of(*args, node=None, home=None):
        p = subprocess.run([str(LUCID), "--home", str(home or devnet.home), "--node", node or devnet.url, "--json",
                            *map(str, args)], capture_output=True, text=True, timeout=120)
        doc = json.loads(p.stdout)
        assert p.returncode == 1, (args, doc)
        return doc["error"]["hint"] if "error" in doc else doc["hint"]

    inp = M / "sample_input_mlp.json"
    assert "`lucid devnet`" in hint_of("query", "account", "dev0", node=f"http://127.0.0.1:{free_port()}")
    assert "`lucid hub list`" in hint_of("infer", "nosuch@1.0", "--input", inp, "--from", "dev1")
    assert "`lucid hub versions digits-mlp`" in hint_of("infer", "digits-mlp@9.9", "--input", inp, "--from", "dev1")

    cli.run("keys", "new", "poor")
    for args in (("infer", "digits-mlp@1.0", "--input", inp), ("tx", "transfer", "dev0", 5)):
        hint = hint_of(*args, "--from", "poor")
        assert "`lucid query account poor`" in hint and "`lucid tx transfer poor AMOUNT --from" in hint, (args, hint)

    broken = devnet.home / "keys" / "broken.json"
    broken.write_text("{not json")
    broken.chmod(0o600)
    assert "`lucid keys new NAME`" in hint_of("tx", "transfer", "dev0", 5, "--from", "broken")
    assert "`lucid keys list`" in hint_of("tx", "transfer", "dev0", 5, "--from", "nosuchkey")

    assert "--bundle FILE" in hint_of("verify", "00" * 32)
    assert "`lucid infer`" in hint_of("query", "receipt", "00" * 32)

    # A --home whose genesis is another chain's: the receipt fails chain_id, and the report
    # says which trust anchor was used and how to choose the receipt's network.
    rid = cli.json("infer", "digits-mlp@1.0", "--input", inp, key="dev1")["receipt_id"]
    other = tmp_path / "other-home"
    other.mkdir()
    genesis = json.loads((devnet.home / "genesis.json").read_text())
    genesis["chain_id"] = "another-chain"
    (other / "genesis.json").write_text(json.dumps(genesis))
    hint = hint_of("verify", rid, home=other)
    assert str(other / "genesis.json") in hint and "--home" in hint, hint
