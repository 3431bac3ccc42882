#!/usr/bin/env python3
"""Writes the ONNX backend node tests of the installed `onnx` package (its wheel ships the
test cases as Python, not as data) in the backend test layout:
OUT/onnx-<version>/node/<test>/{model.onnx, test_data_set_N/{input,output}_M.pb}.
The files are those onnx's own `backend-test-tools generate-data` writes; only the case
list differs (node cases instead of model cases). Skips the work when OUT already holds
a complete set for this version.
Run: .venv/bin/python tools/conformance/gen_node_tests.py OUT"""
import os
import sys
import types
import warnings

import onnx
import onnx.backend.test.case.node as node_cases
from onnx.backend.test import cmd_tools


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = os.path.join(sys.argv[1], f"onnx-{onnx.__version__}")
    stamp = os.path.join(out, "complete")
    if os.path.exists(stamp):
        print(out)
        return 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the cases' own numpy warnings (1/0 → inf) are expected
        cases = node_cases.collect_testcases(None)
        cmd_tools.model_test = types.SimpleNamespace(collect_testcases=lambda: cases)
        cmd_tools.generate_data(types.SimpleNamespace(output=out))
    with open(stamp, "w") as f:
        f.write(f"{len(cases)} node tests from onnx {onnx.__version__}\n")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
