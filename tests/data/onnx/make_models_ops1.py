"""Builds the small ONNX models for the float op coverage part 1 (elementwise math,
reductions, indexing, shape ops) and writes onnxruntime's outputs for fixed inputs as
golden files (ops1_<name>.json, Lucid's tensor JSON format). Run from the repository root:
    .venv/bin/python tests/data/onnx/make_models_ops1.py
Checked by tests/onnx/ops1_test.cc.
"""
import json
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20240704)
F, I64, I32, B = TensorProto.FLOAT, TensorProto.INT64, TensorProto.INT32, TensorProto.BOOL


def rand(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def i64(values):
    return np.asarray(values, dtype=np.int64)


def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def to_json(array):
    dtype = {"float32": "float32", "int64": "int64", "int32": "int32", "bool": "bool"}[array.dtype.name]
    return {"dtype": dtype, "shape": list(array.shape), "data": array.reshape(-1).tolist()}


def save(name, nodes, inputs, outputs, initializers, feeds, opset):
    """Outputs are given as names; their types come from onnxruntime's results."""
    graph = helper.make_graph(nodes, name, inputs, [helper.make_empty_tensor_value_info(o) for o in outputs], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="lucid-tests")
    model.ir_version = 8 if opset <= 17 else 9
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    results = sess.run(outputs, feeds)
    elem = {np.dtype("float32"): F, np.dtype("int64"): I64, np.dtype("int32"): I32, np.dtype("bool"): B}
    del model.graph.output[:]
    model.graph.output.extend([vi(o, elem[r.dtype], list(r.shape)) for o, r in zip(outputs, results)])
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, "ops1_" + name + ".onnx"))
    golden = {"inputs": {k: to_json(v) for k, v in feeds.items()},
              "outputs": {k: to_json(v) for k, v in zip(outputs, results)}}
    with open(os.path.join(HERE, "ops1_" + name + ".json"), "w") as f:
        json.dump(golden, f)


N = helper.make_node

# Unary math, Pow, activations, variadic Max/Min, comparisons, logic, Where.
x = rand(2, 3, 4)
x[0, 0, :] = [0.0, -0.0, 2.0, -2.0]  # exact integers for Pow's special cases
save("math", [
    N("Exp", ["x"], ["exp"]),
    N("Abs", ["x"], ["abs"]),
    N("Add", ["abs", "eps"], ["pos"]),
    N("Log", ["pos"], ["log"]),
    N("Sqrt", ["abs"], ["sqrt"]),
    N("Pow", ["x", "two"], ["pow2"]),
    N("Pow", ["pos", "expo"], ["powb"]),
    N("Pow", ["x", "three_i64"], ["pow3i"]),
    N("Neg", ["x"], ["neg"]),
    N("Reciprocal", ["pos"], ["recip"]),
    N("Erf", ["x"], ["erf"]),
    N("Elu", ["x"], ["elu"], alpha=0.7),
    N("PRelu", ["x", "slope"], ["prelu"]),
    N("HardSigmoid", ["x"], ["hsig"], alpha=0.3, beta=0.4),
    N("Max", ["x", "y", "z"], ["max3"]),
    N("Min", ["x", "y"], ["min2"]),
    N("Max", ["x"], ["max1"]),
    N("Equal", ["x", "x"], ["eq"]),
    N("Less", ["x", "y"], ["lt"]),
    N("Greater", ["x", "z"], ["gt"]),
    N("Not", ["lt"], ["not"]),
    N("And", ["lt", "gt"], ["and"]),
    N("Where", ["lt", "x", "z"], ["where"]),
    N("Max", ["ia", "ib"], ["imax"]),
    N("Min", ["ia", "ib"], ["imin"]),
    N("Equal", ["ia", "ib"], ["ieq"]),
    N("Where", ["cond", "ia", "ib"], ["iwhere"]),
    N("Abs", ["ia"], ["iabs"]),
    N("Neg", ["ia"], ["ineg"]),
], [vi("x", F, [2, 3, 4]), vi("y", F, [3, 1]), vi("z", F, [4]), vi("ia", I64, [2, 3]), vi("ib", I64, [3]),
    vi("cond", B, [2, 1])],
    ["exp", "log", "sqrt", "pow2", "powb", "pow3i", "neg", "recip", "erf", "elu", "prelu", "hsig", "max3", "min2",
     "max1", "eq", "lt", "gt", "not", "and", "where", "imax", "imin", "ieq", "iwhere", "iabs", "ineg"],
    [init("eps", np.float32(0.1)), init("two", np.float32(2.0)), init("expo", rand(4)),
     init("three_i64", i64(3)), init("slope", rand(3, 1))],
    {"x": x, "y": rand(3, 1), "z": rand(4), "ia": i64([[1, -5, 7], [0, 3, -2]]), "ib": i64([2, -5, 4]),
     "cond": np.array([[True], [False]])}, opset=13)

# Gelu is an ai.onnx op from opset 20.
save("gelu", [
    N("Gelu", ["x"], ["exact"]),
    N("Gelu", ["x"], ["tanh"], approximate="tanh"),
], [vi("x", F, [3, 5])], ["exact", "tanh"], [], {"x": rand(3, 5, scale=2.0)}, opset=20)

# Reductions (opset 13: ReduceSum takes axes as input, the others as attribute), ArgMax,
# CumSum, TopK, Einsum.
r = rand(2, 3, 4)
r[1, 2, 1] = r[1, 2, 3]  # a tie for ArgMax / TopK
save("reduce", [
    N("ReduceSum", ["r", "axes_1"], ["sum_1"], keepdims=0),
    N("ReduceSum", ["r"], ["sum_all"]),
    N("ReduceMean", ["r"], ["mean_02"], axes=[0, -1]),
    N("ReduceMax", ["r"], ["max_1"], axes=[1], keepdims=0),
    N("ReduceMin", ["r"], ["min_2"], axes=[2]),
    N("ReduceProd", ["r"], ["prod_0"], axes=[0]),
    N("ReduceL2", ["r"], ["l2_12"], axes=[1, 2]),
    N("ReduceSum", ["ri", "axes_1"], ["isum"]),
    N("ReduceMax", ["ri"], ["imax"], axes=[0], keepdims=0),
    N("ArgMax", ["r"], ["argmax"], axis=2),
    N("ArgMax", ["r"], ["argmax_last"], axis=-1, keepdims=0, select_last_index=1),
    N("CumSum", ["r", "axis_i32"], ["cumsum"]),
    N("CumSum", ["r", "axis_i64"], ["cumsum_er"], exclusive=1, reverse=1),
    N("CumSum", ["ri", "axis_i64"], ["icumsum"]),
    N("TopK", ["r", "k2"], ["topv", "topi"]),
    N("TopK", ["r", "k2"], ["lowv", "lowi"], axis=1, largest=0),
    N("Einsum", ["a", "b"], ["mm"], equation="ij,jk->ik"),
    N("Einsum", ["ba", "bb"], ["bmm"], equation="bij,bjk->bik"),
    N("Einsum", ["a"], ["tr"], equation="ij->ji"),
    N("Einsum", ["a"], ["rows"], equation="ij->i"),
    N("Einsum", ["v", "w"], ["dot"], equation="i,i->"),
    N("Einsum", ["v", "w"], ["outer"], equation="i,j->ij"),
    N("Einsum", ["a", "b"], ["implicit"], equation="ij,jk"),
], [vi("r", F, [2, 3, 4]), vi("ri", I64, [2, 3])],
    ["sum_1", "sum_all", "mean_02", "max_1", "min_2", "prod_0", "l2_12", "isum", "imax", "argmax", "argmax_last",
     "cumsum", "cumsum_er", "icumsum", "topv", "topi", "lowv", "lowi", "mm", "bmm", "tr", "rows", "dot", "outer",
     "implicit"],
    [init("axes_1", i64([1])), init("axis_i32", np.array(1, dtype=np.int32)), init("axis_i64", i64(-1)),
     init("k2", i64([2])), init("a", rand(3, 5)), init("b", rand(5, 2)), init("ba", rand(2, 3, 4)),
     init("bb", rand(2, 4, 3)), init("v", rand(6)), init("w", rand(6))],
    {"r": r, "ri": i64([[4, -1, 9], [2, 2, -7]])}, opset=13)

# Opset 18: axes as input for every Reduce*, noop_with_empty_axes, Split num_outputs, Pad axes.
save("opset18", [
    N("ReduceMean", ["x", "axes"], ["mean"]),
    N("ReduceMax", ["x", "axes"], ["max"], keepdims=0),
    N("ReduceL2", ["x"], ["l2_all"]),
    N("ReduceSum", ["x", "empty"], ["noop"], noop_with_empty_axes=1),
    N("Split", ["x"], ["s0", "s1", "s2"], axis=1, num_outputs=3),
    N("Pad", ["x", "pads", "", "pad_axes"], ["padded"], mode="edge"),
], [vi("x", F, [2, 7, 3])], ["mean", "max", "l2_all", "noop", "s0", "s1", "s2", "padded"],
    [init("axes", i64([0, 2])), init("empty", np.zeros([0], dtype=np.int64)), init("pads", i64([1, 2, 0, 1])),
     init("pad_axes", i64([2, 0]))],
    {"x": rand(2, 7, 3)}, opset=18)

# Indexing and shape building (opset 13 input forms).
d = rand(3, 4, 5)
save("index", [
    N("Split", ["d", "split"], ["sp0", "sp1"], axis=2),
    N("Split", ["d"], ["eq0", "eq1", "eq2"]),
    N("Slice", ["d", "st", "en", "ax", "stp"], ["sl"]),
    N("Slice", ["d", "st2", "en2"], ["sl_clamp"]),
    N("Slice", ["d", "st3", "en3", "ax3", "stp3"], ["sl_rev"]),
    N("GatherElements", ["d", "gidx"], ["ge"], axis=1),
    N("Expand", ["e", "eshape"], ["ex"]),
    N("Tile", ["e", "reps"], ["tile"]),
    N("Pad", ["img", "pads"], ["pad_c"]),
    N("Pad", ["img", "pads", "pval"], ["pad_v"], mode="constant"),
    N("Pad", ["img", "pads"], ["pad_r"], mode="reflect"),
    N("Pad", ["img", "pads_neg"], ["pad_e"], mode="edge"),
    N("Size", ["d"], ["size"]),
    N("Shape", ["d"], ["shape"]),
    N("ConstantOfShape", ["shape"], ["zeros"]),
    N("ConstantOfShape", ["eshape"], ["sevens"], value=helper.make_tensor("v", I64, [1], [7])),
    N("Range", ["r0", "r1", "rd"], ["frange"]),
    N("Range", ["i0", "i1", "id"], ["irange"]),
    N("Mul", ["size", "id"], ["size_x"]),
], [vi("d", F, [3, 4, 5]), vi("e", F, [3, 1]), vi("img", F, [1, 2, 3, 4])],
    ["sp0", "sp1", "eq0", "eq1", "eq2", "sl", "sl_clamp", "sl_rev", "ge", "ex", "tile", "pad_c", "pad_v", "pad_r",
     "pad_e", "size", "shape", "zeros", "sevens", "frange", "irange", "size_x"],
    [init("split", i64([2, 3])), init("st", i64([1, 0])), init("en", i64([3, -1])), init("ax", i64([0, 2])),
     init("stp", i64([1, 2])), init("st2", i64([-100, 2])), init("en2", i64([100, 2**62])),
     init("st3", i64([-1, 10])), init("en3", i64([-2**63, 0])), init("ax3", i64([1, 2])), init("stp3", i64([-2, -1])),
     init("gidx", rng.integers(-4, 4, size=(3, 2, 5)).astype(np.int64)), init("eshape", i64([2, 3, 4])),
     init("reps", i64([2, 3])), init("pads", i64([0, 0, 1, 2, 0, 0, 2, 1])), init("pval", np.float32(-1.5)),
     init("pads_neg", i64([0, 1, -1, 3, 0, -1, 2, 0])),
     init("r0", np.float32(-1.0)), init("r1", np.float32(2.2)), init("rd", np.float32(0.3)),
     init("i0", i64(10)), init("i1", i64(-3)), init("id", i64(-4))],
    {"d": d, "e": rand(3, 1), "img": rand(1, 2, 3, 4)}, opset=13)

# Attribute forms of older opsets: Split/Slice/Pad/TopK/ReduceSum.
save("legacy", [
    N("Split", ["x"], ["a", "b"], axis=1, split=[1, 3]),
    N("Slice", ["x"], ["sl"], starts=[1, -3], ends=[3, 1000], axes=[0, 1]),
    N("Pad", ["x"], ["pad"], pads=[1, 0, 0, 2], value=0.5),
    N("TopK", ["x"], ["tv", "ti"], k=2),
    N("ReduceSum", ["x"], ["rs"], axes=[1], keepdims=0),
], [vi("x", F, [3, 4])], ["a", "b", "sl", "pad", "tv", "ti", "rs"], [], {"x": rand(3, 4)}, opset=9)
