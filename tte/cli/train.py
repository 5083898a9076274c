"""The work behind `tte train`: load, check the data, quantize if needed, train with progress, report.

Ctrl-C stops training at the next step boundary (a second Ctrl-C aborts at once): the steps
done so far are kept, evaluated and written to ``-o`` with a note, and the command exits 130.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import click
import numpy as np
from tqdm import tqdm

import tte
from tte.errors import TteError
from tte.outputs import check_output_file, is_tte_tflite
from tte.training.trainer import Trainer
from tte.training.user_data import ModelInput, Samples, is_builtin, load_data

CALIBRATION_SAMPLES = 500
EXIT_INTERRUPTED = 130


class _StopFlag:
    """Set by the first SIGINT; the training loop checks it between steps."""

    def __init__(self) -> None:
        self.set = False


@contextmanager
def _stop_at_step_boundary() -> Iterator[_StopFlag]:
    flag = _StopFlag()

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        if flag.set:
            raise KeyboardInterrupt
        flag.set = True

    try:
        previous = signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread: no handler, Ctrl-C behaves as usual
        yield flag
        return
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def _data(model: str, data_name: str, test_data: str | None, inp: ModelInput, input_scale: float,
          samples: int, seed: int) -> tuple[Samples, Samples, str]:
    train = load_data(data_name, inp, split="train", input_scale=input_scale)
    if samples:
        keep = np.random.default_rng(seed).permutation(len(train.x))[:samples]
        assert train.y is not None
        train = Samples(train.x[keep], train.y[keep], train.file)
    if test_data is not None:
        return train, load_data(test_data, inp, split="test", input_scale=input_scale), "test"
    if is_builtin(data_name):
        return train, load_data(data_name, inp, split="test", input_scale=input_scale), "test"
    return train, train, "training"


def run_training(model: str, *, data_name: str, scheme: str, precision: str, engine: str, lr: float,
                 epochs: int, batch_size: int, rounding: str, qas: bool, calibration: str | None, seed: int,
                 output: str | None, quiet: bool, samples: int = 0, momentum: float = 0.0,
                 force: bool = False, test_data: str | None = None, input_scale: float = 1.0) -> dict[str, Any]:
    if epochs < 1 or batch_size < 1:
        raise TteError("--epochs and --batch-size must be at least 1")
    if scheme == "none":
        raise TteError("scheme 'none' is inference only (tte compile --scheme none): it trains nothing; "
                       "choose a training scheme")
    if output:
        if precision != "int8":
            raise TteError("-o writes int8 .tflite; train with --precision int8 to export")
        if not output.endswith(".tflite"):
            raise TteError("tte exports .tflite files only", file=output)
        check_output_file(output, force=force, ours=is_tte_tflite)
    g = tte.load(model)
    if len(g.inputs) != 1:
        raise TteError(f"tte train supports single-input models; '{model}' has {len(g.inputs)}")
    inp = ModelInput.of_graph(g)
    train, test, measured_on = _data(model, data_name, test_data, inp, input_scale, samples, seed)
    x, y = train.x, train.y
    xt, yt = test.x, test.y
    assert y is not None and yt is not None
    if precision == "int8" and not g.is_quantized:
        cx = x if calibration is None else load_data(calibration, inp, labels=False, input_scale=input_scale).x
        cx = cx[np.random.default_rng(seed).permutation(len(cx))[:CALIBRATION_SAMPLES]]
        g = tte.quantize(g, calibration=cx)
    tr = Trainer(g, scheme=scheme, precision=precision, lr=lr, engine=engine, qas=qas, rounding=rounding,
                 seed=seed, momentum=momentum)
    before = tr.evaluate(xt, yt)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    losses: list[float] = []
    planned = epochs * -(-len(x) // batch_size)
    with _stop_at_step_boundary() as stop:
        for epoch in range(epochs):
            order = rng.permutation(len(x))
            bar = tqdm(range(0, len(x), batch_size), desc=f"epoch {epoch + 1}/{epochs}", disable=quiet,
                       unit="step", leave=True)
            for i in bar:
                if stop.set:
                    break
                idx = order[i:i + batch_size]
                losses.append(tr.step(x[idx], y[idx]))
                if len(losses) % 50 == 0:
                    bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
            bar.close()
            if stop.set:
                break
    interrupted = stop.set
    seconds = time.perf_counter() - t0
    after = tr.evaluate(xt, yt)
    if output:
        tte.export(tr.graph, output)
    result = {"model": model, "data": data_name, "scheme": tr.scheme.name, "precision": precision,
              "engine": engine, "lr": lr, "qas": qas, "rounding": rounding, "epochs": epochs,
              "batch_size": batch_size, "steps": tr.steps, "planned_steps": planned, "interrupted": interrupted,
              "accuracy_on": measured_on, "accuracy_before": before, "accuracy_after": after,
              "final_loss": float(np.mean(losses[-50:])) if losses else None,
              "trainable_bytes": tr.trainable_bytes, "train_seconds": seconds, "output": output,
              "weights_crc32": f"{tr.weights_crc32():08x}"}
    if not quiet:
        click.echo(f"scheme {tr.scheme.name}: {len(tr.plan)} parameter tensors, {tr.trainable_bytes:,} bytes trained")
        click.echo(f"{measured_on} accuracy  before {before * 100:6.2f} %   after {after * 100:6.2f} %   "
                   f"({tr.steps} steps, {seconds:.1f} s)")
        if output:
            click.echo(f"wrote {output}")
    if interrupted:
        click.echo(f"tte: interrupted: stopped after {tr.steps} of {planned} steps; "
                   + (f"{output} holds the weights trained so far" if output else "nothing written (no -o)"),
                   err=True)
    return result


def exit_if_interrupted(result: dict[str, Any]) -> None:
    if result.get("interrupted"):
        sys.exit(EXIT_INTERRUPTED)
