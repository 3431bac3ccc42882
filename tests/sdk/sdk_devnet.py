"""Helpers and the `devnet` fixture for the SDK tests: a `lucid devnet` process (same protocol as
tests/e2e/conftest.py: a temp home, a free 127.0.0.1 port, the devnet's JSON info on stdout once
ready). Test modules import this module first (it also puts this checkout's sdk/python on
sys.path). There is no conftest.py here on purpose: tests/e2e's modules import `conftest` by
name, and a second conftest.py collected in the same session would shadow theirs."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SDK = REPO / "sdk" / "python"
if str(SDK) not in sys.path:  # the SDK of this checkout even when scripts/test did not set PYTHONPATH
    sys.path.insert(0, str(SDK))

# tests/e2e's devnet process handling, loaded under its own module name (importing it as
# `conftest` is what would clash).
_spec = importlib.util.spec_from_file_location("lucid_e2e_conftest", REPO / "tests" / "e2e" / "conftest.py")
_e2e = importlib.util.module_from_spec(_spec)
sys.modules["lucid_e2e_conftest"] = _e2e
_spec.loader.exec_module(_e2e)
LUCID = _e2e.LUCID
free_port = _e2e.free_port


class Devnet(_e2e.Devnet):
    def __init__(self, home: Path, block_time: str = "200ms"):
        home.mkdir(parents=True, exist_ok=True)
        super().__init__(home, free_port(), block_time=block_time)

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
