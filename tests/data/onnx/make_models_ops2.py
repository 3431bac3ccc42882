"""Builds the ops2 test models (ConvTranspose, LayerNormalization, InstanceNormalization,
Resize at opsets 10/11/13/18/19, LSTM, GRU) and writes onnxruntime's outputs for fixed
inputs as ops2_<name>.json beside ops2_<name>.onnx, in Lucid's tensor JSON format.
tests/onnx/ops2_test.cc compares Lucid with them. Run from the repository root:
    .venv/bin/python tests/data/onnx/make_models_ops2.py
"""
import json
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261124)
F, I32, I64 = TensorProto.FLOAT, TensorProto.INT32, TensorProto.INT64


def rand(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def to_json(array):
    dtype = {"float32": "float32", "int64": "int64", "int32": "int32", "bool": "bool"}[array.dtype.name]
    return {"dtype": dtype, "shape": list(array.shape), "data": array.reshape(-1).tolist()}


def make(name, nodes, inputs, outputs, initializers, opset):
    graph = helper.make_graph(nodes, name, inputs, [helper.ValueInfoProto(name=o) for o in outputs], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="lucid-tests")
    model.ir_version = 8 if opset <= 17 else 9  # libonnx 1.12's checker knows IR ≤ 8
    for out in model.graph.output:
        out.type.tensor_type.elem_type = F
    return model


def save(name, nodes, inputs, outputs, initializers, feeds, opset=13, reference_nodes=None, more_feeds=None):
    """outputs: names; shapes and dtypes come from onnxruntime's results. reference_nodes:
    an equivalent graph onnxruntime runs instead (for forms it lacks, e.g. RNN layout 1).
    more_feeds: {suffix: feeds} writes ops2_<name>_<suffix>.json for the same model."""
    model = make(name, nodes, inputs, outputs, initializers, opset)
    reference = make(name, reference_nodes or nodes, inputs, outputs, initializers, opset)
    sess = ort.InferenceSession(reference.SerializeToString(), providers=["CPUExecutionProvider"])
    results = sess.run(outputs, feeds)
    for out, value in zip(model.graph.output, results):
        out.type.tensor_type.elem_type = helper.np_dtype_to_tensor_dtype(value.dtype)
        out.type.tensor_type.shape.dim.extend(
            [onnx.TensorShapeProto.Dimension(dim_value=d) for d in value.shape])
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, "ops2_" + name + ".onnx"))
    golden = {"inputs": {k: to_json(v) for k, v in feeds.items()},
              "outputs": {k: to_json(v) for k, v in zip(outputs, results)}}
    with open(os.path.join(HERE, "ops2_" + name + ".json"), "w") as f:
        json.dump(golden, f)
    for suffix, extra in (more_feeds or {}).items():
        golden = {"inputs": {k: to_json(v) for k, v in extra.items()},
                  "outputs": {k: to_json(v) for k, v in zip(outputs, sess.run(outputs, extra))}}
        with open(os.path.join(HERE, "ops2_" + name + "_" + suffix + ".json"), "w") as f:
            json.dump(golden, f)


# ConvTranspose: pads/strides, group + dilations + output_padding, output_shape, 1-D, SAME_LOWER.
save("conv_transpose", [
    helper.make_node("ConvTranspose", ["x", "w1", "b1"], ["y1"], pads=[1, 1, 1, 1], strides=[2, 2]),
    helper.make_node("ConvTranspose", ["x", "w2"], ["y2"], group=2, dilations=[2, 1], strides=[2, 2],
                     output_padding=[1, 0], kernel_shape=[3, 2]),
    helper.make_node("ConvTranspose", ["x", "w1"], ["y3"], strides=[2, 2], output_shape=[10, 10]),
    helper.make_node("ConvTranspose", ["x1", "w4", "b4"], ["y4"], strides=[3], pads=[2, 1]),
    helper.make_node("ConvTranspose", ["x", "w1"], ["y5"], strides=[2, 2], auto_pad="SAME_LOWER"),
    helper.make_node("ConvTranspose", ["x", "w1"], ["y6"], strides=[1, 1], auto_pad="VALID"),
    helper.make_node("ConvTranspose", ["x", "w1"], ["y7"], strides=[2, 2], auto_pad="SAME_UPPER"),
    helper.make_node("ConvTranspose", ["x", "w1"], ["y8"], strides=[3, 2], output_shape=[13, 9], auto_pad="SAME_UPPER"),
], [vi("x", F, [1, 4, 5, 5]), vi("x1", F, [2, 3, 7])], ["y1", "y2", "y3", "y4", "y5", "y6", "y7", "y8"],
    [init("w1", rand(4, 3, 3, 3)), init("b1", rand(3)), init("w2", rand(4, 2, 3, 2)),
     init("w4", rand(3, 2, 4)), init("b4", rand(2))],
    {"x": rand(1, 4, 5, 5), "x1": rand(2, 3, 7)})

# LayerNormalization (last axis, middle axis with all outputs, no bias, broadcast scale)
# and InstanceNormalization.
save("norms", [
    helper.make_node("LayerNormalization", ["x", "s1", "b1"], ["y1"]),
    helper.make_node("LayerNormalization", ["x", "s2", "b2"], ["y2", "mean2", "inv2"], axis=1, epsilon=1e-3),
    helper.make_node("LayerNormalization", ["x", "s3"], ["y3"], axis=-2),
    helper.make_node("InstanceNormalization", ["img", "si", "bi"], ["y4"], epsilon=1e-4),
], [vi("x", F, [2, 3, 8]), vi("img", F, [2, 3, 4, 5])], ["y1", "y2", "mean2", "inv2", "y3", "y4"],
    [init("s1", rand(8)), init("b1", rand(8)), init("s2", rand(3, 8)), init("b2", rand(1, 8)),
     init("s3", rand(1, 8)), init("si", rand(3)), init("bi", rand(3))],
    {"x": rand(2, 3, 8, scale=3.0) + 1.5, "img": rand(2, 3, 4, 5, scale=2.0) - 0.5}, opset=17)


def sc(*v):
    return np.array(v, dtype=np.float32)


def sz(*v):
    return np.array(v, dtype=np.int64)


# Resize-10: X and scales; asymmetric coordinates.
save("resize10", [
    helper.make_node("Resize", ["x", "up"], ["near_up"], mode="nearest"),
    helper.make_node("Resize", ["x", "down"], ["near_down"], mode="nearest"),
    helper.make_node("Resize", ["x", "up"], ["lin_up"], mode="linear"),
    helper.make_node("Resize", ["x", "down"], ["lin_down"], mode="linear"),
], [vi("x", F, [1, 2, 4, 5])], ["near_up", "near_down", "lin_up", "lin_down"],
    [init("up", sc(1, 1, 2, 1.5)), init("down", sc(1, 1, 0.5, 0.6))], {"x": rand(1, 2, 4, 5)}, opset=10)

modes = ["half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"]
nearest = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]


def resize_nodes(opset, empty):
    nodes, outs = [], []
    for ci, coord in enumerate(modes):
        for mode in ["nearest", "linear"]:
            for which, (scales, sizes) in enumerate([("up", empty), ("down", empty), (empty, "size")]):
                out = f"{mode}_{coord}_{which}"
                extra = {"nearest_mode": nearest[(ci + which) % 4]} if mode == "nearest" else {}
                inputs = ["x", "roi" if opset == 11 else empty, scales] + ([sizes] if sizes != empty else [])
                nodes.append(helper.make_node("Resize", inputs, [out], mode=mode,
                                              coordinate_transformation_mode=coord, **extra))
                outs.append(out)
    return nodes, outs


roi = init("roi", np.zeros(0, dtype=np.float32))
empty_scales = init("none", np.zeros(0, dtype=np.float32))
# Scales whose products with the input dims are exact in any precision: onnxruntime computes
# floor(scale·in) and align_corners' length_resized in float32, ONNX's shape inference and
# reference in double, so fractional products (5·1.4f) split them. The fractional case is
# ONNX's own conformance test test_resize_downsample_scales_linear_align_corners.
common = [init("up", sc(1, 1, 1.75, 1.5)), init("down", sc(1, 1, 0.75, 0.5)), init("size", sz(1, 2, 3, 7))]
nodes, outs = resize_nodes(11, "none")
save("resize11", nodes, [vi("x", F, [1, 2, 4, 6])], outs, common + [roi, empty_scales], {"x": rand(1, 2, 4, 6)},
     opset=11)
nodes, outs = resize_nodes(13, "")
save("resize13", nodes, [vi("x", F, [1, 2, 4, 6])], outs, common, {"x": rand(1, 2, 4, 6)}, opset=13)

# Resize-18 axes and 19 half_pixel_symmetric.
save("resize19", [
    helper.make_node("Resize", ["x", "", "s2"], ["axes_scales"], mode="linear", axes=[2, 3]),
    helper.make_node("Resize", ["x", "", "", "z2"], ["axes_sizes"], mode="nearest", axes=[-1, 2]),
    helper.make_node("Resize", ["x", "", "s2"], ["sym_lin"], mode="linear", axes=[2, 3],
                     coordinate_transformation_mode="half_pixel_symmetric"),
    helper.make_node("Resize", ["x", "", "", "z2"], ["sym_near"], mode="nearest", axes=[3, 2],
                     coordinate_transformation_mode="half_pixel_symmetric"),
], [vi("x", F, [1, 2, 5, 4])], ["axes_scales", "axes_sizes", "sym_lin", "sym_near"],
    [init("s2", sc(1.7, 0.8)), init("z2", sz(7, 3))], {"x": rand(1, 2, 5, 4)}, opset=19)

def layout1_reference(op, dirs, **attrs):
    """Layout-1 node and the layout-0 graph that computes the same (onnxruntime has no layout 1)."""
    node = helper.make_node(op, ["xt", "w", "r"], ["y_l1", "yh_l1"], layout=1, **attrs)
    ref = [helper.make_node("Transpose", ["xt"], ["xt0"], perm=[1, 0, 2]),
           helper.make_node(op, ["xt0", "w", "r"], ["y_l0", "yh_l0"], **attrs),
           helper.make_node("Transpose", ["y_l0"], ["y_l1"], perm=[2, 0, 1, 3]),
           helper.make_node("Transpose", ["yh_l0"], ["yh_l1"], perm=[1, 0, 2])]
    return node, ref


# LSTM: forward with everything, reverse, bidirectional with sequence_lens, layout 1, clip.
S, B, I, H = 5, 3, 4, 3
lens = np.array([5, 2, 4], dtype=np.int32)
lstm = [
    helper.make_node("LSTM", ["x", "w", "r", "b", "", "h0", "c0", "p"], ["y", "yh", "yc"], hidden_size=H),
    helper.make_node("LSTM", ["x", "w", "r", "b"], ["y_rev", "yh_rev"], hidden_size=H, direction="reverse"),
    helper.make_node("LSTM", ["x", "w2", "r2", "b2", "lens", "h02", "c02"], ["y_bi", "yh_bi", "yc_bi"],
                     hidden_size=H, direction="bidirectional"),
    helper.make_node("LSTM", ["x", "w", "r"], ["y_clip"], hidden_size=H, clip=0.7,
                     activations=["Sigmoid", "Tanh", "Relu"]),
]
node, ref = layout1_reference("LSTM", 1, hidden_size=H)
save("lstm", lstm + [node], [vi("x", F, [S, B, I]), vi("xt", F, [B, S, I]), vi("lens", I32, [B])],
     ["y", "yh", "yc", "y_rev", "yh_rev", "y_bi", "yh_bi", "yc_bi", "y_clip", "y_l1", "yh_l1"],
     [init("w", rand(1, 4 * H, I)), init("r", rand(1, 4 * H, H)), init("b", rand(1, 8 * H)),
      init("h0", rand(1, B, H)), init("c0", rand(1, B, H)), init("p", rand(1, 3 * H)),
      init("w2", rand(2, 4 * H, I)), init("r2", rand(2, 4 * H, H)), init("b2", rand(2, 8 * H)),
      init("h02", rand(2, B, H)), init("c02", rand(2, B, H))],
     {"x": rand(S, B, I), "xt": rand(B, S, I), "lens": lens}, opset=14, reference_nodes=lstm + ref)

# GRU: linear_before_reset 0 and 1, reverse, bidirectional with sequence_lens, layout 1.
gru = [
    helper.make_node("GRU", ["x", "w", "r", "b", "", "h0"], ["y", "yh"], hidden_size=H),
    helper.make_node("GRU", ["x", "w", "r", "b"], ["y_lbr", "yh_lbr"], hidden_size=H, linear_before_reset=1,
                     direction="reverse"),
    helper.make_node("GRU", ["x", "w2", "r2", "b2", "lens", "h02"], ["y_bi", "yh_bi"], hidden_size=H,
                     direction="bidirectional", linear_before_reset=1),
]
node, ref = layout1_reference("GRU", 1, hidden_size=H)
save("gru", gru + [node], [vi("x", F, [S, B, I]), vi("xt", F, [B, S, I]), vi("lens", I32, [B])],
     ["y", "yh", "y_lbr", "yh_lbr", "y_bi", "yh_bi", "y_l1", "yh_l1"],
     [init("w", rand(1, 3 * H, I)), init("r", rand(1, 3 * H, H)), init("b", rand(1, 6 * H)),
      init("h0", rand(1, B, H)), init("w2", rand(2, 3 * H, I)), init("r2", rand(2, 3 * H, H)),
      init("b2", rand(2, 6 * H)), init("h02", rand(2, B, H))],
     {"x": rand(S, B, I), "xt": rand(B, S, I), "lens": lens}, opset=14, reference_nodes=gru + ref)

# If: branches capture outer values (an initializer, a graph input, a node output), the then
# branch nests another If that captures from two levels up; both branches are exercised.
B_ = TensorProto.BOOL


def graph(name, nodes, outputs, inputs=(), initializers=()):
    return helper.make_graph(nodes, name, list(inputs), [vi(o, e, None) for o, e in outputs], list(initializers))


inner_then = graph("inner_then", [helper.make_node("Sub", ["x", "shift"], ["t2"])], [("t2", F)])
inner_else = graph("inner_else", [helper.make_node("Tanh", ["xs"], ["e2"])], [("e2", F)])
then_branch = graph("then", [
    helper.make_node("Add", ["x", "bias"], ["t0"]),
    helper.make_node("Relu", ["t0"], ["t1"]),
    helper.make_node("If", ["cond2"], ["t3"], then_branch=inner_then, else_branch=inner_else),
], [("t1", F), ("t3", F)])
else_branch = graph("else", [
    helper.make_node("Mul", ["xs", "two"], ["e0"]),
    helper.make_node("Identity", ["xs"], ["e1"]),
], [("e0", F), ("e1", F)], initializers=[init("two", np.float32(2.0))])
if_nodes = [
    helper.make_node("Sigmoid", ["x"], ["xs"]),
    helper.make_node("If", ["cond"], ["out_a", "out_b"], then_branch=then_branch, else_branch=else_branch),
]
xf = rand(2, 3)
save("if", if_nodes, [vi("x", F, [2, 3]), vi("cond", B_, []), vi("cond2", B_, [])], ["out_a", "out_b"],
     [init("bias", rand(3)), init("shift", np.float32(0.5))],
     {"x": xf, "cond": np.array(True), "cond2": np.array(True)}, opset=13,
     more_feeds={"nested_else": {"x": xf, "cond": np.array(True), "cond2": np.array(False)},
                 "else": {"x": xf, "cond": np.array(False), "cond2": np.array(True)}})

# Loop: a for-loop with trip count and cond, a loop-carried accumulator, a captured outer value
# and two scan outputs; and a while-loop (no M) that stops on the body's cond.
body = graph("body", [
    helper.make_node("Cast", ["i"], ["fi"], to=F),
    helper.make_node("Mul", ["x", "fi"], ["xi"]),
    helper.make_node("Add", ["acc", "xi"], ["acc_out"]),
    helper.make_node("Tanh", ["acc_out"], ["scan1"]),
    helper.make_node("Less", ["i", "stop_at"], ["cond_out"]),
    helper.make_node("Identity", ["fi"], ["scan2"]),
], [("cond_out", B_), ("acc_out", F), ("scan1", F), ("scan2", F)],
    inputs=[vi("i", I64, []), vi("c", B_, []), vi("acc", F, None)])
while_body = graph("while", [
    helper.make_node("Add", ["v", "step"], ["v_out"]),
    helper.make_node("ReduceSum", ["v_out"], ["total"], keepdims=0),
    helper.make_node("Less", ["total", "limit"], ["go"]),
], [("go", B_), ("v_out", F)], inputs=[vi("j", I64, []), vi("c", B_, []), vi("v", F, None)])
save("loop", [
    helper.make_node("Loop", ["m", "start", "acc0"], ["acc_final", "scan1s", "scan2s"], body=body),
    helper.make_node("Loop", ["", "start", "acc0"], ["v_final"], body=while_body),
], [vi("x", F, [3]), vi("m", I64, []), vi("start", B_, []), vi("acc0", F, [3])],
    ["acc_final", "scan1s", "scan2s", "v_final"],
    [init("stop_at", np.int64(4)), init("step", np.array([0.5, 0.25, 1.0], dtype=np.float32)),
     init("limit", np.float32(9.0))],
    {"x": rand(3), "m": np.array(6, dtype=np.int64), "start": np.array(True), "acc0": rand(3)},
    more_feeds={"short": {"x": rand(3), "m": np.array(2, dtype=np.int64), "start": np.array(True),
                          "acc0": rand(3)}})

print("wrote", sorted(f for f in os.listdir(HERE) if f.startswith("ops2_")))
