"""An independent Python verifier for Lucid results (result bundles, docs/formats/bundle.md).

Written from docs/formats/*.md, not from the C++ code, and sharing none of it: its own
canonical encoding (:mod:`lucid_sdk.encoding`), SHA-256 (hashlib), Keccak-256 (pycryptodome),
secp256k1 recovery (eth-keys), RFC 9162 inclusion proofs (:mod:`lucid_sdk.merkle`) and tensor
hashing (:mod:`lucid_sdk.tensor`). ``tests/sdk`` runs it and ``lucid verify`` over the same
valid and tampered bundles and demands the same verdict.

Checks, in order (names as ``lucid verify`` prints them):

``bundle_decodes``       request, receipt and evidence decode canonically (one encoding per value)
``receipt_id``           TaggedSha256("lucid:receipt:v1", receipt) equals the id asked about
``enclave_registration`` (tee only) the evidence's signer is the enclave the node's API reports as
                         registered for the node (Python does not re-verify the attestation document)
``request_signature``    the requester's signature over SigningDigest(request hash) recovers to ``requester``,
                         or (chain facts) the request is an async request the chain recorded, byte for byte
``chain_id``             request and receipt are for the trusted chain
``receipt_matches_request`` request hash, model, input hash, mode agree; node agrees unless the request allows any
``fee_within_max``       receipt fee <= request max_fee
``node_registered``      the node is registered for the mode (chain state: :class:`ChainFacts`)
``evidence``             vanilla: 65-byte node signature (v 0/1, low s) over SigningDigest(receipt id)
                         recovering to ``receipt.node``; tee: the same by the enclave key, which must be
                         the one the chain registered for the node, unexpired at the block time, PCR0
                         allowed (registration facts taken from the node's API, see below); zkml:
                         NOT checked in Python (always fails, never passes unchecked); replay: the node's
                         signature as for vanilla (finality is the chain's challenge window: the
                         receipt record's ``settlement``, see docs/settlement.md)
``settlement``           (replay only) the chain's receipt record says ``final``: its challenge window
                         closed without a successful challenge
``inputs_hash``          HashTensorMap(inputs) equals the request's input_hash (SKIP when the bundle has none)
``outputs_hash``         HashTensorMap(outputs) equals the receipt's output_hash (SKIP when none)
``inclusion``            the header's signature recovers to its proposer; proof tree_size equals the
                         header's receipt_count; the RFC 9162 path leads from MerkleLeafHash(receipt id)
                         to the header's receipts_root
``header_signer``        header chain id is the trusted chain's and its proposer a trusted validator
``chain_agrees``         (with chain facts) the chain holds byte-identical receipt and header

Not checked in Python: zkml proofs (use ``lucid verify``); for tee, the enclave's Nitro
attestation document and the block that registered it (``lucid verify`` re-verifies both
offline; Python takes the registration from ``/chain/enclaves``); ``--replay``; CometBFT commits.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Union

from .encoding import DecodeError, Evidence, Mode, Receipt, SignedHeader, SignedRequest, ZERO_ADDRESS
from .hashing import signing_digest
from .keys import SignatureError, address_from_hex, recover_address
from .merkle import InclusionProof, MerkleError, leaf_hash, verify_inclusion
from .tensor import TensorError, hash_tensor_map


class CheckFailed(Exception):
    """Raised inside a check; its message becomes the check's detail."""


@dataclass
class Check:
    """One named check: ``ok`` with a detail, or failed with the reason. ``skipped`` checks count as ok."""

    name: str
    ok: bool
    detail: str
    skipped: bool = False


@dataclass
class Verdict:
    """All checks of one bundle; :attr:`valid` only when there are checks and every one passed."""

    receipt_id: str
    checks: List[Check] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def failed(self) -> List[str]:
        return [c.name for c in self.checks if not c.ok]

    def to_json(self) -> Dict[str, Any]:
        return {"receipt_id": self.receipt_id, "valid": self.valid,
                "checks": [{"name": c.name, "ok": c.ok, "skipped": c.skipped, "detail": c.detail} for c in self.checks]}

    def __str__(self) -> str:
        lines = [f"receipt {self.receipt_id}"]
        for c in self.checks:
            lines.append(f"  {'SKIP' if c.skipped else 'ok  ' if c.ok else 'FAIL'}  {c.name}: {c.detail}")
        lines.append("VALID" if self.valid else "INVALID")
        return "\n".join(lines)


@dataclass
class TrustedChain:
    """What the verifier trusts: the chain id and the validator addresses (from a genesis)."""

    chain_id: str
    validators: List[bytes]

    @classmethod
    def from_genesis(cls, genesis: Mapping[str, Any]) -> "TrustedChain":
        """From a genesis JSON (``<home>/genesis.json`` of a devnet, or ``/chain/genesis``)."""
        return cls(str(genesis["chain_id"]), [address_from_hex(v) for v in genesis["validators"]])

    @classmethod
    def from_genesis_file(cls, path: Union[str, Path]) -> "TrustedChain":
        return cls.from_genesis(json.loads(Path(path).read_text()))


@dataclass
class EnclaveFacts:
    """A node's enclave registration (tee): enclave address, expiry and whether its PCR0 is allowed."""

    enclave_address: bytes
    expires_at_ms: int
    pcr0_allowed: bool


@dataclass
class ChainFacts:
    """Chain state the verifier needs beyond the bundle (``None`` fields: not known).

    ``node_modes``: address -> registered mode names (``/chain/nodes``); ``on_chain``: the
    ``/chain/receipts/ID`` answer, or the error text when the chain has none; ``enclave``: the
    node's registration (tee).
    """

    node_modes: Optional[Dict[bytes, Set[str]]] = None
    # Async requests the chain recorded (docs/settlement.md): request hash -> the recorded
    # SignedRequest encoding. Such a request needs no signature (workflow runs have none).
    async_requests: Optional[Dict[bytes, bytes]] = None
    on_chain: Optional[Dict[str, Any]] = None
    on_chain_error: Optional[str] = None
    enclave: Optional[EnclaveFacts] = None


def _hex(bundle: Mapping[str, Any], name: str) -> bytes:
    v = bundle.get(name)
    if not isinstance(v, str):
        raise CheckFailed(f"bundle lacks {name}")
    try:
        return bytes.fromhex(v[2:] if v.startswith("0x") else v)
    except ValueError as e:
        raise CheckFailed(f"{name} is not hex: {e}") from None


def _sig_check(data: bytes, h: bytes, expected: bytes, what: str) -> None:
    if len(data) != 65:
        raise CheckFailed(f"{what} signature must be 65 bytes, got {len(data)}")
    if data[64] > 1:
        raise CheckFailed(f"{what} signature recovery id {data[64]} is not 0 or 1")
    try:
        got = recover_address(signing_digest(h), data)
    except SignatureError as e:
        raise CheckFailed(f"{what} signature: {e}") from None
    if got != expected:
        raise CheckFailed(f"{what} signature recovers to 0x{got.hex()}, not 0x{expected.hex()}")


def verify_evidence(receipt: Receipt, evidence: Evidence, time_ms: Optional[int] = None,
                    enclave: Optional[EnclaveFacts] = None) -> str:
    """Checks the evidence for ``receipt``; returns a detail or raises :class:`CheckFailed`."""
    if evidence.mode != receipt.mode:
        raise CheckFailed(f"evidence mode {evidence.mode.api_name} is not the receipt's mode {receipt.mode.api_name}")
    rid = receipt.id()
    if evidence.mode == Mode.VANILLA:
        _sig_check(evidence.data, rid, receipt.node, "node")
        return f"vanilla evidence valid for receipt {rid.hex()}"
    if evidence.mode == Mode.REPLAY:
        _sig_check(evidence.data, rid, receipt.node, "node")
        return f"replay evidence valid for receipt {rid.hex()} (final only once its challenge window closes)"
    if evidence.mode == Mode.TEE:
        if enclave is None:
            raise CheckFailed(f"node 0x{receipt.node.hex()} has no registered enclave (as far as this verifier knows)")
        if time_ms is None or time_ms >= enclave.expires_at_ms:
            raise CheckFailed(f"enclave registration expired at {enclave.expires_at_ms} ms (time {time_ms})")
        if not enclave.pcr0_allowed:
            raise CheckFailed("enclave measurement PCR0 is no longer allowed (revoked)")
        _sig_check(evidence.data, rid, enclave.enclave_address, "enclave")
        return f"tee evidence valid for receipt {rid.hex()} (registration taken from the node's API)"
    if evidence.mode == Mode.ZKML:
        raise CheckFailed("zkml proof not checked in Python: verify it with `lucid verify`")
    raise CheckFailed(f"mode {evidence.mode.api_name} evidence is not supported yet")


def llm_tensors(bundle: Mapping[str, Any]) -> "tuple[Optional[Dict[str, Any]], Optional[Dict[str, Any]]]":
    """An LLM answer's bundle (the OpenAI routes' ``lucid`` field) carries the canonical request and
    output bytes instead of tensors: the tensors they stand for (docs/formats/llm.md), or None.

    ``llm_request`` becomes ``{"llm_request": uint8[n]}`` as is (Python does not decode the LLM
    request: ``lucid verify`` decodes it first and treats one that does not decode as absent);
    ``llm_output`` + ``tokens`` become ``{"llm_output": uint8[m], "tokens": int32[k]}``.
    """
    inputs: Optional[Dict[str, Any]] = None
    outputs: Optional[Dict[str, Any]] = None
    try:
        if "inputs" not in bundle and isinstance(bundle.get("llm_request"), str):
            b = bytes.fromhex(bundle["llm_request"])
            inputs = {"llm_request": {"dtype": "uint8", "shape": [len(b)], "data": list(b)}}
    except ValueError:
        inputs = None
    try:
        toks = bundle.get("tokens")
        if "outputs" not in bundle and isinstance(bundle.get("llm_output"), str) and isinstance(toks, list):
            b = bytes.fromhex(bundle["llm_output"])
            ids = []
            for t in toks:
                if isinstance(t, bool) or not isinstance(t, int):
                    raise ValueError("token ids are integers")
                u = t & 0xFFFFFFFF  # as the C++ view: int64 -> uint32 -> int32
                ids.append(u - (1 << 32) if u >= 1 << 31 else u)
            outputs = {"llm_output": {"dtype": "uint8", "shape": [len(b)], "data": list(b)},
                       "tokens": {"dtype": "int32", "shape": [len(ids)], "data": ids}}
    except ValueError:
        outputs = None
    return inputs, outputs


def verify_bundle(bundle: Mapping[str, Any], trusted: TrustedChain, facts: Optional[ChainFacts] = None,
                  receipt_id: Optional[str] = None) -> Verdict:
    """Verifies a result bundle. ``receipt_id`` defaults to the bundle's ``receipt_id``.

    Without ``facts`` (fully offline) ``node_registered`` fails (it is chain state) and
    ``chain_agrees`` is not run; pass :func:`chain_facts` to check them like ``lucid verify``.
    """
    rid_text = receipt_id if receipt_id is not None else str(bundle.get("receipt_id", ""))
    v = Verdict(rid_text.lower())
    try:
        rid = bytes.fromhex(rid_text[2:] if rid_text.startswith("0x") else rid_text)
        if len(rid) != 32:
            raise ValueError("not 32 bytes")
    except ValueError as e:
        v.checks.append(Check("receipt_id", False, f"receipt id is not 64 hex characters: {e}"))
        return v

    def run(name: str, fn: Any) -> None:
        try:
            v.checks.append(Check(name, True, str(fn())))
        except (CheckFailed, DecodeError, MerkleError, TensorError, SignatureError, ValueError) as e:
            v.checks.append(Check(name, False, str(e)))

    try:
        req = SignedRequest.decode(_hex(bundle, "request"))
        rec = Receipt.decode(_hex(bundle, "receipt"))
        ev = Evidence.decode(_hex(bundle, "evidence"))
    except (CheckFailed, DecodeError) as e:
        v.checks.append(Check("bundle_decodes", False, str(e)))
        return v
    v.checks.append(Check("bundle_decodes", True, "request, receipt and evidence decode canonically"))
    r = req.request

    def receipt_id_check() -> str:
        if rec.id() != rid:
            raise CheckFailed(f"receipt hashes to {rec.id().hex()}, not {rid.hex()}")
        return "receipt hashes to the id asked for"
    run("receipt_id", receipt_id_check)

    if rec.mode == Mode.TEE:
        def enclave_registration() -> str:
            if len(ev.data) != 65:
                raise CheckFailed("tee evidence is not a 65-byte signature")
            try:
                signer = recover_address(signing_digest(rid_of_receipt), ev.data)
            except SignatureError as e:
                raise CheckFailed(f"tee evidence: {e}") from None
            if facts is None or facts.enclave is None:
                raise CheckFailed(f"node 0x{rec.node.hex()} has no enclave registration known to this verifier")
            if facts.enclave.enclave_address != signer:
                raise CheckFailed(f"the evidence is signed by 0x{signer.hex()}, not the node's registered enclave")
            return ("the signing key is the node's registered enclave per the node's API "
                    "(attestation document and registration block not re-verified in Python)")
        rid_of_receipt = rec.id()
        run("enclave_registration", enclave_registration)

    def request_signature() -> str:
        recorded = facts.async_requests.get(r.hash()) if facts and facts.async_requests else None
        if recorded is not None and recorded == req.encode():
            return f"request recorded on chain (async request {r.hash().hex()})"
        _sig_check(req.signature, r.hash(), r.requester, "request")
        return f"signed by requester 0x{r.requester.hex()}"
    run("request_signature", request_signature)

    def chain_id() -> str:
        if r.chain_id != trusted.chain_id:
            raise CheckFailed(f'request chain id "{r.chain_id}" is not "{trusted.chain_id}"')
        if rec.chain_id != trusted.chain_id:
            raise CheckFailed(f'receipt chain id "{rec.chain_id}" is not "{trusted.chain_id}"')
        return f"chain {trusted.chain_id}"
    run("chain_id", chain_id)

    def matches() -> str:
        if rec.request_hash != r.hash():
            raise CheckFailed("receipt request_hash is not the request's hash")
        if rec.model != r.model:
            raise CheckFailed("receipt model is not the requested model")
        if rec.input_hash != r.input_hash:
            raise CheckFailed("receipt input_hash is not the request's input_hash")
        if rec.mode != r.mode:
            raise CheckFailed("receipt mode is not the requested mode")
        if r.node != ZERO_ADDRESS and rec.node != r.node:
            raise CheckFailed("receipt node is not the node the request names")
        return "request hash, model, input, mode and node agree"
    run("receipt_matches_request", matches)

    def fee() -> str:
        if rec.fee > r.max_fee:
            raise CheckFailed(f"receipt fee {rec.fee} exceeds the request's max_fee {r.max_fee}")
        return f"fee {rec.fee} <= max_fee {r.max_fee}"
    run("fee_within_max", fee)

    def registered() -> str:
        if facts is None or facts.node_modes is None:
            raise CheckFailed("node registration is chain state: no chain facts given")
        if rec.mode.api_name not in facts.node_modes.get(rec.node, set()):
            raise CheckFailed(f"node 0x{rec.node.hex()} is not registered for mode {rec.mode.api_name}")
        return f"node 0x{rec.node.hex()} registered for {rec.mode.api_name}"
    run("node_registered", registered)

    header: Optional[SignedHeader] = None
    if isinstance(bundle.get("header"), str):
        try:
            header = SignedHeader.decode(_hex(bundle, "header"))
        except (CheckFailed, DecodeError):
            header = None
    run("evidence", lambda: verify_evidence(rec, ev, header.header.time_ms if header else None,
                                            facts.enclave if facts else None))

    if rec.mode == Mode.REPLAY:
        def settlement() -> str:
            if facts is None or facts.on_chain is None:
                raise CheckFailed("a replay result is final only by the chain's settlement: no chain facts given")
            status, final = facts.on_chain.get("settlement", "final"), int(facts.on_chain.get("final_height", 0))
            if status == "final":
                return f"final: the challenge window closed at block {final} without a successful challenge"
            if status == "pending":
                raise CheckFailed(f"not final yet: a replay result can be challenged until block {final}")
            if status == "challenged":
                raise CheckFailed(f"challenged: a committee is re-executing it (challenge window ends at block {final})")
            if status == "overturned":
                raise CheckFailed("overturned: the challenge committee found another output; the requester was refunded")
            raise CheckFailed(f"unknown settlement '{status}'")
        run("settlement", settlement)

    def io(name: str, key: str, expected: bytes, what: str) -> None:
        if key not in bundle:
            v.checks.append(Check(name, True, f"{key} not held locally", skipped=True))
            return

        def fn() -> str:
            if hash_tensor_map(bundle[key]) != expected:
                raise CheckFailed(f"{key} do not hash to the {what}")
            return f"{key} hash to the {what}"
        run(name, fn)
    llm_inputs, llm_outputs = llm_tensors(bundle)
    if llm_inputs is not None or llm_outputs is not None:
        bundle = dict(bundle)
        if llm_inputs is not None:
            bundle["inputs"] = llm_inputs
        if llm_outputs is not None:
            bundle["outputs"] = llm_outputs
    io("inputs_hash", "inputs", r.input_hash, "signed request's input_hash")
    io("outputs_hash", "outputs", rec.output_hash, "signed receipt's output_hash")

    if "proof" in bundle and "header" in bundle:
        def inclusion() -> str:
            proof = InclusionProof.from_json(bundle["proof"])
            sh = SignedHeader.decode(_hex(bundle, "header"))
            h = sh.header
            _sig_check(sh.signature, h.hash(), h.proposer, f"header {h.height}: block proposer")
            if proof.tree_size != h.receipt_count:
                raise CheckFailed(f"proof is for a tree of {proof.tree_size} receipts but block {h.height} "
                                  f"holds {h.receipt_count}")
            verify_inclusion(leaf_hash(rid), proof, h.receipts_root)
            return "receipt is in the receipts root of a signed block header"
        run("inclusion", inclusion)
        if header is not None:
            hh = header.header

            def signer() -> str:
                if hh.chain_id != trusted.chain_id:
                    raise CheckFailed(f"header is for chain {hh.chain_id}")
                if hh.proposer not in trusted.validators:
                    raise CheckFailed(f"header proposer 0x{hh.proposer.hex()} is not a trusted validator")
                return f"block {hh.height} signed by a trusted validator"
            run("header_signer", signer)
            if facts is not None and (facts.on_chain is not None or facts.on_chain_error is not None):
                def agrees() -> str:
                    if facts.on_chain is None:
                        raise CheckFailed(facts.on_chain_error or "the chain holds no such receipt")
                    raw = facts.on_chain.get("raw", {})
                    if raw.get("header") != header.encode().hex() or raw.get("receipt") != rec.encode().hex():
                        raise CheckFailed("the chain holds a different receipt or header")
                    return "the chain holds the same receipt and header"
                run("chain_agrees", agrees)
    else:
        v.checks.append(Check("inclusion", False, "bundle lacks an inclusion proof"))
    return v


def chain_facts(client: Any, bundle: Mapping[str, Any], receipt_id: Optional[str] = None) -> ChainFacts:
    """Gathers :class:`ChainFacts` for a bundle from a node (``LucidClient``): nodes, the receipt, the enclave."""
    from .client import ApiError
    facts = ChainFacts(node_modes={})
    for n in client.nodes():
        facts.node_modes[address_from_hex(n["address"])] = set(n["modes"])  # type: ignore[index]
    rid = receipt_id if receipt_id is not None else str(bundle.get("receipt_id", ""))
    try:
        facts.on_chain = client.receipt(rid)
    except ApiError as e:
        facts.on_chain_error = str(e)
    try:
        sr = SignedRequest.decode(bytes.fromhex(str(bundle.get("request", ""))))
        h = sr.request.hash()
        recorded = client.get(f"/chain/requests/{h.hex()}")
        facts.async_requests = {h: bytes.fromhex(recorded["raw"]["request"])}
    except (ValueError, DecodeError, ApiError, KeyError):
        pass
    try:
        rec = Receipt.decode(bytes.fromhex(str(bundle.get("receipt", ""))))
        if rec.mode == Mode.TEE:
            reg = client.enclave("0x" + rec.node.hex())
            facts.enclave = EnclaveFacts(address_from_hex(reg["enclave_address"]), int(reg["expires_at_ms"]),
                                         bool(reg.get("pcr0_allowed", False)))
    except (ValueError, DecodeError, ApiError):
        pass
    return facts


def verify_with_node(client: Any, receipt_id: str, bundle: Optional[Mapping[str, Any]] = None,
                     trusted: Optional[TrustedChain] = None) -> Verdict:
    """Like ``lucid verify RECEIPT_ID [--bundle]``: the bundle (else the chain's copy), chain facts from
    the node, and ``trusted`` (else the node's genesis, trusted on first use)."""
    from .client import ApiError
    if trusted is None:
        trusted = TrustedChain.from_genesis(client.genesis())
    b: Dict[str, Any]
    if bundle is None:
        on = client.receipt(receipt_id)
        b = {"receipt_id": receipt_id, "request": on["raw"]["request"], "receipt": on["raw"]["receipt"],
             "evidence": on["raw"]["evidence"], "proof": on["proof"], "header": on["raw"]["header"]}
    else:
        b = dict(bundle)
        if "proof" not in b or "header" not in b or "evidence" not in b:
            # As `lucid verify`: what the bundle lacks (a zkml bundle saved before its proof
            # settled, a bundle without inclusion data) is taken from the chain, then checked.
            try:
                on = client.receipt(receipt_id)
                if "proof" not in b or "header" not in b:
                    b["proof"], b["header"] = on["proof"], on["raw"]["header"]
                if "evidence" not in b:
                    b["evidence"] = on["raw"]["evidence"]
            except ApiError:
                pass
    return verify_bundle(b, trusted, chain_facts(client, b, receipt_id), receipt_id)
