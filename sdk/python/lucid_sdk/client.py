"""HTTP client for a Lucid node's API (routes of ``src/api/server.cc``; docs/node.md)."""
from __future__ import annotations


from typing import Any, Callable, Dict, List, Optional, Union

import requests

from .encoding import CreateRepoTx, PublishVersionTx, SignedTx, TransferTx, Tx, TxBody
from .keys import PrivateKey, address_to_hex

ProgressFn = Callable[[int, int], None]
"""``progress(bytes_sent, total_bytes)``, called as an upload streams."""

DEFAULT_MAX_TX_FEE = 10_000_000  # what the CLI offers


class ApiError(RuntimeError):
    """The node answered an error (``status`` is the HTTP status; ``body`` the parsed answer if JSON)."""

    def __init__(self, message: str, status: int = 0, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class TxRefused(ApiError):
    """The chain refused a transaction (CheckTx or its block's result); ``body`` has code_name and log."""


class _ProgressReader:
    """A file-like body with a length (so requests sends Content-Length) that reports progress."""

    def __init__(self, data: bytes, progress: Optional[ProgressFn], chunk: int = 64 << 10) -> None:
        self._data = data
        self._pos = 0
        self._progress = progress
        self._chunk = chunk

    def __len__(self) -> int:
        return len(self._data)

    def read(self, n: int = -1) -> bytes:
        if self._pos >= len(self._data):
            return b""
        n = self._chunk if n is None or n < 0 else min(n, self._chunk)
        b = self._data[self._pos:self._pos + n]
        self._pos += len(b)
        if self._progress:
            self._progress(self._pos, len(self._data))
        return b


class LucidClient:
    """Talks to one node's Lucid API (``lucid devnet`` or ``lucid node``), e.g. ``http://127.0.0.1:26680``.

    Every method returns the API's parsed JSON (or raw bytes for files) and raises
    :class:`ApiError` on an error status. Nothing here is trusted by the verifier unless it
    checks it: see :mod:`lucid_sdk.verify`.
    """

    def __init__(self, url: str = "http://127.0.0.1:26680", timeout: float = 120.0,
                 session: Optional[requests.Session] = None) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.trust_env = False  # never route through an environment proxy

    # ---- plumbing
    def _check(self, r: requests.Response) -> requests.Response:
        if r.status_code >= 400:
            try:
                body: Any = r.json()
            except ValueError:
                body = r.text
            msg = body.get("error", body) if isinstance(body, dict) else body
            raise ApiError(f"{r.request.method} {r.url}: HTTP {r.status_code}: {msg}", r.status_code, body)
        return r

    def get(self, path: str, **params: Any) -> Any:
        """GET ``path`` and parse JSON."""
        return self._check(self.session.get(self.url + path, params=params or None, timeout=self.timeout)).json()

    def get_raw(self, path: str) -> bytes:
        """GET ``path`` and return the body bytes."""
        return self._check(self.session.get(self.url + path, timeout=self.timeout)).content

    def post(self, path: str, body: Any) -> Any:
        """POST JSON to ``path`` and parse the JSON answer."""
        return self._check(self.session.post(self.url + path, json=body, timeout=self.timeout)).json()

    # ---- chain
    def status(self) -> Dict[str, Any]:
        """``/status``: chain id, height, and the node's address and fees when it runs one."""
        return dict(self.get("/status"))

    def genesis(self) -> Dict[str, Any]:
        return dict(self.get("/chain/genesis"))

    def account(self, address: Union[bytes, str]) -> Dict[str, Any]:
        """``{"balance", "nonce", "request_nonce", "address"}``."""
        a = address_to_hex(address) if isinstance(address, bytes) else address
        return dict(self.get(f"/chain/accounts/{a}"))

    def block(self, height: Union[int, str] = "latest") -> Dict[str, Any]:
        return dict(self.get(f"/chain/blocks/{height}"))

    def receipt(self, receipt_id: str) -> Dict[str, Any]:
        """``/chain/receipts/ID``: the settled result with raw bytes, inclusion proof and header."""
        return dict(self.get(f"/chain/receipts/{receipt_id}"))

    def nodes(self) -> List[Dict[str, Any]]:
        return list(self.get("/chain/nodes")["nodes"])

    def enclave(self, node: str) -> Dict[str, Any]:
        return dict(self.get(f"/chain/enclaves/{node}"))

    def model(self, ref: str) -> Dict[str, Any]:
        """Resolves ``NAME@MAJOR.MINOR`` (or ``NAME``): ``{"version", "manifest", "price", "height"}``."""
        return dict(self.get(f"/chain/models/{ref}"))

    def broadcast(self, tx: SignedTx, wait_ms: int = 30000) -> Dict[str, Any]:
        """POSTs a signed tx; waits up to ``wait_ms`` for its block. Raises :class:`TxRefused` if refused."""
        r = self.session.post(self.url + "/chain/txs", json={"tx": tx.encode().hex(), "wait_ms": wait_ms},
                              timeout=self.timeout)
        j: Any = None
        try:
            j = r.json()
        except ValueError:
            pass
        if r.status_code == 422 and isinstance(j, dict):
            res: Dict[str, Any] = j["check"] if j["check"]["code"] != 0 else j.get("deliver") or j["check"]
            raise TxRefused(f"transaction refused: {res['code_name']}: {res['log']}", 422, j)
        self._check(r)
        if not isinstance(j, dict):
            raise ApiError("POST /chain/txs: the node answered no JSON object", r.status_code, j)
        return j

    def send_tx(self, key: PrivateKey, body: TxBody, max_tx_fee: int = DEFAULT_MAX_TX_FEE,
                wait_ms: int = 30000) -> Dict[str, Any]:
        """Signs ``body`` with ``key`` (nonce from the chain) and broadcasts it; returns the API answer."""
        st = self.status()
        acct = self.account(key.address)
        tx = Tx(chain_id=st["chain_id"], sender=key.address, nonce=int(acct["nonce"]), max_tx_fee=max_tx_fee, body=body)
        signed = SignedTx(tx, key.sign_hash(tx.signing_hash()))
        j = self.broadcast(signed, wait_ms)
        if wait_ms and "height" not in j:
            raise ApiError(f"transaction {signed.id().hex()} was not included within {wait_ms} ms", 0, j)
        return j

    def transfer(self, key: PrivateKey, to: Union[bytes, str], amount: int) -> Dict[str, Any]:
        """Sends ``amount`` from ``key`` to ``to``."""
        from .keys import address_from_hex
        dest = to if isinstance(to, bytes) else address_from_hex(to)
        return self.send_tx(key, TransferTx(dest, amount))

    # ---- hub files
    def put_file(self, data: bytes, progress: Optional[ProgressFn] = None, chunk_size: int = 64 << 10) -> Dict[str, Any]:
        """Uploads bytes to the hub (``POST /hub/files``), streamed in ``chunk_size`` pieces with
        ``progress(sent, total)`` after each; returns ``{"cid", "size"}``."""
        r = self.session.post(self.url + "/hub/files", data=_ProgressReader(data, progress, chunk_size),
                              headers={"Content-Type": "application/octet-stream"}, timeout=self.timeout)
        return dict(self._check(r).json())

    def get_file(self, cid: str) -> bytes:
        """Raw bytes the hub serves for ``cid`` (NOT checked here; :mod:`lucid_sdk.hub` checks them)."""
        return self.get_raw(f"/hub/files/{cid}")

    def get_manifest_bytes(self, cid: str) -> bytes:
        return self.get_raw(f"/hub/manifests/{cid}")

    def repos(self, query: str = "") -> List[Dict[str, Any]]:
        return list(self.get("/hub/repos", **({"q": query} if query else {}))["repos"])

    def repo(self, name: str) -> Dict[str, Any]:
        return dict(self.get(f"/hub/repos/{name}"))

    def prepare_version(self, body: Dict[str, Any]) -> Dict[str, Any]:
        """``POST /hub/versions``: the hub checks the files and test vectors and builds the manifest."""
        return dict(self.post("/hub/versions", body))

    def __repr__(self) -> str:
        return f"LucidClient({self.url!r})"


