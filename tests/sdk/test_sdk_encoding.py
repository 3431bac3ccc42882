"""Unit tests of the SDK's independent encoding, hashing, CID, Merkle and signature code against
golden values produced by the C++ side:

- tests/data/protocol/worked_example.txt: written by tests/protocol/worked_example_test.cc
  (C++ encoder, C++ tagged hashes, libsecp256k1 signatures), field by field;
- docs/formats/tensor.md's example (checked by tests/tensor/tensor_test.cc);
- tests/data/crypto/merkle_vectors.json and cid_vectors.json (the C++ tests check them too).
"""
import json
import re
from pathlib import Path

import pytest

import sdk_devnet  # noqa: F401  (first: puts this checkout's sdk/python on sys.path)
from lucid_sdk import cid, encoding, hashing, keys, merkle, tensor
from lucid_sdk.encoding import (BlockHeader, DecodeError, Evidence, InferenceRequest, Mode, PublishVersionTx,
                                Receipt, SignedHeader, SignedRequest, SignedTx, TransferTx, Tx)

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"


def worked_example():
    """{section: {field: hex}, plus "derived": {line key: value}} from the C++-written file."""
    sections, cur = {}, None
    for line in (DATA / "protocol" / "worked_example.txt").read_text().splitlines():
        if line.startswith("## "):
            cur = sections.setdefault(line[3:].strip(), {"fields": [], "derived": {}})
        elif cur is not None and "=" in line:
            k, v = line.split("=", 1)
            cur["derived"][k.strip()] = v.strip().split()[-1]
        elif cur is not None and re.match(r"^\s+\w+\s+[0-9a-f]+$", line):
            name, value = line.split()
            cur["fields"].append((name, value))
    return sections


WE = worked_example()


def fields(section):
    return dict(WE[section]["fields"])


def concat(section):
    return bytes.fromhex("".join(v for _, v in WE[section]["fields"]))


def str_field(hexval):
    b = bytes.fromhex(hexval)
    assert int.from_bytes(b[:4], "big") == len(b) - 4
    return b[4:]


def test_dev_keys_match_cpp():
    f = fields("InferenceRequest")
    assert keys.PrivateKey.from_seed("requester").address.hex() == f["requester"]
    assert keys.PrivateKey.from_seed("node").address.hex() == fields("Receipt")["node"]


def test_request_encoding_hash_signature():
    f = fields("InferenceRequest")
    req = InferenceRequest(
        chain_id=str_field(f["chain_id"]).decode(), requester=bytes.fromhex(f["requester"]),
        model=bytes.fromhex(f["model"]), mode=Mode(int(f["mode"], 16)), input_hash=bytes.fromhex(f["input_hash"]),
        params=str_field(f["params"]), seed=int(f["seed"], 16), max_fee=int(f["max_fee"], 16),
        nonce=int(f["nonce"], 16), deadline_height=int(f["deadline_height"], 16), node=bytes.fromhex(f["node"]))
    assert req.encode() == concat("InferenceRequest")
    d = WE["InferenceRequest"]["derived"]
    assert req.hash().hex() == d["hash (lucid:request:v1)"]
    assert hashing.signing_digest(req.hash()).hex() == d["signing digest"]
    key = keys.PrivateKey.from_seed("requester")
    sig = key.sign_hash(req.hash())
    assert sig.hex() == d["signature"]  # RFC 6979: eth-keys and libsecp256k1 give the same bytes
    assert keys.recover_address(hashing.signing_digest(req.hash()), sig) == key.address
    sr = SignedRequest(req, sig)
    assert SignedRequest.decode(sr.encode()) == sr


def test_receipt_and_evidence():
    f = fields("Receipt")
    rec = Receipt(chain_id=str_field(f["chain_id"]).decode(), request_hash=bytes.fromhex(f["request_hash"]),
                  model=bytes.fromhex(f["model"]), input_hash=bytes.fromhex(f["input_hash"]),
                  output_hash=bytes.fromhex(f["output_hash"]), mode=Mode(int(f["mode"], 16)),
                  node=bytes.fromhex(f["node"]), engine=str_field(f["engine"]).decode(), fee=int(f["fee"], 16))
    assert rec.encode() == concat("Receipt")
    assert rec.id().hex() == WE["Receipt"]["derived"]["id (lucid:receipt:v1)"]
    assert Receipt.decode(rec.encode()) == rec
    ev_bytes = concat("Evidence (vanilla)")
    ev = Evidence.decode(ev_bytes)
    assert ev.mode == Mode.VANILLA and ev.encode() == ev_bytes
    # the node's signature over the receipt id recovers to the node
    assert keys.recover_address(hashing.signing_digest(rec.id()), ev.data) == rec.node
    assert keys.PrivateKey.from_seed("node").sign_hash(rec.id()) == ev.data


def test_signed_tx():
    f = fields("SignedTx (transfer)")
    tx = Tx(chain_id=str_field(f["chain_id"]).decode(), sender=bytes.fromhex(f["from"]), nonce=int(f["nonce"], 16),
            max_tx_fee=int(f["max_tx_fee"], 16), body=TransferTx(bytes.fromhex(f["to"]), int(f["amount"], 16)))
    d = WE["SignedTx (transfer)"]["derived"]
    assert tx.signing_hash().hex() == d["signing hash (lucid:tx:v1)"]
    st = SignedTx(tx, keys.PrivateKey.from_seed("requester").sign_hash(tx.signing_hash()))
    assert st.encode() == concat("SignedTx (transfer)")
    assert st.id().hex() == d["tx id"]


def test_signed_header():
    raw = concat("SignedHeader")
    sh = SignedHeader.decode(raw)
    assert sh.encode() == raw
    assert sh.header.hash().hex() == WE["SignedHeader"]["derived"]["hash (lucid:block:v1)"]
    assert keys.recover_address(hashing.signing_digest(sh.header.hash()), sh.signature) == sh.header.proposer
    assert sh.header.height == 42 and sh.header.receipt_count == 2


def test_decoders_refuse_non_canonical():
    raw = concat("SignedHeader")
    with pytest.raises(DecodeError, match="trailing"):
        SignedHeader.decode(raw + b"\x00")
    with pytest.raises(DecodeError, match="truncated"):
        SignedHeader.decode(raw[:-1])
    with pytest.raises(DecodeError, match="recovery id"):
        SignedHeader.decode(raw[:-1] + bytes([27]))
    with pytest.raises(DecodeError, match="version"):
        SignedHeader.decode(b"\x02" + raw[1:])
    ev = bytearray(concat("Evidence (vanilla)"))
    ev[1] = 9
    with pytest.raises(DecodeError, match="mode"):
        Evidence.decode(bytes(ev))
    rec = bytearray(concat("Receipt"))
    rec[1:5] = (65).to_bytes(4, "big")  # chain_id length over the 64-byte limit
    with pytest.raises(DecodeError):
        Receipt.decode(bytes(rec))


def test_publish_version_tx_body_layout():
    w = encoding.Writer()
    PublishVersionTx("m", 1, 2, bytes(32), 7).write(w)
    assert w.bytes() == bytes.fromhex("000000016d" "00000001" "00000002") + bytes(32) + (7).to_bytes(8, "big") + b"\x00"


def test_tensor_example_from_tensor_md():
    t = {"dtype": "float32", "shape": [1, 2], "data": [1.0, -2.0]}
    b = tensor.tensor_bytes("x", t)
    assert b.hex() == "010102" "0000000000000001" "0000000000000002" "0000803f" "000000c0"
    assert hashing.sha256(b).hex() == "8895e9a6da68ebdf2893185c29a9c0aa2b9647e951bdfa1fb4caccef5c783e8a"
    with pytest.raises(tensor.TensorError):
        tensor.tensor_bytes("x", {"dtype": "float32", "shape": [1, 2], "data": [1.0, 1e39]})
    with pytest.raises(tensor.TensorError):
        tensor.tensor_bytes("x", {"dtype": "int8", "shape": [1], "data": [1.5]})


def test_cid_vectors():
    vec = json.loads((DATA / "crypto" / "cid_vectors.json").read_text())
    for v in vec["vectors"]:
        if "content_hex" in v:
            content = bytes.fromhex(v["content_hex"])
        else:  # tools/vectors/cid_vectors.py: byte i = (i * 31 + 7) % 251
            content = bytes((i * 31 + 7) % 251 for i in range(v["pattern_length"]))
        assert cid.cid_of(content) == v["cid"]
        assert cid.parse_cid(v["cid"]) == hashing.sha256(content)
    assert cid.cid_of(b"hello world") == "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
    for bad in list(vec["rejected"].values()) + ["Bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e",
                "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5f",  # non-zero unused bits
                "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5"]:
        with pytest.raises(cid.CidError):
            cid.parse_cid(bad)
    with pytest.raises(cid.CidError):
        cid.check_cid(b"hello worle", "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e")


def test_merkle_vectors():
    vec = json.loads((DATA / "crypto" / "merkle_vectors.json").read_text())
    leaves = [merkle.leaf_hash(bytes.fromhex(x)) for x in vec["leaves"]]
    for tree in vec["trees"]:
        n = tree["size"]
        assert merkle.merkle_root(leaves[:n]).hex() == tree["root"]
        for m, path in enumerate(tree["paths"]):
            assert [h.hex() for h in merkle.audit_path(m, leaves[:n])] == path
            proof = merkle.InclusionProof(m, n, [bytes.fromhex(h) for h in path])
            merkle.verify_inclusion(leaves[m], proof, bytes.fromhex(tree["root"]))
            if path:
                bad = merkle.InclusionProof(m, n, [bytes.fromhex(h) for h in path])
                bad.path[0] = bytes([bad.path[0][0] ^ 1]) + bad.path[0][1:]
                with pytest.raises(merkle.MerkleError):
                    merkle.verify_inclusion(leaves[m], bad, bytes.fromhex(tree["root"]))
    assert merkle.merkle_root(leaves).hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


def test_eth_account_key_is_a_lucid_key():
    eth_account = pytest.importorskip("eth_account")
    from eth_account.messages import encode_defunct
    acct = eth_account.Account.from_key(bytes.fromhex("b2c3a9294b45de65cc628aeddde58a7dc1b4ce10963b1eba81042d900bb8df7f"))
    k = keys.PrivateKey.from_eth_account(acct)
    assert keys.address_to_checksum_hex(k.address) == acct.address
    h = hashing.sha256(b"anything")
    signed = acct.sign_message(encode_defunct(primitive=h))
    eth_sig = signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big") + bytes([signed.v - 27])
    assert k.sign_hash(h) == eth_sig
    assert keys.recover_address(hashing.signing_digest(h), eth_sig) == k.address


def test_signature_rules():
    k = keys.PrivateKey.from_seed("x")
    d = hashing.sha256(b"d")
    sig = k.sign_digest(d)
    assert keys.recover_address(d, sig[:64] + bytes([sig[64] + 27])) == k.address  # 27/28 read as 0/1
    with pytest.raises(keys.SignatureError):
        keys.recover_address(d, sig[:64] + b"\x02")
    s = int.from_bytes(sig[32:64], "big")
    high = sig[:32] + (keys.SECP256K1_N - s).to_bytes(32, "big") + bytes([sig[64] ^ 1])
    with pytest.raises(keys.SignatureError, match="high s"):
        keys.recover_address(d, high)
