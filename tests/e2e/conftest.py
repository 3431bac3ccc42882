"""Fixtures for end-to-end tests: a real `lucid devnet` process on a temp home and a free
loopback port, and a helper to run the `lucid` CLI against it."""
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
LUCID = Path(os.environ.get("LUCID_BIN", REPO / "build" / "src" / "cli" / "lucid"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Devnet:
    def __init__(self, home: Path, port: int, block_time="200ms", extra_args=()):
        self.home = home
        self.extra_args = [str(a) for a in extra_args]
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.block_time = block_time
        self.proc = None
        self.info = None

    def start(self, timeout=60):
        self.log = open(self.home.parent / f"devnet-{self.port}.log", "ab")
        self.proc = subprocess.Popen(
            [str(LUCID), "--home", str(self.home), "--json", "devnet", "--http", f"127.0.0.1:{self.port}",
             "--block-time", self.block_time, *self.extra_args],
            stdout=subprocess.PIPE, stderr=self.log)
        # The first stdout document is the devnet's JSON info, printed once it is ready.
        lines = []
        deadline = time.time() + timeout
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"devnet exited with {self.proc.returncode}; see {self.log.name}")
                continue
            lines.append(line.decode())
            try:
                self.info = json.loads("".join(lines))
                break
            except json.JSONDecodeError:
                continue
        assert self.info is not None, "devnet did not become ready"
        assert self.info["api"] == self.url
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if getattr(self, "log", None):
            self.log.close()

    def get(self, path):
        return requests.get(self.url + path, timeout=30)

    def wait_height(self, height, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.get("/status").json()["height"] >= height:
                return
            time.sleep(0.05)
        raise AssertionError(f"height {height} not reached")


class Cli:
    def __init__(self, devnet: Devnet):
        self.devnet = devnet

    def run(self, *args, key=None, expect=0, json_output=True, node=None):
        cmd = [str(LUCID), "--home", str(self.devnet.home), "--node", node or self.devnet.url]
        if key:
            cmd += ["--from", key]
        if json_output:
            cmd.append("--json")
        cmd += [str(a) for a in args]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if expect is not None and p.returncode != expect:
            raise AssertionError(f"{' '.join(cmd)} exited {p.returncode} (expected {expect})\n"
                                 f"stdout: {p.stdout}\nstderr: {p.stderr}")
        return p

    def json(self, *args, key=None, expect=0, node=None):
        p = self.run(*args, key=key, expect=expect, node=node)
        return json.loads(p.stdout)


def tiny_llm_devnet(tmp, extra_args=()):
    """A devnet with the tiny random llama GGUF (tests/llm/make_llama_gguf.py) published as
    tiny@1.0; `d.tmp` is the folder, `d.cli` a Cli. The caller stops it."""
    import sys
    subprocess.run([sys.executable, str(REPO / "tests" / "llm" / "make_llama_gguf.py"), str(tmp)], check=True,
                   capture_output=True)
    d = Devnet(tmp / "home", free_port(), block_time="200ms", extra_args=extra_args)
    d.start()
    cli = Cli(d)
    cli.run("hub", "create", "tiny")
    cli.run("hub", "upload", "tiny", tmp / "tiny_llama.gguf", "--version", "1.0")
    d.tmp = tmp
    d.cli = cli
    return d


@pytest.fixture()
def devnet(tmp_path):
    net = Devnet(tmp_path / "home", free_port())
    net.start()
    yield net
    net.stop()


@pytest.fixture()
def cli(devnet):
    return Cli(devnet)
