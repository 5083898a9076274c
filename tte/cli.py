"""The `tte` command line. Errors the user caused print one line and exit with status 2."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click
import numpy as np

from tte.errors import TteError

EXIT_USER_ERROR = 2


def user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn TteError into `tte: error: ...` on stderr and exit status 2, no traceback."""
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TteError as e:
            click.echo(f"tte: error: {e}", err=True)
            sys.exit(EXIT_USER_ERROR)
    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tte")
def main() -> None:
    """tte: compile on-device int8 training for microcontrollers."""


@main.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@user_errors
def inspect(model: str, as_json: bool) -> None:
    """Ops, tensors, parameters, MACs and activation sizes of MODEL (.onnx or .tflite)."""
    import tte
    from tte.inspect import format_summary, summarize

    s = summarize(tte.load(model))
    click.echo(json.dumps(s, indent=2) if as_json else format_summary(s))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the boards as JSON.")
@user_errors
def boards(as_json: bool) -> None:
    """The boards tte knows (boards/*.toml)."""
    from tte.boards import list_boards

    bs = list_boards()
    if as_json:
        click.echo(json.dumps([b.to_json() for b in bs], indent=2))
        return
    click.echo(f"{'name':<28} {'core':<14} {'fpu':<12} {'dsp':<4} {'SRAM':>7} {'flash':>7} "
               f"{'MHz':>5}  qemu")
    for b in bs:
        click.echo(f"{b.name:<28} {b.core:<14} {b.fpu or '-':<12} {'yes' if b.dsp else 'no':<4} "
                   f"{b.sram_bytes // 1024:>5}KB {b.flash_bytes // 1024:>5}KB "
                   f"{b.clock_hz / 1e6:>5.0f}  {b.qemu_machine or '-'}")


def load_calibration(spec: str, limit: int) -> np.ndarray:
    """A calibration set: a data set name (`fashion-mnist`) or an .npy file of inputs."""
    p = Path(spec)
    if p.suffix == ".npy":
        if not p.is_file():
            raise TteError("no such calibration file", file=spec)
        try:
            arr = np.load(p, allow_pickle=False)
        except (ValueError, OSError) as e:
            raise TteError(f"cannot read calibration array: {e}", file=spec) from None
        return np.asarray(arr, np.float32)[:limit]
    from tte.data import load_dataset
    xs, _ = load_dataset(spec, "train")
    return xs[:limit]


@main.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--calibration", required=True,
              help="Data set name (e.g. fashion-mnist) or .npy file of inputs in the model's layout.")
@click.option("--samples", default=500, show_default=True, help="Calibration samples to use.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The int8 .tflite to write.")
@user_errors
def quantize(model: str, calibration: str, samples: int, output: str) -> None:
    """Post-training int8 quantization of a float ONNX MODEL, written as .tflite."""
    import tte

    g = tte.load(model)
    q = tte.quantize(g, calibration=load_calibration(calibration, samples))
    tte.export(q, output)
    click.echo(f"wrote {output} ({Path(output).stat().st_size:,} bytes)")


@main.command()
@click.option("--model", default=None, type=click.Path(dir_okay=False),
              help="Float ONNX model (default: the example Fashion-MNIST CNN).")
@click.option("--out", "out_dir", default="build/demo", show_default=True, type=click.Path(file_okay=False))
@click.option("--test-samples", default=10000, show_default=True)
@user_errors
def demo(model: str | None, out_dir: str, test_samples: int) -> None:
    """Inspect, quantize and evaluate the example model (float vs int8) on Fashion-MNIST."""
    from tte.demo import run_demo

    run_demo(model, Path(out_dir), test_samples)


if __name__ == "__main__":
    main()
