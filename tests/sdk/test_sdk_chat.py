"""Chat through the SDK and through the official `openai` client against a devnet, on a tiny
random-weight GGUF published with the SDK; each answer's `lucid` bundle verified by both the
C++ verifier and the Python verifier, valid and tampered."""
import copy
import json
import subprocess
import sys
import time

import pytest

from sdk_devnet import REPO, devnet  # noqa: F401  (devnet: fixture; import first: puts the SDK on sys.path)
from lucid_sdk import Hub, LucidClient, PrivateKey, TrustedChain, chat, verify_with_node
from lucid_sdk.chat import models
from lucid_sdk.receipts import wait_for_receipt

API_KEY = "lucid-dev-key"  # the devnet gateway's dev API key (requester dev1)


def flip(hex_text, index):
    raw = bytearray(bytes.fromhex(hex_text))
    raw[index] ^= 0x01
    return raw.hex()


@pytest.fixture(scope="module")
def llm(devnet, tmp_path_factory):
    pytest.importorskip("gguf")
    tmp = tmp_path_factory.mktemp("sdk-llm")
    subprocess.run([sys.executable, str(REPO / "tests" / "llm" / "make_llama_gguf.py"), str(tmp)], check=True,
                   capture_output=True, timeout=300)
    client = LucidClient(devnet.url)
    me = PrivateKey.generate()
    client.transfer(PrivateKey.from_keystore(devnet.home, "dev0"), me.address, 5_000_000)
    hub = Hub(client)
    hub.create_repo(me, "tiny-sdk")
    out = hub.upload(me, "tiny-sdk", "1.0", [tmp / "tiny_llama.gguf"])
    assert out["manifest"]["format"] == "gguf"
    return {"client": client, "tmp": tmp}


def both_verdicts(devnet, client, bundle, rid, path):
    path.write_text(json.dumps(bundle))
    p = devnet.lucid("verify", rid, "--bundle", path)
    assert p.returncode in (0, 1), p.stderr
    cpp = json.loads(p.stdout)
    py = verify_with_node(client, rid, bundle, TrustedChain.from_genesis_file(devnet.home / "genesis.json"))
    return cpp, py


def test_sdk_chat_and_openai_client_bundles_verify(llm, devnet):
    client = llm["client"]
    assert "tiny-sdk@1.0" in [m["id"] for m in models(client, API_KEY)]
    answer = chat(client, "tiny-sdk@1.0", [{"role": "user", "content": "hello"}], api_key=API_KEY,
                  max_tokens=8, temperature=0, seed=3)
    assert answer["object"] == "chat.completion"
    bundles = [answer["lucid"]]
    openai = pytest.importorskip("openai")
    oc = openai.OpenAI(base_url=devnet.url + "/v1", api_key=API_KEY, max_retries=0, timeout=120)
    r = oc.chat.completions.create(model="tiny-sdk@1.0", messages=[{"role": "user", "content": "hello"}],
                                   max_tokens=8, temperature=0, seed=3)
    lucid = r.model_extra["lucid"]
    assert r.choices[0].message.content == answer["choices"][0]["message"]["content"]  # same seed, same answer
    assert lucid["output_hash"] == answer["lucid"]["output_hash"]
    bundles.append(lucid)
    results = []
    for i, b in enumerate(bundles):
        rid = b["receipt_id"]
        wait_for_receipt(client, rid)
        req = bytes.fromhex(b["llm_request"])
        cases = [("valid", copy.deepcopy(b))]
        for name, key, idx in (("receipt.output_hash", "receipt", -20), ("evidence.signature", "evidence", 10),
                               ("llm_output.text", "llm_output", len(bytes.fromhex(b["llm_output"])) - 1),
                               ("llm_request.content", "llm_request", req.index(b"hello") + 1)):
            t = copy.deepcopy(b)
            t[key] = flip(t[key], idx if idx >= 0 else len(bytes.fromhex(t[key])) + idx)
            cases.append((name, t))
        t = copy.deepcopy(b)
        t["tokens"] = t["tokens"][:-1] + [t["tokens"][-1] + 1]
        cases.append(("tokens.last", t))
        for name, t in cases:
            cpp, py = both_verdicts(devnet, client, t, rid, llm["tmp"] / f"chat{i}-{name}.json")
            results.append((i, name, cpp["valid"], py.valid))
            assert cpp["valid"] == py.valid == (name == "valid"), (name, cpp, str(py))
            cpp_failed = sorted(c["name"] for c in cpp["checks"] if not c["ok"])
            assert cpp_failed == sorted(py.failed()), (name, cpp_failed, py.failed())
        # An llm_request that is not the signed request's bytes (a trailing byte: it does not
        # even decode) fails inputs_hash in both verifiers (lucid verify once treated it as
        # absent and said VALID; fixed in src/cli/commands.cc).
        t = copy.deepcopy(b)
        t["llm_request"] = t["llm_request"] + "00"
        cpp, py = both_verdicts(devnet, client, t, rid, llm["tmp"] / f"chat{i}-llm_request.trailing.json")
        results.append((i, "llm_request.trailing", cpp["valid"], py.valid))
        cpp_failed = sorted(c["name"] for c in cpp["checks"] if not c["ok"])
        assert not cpp["valid"] and cpp_failed == ["inputs_hash"], cpp
        assert not py.valid and py.failed() == ["inputs_hash"], str(py)
    print(f"\nchat bundles: {len(results)} cases, C++ and Python agree on all: "
          f"{sum(1 for r in results if r[2])} valid, {sum(1 for r in results if not r[2])} invalid")
