"""Lucid Python SDK: keys, hub, inference, chat, receipts and an independent verifier.

Quick start::

    from lucid_sdk import LucidClient, Hub, PrivateKey, infer, verify_with_node
    client = LucidClient("http://127.0.0.1:26680")
    key = PrivateKey.from_seed("lucid-dev-key-1")          # a devnet dev account
    result = infer(client, key, "digits@1.0", {"x": {"dtype": "float32", "shape": [1, 64], "data": [...]}})
    print(verify_with_node(client, result.receipt_id, result.bundle).valid)

See docs/sdk.md.
"""
from .chat import chat
from .cid import CidError, check_cid, cid_of, parse_cid
from .client import ApiError, LucidClient, TxRefused
from .encoding import (BlockHeader, DecodeError, Evidence, InferenceRequest, Mode, Receipt, SignedHeader,
                       SignedRequest, SignedTx, Tx)
from .hub import Download, Hub
from .infer import AnswerRejected, InferenceResult, build_request, infer
from .keys import PrivateKey, recover_address
from .receipts import bundle_from_chain, load_bundle, save_bundle, wait_for_receipt
from .tensor import hash_tensor_map
from .verify import ChainFacts, Check, TrustedChain, Verdict, chain_facts, verify_bundle, verify_with_node

__version__ = "0.1.0"

__all__ = [
    "AnswerRejected", "ApiError", "BlockHeader", "ChainFacts", "Check", "CidError", "DecodeError", "Download",
    "Evidence", "Hub", "InferenceRequest", "InferenceResult", "LucidClient", "Mode", "PrivateKey", "Receipt",
    "SignedHeader", "SignedRequest", "SignedTx", "TrustedChain", "Tx", "TxRefused", "Verdict", "build_request",
    "bundle_from_chain", "chain_facts", "chat", "check_cid", "cid_of", "hash_tensor_map", "infer", "load_bundle",
    "parse_cid", "recover_address", "save_bundle", "verify_bundle", "verify_with_node", "wait_for_receipt",
]
