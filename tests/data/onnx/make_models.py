"""Builds the small ONNX models used by tests/onnx and writes onnxruntime's outputs for
fixed inputs as golden files (<name>.json: {"inputs": {...}, "outputs": {...}} in Lucid's
tensor JSON format). Run from the repository root:
    .venv/bin/python tests/data/onnx/make_models.py
"""
import json
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20240601)


def rand(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def to_json(array):
    dtype = {"float32": "float32", "int64": "int64", "int32": "int32", "bool": "bool"}[array.dtype.name]
    data = array.reshape(-1).tolist()
    return {"dtype": dtype, "shape": list(array.shape), "data": data}


def save(name, nodes, inputs, outputs, initializers, feeds, opset=13):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="lucid-tests")
    model.ir_version = 8  # what libonnx 1.12's checker accepts
    # Outputs declared without a shape take the shape that ONNX shape inference finds.
    inferred_graph = onnx.shape_inference.infer_shapes(model).graph
    inferred = {v.name: v.type for v in list(inferred_graph.value_info) + list(inferred_graph.output)
                if v.type.tensor_type.HasField("shape")}
    for out in model.graph.output:
        if not out.type.tensor_type.HasField("shape") and out.name in inferred:
            out.type.CopyFrom(inferred[out.name])
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    results = sess.run(names, feeds)
    for out, value in zip(model.graph.output, results):  # still unknown: rank from the result
        if not out.type.tensor_type.HasField("shape"):
            out.type.tensor_type.shape.dim.extend(
                [onnx.TensorShapeProto.Dimension(dim_param=f"{out.name}_{i}") for i in range(value.ndim)])
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, name + ".onnx"))
    golden = {"inputs": {k: to_json(v) for k, v in feeds.items()},
              "outputs": {k: to_json(v) for k, v in zip(names, results)}}
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump(golden, f)


F = TensorProto.FLOAT
I64 = TensorProto.INT64

# MLP as PyTorch exports it: Gemm(transB) → Relu → Gemm → Softmax.
save("mlp", [
    helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], transB=1),
    helper.make_node("Relu", ["h"], ["r"]),
    helper.make_node("Gemm", ["r", "w2", "b2"], ["logits"], transB=1, alpha=0.5, beta=2.0),
    helper.make_node("Softmax", ["logits"], ["probs"], axis=1),
], [vi("x", F, ["batch", 8])], [vi("probs", F, ["batch", 4]), vi("logits", F, ["batch", 4])],
    [init("w1", rand(16, 8)), init("b1", rand(16)), init("w2", rand(4, 16)), init("b2", rand(1, 4))],
    {"x": rand(3, 8)})

# Broadcast arithmetic, batched MatMul, activations, Gemm with transA and scalar C.
save("elementwise", [
    helper.make_node("MatMul", ["a", "b"], ["ab"]),
    helper.make_node("Add", ["ab", "bias"], ["s"]),
    helper.make_node("Sub", ["s", "c"], ["d"]),
    helper.make_node("Mul", ["d", "c"], ["m"]),
    helper.make_node("Div", ["m", "den"], ["q"]),
    helper.make_node("Tanh", ["q"], ["t"]),
    helper.make_node("Sigmoid", ["q"], ["sg"]),
    helper.make_node("LeakyRelu", ["q"], ["lr"], alpha=0.2),
    helper.make_node("LogSoftmax", ["q"], ["ls"], axis=-2),
    helper.make_node("MatMul", ["v", "b"], ["vb"]),
    helper.make_node("Gemm", ["ga", "gb", "gc"], ["g"], transA=1),
], [vi("a", F, [2, 1, 3, 4]), vi("c", F, [3, 1]), vi("v", F, [4])],
    [vi("t", F, None), vi("sg", F, None), vi("lr", F, None), vi("ls", F, None), vi("vb", F, None),
     vi("g", F, None)],
    [init("b", rand(3, 4, 5)), init("bias", rand(5)), init("den", rand(5) + 3.0), init("ga", rand(6, 3)),
     init("gb", rand(6, 2)), init("gc", np.array(0.25, dtype=np.float32))],
    {"a": rand(2, 1, 3, 4), "c": rand(3, 1), "v": rand(4)})

# A small CNN: Conv/BN/Relu/MaxPool, depthwise Conv, AveragePool, GAP, Flatten, Gemm.
save("cnn", [
    helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
    helper.make_node("BatchNormalization", ["c1", "scale", "shift", "mean", "var"], ["bn"], epsilon=1e-3),
    helper.make_node("Relu", ["bn"], ["r1"]),
    helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
    helper.make_node("Conv", ["p1", "w2"], ["c2"], group=4, kernel_shape=[3, 3], auto_pad="SAME_UPPER"),
    helper.make_node("AveragePool", ["c2"], ["p2"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1),
    helper.make_node("GlobalAveragePool", ["p2"], ["gap"]),
    helper.make_node("Flatten", ["gap"], ["flat"], axis=1),
    helper.make_node("Gemm", ["flat", "wf", "bf"], ["out"], transB=1),
], [vi("x", F, ["n", 2, 8, 8])], [vi("out", F, ["n", 3]), vi("p2", F, None)],
    [init("w1", rand(4, 2, 3, 3, scale=0.5)), init("b1", rand(4)), init("scale", rand(4)), init("shift", rand(4)),
     init("mean", rand(4, scale=0.1)), init("var", np.abs(rand(4)) + 0.5), init("w2", rand(4, 1, 3, 3)),
     init("wf", rand(3, 4)), init("bf", rand(3))],
    {"x": rand(2, 2, 8, 8)})

# Convolution and pooling corner cases: strides, dilations, SAME_LOWER, ceil_mode, 1-D.
save("conv_variants", [
    helper.make_node("Conv", ["x", "w"], ["c_dil"], strides=[2, 1], dilations=[1, 2], pads=[0, 2, 1, 0]),
    helper.make_node("Conv", ["x", "w"], ["c_same"], strides=[2, 2], auto_pad="SAME_LOWER"),
    helper.make_node("MaxPool", ["x"], ["mp_ceil"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1),
    helper.make_node("MaxPool", ["x"], ["mp_dil"], kernel_shape=[2, 2], dilations=[2, 2]),
    helper.make_node("AveragePool", ["x"], ["ap_excl"], kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 1, 1],
                     count_include_pad=0),
    helper.make_node("AveragePool", ["x"], ["ap_ceil"], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1),
    helper.make_node("Conv", ["x1d", "w1d", "b1d"], ["c1d"], strides=[2], pads=[1, 2]),
], [vi("x", F, [1, 3, 7, 9]), vi("x1d", F, [2, 2, 10])],
    [vi(n, F, None) for n in ["c_dil", "c_same", "mp_ceil", "mp_dil", "ap_excl", "ap_ceil", "c1d"]],
    [init("w", rand(2, 3, 3, 3)), init("w1d", rand(3, 2, 3)), init("b1d", rand(3))],
    {"x": rand(1, 3, 7, 9), "x1d": rand(2, 2, 10)})

# Shape plumbing as exporters emit it, plus Cast, Clip, Transpose, Concat, Gather, Dropout.
save("shape_ops", [
    helper.make_node("Shape", ["x"], ["shp"]),
    helper.make_node("Constant", [], ["zero"], value=init("zero_v", np.array(0, dtype=np.int64))),
    helper.make_node("Gather", ["shp", "zero"], ["n"], axis=0),
    helper.make_node("Constant", [], ["axes0"], value_ints=[0]),
    helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"]),
    helper.make_node("Constant", [], ["minus1"], value_ints=[-1]),
    helper.make_node("Concat", ["n1", "minus1"], ["target"], axis=0),
    helper.make_node("Reshape", ["x", "target"], ["flat"]),
    helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 2, 3, 1]),
    helper.make_node("Reshape", ["xt", "shape0"], ["r0"]),
    helper.make_node("Squeeze", ["r0", "axes1"], ["sq"]),
    helper.make_node("Concat", ["flat", "flat"], ["cat"], axis=-1),
    helper.make_node("Gather", ["cat", "idx"], ["gathered"], axis=1),
    helper.make_node("Clip", ["gathered", "lo", "hi"], ["clipped"]),
    helper.make_node("Clip", ["gathered", "", "hi"], ["clip_hi"]),
    helper.make_node("Cast", ["clipped"], ["as_int"], to=TensorProto.INT64),
    helper.make_node("Cast", ["as_int"], ["back"], to=TensorProto.FLOAT),
    helper.make_node("Cast", ["clipped"], ["as_bool"], to=TensorProto.BOOL),
    helper.make_node("Identity", ["back"], ["ident"]),
    helper.make_node("Dropout", ["ident"], ["dropped"]),
    helper.make_node("Shape", ["x"], ["shp_tail"], start=-2),
    helper.make_node("Softmax", ["x"], ["sm_axis1"], axis=1),
], [vi("x", F, ["n", 2, 3, 4])],
    [vi("flat", F, None), vi("sq", F, None), vi("clipped", F, None), vi("clip_hi", F, None), vi("as_int", I64, None),
     vi("as_bool", TensorProto.BOOL, None), vi("dropped", F, None), vi("shp_tail", I64, None),
     vi("sm_axis1", F, None)],
    [init("shape0", np.array([0, 1, -1, 2], dtype=np.int64)), init("axes1", np.array([1], dtype=np.int64)),
     init("idx", np.array([[0, 5], [-1, 30]], dtype=np.int64)), init("lo", np.array(-0.5, dtype=np.float32)),
     init("hi", np.array(1.5, dtype=np.float32))],
    {"x": rand(2, 2, 3, 4, scale=2.0)}, opset=15)

# Opset 10 forms: Softmax coerces to 2-D, Clip/Squeeze/Unsqueeze take attributes.
save("legacy_opset10", [
    helper.make_node("Softmax", ["x"], ["sm"], axis=1),
    helper.make_node("Clip", ["x"], ["clipped"], min=-0.5, max=0.5),
    helper.make_node("Unsqueeze", ["clipped"], ["u"], axes=[0, 4]),
    helper.make_node("Squeeze", ["u"], ["s"], axes=[0]),
    helper.make_node("Dropout", ["s"], ["d"], ratio=0.3),
], [vi("x", F, [2, 3, 4])],
    [vi("sm", F, None), vi("d", F, None)], [],
    {"x": rand(2, 3, 4)}, opset=10)

print("wrote", sorted(f for f in os.listdir(HERE) if f.endswith((".onnx", ".json"))))
