"""tee mode end to end on the devnet: `lucid devnet` starts the dev enclave (`lucid enclave
--dev`, its own process), the genesis carries its dev root and PCR0, the node registers the
enclave key with an attestation document; `lucid infer --mode tee` settles a receipt signed by
the enclave key and `lucid verify` passes (re-verifying the registration's attestation document
at its block's time); a flipped byte in the receipt or the enclave
signature fails verification; the enclave's document verifies with the dev root."""
import copy
import hashlib
import json
import os
import signal
import subprocess
from pathlib import Path

from conftest import LUCID, Cli, Devnet

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "models" / "digits"


def write_json(path: Path, obj) -> Path:
    path.write_text(json.dumps(obj))
    return path


def flip_hex(hex_text: str, byte_index: int) -> str:
    raw = bytearray(bytes.fromhex(hex_text))
    raw[byte_index] ^= 0x01
    return raw.hex()


def failed_checks(cli: Cli, receipt_id: str, bundle: dict, path: Path):
    write_json(path, bundle)
    p = cli.run("verify", receipt_id, "--bundle", path, expect=1)
    report = json.loads(p.stdout)
    assert report["valid"] is False
    return {c["name"] for c in report["checks"] if not c["ok"]}


def test_tee_infer_settles_and_verifies(devnet: Devnet, cli: Cli, tmp_path: Path):
    info = devnet.info
    assert info["enclave"].startswith("127.0.0.1:"), info
    # PCR0 is the SHA-384 of the binary the enclave runs (this lucid).
    assert info["enclave_pcr0"] == hashlib.sha384(Path(LUCID).read_bytes()).hexdigest()
    genesis = json.loads((devnet.home / "genesis.json").read_text())
    tee = genesis["params"]["tee"]
    root_der = (devnet.home / "enclave-pki" / "root.der").read_bytes()
    assert tee["dev_root_der"] == root_der.hex()
    assert info["enclave_pcr0"] in tee["allowed_pcr0"]

    # The node registered its enclave for tee mode.
    node = info["node"]
    nodes = devnet.get("/chain/nodes").json()["nodes"]
    assert "tee" in next(n for n in nodes if n["address"] == node)["modes"]
    enclave = devnet.get(f"/chain/enclaves/{node}").json()
    assert enclave["pcr0"] == info["enclave_pcr0"] and enclave["pcr0_allowed"] is True
    assert enclave["expires_at_ms"] > enclave["registered_at_ms"]

    # A fresh document from the enclave verifies with the dev root and binds the registered key.
    import requests
    att = requests.get(f"http://{info['enclave']}/attestation", params={"nonce": "0badc0de"}, timeout=30).json()
    assert att["public_key"] == enclave["public_key"]
    doc = tmp_path / "doc.bin"
    doc.write_bytes(bytes.fromhex(att["document"]))
    key_hash = hashlib.sha256(bytes.fromhex(att["public_key"])).hexdigest()
    p = cli.run("tee", "verify", doc, "--root", devnet.home / "enclave-pki" / "root.der", "--nonce", "0badc0de",
                "--key-hash", key_hash, "--pcr0", info["enclave_pcr0"], json_output=False)
    assert "VALID" in p.stdout
    cli.run("tee", "verify", doc, expect=1, json_output=False)  # the pinned AWS root refuses a dev document

    # Infer in tee mode: settles, and verifies offline.
    vectors = json.loads((MODELS / "mlp.vectors.json").read_text())
    input_file = write_json(tmp_path / "input.json", vectors[0]["inputs"])
    result = cli.json("infer", "digits-mlp@1.0", "--input", input_file, "--mode", "tee", key="dev1")
    receipt_id = result["receipt_id"]
    rec = cli.json("query", "receipt", receipt_id)
    assert rec["receipt_id"] == receipt_id
    report = cli.json("verify", receipt_id)
    assert report["valid"] is True, report
    ok = {c["name"] for c in report["checks"] if c["ok"] and not c.get("skipped")}
    for check in ("request_signature", "evidence", "inclusion", "outputs_hash", "receipt_id", "enclave_registration"):
        assert check in ok, (check, report)

    # Tampering: a flipped byte in the receipt or in the enclave signature fails verification.
    bundle = json.loads((devnet.home / "results" / f"{receipt_id}.json").read_text())
    t = copy.deepcopy(bundle)
    t["receipt"] = flip_hex(bundle["receipt"], len(bytes.fromhex(bundle["receipt"])) - 9)
    assert "receipt_id" in failed_checks(cli, receipt_id, t, tmp_path / "t-receipt.json")
    t = copy.deepcopy(bundle)
    t["evidence"] = flip_hex(bundle["evidence"], len(bytes.fromhex(bundle["evidence"])) - 20)
    assert "evidence" in failed_checks(cli, receipt_id, t, tmp_path / "t-sig.json")
    # A bundle naming a block without the key's registration fails the registration check.
    t = copy.deepcopy(bundle)
    assert t["enclave_registration"]["registered_height"] > 1
    t["enclave_registration"]["registered_height"] = 1
    assert "enclave_registration" in failed_checks(cli, receipt_id, t, tmp_path / "t-reg.json")


def test_enclave_process_new_key_per_start(tmp_path: Path):
    keys = []
    for _ in range(2):
        p = subprocess.Popen([str(LUCID), "enclave", "--dev", "--listen", "127.0.0.1:0", "--pki", str(tmp_path / "pki")],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            ready = json.loads(p.stdout.readline())
        finally:
            p.send_signal(signal.SIGTERM)
            assert p.wait(timeout=30) == 0
        keys.append(ready["public_key"])
        assert ready["pcr0"] == hashlib.sha384(Path(LUCID).read_bytes()).hexdigest()
    assert keys[0] != keys[1]
    # The PKI was written by the first start and read back by the second.
    assert sorted(os.listdir(tmp_path / "pki")) == ["intermediate.der", "leaf.der", "leaf_key.der", "root.der"]


def test_devnet_restart_new_enclave_key_old_receipts_verify(devnet: Devnet, cli: Cli, tmp_path: Path):
    node = devnet.info["node"]
    first = devnet.get(f"/chain/enclaves/{node}").json()
    vectors = json.loads((MODELS / "mlp.vectors.json").read_text())
    input_file = write_json(tmp_path / "input.json", vectors[0]["inputs"])
    before = cli.json("infer", "digits-mlp@1.0", "--input", input_file, "--mode", "tee", key="dev1")["receipt_id"]
    devnet.stop()
    devnet.start()  # same home: same genesis and PKI, a new enclave process with a new key
    second = devnet.get(f"/chain/enclaves/{node}").json()
    assert second["public_key"] != first["public_key"]
    assert second["registered_height"] > first["registered_height"]
    assert second["pcr0"] == first["pcr0"] and second["pcr0_allowed"] is True
    result = cli.json("infer", "digits-mlp@1.0", "--input", input_file, "--mode", "tee", key="dev2")
    report = cli.json("verify", result["receipt_id"])
    assert report["valid"] is True, report
    # The receipt signed by the previous enclave key still verifies: its bundle names the
    # registration it was signed under, re-verified from that block.
    old = cli.json("verify", before)
    assert old["valid"] is True, old
    assert any(c["name"] == "enclave_registration" and c["ok"] for c in old["checks"])


def test_admin_revokes_and_allows_the_measurement_by_cli(devnet: Devnet, cli: Cli, tmp_path: Path):
    pcr0 = devnet.info["enclave_pcr0"]
    vectors = json.loads((MODELS / "mlp.vectors.json").read_text())
    input_file = write_json(tmp_path / "input.json", vectors[0]["inputs"])
    # Only the tee admin (dev0 on the devnet) may change the params.
    p = cli.run("tx", "tee-params", "--revoke-pcr0", pcr0, key="dev1", expect=1)
    assert "UNAUTHORIZED" in p.stderr + p.stdout, p.stderr
    p = cli.run("tx", "tee-params", "--revoke-pcr0", "abcd", key="dev0", expect=1)
    assert "48 bytes" in p.stderr + p.stdout
    cli.run("tx", "tee-params", key="dev0", expect=1)  # nothing to change

    out = cli.json("tx", "tee-params", "--revoke-pcr0", pcr0, key="dev0")
    assert pcr0 not in out["tee_params"]["allowed_pcr0"]
    assert devnet.get(f"/chain/enclaves/{devnet.info['node']}").json()["pcr0_allowed"] is False
    p = cli.run("infer", "digits-mlp@1.0", "--input", input_file, "--mode", "tee", key="dev1", expect=1)
    assert "pcr0" in (p.stderr + p.stdout).lower(), p.stderr

    out = cli.json("tx", "tee-params", "--allow-pcr0", pcr0, "--heartbeat", "2h", key="dev0")
    assert pcr0 in out["tee_params"]["allowed_pcr0"] and out["tee_params"]["heartbeat_ms"] == 7_200_000
    result = cli.json("infer", "digits-mlp@1.0", "--input", input_file, "--mode", "tee", key="dev1")
    assert cli.json("verify", result["receipt_id"])["valid"] is True
