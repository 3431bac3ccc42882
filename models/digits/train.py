#!/usr/bin/env python3
"""Train the two demo digit classifiers and export them to ONNX.

Outputs (next to this file): mlp.onnx, cnn.onnx, {mlp,cnn}.md, {mlp,cnn}.meta.json,
{mlp,cnn}.vectors.json, sample_input_{mlp,cnn}.json.

Run with the project venv:  .venv/bin/python models/digits/train.py
Everything is seeded and single-threaded, so a re-run on the same machine writes
byte-identical files (see README.md).
"""
import os

# Pin thread counts before numpy / onnxruntime load: multi-threaded BLAS reductions
# change summation order and therefore the trained weights.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

SEED = 20240601
OPSET = 13
IR_VERSION = 7  # opset 13's IR version; readable by older ONNX libraries too
OUT_DIR = Path(__file__).resolve().parent
NUM_VECTORS = 4


# ---------------------------------------------------------------- data

def load_data():
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)  # pixels 0..16 -> [0, 1], exact in float32
    y = digits.target.astype(np.int64)
    return train_test_split(x, y, test_size=0.25, random_state=SEED, stratify=y)


# ---------------------------------------------------------------- shared pieces

def softmax_xent(logits, y):
    """Mean cross-entropy and its gradient w.r.t. logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    n = logits.shape[0]
    loss = -np.log(p[np.arange(n), y] + 1e-12).mean()
    grad = p.copy()
    grad[np.arange(n), y] -= 1.0
    return loss, grad / n


class Adam:
    def __init__(self, params, lr, weight_decay=0.0, b1=0.9, b2=0.999, eps=1e-8):
        self.params, self.lr, self.wd = params, lr, weight_decay
        self.b1, self.b2, self.eps, self.t = b1, b2, eps, 0
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, grads):
        self.t += 1
        for k, g in grads.items():
            if self.wd and not k.startswith("b"):
                g = g + self.wd * self.params[k]
            self.m[k] = self.b1 * self.m[k] + (1 - self.b1) * g
            self.v[k] = self.b2 * self.v[k] + (1 - self.b2) * g * g
            mhat = self.m[k] / (1 - self.b1 ** self.t)
            vhat = self.v[k] / (1 - self.b2 ** self.t)
            self.params[k] -= self.lr * mhat / (np.sqrt(vhat) + self.eps)


def he_normal(rng, shape, fan_in):
    return rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)


def train(model, x, y, epochs, batch, lr, weight_decay, rng):
    opt = Adam(model.params, lr, weight_decay)
    n = x.shape[0]
    for epoch in range(epochs):
        order = rng.permutation(n)
        # Step decay: halve the rate for the last third of training.
        opt.lr = lr if epoch < 2 * epochs // 3 else lr * 0.3
        for i in range(0, n, batch):
            idx = order[i:i + batch]
            logits, cache = model.forward(x[idx])
            _, dlogits = softmax_xent(logits, y[idx])
            opt.step(model.backward(dlogits, cache))


# ---------------------------------------------------------------- MLP 64 -> 32 -> 10

class Mlp:
    def __init__(self, rng):
        self.params = {
            "w1": he_normal(rng, (32, 64), 64), "b1": np.zeros(32),
            "w2": he_normal(rng, (10, 32), 32), "b2": np.zeros(10),
        }

    def forward(self, x):
        p = self.params
        h_pre = x @ p["w1"].T + p["b1"]
        h = np.maximum(h_pre, 0.0)
        return h @ p["w2"].T + p["b2"], (x, h_pre, h)

    def backward(self, dlogits, cache):
        x, h_pre, h = cache
        p = self.params
        dh = (dlogits @ p["w2"]) * (h_pre > 0)
        return {"w2": dlogits.T @ h, "b2": dlogits.sum(0),
                "w1": dh.T @ x, "b1": dh.sum(0)}

    def to_onnx(self):
        p = {k: v.astype(np.float32) for k, v in self.params.items()}
        inits = [numpy_helper.from_array(p[k], name=k) for k in ("w1", "b1", "w2", "b2")]
        nodes = [
            helper.make_node("Gemm", ["x", "w1", "b1"], ["h_pre"], name="fc1", transB=1),
            helper.make_node("Relu", ["h_pre"], ["h"], name="relu1"),
            helper.make_node("Gemm", ["h", "w2", "b2"], ["logits"], name="fc2", transB=1),
            helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=-1),
        ]
        return make_model(nodes, inits, [1, 64], "digits-mlp")


# ---------------------------------------------------------------- CNN (numpy, im2col)

def im2col3x3(x):
    """x: (N, C, H, W) -> (N*H*W, C*9) for a 3x3 kernel, stride 1, pad 1.
    Column order is (c, kh, kw), matching W.reshape(Cout, C*9)."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.empty((n, c, 3, 3, h, w), dtype=x.dtype)
    for kh in range(3):
        for kw in range(3):
            cols[:, :, kh, kw] = xp[:, :, kh:kh + h, kw:kw + w]
    return cols.transpose(0, 4, 5, 1, 2, 3).reshape(n * h * w, c * 9)


def col2im3x3(dcols, shape):
    n, c, h, w = shape
    d = dcols.reshape(n, h, w, c, 3, 3).transpose(0, 3, 4, 5, 1, 2)
    dxp = np.zeros((n, c, h + 2, w + 2), dtype=dcols.dtype)
    for kh in range(3):
        for kw in range(3):
            dxp[:, :, kh:kh + h, kw:kw + w] += d[:, :, kh, kw]
    return dxp[:, :, 1:-1, 1:-1]


def conv_forward(x, w, b):
    n, _, h, wd = x.shape
    cout = w.shape[0]
    cols = im2col3x3(x)
    out = cols @ w.reshape(cout, -1).T + b
    return out.reshape(n, h, wd, cout).transpose(0, 3, 1, 2), cols


def conv_backward(dout, x_shape, cols, w):
    cout = w.shape[0]
    d = dout.transpose(0, 2, 3, 1).reshape(-1, cout)
    dw = (d.T @ cols).reshape(w.shape)
    db = d.sum(0)
    dx = col2im3x3(d @ w.reshape(cout, -1), x_shape)
    return dx, dw, db


def maxpool2_forward(x):
    n, c, h, w = x.shape
    r = x.reshape(n, c, h // 2, 2, w // 2, 2)
    out = r.max(axis=(3, 5))
    # Route the gradient to exactly one position per window (first maximum).
    flat = r.transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)
    arg = flat.argmax(-1)
    return out, arg


def maxpool2_backward(dout, arg, x_shape):
    n, c, h, w = x_shape
    d = np.zeros((n, c, h // 2, w // 2, 4), dtype=dout.dtype)
    np.put_along_axis(d, arg[..., None], dout[..., None], axis=-1)
    d = d.reshape(n, c, h // 2, w // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5)
    return d.reshape(n, c, h, w)


class Cnn:
    def __init__(self, rng):
        self.params = {
            "w1": he_normal(rng, (8, 1, 3, 3), 9), "b1": np.zeros(8),
            "w2": he_normal(rng, (16, 8, 3, 3), 72), "b2": np.zeros(16),
            "w3": he_normal(rng, (10, 64), 64), "b3": np.zeros(10),
        }

    def forward(self, x_flat):
        p = self.params
        x = x_flat.reshape(-1, 1, 8, 8)
        c1, cols1 = conv_forward(x, p["w1"], p["b1"])
        r1 = np.maximum(c1, 0.0)
        m1, arg1 = maxpool2_forward(r1)              # (N, 8, 4, 4)
        c2, cols2 = conv_forward(m1, p["w2"], p["b2"])
        r2 = np.maximum(c2, 0.0)
        m2, arg2 = maxpool2_forward(r2)              # (N, 16, 2, 2)
        f = m2.reshape(m2.shape[0], -1)               # ONNX Flatten order: (c, h, w)
        logits = f @ p["w3"].T + p["b3"]
        return logits, (x.shape, cols1, c1, arg1, m1.shape, cols2, c2, arg2, m2.shape, f)

    def backward(self, dlogits, cache):
        x_shape, cols1, c1, arg1, m1_shape, cols2, c2, arg2, m2_shape, f = cache
        p = self.params
        g = {"w3": dlogits.T @ f, "b3": dlogits.sum(0)}
        dm2 = (dlogits @ p["w3"]).reshape(m2_shape)
        dc2 = maxpool2_backward(dm2, arg2, c2.shape) * (c2 > 0)
        dm1, g["w2"], g["b2"] = conv_backward(dc2, m1_shape, cols2, p["w2"])
        dc1 = maxpool2_backward(dm1, arg1, c1.shape) * (c1 > 0)
        _, g["w1"], g["b1"] = conv_backward(dc1, x_shape, cols1, p["w1"])
        return g

    def to_onnx(self):
        p = {k: v.astype(np.float32) for k, v in self.params.items()}
        inits = [numpy_helper.from_array(p[k], name=k)
                 for k in ("w1", "b1", "w2", "b2", "w3", "b3")]
        pool = dict(kernel_shape=[2, 2], strides=[2, 2])
        conv = dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1])
        nodes = [
            helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", **conv),
            helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
            helper.make_node("MaxPool", ["r1"], ["m1"], name="pool1", **pool),
            helper.make_node("Conv", ["m1", "w2", "b2"], ["c2"], name="conv2", **conv),
            helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
            helper.make_node("MaxPool", ["r2"], ["m2"], name="pool2", **pool),
            helper.make_node("Flatten", ["m2"], ["f"], name="flatten", axis=1),
            helper.make_node("Gemm", ["f", "w3", "b3"], ["logits"], name="fc", transB=1),
            helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=-1),
        ]
        return make_model(nodes, inits, [1, 1, 8, 8], "digits-cnn")


# ---------------------------------------------------------------- export + measure

def make_model(nodes, inits, input_shape, name):
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, input_shape)],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 10])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="lucid-models-digits", producer_version="1")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def ort_session(path):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def ort_eval(path, x_test, y_test, input_shape):
    sess = ort_session(path)
    outputs = [sess.run(["probs"], {"x": x.reshape(input_shape)})[0] for x in x_test]
    pred = np.array([o.argmax() for o in outputs])
    correct = int((pred == y_test).sum())
    return correct, outputs


def tensor_json(arr):
    arr = np.asarray(arr, dtype=np.float32)
    # float(np.float32) is exact in a double, so parsing back to float32 is lossless.
    return {"dtype": "float32", "shape": list(arr.shape),
            "data": [float(v) for v in arr.reshape(-1)]}


def write_json(path, obj):
    text = json.dumps(obj, indent=1)
    # Keep number arrays on one line so the files stay short and diffable.
    text = re.sub(r"\[[\s\d.,eE+-]*\]", lambda m: "[" + " ".join(m.group(0)[1:-1].split()) + "]",
                  text)
    path.write_text(text + "\n")


def write_outputs(kind, model, x_test, y_test, input_shape, describe, tags):
    onnx_path = OUT_DIR / f"{kind}.onnx"
    onnx.save(model, str(onnx_path))
    onnx.checker.check_model(str(onnx_path), full_check=True)

    correct, outputs = ort_eval(onnx_path, x_test, y_test, input_shape)
    total = len(y_test)
    accuracy = round(correct / total, 4)

    vectors = [{"inputs": {"x": tensor_json(x_test[i].reshape(input_shape))},
                "outputs": {"probs": tensor_json(outputs[i])}}
               for i in range(NUM_VECTORS)]
    write_json(OUT_DIR / f"{kind}.vectors.json", vectors)
    write_json(OUT_DIR / f"sample_input_{kind}.json",
               {"x": tensor_json(x_test[0].reshape(input_shape))})
    write_json(OUT_DIR / f"{kind}.meta.json",
               {"task": "image-classification", "license": "MIT", "tags": tags,
                "accuracy": accuracy})
    params = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    (OUT_DIR / f"{kind}.md").write_text(describe(correct, total, accuracy, params))
    return correct, total, outputs


def mlp_md(correct, total, accuracy, params):
    return f"""# digits-mlp

A small multilayer perceptron that classifies 8×8 grey-scale images of handwritten digits
(0–9). It is one of Lucid's demo models: tiny, fast, and exported by hand with plain ONNX
operators (no `ai.onnx.ml` domain), so every executor can run it.

## Architecture

| layer | shape |
|---|---|
| input `x` | float32 `[1, 64]` (the 8×8 image, row-major, pixel / 16 ∈ [0, 1]) |
| Gemm + Relu | 64 → 32 |
| Gemm | 32 → 10 |
| Softmax → output `probs` | float32 `[1, 10]` |

ONNX opset {OPSET}, IR version {IR_VERSION}, {params:,} parameters.

## Data and training

scikit-learn's bundled `load_digits` (1,797 images, 10 classes), split 75/25 stratified with
seed {SEED}. Trained with a numpy implementation (cross-entropy, Adam, mini-batch 32), seeded
and single-threaded.

## Accuracy

Measured with onnxruntime on the exported `mlp.onnx` over the {total} test images:
**{accuracy * 100:.2f}%** ({correct}/{total}).

```
.venv/bin/python models/digits/train.py
```

License: MIT.
"""


def cnn_md(correct, total, accuracy, params):
    return f"""# digits-cnn

A small convolutional network that classifies 8×8 grey-scale images of handwritten digits
(0–9). It is one of Lucid's demo models and exercises Conv, MaxPool and Flatten besides
Gemm, Relu and Softmax.

## Architecture

| layer | output shape |
|---|---|
| input `x` | float32 `[1, 1, 8, 8]` (pixel / 16 ∈ [0, 1]) |
| Conv 3×3, 8 channels, pad 1 + Relu | `[1, 8, 8, 8]` |
| MaxPool 2×2, stride 2 | `[1, 8, 4, 4]` |
| Conv 3×3, 16 channels, pad 1 + Relu | `[1, 16, 4, 4]` |
| MaxPool 2×2, stride 2 | `[1, 16, 2, 2]` |
| Flatten | `[1, 64]` |
| Gemm 64 → 10 | `[1, 10]` |
| Softmax → output `probs` | float32 `[1, 10]` |

ONNX opset {OPSET}, IR version {IR_VERSION}, {params:,} parameters.

## Data and training

scikit-learn's bundled `load_digits` (1,797 images, 10 classes), split 75/25 stratified with
seed {SEED}. Trained with a numpy implementation (im2col convolutions, cross-entropy, Adam,
mini-batch 32), seeded and single-threaded.

## Accuracy

Measured with onnxruntime on the exported `cnn.onnx` over the {total} test images:
**{accuracy * 100:.2f}%** ({correct}/{total}).

```
.venv/bin/python models/digits/train.py
```

License: MIT.
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-accuracy", type=float, default=0.95,
                        help="fail if a model scores below this on the test set")
    args = parser.parse_args()

    x_train, x_test, y_train, y_test = load_data()
    specs = [
        ("mlp", Mlp, dict(epochs=60, batch=32, lr=3e-3, weight_decay=1e-4), [1, 64], mlp_md,
         ["digits", "mnist-like", "mlp", "demo"]),
        ("cnn", Cnn, dict(epochs=40, batch=32, lr=3e-3, weight_decay=1e-4), [1, 1, 8, 8],
         cnn_md, ["digits", "mnist-like", "cnn", "demo"]),
    ]
    failed = False
    for kind, cls, hp, shape, describe, tags in specs:
        start = time.monotonic()
        rng = np.random.default_rng(SEED)
        model = cls(rng)
        train(model, x_train.astype(np.float64), y_train, rng=rng, **hp)
        correct, total, ort_probs = write_outputs(kind, model.to_onnx(), x_test, y_test,
                                                  shape, describe, tags)
        # The exported graph must compute what was trained: compare with numpy.
        logits, _ = model.forward(x_test.astype(np.float64))
        ref = np.exp(logits - logits.max(1, keepdims=True))
        ref /= ref.sum(1, keepdims=True)
        drift = float(np.abs(ref - np.concatenate(ort_probs)).max())
        if drift > 1e-4:
            print(f"{kind}: onnxruntime and numpy disagree by {drift:g}", file=sys.stderr)
            failed = True
        acc = correct / total
        print(f"{kind}: onnxruntime test accuracy {acc:.4f} ({correct}/{total}), "
              f"{time.monotonic() - start:.1f}s")
        if acc < args.min_accuracy:
            print(f"{kind}: accuracy below {args.min_accuracy}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
