"""The quantized models many tests share, built once per test session.

Tests must not change them in place: copy first (Graph.copy, Trainer and the compiler do).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

import tte
from tte.ir import Graph
from tte.models.paper import build_paper_onnx
from tte.training.data import fashion_mnist

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "fmnist_cnn.onnx"


@cache
def example_int8() -> Graph:
    """The example CNN, quantized with 200 Fashion-MNIST training images."""
    xs, _ = fashion_mnist("train")
    return tte.quantize(tte.load(EXAMPLE), calibration=xs[:200])


@cache
def paper_int8(model: str) -> Graph:
    """A paper architecture at 128x128 (10 classes), quantized with 4 random images."""
    g = tte.load(build_paper_onnx(model, resolution=128, num_classes=10, seed=0).SerializeToString())
    return tte.quantize(g, calibration=np.random.default_rng(0).uniform(-1, 1, (4, 3, 128, 128)).astype(np.float32))


def mbv2_int8() -> Graph:
    return paper_int8("mbv2-w0.35")
