"""`lucid hub download NAME@VERSION --out DIR --ipfs API [--ipfs ...]` (docs/ipfs.md, issue 11):
the chain resolves the version, the manifest and every file come from kubo nodes of a PRIVATE
swarm (the same `lucid-ipfs daemon` launcher and helpers as test_ipfs_e2e.py), each file
streamed, checked against its Lucid CID and only then renamed into place; nothing is pinned.

- devnet hub on kubo A, a 1.2 MB model uploaded (dag-pb root) plus the devnet's demo model
  (small files: root = Lucid CID); `--ipfs B` (B only peers with A) gets files that match their
  CIDs and equal the uploaded bytes and what the Lucid API serves;
- a test double posing as a kubo API that serves wrong bytes, given first: refused by name,
  kubo B serves;
- only the test double: exit code != 0, an error naming the file's CIDs and the peer, no file
  (and no partial file) at the final path; a non-loopback --ipfs is refused.

Skipped when kubo (.tools/bin/ipfs, ./scripts/setup) or the lucid-ipfs tool is missing."""
import json

import pytest

from conftest import Devnet, free_port
from test_ipfs_e2e import IPFS_BIN, TOOL, CorruptKubo, file_cid, swarm, tool, upload_big_model  # noqa: F401

pytestmark = pytest.mark.skipif(not IPFS_BIN.exists() or not TOOL.exists(),
                                reason=f"kubo ({IPFS_BIN}: run ./scripts/setup) or {TOOL} missing")


@pytest.fixture()
def published(swarm, tmp_path):
    """Devnet whose hub adds to kubo A; big-gemm@1.0 uploaded through it."""
    a, b, _ = swarm
    devnet = Devnet(tmp_path / "home", free_port(), extra_args=["--ipfs-api", a.api]).start()
    fake = CorruptKubo(b.api)
    try:
        cli, model, manifest_cid, manifest, entry = upload_big_model(devnet, tmp_path)
        yield a, b, fake, devnet, cli, model, manifest_cid, entry
    finally:
        fake.shutdown()
        devnet.stop()


def test_download_through_kubo_b(published, tmp_path):
    a, b, fake, devnet, cli, model, manifest_cid, entry = published
    pins_before = set(tool("pins", "--api", b.api)["pins"])
    assert entry["ipfs"] not in pins_before  # B has never held the file: it comes from A through the swarm

    out = tmp_path / "dl-b"
    got = cli.json("hub", "download", "big-gemm@1.0", "--out", out, "--ipfs", b.api)
    assert got["source"] == "ipfs" and got["manifest_cid"] == manifest_cid, got
    assert got["manifest_from"] == b.api, got
    (f,) = got["files"]
    assert f["path"] == "big.onnx" and f["cid"] == entry["cid"] and f["ipfs"] == entry["ipfs"], f
    assert f["from"] == b.api and f["refused"] == [], f
    assert file_cid(out / "big.onnx") == entry["cid"]
    assert (out / "big.onnx").read_bytes() == model.read_bytes()
    assert file_cid(out / "manifest.json") == manifest_cid
    assert sorted(p.name for p in out.iterdir()) == ["big.onnx", "manifest.json"]
    # Not pinned on download.
    pins_after = set(tool("pins", "--api", b.api)["pins"])
    assert entry["ipfs"] not in pins_after and manifest_cid not in pins_after, pins_after - pins_before

    # The same bytes as the download through the Lucid API.
    plain = tmp_path / "dl-api"
    got_api = cli.json("hub", "download", "big-gemm@1.0", "--out", plain)
    assert "source" not in got_api and got_api["files"][0]["cid"] == entry["cid"]
    assert (plain / "big.onnx").read_bytes() == (out / "big.onnx").read_bytes()
    assert (plain / "manifest.json").read_bytes() == (out / "manifest.json").read_bytes()

    # The devnet's demo model (small files: their IPFS root is their Lucid CID), text output.
    demo = tmp_path / "dl-demo"
    p = cli.run("hub", "download", "digits-mlp@1.0", "--out", demo, "--ipfs", b.api, json_output=False)
    demo_cid = devnet.get("/chain/models/digits-mlp@1.0").json()["manifest"]
    assert f"through IPFS (manifest from {b.api})" in p.stdout and demo_cid in p.stdout, p.stdout
    demo_manifest = json.loads((demo / "manifest.json").read_bytes())
    assert file_cid(demo / "manifest.json") == demo_cid
    for df in demo_manifest["files"]:
        assert file_cid(demo / df["path"]) == df["cid"]
        assert devnet.get(f"/hub/files/{df['cid']}").content == (demo / df["path"]).read_bytes()
        assert f"{df['path']}: CID ok (ipfs {b.api})" in p.stderr, p.stderr
    print(f"\n{p.stderr}{p.stdout}")


def test_corrupting_peer_first_is_refused_then_b_serves(published, tmp_path):
    a, b, fake, devnet, cli, model, manifest_cid, entry = published
    out = tmp_path / "dl"
    p = cli.run("hub", "download", "big-gemm@1.0", "--out", out, "--ipfs", fake.api, "--ipfs", b.api)
    got = json.loads(p.stdout)
    assert got["source"] == "ipfs" and got["manifest_from"] == b.api, got  # the fake's manifest was refused too
    (f,) = got["files"]
    assert f["from"] == b.api, f
    (refusal,) = f["refused"]
    assert refusal["api"] == fake.api and "do not match the whole-file CID" in refusal["error"], refusal
    assert f"ipfs: {fake.api} refused for {entry['cid']}" in p.stderr, p.stderr
    assert f"ipfs: {fake.api} refused for manifest {manifest_cid}" in p.stderr, p.stderr
    assert fake.cats >= 2
    assert (out / "big.onnx").read_bytes() == model.read_bytes()
    assert file_cid(out / "manifest.json") == manifest_cid
    print(f"\n{p.stderr}")


def test_only_corrupting_peer_fails_and_leaves_no_file(published, tmp_path):
    a, b, fake, devnet, cli, model, manifest_cid, entry = published
    out = tmp_path / "dl"
    p = cli.run("hub", "download", "big-gemm@1.0", "--out", out, "--ipfs", fake.api, expect=None)
    assert p.returncode != 0, (p.stdout, p.stderr)
    err = json.loads(p.stdout)["error"]
    text = json.dumps(err) if not isinstance(err, str) else err
    for needle in ("no IPFS peer served big.onnx", entry["cid"], entry["ipfs"], fake.api,
                   "do not match the whole-file CID"):
        assert needle in text, (needle, text)
    # The manifest came from the Lucid API (the fake's was refused); no model file, whole or partial.
    assert f"fetching it from {devnet.url}" in p.stderr, p.stderr
    assert not (out / "big.onnx").exists()
    assert not (out / "manifest.json").exists()
    assert [x.name for x in out.iterdir()] == [] if out.exists() else True
    p_text = cli.run("hub", "download", "big-gemm@1.0", "--out", out, "--ipfs", fake.api, expect=None,
                     json_output=False)
    assert p_text.returncode != 0 and "no IPFS peer served big.onnx" in p_text.stderr, p_text.stderr
    assert not (out / "big.onnx").exists()
    print(f"\nonly the corrupting peer -> exit {p.returncode}: {text[:600]}")

    # A non-loopback kubo API is refused before anything is fetched.
    bad = cli.run("hub", "download", "big-gemm@1.0", "--out", tmp_path / "dl-remote", "--ipfs", "10.1.2.3:5001",
                  expect=None)
    assert bad.returncode != 0 and "10.1.2.3" in bad.stdout + bad.stderr, (bad.stdout, bad.stderr)
    assert not (tmp_path / "dl-remote").exists()
