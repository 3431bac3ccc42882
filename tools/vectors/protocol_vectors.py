#!/usr/bin/env python3
"""Protocol test vectors from an independent implementation (docs/formats/protocol.md).

Encodes a fixed InferenceRequest from the byte layout in the doc (not from the C++ code),
hashes it with the tagged SHA-256, and signs the hash as an Ethereum wallet would
(eth-account personal_sign: Account.sign_message(encode_defunct(primitive=h))).
tests/protocol/eth_compat_test.cc checks that C++ encodes the same bytes and accepts the
signature as a Lucid request signature.

Usage: .venv/bin/python tools/vectors/protocol_vectors.py > tests/data/protocol/eth_vectors.json
"""
import hashlib
import json
import struct

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak

FORMAT_VERSION = 1
MODE_VANILLA = 1


def tagged_sha256(tag: str, data: bytes) -> bytes:
    return hashlib.sha256(tag.encode() + b"\x00" + data).digest()


def u64(v: int) -> bytes:
    return struct.pack(">Q", v)


def blob(b: bytes) -> bytes:
    return struct.pack(">I", len(b)) + b


def encode_request(r: dict) -> bytes:
    return b"".join([
        bytes([FORMAT_VERSION]),
        blob(r["chain_id"].encode()),
        bytes.fromhex(r["requester"][2:]),
        bytes.fromhex(r["model_digest"]),
        bytes([r["mode"]]),
        bytes.fromhex(r["input_hash"]),
        blob(bytes.fromhex(r["params"])),
        u64(r["seed"]),
        u64(r["max_fee"]),
        u64(r["nonce"]),
        u64(r["deadline_height"]),
        bytes.fromhex(r["node"][2:]),
    ])


def main() -> None:
    # Fixed, public test key (never use for funds).
    private_key = hashlib.sha256(b"lucid-test-eth-compat").digest()
    account = Account.from_key(private_key)
    request = {
        "chain_id": "lucid-devnet",
        "requester": account.address.lower(),
        "model_digest": hashlib.sha256(b"model manifest").hexdigest(),
        "mode": MODE_VANILLA,
        "input_hash": hashlib.sha256(b"input tensors").hexdigest(),
        "params": "",
        "seed": 42,
        "max_fee": 1_000_000,
        "nonce": 7,
        "deadline_height": 0,
        "node": "0x" + "00" * 20,
    }
    encoding = encode_request(request)
    request_hash = tagged_sha256("lucid:request:v1", encoding)
    signed = Account.sign_message(encode_defunct(primitive=request_hash), private_key=private_key)
    digest = keccak(b"\x19Ethereum Signed Message:\n32" + request_hash)
    assert digest == bytes(signed.message_hash)
    signature = signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big") + bytes([signed.v])
    print(json.dumps({
        "source": "tools/vectors/protocol_vectors.py (eth-account personal_sign)",
        "private_key": private_key.hex(),
        "address": request["requester"],
        "request": request,
        "request_encoding": encoding.hex(),
        "request_hash": request_hash.hex(),
        "signing_digest": digest.hex(),
        "signature_eth": signature.hex(),  # v = 27/28 as Ethereum wallets return it
    }, indent=2))


if __name__ == "__main__":
    main()
