#!/usr/bin/env python3
"""A Lucid network of N validators on this machine (docs/consensus.md): each validator is one
CometBFT process plus one `lucid validator` (its ABCI app and Lucid API), validator i on
loopback address 127.0.0.(base+i) with the same ports on every address. Keys and genesis are
generated (`cometbft testnet`, `lucid keys new`); the Lucid genesis is CometBFT's app_state.
Everything stays on loopback: no seeds, pex off, prometheus off.

Used by scripts/localnet (up|down|status) and by the network tests (tests/net). Standard
library only.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
P2P_PORT, RPC_PORT, ABCI_PORT, HTTP_PORT = 36656, 36657, 36658, 36680


def default_lucid():
    return Path(os.environ.get("LUCID_BIN", REPO / os.environ.get("LUCID_BUILD_DIR", "build") / "src/cli/lucid"))


def default_ipfs_tool():
    return Path(os.environ.get("LUCID_IPFS_TOOL", default_lucid().parent.parent / "ipfs" / "lucid-ipfs"))


def default_kubo():
    return Path(os.environ.get("LUCID_IPFS_BIN", REPO / ".tools/bin/ipfs"))


# Hubs on IPFS (docs/ipfs.md): validators 0 and 1 each get a kubo daemon (`lucid-ipfs daemon`)
# in one private swarm (a swarm key generated in the localnet folder), on 127.0.0.1.
KUBO_HUBS = 2
KUBO_API_PORT, KUBO_SWARM_PORT = 36710, 36720


def default_cometbft():
    return Path(os.environ.get("COMETBFT_BIN", REPO / ".tools/bin/cometbft"))


def default_abci_cli():
    """CometBFT's example ABCI app (abci-cli kvstore), installed beside cometbft by ./scripts/setup:
    the benchmark's baseline app (bench/submit_bench.py)."""
    return Path(os.environ.get("ABCI_CLI_BIN", REPO / ".tools/bin/abci-cli"))


def http_json(url, body=None, timeout=10):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def set_toml(text, section, key, value):
    """Sets key = value (a TOML literal) in [section] ('' = top level) of a config.toml."""
    out, cur, done = [], "", False
    for line in text.splitlines():
        m = re.match(r"^\[([^\]]+)\]\s*$", line)
        if m:
            cur = m.group(1)
        elif cur == section and re.match(rf"^{re.escape(key)}\s*=", line):
            line = f"{key} = {value}"
            done = True
        out.append(line)
    if not done:
        raise KeyError(f"config.toml has no {key} in [{section}]")
    return "\n".join(out) + "\n"


class Net:
    def __init__(self, root, n=4, base_ip=11, lucid=None, cometbft=None, chain_id="lucid-localnet",
                 timeout_commit="300ms", empty_blocks=True, app="lucid"):
        """app: "lucid" (lucid validator) or "kvstore" (CometBFT's abci-cli kvstore, for the
        benchmark's baseline; no Lucid API then)."""
        if app not in ("lucid", "kvstore"):
            raise ValueError(f"unknown app {app!r}")
        self.app = app
        self.root = Path(root)
        self.n = n
        self.base_ip = base_ip
        self.lucid = Path(lucid or default_lucid())
        self.cometbft = Path(cometbft or default_cometbft())
        self.chain_id = chain_id
        self.timeout_commit = timeout_commit
        self.empty_blocks = empty_blocks
        self.client_home = self.root / "client"
        self.logs = self.root / "logs"

    # ---- layout ----
    def ip(self, i):
        return f"127.0.0.{self.base_ip + i}"

    def comet_home(self, i):
        return self.root / f"v{i}" / "comet"

    def lucid_home(self, i):
        return self.root / f"v{i}" / "lucid"

    def rpc(self, i):
        return f"http://{self.ip(i)}:{RPC_PORT}"

    def api(self, i):
        return f"http://{self.ip(i)}:{HTTP_PORT}"

    def pidfile(self, name):
        return self.root / "pids" / f"{name}.pid"

    # ---- init ----
    def lucid_cli(self, *args, check=True, home=None):
        p = subprocess.run([str(self.lucid), "--home", str(home or self.client_home), *map(str, args)],
                           capture_output=True, text=True, timeout=120)
        if check and p.returncode != 0:
            raise RuntimeError(f"lucid {' '.join(map(str, args))}: exit {p.returncode}\n{p.stdout}\n{p.stderr}")
        return p

    def new_key(self, name, home=None):
        p = self.lucid_cli("--json", "keys", "show", name, check=False, home=home)
        if p.returncode != 0:
            p = self.lucid_cli("--json", "keys", "new", name, home=home)
        return json.loads(p.stdout)["address"]

    def init(self, accounts=None, params=None, extra_accounts=()):
        """Creates keys, per-validator homes and the shared genesis. accounts: name -> balance
        (keys created in root/client); extra_accounts: more {"address", "balance"} entries."""
        if self.root.exists():
            raise RuntimeError(f"{self.root} exists: `down --clean` first")
        for b in (self.lucid, self.cometbft) + ((default_abci_cli(),) if self.app == "kvstore" else ()):
            if not b.exists():
                raise RuntimeError(f"{b} not found (build lucid; ./scripts/setup installs cometbft and abci-cli)")
        self.root.mkdir(parents=True)
        self.logs.mkdir()
        accounts = accounts or {"alice": 10**12, "bob": 10**12, "node0": 10**12, "publisher": 10**12}
        lucid_accounts = [{"address": self.new_key(name), "balance": bal} for name, bal in accounts.items()]
        named = len(lucid_accounts)
        lucid_accounts += [dict(a) for a in extra_accounts]
        # Hubs (docs/ipfs.md "Replication"): validators 0 and 1 announce their IPFS pins as their
        # own funded key "hub" (in their home); each version should live on both (R = 2).
        if self.app == "lucid":
            for i in range(min(KUBO_HUBS, self.n)):
                self.lucid_home(i).mkdir(parents=True, exist_ok=True)
                lucid_accounts.append({"address": self.new_key("hub", home=self.lucid_home(i)), "balance": 10**12})
        gen = self.root / "testnet"
        subprocess.run([str(self.cometbft), "testnet", "--v", str(self.n), "--n", "0", "--o", str(gen),
                        "--populate-persistent-peers=false"],
                       check=True, capture_output=True, timeout=120)
        genesis = json.loads((gen / "node0/config/genesis.json").read_text())
        p = {"tx_fee_per_byte": 1, "min_node_stake": 1000, "max_tx_bytes": 4 << 20, "dev_mode": False,
             "replication": {"min_replicas": min(KUBO_HUBS, self.n)}}
        p.update(params or {})
        genesis["chain_id"] = self.chain_id
        genesis["app_state"] = {"chain_id": self.chain_id, "params": p, "accounts": lucid_accounts}
        ids = []
        for i in range(self.n):
            home = self.comet_home(i)
            home.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(gen / f"node{i}", home)
            ids.append(subprocess.run([str(self.cometbft), "show-node-id", "--home", str(home)], check=True,
                                      capture_output=True, text=True).stdout.strip())
        for i in range(self.n):
            home = self.comet_home(i)
            (home / "config/genesis.json").write_text(json.dumps(genesis, indent=2))
            peers = ",".join(f"{ids[j]}@{self.ip(j)}:{P2P_PORT}" for j in range(self.n) if j != i)
            cfg = (home / "config/config.toml").read_text()
            for section, key, value in [
                ("", "moniker", f'"lucid-v{i}"'),
                ("", "proxy_app", f'"tcp://{self.ip(i)}:{ABCI_PORT}"'),
                ("rpc", "laddr", f'"tcp://{self.ip(i)}:{RPC_PORT}"'),
                ("rpc", "max_body_bytes", "16000000"),
                ("rpc", "timeout_broadcast_tx_commit", '"30s"'),
                ("p2p", "laddr", f'"tcp://{self.ip(i)}:{P2P_PORT}"'),
                ("p2p", "external_address", '""'),
                ("p2p", "seeds", '""'),
                ("p2p", "persistent_peers", f'"{peers}"'),
                ("p2p", "pex", "false"),
                ("p2p", "addr_book_strict", "false"),
                ("p2p", "allow_duplicate_ip", "true"),
                ("mempool", "max_tx_bytes", str(4 << 20)),
                ("mempool", "size", "50000"),
                ("consensus", "timeout_propose", '"1s"'),
                ("consensus", "timeout_prevote", '"200ms"'),
                ("consensus", "timeout_precommit", '"200ms"'),
                ("consensus", "timeout_commit", f'"{self.timeout_commit}"'),
                ("consensus", "create_empty_blocks", "true" if self.empty_blocks else "false"),
                ("instrumentation", "prometheus", "false"),
            ]:
                cfg = set_toml(cfg, section, key, value)
            (home / "config/config.toml").write_text(cfg)
            self.lucid_home(i).mkdir(parents=True, exist_ok=True)
        (self.root / "net.json").write_text(json.dumps({
            "n": self.n, "base_ip": self.base_ip, "chain_id": self.chain_id,
            "validators": [{"ip": self.ip(i), "rpc": self.rpc(i), "api": self.api(i),
                            "abci": f"tcp://{self.ip(i)}:{ABCI_PORT}", "p2p": f"{self.ip(i)}:{P2P_PORT}",
                            "node_id": ids[i]} for i in range(self.n)],
            "accounts": {name: a["address"] for name, a in zip(accounts, lucid_accounts[:named])}}, indent=2))

    @classmethod
    def load(cls, root, **kw):
        info = json.loads((Path(root) / "net.json").read_text())
        return cls(root, n=info["n"], base_ip=info["base_ip"], chain_id=info["chain_id"], **kw)

    # ---- IPFS (docs/ipfs.md) ----
    def ipfs_enabled(self):
        return (self.root / "swarm.key").exists()

    def kubo_api(self, i):
        return f"127.0.0.1:{KUBO_API_PORT + i}"

    def kubo_peer(self, i):
        r = urllib.request.urlopen(urllib.request.Request(f"http://{self.kubo_api(i)}/api/v0/id", method="POST"),
                                   timeout=10)
        addrs = json.loads(r.read())["Addresses"] or []
        return next(a for a in addrs if a.startswith(f"/ip4/127.0.0.1/tcp/{KUBO_SWARM_PORT + i}/p2p/"))

    def init_ipfs(self):
        """Makes the swarm key when kubo and lucid-ipfs are installed; returns whether it did."""
        if self.app != "lucid" or not default_kubo().exists() or not default_ipfs_tool().exists():
            return False
        subprocess.run([str(default_ipfs_tool()), "swarm-key", str(self.root / "swarm.key")], check=True,
                       capture_output=True, timeout=30)
        return True

    def start_kubo(self, i):
        peers = []
        for j in range(min(KUBO_HUBS, self.n)):
            if j != i and self.pid(f"kubo-v{j}"):
                peers += ["--peer", self.kubo_peer(j)]
        proc = self._spawn(f"kubo-v{i}", [
            str(default_ipfs_tool()), "daemon", "--repo", str(self.root / f"kubo-v{i}"),
            "--swarm-key", str(self.root / "swarm.key"), "--api-port", str(KUBO_API_PORT + i),
            "--swarm-port", str(KUBO_SWARM_PORT + i), *peers])
        self.wait_port("127.0.0.1", KUBO_API_PORT + i, timeout=60)
        return proc

    # ---- processes ----
    def _spawn(self, name, argv):
        log = open(self.logs / f"{name}.log", "ab")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        log.close()
        self.pidfile(name).parent.mkdir(exist_ok=True)
        self.pidfile(name).write_text(str(proc.pid))
        return proc

    def pid(self, name):
        try:
            pid = int(self.pidfile(name).read_text())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except OSError:
            return None
        # Only a process we started: its command line names our home.
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            return None
        return pid if str(self.root) in cmdline else None

    def start_app(self, i):
        if self.app == "kvstore":
            return self._spawn(f"lucid-v{i}", [
                str(default_abci_cli()), "kvstore", "--address", f"tcp://{self.ip(i)}:{ABCI_PORT}",
                "--persist", str(self.lucid_home(i))])
        ipfs = self.ipfs_args(i)
        # A replicating hub announces as its "hub" key (made by init; absent in older localnets).
        replicate = bool(ipfs) and (self.lucid_home(i) / "keys" / "hub.json").exists()
        return self._spawn(f"lucid-v{i}", [
            str(self.lucid), "--home", str(self.lucid_home(i)), *(["--from", "hub"] if replicate else []), "--json",
            "validator", "--abci", f"tcp://{self.ip(i)}:{ABCI_PORT}", "--http", f"{self.ip(i)}:{HTTP_PORT}",
            "--comet-rpc", self.rpc(i), *ipfs, *(["--replicate"] if replicate else [])])

    def ipfs_args(self, i):
        if not self.ipfs_enabled() or i >= KUBO_HUBS:
            return []
        if not self.pid(f"kubo-v{i}"):
            self.start_kubo(i)
        return ["--ipfs-api", self.kubo_api(i)]

    def start_comet(self, i):
        return self._spawn(f"comet-v{i}", [str(self.cometbft), "start", "--home", str(self.comet_home(i))])

    def start(self, i):
        self.start_app(i)
        self.wait_port(self.ip(i), ABCI_PORT)
        self.start_comet(i)

    def up(self, timeout=60):
        for i in range(self.n):
            self.start(i)
        self.wait_height(1, timeout=timeout)

    def kill(self, name, sig=signal.SIGTERM, wait=30):
        pid = self.pid(name)
        if pid is None:
            return False
        os.kill(pid, sig)
        deadline = time.time() + wait
        while time.time() < deadline and self.pid(name) is not None:
            time.sleep(0.05)
        if self.pid(name) is not None:
            os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)
        return True

    def stop(self, i, sig=signal.SIGTERM):
        self.kill(f"comet-v{i}", sig)
        self.kill(f"lucid-v{i}", sig)

    # The inference node (`lucid node`, key node0): reads the chain through validator 0's API,
    # submits through validator 0's CometBFT RPC; its own API on 127.0.0.(base+n).
    def node_api(self):
        return f"http://{self.ip(self.n)}:{HTTP_PORT + 10}"

    def start_node(self):
        return self._spawn("node", [
            str(self.lucid), "--home", str(self.client_home), "--from", "node0", "--json", "node",
            "--chain", self.api(0), "--comet-rpc", self.rpc(0), "--http", f"{self.ip(self.n)}:{HTTP_PORT + 10}",
            *self.node_ipfs_args()])

    def node_ipfs_args(self):
        """With IPFS the node fetches model files through hub 1's kubo, then hub 0's."""
        if not self.ipfs_enabled():
            return []
        args = []
        for i in reversed(range(min(KUBO_HUBS, self.n))):
            args += ["--ipfs", self.kubo_api(i)]
        return args

    def down(self):
        self.kill("node")
        for i in range(self.n):
            self.stop(i)
        for i in range(min(KUBO_HUBS, self.n)):
            self.kill(f"kubo-v{i}")

    @staticmethod
    def wait_port(host, port, timeout=30):
        import socket
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with socket.create_connection((host, port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"{host}:{port} not listening")

    # ---- queries ----
    def comet_status(self, i):
        return http_json(self.rpc(i) + "/status", timeout=5)["result"]

    def height(self, i):
        try:
            return int(self.comet_status(i)["sync_info"]["latest_block_height"])
        except Exception:
            return -1

    def lucid_status(self, i):
        return http_json(self.api(i) + "/status", timeout=5)

    def wait_height(self, h, nodes=None, timeout=60):
        nodes = range(self.n) if nodes is None else nodes
        deadline = time.time() + timeout
        while time.time() < deadline:
            if all(self.height(i) >= h for i in nodes):
                return
            time.sleep(0.1)
        raise TimeoutError(f"height {h} not reached on {list(nodes)}: {[self.height(i) for i in nodes]}")

    def app_hash(self, i, height):
        """The app hash CometBFT header `height` carries (= Lucid header height-1's hash)."""
        r = http_json(f"{self.rpc(i)}/block?height={height}", timeout=5)["result"]
        return r["block"]["header"]["app_hash"]

    def status(self):
        rows = []
        for i in range(self.n):
            rows.append({"validator": i, "ip": self.ip(i),
                         "cometbft": "up" if self.pid(f"comet-v{i}") else "down",
                         "lucid": "up" if self.pid(f"lucid-v{i}") else "down",
                         "height": self.height(i), "rpc": self.rpc(i), "api": self.api(i),
                         "ipfs": (("up " if self.pid(f"kubo-v{i}") else "down ") + self.kubo_api(i))
                         if self.ipfs_enabled() and i < KUBO_HUBS else None})
        return rows


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="localnet", description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["up", "down", "status"])
    ap.add_argument("--dir", default=os.environ.get("LUCID_LOCALNET_DIR", str(REPO / ".lucid/localnet")))
    ap.add_argument("--validators", type=int, default=4)
    ap.add_argument("--base-ip", type=int, default=11, help="validator i listens on 127.0.0.(BASE+i)")
    ap.add_argument("--clean", action="store_true", help="down: also delete the folder (chain data, keys, logs)")
    ap.add_argument("--no-node", action="store_true", help="up: do not start the inference node (lucid node)")
    ap.add_argument("--no-ipfs", action="store_true",
                    help="up (first time): no kubo for the hubs (default: validators 0 and 1 get one each, "
                         "in one private swarm, when kubo and lucid-ipfs are built)")
    a = ap.parse_args(argv)
    root = Path(a.dir).resolve()
    if a.command == "up":
        if (root / "net.json").exists():
            net = Net.load(root)
        else:
            net = Net(root, n=a.validators, base_ip=a.base_ip)
            net.init()
            if not a.no_ipfs:
                net.init_ipfs()
        for i in range(net.n):
            if not net.pid(f"lucid-v{i}"):
                net.start_app(i)
                net.wait_port(net.ip(i), ABCI_PORT)
            if not net.pid(f"comet-v{i}"):
                net.start_comet(i)
        net.wait_height(1, timeout=90)
        node = None
        if not a.no_node:
            if not net.pid("node"):
                net.start_node()
            host, port = net.node_api()[7:].rsplit(":", 1)
            net.wait_port(host, int(port), timeout=60)
            deadline = time.time() + 60  # its RegisterNode tx committed before it serves
            while not any(n["endpoint"] == net.node_api() for n in http_json(f"{net.api(0)}/chain/nodes")["nodes"]):
                if time.time() > deadline:
                    raise TimeoutError(f"the inference node did not register; see {net.logs / 'node.log'}")
                time.sleep(0.2)
            node = {"api": net.node_api(), "key": "node0", "log": str(net.logs / "node.log")}
        print(json.dumps({"dir": str(root), "logs": str(net.logs), "validators": net.status(),
                          "inference_node": node,
                          "client": f"lucid --home {net.client_home} --node {net.api(0)} --from alice ..."}, indent=2))
    elif a.command == "down":
        if (root / "net.json").exists():
            Net.load(root).down()
        if a.clean and root.exists():
            shutil.rmtree(root)
        print(f"localnet down ({root}{', deleted' if a.clean else ''})")
    else:
        if not (root / "net.json").exists():
            print(f"no localnet in {root}")
            return 1
        net = Net.load(root)
        for row in net.status():
            print(f"v{row['validator']}  {row['ip']}  cometbft {row['cometbft']:4}  lucid {row['lucid']:4}  "
                  f"height {row['height']:>6}  rpc {row['rpc']}  api {row['api']}"
                  + (f"  ipfs {row['ipfs']}" if row["ipfs"] else ""))
        print(f"inference node  {'up' if net.pid('node') else 'down'}  api {net.node_api()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
