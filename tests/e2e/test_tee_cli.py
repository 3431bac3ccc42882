"""`lucid tee verify` on the real public Nitro documents in tests/data/tee (PROVENANCE.md):
exit codes, the fields and checks it prints, and its --json document. Offline, no devnet."""
import base64
import json
import subprocess
from pathlib import Path

from conftest import LUCID, REPO

DATA = REPO / "tests" / "data" / "tee"
CAPE = DATA / "cape_2022-09-15.b64"            # timestamp 1663263808848
EPSILON = DATA / "epsilon_2026-02-06.b64"      # timestamp 1770366258452, indefinite-length map
DEBUG = DATA / "eternis_debug_2024-09-09.b64"  # timestamp 1725911352400, PCR0-2 zero


def tee(*args):
    return subprocess.run([str(LUCID), "tee", "verify", *map(str, args)], capture_output=True, text=True,
                          timeout=60)


def tee_json(*args):
    p = tee(*args, "--json")
    return p.returncode, json.loads(p.stdout)


def test_real_document_verifies_at_its_own_time():
    p = tee(CAPE, "--at", "2022-09-15T17:45:00Z")
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout
    assert "module_id    i-0697c9729fa547b20-enc0183422ede9a5dc8" in out
    assert "digest       SHA384" in out
    assert "pcr0         ea4212ee" in out
    assert "public_key   32 bytes" in out and "nonce        12 bytes" in out
    assert "CN=aws.nitro-enclaves" in out
    for check in ("parse", "certificate chain", "signature", "timestamp in leaf validity", "debug mode",
                  "document age"):
        assert any(line.strip().startswith("ok") and check in line for line in out.splitlines()), check
    assert out.rstrip().endswith("VALID")


def test_json_and_milliseconds_and_raw_input(tmp_path: Path):
    rc, j = tee_json(EPSILON, "--at", "1770366259000")
    assert rc == 0 and j["valid"] is True
    assert j["document"]["public_key"] is None
    assert j["document"]["timestamp_ms"] == 1770366258452
    assert len(j["certificates"]) == 5
    assert all(c["ok"] for c in j["checks"])
    # The same document as raw CBOR.
    raw = tmp_path / "doc.cbor"
    text = EPSILON.read_text().strip()
    raw.write_bytes(base64.b64decode(text + "=" * (-len(text) % 4)))
    rc, j2 = tee_json(raw, "--at", "1770366259000")
    assert rc == 0 and j2["encoding"] == "raw" and j2["document"] == j["document"]


def test_refused_today_expired():
    rc, j = tee_json(CAPE)  # --at defaults to now
    assert rc == 1 and j["valid"] is False
    assert "certificate chain" in j["reason"] and "expired" in j["reason"]


def test_refused_wrong_pcr0_and_debug_mode():
    p = tee(CAPE, "--at", "1663263809000", "--pcr0", "00" * 48)
    assert p.returncode == 1 and "REFUSED: attestation refused: pcr0" in p.stdout
    rc, j = tee_json(DEBUG, "--at", "1725911352400")
    assert rc == 1
    refused = [c["check"] for c in j["checks"] if not c["ok"]]
    assert refused == ["debug mode"]


def test_flipped_byte_refused(tmp_path: Path):
    text = CAPE.read_text().strip()
    doc = bytearray(base64.b64decode(text + "=" * (-len(text) % 4)))
    doc[len(doc) // 2] ^= 1
    f = tmp_path / "flipped.cbor"
    f.write_bytes(bytes(doc))
    assert tee(f, "--at", "1663263809000").returncode == 1


def test_usage_errors():
    assert tee(CAPE, "--at", "yesterday").returncode == 2
    assert tee(CAPE, "--pcr0", "abcd").returncode == 2
