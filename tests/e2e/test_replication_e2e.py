"""Hub replication on chain (docs/ipfs.md "Replication", issue 11): hubs announce the versions
they pin (AnnouncePinsTx), the chain's R (params.replication.min_replicas) says how many hubs
each published version should live on, and each hub's replicator keeps its own copies and
takes on versions that are short of R.

Two kubo daemons in one private swarm (`lucid-ipfs daemon`, as in test_ipfs_e2e.py):
- hub A: the devnet (R = 2), its hub on kubo A; it announces the demo models and an uploaded
  1.2 MB model, which are then under-replicated (1 of 2);
- hub B: a standalone node with `--ipfs B --replicate`: it fetches every version through the
  swarm (checked by CID) and announces it, until no version is under-replicated; `lucid hub
  status` shows both hubs from the chain and both kubo nodes pinning each file;
- hub B loses a file (unpinned, garbage-collected from kubo, deleted from its blob store): its
  replicator fetches it again from the swarm and pins it; the chain keeps 2 replicas;
- hub B loses it again while kubo A is down: it cannot restore it, so it announces it unpinned
  and the version is reported under-replicated; `lucid hub retire` returns B's bond exactly.

Skipped when kubo or the lucid-ipfs tool is missing."""
import http.server
import json
import threading
import time

import pytest

from conftest import Cli, Devnet, free_port
from test_ipfs_e2e import IPFS_BIN, TOOL, Kubo, NodeProc, file_cid, tool, upload_big_model

pytestmark = pytest.mark.skipif(not IPFS_BIN.exists() or not TOOL.exists(),
                                reason=f"kubo ({IPFS_BIN}: run ./scripts/setup) or {TOOL} missing")


def wait_for(what, check, timeout=90, every=0.5):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}; last: {last}")


def replication(devnet, cid=None):
    return devnet.get(f"/chain/replication/{cid}" if cid else "/chain/replication").json()


def hubs_of(devnet, cid):
    return sorted(h["address"] for h in replication(devnet, cid)["pinned_by"])


def lose_file(kubo: Kubo, root: str, blob):
    """Every copy of a file on one hub gone: the kubo pin, its blocks, and the blob store's file."""
    kubo.rpc(f"pin/rm?arg={root}")
    kubo.rpc("repo/gc")
    assert root not in tool("pins", "--api", kubo.api)["pins"]
    blob.unlink()


class FakeHub(http.server.ThreadingHTTPServer):
    """A 'hub' that announced a version it does not hold: audits get zeros, or 404s."""

    def __init__(self):
        self.mode = "zeros"

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(h):
                length = int(h.path.split("length=")[1]) if "length=" in h.path else 0
                if h.server.mode == "zeros":
                    body, code, kind = bytes(length), 200, "application/octet-stream"
                else:
                    body = json.dumps({"error": {"code": "NOT_FOUND", "message": "not held"}}).encode()
                    code, kind = 404, "application/json"
                h.send_response(code)
                h.send_header("Content-Type", kind)
                h.send_header("Content-Length", str(len(body)))
                h.end_headers()
                h.wfile.write(body)

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()


def test_versions_reach_r_hubs_and_lost_copies_come_back(tmp_path):
    key = tmp_path / "swarm.key"
    tool("swarm-key", key)
    a = Kubo(tmp_path, "kubo-a", key)
    b = Kubo(tmp_path, "kubo-b", key, peers=[a.peer])
    a.rpc(f"swarm/connect?arg={b.peer}")
    devnet = Devnet(tmp_path / "home", free_port(), extra_args=["--ipfs-api", a.api, "--replicas", "2"]).start()
    node = None
    try:
        cli = Cli(devnet)
        hub_a = devnet.info["hub"]
        assert hub_a, devnet.info
        genesis = devnet.get("/chain/genesis").json()
        assert genesis["params"]["replication"]["min_replicas"] == 2
        bond = genesis["params"]["replication"]["hub_bond"]

        _, _, big, manifest, entry = upload_big_model(devnet, tmp_path)
        root = entry["ipfs"]

        # Hub A announces everything it holds; with R = 2 every version is short of one hub.
        wait_for("hub A to announce every version",
                 lambda: all(hub_a in [h["address"] for h in v["pinned_by"]] for v in replication(devnet)["versions"]))
        r = replication(devnet)
        assert r["min_replicas"] == 2 and r["published"] == 4 and r["under_replicated"] == 4, r
        under = cli.run("hub", "replication", "--under", json_output=False).stdout
        assert under.count("UNDER-REPLICATED") == 4, under
        status = cli.json("hub", "status", "big-gemm@1.0")
        assert status["replicas"] == 1 and status["under_replicated"] is True
        assert [h["address"] for h in status["hubs"]] == [hub_a]

        # Hub B (a standalone node on kubo B) takes on every version, through the swarm.
        started = time.monotonic()
        node = NodeProc(devnet, "dev3", tmp_path, "--ipfs", b.api, "--replicate", "--ipfs-timeout", "10")
        hub_b = node.ready["node"]
        wait_for("no version under-replicated", lambda: replication(devnet)["under_replicated"] == 0, timeout=120)
        print(f"\nhub B took on all 4 versions in {time.monotonic() - started:.1f} s after its start "
              f"(2 s rounds, 200 ms blocks)")
        for v in replication(devnet)["versions"]:
            assert sorted(h["address"] for h in v["pinned_by"]) == sorted([hub_a, hub_b]), v
        hub_record = devnet.get(f"/chain/hubs/{hub_b}").json()
        assert hub_record["pins"] == 4 and hub_record["bond"] == bond and hub_record["ipfs_peer"] == b.ready["id"]
        assert sorted(hub_record["pinned"]) == sorted(v["manifest"] for v in replication(devnet)["versions"])
        blob = next(p for p in node.hub.rglob(entry["cid"]))
        assert file_cid(blob) == entry["cid"]  # B's copy is the right file
        pins_b = tool("pins", "--api", b.api)["pins"]
        assert root in pins_b and big in pins_b and manifest["test_vectors"]["ipfs"] in pins_b

        status = cli.json("hub", "status", "big-gemm@1.0", "--ipfs", a.api, "--ipfs", b.api)
        assert status["replicas"] == 2 and status["under_replicated"] is False
        assert sorted(h["address"] for h in status["hubs"]) == sorted([hub_a, hub_b])
        assert all(f["hubs"] == 2 and f["pinned_on"] == 2 for f in status["files"]), status["files"]
        text = cli.run("hub", "status", "big-gemm@1.0", json_output=False).stdout
        assert "pinned by 2 of R=2 hubs" in text and "UNDER-REPLICATED" not in text, text

        # An audit asks both hubs for random ranges of each file, from their own copies.
        audit = cli.json("hub", "audit", "big-gemm@1.0", "--samples", "3")
        assert audit["all_hold"] is True, audit
        assert sorted(h["address"] for h in audit["hubs"]) == sorted([hub_a, hub_b])
        assert all(h["verdict"] == "holds" and h["samples_ok"] == 9 for h in audit["hubs"]), audit

        # B loses the file everywhere; its replicator fetches it again from the swarm (kubo A).
        lose_file(b, root, blob)
        lost = time.monotonic()
        wait_for("B to restore the file", lambda: blob.exists() and root in tool("pins", "--api", b.api)["pins"])
        print(f"hub B restored its lost {entry['size']}-byte file from the swarm in {time.monotonic() - lost:.1f} s")
        assert file_cid(blob) == entry["cid"]
        assert hubs_of(devnet, big) == sorted([hub_a, hub_b])
        log = node.log_path.read_text()
        assert f"replicator: fetched {entry['cid']} from the swarm" in log, log[-3000:]

        # B loses it again while kubo A is down: nobody can serve it, so B stops claiming it.
        a.stop()
        lose_file(b, root, blob)
        wait_for("B to announce the version unpinned", lambda: hubs_of(devnet, big) == [hub_a], timeout=120)
        log = node.log_path.read_text()
        assert f"replicator: cannot restore {big}" in log, log[-3000:]
        status = cli.json("hub", "status", "big-gemm@1.0")
        assert status["replicas"] == 1 and status["under_replicated"] is True
        assert devnet.get(f"/chain/hubs/{hub_b}").json()["pins"] == 3
        # The other versions B still holds stay announced.
        assert replication(devnet)["under_replicated"] == 1

        # B retires: every pin dropped, the bond back to the unit (the tx fee aside).
        node.stop()
        balance_before_retire = devnet.get(f"/chain/accounts/{hub_b}").json()["balance"]
        cli.json("hub", "retire", key="dev3")
        after = devnet.get(f"/chain/accounts/{hub_b}").json()["balance"]
        fee = balance_before_retire + bond - after  # one byte-priced tx: tens of units (exact in tests/chain)
        assert 0 < fee < 400, (balance_before_retire, after, bond)
        assert devnet.get(f"/chain/hubs/{hub_b}").status_code == 404
        assert replication(devnet)["under_replicated"] == 4

        # A hub that claims a version it does not hold fails the audit, by name.
        fake = FakeHub()
        try:
            cli.json("hub", "announce", "--pin", "big-gemm@1.0", "--ipfs-peer", "12D3KooWFakeHubHoldsNothing00000",
                     "--endpoint", fake.url, key="dev2")
            dev2 = devnet.info["dev_accounts"][2]["address"]
            assert hubs_of(devnet, big) == sorted([hub_a, dev2])
            for mode, verdict in (("zeros", "wrong bytes"), ("404", "missing")):
                fake.mode = mode
                audit = cli.json("hub", "audit", "big-gemm@1.0", expect=1)
                assert audit["all_hold"] is False
                verdicts = {h["address"]: h["verdict"] for h in audit["hubs"]}
                assert verdicts == {hub_a: "holds", dev2: verdict}, audit
            cli.json("hub", "announce", "--unpin", "big-gemm@1.0", key="dev2")
            assert hubs_of(devnet, big) == [hub_a]
            # A hub naming hub A's endpoint would be answered by A's copy: neither counts.
            cli.json("hub", "announce", "--pin", "big-gemm@1.0", "--ipfs-peer", "12D3KooWBorrowsHubAsEndpoint00",
                     "--endpoint", devnet.url, key="dev1")
            audit = cli.json("hub", "audit", "big-gemm@1.0", expect=1)
            assert {h["verdict"] for h in audit["hubs"]} == {"shared"} and len(audit["hubs"]) == 2, audit
            cli.json("hub", "announce", "--unpin", "big-gemm@1.0", key="dev1")
        finally:
            fake.shutdown()
    finally:
        if node:
            node.stop()
        devnet.stop()
        b.stop()
        a.stop()
