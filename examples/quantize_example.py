"""Make the int8 TFLite version of the demo model with tte (PTQ), from the float ONNX file.

    .venv/bin/python examples/quantize_example.py
    # -> examples/fmnist_cnn_int8.tflite, and the int8 test accuracy measured by tte.run

Calibration uses the first 500 Fashion-MNIST *training* images (never test images), in the
source model's layout (NCHW float32 in [0, 1]), as tte expects calibration data in the layout
of the file the user brought.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import tte
from tte.ir import Graph
from tte.training.data import fashion_mnist

HERE = Path(__file__).resolve().parent


def quantize_example(onnx_path: Path, tflite_path: Path, n_calibration: int = 500) -> Graph:
    """Load the float ONNX model, quantize it to int8 by PTQ and export it as .tflite."""
    graph = tte.load(str(onnx_path))
    x_train, _ = fashion_mnist("train")
    q = tte.quantize(graph, calibration=x_train[:n_calibration])
    tte.export(q, str(tflite_path))
    return q


def int8_accuracy(q: Graph, n: int = 2000) -> float:
    """Top-1 accuracy of the int8 graph with the reference executor (float in, float out)."""
    x_test, y_test = fashion_mnist("test")
    logits = tte.run(q, x_test[:n])
    assert isinstance(logits, np.ndarray)
    return float(np.mean(np.argmax(logits, axis=1) == y_test[:n]))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--onnx", type=Path, default=HERE / "fmnist_cnn.onnx")
    p.add_argument("--out", type=Path, default=HERE / "fmnist_cnn_int8.tflite")
    p.add_argument("--calibration", type=int, default=500)
    p.add_argument("--eval", type=int, default=2000, help="test images to score (0: skip)")
    args = p.parse_args(argv)
    q = quantize_example(args.onnx, args.out, args.calibration)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")
    if args.eval:
        acc = int8_accuracy(q, args.eval)
        print(f"int8 test accuracy (tte.run, first {args.eval} test images): {acc:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
