"""Verifiable inference: build and sign an :class:`InferenceRequest`, run it on the node, check the
answer at once, wait for settlement and keep a result bundle (as ``lucid infer`` does)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Union

from .cid import parse_cid
from .client import ApiError, LucidClient
from .encoding import Evidence, InferenceRequest, Mode, Receipt, SignedRequest
from .keys import PrivateKey, address_from_hex
from .receipts import BUNDLE_FORMAT, Bundle, wait_for_receipt
from .tensor import hash_tensor_map
from .verify import CheckFailed, EnclaveFacts, verify_evidence


class AnswerRejected(RuntimeError):
    """The node's answer does not verify (outputs vs receipt, receipt vs request, or evidence)."""


@dataclass
class InferenceResult:
    """Outputs (tensor JSON), the receipt id and the result bundle (with inclusion proof once settled)."""

    outputs: Dict[str, Any]
    receipt_id: str
    bundle: Bundle


def build_request(client: LucidClient, key: PrivateKey, ref: str, inputs: Mapping[str, Any],
                  mode: Union[Mode, str] = Mode.VANILLA, max_fee: Optional[int] = None, seed: int = 0,
                  params: bytes = b"", deadline_height: int = 0) -> SignedRequest:
    """Resolves ``ref``, fills chain id / nonce / node / fee cap from the node, and signs with ``key``.

    ``key`` may be any secp256k1 key, e.g. ``PrivateKey.from_eth_account(Account.create())``.
    """
    m = Mode[mode.upper()] if isinstance(mode, str) else mode
    entry = client.model(ref)
    st = client.status()
    if "node" not in st:
        raise ApiError(f"{client.url} runs no inference node")
    node_info = st["node"]
    node_fee = int(node_info.get("fees", {}).get(m.api_name, node_info["fee_per_inference"]))
    acct = client.account(key.address)
    req = InferenceRequest(chain_id=st["chain_id"], requester=key.address, model=parse_cid(entry["manifest"]),
                           mode=m, input_hash=hash_tensor_map(inputs), params=params, seed=seed,
                           max_fee=max_fee if max_fee is not None else node_fee + int(entry["price"]),
                           nonce=int(acct["request_nonce"]), deadline_height=deadline_height,
                           node=address_from_hex(node_info["address"]))
    return SignedRequest(req, key.sign_hash(req.hash()))


def infer(client: LucidClient, key: PrivateKey, ref: str, inputs: Mapping[str, Any],
          mode: Union[Mode, str] = Mode.VANILLA, max_fee: Optional[int] = None, seed: int = 0,
          wait: bool = True, timeout_s: float = 30.0) -> InferenceResult:
    """Runs one inference on ``ref`` (``NAME@MAJOR.MINOR``) with tensor-JSON ``inputs``.

    Before returning, checks that the outputs hash to the receipt, that the receipt answers
    this request, and (vanilla, tee) that the node's or its registered enclave's signature is valid; raises :class:`AnswerRejected`
    otherwise. With ``wait`` it waits for the block and adds ``height``, ``proof``, ``header``.
    """
    sr = build_request(client, key, ref, inputs, mode, max_fee, seed)
    resp = client.post("/infer", {"request": sr.encode().hex(), "inputs": dict(inputs)})
    rec = Receipt.decode(bytes.fromhex(resp["raw"]["receipt"]))
    outputs = resp["outputs"]
    if hash_tensor_map(outputs) != rec.output_hash:
        raise AnswerRejected("outputs do not hash to the receipt's output_hash")
    r = sr.request
    if (rec.request_hash, rec.model, rec.input_hash, rec.mode) != (r.hash(), r.model, r.input_hash, r.mode) \
            or rec.node != r.node or rec.fee > r.max_fee or rec.chain_id != r.chain_id:
        raise AnswerRejected("the receipt does not answer the signed request")
    proving = resp.get("status") == "proving"
    enclave_height: Optional[int] = None
    if rec.mode in (Mode.VANILLA, Mode.TEE):
        enclave = None
        if rec.mode == Mode.TEE:
            # The node's current enclave registration, as the node's API reports it.
            reg = client.enclave("0x" + rec.node.hex())
            enclave = EnclaveFacts(address_from_hex(reg["enclave_address"]), int(reg["expires_at_ms"]),
                                   bool(reg.get("pcr0_allowed", False)))
            enclave_height = int(reg["registered_height"])
        try:
            verify_evidence(rec, Evidence.decode(bytes.fromhex(resp["raw"]["evidence"])), int(time.time() * 1000),
                            enclave)
        except CheckFailed as e:
            raise AnswerRejected(str(e)) from None
    rid = resp["receipt_id"]
    bundle: Bundle = {"format": BUNDLE_FORMAT, "receipt_id": rid, "model": ref, "request": sr.encode().hex(),
                      "receipt": resp["raw"]["receipt"], "evidence": resp["raw"]["evidence"],
                      "inputs": dict(inputs), "outputs": outputs}
    if enclave_height is not None:
        bundle["enclave_registration"] = {"registered_height": enclave_height}
    if proving and not wait:
        del bundle["evidence"]
    if wait:
        on = wait_for_receipt(client, rid, timeout_s if not proving else max(timeout_s, 600.0))
        if proving:
            bundle["evidence"] = on["raw"]["evidence"]
        bundle["height"] = on["height"]
        bundle["proof"] = on["proof"]
        bundle["header"] = on["raw"]["header"]
    return InferenceResult(outputs, rid, bundle)
