#!/usr/bin/env python3
"""Makes the hub tests' tiny model and its test vectors.

tiny_mlp.onnx: x float32[1,8] -> Gemm(8->16) -> Relu -> Gemm(16->4) -> Softmax -> probs [1,4].
Weights come from numpy's PCG64 with seed 7; opset 13, IR version 8 (what libonnx 1.12 reads).
tiny_mlp_vectors.json: 4 vectors, inputs drawn with seed 11, outputs computed by onnxruntime
(CPU, one thread), in the format `lucid hub upload --test-vectors` takes.

unsupported_op.onnx: one op "NoSuchOp" in domain org.lucid.test; loaders must refuse it by name.
Run from the repository root: .venv/bin/python tests/data/hub/make_tiny.py
The outputs are committed; re-running gives the same bytes for the same onnx/onnxruntime.
"""
import json
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def make_model():
    rng = np.random.default_rng(7)
    w1 = (rng.standard_normal((8, 16)) * 0.5).astype(np.float32)
    b1 = (rng.standard_normal(16) * 0.1).astype(np.float32)
    w2 = (rng.standard_normal((16, 4)) * 0.5).astype(np.float32)
    b2 = (rng.standard_normal(4) * 0.1).astype(np.float32)
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h1"], name="fc1"),
        helper.make_node("Relu", ["h1"], ["a1"], name="relu1"),
        helper.make_node("Gemm", ["a1", "w2", "b2"], ["logits"], name="fc2"),
        helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 4])],
        initializer=[
            numpy_helper.from_array(w1, "w1"),
            numpy_helper.from_array(b1, "b1"),
            numpy_helper.from_array(w2, "w2"),
            numpy_helper.from_array(b2, "b2"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="lucid-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def make_unsupported():
    """A valid model whose only op lives in a custom domain no engine knows."""
    node = helper.make_node("NoSuchOp", ["x"], ["y"], domain="org.lucid.test", name="mystery")
    graph = helper.make_graph(
        [node], "unsupported",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                    helper.make_opsetid("org.lucid.test", 1)],
                              producer_name="lucid-tests")
    model.ir_version = 8
    return model


def main():
    with open(os.path.join(HERE, "unsupported_op.onnx"), "wb") as f:
        f.write(make_unsupported().SerializeToString())
    model = make_model()
    data = model.SerializeToString()
    with open(os.path.join(HERE, "tiny_mlp.onnx"), "wb") as f:
        f.write(data)

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(11)
    vectors = []
    for _ in range(4):
        x = rng.standard_normal((1, 8)).astype(np.float32)
        (probs,) = session.run(["probs"], {"x": x})
        vectors.append({
            "inputs": {"x": {"dtype": "float32", "shape": [1, 8],
                             "data": [float(v) for v in x.ravel()]}},
            "outputs": {"probs": {"dtype": "float32", "shape": [1, 4],
                                  "data": [float(v) for v in probs.ravel()]}},
        })
    with open(os.path.join(HERE, "tiny_mlp_vectors.json"), "w") as f:
        json.dump(vectors, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
