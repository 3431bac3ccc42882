"""Model Hub: create repositories, upload versions (with progress), list versions, download with CID checks.

Every byte downloaded is checked against its CID before it is returned or written: the
manifest against the CID the chain's registry names, each file against the CID the manifest
lists. A mismatch raises :class:`lucid_sdk.cid.CidError` and nothing is written.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from .cid import CidError, check_cid, cid_of, parse_cid
from .client import ApiError, LucidClient
from .encoding import CreateRepoTx, PublishVersionTx
from .keys import PrivateKey

FileProgress = Callable[[str, int, int], None]
"""``progress(file_name, bytes_sent, total_bytes)``."""


def parse_version(text: str) -> Tuple[int, int]:
    """``"MAJOR.MINOR"`` (decimal u32 each, no leading zeros) to a tuple."""
    parts = text.split(".")
    if len(parts) != 2 or not all(p.isdigit() and (p == "0" or not p.startswith("0")) for p in parts):
        raise ValueError(f"version {text!r} is not MAJOR.MINOR")
    major, minor = int(parts[0]), int(parts[1])
    if major >= 1 << 32 or minor >= 1 << 32:
        raise ValueError(f"version {text!r} out of range")
    return major, minor


@dataclass
class Download:
    """What :meth:`Hub.download` fetched and checked."""

    manifest_cid: str
    manifest: Dict[str, Any]
    manifest_bytes: bytes
    files: Dict[str, bytes]  # path -> bytes, each checked against its CID


class Hub:
    """Hub operations through one node's API."""

    def __init__(self, client: LucidClient) -> None:
        self.client = client

    def create_repo(self, key: PrivateKey, name: str, description: str = "", task: str = "", license: str = "",
                    tags: Sequence[str] = ()) -> Dict[str, Any]:
        """Sends a ``CreateRepoTx`` signed by ``key`` (the owner); returns the tx answer (with ``height``)."""
        return self.client.send_tx(key, CreateRepoTx(name, description, task, license, list(tags)))

    def upload(self, key: PrivateKey, name: str, version: str, files: Sequence[Union[str, Path]],
               test_vectors: Optional[Union[str, Path]] = None, price: int = 0,
               progress: Optional[FileProgress] = None, chunk_size: int = 64 << 10) -> Dict[str, Any]:
        """Uploads the files, has the hub build (and test) the manifest, checks it, and publishes it.

        Each file's CID is computed locally and must equal what the hub stored; the manifest the
        hub serves must hash to the CID it announced, and list exactly our files and CIDs, before
        ``key`` signs the ``PublishVersionTx``. Returns ``{"name", "version", "manifest_cid",
        "manifest", "height"}``. zkml versions are not published by the SDK (use ``lucid hub upload
        --zkml``, which recomputes the commitment from the model).
        """
        major, minor = parse_version(version)
        listed = []
        for f in files:
            p = Path(f)
            data = p.read_bytes()
            local = cid_of(data)
            cb = (lambda sent, total, n=p.name: progress(n, sent, total)) if progress else None
            r = self.client.put_file(data, cb, chunk_size)
            if r["cid"] != local:
                raise CidError(f"hub stored {p} under {r['cid']}, expected {local}")
            listed.append({"path": p.name, "cid": local})
        body: Dict[str, Any] = {"name": name, "version": version, "files": listed}
        if test_vectors is not None:
            tv = Path(test_vectors).read_bytes()
            cb = (lambda sent, total, n=Path(test_vectors).name: progress(n, sent, total)) if progress else None
            r = self.client.put_file(tv, cb, chunk_size)
            if r["cid"] != cid_of(tv):
                raise CidError("hub stored the test vectors under another CID")
            body["test_vectors_cid"] = r["cid"]
        prepared = self.client.prepare_version(body)
        manifest_cid = prepared["manifest_cid"]
        manifest_bytes = self.client.get_manifest_bytes(manifest_cid)
        check_cid(manifest_bytes, manifest_cid)
        manifest = json.loads(manifest_bytes)
        got = sorted((f["path"], f["cid"]) for f in manifest.get("files", []))
        if got != sorted((f["path"], f["cid"]) for f in listed):
            raise CidError(f"manifest {manifest_cid} does not list exactly the uploaded files")
        if manifest.get("name") != name or manifest.get("version") != version:
            raise CidError(f"manifest {manifest_cid} is for {manifest.get('name')}@{manifest.get('version')}")
        if "zkml" in manifest:
            raise ValueError("the hub built a zkml manifest; publish zkml versions with `lucid hub upload --zkml`")
        tx = self.client.send_tx(key, PublishVersionTx(name, major, minor, parse_cid(manifest_cid), price))
        return {"name": name, "version": version, "manifest_cid": manifest_cid, "manifest": manifest,
                "height": tx.get("height")}

    def versions(self, name: str) -> List[Dict[str, Any]]:
        """Published versions of a repository: ``[{"version", "manifest", "price", "height"}, ...]``."""
        return list(self.client.repo(name)["versions"])

    def download(self, ref: str, out_dir: Optional[Union[str, Path]] = None) -> Download:
        """Resolves ``NAME@MAJOR.MINOR`` on chain and fetches the manifest and every file, checking CIDs.

        With ``out_dir`` the files and ``manifest.json`` are written there, only after every
        check passed. Raises :class:`CidError` on any mismatch.
        """
        entry = self.client.model(ref)
        manifest_cid = entry["manifest"]
        mbytes = self.client.get_manifest_bytes(manifest_cid)
        check_cid(mbytes, manifest_cid)
        manifest = json.loads(mbytes)
        files: Dict[str, bytes] = {}
        for f in manifest["files"]:
            path = f["path"]
            if "/" in path or "\\" in path or path in ("", ".", ".."):
                raise CidError(f"manifest file path {path!r} is not a plain name")
            data = self.client.get_file(f["cid"])
            check_cid(data, f["cid"])
            if len(data) != f["size"]:
                raise CidError(f"{path}: {len(data)} bytes, manifest says {f['size']}")
            files[path] = data
        if out_dir is not None:
            out = Path(out_dir)
            out.mkdir(parents=True, exist_ok=True)
            for path, data in files.items():
                (out / path).write_bytes(data)
            (out / "manifest.json").write_bytes(mbytes)
        return Download(manifest_cid, manifest, mbytes, files)
