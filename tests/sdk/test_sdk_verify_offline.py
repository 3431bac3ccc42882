"""The Python verifier on results built entirely in Python (no devnet, no C++): a valid bundle
passes every check, each tampering fails the check that guards it, and without chain facts only
the chain-state check (node_registered) fails. The C++ cross-check is in test_sdk_e2e.py."""
import copy
import os

import sdk_devnet  # noqa: F401  (first: puts this checkout's sdk/python on sys.path)
from lucid_sdk import merkle
from lucid_sdk.encoding import BlockHeader, Evidence, InferenceRequest, Mode, Receipt, SignedHeader, SignedRequest
from lucid_sdk.keys import PrivateKey
from lucid_sdk.tensor import hash_tensor_map
from lucid_sdk.verify import ChainFacts, TrustedChain, verify_bundle

CHAIN = "lucid-test"
VALIDATOR, NODE, REQUESTER = (PrivateKey.from_seed(s) for s in ("validator", "node", "requester"))


def make_bundle(mode=Mode.VANILLA):
    inputs = {"x": {"dtype": "float32", "shape": [1, 2], "data": [1.0, -2.0]}}
    outputs = {"y": {"dtype": "int64", "shape": [2], "data": [3, -4]}}
    model = os.urandom(32)
    req = InferenceRequest(chain_id=CHAIN, requester=REQUESTER.address, model=model, mode=mode,
                           input_hash=hash_tensor_map(inputs), max_fee=100, nonce=1, node=NODE.address)
    sr = SignedRequest(req, REQUESTER.sign_hash(req.hash()))
    rec = Receipt(chain_id=CHAIN, request_hash=req.hash(), model=model, input_hash=req.input_hash,
                  output_hash=hash_tensor_map(outputs), mode=mode, node=NODE.address,
                  engine="lucid-onnx/f32-canonical/1", fee=60)
    ev = Evidence(mode, NODE.sign_hash(rec.id()))
    ids = [os.urandom(32), rec.id(), os.urandom(32)]
    leaves = [merkle.leaf_hash(i) for i in ids]
    proof = merkle.InclusionProof(1, 3, merkle.audit_path(1, leaves))
    h = BlockHeader(chain_id=CHAIN, height=7, time_ms=1_700_000_000_000, prev_hash=os.urandom(32),
                    txs_root=os.urandom(32), tx_count=3, receipts_root=merkle.merkle_root(leaves), receipt_count=3,
                    app_hash=os.urandom(32), proposer=VALIDATOR.address)
    sh = SignedHeader(h, VALIDATOR.sign_hash(h.hash()))
    return {"format": "lucid-result-bundle/1", "receipt_id": rec.id().hex(), "request": sr.encode().hex(),
            "receipt": rec.encode().hex(), "evidence": ev.encode().hex(), "inputs": inputs, "outputs": outputs,
            "proof": proof.to_json(), "header": sh.encode().hex()}


TRUSTED = TrustedChain(CHAIN, [VALIDATOR.address])
FACTS = ChainFacts(node_modes={NODE.address: {"vanilla"}})


def flip(hex_text, i):
    b = bytearray(bytes.fromhex(hex_text))
    b[i] ^= 1
    return b.hex()


def test_valid_and_offline():
    b = make_bundle()
    v = verify_bundle(b, TRUSTED, FACTS)
    assert v.valid, str(v)
    assert [c.name for c in v.checks] == ["bundle_decodes", "receipt_id", "request_signature", "chain_id",
                                          "receipt_matches_request", "fee_within_max", "node_registered", "evidence",
                                          "inputs_hash", "outputs_hash", "inclusion", "header_signer"]
    offline = verify_bundle(b, TRUSTED)
    assert offline.failed() == ["node_registered"]
    assert verify_bundle(b, TrustedChain("other-chain", [VALIDATOR.address]), FACTS).failed() == ["chain_id",
                                                                                                   "header_signer"]
    assert verify_bundle(b, TrustedChain(CHAIN, [NODE.address]), FACTS).failed() == ["header_signer"]


def test_each_tampering_fails_its_check():
    b = make_bundle()
    ev_len = len(bytes.fromhex(b["evidence"]))
    cases = {
        "request_signature": lambda t: t.__setitem__("request", flip(t["request"], len(bytes.fromhex(t["request"])) - 30)),
        "evidence": lambda t: t.__setitem__("evidence", flip(t["evidence"], ev_len - 30)),
        "outputs_hash": lambda t: t["outputs"]["y"]["data"].__setitem__(0, 5),
        "inputs_hash": lambda t: t["inputs"]["x"]["data"].__setitem__(1, -2.5),
        "bundle_decodes": lambda t: t.__setitem__("receipt", t["receipt"] + "00"),
    }
    for check, fn in cases.items():
        t = copy.deepcopy(b)
        fn(t)
        v = verify_bundle(t, TRUSTED, FACTS)
        assert not v.valid and check in v.failed(), (check, str(v))
    for name, change in (("sibling", lambda p: p["path"].__setitem__(0, flip(p["path"][0], 0))),
                         ("tree_size", lambda p: p.__setitem__("tree_size", 4)),
                         ("leaf_index", lambda p: p.__setitem__("leaf_index", 0))):
        t = copy.deepcopy(b)
        change(t["proof"])
        assert verify_bundle(t, TRUSTED, FACTS).failed() == ["inclusion"], name
    t = copy.deepcopy(b)
    t["receipt_id"] = flip(t["receipt_id"], 0)
    assert "receipt_id" in verify_bundle(t, TRUSTED, FACTS).failed()


def test_replay_evidence_is_the_node_signature_and_final_only_by_the_chain():
    b = make_bundle(Mode.REPLAY)

    def record(status):  # the chain's /chain/receipts/ID answer for this bundle
        return {"settlement": status, "final_height": 9, "raw": {"header": b["header"], "receipt": b["receipt"]}}
    final = ChainFacts(node_modes={NODE.address: {"replay"}}, on_chain=record("final"))
    v = verify_bundle(b, TRUSTED, final)
    assert v.valid, str(v)
    assert "settlement" in [c.name for c in v.checks]
    t = copy.deepcopy(b)
    t["evidence"] = flip(t["evidence"], len(bytes.fromhex(t["evidence"])) - 30)
    assert verify_bundle(t, TRUSTED, final).failed() == ["evidence"]
    for status in ("pending", "challenged", "overturned"):
        facts = ChainFacts(node_modes={NODE.address: {"replay"}}, on_chain=record(status))
        assert verify_bundle(b, TRUSTED, facts).failed() == ["settlement"], status


def test_async_request_recorded_on_chain_needs_no_signature():
    b = make_bundle()
    sr = SignedRequest.decode(bytes.fromhex(b["request"]))
    unsigned = SignedRequest(sr.request, bytes(65))
    b["request"] = unsigned.encode().hex()
    assert verify_bundle(b, TRUSTED, FACTS).failed() == ["request_signature"]
    recorded = ChainFacts(node_modes=FACTS.node_modes, async_requests={sr.request.hash(): unsigned.encode()})
    assert verify_bundle(b, TRUSTED, recorded).valid
    # Recorded with other bytes (e.g. another signature): the signature is checked as usual.
    other = ChainFacts(node_modes=FACTS.node_modes, async_requests={sr.request.hash(): sr.encode()})
    assert verify_bundle(b, TRUSTED, other).failed() == ["request_signature"]
