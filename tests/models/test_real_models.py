"""Public ONNX models that nobody here made (shipped inside other projects' PyPI wheels,
fetched by tests/models/fetch.py), run by `lucid run` and by onnxruntime on the same
deterministic random input and compared: float32 outputs within |lucid − ort| ≤ atol +
rtol·|ort| (atol 1e-4, rtol 1e-3 unless the model states otherwise), integer outputs exactly.
A model Lucid refuses at load time is skipped with the refusal (which names the op); at
least three must run. One of them also goes end to end through a devnet: hub upload, then
`lucid infer`, whose outputs must equal `lucid run`'s bit for bit."""
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
import fetch  # noqa: E402

# The devnet fixtures of tests/e2e, loaded under their own module name.
_spec = importlib.util.spec_from_file_location("lucid_e2e_conftest", REPO / "tests" / "e2e" / "conftest.py")
e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(e2e)
LUCID = e2e.LUCID

RAN = {}  # model name -> lucid outputs, for the summary test and the devnet test


def make_input(model: fetch.RealModel) -> dict:
    """Deterministic random input: the same bytes on every machine and run."""
    rng = np.random.default_rng(20240611 + sum(model.name.encode()))
    feed = {}
    for name, (dtype, shape, kind) in model.inputs.items():
        if kind == "bytes":
            feed[name] = rng.integers(0, 256, size=shape).astype(np.int32)
        elif kind == "image":
            feed[name] = rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)
        elif kind == "audio":
            feed[name] = rng.uniform(-0.5, 0.5, size=shape).astype(np.float32)
        else:
            feed[name] = (0.1 * rng.standard_normal(size=shape)).astype(np.float32)
        assert str(feed[name].dtype) == dtype
    return feed


def to_json(feed: dict) -> dict:
    # float32 → Python float is exact, so the JSON round-trips to the same bits.
    return {name: {"dtype": str(a.dtype), "shape": list(a.shape), "data": a.reshape(-1).tolist()}
            for name, a in feed.items()}


def from_json(outputs: dict) -> dict:
    return {name: np.array(t["data"], dtype=t["dtype"]).reshape(t["shape"]) for name, t in outputs.items()}


def lucid_run(model_path: Path, input_file: Path, threads=1):
    return subprocess.run([str(LUCID), "--json", "run", str(model_path), "--input", str(input_file),
                           "--threads", str(threads)], capture_output=True, text=True, timeout=600)


def compare(name: str, got: np.ndarray, want: np.ndarray, atol: float, rtol: float):
    assert got.shape == want.shape, f"output '{name}': shape {got.shape}, onnxruntime {want.shape}"
    if want.dtype.kind == "f":
        diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
        bad = ~(diff <= atol + rtol * np.abs(want.astype(np.float64)))
        bad &= ~(np.isnan(got) & np.isnan(want))
        assert not bad.any(), (f"output '{name}': {int(bad.sum())} of {want.size} elements differ beyond "
                               f"atol {atol} + rtol {rtol}; max |diff| {np.nanmax(diff):.3g}")
        return float(np.nanmax(diff)) if diff.size else 0.0
    np.testing.assert_array_equal(got, want.astype(got.dtype), err_msg=f"output '{name}'")
    return 0.0


@pytest.fixture(scope="session")
def model_paths():
    if not LUCID.exists():
        pytest.fail(f"{LUCID} is missing: build it first (scripts/build)")
    return {m.name: fetch.fetch(m) for m in fetch.MODELS}


@pytest.mark.parametrize("model", fetch.MODELS, ids=[m.name for m in fetch.MODELS])
def test_matches_onnxruntime(model, model_paths, tmp_path):
    path = model_paths[model.name]
    feed = make_input(model)
    input_file = tmp_path / "input.json"
    input_file.write_text(json.dumps(to_json(feed)))
    p = lucid_run(path, input_file)
    if p.returncode != 0:
        message = (p.stderr + p.stdout).strip()
        try:  # --json errors: {"error": {"code": ..., "message": ...}}
            error = json.loads(p.stdout)["error"]
            message = f"{error['code']}: {error['message']}"
        except (ValueError, KeyError, TypeError):
            pass
        if "loading ONNX model" in message:
            op = re.search(r"unsupported op '([^']+)'", message)
            what = f"op {op.group(1)}" if op else "the model"
            pytest.skip(f"{model.name}: Lucid refuses {what} at load: {message[:300]}")
        pytest.fail(f"lucid run {model.name} exited {p.returncode} after loading: {message[:2000]}")
    got = from_json(json.loads(p.stdout)["outputs"])

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    want = dict(zip(names, session.run(names, feed)))
    assert sorted(got) == sorted(want)
    atol, rtol = model.tolerance
    worst = {name: compare(name, got[name], want[name], atol, rtol) for name in names}
    print(f"{model.name}: max |lucid - onnxruntime| per output: {worst}")
    RAN[model.name] = (path, input_file, p.stdout)


def test_at_least_three_real_models_run():
    """Runs after the parametrized tests above (file order)."""
    assert len(RAN) >= 3, f"only {sorted(RAN)} ran; the rest were refused (see the skips above)"


def test_thread_count_does_not_change_bytes():
    if not RAN:
        pytest.skip("no real model ran")
    name = min(RAN)
    path, input_file, single = RAN[name]
    p = lucid_run(path, input_file, threads=2)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["output_hash"] == json.loads(single)["output_hash"]


@pytest.fixture()
def devnet(tmp_path):
    net = e2e.Devnet(tmp_path / "home", e2e.free_port())
    net.start()
    yield net
    net.stop()


def test_real_model_through_devnet(devnet, tmp_path):
    # Smallest model that ran: quickest to upload and execute.
    ran = sorted(RAN, key=lambda n: RAN[n][0].stat().st_size)
    if not ran:
        pytest.fail("no real model ran, so none can go through the devnet")
    name = ran[0]
    path, input_file, run_stdout = RAN[name]
    cli = e2e.Cli(devnet)
    desc = tmp_path / "desc.md"
    desc.write_text(f"# {name}\nA public model fetched from its wheel by tests/models/fetch.py.\n")
    cli.json("hub", "create", name, "--description", desc, "--task", "other", "--license", "Apache-2.0",
             key="dev0")
    cli.json("hub", "upload", name, path, "--version", "1.0", "--price", 3, key="dev0")
    result = cli.json("infer", f"{name}@1.0", "--input", input_file, key="dev1")
    local = json.loads(run_stdout)
    # The network's node executes the same bytes: outputs identical to the local run.
    assert result["outputs"] == local["outputs"]
    report = cli.json("verify", result["receipt_id"])
    assert report["valid"] is True
