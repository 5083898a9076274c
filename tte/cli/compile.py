"""`tte compile MODEL --board B --scheme S [--budget-kb N] [--speed-kb N] [--input-rows] [--int8-io] [--sram-kb N]
[--calibration D] -o DIR`."""

from __future__ import annotations

import json
import sys

import click

from tte.cli.util import EXIT_USER_ERROR, load_calibration, user_errors
from tte.errors import TteError


@click.command("compile")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--board", default="stm32f746g-disco", show_default=True, help="Board name or boards/*.toml file.")
@click.option("--scheme", default="auto", show_default=True,
              help="auto, full, last-k:N, bias-only, classifier-only, paper:<model>:<budget>, a .toml/.json file, "
                   "or none: inference only (tte_infer; no training step, every weight frozen in flash; "
                   "--loss, --lr and --rounding are then ignored).")
@click.option("--budget-kb", type=float, default=None, help="SRAM budget in KB (default: the board's SRAM).")
@click.option("--speed-kb", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="SRAM in KB the arena may grow by for faster kernels (pixel buffers, activations as floats "
                   "in the backward); never past the budget. 0 keeps the smallest arena.")
@click.option("--input-rows", is_flag=True,
              help="Keep the int8 input image out of SRAM: the first block (its expand conv the only reader of "
                   "the input) reads it row by row, from the image passed to tte_infer / tte_train_step or, with "
                   "NULL, from the reader set by tte_set_input_reader (rows 0..H-1, each once, in order; no "
                   "tte_input_buffer()).")
@click.option("--int8-io", is_flag=True,
              help="Take the float input's QUANTIZE and the float output's DEQUANTIZE off (tte.int8_io): "
                   "tte_infer and the step read the int8 input (TTE_INPUT_SCALE, TTE_INPUT_ZERO_POINT) and "
                   "write the int8 output, no float conversion on the device.")
@click.option("--keep-constant-channels", is_flag=True,
              help="With --scheme none, compute the channels whose byte is the same for every input too "
                   "(by default the compiler proves them from the weights and skips them; the same bytes).")
@click.option("--sram-kb", type=click.FloatRange(min=0), default=None,
              help="Peak SRAM in KB to fit by trimming the kernels' optional speed scratch (keeping what fits); "
                   "an error, nothing written, where even the required buffers need more. Default: as chosen.")
@click.option("--data", "data_name", default=None,
              help="Labelled training data: with --scheme auto, search the scheme that gains most on it within "
                   "the budget (as `tte scheme search` does).")
@click.option("--calibration", default=None,
              help="Calibration data to quantize a float MODEL: .npz with x, .npy, .csv, a folder of class "
                   "subfolders of images, or a data set name.")
@click.option("--samples", default=500, show_default=True, help="Calibration samples.")
@click.option("--input-scale", default=1.0, show_default=True, type=float,
              help="Multiply every calibration input by this (255 for a model trained on 0..255 pixels).")
@click.option("--no-reorder", is_flag=True, help="Keep autodiff's order and unfused updates (for comparison).")
@click.option("--lr", default=0.05, show_default=True, type=float)
@click.option("--loss", type=click.Choice(["softmax_ce", "mse"]), default="softmax_ce", show_default=True)
@click.option("--rounding", type=click.Choice(["nearest", "stochastic"]), default="stochastic", show_default=True)
@click.option("--name", default=None, help="C name of the model (default: the file name).")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False),
              help="New or empty folder for <name>.c/.h, report.json and memory.png (written atomically).")
@click.option("--force", is_flag=True, help="Replace the files of an earlier `tte compile` in the folder "
              "(by its .tte-manifest.json); other files are kept.")
@click.option("--package", "package_dir", default=None, type=click.Path(file_okay=False),
              help="Also write the self-contained C library folder (as `tte package OUTPUT -o PACKAGE`).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@user_errors
def compile_command(model: str, board: str, scheme: str, budget_kb: float | None, speed_kb: float,
                    input_rows: bool, int8_io: bool, keep_constant_channels: bool, sram_kb: float | None,
                    data_name: str | None, calibration: str | None,
                    samples: int, input_scale: float, no_reorder: bool, lr: float, loss: str, rounding: str,
                    name: str | None, out_dir: str, force: bool, package_dir: str | None, as_json: bool) -> None:
    """Compile one on-device training step (and inference) of an int8 MODEL into C for a board;
    with --scheme none, inference only."""
    from pathlib import Path

    import tte
    from tte.compiler.analysis import BudgetError
    from tte.compiler.compile import c_identifier, compile_model, earlier_compile_files, output_names
    from tte.outputs import check_output_dir

    check_output_dir(out_dir, force=force, names=output_names(c_identifier(name or Path(model).stem)),
                     adopt=earlier_compile_files)
    if package_dir is not None:
        check_output_dir(package_dir, force=force)
    if package_dir is not None and scheme == "none":
        raise TteError("--package needs a training step (the package's examples train); scheme 'none' "
                       "compiles inference only")
    if data_name is not None and scheme != "auto":
        raise TteError(f"--data is for --scheme auto (the scheme search); scheme '{scheme}' is fixed")
    _prefetch_code_size(board, c_identifier(name or Path(model).stem))
    g = tte.load(model)
    calibration = calibration or data_name
    if not g.is_quantized:
        if calibration is None:
            raise TteError("model is float; tte compiles int8 models: pass --calibration DATA (a data set name "
                           "or an .npy of inputs) to quantize it, or give an int8 TFLite / QDQ ONNX model",
                           file=model)
        g = tte.quantize(g, calibration=load_calibration(calibration, samples, g, input_scale))
    if int8_io:
        g = tte.int8_io(g)
    budget = None if budget_kb is None else int(budget_kb * 1024)
    chosen, search_table = scheme, None
    if data_name is not None:
        from tte.cli.scheme import search_for_budget
        from tte.targets.boards import get_board
        from tte.training.user_data import ModelInput, load_data

        train = load_data(data_name, ModelInput.of_graph(g), input_scale=input_scale)
        chosen, search_table = search_for_budget(g, train.x, train.y, budget or get_board(board).sram_bytes,
                                                 board=board, progress=not as_json)
    try:
        report = compile_model(g, board=board, scheme=chosen, out_dir=out_dir, budget_bytes=budget,
                               reorder=not no_reorder, name=name or Path(model).stem, lr=lr, loss=loss,
                               rounding=rounding, force=force, speed_sram_bytes=int(speed_kb * 1024),
                               input_rows=input_rows, constant_channels=not keep_constant_channels,
                               sram_budget_bytes=None if sram_kb is None else int(sram_kb * 1024))
    except BudgetError as e:
        if as_json:
            click.echo(json.dumps(e.report, indent=2, default=str))
        click.echo(f"tte: error: {e}", err=True)
        click.echo(f"nothing written to {out_dir}", err=True)
        sys.exit(EXIT_USER_ERROR)
    if search_table is not None:
        report["scheme_search"] = search_table
    if package_dir is not None:
        from tte.targets.cpackage import write_package

        write_package(out_dir, package_dir, force=force)
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
        return
    kb = 1024
    click.echo(f"{report['name']}: scheme {report['scheme']} on {report['board']}: {report['verdict']}")
    if report.get("inference_only"):
        click.echo("  inference only: tte_infer, no training step (every weight frozen in flash)")
    cc = report.get("constant_channels") or {}
    if cc.get("channels"):
        click.echo(f"  {cc['channels']} channels constant for every input skipped: {cc['macs']:,} multiply-"
                   f"accumulates of {cc['macs'] + report['macs_forward']:,} (--keep-constant-channels computes them)")
    click.echo(f"  peak SRAM {report['peak_sram_bytes'] / kb:.1f} KB (arena {report['arena_bytes'] / kb:.1f}, "
               f"trainable {report['trainable_bytes'] / kb:.1f}, stack est. {report['stack_bytes'] / kb:.1f}) "
               f"of {report['budget_bytes'] / kb:.0f} KB; flash {report['flash_bytes'] / kb:.1f} KB")
    if report.get("input_rows"):
        click.echo(f"  input given row by row (not in SRAM): {report['input_bytes'] / kb:.1f} KB image read "
                   "from `in` or tte_set_input_reader's reader")
    if report.get("sram_budget_bytes") is not None:
        click.echo(f"  SRAM budget {report['sram_budget_bytes'] / kb:.1f} KB (--sram-kb): the peak fits it, the "
                   "optional speed scratch trimmed where it did not")
    if speed_kb > 0 and report["speed_sram_bytes"] == 0:
        click.echo(f"  note: --speed-kb {speed_kb:g} unused: only the smallest arena fits the budget")
    for spec, why in report.get("auto_skipped", {}).items():
        click.echo(f"  note: scheme {spec} does not apply: {why}")
    if report.get("prepared_dropped_layers"):
        click.echo(f"  note: {len(report['prepared_dropped_layers'])} layers (depthwise, fully connected) "
                   f"without their compile-time layout ({report['prepared_dropped_bytes'] / kb:.1f} KB) "
                   f"to fit the flash; "
                   f"{len(report['prepared_layers'])} keep it")
    click.echo(f"wrote {out_dir}/ ({report['name']}.c, {report['name']}.h, report.json, memory.png)")
    if package_dir is not None:
        click.echo(f"wrote {package_dir}/ (the C library; build with `make -C {package_dir}`)")


def _prefetch_code_size(board: str, cname: str) -> None:
    """Start building the kernels' code sizes (tte.targets.code_size) before the model is loaded
    and quantized; a board that does not resolve is left for compile_model to report."""
    from tte.targets.boards import get_board
    from tte.targets.code_size import prefetch_code_size

    try:
        b = get_board(board)
    except TteError:
        return
    prefetch_code_size(b, cname)


COMMANDS = [compile_command]
