"""The work behind `tte train`: load, quantize if needed, train with progress, report."""

from __future__ import annotations

import time
from typing import Any

import click
import numpy as np
from tqdm import tqdm

import tte
from tte.errors import TteError
from tte.layout import source_shape
from tte.outputs import check_output_file, is_tte_tflite
from tte.training.data import load_dataset, match_input
from tte.training.trainer import Trainer

CALIBRATION_SAMPLES = 500


def run_training(model: str, *, data_name: str, scheme: str, precision: str, engine: str, lr: float,
                 epochs: int, batch_size: int, rounding: str, qas: bool, calibration: str | None, seed: int,
                 output: str | None, quiet: bool, samples: int = 0, momentum: float = 0.0,
                 force: bool = False) -> dict[str, Any]:
    if epochs < 1 or batch_size < 1:
        raise TteError("--epochs and --batch-size must be at least 1")
    if output:
        if precision != "int8":
            raise TteError("-o writes int8 .tflite; train with --precision int8 to export")
        if not output.endswith(".tflite"):
            raise TteError("tte exports .tflite files only", file=output)
        check_output_file(output, force=force, ours=is_tte_tflite)
    g = tte.load(model)
    if len(g.inputs) != 1:
        raise TteError(f"tte train supports single-input models; '{model}' has {len(g.inputs)}")
    in_shape = source_shape(g.tensors[g.inputs[0]])
    x, y = load_dataset(data_name, "train")
    if samples:
        keep = np.random.default_rng(seed).permutation(len(x))[:samples]
        x, y = x[keep], y[keep]
    xt, yt = load_dataset(data_name, "test")
    x, xt = match_input(x, in_shape), match_input(xt, in_shape)
    if precision == "int8" and not g.is_quantized:
        cx = x if calibration is None else match_input(load_dataset(calibration, "train")[0], in_shape)
        cx = cx[np.random.default_rng(seed).permutation(len(cx))[:CALIBRATION_SAMPLES]]
        g = tte.quantize(g, calibration=cx)
    tr = Trainer(g, scheme=scheme, precision=precision, lr=lr, engine=engine, qas=qas, rounding=rounding,
                 seed=seed, momentum=momentum)
    before = tr.evaluate(xt, yt)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    losses = []
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        bar = tqdm(range(0, len(x), batch_size), desc=f"epoch {epoch + 1}/{epochs}", disable=quiet,
                   unit="step", leave=True)
        for i in bar:
            idx = order[i:i + batch_size]
            losses.append(tr.step(x[idx], y[idx]))
            if len(losses) % 50 == 0:
                bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
    seconds = time.perf_counter() - t0
    after = tr.evaluate(xt, yt)
    if output:
        tte.export(tr.graph, output)
    result = {"model": model, "data": data_name, "scheme": tr.scheme.name, "precision": precision,
              "engine": engine, "lr": lr, "qas": qas, "rounding": rounding, "epochs": epochs,
              "batch_size": batch_size, "steps": tr.steps, "accuracy_before": before, "accuracy_after": after,
              "final_loss": float(np.mean(losses[-50:])), "trainable_bytes": tr.trainable_bytes,
              "train_seconds": seconds, "output": output, "weights_crc32": f"{tr.weights_crc32():08x}"}
    if not quiet:
        click.echo(f"scheme {tr.scheme.name}: {len(tr.plan)} parameter tensors, {tr.trainable_bytes:,} bytes trained")
        click.echo(f"test accuracy  before {before * 100:6.2f} %   after {after * 100:6.2f} %   "
                   f"({tr.steps} steps, {seconds:.1f} s)")
        if output:
            click.echo(f"wrote {output}")
    return result
