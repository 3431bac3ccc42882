"""Cross-check of Lucid's integer kernels against integer_spec.py, a numpy implementation of
docs/formats/integer-semantics.md: every integer node of Lucid-quantized models (digits
demo models, the bench MLP and transformer) must match byte for byte, for 1 and 2 threads.
Then onnxruntime on the same node inputs: with weights narrowed to 7 bits it agrees with the
spec within one code (its float32 requantization), and on full int8 weights it matches
either the spec or the int16-saturating pair model of its non-VNNI AVX2 kernel (spec §7)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

import integer_spec as spec

REPO = Path(__file__).resolve().parents[2]
LUCID = Path(os.environ.get("LUCID_BIN", REPO / "build" / "src" / "cli" / "lucid"))
pytestmark = pytest.mark.skipif(not LUCID.exists(), reason=f"{LUCID} is not built")

sys.path.insert(0, str(REPO / "models" / "digits"))
sys.path.insert(0, str(REPO / "bench"))


def quantize(tmp_path, model, calibration):
    """Lucid's quantizer (`lucid quantize`) on a ModelProto and a list of input maps."""
    src, calib, out = tmp_path / "float.onnx", tmp_path / "calib.json", tmp_path / "int8.onnx"
    onnx.save(model, str(src))
    calib.write_text(json.dumps([{k: spec.tensor_json(v) for k, v in s.items()} for s in calibration]))
    r = subprocess.run([str(LUCID), "--json", "quantize", str(src), "--calibration", str(calib), "--out", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return onnx.load(str(out))


def digits_case(kind):
    """A digits demo model with a dynamic batch, so one run checks many test images."""
    from train import load_data
    x_train, x_test, _, _ = load_data()
    model = onnx.load(str(REPO / "models" / "digits" / f"{kind}.onnx"))
    dim = model.graph.input[0].type.tensor_type.shape.dim[0]
    dim.ClearField("dim_value")
    dim.dim_param = "N"
    shape = (-1, 64) if kind == "mlp" else (-1, 1, 8, 8)
    name = model.graph.input[0].name
    calibration = [{name: x_train[i:i + 50].reshape(shape)} for i in range(0, 200, 50)]
    return model, calibration, {name: x_test[:64].reshape(shape)}


def bench_case(kind, tmp_path):
    """The bench's MLP or transformer (bench/make_models.py, fixed seeds)."""
    import make_models
    getattr(make_models, kind)(tmp_path)
    model = onnx.load(str(tmp_path / f"{kind}.onnx"))
    load = lambda d: {k: np.array(v["data"], np.float32).reshape(v["shape"]) for k, v in d.items()}  # noqa: E731
    calibration = [load(s) for s in json.loads((tmp_path / f"{kind}.calib.json").read_text())]
    return model, calibration, load(json.loads((tmp_path / f"{kind}.inputs.json").read_text()))


def tables_case():
    """MatMul+Add → Sigmoid → MatMul → Tanh: the two nonlinearities become lookup tables."""
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(7)
    inits = [numpy_helper.from_array((rng.standard_normal((32, 48)) / 4).astype(np.float32), "w1"),
             numpy_helper.from_array(rng.standard_normal(48).astype(np.float32), "b1"),
             numpy_helper.from_array((rng.standard_normal((48, 10)) / 3).astype(np.float32), "w2")]
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["m1"]), helper.make_node("Add", ["m1", "b1"], ["h"]),
             helper.make_node("Sigmoid", ["h"], ["s"]), helper.make_node("MatMul", ["s", "w2"], ["m2"]),
             helper.make_node("Tanh", ["m2"], ["y"])]
    graph = helper.make_graph(nodes, "tables", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [16, 32])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [16, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    feed = lambda: {"x": rng.standard_normal((16, 32)).astype(np.float32)}  # noqa: E731
    return model, [feed() for _ in range(4)], feed()


CASES = ["digits_mlp", "digits_cnn", "bench_mlp", "bench_transformer", "tables"]


def case(name, tmp_path):
    if name == "tables":
        float_model, calibration, feeds = tables_case()
        return quantize(tmp_path, float_model, calibration), feeds
    kind = name.split("_", 1)[1]
    float_model, calibration, feeds = digits_case(kind) if name.startswith("digits") else bench_case(kind, tmp_path)
    return quantize(tmp_path, float_model, calibration), feeds


@pytest.fixture(scope="module")
def quantized(tmp_path_factory):
    made = {}

    def get(name):
        if name not in made:
            made[name] = case(name, tmp_path_factory.mktemp(name))
        return made[name]
    return get


def test_spec_rounding_examples():
    # §4's stated examples: multiplier 1/2 (M = 2^30, shift 31), round half up.
    m, shift = spec.fixed_multiplier(1.0, 0.5, 1.0)
    assert (m, shift) == (2**30, 31)
    got = spec.requantize(np.array([-5, -7, 5], np.int64), m, shift, 0, -128, 127)
    assert got.tolist() == [-2, -3, 3]  # −2.5 → −2, −3.5 → −3, 2.5 → 3
    assert spec.requantize(np.array([-21], np.int64), 2**30, 33, 0, -128, 127).tolist() == [-3]  # −2.625 → −3
    # §3: QuantizeLinear rounds ties to even and saturates.
    q = spec.quantize_linear(np.array([0.5, 1.5, 2.5, -0.5, 1e9, -np.inf], np.float32), np.float32(1.0),
                             np.array(0, np.int8))
    assert q.tolist() == [0, 2, 2, 0, 127, -128]


@pytest.mark.parametrize("name", CASES)
def test_lucid_matches_spec_byte_for_byte(name, quantized):
    model, feeds = quantized(name)
    for threads in (1, 2):
        _, report = spec.check_model(LUCID, model, feeds, threads)
        ops = {op for _, op, _, _ in report}
        assert {"QuantizeLinear", "QLinearConv", "DequantizeLinear"} <= ops, ops
        if name == "tables":
            assert {"Cast", "Gather"} <= ops, ops
        bad = [r for r in report if r[2] != 0]
        assert not bad, f"{name}, {threads} threads: nodes differing from the spec: {bad}"


def test_check_detects_a_changed_weight(quantized):
    """The cross-check can fail: the spec side sees one weight changed by one code."""
    model, feeds = quantized("digits_cnn")
    values, _ = spec.check_model(LUCID, model, feeds)
    node = next(n for n in model.graph.node if n.op_type == "QLinearConv")
    args = [values[n] if n else None for n in node.input]
    w = args[3].copy()
    w.reshape(-1)[0] = np.int8(w.reshape(-1)[0] + (1 if w.reshape(-1)[0] < 127 else -1))
    args[3] = w
    want = spec.spec_node(node, args)
    assert np.any(want != values[node.output[0]])


@pytest.mark.parametrize("name", ["digits_cnn", "bench_mlp", "bench_transformer", "tables"])
def test_onnxruntime_differs_only_by_int16_saturation(name, quantized):
    pytest.importorskip("onnxruntime")
    model, feeds = quantized(name)
    values, _ = spec.check_model(LUCID, model, feeds)
    # 7-bit weights: no pair of products can reach 2^15, and onnxruntime agrees with the
    # spec up to its float32 requantization rounding (one code).
    for node, dmax, _, _ in spec.ort_node_diffs(model, values, weight_bits=7):
        assert dmax <= 1, f"{name} {node}: onnxruntime differs from the spec by {dmax} codes with 7-bit weights"
    # 8-bit weights: each node matches the spec (a VNNI CPU) or the saturating pair model
    # (AVX2 without VNNI: vpmaddubsw) within one code.
    for node, d_spec, d_sat in spec.ort_saturation_diffs(model, values):
        assert min(d_spec, d_sat) <= 1, f"{name} {node}: onnxruntime is {d_spec} codes from the spec, {d_sat} from " \
                                        "the saturating model"
