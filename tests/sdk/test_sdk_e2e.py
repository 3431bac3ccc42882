"""The SDK end to end against a real `lucid devnet`, and the two verifiers checking each other.

- keys: generated keys and an eth-account key (whose own personal_sign signature the chain accepts);
- hub: create a repository, upload a version with a progress callback, list versions, download
  with CID checks (and a download through a tampering proxy is refused, nothing written);
- infer: several inferences (vanilla and tee) settled in one block (so inclusion proofs have siblings);
- cross-check: for every valid bundle and many tampered variants (flipped bytes in signatures,
  hashes, ids, proof siblings, header fields, model CIDs, fees, tensors ...) the C++ verifier
  (`lucid verify ID --bundle FILE`) and the Python verifier (lucid_sdk.verify) must give the same
  verdict on every case.
"""
import copy
import http.server
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from sdk_devnet import REPO, devnet  # noqa: F401  (devnet: fixture; import first: puts the SDK on sys.path)
from lucid_sdk import (CidError, Hub, LucidClient, PrivateKey, SignedRequest, TrustedChain, build_request, infer,
                       verify_with_node)
from lucid_sdk.hashing import signing_digest
from lucid_sdk.receipts import wait_for_receipt

MODELS = REPO / "models" / "digits"
REPO_NAME = "sdk-digits"


def flip(hex_text: str, index: int) -> str:
    raw = bytearray(bytes.fromhex(hex_text))
    raw[index] ^= 0x01
    return raw.hex()


def setb(hex_text: str, index: int, value: int) -> str:
    raw = bytearray(bytes.fromhex(hex_text))
    raw[index] = value
    return raw.hex()


class TamperingProxy:
    """Forwards GETs to the node and flips one byte of every body whose path starts with `prefix`."""

    def __init__(self, upstream: str, prefix: str):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                r = requests.get(upstream + self.path, timeout=30)
                body = r.content
                if self.path.startswith(outer.prefix) and body:
                    body = bytes([body[0] ^ 0x01]) + body[1:]
                    outer.tampered += 1
                self.send_response(r.status_code)
                self.send_header("Content-Type", r.headers.get("Content-Type", "application/octet-stream"))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.prefix = prefix
        self.tampered = 0
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def world(devnet, tmp_path_factory):
    """Publishes the digits MLP with the SDK and settles several inferences in one block."""
    client = LucidClient(devnet.url)
    dev0 = PrivateKey.from_keystore(devnet.home, "dev0")
    assert dev0.address_hex == next(a["address"] for a in devnet.info["dev_accounts"] if a["name"] == "dev0")
    publisher = PrivateKey.generate()
    client.transfer(dev0, publisher.address, 5_000_000)
    assert client.account(publisher.address)["balance"] == 5_000_000

    hub = Hub(client)
    hub.create_repo(publisher, REPO_NAME, description="digits via the SDK", task="image-classification",
                    license="MIT", tags=["digits", "sdk"])
    calls = []
    published = hub.upload(publisher, REPO_NAME, "1.0", [MODELS / "mlp.onnx"],
                           test_vectors=MODELS / "mlp.vectors.json", price=7, chunk_size=1024,
                           progress=lambda name, sent, total: calls.append((name, sent, total)))
    return {"client": client, "dev0": dev0, "publisher": publisher, "hub": hub, "published": published,
            "progress": calls, "tmp": tmp_path_factory.mktemp("sdk-world")}


def test_hub_upload_versions_download(world, devnet):
    client, hub, published = world["client"], world["hub"], world["published"]
    size = (MODELS / "mlp.onnx").stat().st_size
    model_calls = [c for c in world["progress"] if c[0] == "mlp.onnx"]
    assert model_calls and model_calls[-1][1:] == (size, size)
    assert [c[1] for c in model_calls] == sorted(c[1] for c in model_calls)  # monotonic
    assert len(model_calls) == -(-size // 1024), "one progress call per 1 KiB chunk"
    assert [v["version"] for v in hub.versions(REPO_NAME)] == ["1.0"]
    assert hub.versions(REPO_NAME)[0]["manifest"] == published["manifest_cid"]

    out = world["tmp"] / "download"
    dl = hub.download(f"{REPO_NAME}@1.0", out)
    assert dl.manifest_cid == published["manifest_cid"]
    assert (out / "mlp.onnx").read_bytes() == (MODELS / "mlp.onnx").read_bytes()
    # The C++ CLI agrees on what was published.
    p = devnet.lucid("hub", "versions", REPO_NAME)
    assert p.returncode == 0 and json.loads(p.stdout)[0]["manifest"] == published["manifest_cid"]

    # A hub (or a path to it) that alters bytes: refused, nothing written.
    for prefix in ("/hub/files/", "/hub/manifests/"):
        proxy = TamperingProxy(devnet.url, prefix)
        try:
            bad_out = world["tmp"] / f"tampered{prefix.replace('/', '-')}"
            with pytest.raises(CidError):
                Hub(LucidClient(proxy.url)).download(f"{REPO_NAME}@1.0", bad_out)
            assert proxy.tampered >= 1
            assert not bad_out.exists()
        finally:
            proxy.close()


@pytest.fixture(scope="module")
def settled(world, devnet):
    """Six inferences from six requesters, four vanilla (one from an eth-account key signing with
    eth-account itself) and two tee (the devnet's dev enclave), sent together so they settle in one block."""
    eth_account = pytest.importorskip("eth_account")
    from eth_account.messages import encode_defunct
    client, dev0 = world["client"], world["dev0"]
    acct = eth_account.Account.create()
    eth_key = PrivateKey.from_eth_account(acct)
    requesters = [eth_key] + [PrivateKey.generate() for _ in range(5)]
    for k in requesters:
        client.transfer(dev0, k.address, 1_000_000)
    vectors = json.loads((MODELS / "mlp.vectors.json").read_text())
    ref = f"{REPO_NAME}@1.0"

    def eth_signed_inference():
        # The request signed by eth-account's personal_sign (v 27/28 -> 0/1), not by the SDK.
        inputs = vectors[0]["inputs"]
        sr = build_request(client, eth_key, ref, inputs)
        signed = acct.sign_message(encode_defunct(primitive=sr.request.hash()))
        sig = signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big") + bytes([signed.v - 27])
        assert sig == sr.signature  # RFC 6979: the SDK's own signature is the same bytes
        sr = SignedRequest(sr.request, sig)
        resp = client.post("/infer", {"request": sr.encode().hex(), "inputs": inputs})
        on = wait_for_receipt(client, resp["receipt_id"])
        return {"format": "lucid-result-bundle/1", "receipt_id": resp["receipt_id"], "model": ref,
                "request": sr.encode().hex(), "receipt": resp["raw"]["receipt"], "evidence": resp["raw"]["evidence"],
                "inputs": inputs, "outputs": resp["outputs"], "height": on["height"], "proof": on["proof"],
                "header": on["raw"]["header"]}

    def sdk_inference(i):
        return infer(client, requesters[i], ref, vectors[i % len(vectors)]["inputs"]).bundle

    def tee_inference(i):
        return infer(client, requesters[i], ref, vectors[i % len(vectors)]["inputs"], mode="tee").bundle

    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(eth_signed_inference)] + [pool.submit(sdk_inference, i) for i in (1, 2, 3)] + \
                  [pool.submit(tee_inference, i) for i in (4, 5)]
        bundles = [f.result() for f in futures]
    # The chain accepted the eth-account-signed request: requester = the eth address, settled.
    on = client.receipt(bundles[0]["receipt_id"])
    assert on["request"]["requester"].lower() == acct.address.lower()
    return bundles


def test_inference_outputs_and_settlement(settled):
    vectors = json.loads((MODELS / "mlp.vectors.json").read_text())
    from lucid_sdk import Receipt
    assert [Receipt.decode(bytes.fromhex(b["receipt"])).mode.api_name for b in settled] == ["vanilla"] * 4 + ["tee"] * 2
    for i, b in enumerate(settled):
        got, want = b["outputs"]["probs"]["data"], vectors[i % len(vectors)]["outputs"]["probs"]["data"]
        assert max(abs(x - y) for x, y in zip(got, want)) < 1e-4
        assert b["proof"]["tree_size"] >= 1
    print(f"\nsettled heights {[b['height'] for b in settled]}, "
          f"proof tree sizes {[b['proof']['tree_size'] for b in settled]}")


def tampered_variants(b, other, other_header):
    """(name, bundle, receipt id to verify) for one valid bundle `b`; `other` is another valid bundle."""
    rid = b["receipt_id"]
    req, rec, ev, hdr = (bytes.fromhex(b[k]) for k in ("request", "receipt", "evidence", "header"))
    L = int.from_bytes(req[1:5], "big")  # request chain_id length
    P = int.from_bytes(req[90 + L:94 + L], "big")  # params length
    RL = int.from_bytes(rec[1:5], "big")
    E = int.from_bytes(rec[154 + RL:158 + RL], "big")  # engine length
    HL = int.from_bytes(hdr[1:5], "big")
    sig_r = len(req) - 65
    cases = []

    def field(name, key, index, how="flip", value=0):
        t = copy.deepcopy(b)
        t[key] = flip(t[key], index) if how == "flip" else setb(t[key], index, value)
        cases.append((name, t, rid))

    # the signed request
    field("request.signature.r", "request", sig_r + 5)
    field("request.signature.s", "request", sig_r + 40)
    field("request.signature.v", "request", len(req) - 1)
    field("request.signature.v=27", "request", len(req) - 1, "set", 27)
    field("request.chain_id", "request", 5)
    field("request.chain_id_length", "request", 4)
    field("request.requester", "request", 5 + L + 3)
    field("request.model_cid", "request", 25 + L + 7)
    mode = rec[133 + RL]
    other_mode = 1 if mode == 2 else 2  # vanilla <-> tee
    field("request.mode", "request", 57 + L, "set", 3)
    field("request.input_hash", "request", 58 + L + 31)
    field("request.seed", "request", 94 + L + P + 7)
    field("request.max_fee", "request", 102 + L + P + 7)
    field("request.nonce", "request", 110 + L + P + 7)
    field("request.node", "request", 126 + L + P)
    # the receipt
    field("receipt.chain_id", "receipt", 5)
    field("receipt.request_hash", "receipt", 5 + RL)
    field("receipt.model_cid", "receipt", 37 + RL + 10)
    field("receipt.input_hash", "receipt", 69 + RL)
    field("receipt.output_hash", "receipt", 101 + RL + 31)
    field("receipt.mode", "receipt", 133 + RL, "set", other_mode)
    field("receipt.node", "receipt", 134 + RL + 19)
    field("receipt.engine", "receipt", 158 + RL)
    field("receipt.fee", "receipt", 158 + RL + E + 7)
    t = copy.deepcopy(b)
    t["receipt"] = t["receipt"] + "00"
    cases.append(("receipt.trailing_byte", t, rid))
    t = copy.deepcopy(b)
    t["receipt"] = t["receipt"][:-2]
    cases.append(("receipt.truncated", t, rid))
    # the evidence (vanilla: the node's signature over the receipt id)
    field("evidence.mode=zkml", "evidence", 1, "set", 3)
    field("evidence.mode=other", "evidence", 1, "set", other_mode)
    field("evidence.length", "evidence", 5)
    field("evidence.signature.r", "evidence", 6 + 1)
    field("evidence.signature.s", "evidence", 38 + 30)
    field("evidence.signature.v", "evidence", 70)
    # the receipt id asked about
    t = copy.deepcopy(b)
    t["receipt_id"] = flip(rid, 0)
    cases.append(("receipt_id", t, t["receipt_id"]))
    # the inclusion proof
    if b["proof"]["path"]:
        for k in range(len(b["proof"]["path"])):
            t = copy.deepcopy(b)
            t["proof"]["path"][k] = flip(t["proof"]["path"][k], 31)
            cases.append((f"proof.sibling[{k}]", t, rid))
        t = copy.deepcopy(b)
        t["proof"]["path"] = t["proof"]["path"][:-1]
        cases.append(("proof.path_short", t, rid))
    t = copy.deepcopy(b)
    t["proof"]["path"] = t["proof"]["path"] + ["00" * 32]
    cases.append(("proof.path_long", t, rid))
    for name, key, delta in (("proof.leaf_index+1", "leaf_index", 1), ("proof.tree_size+1", "tree_size", 1),
                             ("proof.tree_size*2", "tree_size", b["proof"]["tree_size"])):
        t = copy.deepcopy(b)
        t["proof"][key] += delta
        cases.append((name, t, rid))
    t = copy.deepcopy(b)
    t["proof"]["leaf_index"] = -1
    cases.append(("proof.leaf_index=-1", t, rid))
    # the signed block header
    for name, off in (("chain_id", 5), ("height", 5 + HL + 7), ("time_ms", 13 + HL + 7), ("prev_hash", 21 + HL),
                      ("txs_root", 53 + HL), ("tx_count", 85 + HL + 3), ("receipts_root", 89 + HL + 5),
                      ("receipt_count", 121 + HL + 3), ("app_hash", 125 + HL), ("proposer", 157 + HL + 19),
                      ("signature.r", 177 + HL + 2), ("signature.s", 209 + HL + 2), ("signature.v", 241 + HL)):
        field(f"header.{name}", "header", off)
    t = copy.deepcopy(b)
    t["header"] = other_header
    cases.append(("header.another_signed_block", t, rid))
    # mixing parts of two valid results
    for key in ("request", "receipt", "evidence"):
        t = copy.deepcopy(b)
        t[key] = other[key]
        cases.append((f"swap.{key}", t, rid))
    # tensors held in the bundle
    t = copy.deepcopy(b)
    t["inputs"]["x"]["data"][0] += 1.0
    cases.append(("inputs.data", t, rid))
    t = copy.deepcopy(b)
    t["outputs"]["probs"]["data"][3] = t["outputs"]["probs"]["data"][3] * 0.5 + 0.25
    cases.append(("outputs.data", t, rid))
    t = copy.deepcopy(b)
    t["outputs"]["probs"]["dtype"] = "int32"
    cases.append(("outputs.dtype", t, rid))
    # changes that must NOT make a valid result invalid (both verifiers must still accept)
    for name, fn in (("ok.model_label", lambda t: t.__setitem__("model", "something-else")),
                     ("ok.height_label", lambda t: t.__setitem__("height", 123456)),
                     ("ok.no_inputs_outputs", lambda t: (t.pop("inputs"), t.pop("outputs"))),
                     ("ok.no_proof_header_from_chain", lambda t: (t.pop("proof"), t.pop("header"))),
                     ("ok.no_evidence_from_chain", lambda t: t.pop("evidence"))):
        t = copy.deepcopy(b)
        fn(t)
        cases.append((name, t, rid))
    return cases


def test_cpp_and_python_verifiers_agree(settled, devnet, world):
    client = world["client"]
    trusted = TrustedChain.from_genesis_file(devnet.home / "genesis.json")
    tmp = world["tmp"]
    # a signed header of another block (valid signature, other receipts root)
    other_height = next(h for h in range(1, 1000) if h != settled[0]["height"])
    other_header = client.block(other_height)["header_raw"]
    results = []
    t0 = time.time()
    for i, b in enumerate(settled):
        cases = [("valid", copy.deepcopy(b), b["receipt_id"])]
        cases += tampered_variants(b, settled[(i + 1) % len(settled)], other_header)
        for name, bundle, rid in cases:
            path = tmp / f"b{i}-{name}.json"
            path.write_text(json.dumps(bundle))
            p = devnet.lucid("verify", rid, "--bundle", path)
            assert p.returncode in (0, 1), f"{name}: lucid verify exited {p.returncode}: {p.stderr}"
            cpp = json.loads(p.stdout)
            assert cpp["valid"] == (p.returncode == 0)
            py = verify_with_node(client, rid, bundle, trusted)
            cpp_failed = sorted(c["name"] for c in cpp["checks"] if not c["ok"])
            results.append((i, name, cpp["valid"], py.valid, cpp_failed, sorted(py.failed())))
    elapsed = time.time() - t0
    disagree = [r for r in results if r[2] != r[3]]
    same_checks = sum(1 for r in results if r[4] == r[5])
    n_valid = sum(1 for r in results if r[2] and r[3])
    print(f"\ncross-check: {len(results)} cases over {len(settled)} receipts in {elapsed:.1f} s: "
          f"{n_valid} accepted by both, {len(results) - n_valid - len(disagree)} rejected by both, "
          f"{len(disagree)} disagreements; identical failed-check sets in {same_checks}/{len(results)}")
    for r in results:
        if r[4] != r[5]:
            print(f"  failed checks differ: bundle {r[0]} {r[1]}: C++ {r[4]} Python {r[5]}")
    assert not disagree, "\n".join(f"bundle {i} {n}: C++ valid={c} Python valid={p} (C++ failed {cf}, Python {pf})"
                                   for i, n, c, p, cf, pf in disagree)
    assert same_checks == len(results), "the verifiers fail different checks (listed above)"
    for i, name, cpp_valid, py_valid, _, _ in results:
        assert cpp_valid == (name == "valid" or name.startswith("ok.")), f"bundle {i} {name}: C++ valid={cpp_valid}"
    assert any(b["proof"]["path"] for b in settled), "no receipt had proof siblings: the sibling cases did not run"


def test_zkml_result_is_not_accepted_unchecked(world, devnet):
    """zkml proofs are not verified in Python (docs/sdk.md): on a valid zkml result `lucid verify`
    says VALID and Python says INVALID with only `evidence` failing ("not checked in Python");
    a tampered proof is refused by both."""
    client = world["client"]
    ref = next(m["ref"] for m in devnet.info["demo_models"] if client.model(m["ref"]).get("zkml_commitment"))
    key = PrivateKey.generate()
    client.transfer(world["dev0"], key.address, 3_000_000)
    inputs = json.loads((MODELS / "sample_input_mlp.json").read_text())
    t0 = time.time()
    b = infer(client, key, ref, inputs, mode="zkml", timeout_s=600).bundle
    settle_s = time.time() - t0
    trusted = TrustedChain.from_genesis_file(devnet.home / "genesis.json")
    tmp = world["tmp"]
    path = tmp / "zkml.json"
    path.write_text(json.dumps(b))
    p = devnet.lucid("verify", b["receipt_id"], "--bundle", path)
    assert p.returncode == 0, p.stdout + p.stderr
    py = verify_with_node(client, b["receipt_id"], b, trusted)
    assert not py.valid and py.failed() == ["evidence"], str(py)
    assert "not checked in Python" in next(c.detail for c in py.checks if c.name == "evidence")
    t = copy.deepcopy(b)
    ev = bytes.fromhex(t["evidence"])
    t["evidence"] = flip(t["evidence"], len(ev) // 2)
    path = tmp / "zkml-tampered.json"
    path.write_text(json.dumps(t))
    p = devnet.lucid("verify", b["receipt_id"], "--bundle", path)
    assert p.returncode == 1 and "evidence" in {c["name"] for c in json.loads(p.stdout)["checks"] if not c["ok"]}
    assert "evidence" in verify_with_node(client, b["receipt_id"], t, trusted).failed()
    print(f"\nzkml {ref}: settled with its proof in {settle_s:.1f} s; evidence {len(ev)} bytes; "
          f"C++ VALID, Python INVALID (evidence not checked in Python); tampered proof refused by both")
