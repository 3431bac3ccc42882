import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # sdk_devnet
SDK = HERE.parents[1] / "sdk" / "python"
if str(SDK) not in sys.path:  # the SDK from this checkout even when scripts/test did not set PYTHONPATH
    sys.path.insert(0, str(SDK))

from sdk_devnet import LUCID, Devnet  # noqa: E402


@pytest.fixture(scope="module")
def devnet(tmp_path_factory):
    if not LUCID.exists():
        pytest.skip(f"{LUCID} is not built")
    # 1 s blocks: several concurrent inferences settle in one block, so inclusion proofs have siblings.
    net = Devnet(tmp_path_factory.mktemp("sdk") / "home", block_time="1s").start()
    yield net
    net.stop()
