"""numpy implementation of docs/formats/integer-semantics.md, written from the document alone
(not from kernels_int.cc), to cross-check Lucid's integer kernels byte for byte.

`check_model` exposes every intermediate value of a quantized model as a graph output, runs
it in Lucid (`lucid run --json`), and recomputes every integer node from Lucid's own inputs
to that node, so each node is checked in isolation and float ops between them (Softmax,
LayerNormalization, ...) need no reimplementation. `ort_node_diffs` runs single nodes in
onnxruntime on the same inputs, for the onnxruntime comparison of the spec's §7.

  python integer_spec.py LUCID_BIN MODEL.onnx INPUTS.json   # per-node report, Lucid and onnxruntime
"""
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

RANGE = {np.dtype(np.uint8): (0, 255), np.dtype(np.int8): (-128, 127)}
ELEM = {"float32": np.float32, "uint8": np.uint8, "int8": np.int8, "int32": np.int32, "int64": np.int64,
        "bool": np.bool_}


# ---- §3: QuantizeLinear / DequantizeLinear -------------------------------------------

def per_axis(param, x, axis):
    """Broadcasts a scalar or 1-D per-axis parameter against x."""
    param = np.asarray(param)
    if param.size == 1:
        return param.reshape(())
    shape = [1] * x.ndim
    shape[axis % x.ndim] = param.size
    return param.reshape(shape)


def quantize_linear(x, scale, zero_point, axis=1):
    x = np.asarray(x, np.float32)
    if np.isnan(x).any():
        raise ValueError("NaN has no quantized value")
    out_type = np.dtype(zero_point.dtype) if zero_point is not None else np.dtype(np.uint8)
    zp = per_axis(zero_point if zero_point is not None else np.zeros(1, out_type), x, axis).astype(np.int64)
    s = per_axis(np.asarray(scale, np.float32), x, axis).astype(np.float32)
    lo, hi = RANGE[out_type]
    with np.errstate(over="ignore", divide="ignore"):
        r = np.rint(x / s)  # one float32 division, then round half to even
    q = np.clip(r.astype(np.float64) + zp, lo, hi)  # ±inf saturate
    return q.astype(out_type)


def dequantize_linear(q, scale, zero_point, axis=1):
    zp = per_axis(zero_point if zero_point is not None else np.zeros(1, np.int64), q, axis).astype(np.int64)
    s = per_axis(np.asarray(scale, np.float32), q, axis).astype(np.float32)
    return ((q.astype(np.int64) - zp).astype(np.float32) * s).astype(np.float32)


# ---- §4: requantization ---------------------------------------------------------------

def fixed_multiplier(s_in, s_w, s_out):
    """(M, shift) of §4, from float32 scales, in Python integers."""
    real = float(np.float32(s_in)) * float(np.float32(s_w)) / float(np.float32(s_out))
    mant, e = math.frexp(real)
    m = math.floor(mant * 2.0**31 + 0.5)  # ties away from zero (mant > 0); mant·2^31 is exact
    if m == 2**31:
        m, e = 2**30, e + 1
    shift = 31 - e
    if not (1 <= shift <= 62):
        raise ValueError(f"multiplier {real} out of range")
    return m, shift


def requantize(acc, m, shift, zp, lo, hi):
    """clamp(zp + floor((acc·M + 2^(shift−1)) / 2^shift), lo, hi); acc int64, M/shift per column."""
    acc = np.asarray(acc, np.int64)
    prod = acc * m + (np.int64(1) << (shift - 1))  # |acc·M| < 2^62
    return np.clip((prod >> shift) + zp, lo, hi)


# ---- §2: exact accumulation -------------------------------------------------------------

def exact_matmul(a, b):
    """Σ_k a[..., k]·b[k, n] exactly: every partial sum is an integer below 2^53, so float64
    BLAS sums it exactly in any order."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    assert np.abs(a64).max(initial=0) * np.abs(b64).max(initial=0) * a.shape[-1] < 2.0**53
    return np.rint(a64 @ b64).astype(np.int64)


def conv_geometry(node, x_shape, k_shape):
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    dims = len(k_shape)
    strides = list(attrs.get("strides", [1] * dims))
    dil = list(attrs.get("dilations", [1] * dims))
    pads = list(attrs.get("pads", [0] * (2 * dims)))
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
    ceil = attrs.get("ceil_mode", 0)
    out = []
    for i in range(dims):
        n, k, s, d = x_shape[2 + i], k_shape[i], strides[i], dil[i]
        eff = (k - 1) * d + 1
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            o = -(-n // s)
            total = max(0, (o - 1) * s + eff - n)
            small, big = total // 2, total - total // 2
            pads[i], pads[i + dims] = (small, big) if auto_pad == "SAME_UPPER" else (big, small)
        elif auto_pad == "VALID":
            pads[i] = pads[i + dims] = 0
        span = n + pads[i] + pads[i + dims] - eff
        o = (-(-span // s) if ceil else span // s) + 1
        if ceil and (o - 1) * s >= n + pads[i]:
            o -= 1  # the last window must start inside the input or the left padding
        out.append(o)
    return strides, dil, pads, out, attrs.get("group", 1)


def windows(x, fill, k_shape, strides, dil, pads, out):
    """x [N, C, H, W] → [N, C, kh, kw, OH, OW] (padding holds `fill`)."""
    (kh, kw), (sh, sw), (dh, dw) = k_shape, strides, dil
    n, c, h, w = x.shape
    padded = np.full((n, c, h + pads[0] + pads[2] + sh * out[0] + dh * kh, w + pads[1] + pads[3] + sw * out[1] + dw * kw),
                     fill, x.dtype)
    padded[:, :, pads[0]:pads[0] + h, pads[1]:pads[1] + w] = x
    res = np.empty((n, c, kh, kw, out[0], out[1]), x.dtype)
    for i in range(kh):
        for j in range(kw):
            res[:, :, i, j] = padded[:, :, i * dh:i * dh + sh * out[0]:sh, j * dw:j * dw + sw * out[1]:sw]
    return res


def as_2d(x, w):
    """1-D convs and pools are 2-D ones with a height of 1."""
    return (x[:, :, None, :], None if w is None else w[:, :, None, :]) if x.ndim == 3 else (x, w)


def conv_accumulators(node, x, zx, w, zw, bias):
    """§2: acc[n, m, oh, ow] = Σ (x − zx)(w − zw) + bias, exactly (padded taps hold zx)."""
    one_d = x.ndim == 3
    x4, w4 = as_2d(x, w)
    node_k = list(w.shape[2:])
    strides, dil, pads, out, group = conv_geometry(node, x.shape, node_k)
    if one_d:
        strides, dil, pads, out = [1] + strides, [1] + dil, [0, pads[0], 0, pads[1]], [1] + out
    n, c = x4.shape[:2]
    maps = w4.shape[0]
    cg, mg = c // group, maps // group
    zw = np.broadcast_to(np.asarray(zw, np.int64).reshape(-1), (maps,))
    cols = windows(x4.astype(np.int64) - zx, 0, w4.shape[2:], strides, dil, pads, out)  # (x − zx), 0 in the padding
    acc = np.empty((n, maps, out[0], out[1]), np.int64)
    for g in range(group):
        a = cols[:, g * cg:(g + 1) * cg].transpose(0, 4, 5, 1, 2, 3).reshape(n * out[0] * out[1], -1)
        wg = w4[g * mg:(g + 1) * mg].astype(np.int64).reshape(mg, -1) - zw[g * mg:(g + 1) * mg, None]
        acc[:, g * mg:(g + 1) * mg] = exact_matmul(a, wg.T).reshape(n, out[0], out[1], mg).transpose(0, 3, 1, 2)
    if bias is not None:
        acc += bias.astype(np.int64)[None, :, None, None]
    assert np.abs(acc).max(initial=0) < 2**31, "accumulator leaves int32: the spec refuses it"
    return acc.reshape((n, maps, out[1]) if one_d else acc.shape)


def qlinear_conv(node, x, sx, zx, w, sw, zw, sy, zy, bias=None):
    acc = conv_accumulators(node, x, int(zx), w, zw, bias)
    maps = w.shape[0]
    sw = np.broadcast_to(np.asarray(sw, np.float32).reshape(-1), (maps,))
    mult = [fixed_multiplier(sx, s, sy) for s in sw]
    m = np.array([v[0] for v in mult], np.int64).reshape((1, maps) + (1,) * (acc.ndim - 2))
    shift = np.array([v[1] for v in mult], np.int64).reshape(m.shape)
    lo, hi = RANGE[np.dtype(zy.dtype)]
    return requantize(acc, m, shift, int(zy), lo, hi).astype(zy.dtype)


def qlinear_matmul(a, sa, za, b, sb, zb, sy, zy):
    acc = exact_matmul(a.astype(np.int64) - int(za), b.astype(np.int64) - np.asarray(zb, np.int64).reshape(-1))
    n = b.shape[-1]
    sb = np.broadcast_to(np.asarray(sb, np.float32).reshape(-1), (n,))
    mult = [fixed_multiplier(sa, s, sy) for s in sb]
    lo, hi = RANGE[np.dtype(zy.dtype)]
    return requantize(acc, np.array([v[0] for v in mult], np.int64), np.array([v[1] for v in mult], np.int64),
                      int(zy), lo, hi).astype(zy.dtype)


# ---- §5: nonlinearities on codes ----------------------------------------------------------

def max_pool(node, x):
    """Maximum of the codes over each window; padding is skipped."""
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    one_d = x.ndim == 3
    x4, _ = as_2d(x, None)
    k = list(attrs["kernel_shape"])
    strides, dil, pads, out, _ = conv_geometry(node, x.shape, k)
    if one_d:
        k, strides, dil, pads, out = [1] + k, [1] + strides, [1] + dil, [0, pads[0], 0, pads[1]], [1] + out
    win = windows(x4.astype(np.int16), -1000, k, strides, dil, pads, out)
    y = win.max(axis=(2, 3)).astype(x.dtype)
    return y.reshape(y.shape[:2] + (y.shape[-1],)) if one_d else y


# ---- Graph plumbing -----------------------------------------------------------------------

def expose_all(model):
    """Every node output becomes a graph output (typed by shape inference), so one run shows
    every intermediate value."""
    inferred = onnx.shape_inference.infer_shapes(model)
    types = {vi.name: vi.type for vi in list(inferred.graph.value_info) + list(inferred.graph.output)}
    have = {o.name for o in model.graph.output}
    out = onnx.ModelProto()
    out.CopyFrom(model)
    for node in model.graph.node:
        for name in node.output:
            if name and name not in have and name in types:
                vi = out.graph.output.add()
                vi.name = name
                vi.type.CopyFrom(types[name])
                vi.type.tensor_type.shape.SetInParent()  # the checker wants the field; Lucid never checks it
                have.add(name)
    return out


def tensor_json(a):
    return {"dtype": str(a.dtype), "shape": list(a.shape), "data": a.reshape(-1).tolist()}


def lucid_run(lucid_bin, model, feeds, threads=1):
    """All graph outputs of `model` (a ModelProto) as numpy arrays, computed by Lucid."""
    with tempfile.TemporaryDirectory() as tmp:
        mpath, ipath = Path(tmp) / "m.onnx", Path(tmp) / "in.json"
        onnx.save(model, str(mpath))
        ipath.write_text(json.dumps({k: tensor_json(v) for k, v in feeds.items()}))
        r = subprocess.run([str(lucid_bin), "--json", "run", str(mpath), "--input", str(ipath), "--threads",
                            str(threads)], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(r.stderr.strip() or r.stdout.strip())
        outs = json.loads(r.stdout)["outputs"]
    return {k: np.array(v["data"], dtype=ELEM[v["dtype"]]).reshape(v["shape"]) for k, v in outs.items()}


INTEGER_OPS = {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul", "MaxPool", "Cast", "Gather"}


def spec_node(node, args):
    """The spec's output of one integer node; None for ops the spec does not own."""
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    op = node.op_type
    if op == "QuantizeLinear":
        return quantize_linear(args[0], args[1], args[2] if len(args) > 2 else None, attrs.get("axis", 1))
    if op == "DequantizeLinear":
        return dequantize_linear(args[0], args[1], args[2] if len(args) > 2 else None, attrs.get("axis", 1))
    if op == "QLinearConv":
        return qlinear_conv(node, *args[:8], bias=args[8] if len(args) > 8 else None)
    if op == "QLinearMatMul":
        return qlinear_matmul(*args)
    if op == "MaxPool" and args[0].dtype in (np.uint8, np.int8):
        return max_pool(node, args[0])
    # §5 tables: y = T[Cast(x_q, int32)] with a 256-entry uint8 table.
    if op == "Cast" and args[0].dtype == np.uint8 and attrs.get("to") == onnx.TensorProto.INT32:
        return args[0].astype(np.int32)
    if op == "Gather" and args[0].dtype == np.uint8 and args[0].shape == (256,):
        return np.take(args[0], args[1].astype(np.int64), axis=0)
    return None


def check_model(lucid_bin, model, feeds, threads=1):
    """Runs `model` in Lucid with every value exposed and recomputes each integer node from
    Lucid's inputs to it. Returns (values, [(node, op, mismatching elements, elements)])."""
    values = dict(feeds)
    values.update({i.name: numpy_helper.to_array(i) for i in model.graph.initializer})
    values.update(lucid_run(lucid_bin, expose_all(model), feeds, threads))
    report = []
    for node in model.graph.node:
        if node.op_type not in INTEGER_OPS:
            continue
        args = [values[n] if n else None for n in node.input]
        want = spec_node(node, args)
        if want is None:
            continue
        got = values[node.output[0]]
        same = got.dtype == want.dtype and got.shape == want.shape
        bad = int(np.sum(got.view(np.uint8) != want.view(np.uint8))) if same else got.size
        report.append((node.name or node.output[0], node.op_type, bad, int(want.size)))
    return values, report


# ---- onnxruntime on single nodes ---------------------------------------------------------

def single_node_model(model, node, values, weights=None):
    """`node` alone: its non-initializer inputs become graph inputs fed with `values`; its
    initializers are copied (or replaced from `weights`)."""
    inits = {i.name: i for i in model.graph.initializer}
    graph_inputs, initializers, feeds = [], [], {}
    for name in node.input:
        if not name:
            continue
        if name in inits:
            arr = weights.get(name, values[name]) if weights else values[name]
            initializers.append(numpy_helper.from_array(arr, name))
        else:
            graph_inputs.append(helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(values[name].dtype),
                                                              values[name].shape))
            feeds[name] = values[name]
    out = node.output[0]
    graph = helper.make_graph([node], "one", graph_inputs,
                              [helper.make_tensor_value_info(out, helper.np_dtype_to_tensor_dtype(values[out].dtype),
                                                             None)], initializers)
    m = helper.make_model(graph, opset_imports=list(model.opset_import))
    m.ir_version = model.ir_version
    return m, feeds


def ort_run(model, feeds):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)[0]


def ort_node_diffs(model, values, weight_bits=8):
    """For each QLinearConv / QLinearMatMul: onnxruntime and the spec on the same inputs
    (Lucid's), optionally with the int8 weights narrowed to `weight_bits` bits
    (w → clamp(round_half_even(w / 2^(8 − bits)))). Returns [(node, max |code diff|,
    elements differing by more than 1, elements)]."""
    rows = []
    for node in model.graph.node:
        if node.op_type not in ("QLinearConv", "QLinearMatMul"):
            continue
        w_name = node.input[3]
        w = values[w_name]
        if weight_bits < 8:
            step = 2 ** (8 - weight_bits)
            top = 2 ** (weight_bits - 1) - 1
            w = np.clip(np.rint(w.astype(np.float64) / step), -top, top).astype(w.dtype)
        local = dict(values)
        local[w_name] = w
        args = [local[n] if n else None for n in node.input]
        want = spec_node(node, args).astype(np.int64)
        one, feeds = single_node_model(model, node, local, {w_name: w})
        got = ort_run(one, feeds).astype(np.int64)
        d = np.abs(got - want)
        rows.append((node.name or node.output[0], int(d.max(initial=0)), int(np.sum(d > 1)), int(d.size)))
    return rows


def saturating_pairs_conv(node, x, sx, zx, w, sw, zw, sy, zy, bias=None, nhwc=True):
    """Not the spec: a model of a u8·s8 kernel built on vpmaddubsw without VNNI (onnxruntime's
    AVX2 path), which adds the raw products of adjacent k pairs in saturating int16 before
    widening. Reduction order (kh, kw, c) when `nhwc` (onnxruntime runs QLinearConv in NHWC),
    else (c, kh, kw). Zero points are corrected afterwards, exactly, as the spec does."""
    assert x.ndim == 4 and node.op_type == "QLinearConv"
    strides, dil, pads, out, group = conv_geometry(node, x.shape, list(w.shape[2:]))
    assert group == 1 and np.all(np.asarray(zw) == 0)
    n, c = x.shape[:2]
    maps = w.shape[0]
    cols = windows(x.astype(np.int64), int(zx), w.shape[2:], strides, dil, pads, out)  # raw codes, zx in the padding
    perm = (0, 4, 5, 2, 3, 1) if nhwc else (0, 4, 5, 1, 2, 3)
    a = cols.transpose(perm).reshape(n * out[0] * out[1], -1)
    b = w.astype(np.int64).transpose((0, 2, 3, 1) if nhwc else (0, 1, 2, 3)).reshape(maps, -1).T
    if a.shape[1] % 2:
        a, b = np.pad(a, ((0, 0), (0, 1))), np.pad(b, ((0, 1), (0, 0)))
    raw = np.zeros((a.shape[0], maps), np.int64)
    for j in range(0, a.shape[1], 2):
        raw += np.clip(a[:, j:j + 1] * b[j] + a[:, j + 1:j + 2] * b[j + 1], -32768, 32767)
    acc = raw - int(zx) * b.sum(axis=0)[None, :]
    if bias is not None:
        acc += bias.astype(np.int64)[None, :]
    acc = acc.reshape(n, out[0], out[1], maps).transpose(0, 3, 1, 2)
    sw = np.broadcast_to(np.asarray(sw, np.float32).reshape(-1), (maps,))
    mult = [fixed_multiplier(sx, s, sy) for s in sw]
    m = np.array([v[0] for v in mult], np.int64).reshape(1, maps, 1, 1)
    shift = np.array([v[1] for v in mult], np.int64).reshape(m.shape)
    lo, hi = RANGE[np.dtype(zy.dtype)]
    return requantize(acc, m, shift, int(zy), lo, hi).astype(zy.dtype)


def ort_saturation_diffs(model, values):
    """onnxruntime against saturating_pairs_conv on each QLinearConv (same inputs):
    [(node, max |Δcode| vs the spec, max |Δcode| vs the saturating model)]."""
    rows = []
    for node in model.graph.node:
        if node.op_type != "QLinearConv" or values[node.input[0]].ndim != 4:
            continue
        args = [values[n] if n else None for n in node.input]
        one, feeds = single_node_model(model, node, values)
        got = ort_run(one, feeds).astype(np.int64)
        spec = spec_node(node, args).astype(np.int64)
        sat = saturating_pairs_conv(node, *args[:8], bias=args[8] if len(args) > 8 else None).astype(np.int64)
        rows.append((node.name or node.output[0], int(np.abs(got - spec).max()), int(np.abs(got - sat).max())))
    return rows


def main(argv):
    lucid_bin, model_path, inputs_path = argv[1:4]
    model = onnx.load(model_path)
    raw = json.loads(Path(inputs_path).read_text())
    feeds = {k: np.array(v["data"], dtype=ELEM[v.get("dtype", "float32")]).reshape(v["shape"]) for k, v in raw.items()}
    values, report = check_model(lucid_bin, model, feeds)
    print(f"{model_path}: Lucid vs this spec, node by node (elements differing / elements)")
    for name, op, bad, total in report:
        print(f"  {op:16s} {name:28s} {bad:8d} / {total}")
    for bits in (8, 7):
        print(f"onnxruntime vs this spec, same inputs, {bits}-bit weights: max |Δcode|, elements with |Δ| > 1")
        for name, dmax, over, total in ort_node_diffs(model, values, bits):
            print(f"  {name:28s} max {dmax:4d}  >1: {over:8d} / {total}")
    print("onnxruntime vs the spec and vs int16-saturating adjacent pairs (max |Δcode|)")
    for name, d_spec, d_sat in ort_saturation_diffs(model, values):
        print(f"  {name:28s} spec {d_spec:4d}  saturating pairs {d_sat:4d}")


if __name__ == "__main__":
    main(sys.argv)
