#!/usr/bin/env python3
"""Generates the benchmark models and their inputs (fixed seeds) into OUT_DIR:
mlp (512→1024→1024→10, batch 32), cnn_big (3×64×64 images, 4 convs, batch 8) and
transformer (2-layer encoder, batch 4, seq 64, d 128, 4 heads, FFN 512, LayerNorm),
each as NAME.onnx plus NAME.inputs.json (Lucid tensor JSON) and NAME.calib.json (a list of
input sets for the quantizer). The digits CNN from models/digits is copied beside them.

For bench/zk_vs_ezkl.py (batch 1, each from its own seed): mlp10k (64→128→10 + Relu, 9,610
parameters, on digits images) and cifar_cnn (3×32×32 → three 3×3 Conv + Relu + MaxPool2 →
Gemm 10, 264,594 parameters, He-initialised random weights, uniform [0, 1] images); they and
the digits MLP also get NAME.accuracy.json, 50 input sets (digits: the first 50 images of
models/digits' test split) on which each prover's quantization is compared with the float
model."""
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


# ---------------------------------------------------------------- zkml vs EZKL models

ACCURACY_SETS = 50


def digits_images():
    """models/digits' split (train.py: seed 20240601, 25% test, stratified): (train, test)
    images as float32 [n, 64] in [0, 1]."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    x_train, x_test, _, _ = train_test_split(x, d.target, test_size=0.25, random_state=20240601, stratify=d.target)
    return x_train, x_test


def write_sets(out, name, inp, first, calib, accuracy):
    """NAME.inputs.json (one set), NAME.calib.json and NAME.accuracy.json (lists of sets)."""
    (out / f"{name}.inputs.json").write_text(json.dumps({inp: tensor_json(first)}))
    (out / f"{name}.calib.json").write_text(json.dumps([{inp: tensor_json(a)} for a in calib]))
    (out / f"{name}.accuracy.json").write_text(json.dumps([{inp: tensor_json(a)} for a in accuracy]))


def save_model(out, name, nodes, inits, x_shape, y_shape):
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(out / f"{name}.onnx"))
    params = sum(int(np.prod(i.dims)) for i in inits)
    print(f"{name}: {params:,} parameters, input {x_shape}, output {y_shape}")
    return params


def he(r, name, shape, fan_in):
    return numpy_helper.from_array((r.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32), name)


def small_bias(r, name, n):
    return numpy_helper.from_array((r.standard_normal(n) * 0.01).astype(np.float32), name)


def digits_mlp_sets(out, repo):
    """The digits MLP itself stays in models/digits; its accuracy sets go here."""
    shutil.copy(repo / "models" / "digits" / "mlp.onnx", out / "digits_mlp.onnx")
    _, x_test = digits_images()
    (out / "digits_mlp.accuracy.json").write_text(
        json.dumps([{"x": tensor_json(a.reshape(1, 64))} for a in x_test[:ACCURACY_SETS]]))


def mlp10k(out):
    r = np.random.default_rng(20261202)
    inits = [he(r, "w0", (64, 128), 64), small_bias(r, "b0", 128), he(r, "w1", (128, 10), 128), small_bias(r, "b1", 10)]
    nodes = [helper.make_node("Gemm", ["x", "w0", "b0"], ["h0"]), helper.make_node("Relu", ["h0"], ["r0"]),
             helper.make_node("Gemm", ["r0", "w1", "b1"], ["y"])]
    save_model(out, "mlp10k", nodes, inits, [1, 64], [1, 10])
    x_train, x_test = digits_images()
    write_sets(out, "mlp10k", "x", x_test[0].reshape(1, 64), [a.reshape(1, 64) for a in x_train[:16]],
               [a.reshape(1, 64) for a in x_test[:ACCURACY_SETS]])


def cifar_cnn(out, chans=(3, 64, 128, 152)):
    """Conv 3→64 pad 1, Relu, MaxPool2 (16×16); Conv 64→128 pad 1, Relu, MaxPool2 (8×8);
    Conv 128→152 no pad (6×6), Relu, MaxPool2 (3×3); Flatten (1368); Gemm → 10."""
    r = np.random.default_rng(20261203)
    inits, nodes, prev = [], [], "x"
    for i in range(3):
        inits += [he(r, f"w{i}", (chans[i + 1], chans[i], 3, 3), chans[i] * 9), small_bias(r, f"b{i}", chans[i + 1])]
        pads = [1, 1, 1, 1] if i < 2 else [0, 0, 0, 0]
        nodes += [helper.make_node("Conv", [prev, f"w{i}", f"b{i}"], [f"c{i}"], kernel_shape=[3, 3], pads=pads,
                                   strides=[1, 1], dilations=[1, 1]),  # EZKL's importer needs strides
                  helper.make_node("Relu", [f"c{i}"], [f"r{i}"]),
                  helper.make_node("MaxPool", [f"r{i}"], [f"p{i}"], kernel_shape=[2, 2], strides=[2, 2])]
        prev = f"p{i}"
    flat = chans[3] * 3 * 3
    inits += [he(r, "wf", (flat, 10), flat), small_bias(r, "bf", 10)]
    nodes += [helper.make_node("Flatten", [prev], ["f"]), helper.make_node("Gemm", ["f", "wf", "bf"], ["y"])]
    save_model(out, "cifar_cnn", nodes, inits, [1, 3, 32, 32], [1, 10])
    images = r.uniform(0, 1, (1 + 16 + ACCURACY_SETS, 1, 3, 32, 32)).astype(np.float32)
    write_sets(out, "cifar_cnn", "x", images[0], images[1:17], images[17:])


if __name__ == "__main__":
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    mlp(out)
    digits(out, Path(__file__).resolve().parent.parent)
    cnn_big(out)
    transformer(out)
    digits_mlp_sets(out, Path(__file__).resolve().parent.parent)
    mlp10k(out)
    cifar_cnn(out)
    print(f"models written to {out}")
