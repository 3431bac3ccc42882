"""Helpers and the `devnet` fixture for the SDK tests: a `lucid devnet` process (same protocol as
tests/e2e/conftest.py: a temp home, a free 127.0.0.1 port, the devnet's JSON info on stdout once
ready). Test modules import this module first (it also puts this checkout's sdk/python on
sys.path). There is no conftest.py here on purpose: tests/e2e's modules import `conftest` by
name, and a second conftest.py collected in the same session would shadow theirs."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LUCID = Path(os.environ.get("LUCID_BIN", REPO / "build" / "src" / "cli" / "lucid"))
SDK = REPO / "sdk" / "python"
if str(SDK) not in sys.path:  # the SDK of this checkout even when scripts/test did not set PYTHONPATH
    sys.path.insert(0, str(SDK))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Devnet:
    def __init__(self, home: Path, block_time: str = "200ms"):
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.block_time = block_time
        self.proc = None
        self.info = None

    def start(self, timeout: float = 60) -> "Devnet":
        self.home.mkdir(parents=True, exist_ok=True)
        self.log = open(self.home.parent / f"devnet-{self.port}.log", "ab")
        self.proc = subprocess.Popen(
            [str(LUCID), "--home", str(self.home), "--json", "devnet", "--http", f"127.0.0.1:{self.port}",
             "--block-time", self.block_time], stdout=subprocess.PIPE, stderr=self.log)
        lines, deadline = [], time.time() + timeout
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
        assert self.info is not None and self.info["api"] == self.url, "devnet did not become ready"
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.log.close()

    def lucid(self, *args, timeout: float = 120) -> subprocess.CompletedProcess:
        """Runs the C++ CLI against this devnet (--home for its genesis.json, --json output)."""
        cmd = [str(LUCID), "--home", str(self.home), "--node", self.url, "--json", *[str(a) for a in args]]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def devnet(tmp_path_factory):
    """A devnet per test module, 1 s blocks: concurrent inferences settle in one block, so
    inclusion proofs have siblings."""
    if not LUCID.exists():
        pytest.skip(f"{LUCID} is not built")
    net = Devnet(tmp_path_factory.mktemp("sdk") / "home", block_time="1s").start()
    yield net
    net.stop()
