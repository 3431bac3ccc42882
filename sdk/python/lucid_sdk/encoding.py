"""Lucid's canonical binary encoding, written from docs/formats/protocol.md (format version 1).

Primitives: big-endian ``u8/u32/u64``; ``str``/``blob`` = ``u32`` length then bytes; addresses
(20), CIDs (the 32-byte SHA-256 digest), hashes (32) and signatures (65) are raw. Every
top-level structure starts with ``u8 version = 1``; nested structures are embedded whole.

Decoders follow the C++ rules so that exactly one encoding exists per value: they refuse
truncated input, trailing bytes, unknown versions / modes / tx types / mode bits, signatures
whose v is not 0/1, and fields over their size limit (raising :class:`DecodeError`).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum
from typing import List, Optional, Protocol, TypeVar, Union

from .hashing import BLOCK_TAG, RECEIPT_TAG, REQUEST_TAG, TX_TAG, sha256, tagged_sha256

FORMAT_VERSION = 1
ZERO_ADDRESS = bytes(20)

MAX_CHAIN_ID = 64
MAX_ENGINE = 128
MAX_PARAMS = 1 << 20
MAX_EVIDENCE = 8 << 20
MAX_REPO_NAME = 64
MAX_DESCRIPTION = 64 << 10
MAX_SHORT = 128
MAX_TAGS = 32
MAX_ENDPOINT = 256
MAX_ATTESTATION = 64 << 10
MAX_PCR_CHANGES = 64


class DecodeError(ValueError):
    """Bytes that are not a canonical encoding (the message names the field)."""


class Mode(IntEnum):
    """Execution / evidence mode (``u8`` on the wire)."""

    VANILLA = 1
    TEE = 2
    ZKML = 3
    REPLAY = 4

    @property
    def api_name(self) -> str:
        """The lower-case name the API and CLI use (``vanilla``, ``tee``, ...)."""
        return self.name.lower()


class TxType(IntEnum):
    """Transaction body type."""

    TRANSFER = 1
    CREATE_REPO = 2
    PUBLISH_VERSION = 3
    REGISTER_NODE = 4
    SUBMIT_RESULT = 5
    REGISTER_ENCLAVE = 6
    UPDATE_TEE_PARAMS = 7
    REQUEST_INFERENCE = 8
    REPORT_CONFLICT = 9
    CHALLENGE = 10
    CHALLENGE_VOTE = 11
    CREATE_WORKFLOW = 12
    POST_DATA = 13


# ---------------------------------------------------------------- primitives


class Writer:
    """Appends canonical primitives to a byte buffer."""

    def __init__(self) -> None:
        self._b = bytearray()

    def u8(self, v: int) -> "Writer":
        self._b += struct.pack(">B", v)
        return self

    def u32(self, v: int) -> "Writer":
        self._b += struct.pack(">I", v)
        return self

    def u64(self, v: int) -> "Writer":
        self._b += struct.pack(">Q", v)
        return self

    def boolean(self, v: bool) -> "Writer":
        return self.u8(1 if v else 0)

    def fixed(self, b: bytes, n: int) -> "Writer":
        if len(b) != n:
            raise ValueError(f"expected {n} bytes, got {len(b)}")
        self._b += b
        return self

    def blob(self, b: bytes) -> "Writer":
        self.u32(len(b))
        self._b += b
        return self

    def string(self, s: str) -> "Writer":
        return self.blob(s.encode("utf-8", "surrogateescape"))

    def raw(self, b: bytes) -> "Writer":
        self._b += b
        return self

    def bytes(self) -> bytes:
        return bytes(self._b)


class Reader:
    """Reads canonical primitives; every method raises :class:`DecodeError` naming ``field``."""

    def __init__(self, data: bytes) -> None:
        self._d = memoryview(bytes(data))
        self._p = 0

    def _take(self, n: int, what: str) -> bytes:
        if self._p + n > len(self._d):
            raise DecodeError(f"{what}: truncated")
        b = bytes(self._d[self._p:self._p + n])
        self._p += n
        return b

    def u8(self, what: str) -> int:
        return self._take(1, what)[0]

    def u32(self, what: str) -> int:
        return int(struct.unpack(">I", self._take(4, what))[0])

    def u64(self, what: str) -> int:
        return int(struct.unpack(">Q", self._take(8, what))[0])

    def boolean(self, what: str) -> bool:
        v = self.u8(what)
        if v > 1:
            raise DecodeError(f"{what}: bool must be 0 or 1, got {v}")
        return v == 1

    def fixed(self, n: int, what: str) -> bytes:
        return self._take(n, what)

    def blob(self, what: str, limit: int) -> bytes:
        n = self.u32(what)
        if n > limit:
            raise DecodeError(f"{what}: {n} bytes is over the limit of {limit}")
        return self._take(n, what)

    def string(self, what: str, limit: int) -> str:
        # The C++ codec keeps strings as raw bytes: surrogateescape keeps any byte string
        # round-tripping exactly, so a decoded value re-encodes to the same bytes.
        return self.blob(what, limit).decode("utf-8", "surrogateescape")

    def version(self, what: str) -> None:
        v = self.u8(what + ".version")
        if v != FORMAT_VERSION:
            raise DecodeError(f"{what}.version: unknown version {v}")

    def mode(self, what: str) -> Mode:
        v = self.u8(what)
        try:
            return Mode(v)
        except ValueError:
            raise DecodeError(f"{what}: unknown mode {v}") from None

    def signature(self, what: str) -> bytes:
        s = self._take(65, what)
        if s[64] > 1:
            raise DecodeError(f"{what}: recovery id {s[64]} is not 0 or 1")
        return s

    def done(self, what: str) -> None:
        if self._p != len(self._d):
            raise DecodeError(f"{what}: {len(self._d) - self._p} trailing bytes")


# ---------------------------------------------------------------- structures


@dataclass
class InferenceRequest:
    """What a requester signs: the model, the inputs' hash, the fee cap and the node."""

    chain_id: str
    requester: bytes
    model: bytes  # CID digest (32 bytes)
    mode: Mode
    input_hash: bytes
    params: bytes = b""
    seed: int = 0
    max_fee: int = 0
    nonce: int = 0
    deadline_height: int = 0
    node: bytes = ZERO_ADDRESS

    def write(self, w: Writer) -> None:
        w.u8(FORMAT_VERSION).string(self.chain_id).fixed(self.requester, 20).fixed(self.model, 32)
        w.u8(int(self.mode)).fixed(self.input_hash, 32).blob(self.params)
        w.u64(self.seed).u64(self.max_fee).u64(self.nonce).u64(self.deadline_height).fixed(self.node, 20)

    def encode(self) -> bytes:
        w = Writer()
        self.write(w)
        return w.bytes()

    def hash(self) -> bytes:
        """``TaggedSha256("lucid:request:v1", encoding)``."""
        return tagged_sha256(REQUEST_TAG, self.encode())

    @classmethod
    def read(cls, r: Reader) -> "InferenceRequest":
        r.version("request")
        return cls(chain_id=r.string("request.chain_id", MAX_CHAIN_ID), requester=r.fixed(20, "request.requester"),
                   model=r.fixed(32, "request.model"), mode=r.mode("request.mode"),
                   input_hash=r.fixed(32, "request.input_hash"), params=r.blob("request.params", MAX_PARAMS),
                   seed=r.u64("request.seed"), max_fee=r.u64("request.max_fee"), nonce=r.u64("request.nonce"),
                   deadline_height=r.u64("request.deadline_height"), node=r.fixed(20, "request.node"))

    @classmethod
    def decode(cls, data: bytes) -> "InferenceRequest":
        r = Reader(data)
        v = cls.read(r)
        r.done("request")
        return v


class _Encodable(Protocol):
    def write(self, w: "Writer") -> None: ...


_T = TypeVar("_T")
_T_co = TypeVar("_T_co", covariant=True)


class _Readable(Protocol[_T_co]):
    def read(self, r: "Reader") -> _T_co: ...


def _encode_signed(value: _Encodable, signature: bytes) -> bytes:
    """A value's canonical fields followed by its 65-byte signature (SignedRequest, SignedHeader)."""
    w = Writer()
    value.write(w)
    w.fixed(signature, 65)
    return w.bytes()


def _decode_signed(kind: "_Readable[_T]", data: bytes, name: str) -> "tuple[_T, bytes]":
    """The inverse of :func:`_encode_signed`: the value, then exactly a 65-byte signature."""
    r = Reader(data)
    value = kind.read(r)
    sig = r.signature(f"{name}.signature")
    r.done(name)
    return value, sig


@dataclass
class SignedRequest:
    """An :class:`InferenceRequest` and the requester's signature over its hash."""

    request: InferenceRequest
    signature: bytes

    def encode(self) -> bytes:
        return _encode_signed(self.request, self.signature)

    @classmethod
    def decode(cls, data: bytes) -> "SignedRequest":
        return cls(*_decode_signed(InferenceRequest, data, "signed_request"))


@dataclass
class Receipt:
    """What a node signs about a result: request hash, model, input and output hashes, fee."""

    chain_id: str
    request_hash: bytes
    model: bytes
    input_hash: bytes
    output_hash: bytes
    mode: Mode
    node: bytes
    engine: str
    fee: int

    def write(self, w: Writer) -> None:
        w.u8(FORMAT_VERSION).string(self.chain_id).fixed(self.request_hash, 32).fixed(self.model, 32)
        w.fixed(self.input_hash, 32).fixed(self.output_hash, 32).u8(int(self.mode)).fixed(self.node, 20)
        w.string(self.engine).u64(self.fee)

    def encode(self) -> bytes:
        w = Writer()
        self.write(w)
        return w.bytes()

    def id(self) -> bytes:
        """The receipt id: ``TaggedSha256("lucid:receipt:v1", encoding)``."""
        return tagged_sha256(RECEIPT_TAG, self.encode())

    @classmethod
    def read(cls, r: Reader) -> "Receipt":
        r.version("receipt")
        return cls(chain_id=r.string("receipt.chain_id", MAX_CHAIN_ID), request_hash=r.fixed(32, "receipt.request_hash"),
                   model=r.fixed(32, "receipt.model"), input_hash=r.fixed(32, "receipt.input_hash"),
                   output_hash=r.fixed(32, "receipt.output_hash"), mode=r.mode("receipt.mode"),
                   node=r.fixed(20, "receipt.node"), engine=r.string("receipt.engine", MAX_ENGINE),
                   fee=r.u64("receipt.fee"))

    @classmethod
    def decode(cls, data: bytes) -> "Receipt":
        r = Reader(data)
        v = cls.read(r)
        r.done("receipt")
        return v


@dataclass
class Evidence:
    """The mode's proof that the receipt is right (vanilla: the node's signature over the id)."""

    mode: Mode
    data: bytes

    def write(self, w: Writer) -> None:
        w.u8(FORMAT_VERSION).u8(int(self.mode)).blob(self.data)

    def encode(self) -> bytes:
        w = Writer()
        self.write(w)
        return w.bytes()

    @classmethod
    def read(cls, r: Reader) -> "Evidence":
        r.version("evidence")
        return cls(mode=r.mode("evidence.mode"), data=r.blob("evidence.data", MAX_EVIDENCE))

    @classmethod
    def decode(cls, data: bytes) -> "Evidence":
        r = Reader(data)
        v = cls.read(r)
        r.done("evidence")
        return v


@dataclass
class BlockHeader:
    """A block header; its receipts_root commits to the block's receipt ids."""

    chain_id: str
    height: int
    time_ms: int
    prev_hash: bytes
    txs_root: bytes
    tx_count: int
    receipts_root: bytes
    receipt_count: int
    app_hash: bytes
    proposer: bytes

    def write(self, w: Writer) -> None:
        w.u8(FORMAT_VERSION).string(self.chain_id).u64(self.height).u64(self.time_ms).fixed(self.prev_hash, 32)
        w.fixed(self.txs_root, 32).u32(self.tx_count).fixed(self.receipts_root, 32).u32(self.receipt_count)
        w.fixed(self.app_hash, 32).fixed(self.proposer, 20)

    def encode(self) -> bytes:
        w = Writer()
        self.write(w)
        return w.bytes()

    def hash(self) -> bytes:
        """Block hash: ``TaggedSha256("lucid:block:v1", encoding)``."""
        return tagged_sha256(BLOCK_TAG, self.encode())

    @classmethod
    def read(cls, r: Reader) -> "BlockHeader":
        r.version("header")
        return cls(chain_id=r.string("header.chain_id", MAX_CHAIN_ID), height=r.u64("header.height"),
                   time_ms=r.u64("header.time_ms"), prev_hash=r.fixed(32, "header.prev_hash"),
                   txs_root=r.fixed(32, "header.txs_root"), tx_count=r.u32("header.tx_count"),
                   receipts_root=r.fixed(32, "header.receipts_root"), receipt_count=r.u32("header.receipt_count"),
                   app_hash=r.fixed(32, "header.app_hash"), proposer=r.fixed(20, "header.proposer"))


@dataclass
class SignedHeader:
    """A :class:`BlockHeader` and the proposer's signature over its hash."""

    header: BlockHeader
    signature: bytes

    def encode(self) -> bytes:
        return _encode_signed(self.header, self.signature)

    @classmethod
    def decode(cls, data: bytes) -> "SignedHeader":
        return cls(*_decode_signed(BlockHeader, data, "signed_header"))


# ---------------------------------------------------------------- transactions (the ones the SDK sends)


@dataclass
class TransferTx:
    """Type 1: move ``amount`` to ``to``."""

    to: bytes
    amount: int

    type = TxType.TRANSFER

    def write(self, w: Writer) -> None:
        w.fixed(self.to, 20).u64(self.amount)


@dataclass
class CreateRepoTx:
    """Type 2: create a hub repository owned by the sender."""

    name: str
    description: str = ""
    task: str = ""
    license: str = ""
    tags: List[str] = field(default_factory=list)

    type = TxType.CREATE_REPO

    def write(self, w: Writer) -> None:
        w.string(self.name).string(self.description).string(self.task).string(self.license).u32(len(self.tags))
        for t in self.tags:
            w.string(t)


@dataclass
class PublishVersionTx:
    """Type 3: publish ``name@major.minor`` as the manifest with CID digest ``manifest``."""

    name: str
    major: int
    minor: int
    manifest: bytes  # CID digest
    price: int
    zkml_commitment: Optional[bytes] = None

    type = TxType.PUBLISH_VERSION

    def write(self, w: Writer) -> None:
        w.string(self.name).u32(self.major).u32(self.minor).fixed(self.manifest, 32).u64(self.price)
        w.boolean(self.zkml_commitment is not None)
        if self.zkml_commitment is not None:
            w.fixed(self.zkml_commitment, 32)


@dataclass
class SubmitResultTx:
    """Type 5: a node settles a result: the signed request, its receipt and the mode's evidence."""

    request: SignedRequest
    receipt: Receipt
    evidence: Evidence

    type = TxType.SUBMIT_RESULT

    def write(self, w: Writer) -> None:
        for part in (self.request.encode(), self.receipt.encode(), self.evidence.encode()):
            w.raw(part)


@dataclass
class RequestInferenceTx:
    """Type 8: post a signed request on chain with its canonical input bytes (docs/settlement.md)."""

    request: SignedRequest
    inputs: bytes

    type = TxType.REQUEST_INFERENCE

    def write(self, w: Writer) -> None:
        w.raw(self.request.encode()).blob(self.inputs)


@dataclass
class ReportConflictTx:
    """Type 9: two receipts one node signed for the same request with different outputs."""

    first: Receipt
    first_evidence: Evidence
    second: Receipt
    second_evidence: Evidence

    type = TxType.REPORT_CONFLICT

    def write(self, w: Writer) -> None:
        for part in (self.first, self.first_evidence, self.second, self.second_evidence):
            w.raw(part.encode())


@dataclass
class ChallengeTx:
    """Type 10: dispute a pending replay receipt, claiming another output (bonds the challenge bond)."""

    receipt_id: bytes
    claimed_output_hash: bytes
    inputs: bytes = b""  # canonical input bytes; empty for an async request's receipt

    type = TxType.CHALLENGE

    def write(self, w: Writer) -> None:
        w.fixed(self.receipt_id, 32).fixed(self.claimed_output_hash, 32).blob(self.inputs)


TxBody = Union[TransferTx, CreateRepoTx, PublishVersionTx, SubmitResultTx, RequestInferenceTx, ReportConflictTx,
               ChallengeTx]


@dataclass
class Tx:
    """An unsigned transaction; :meth:`signing_hash` is what ``from`` signs."""

    chain_id: str
    sender: bytes  # "from"
    nonce: int
    max_tx_fee: int
    body: TxBody

    def encode_unsigned(self) -> bytes:
        w = Writer()
        w.u8(FORMAT_VERSION).string(self.chain_id).fixed(self.sender, 20).u64(self.nonce).u64(self.max_tx_fee)
        w.u8(int(self.body.type))
        self.body.write(w)
        return w.bytes()

    def signing_hash(self) -> bytes:
        """``TaggedSha256("lucid:tx:v1", unsigned encoding)``."""
        return tagged_sha256(TX_TAG, self.encode_unsigned())


@dataclass
class SignedTx:
    """A :class:`Tx` and its signature; the tx id is the untagged SHA-256 of these bytes."""

    tx: Tx
    signature: bytes

    def encode(self) -> bytes:
        return self.tx.encode_unsigned() + self.signature

    def id(self) -> bytes:
        return sha256(self.encode())
