#!/usr/bin/env python3
"""Lucid vs onnxruntime on the same models and inputs, in one process tree.

Times Lucid (bench/model_bench, a child process: load once, then timed Run()s) and
onnxruntime (this process, intra_op_num_threads = N, sequential execution) at 1 and 2
threads; Lucid int8 (models quantized by Lucid's own quantizer) against onnxruntime float,
onnxruntime running Lucid's int8 model, and onnxruntime's own quantize_static model; and
the int8 GEMM kernel's GOP/s against this machine's peak. Prints a table of medians and
ratios (ratio = onnxruntime time / Lucid time: > 1 means Lucid is faster).

  compare.py --build BUILD_DIR [--quick] [--models DIR]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import logging

import numpy as np
import onnxruntime as ort

logging.getLogger().setLevel(logging.ERROR)  # quantize_static's pre-processing advice

HERE = Path(__file__).resolve().parent
MODELS = ["mlp", "digits_cnn", "cnn_big", "transformer"]


def load_inputs(path):
    data = json.loads(Path(path).read_text())
    return {k: np.array(v["data"], dtype=np.float32).reshape(v["shape"]) for k, v in data.items()}


def lucid_time(build, model, inputs, threads, iters, min_s):
    out = subprocess.run([str(build / "bench" / "model_bench"), "run", str(model), str(inputs), "--threads",
                          str(threads), "--iters", str(iters), "--min-seconds", str(min_s)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return None, out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"
    return json.loads(out.stdout), None


def ort_session(model, threads):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(model), so, providers=["CPUExecutionProvider"])


def ort_time(model, feeds, threads, iters, min_s):
    try:
        sess = ort_session(model, threads)
        outs = sess.run(None, feeds)
    except Exception as e:  # a model onnxruntime refuses is reported, not fatal
        return None, None, str(e).splitlines()[0][:80]
    times, start = [], time.perf_counter()
    while len(times) < iters or time.perf_counter() - start < min_s:
        t0 = time.perf_counter()
        sess.run(None, feeds)
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), outs, None


def ort_quantize(model, calib_path, out_path):
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            sets = json.loads(Path(calib_path).read_text())
            self.it = iter([{k: np.array(v["data"], np.float32).reshape(v["shape"]) for k, v in s.items()}
                            for s in sets])

        def get_next(self):
            return next(self.it, None)

    quantize_static(str(model), str(out_path), Reader(), quant_format=QuantFormat.QOperator, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)


def fmt(v, spec="{:.3f}"):
    return "-" if v is None else spec.format(v)


def gemm_peak(build, quick):
    args = [str(build / "bench" / "gemm_bench"), "--benchmark_format=json",
            "--benchmark_filter=BM_GemmU8S8S32/512/512/512/1|BM_GemmF32/512/512/512/1|BM_CpuCycles|"
            "BM_VnniThroughput|BM_GemmU8S8S32PackedPath/512/512/512/1/[12]|BM_GemmF32PackedPath/512/512/512/1/[12]",
            f"--benchmark_min_time={0.05 if quick else 0.5}"]
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    rows = {b["name"]: b for b in json.loads(out.stdout)["benchmarks"]}
    ghz = rows["BM_CpuCycles"]["GHz"]
    # Exact int8 path without VNNI: vpmaddwd does 16 int16 MACs; 2 vector-multiply pipes per
    # core (Intel Skylake+ ports 0/1, AMD Zen 2–5) → 32 MAC = 64 ops per cycle.
    peak_exact = ghz * 2 * 16 * 2
    # VNNI: measured, not assumed: independent 512-bit vpdpbusd per second × 64 MACs × 2 ops.
    vnni_ginstr = rows["BM_VnniThroughput"].get("Ginstr", 0.0)
    peak_vnni = vnni_ginstr * 64 * 2

    def per_cpu(r):  # real time is wall time; on a loaded machine CPU time shows what the core achieved
        return r["GOPS"] * r["real_time"] / r["cpu_time"]

    u8 = rows["BM_GemmU8S8S32/512/512/512/1/real_time"]
    f32 = rows["BM_GemmF32/512/512/512/1/real_time"]
    print("\nGEMM kernels (512³, 1 thread), core clock measured by a dependent-add chain: "
          f"{ghz:.2f} GHz; AVX-512 VNNI on this CPU: {'yes' if peak_vnni else 'no'}; active path: "
          f"{u8.get('label') or rows.get('BM_GemmU8S8S32PackedPath/512/512/512/1/2/real_time', {}).get('label', '?')}")
    print(f"  int8 u8·s8→s32 (GemmU8S8S32, B packed per call): {u8['GOPS']:.1f} GOP/s wall, {per_cpu(u8):.1f} per CPU-second")
    for path, key in (("avx2", "1"), ("avx512-vnni", "2")):
        r = rows.get(f"BM_GemmU8S8S32PackedPath/512/512/512/1/{key}/real_time")
        if not r or "error_occurred" in r:
            print(f"  int8, B packed once, {path}: not run (this CPU lacks it)")
            continue
        g = per_cpu(r)
        peak, what = ((peak_exact, "exact-path peak (2×vpmaddwd/cycle)") if path == "avx2" else
                      (peak_vnni, f"VNNI peak ({vnni_ginstr:.2f} G vpdpbusd/s measured × 128 ops)"))
        print(f"  int8, B packed once (the engine's weights), {path}: {r['GOPS']:.1f} GOP/s wall, {g:.1f} per "
              f"CPU-second; {what} {peak:.1f} GOP/s → {100 * g / peak:.0f}%")
    if not peak_vnni:
        print("  VNNI peak: n/a (no AVX-512 VNNI)")
    # Float: no FMA (bit-exactness), so the peak is 2 multiply + 2 add pipes × the lanes.
    print(f"  float (GemmF32, B packed per call): {f32['GOPS']:.1f} GFLOP/s wall, {per_cpu(f32):.1f} per CPU-second")
    for path, key, lanes in (("avx2", "1", 8), ("avx512", "2", 16)):
        r = rows.get(f"BM_GemmF32PackedPath/512/512/512/1/{key}/real_time")
        if not r or "error_occurred" in r:
            print(f"  float, B packed once, {path}: not run (this CPU lacks it)")
            continue
        peak = ghz * 2 * lanes * 2
        print(f"  float, B packed once (weights, Conv's im2col), {path}: {r['GOPS']:.1f} GFLOP/s wall, "
              f"{per_cpu(r):.1f} per CPU-second; peak without FMA (2 mul + 2 add pipes × {lanes} lanes) "
              f"{peak:.1f} → {100 * per_cpu(r) / peak:.0f}%")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build-bench")
    ap.add_argument("--models", default=None, help="model folder (default BUILD/bench_models)")
    ap.add_argument("--quick", action="store_true", help="smoke run: two small models, 1 thread, short timings")
    ap.add_argument("--only", default=None, help="comma-separated subset of " + ",".join(MODELS))
    args = ap.parse_args()
    build = Path(args.build).resolve()
    mdir = Path(args.models) if args.models else build / "bench_models"
    if not (mdir / "transformer.onnx").exists():
        subprocess.run([sys.executable, str(HERE / "make_models.py"), str(mdir)], check=True)
    models = ["mlp", "digits_cnn"] if args.quick else MODELS
    if args.only:
        models = [m for m in args.only.split(",") if m in MODELS]
    thread_counts = [1] if args.quick else [1, 2]
    iters, min_s = (3, 0.05) if args.quick else (10, 1.0)
    qdir = Path(tempfile.mkdtemp(prefix="lucid-bench-"))
    rows, failures = [], []
    for name in models:
        model, inputs, calib = mdir / f"{name}.onnx", mdir / f"{name}.inputs.json", mdir / f"{name}.calib.json"
        feeds = load_inputs(inputs)
        lucid_q = qdir / f"{name}.lucid-int8.onnx"
        q = subprocess.run([str(build / "bench" / "model_bench"), "quantize", str(model), str(calib), str(lucid_q)],
                           capture_output=True, text=True)
        q_err = None if q.returncode == 0 else (q.stderr.strip().splitlines() or ["?"])[-1][:80]
        ort_q = qdir / f"{name}.ort-int8.onnx"
        try:
            ort_quantize(model, calib, ort_q)
        except Exception as e:
            ort_q = None
            failures.append(f"{name}: onnxruntime quantize_static: {str(e).splitlines()[0][:100]}")
        for threads in thread_counts:
            lf, err = lucid_time(build, model, inputs, threads, iters, min_s)
            if err:
                failures.append(f"{name} t{threads}: Lucid float: {err}")
            of, oouts, oerr = ort_time(model, feeds, threads, iters, min_s)
            if oerr:
                failures.append(f"{name} t{threads}: onnxruntime float: {oerr}")
            diff = None
            if lf and oouts is not None:
                got = np.array(next(iter(lf["outputs"].values()))["data"], np.float32)
                diff = float(np.max(np.abs(got - oouts[0].reshape(-1))))
            li = None
            if q_err:
                failures.append(f"{name}: Lucid quantizer: {q_err}")
            else:
                li_res, err = lucid_time(build, lucid_q, inputs, threads, iters, min_s)
                li = li_res["median_ms"] if li_res else None
                if err:
                    failures.append(f"{name} t{threads}: Lucid int8: {err}")
            oq_lucid = ort_time(lucid_q, feeds, threads, iters, min_s)[0] if not q_err else None
            oq_own = ort_time(ort_q, feeds, threads, iters, min_s)[0] if ort_q else None
            lfm = lf["median_ms"] if lf else None
            ratio = lambda a, b: None if a is None or b is None else a / b
            rows.append([name, threads, lfm, of, ratio(of, lfm), li, ratio(of, li), oq_lucid, ratio(oq_lucid, li),
                         oq_own, ratio(oq_own, li), diff])
    hdr = ["model", "thr", "lucid f32 ms", "ort f32 ms", "ort/lucid f32", "lucid i8 ms", "ort f32/lucid i8",
           "ort(lucid i8) ms", "ratio", "ort own i8 ms", "ort i8/lucid i8", "max|f32 diff|"]
    print("Lucid vs onnxruntime " + ort.__version__ + " (median ms; ratio = onnxruntime time / Lucid time)")
    widths = [max(len(h), 11) for h in hdr]
    print("  ".join(h.rjust(w) for h, w in zip(hdr, widths)))
    for r in rows:
        kinds = ["ms", "ms", "x", "ms", "x", "ms", "x", "ms", "x"]
        cells = [r[0], str(r[1])] + [fmt(v, "{:.3f}" if k == "ms" else "{:.2f}x") for v, k in zip(r[2:11], kinds)]
        cells.append(fmt(r[11], "{:.2e}"))
        print("  ".join(c.rjust(w) for c, w in zip(cells, widths)))
    gemm_peak(build, args.quick)
    if failures:
        print("\nnot measured:")
        for f in dict.fromkeys(failures):
            print("  " + f)
    # The smoke run fails only if Lucid's float path could not run.
    return 1 if any(r[2] is None for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
