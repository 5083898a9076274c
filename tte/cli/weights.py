"""`tte weights pull DIR --model MODEL (--from LOG|DEVICE | --qemu | --checkpoint FILE) -o OUT`.

Reads the weights a device trained (csrc/include/tte/checkpoint.h's format), checks them
against the model compiled in DIR and writes the trained model: a .tflite (any source), or an
.onnx with the trained initializers when MODEL is ONNX. Nothing is written when a check fails,
and no file that tte did not write is ever replaced.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import click

from tte.cli.frozen import refuse_inference_only
from tte.cli.util import user_errors
from tte.errors import TteError
from tte.export.checkpoint import Checkpoint


def _report(out_dir: str) -> dict[str, Any]:
    p = Path(out_dir) / "report.json"
    if not p.is_file():
        raise TteError("no report.json: not a `tte compile` output folder", file=out_dir)
    try:
        return dict(json.loads(p.read_text()))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise TteError(f"cannot read report.json: {e}", file=str(p)) from None


def _is_device(path: str) -> bool:
    try:
        return stat.S_ISCHR(os.stat(path).st_mode)
    except OSError:
        return False


def qemu_checkpoint(out_dir: str, *, steps: int, inputs: str | None, input_scale: float, seed: int,
                    board: str | None) -> tuple[Checkpoint, str]:
    """Train ``steps`` steps on QEMU, ask for the dump ('D'); the checkpoint and the report text."""
    from tte.cli.firmware import _board, _model_sizes, load_inputs, synthetic_data
    from tte.targets.firmware import build_firmware
    from tte.targets.qemu import Stream, record, run_firmware

    b = _board(out_dir, board, qemu=True)
    if not b.qemu_machine:
        raise TteError(f"board '{b.name}' has no QEMU machine; use --board qemu-mps2-an500")
    n_in, n_cls = _model_sizes(out_dir)
    xs, ys = (load_inputs(inputs, out_dir, input_scale) if inputs
              else synthetic_data(n_in, n_cls, max(steps, 1), seed))
    fw = build_firmware(out_dir, b, in_mode="semihost")
    s = Stream()
    for i in range(steps):
        s.train(xs[i % len(xs)], int(ys[i % len(ys)]))
    s.chunks.append(record("D"))
    res = run_firmware(fw, s.quit(), count=False)
    text = "\n".join(res.report) + "\n"
    return Checkpoint.from_printed(text, f"{fw.elf} (QEMU)"), text


@click.group()
def weights() -> None:
    """Weights trained on a device, back on the host."""


@weights.command()
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--model", "model_path", required=True, type=click.Path(dir_okay=False),
              help="The int8 model that was compiled into OUT_DIR (.tflite or QDQ .onnx).")
@click.option("--from", "source", default=None,
              help="A device's UART output: a log file, or a serial device (e.g. /dev/ttyACM0).")
@click.option("--checkpoint", "ckpt_path", default=None, type=click.Path(dir_okay=False),
              help="A checkpoint file (tte_checkpoint_write's bytes).")
@click.option("--qemu", is_flag=True, help="Train on QEMU (--steps on --inputs) and pull the result.")
@click.option("--steps", default=8, show_default=True, help="--qemu: training steps.")
@click.option("--inputs", default=None, type=click.Path(), help="--qemu: your data (default: synthetic).")
@click.option("--input-scale", default=1.0, show_default=True, type=float,
              help="--qemu: multiply every input by this.")
@click.option("--seed", default=0, show_default=True, help="--qemu: seed of the synthetic data.")
@click.option("--board", default=None, help="--qemu: a board with a QEMU machine.")
@click.option("--baud", default=115200, show_default=True, help="Serial device: baud rate.")
@click.option("--timeout", default=30.0, show_default=True, help="Serial device: seconds to wait for the dump.")
@click.option("--no-request", is_flag=True,
              help="Serial device: do not send the 'D' command (your firmware prints on its own).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The trained model: .tflite, or .onnx when MODEL is ONNX.")
@click.option("--save-checkpoint", default=None, type=click.Path(dir_okay=False),
              help="Also write the checkpoint's bytes to this file.")
@click.option("--force", is_flag=True, help="Replace outputs that tte wrote earlier.")
@user_errors
def pull(out_dir: str, model_path: str, source: str | None, ckpt_path: str | None, qemu: bool, steps: int,
         inputs: str | None, input_scale: float, seed: int, board: str | None, baud: int, timeout: float,
         no_request: bool, output: str, save_checkpoint: str | None, force: bool) -> None:
    """The trained model from a device's weights checkpoint (OUT_DIR: its `tte compile` folder)."""
    import tte
    from tte.export.checkpoint import apply_checkpoint, check_model, compile_layout
    from tte.outputs import check_output_file, is_tte_tflite

    refuse_inference_only(out_dir, "no trained weights to pull (every weight is frozen in flash)")
    if sum(x is not None and x is not False for x in (source, ckpt_path, qemu or None)) != 1:
        raise TteError("give exactly one of --from LOG|DEVICE, --checkpoint FILE, --qemu")
    out = Path(output)
    if out.suffix not in (".tflite", ".onnx"):
        raise TteError("the output is a .tflite or an .onnx file", file=output)
    if out.suffix == ".onnx" and Path(model_path).suffix != ".onnx":
        raise TteError("an .onnx output needs an ONNX MODEL (its initializers are replaced); write a .tflite",
                       file=output)
    # every refusal comes before the device, QEMU or the model is touched
    from tte.export.onnx_weights import is_tte_onnx
    check_output_file(out, force=force, ours=is_tte_onnx if out.suffix == ".onnx" else is_tte_tflite)
    if save_checkpoint:
        check_output_file(save_checkpoint, force=force, ours=_is_tte_checkpoint)
    layout = compile_layout(_report(out_dir), str(Path(out_dir) / "report.json"))
    graph = tte.load(model_path)
    check_model(graph, layout, model_path, out_dir)

    if ckpt_path is not None:
        try:
            data = Path(ckpt_path).read_bytes()
        except OSError as e:
            raise TteError(f"cannot read the checkpoint: {e.strerror}", file=ckpt_path) from None
        ck, where = Checkpoint.from_bytes(data, ckpt_path), ckpt_path
    elif qemu:
        ck, _ = qemu_checkpoint(out_dir, steps=steps, inputs=inputs, input_scale=input_scale, seed=seed,
                                board=board)
        where = "QEMU run"
    else:
        assert source is not None
        if _is_device(source):
            from tte.targets.serial_dump import read_dump
            text = read_dump(source, baud=baud, timeout=timeout, request=not no_request)
        else:
            try:
                text = Path(source).read_text(errors="replace")
            except OSError as e:
                raise TteError(f"cannot read the log: {e.strerror}", file=source) from None
        ck, where = Checkpoint.from_printed(text, source), source
    trained = apply_checkpoint(graph, layout, ck, where=where, compiled=out_dir)

    from tte.outputs import write_file_atomically
    if out.suffix == ".onnx":
        from tte.export.onnx_weights import trained_onnx
        data = trained_onnx(model_path, graph, trained, [t["name"] for t in layout["tensors"]])
    else:
        from tte.export.tflite import export_tflite
        data = export_tflite(trained)
    write_file_atomically(out, data)
    if save_checkpoint:
        write_file_atomically(save_checkpoint, ck.to_bytes())
    click.echo(f"wrote {output}: {len(layout['tensors'])} trained tensors ({len(ck.payload):,} B) after "
               f"{ck.steps} steps on the device, model id {ck.model_id.hex()}")


def _is_tte_checkpoint(path: Path) -> bool:
    try:
        Checkpoint.from_bytes(path.read_bytes())
    except (OSError, TteError):
        return False
    return True


COMMANDS = [weights]
