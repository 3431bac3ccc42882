#!/usr/bin/env python3
"""Generates the benchmark models and their inputs (fixed seeds) into OUT_DIR:
mlp (512→1024→1024→10, batch 32), cnn_big (3×64×64 images, 4 convs, batch 8) and
transformer (2-layer encoder, batch 4, seq 64, d 128, 4 heads, FFN 512, LayerNorm),
each as NAME.onnx plus NAME.inputs.json (Lucid tensor JSON) and NAME.calib.json (a list of
input sets for the quantizer). The digits CNN from models/digits is copied beside them."""
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(20241124)


def weight(name, shape, fan_in):
    return numpy_helper.from_array((rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32), name)


def tensor_json(a):
    return {"dtype": "float32", "shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}


def save(out, name, nodes, inits, x_shape, y_shape, opset=13, feeds=None):
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(out / f"{name}.onnx"))
    feeds = feeds or (lambda: rng.standard_normal(x_shape).astype(np.float32))
    (out / f"{name}.inputs.json").write_text(json.dumps({"x": tensor_json(feeds())}))
    (out / f"{name}.calib.json").write_text(json.dumps([{"x": tensor_json(feeds())} for _ in range(4)]))


def mlp(out):
    dims, inits, nodes, prev = [512, 1024, 1024, 10], [], [], "x"
    for i in range(3):
        inits += [weight(f"w{i}", (dims[i], dims[i + 1]), dims[i]), weight(f"b{i}", (dims[i + 1],), 1.0)]
        mm = f"h{i}" if i < 2 else "y"
        nodes.append(helper.make_node("Gemm", [prev, f"w{i}", f"b{i}"], [mm + ("_pre" if i < 2 else "")]))
        if i < 2:
            nodes.append(helper.make_node("Relu", [mm + "_pre"], [mm]))
        prev = mm
    save(out, "mlp", nodes, inits, [32, 512], [32, 10])


def cnn_big(out):
    chans, inits, nodes, prev = [3, 32, 64, 128, 128], [], [], "x"
    for i in range(4):
        inits += [weight(f"w{i}", (chans[i + 1], chans[i], 3, 3), chans[i] * 9), weight(f"b{i}", (chans[i + 1],), 1.0)]
        nodes.append(helper.make_node("Conv", [prev, f"w{i}", f"b{i}"], [f"c{i}"], pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"]))
        prev = f"r{i}"
        if i < 3:
            nodes.append(helper.make_node("MaxPool", [prev], [f"p{i}"], kernel_shape=[2, 2], strides=[2, 2]))
            prev = f"p{i}"
    inits += [weight("wf", (128, 10), 128), weight("bf", (10,), 1.0)]
    nodes += [helper.make_node("GlobalAveragePool", [prev], ["g"]), helper.make_node("Flatten", ["g"], ["f"]),
              helper.make_node("Gemm", ["f", "wf", "bf"], ["y"])]
    save(out, "cnn_big", nodes, inits, [8, 3, 64, 64], [8, 10])


def transformer(out, layers=2, batch=4, seq=64, d=128, heads=4, ffn=512):
    dh = d // heads
    inits = [numpy_helper.from_array(np.array([batch, seq, heads, dh], np.int64), "split_shape"),
             numpy_helper.from_array(np.array([batch, seq, d], np.int64), "merge_shape"),
             numpy_helper.from_array(np.array(1.0 / np.sqrt(dh), np.float32), "scale")]
    nodes, x = [], "x"
    for l in range(layers):
        p = f"l{l}_"

        def linear(inp, name, n_in, n_out):
            inits.extend([weight(p + name + "_w", (n_in, n_out), n_in), weight(p + name + "_b", (n_out,), 10.0)])
            nodes.append(helper.make_node("MatMul", [inp, p + name + "_w"], [p + name + "_mm"]))
            nodes.append(helper.make_node("Add", [p + name + "_mm", p + name + "_b"], [p + name]))
            return p + name

        def heads_of(t, perm):
            nodes.append(helper.make_node("Reshape", [t, "split_shape"], [t + "_h"]))
            nodes.append(helper.make_node("Transpose", [t + "_h"], [t + "_t"], perm=perm))
            return t + "_t"

        q = heads_of(linear(x, "q", d, d), [0, 2, 1, 3])
        k = heads_of(linear(x, "k", d, d), [0, 2, 3, 1])
        v = heads_of(linear(x, "v", d, d), [0, 2, 1, 3])
        nodes += [helper.make_node("MatMul", [q, k], [p + "s"]), helper.make_node("Mul", [p + "s", "scale"], [p + "ss"]),
                  helper.make_node("Softmax", [p + "ss"], [p + "a"], axis=-1),
                  helper.make_node("MatMul", [p + "a", v], [p + "ctx"]),
                  helper.make_node("Transpose", [p + "ctx"], [p + "ctx_t"], perm=[0, 2, 1, 3]),
                  helper.make_node("Reshape", [p + "ctx_t", "merge_shape"], [p + "ctx_m"])]
        o = linear(p + "ctx_m", "o", d, d)
        inits += [numpy_helper.from_array(np.ones(d, np.float32), p + "g1"),
                  numpy_helper.from_array(np.zeros(d, np.float32), p + "b1"),
                  numpy_helper.from_array(np.ones(d, np.float32), p + "g2"),
                  numpy_helper.from_array(np.zeros(d, np.float32), p + "b2")]
        nodes += [helper.make_node("Add", [x, o], [p + "res1"]),
                  helper.make_node("LayerNormalization", [p + "res1", p + "g1", p + "b1"], [p + "n1"], axis=-1)]
        h = linear(p + "n1", "f1", d, ffn)
        nodes.append(helper.make_node("Relu", [h], [p + "f1r"]))
        f2 = linear(p + "f1r", "f2", ffn, d)
        last = "y" if l == layers - 1 else p + "out"
        nodes += [helper.make_node("Add", [p + "n1", f2], [p + "res2"]),
                  helper.make_node("LayerNormalization", [p + "res2", p + "g2", p + "b2"], [last], axis=-1)]
        x = last
    save(out, "transformer", nodes, inits, [batch, seq, d], [batch, seq, d], opset=17)


def digits(out, repo):
    src = repo / "models" / "digits"
    shutil.copy(src / "cnn.onnx", out / "digits_cnn.onnx")
    m = onnx.load(str(src / "cnn.onnx"))
    dims = [d.dim_value or 1 for d in m.graph.input[0].type.tensor_type.shape.dim]
    name = m.graph.input[0].name
    feeds = lambda: rng.uniform(0, 1, dims).astype(np.float32)
    (out / "digits_cnn.inputs.json").write_text(json.dumps({name: tensor_json(feeds())}))
    (out / "digits_cnn.calib.json").write_text(json.dumps([{name: tensor_json(feeds())} for _ in range(8)]))


if __name__ == "__main__":
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    mlp(out)
    digits(out, Path(__file__).resolve().parent.parent)
    cnn_big(out)
    transformer(out)
    print(f"models written to {out}")
