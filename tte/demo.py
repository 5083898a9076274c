"""`tte demo` / `make demo`: the main job on embedded defaults, end to end on the host.

For now: inspect the example model, quantize it to int8 with Fashion-MNIST calibration,
export the int8 .tflite, and compare float and int8 test accuracy.
"""

from __future__ import annotations

import time
from pathlib import Path

import click
import numpy as np

import tte
from tte.errors import TteError
from tte.inspect import format_summary, summarize

EXAMPLE_MODEL = Path(__file__).resolve().parent.parent / "examples" / "fmnist_cnn.onnx"
CALIBRATION_SAMPLES = 500


def accuracy(graph: tte.Graph, xs: np.ndarray, ys: np.ndarray) -> float:
    logits = tte.run(graph, xs)
    assert isinstance(logits, np.ndarray)
    return float(np.mean(np.argmax(logits.reshape(len(xs), -1), axis=1) == ys))


def run_demo(model: str | None, out_dir: Path, test_samples: int) -> dict[str, float]:
    from tte.data import fashion_mnist

    path = Path(model) if model else EXAMPLE_MODEL
    if not path.exists():
        raise TteError("example model not found (run examples/train_fashion_mnist.py)", file=str(path))
    t0 = time.perf_counter()
    g = tte.load(path)
    click.echo(format_summary(summarize(g)))
    x_train, _ = fashion_mnist("train")
    x_test, y_test = fashion_mnist("test")
    x_test, y_test = x_test[:test_samples], y_test[:test_samples]

    click.echo(f"\nquantizing with {CALIBRATION_SAMPLES} Fashion-MNIST training images ...")
    q = tte.quantize(g, calibration=x_train[:CALIBRATION_SAMPLES])
    out_dir.mkdir(parents=True, exist_ok=True)
    out = tte.export(q, out_dir / f"{path.stem}_int8.tflite")
    click.echo(f"wrote {out} ({out.stat().st_size:,} bytes)")

    click.echo(f"evaluating on {len(x_test)} Fashion-MNIST test images (tte reference) ...")
    acc_f = accuracy(g, x_test, y_test)
    acc_q = accuracy(q, x_test, y_test)
    click.echo(f"\n  float32 accuracy  {acc_f * 100:6.2f} %")
    click.echo(f"  int8    accuracy  {acc_q * 100:6.2f} %   (delta {100 * (acc_q - acc_f):+.2f} points)")
    click.echo(f"\ndone in {time.perf_counter() - t0:.1f} s")
    return {"float_accuracy": acc_f, "int8_accuracy": acc_q}
