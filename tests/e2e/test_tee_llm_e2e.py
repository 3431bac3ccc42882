"""tee mode for GGUF (LLM) versions end to end (issue 8, docs/llm.md "Modes", docs/tee-enclave.md):
a tee devnet (`lucid devnet` starts the dev enclave), a tiny random-weight llama
(tests/llm/make_llama_gguf.py) published in the hub; `lucid infer NAME@VER --prompt ... --mode
tee` and the official `openai` client (body field `lucid_mode`, header `X-Lucid-Mode`, streamed
and not) get answers generated and signed in the enclave, identical to the vanilla answer of the
same request; the receipts settle, `lucid verify` and `lucid verify --replay` pass, and a flipped
byte in the output or in the enclave signature is rejected. The enclave gets the model file once
(by CID) and refuses bytes that do not hash to it."""
import copy
import json
import time
from pathlib import Path

import openai
import pytest
import requests

from conftest import REPO, tiny_llm_devnet

KEY = "lucid-dev-key"


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    d = tiny_llm_devnet(tmp_path_factory.mktemp("teellm"))  # tee on: the dev enclave runs
    yield d
    d.stop()


def client(net):
    return openai.OpenAI(base_url=net.url + "/v1", api_key=KEY, max_retries=0, timeout=120)


def lucid_of(obj):
    extra = getattr(obj, "model_extra", None) or {}
    return extra.get("lucid") or getattr(obj, "lucid", None)


def flip_hex(hex_text: str, byte_index: int) -> str:
    raw = bytearray(bytes.fromhex(hex_text))
    raw[byte_index] ^= 0x01
    return raw.hex()


def wait_settled(net, receipt_id):
    deadline = time.time() + 30
    while time.time() < deadline:
        r = net.get(f"/chain/receipts/{receipt_id}")
        if r.status_code == 200:
            return r.json()
        time.sleep(0.1)
    raise AssertionError(f"receipt {receipt_id} did not settle")


def verify(net, receipt_id, bundle=None, replay=False):
    args = ["verify", receipt_id]
    if bundle is not None:
        path = net.tmp / f"bundle-{receipt_id[:12]}-{time.time_ns()}.json"
        path.write_text(json.dumps(bundle))
        args += ["--bundle", path]
    if replay:
        args.append("--replay")
    p = net.cli.run(*args, expect=None)
    report = json.loads(p.stdout)
    assert (p.returncode == 0) == report["valid"], p.stdout + p.stderr
    return report


def ok_checks(report):
    return {c["name"] for c in report["checks"] if c["ok"] and not c.get("skipped")}


def failed_checks(report):
    return {c["name"] for c in report["checks"] if not c["ok"]}


def test_infer_tee_settles_verifies_replays(net):
    cli = net.cli
    args = ["infer", "tiny@1.0", "--prompt", "hello enclave", "--max-tokens", "10", "--temperature", "0.8",
            "--seed", "3"]
    tee = cli.json(*args, "--mode", "tee", key="dev1")
    receipt_id = tee["receipt_id"]
    assert set(tee["outputs"]) == {"llm_output", "tokens"}
    assert tee["receipt"]["mode"] == "tee" and tee["receipt"]["engine"] == "lucid-llm/1"
    rec = wait_settled(net, receipt_id)
    assert rec["receipt_id"] == receipt_id

    # The same request in vanilla mode: the same answer (output hash), another receipt.
    vanilla = cli.json(*args, key="dev2")
    assert vanilla["receipt"]["mode"] == "vanilla"
    assert vanilla["receipt"]["output_hash"] == tee["receipt"]["output_hash"]
    assert vanilla["outputs"] == tee["outputs"]

    report = verify(net, receipt_id)
    assert report["valid"] is True, report
    for check in ("request_signature", "evidence", "inclusion", "outputs_hash", "receipt_id", "enclave_registration"):
        assert check in ok_checks(report), (check, report)
    report = verify(net, receipt_id, replay=True)
    assert report["valid"] is True, report
    assert "replay" in ok_checks(report)

    # A flipped byte in the output (text or token) or in the enclave's signature is rejected.
    bundle = json.loads(Path(tee["bundle"]).read_text())
    for name in ("llm_output", "tokens"):
        t = copy.deepcopy(bundle)
        data = t["outputs"][name]["data"]
        if isinstance(data, list):
            data[-1] = data[-1] ^ 1
        else:  # hex or base64 text forms
            t["outputs"][name]["data"] = flip_hex(data, len(bytes.fromhex(data)) - 1)
        r = verify(net, receipt_id, t, replay=True)
        assert r["valid"] is False and "outputs_hash" in failed_checks(r), (name, r)
    t = copy.deepcopy(bundle)
    t["evidence"] = flip_hex(bundle["evidence"], len(bytes.fromhex(bundle["evidence"])) - 20)
    r = verify(net, receipt_id, t)
    assert r["valid"] is False and "evidence" in failed_checks(r), r
    t = copy.deepcopy(bundle)
    t["receipt"] = flip_hex(bundle["receipt"], len(bytes.fromhex(bundle["receipt"])) - 9)
    r = verify(net, receipt_id, t)
    assert r["valid"] is False and "receipt_id" in failed_checks(r), r


def test_openai_client_tee_stream_and_not(net):
    c = client(net)
    args = dict(model="tiny@1.0", messages=[{"role": "user", "content": "stream from the enclave"}], max_tokens=10,
                temperature=0.8, seed=11)
    whole = c.chat.completions.create(extra_body={"lucid_mode": "tee"}, **args)
    lw = lucid_of(whole)
    assert lw["mode"] == "tee" and lw["engine"] == "lucid-llm/1"
    assert lw["enclave_registration"]["registered_height"] > 1  # the registration it was signed under
    chunks = list(c.chat.completions.create(stream=True, extra_headers={"X-Lucid-Mode": "tee"}, **args))
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == whole.choices[0].message.content
    ls = lucid_of(chunks[-1])
    assert ls["mode"] == "tee"
    assert ls["tokens"] == lw["tokens"] and ls["output_hash"] == lw["output_hash"]
    assert ls["receipt_id"] != lw["receipt_id"]  # another request nonce
    # The vanilla answer of the same request is the same.
    plain = lucid_of(c.chat.completions.create(**args))
    assert plain["mode"] == "vanilla" and plain["output_hash"] == lw["output_hash"]

    for lucid in (lw, ls):
        rec = wait_settled(net, lucid["receipt_id"])
        assert rec["receipt"]["mode"] == "tee", rec
        report = verify(net, lucid["receipt_id"], lucid, replay=True)
        assert report["valid"] is True, report
        assert {"replay", "evidence", "enclave_registration", "outputs_hash"} <= ok_checks(report), report
    # Tampered: a token, the text, the enclave signature.
    bad_tokens = dict(lw, tokens=[lw["tokens"][0] ^ 1] + lw["tokens"][1:])
    assert verify(net, lw["receipt_id"], bad_tokens, replay=True)["valid"] is False
    h = lw["llm_output"]
    bad_text = dict(lw, llm_output=h[:-2] + ("01" if h[-2:] == "00" else "00"))
    assert verify(net, lw["receipt_id"], bad_text, replay=True)["valid"] is False
    ev = lw["evidence"]
    bad_sig = dict(lw, evidence=flip_hex(ev, len(bytes.fromhex(ev)) - 20))
    r = verify(net, lw["receipt_id"], bad_sig)
    assert r["valid"] is False and "evidence" in failed_checks(r), r

    # Completions route, and a mode the gateway does not take.
    comp = c.completions.create(model="tiny@1.0", prompt="Once upon a time", max_tokens=6, temperature=0,
                                extra_body={"lucid_mode": "tee"})
    assert lucid_of(comp)["mode"] == "tee"
    with pytest.raises(openai.BadRequestError) as e:
        c.chat.completions.create(extra_body={"lucid_mode": "zkml"}, **args)
    assert e.value.body["param"] == "lucid_mode"
    with pytest.raises(openai.BadRequestError):
        c.chat.completions.create(extra_body={"lucid_mode": "tee"}, extra_headers={"X-Lucid-Mode": "vanilla"}, **args)


def test_enclave_holds_the_model_file_by_cid(net):
    enclave = net.info["enclave"]
    gguf = (net.tmp / "tiny_llama.gguf").read_bytes()
    import hashlib
    import base64
    digest = hashlib.sha256(gguf).digest()
    cid = "b" + base64.b32encode(bytes([0x01, 0x55, 0x12, 0x20]) + digest).decode().lower().rstrip("=")
    # Sent once by the node for the tee requests above, kept by its CID.
    r = requests.get(f"http://{enclave}/models/{cid}", timeout=30)
    assert r.status_code == 200 and r.json()["size"] == len(gguf), r.text
    # Bytes that do not hash to the CID they are sent under are refused.
    bad = bytearray(gguf)
    bad[1000] ^= 1
    other = "b" + base64.b32encode(bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(b"x").digest()).decode().lower().rstrip("=")
    r = requests.put(f"http://{enclave}/models/{other}", data=bytes(bad), timeout=30)
    assert r.status_code == 400 and "DATA_LOSS" in r.json()["error"], r.text
    assert requests.get(f"http://{enclave}/models/{other}", timeout=30).status_code == 404


SMOLLM2 = REPO / ".cache" / "models" / "smollm2-135m-instruct-q4_1.gguf"


def test_smollm2_tee_uploads_once_and_replays(net):
    # A real 98 MB GGUF: sent to the enclave once (raw bytes, by CID), then only the manifest.
    if not SMOLLM2.exists():
        pytest.skip("SmolLM2 not fetched (tests/llm/fetch_smollm2.py)")
    cli = net.cli
    cli.run("hub", "create", "smollm2")
    cli.run("hub", "upload", "smollm2", SMOLLM2, "--version", "1.0")
    c = client(net)
    args = dict(model="smollm2@1.0", max_tokens=16, temperature=0,
                messages=[{"role": "user", "content": "What is the capital of France? Answer in one word."}])
    t0 = time.time()
    first = c.chat.completions.create(extra_body={"lucid_mode": "tee"}, **args)
    first_s = time.time() - t0
    t0 = time.time()
    chunks = list(c.chat.completions.create(stream=True, extra_body={"lucid_mode": "tee"}, **args))
    second_s = time.time() - t0
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == first.choices[0].message.content and "Paris" in text
    lf, ls = lucid_of(first), lucid_of(chunks[-1])
    assert lf["mode"] == ls["mode"] == "tee" and lf["output_hash"] == ls["output_hash"]
    vanilla = lucid_of(c.chat.completions.create(**args))
    assert vanilla["output_hash"] == lf["output_hash"]
    print(f"\nsmollm2 tee: first request (upload {SMOLLM2.stat().st_size} bytes + load + run) {first_s * 1000:.0f} ms, "
          f"second (streamed) {second_s * 1000:.0f} ms")
    wait_settled(net, lf["receipt_id"])
    report = verify(net, lf["receipt_id"], lf, replay=True)
    assert report["valid"] is True and "replay" in ok_checks(report), report


def test_restarted_enclave_gets_the_file_again_old_receipts_verify(net):
    # Last in this module: restarts the devnet (a new enclave process, a new key, no files).
    c = client(net)
    args = dict(model="tiny@1.0", messages=[{"role": "user", "content": "before the restart"}], max_tokens=6,
                temperature=0)
    before = lucid_of(c.chat.completions.create(extra_body={"lucid_mode": "tee"}, **args))
    wait_settled(net, before["receipt_id"])
    old_key = requests.get(f"http://{net.info['enclave']}/attestation", timeout=30).json()["public_key"]
    net.stop()
    net.start()
    assert requests.get(f"http://{net.info['enclave']}/attestation", timeout=30).json()["public_key"] != old_key
    after = lucid_of(c.chat.completions.create(extra_body={"lucid_mode": "tee"}, **args))
    assert after["output_hash"] == before["output_hash"] and after["evidence"] != before["evidence"]
    wait_settled(net, after["receipt_id"])
    for lucid in (before, after):
        report = verify(net, lucid["receipt_id"], lucid, replay=True)
        assert report["valid"] is True and {"replay", "enclave_registration"} <= ok_checks(report), report


def test_chat_cli_tee_mode_json(net):
    """`lucid chat --mode tee --json`: one JSON document (text, usage, the lucid field), answered
    in the enclave, the same answer as vanilla; the saved bundle settles, verifies and replays."""
    base = ["chat", "tiny@1.0", "--prompt", "hello from the cli", "--max-tokens", "6", "--seed", "5"]
    tee = net.cli.json(*base, "--mode", "tee")
    vanilla = net.cli.json(*base)
    assert tee["lucid"]["mode"] == "tee" and vanilla["lucid"]["mode"] == "vanilla"
    assert tee["text"] == vanilla["text"] and tee["lucid"]["output_hash"] == vanilla["lucid"]["output_hash"]
    assert tee["usage"]["completion_tokens"] >= 1 and Path(tee["bundle"]).exists()
    wait_settled(net, tee["lucid"]["receipt_id"])
    report = verify(net, tee["lucid"]["receipt_id"], replay=True)
    assert report["valid"] is True and "replay" in ok_checks(report), report
    bad = net.cli.run(*base, "--mode", "zkml", expect=None)
    assert bad.returncode != 0
