"""Result bundles (``lucid-result-bundle/1``, docs/formats/bundle.md) and settled receipts."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Dict, Union

from .client import ApiError, LucidClient
from .encoding import Evidence, Receipt, SignedRequest

BUNDLE_FORMAT = "lucid-result-bundle/1"

Bundle = Dict[str, Any]


def wait_for_receipt(client: LucidClient, receipt_id: str, timeout_s: float = 30.0) -> Dict[str, Any]:
    """Polls ``/chain/receipts/ID`` until a block includes the receipt; returns the API answer."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return client.receipt(receipt_id)
        except ApiError as e:
            if e.status != 404 or time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def bundle_from_chain(client: LucidClient, receipt_id: str) -> Bundle:
    """A bundle built from what the chain holds (no inputs/outputs: the chain stores only hashes)."""
    on = client.receipt(receipt_id)
    return {"format": BUNDLE_FORMAT, "receipt_id": receipt_id, "request": on["raw"]["request"],
            "receipt": on["raw"]["receipt"], "evidence": on["raw"]["evidence"], "height": on["height"],
            "proof": on["proof"], "header": on["raw"]["header"]}


def save_bundle(bundle: Bundle, path: Union[str, Path]) -> Path:
    """Writes a bundle as JSON (``lucid verify ID --bundle PATH`` reads it)."""
    p = Path(path)
    p.write_text(json.dumps(bundle, indent=2))
    return p


def load_bundle(path: Union[str, Path]) -> Bundle:
    return dict(json.loads(Path(path).read_text()))


def decode_bundle(bundle: Bundle) -> "tuple[SignedRequest, Receipt, Evidence]":
    """The bundle's signed request, receipt and evidence, decoded (raises DecodeError)."""
    return (SignedRequest.decode(bytes.fromhex(bundle["request"])), Receipt.decode(bytes.fromhex(bundle["receipt"])),
            Evidence.decode(bytes.fromhex(bundle["evidence"])))
