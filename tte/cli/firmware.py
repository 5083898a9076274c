"""`tte build`, `tte run --qemu`, `tte flash`: the firmware around a compiled model."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import click
import numpy as np

from tte.cli.frozen import is_inference_only
from tte.cli.util import user_errors
from tte.errors import TteError
from tte.targets.boards import Board, get_board


def _report(out_dir: str) -> dict[str, Any]:
    p = Path(out_dir) / "report.json"
    if not p.is_file():
        return {}
    try:
        return dict(json.loads(p.read_text()))
    except json.JSONDecodeError as e:
        raise TteError(f"cannot read report.json: {e}", file=str(p)) from None


def _board(out_dir: str, board: str | None, *, qemu: bool = False) -> Board:
    """--board, else the board the model was compiled for (for QEMU: if it has a QEMU machine)."""
    if board:
        return get_board(board)
    name = _report(out_dir).get("board")
    compiled_for = get_board(str(name)) if name else None
    if compiled_for is None or (qemu and not compiled_for.qemu_machine):
        return get_board("qemu-mps2-an500")
    return compiled_for


def synthetic_data(input_bytes: int, num_classes: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic int8 inputs and labels (for instruction counts; the CRC check uses real data)."""
    rng = np.random.default_rng(seed)
    xs = rng.integers(-128, 128, size=(n, input_bytes), dtype=np.int8)
    ys = rng.integers(0, max(num_classes, 1), size=n).astype(np.int32)
    return xs, ys


def load_inputs(path: str, out_dir: str, input_scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The user's data (see tte.training.user_data: float x in the source model's layout and
    labels) as the board's int8 input bytes, one row per sample, checked before anything runs."""
    from tte.ir import QuantParams
    from tte.reference.boundary import quantize_array
    from tte.training.user_data import ModelInput, read_samples

    info = _report(out_dir).get("input")
    if not isinstance(info, dict):
        raise TteError("report.json does not describe the model's input (compiled by an older tte); "
                       "compile again with `tte compile --force`", file=str(Path(out_dir) / "report.json"))
    n_in, n_cls = _model_sizes(out_dir)
    data = read_samples(path, ModelInput.of_report(info, n_cls), input_scale=input_scale)
    x = data.x
    if info.get("source_perm"):
        x = np.transpose(x, np.argsort(info["source_perm"]))  # to the board's (IR) layout
    if info.get("dtype") != "int8" or info.get("scale") is None:
        raise TteError(f"the compiled model's input is {info.get('dtype')}; the firmware stream carries int8 "
                       "inputs", file=path)
    q = quantize_array(x, QuantParams(np.float32(info["scale"]), np.int64(info["zero_point"])))
    xs = q.reshape(len(q), -1)
    if xs.shape[1] != n_in:
        raise TteError(f"inputs have {xs.shape[1]} bytes per sample, the compiled model takes {n_in}", file=path)
    assert data.y is not None
    return xs, data.y.astype(np.int32)


def _model_sizes(out_dir: str) -> tuple[int, int]:
    from tte.targets.firmware import find_model

    ms = find_model(out_dir)
    hdr = next(p / ms.header for p in ms.include_dirs if (p / ms.header).is_file()).read_text()

    def macro(name: str) -> int:
        for line in hdr.splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "#define" and parts[1] == name:
                return int(parts[2].rstrip("uUlL").strip("()").rstrip("uUlL"), 0)
        raise TteError(f"generated header lacks {name}", file=ms.header)

    return macro("TTE_INPUT_BYTES"), macro("TTE_NUM_CLASSES")


@click.command()
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--board", default=None, help="Board (default: the board of report.json).")
@click.option("--io", "io_mode", type=click.Choice(["semihost", "uart", "embedded"]), default=None,
              help="Where the data comes from (default: semihost on a QEMU board, else embedded; uart: a host "
                   "drives the board over its UART and may load and read its weights, tte fleet bridge).")
@click.option("--inputs", default=None, type=click.Path(),
              help="Embedded data set: your data (.npz with float x in the model's layout and labels y, a "
                   ".csv, or a folder of class subfolders of images); tte quantizes it (default: synthetic).")
@click.option("--input-scale", default=1.0, show_default=True, type=float,
              help="Multiply every input by this (255 for a model trained on 0..255 pixels).")
@click.option("--steps", default=None, type=int,
              help="Embedded data set: training steps  [default: 8; 0 for an inference-only model]")
@click.option("--infer", "n_infer", default=None, type=int,
              help="Embedded data set: scored inferences after the steps  [default: 0; 8 for an "
                   "inference-only model]")
@click.option("--json", "as_json", is_flag=True, help="Print the size report as JSON.")
@user_errors
def build(out_dir: str, board: str | None, io_mode: str | None, inputs: str | None, input_scale: float,
          steps: int | None, n_infer: int | None, as_json: bool) -> None:
    """Compile and link the firmware for a compiled model in OUT_DIR: .elf, .bin, .hex, sizes.

    An inference-only model (`tte compile --scheme none`) gets an image that infers only: its
    embedded data set holds inferences, its UART image no weights I/O; --steps is refused."""
    from tte.targets.firmware import build_firmware, format_size_report, size_report
    from tte.targets.qemu import Stream

    frozen = is_inference_only(out_dir)
    if frozen and steps:
        raise TteError("compiled with --scheme none (inference only): no training step to embed; use --infer N",
                       file=out_dir)
    steps = (0 if frozen else 8) if steps is None else steps
    n_infer = (8 if frozen else 0) if n_infer is None else n_infer
    if steps < 0 or n_infer < 0:
        raise TteError("--steps and --infer must not be negative")
    b = _board(out_dir, board)
    stream = None
    if io_mode == "embedded" or (io_mode is None and not b.qemu_machine):
        n_in, n_cls = _model_sizes(out_dir)
        xs, ys = (load_inputs(inputs, out_dir, input_scale) if inputs
                  else synthetic_data(n_in, n_cls, max(steps, n_infer, 1), 0))
        s = Stream()
        for i in range(steps):
            s.train(xs[i % len(xs)], int(ys[i % len(ys)]))
        for i in range(n_infer):
            s.evaluate(xs[i % len(xs)], int(ys[i % len(ys)]))
        if not frozen:  # an inference-only image has no trained weights to checksum
            s.crc()
        s.quit()
        stream = s.to_bytes()
        if frozen:
            click.echo(f"inference only (compiled with --scheme none): the embedded data set runs {n_infer} "
                       "inferences", err=True)
    elif frozen and io_mode == "uart":
        click.echo("inference only (compiled with --scheme none): the UART image infers, no weights I/O", err=True)
    # a board fed over its UART is driven by a host (tte fleet bridge): it may load and read its weights
    fw = build_firmware(out_dir, b, in_mode=io_mode, stream=stream, weights_io=io_mode == "uart" and not frozen)
    report = size_report(fw)
    model_report = _report(out_dir)
    if "peak_sram_bytes" in model_report:
        report["compiler_peak_sram_bytes"] = model_report["peak_sram_bytes"]
    click.echo(json.dumps(report, indent=2) if as_json else format_size_report(fw))


def run_qemu_model(out_dir: str, *, steps: int, infer: int, seed: int, inputs: str | None,
                   board: str | None = None, input_scale: float = 1.0) -> dict[str, Any]:
    """Build (if needed) and run `steps` training steps and `infer` inferences on QEMU (an
    inference-only model: `steps` 0, refused otherwise before anything is built)."""
    from tte.targets.firmware import build_firmware
    from tte.targets.qemu import Stream, run_firmware

    frozen = is_inference_only(out_dir)
    if frozen and steps:
        raise TteError(f"compiled with --scheme none (inference only): no training step to run ({steps} asked); "
                       "use --steps 0", file=out_dir)
    b = _board(out_dir, board, qemu=True)
    if not b.qemu_machine:
        raise TteError(f"board '{b.name}' has no QEMU machine; use --board qemu-mps2-an500")
    n_in, n_cls = _model_sizes(out_dir)
    xs, ys = (load_inputs(inputs, out_dir, input_scale) if inputs
              else synthetic_data(n_in, n_cls, max(steps, infer, 1), seed))
    if xs.shape[1] != n_in:
        raise TteError(f"inputs have {xs.shape[1]} bytes per sample, the model takes {n_in}")
    fw = build_firmware(out_dir, b, in_mode="semihost")
    s = Stream()
    for i in range(steps):
        s.train(xs[i % len(xs)], int(ys[i % len(ys)]))
    for i in range(infer):
        s.evaluate(xs[i % len(xs)], int(ys[i % len(ys)]))
    if not frozen:  # an inference-only image has no trained weights to checksum
        s.crc()
    res = run_firmware(fw, s.quit())
    rep = _report(out_dir)
    measured = fw.sizes.ram_static_bytes + res.stack_peak_bytes

    def per(xs: list[int]) -> int | None:
        return max(xs) if xs else None

    return {
        "board": b.name, "inference_only": frozen, "steps": steps, "inferences": infer,
        "weights_crc32": f"{res.crc32:08x}" if res.crc32 is not None else None,
        "losses": res.losses, "accuracy": (res.correct / res.scored) if res.scored else None,
        "instructions_per_train_step": per(res.train_instructions),
        "instructions_per_inference": per(res.infer_instructions),
        "train_step_instructions": res.train_instructions, "inference_instructions": res.infer_instructions,
        "stack_peak_bytes": res.stack_peak_bytes,
        "data_bytes": fw.sizes.data, "bss_bytes": fw.sizes.bss, "text_bytes": fw.sizes.text,
        "ram_bytes": measured, "flash_bytes": fw.sizes.flash_bytes,
        "compiler_peak_sram_bytes": rep.get("peak_sram_bytes"),
        "compiler_stack_estimate_bytes": rep.get("stack_bytes"),
        "elf": str(fw.elf),
    }


@click.command()
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--qemu", is_flag=True, required=True, help="Run on qemu-system-arm (the only target for now).")
@click.option("--board", default=None,
              help="A board with a QEMU machine (default: the compiled-for board if emulated, else qemu-mps2-an500).")
@click.option("--steps", default=None, type=int,
              help="Training steps  [default: 4; 0 for an inference-only model]")
@click.option("--infer", "n_infer", default=2, show_default=True, help="Inferences after training.")
@click.option("--inputs", default=None, type=click.Path(),
              help="Your data (.npz with float x in the model's layout and labels y, a .csv, or a folder of "
                   "class subfolders of images); tte quantizes it (default: synthetic data).")
@click.option("--input-scale", default=1.0, show_default=True, type=float,
              help="Multiply every input by this (255 for a model trained on 0..255 pixels).")
@click.option("--seed", default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@user_errors
def run(out_dir: str, qemu: bool, board: str | None, steps: int | None, n_infer: int, inputs: str | None,
        input_scale: float, seed: int, as_json: bool) -> None:
    """Run training steps and inferences of the model in OUT_DIR on an emulated board (QEMU: the
    Cortex-M7 qemu-mps2-an500 or the Cortex-M33 qemu-mps2-an505). An inference-only model
    (`tte compile --scheme none`) runs the inferences alone."""
    if steps is None:
        steps = 0 if is_inference_only(out_dir) else 4
    r = run_qemu_model(out_dir, steps=steps, infer=n_infer, seed=seed, inputs=inputs, board=board,
                       input_scale=input_scale)
    if as_json:
        click.echo(json.dumps(r, indent=2))
        return
    if r["inference_only"]:
        click.echo(f"{r['inferences']} inferences on QEMU ({r['board']}), inference only (compiled with "
                   "--scheme none)")
    else:
        click.echo(f"{r['steps']} training steps on QEMU ({r['board']}): weights CRC-32 {r['weights_crc32']}")
    if r["instructions_per_train_step"] is not None:
        click.echo(f"  instructions per training step {r['instructions_per_train_step']:>14,}")
    if r["instructions_per_inference"] is not None:
        click.echo(f"  instructions per inference     {r['instructions_per_inference']:>14,}")
    click.echo(f"  RAM: .data {r['data_bytes']:,} + .bss {r['bss_bytes']:,} + painted stack "
               f"{r['stack_peak_bytes']:,} = {r['ram_bytes']:,} B"
               + (f"   (compiler peak_sram_bytes {r['compiler_peak_sram_bytes']:,} B)"
                  if r["compiler_peak_sram_bytes"] is not None else ""))
    click.echo(f"  flash: {r['flash_bytes']:,} B")


def flashable_image_dir(out_dir: str, board: Board, io_mode: str | None) -> Path:
    """The folder of the image `tte build` made for a real board (embedded data or UART input)."""
    modes = [io_mode] if io_mode else ["embedded", "uart"]
    found = [m for m in modes if (Path(out_dir) / f"firmware-{board.name}-{m}" / "tte_firmware.elf").is_file()]
    if len(found) > 1:
        raise TteError(f"images with {' and '.join(found)} input for board '{board.name}': choose one with --io",
                       file=out_dir)
    if not found:
        how = f" --io {io_mode}" if io_mode else " [--inputs DATA]"
        raise TteError(f"no firmware image for board '{board.name}' to flash; build it first: "
                       f"tte build {out_dir} --board {board.name}{how}", file=out_dir)
    return Path(out_dir) / f"firmware-{board.name}-{found[0]}"


@click.command()
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--board", required=True, help="The board to flash.")
@click.option("--io", "io_mode", type=click.Choice(["embedded", "uart"]), default=None,
              help="Which image `tte build` made to flash (default: the only one there).")
@click.option("--tool", type=click.Choice(["pyocd", "openocd", "st-flash", "bossac"]), default=None,
              help="Flash tool (default: the board file's flash_tool).")
@click.option("--port", default=None, help="bossac: the board's USB serial port (e.g. /dev/ttyACM0).")
@click.option("--timeout", default=120.0, show_default=True, type=float,
              help="Seconds to wait for the tool (a tool without a probe may wait forever).")
@click.option("--dry-run", is_flag=True, help="Print the command instead of running it.")
@user_errors
def flash(out_dir: str, board: str, io_mode: str | None, tool: str | None, port: str | None, timeout: float,
          dry_run: bool) -> None:
    """Write the firmware that `tte build` made in OUT_DIR to a board (pyOCD, OpenOCD, st-flash, bossac).

    The image is flashed as built, with its embedded data set; it is never rebuilt here. An image
    older than the compiled model is refused (run `tte build` again)."""
    from tte.targets.firmware import build_firmware
    from tte.targets.flash import flash_command, run_flash_tool

    b = get_board(board)
    if timeout <= 0:
        raise TteError(f"--timeout must be positive, got {timeout:g}")
    fw_dir = flashable_image_dir(out_dir, b, io_mode)
    fw = build_firmware(out_dir, b, out_dir=fw_dir, in_mode=fw_dir.name.rsplit("-", 1)[1], existing_only=True)
    cmd = flash_command(b, fw.elf, tool=tool, port=port)
    if dry_run:
        click.echo(shlex.join(cmd))
        return
    click.echo(f"flashing {fw.elf} ({fw.sizes.flash_bytes:,} B) with {cmd[0]} ...", err=True)
    out = run_flash_tool(cmd, timeout=timeout)
    if out.strip():
        click.echo(out.rstrip())


COMMANDS = [build, run, flash]
