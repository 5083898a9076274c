"""The `tte` command line. Errors the user caused print one line and exit with status 2."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from tte.cli.util import EXIT_USER_ERROR, load_calibration, user_errors  # noqa: F401  (re-exported)


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
    from tte.targets.boards import list_boards

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


@main.command("kernel-sizes")
@click.option("--board", "board_names", multiple=True,
              help="A board name or .toml (repeat for more); default: every board tte knows.")
@user_errors
def kernel_sizes(board_names: tuple[str, ...]) -> None:
    """Compile the kernel library once per board for its flash code size, into tte's cache, so
    that a first `tte compile` need not (make setup runs this). Kernels already sized are skipped."""
    import time

    from tte.targets.boards import get_board, list_boards
    from tte.targets.code_size import build_kernel_sizes

    bs = [get_board(n) for n in board_names] if board_names else list_boards()
    seen: set[str] = set()   # boards with the same core and flags share their kernels
    for b in bs:
        t = time.perf_counter()
        counts = build_kernel_sizes([b], seen)
        shared = f", {counts['shared']} as an earlier board's" if counts["shared"] else ""
        click.echo(f"kernel sizes for {b.name} ({b.core}): {counts['built']} built, "
                   f"{counts['cached']} cached{shared} ({time.perf_counter() - t:.1f} s)")


@main.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--calibration", required=True,
              help="Your data (.npz with x, .npy, .csv, a folder of class subfolders of images) or a data "
                   "set name (e.g. fashion-mnist); inputs in the model's layout.")
@click.option("--samples", default=500, show_default=True, help="Calibration samples to use.")
@click.option("--input-scale", default=1.0, show_default=True, type=float,
              help="Multiply every input by this (255 for a model trained on 0..255 pixels).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The int8 .tflite to write (a new file, or one tte wrote with --force).")
@click.option("--force", is_flag=True, help="Replace OUTPUT if an earlier tte command wrote it.")
@user_errors
def quantize(model: str, calibration: str, samples: int, input_scale: float, output: str, force: bool) -> None:
    """Post-training int8 quantization of a float ONNX MODEL, written as .tflite."""
    import tte
    from tte.outputs import check_output_file, is_tte_tflite

    check_output_file(output, force=force, ours=is_tte_tflite)
    g = tte.load(model)
    q = tte.quantize(g, calibration=load_calibration(calibration, samples, g, input_scale))
    tte.export(q, output)
    click.echo(f"wrote {output} ({Path(output).stat().st_size:,} bytes)")


@main.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--data", "data_name", required=True,
              help="Your data (.npz with x and y, .csv, a folder of class subfolders of images) or a data set "
                   "name (digits, fashion-mnist, lfw-faces, mnist).")
@click.option("--test-data", default=None,
              help="Data to measure accuracy on, same formats (default: the data set's test split; for "
                   "your own data, the training data).")
@click.option("--input-scale", default=1.0, show_default=True, type=float,
              help="Multiply every input by this (255 for a model trained on 0..255 pixels).")
@click.option("--scheme", default="last-k:2", show_default=True,
              help="full, last-k:N, bias-only, classifier-only, paper:<model>:<budget>, or a .toml/.json file.")
@click.option("--precision", type=click.Choice(["int8", "fp32"]), default="int8", show_default=True)
@click.option("--engine", type=click.Choice(["ref", "c", "qemu"]), default="ref", show_default=True,
              help="ref: numpy reference; c: generated C on the host; qemu: firmware on an emulated Cortex-M7.")
@click.option("--lr", default=0.05, show_default=True, type=float)
@click.option("--epochs", default=1, show_default=True, type=int)
@click.option("--batch-size", default=1, show_default=True, type=int,
              help="Samples per SGD step (the board trains with 1).")
@click.option("--rounding", type=click.Choice(["nearest", "stochastic"]), default="stochastic", show_default=True,
              help="How int8 weight updates smaller than one step are rounded.")
@click.option("--no-qas", is_flag=True, help="Disable quantization-aware scaling (for comparison).")
@click.option("--momentum", default=0.0, show_default=True, type=float,
              help="SGD momentum (engine ref only; costs a float32 velocity per trained element).")
@click.option("--calibration", default=None,
              help="Calibration data for a float MODEL, same formats as --data (default: --data).")
@click.option("--samples", default=0, type=int, help="Train on only this many training samples (0: all).")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("-o", "--output", default=None, type=click.Path(dir_okay=False),
              help="Write the trained int8 .tflite (a new file, or one tte wrote with --force).")
@click.option("--force", is_flag=True, help="Replace OUTPUT if an earlier tte command wrote it.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@user_errors
def train(model: str, data_name: str, test_data: str | None, input_scale: float, scheme: str, precision: str,
          engine: str, lr: float, epochs: int, batch_size: int, rounding: str, no_qas: bool, momentum: float,
          calibration: str | None, samples: int, seed: int, output: str | None, force: bool, as_json: bool) -> None:
    """Train MODEL on-device style (sparse update, int8 + QAS) and report accuracy before and after."""
    from tte.cli.train import exit_if_interrupted, run_training

    result = run_training(model, data_name=data_name, test_data=test_data, input_scale=input_scale,
                          scheme=scheme, precision=precision, engine=engine, lr=lr,
                          epochs=epochs, batch_size=batch_size, rounding=rounding, qas=not no_qas,
                          calibration=calibration, samples=samples, seed=seed, output=output, quiet=as_json,
                          momentum=momentum, force=force)
    if as_json:
        click.echo(json.dumps(result, indent=2))
    exit_if_interrupted(result)


@main.command()
@click.option("--model", default=None, type=click.Path(dir_okay=False),
              help="Float ONNX model (default: the example Fashion-MNIST CNN).")
@click.option("--out", "out_dir", default="build/demo", show_default=True, type=click.Path(file_okay=False))
@click.option("--test-samples", default=2000, show_default=True)
@user_errors
def demo(model: str | None, out_dir: str, test_samples: int) -> None:
    """The main job end to end: quantize, compile, train on-device style, run on QEMU."""
    from tte.cli.demo import EngineMismatch, run_demo

    try:
        run_demo(model, Path(out_dir), test_samples)
    except EngineMismatch as e:
        click.echo(str(e), err=True)
        sys.exit(1)


# Subcommands that live in their own modules (one job each).
for _module in ("tte.cli.compile", "tte.cli.firmware", "tte.cli.kg", "tte.cli.fed", "tte.cli.ops", "tte.cli.fleet",
                "tte.cli.scheme", "tte.cli.package", "tte.cli.weights"):
    try:
        _mod = __import__(_module, fromlist=["COMMANDS"])
    except ModuleNotFoundError as _e:
        if _e.name != _module:
            raise
        continue
    for _cmd in _mod.COMMANDS:
        main.add_command(_cmd)


if __name__ == "__main__":
    main()
