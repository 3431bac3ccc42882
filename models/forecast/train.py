#!/usr/bin/env python3
"""Train the demo price-forecast model and export it to ONNX (docs/settlement.md "Workflows").

A small autoregressive model: it takes the last W prices (input "prices", float32 [1, W]) and
forecasts the next price (output "forecast", float32 [1, 1]). It is trained on a synthetic
price series (a random walk plus two seasonal cycles and noise, all from one fixed seed):

    forecast = x @ A + b  +  relu((x - x[W-1]) @ W1 + b1) @ W2

i.e. a linear autoregression on the window plus a one-hidden-layer MLP on the window
relative to its last price. Training happens in "centered" space (prices minus the last
price, which keeps the numbers small); the centering is folded into the exported weights, so
the graph is only Gemm, Relu and Add (ops the Lucid engine runs; src/onnx/op_table.cc).

Writes into --out (default: next to this file; nothing here is committed, tests run this):
  forecast.onnx          the model (opset 13, IR 7)
  forecast.vectors.json  4 test windows with onnxruntime's outputs (`lucid hub upload --test-vectors`)
  feed.json              held-out price windows, in order, each {"prices": tensor} as
                         `lucid infer --input` and `lucid feed post --inputs` take them
  sample_input.json      the first of those windows
  metrics.json           the MSEs printed below

Prints train and test MSE of the model, of the linear part alone and of the naive
"next price = last price" baseline, all measured in this run (the model's with onnxruntime on
the exported file). Deterministic: one seeded numpy Generator, one thread, so a re-run on the
same machine writes byte-identical files.

Run with the project venv:  .venv/bin/python models/forecast/train.py [--out DIR]
"""
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

SEED = 20261202
WINDOW = 16
HIDDEN = 16
SERIES_LEN = 6000
TEST_FRACTION = 0.2
EPOCHS = 30
BATCH = 64
LR = 3e-4
OPSET = 13
IR_VERSION = 7
NUM_VECTORS = 4
FEED_WINDOWS = 64


# ---------------------------------------------------------------- data

def price_series(rng, n):
    """Random walk (step sd 0.3) + a 24-step and a 96-step cycle + a regime-dependent drift."""
    t = np.arange(n, dtype=np.float64)
    steps = rng.normal(0.0, 0.3, size=n)
    # Momentum regimes: the drift flips sign every ~200 steps, so recent moves carry
    # information the last price alone does not.
    regime = np.where((t // 200) % 2 == 0, 0.05, -0.05)
    level = 100.0 + np.cumsum(steps + regime)
    season = 3.0 * np.sin(2 * np.pi * t / 24.0) + 1.5 * np.sin(2 * np.pi * t / 96.0)
    noise = rng.normal(0.0, 0.1, size=n)
    # Rounded to cents, then to float32: the values the feed carries are exactly these.
    return np.round(level + season + noise, 2).astype(np.float32)


def windows(series):
    n = len(series) - WINDOW
    x = np.stack([series[i:i + WINDOW] for i in range(n)])
    y = series[WINDOW:WINDOW + n]
    return x.astype(np.float32), y.astype(np.float32)


# ---------------------------------------------------------------- model (float64 training)

def centered(x):
    x = x.astype(np.float64)
    return x - x[:, -1:]


def forward(params, d):
    w, W1, b1, W2, b2 = params
    h_pre = d @ W1 + b1
    h = np.maximum(h_pre, 0.0)
    return d @ w + h @ W2 + b2, (h_pre, h)


def train(rng, x, y):
    d = centered(x)
    yc = y.astype(np.float64) - x[:, -1].astype(np.float64)
    # Linear part first: least squares (with a bias) on the centered window.
    a = np.hstack([d[:, :-1], np.ones((len(d), 1))])  # the last centered column is always 0
    sol, *_ = np.linalg.lstsq(a, yc, rcond=None)
    w = np.concatenate([sol[:-1], [0.0]])[:, None]
    b2 = np.array([sol[-1]])
    W1 = rng.normal(0.0, 0.1, size=(WINDOW, HIDDEN))
    b1 = np.zeros(HIDDEN)
    W2 = rng.normal(0.0, 0.01, size=(HIDDEN, 1))
    params = [w, W1, b1, W2, b2]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    step = 0
    for _ in range(EPOCHS):
        order = rng.permutation(len(d))
        for s in range(0, len(d), BATCH):
            idx = order[s:s + BATCH]
            db, yb = d[idx], yc[idx][:, None]
            pred, (h_pre, h) = forward(params, db)
            g = 2.0 * (pred - yb) / len(idx)
            gw = db.T @ g
            gW2 = h.T @ g
            gb2 = g.sum(axis=0)
            gh = (g @ params[3].T) * (h_pre > 0)
            gW1 = db.T @ gh
            gb1 = gh.sum(axis=0)
            grads = [gw, gW1, gb1, gW2, gb2]
            step += 1
            for i, (p, gr) in enumerate(zip(params, grads)):
                m[i] = 0.9 * m[i] + 0.1 * gr
                v[i] = 0.999 * v[i] + 0.001 * gr * gr
                mh = m[i] / (1 - 0.9 ** step)
                vh = v[i] / (1 - 0.999 ** step)
                p -= LR * mh / (np.sqrt(vh) + 1e-8)
    return params, (sol, b2.copy())


# ---------------------------------------------------------------- export

def export(params):
    """Folds the centering into the weights: (x - x[W-1]) @ M == x @ (C @ M), C = I - e_{W-1}
    broadcast; the linear part gets + e_{W-1} (forecast = last price + centered prediction)."""
    w, W1, b1, W2, b2 = params
    c = np.eye(WINDOW)
    c[-1, :] -= 1.0
    a = c @ w
    a[-1, 0] += 1.0
    w1 = c @ W1
    f32 = lambda z: np.asarray(z, dtype=np.float32)
    inits = [
        numpy_helper.from_array(f32(a), "lin_w"),
        numpy_helper.from_array(f32(b2.reshape(1)), "lin_b"),
        numpy_helper.from_array(f32(w1), "mlp_w1"),
        numpy_helper.from_array(f32(b1), "mlp_b1"),
        numpy_helper.from_array(f32(W2), "mlp_w2"),
    ]
    nodes = [
        helper.make_node("Gemm", ["prices", "lin_w", "lin_b"], ["linear"], name="linear"),
        helper.make_node("Gemm", ["prices", "mlp_w1", "mlp_b1"], ["hidden_pre"], name="hidden"),
        helper.make_node("Relu", ["hidden_pre"], ["hidden_act"], name="relu"),
        helper.make_node("Gemm", ["hidden_act", "mlp_w2"], ["residual"], name="residual"),
        helper.make_node("Add", ["linear", "residual"], ["forecast"], name="forecast"),
    ]
    graph = helper.make_graph(
        nodes, "lucid_forecast",
        [helper.make_tensor_value_info("prices", TensorProto.FLOAT, [1, WINDOW])],
        [helper.make_tensor_value_info("forecast", TensorProto.FLOAT, [1, 1])],
        initializer=inits)
    model = helper.make_model(graph, producer_name="lucid-models-forecast",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString()


def ort_forecast(model_bytes, x):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(model_bytes, opts, providers=["CPUExecutionProvider"])
    return np.array([sess.run(["forecast"], {"prices": x[i:i + 1]})[0][0, 0] for i in range(len(x))],
                    dtype=np.float32)


def tensor_json(a):
    a = np.asarray(a, dtype=np.float32)
    return {"dtype": "float32", "shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}


def mse(pred, y):
    return float(np.mean((pred.astype(np.float64) - y.astype(np.float64)) ** 2))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    ap.add_argument("--max-test-ratio", type=float, default=0.95,
                    help="fail unless test MSE <= this * the naive baseline's test MSE")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    rng = np.random.default_rng(SEED)
    series = price_series(rng, SERIES_LEN)
    split = int(SERIES_LEN * (1 - TEST_FRACTION))
    x_train, y_train = windows(series[:split])
    x_test, y_test = windows(series[split:])

    params, (lin_sol, _) = train(rng, x_train, y_train)
    model_bytes = export(params)

    def linear_only(x):
        d = centered(x)
        return (x[:, -1].astype(np.float64) + d[:, :-1] @ lin_sol[:-1] + lin_sol[-1]).astype(np.float32)

    # Measured on the exported file with onnxruntime.
    pred_train = ort_forecast(model_bytes, x_train)
    pred_test = ort_forecast(model_bytes, x_test)
    # The float64 training model and the exported float32 graph must agree.
    ref = (x_test[:, -1].astype(np.float64) + forward(params, centered(x_test))[0][:, 0])
    max_diff = float(np.max(np.abs(ref - pred_test)))
    if max_diff > 1e-3:
        sys.exit(f"exported model differs from the trained one by {max_diff} (> 1e-3)")

    metrics = {
        "window": WINDOW, "hidden": HIDDEN, "seed": SEED,
        "train_windows": len(x_train), "test_windows": len(x_test),
        "mse": {
            "model": {"train": mse(pred_train, y_train), "test": mse(pred_test, y_test)},
            "linear_only": {"train": mse(linear_only(x_train), y_train), "test": mse(linear_only(x_test), y_test)},
            "naive_last_value": {"train": mse(x_train[:, -1], y_train), "test": mse(x_test[:, -1], y_test)},
        },
        "max_abs_diff_numpy_vs_onnxruntime": max_diff,
    }

    (args.out / "forecast.onnx").write_bytes(model_bytes)
    vectors = [{"inputs": {"prices": tensor_json(x_test[i:i + 1])},
                "outputs": {"forecast": tensor_json(pred_test[i:i + 1].reshape(1, 1))}}
               for i in range(NUM_VECTORS)]
    (args.out / "forecast.vectors.json").write_text(json.dumps(vectors, indent=1) + "\n")
    feed = [{"prices": tensor_json(x_test[i:i + 1])} for i in range(FEED_WINDOWS)]
    (args.out / "feed.json").write_text(json.dumps(feed, indent=1) + "\n")
    (args.out / "sample_input.json").write_text(json.dumps(feed[0], indent=1) + "\n")
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")

    m = metrics["mse"]
    print(f"forecast: window {WINDOW}, hidden {HIDDEN}, {len(x_train)} train / {len(x_test)} test windows "
          f"({time.perf_counter() - t0:.1f} s)")
    print(f"  {'':18s} {'train MSE':>10s} {'test MSE':>10s}")
    for name, label in (("model", "model (onnxruntime)"), ("linear_only", "linear part only"),
                        ("naive_last_value", "naive last value")):
        print(f"  {label:18s} {m[name]['train']:10.4f} {m[name]['test']:10.4f}")
    ratio = m["model"]["test"] / m["naive_last_value"]["test"]
    print(f"  test MSE / naive: {ratio:.3f}; max |numpy - onnxruntime| {max_diff:.2e}")
    print(f"  wrote {args.out / 'forecast.onnx'} ({len(model_bytes)} bytes), forecast.vectors.json, feed.json, "
          "sample_input.json, metrics.json")
    if ratio > args.max_test_ratio:
        sys.exit(f"model test MSE is {ratio:.3f} of the naive baseline's (> {args.max_test_ratio})")


if __name__ == "__main__":
    main()
