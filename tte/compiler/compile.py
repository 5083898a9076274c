"""The compile pipeline: graph + board + scheme -> training graph -> schedule -> plan -> C + report.

    report = tte.compile(q, board="stm32f746g-disco", scheme="paper:mbv2-w0.35:99kb", out_dir="build/m")

``analyze`` (tte.compiler.analysis) does everything but the C; ``compile_model`` adds the C sources and writes them, the
``report.json`` and the memory plot into the output folder through tte.outputs: only tte's own
files are written (listed in the folder's manifest), a folder with other files is refused, and
everything is staged first, so a failure (budget not met, unsupported op) leaves the target as it was.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from tte.compiler.analysis import Analysis, BudgetError, analyze, auto_scheme, format_breakdown, with_flash_reserve
from tte.compiler.checkpoint import checkpoint_report
from tte.compiler.codegen import generate
from tte.compiler.memory import plot_memory
from tte.ir import Graph
from tte.layout import source_shape
from tte.outputs import check_output_dir, output_dir
from tte.targets.boards import Board, get_board
from tte.targets.code_size import measure_code_size, prefetch_code_size
from tte.training.sparse import UpdateScheme


def compile_model(graph: Graph, *, board: str | Board = "stm32f746g-disco", scheme: str | UpdateScheme = "auto",
                  out_dir: str | os.PathLike[str] | None = None, budget_bytes: int | None = None,
                  reorder: bool = True, name: str | None = None, lr: float = 0.05, loss: str = "softmax_ce",
                  rounding: str = "stochastic", qas: bool = True, seed: int = 0,
                  emit_c: bool = True, force: bool = False, speed_sram_bytes: int = 0,
                  input_rows: bool = False, sram_budget_bytes: int | None = None,
                  constant_channels: bool = True) -> dict[str, Any]:
    """Compile; write ``<name>.c/.h``, ``report.json`` and ``memory.png`` into ``out_dir``.

    ``speed_sram_bytes``: SRAM the arena may grow by for faster kernels (tte.compiler.analysis.analyze).

    ``input_rows``: the input image is not in the arena; the first block reads it row by row from
    the caller's image or reader (tte.compiler.analysis.analyze, tte.compiler.codegen).

    ``sram_budget_bytes``: the peak SRAM the optional speed scratch is trimmed to fit, where it
    exceeds it (tte.compiler.analysis.analyze); a TteError, nothing written, where even the
    required buffers exceed it.

    ``scheme="none"`` compiles inference alone (tte_infer; no training step, every weight frozen in
    flash); ``lr``, ``loss``, ``rounding``, ``qas`` and ``seed`` then shape nothing and are ignored.
    It skips the channels whose byte is the same for every input (tte.compiler.constant_channels)
    unless ``constant_channels`` is False.

    ``out_dir`` must be new, empty, or (with ``force``) an earlier tte output folder, whose
    files of tte's are replaced; other files in it are never touched. Raises BudgetError (a
    TteError) when the step does not fit, before writing anything.
    """
    cname = c_identifier(name or graph.name or "model")
    if out_dir is not None:
        check_output_dir(out_dir, force=force, names=output_names(cname), adopt=earlier_compile_files)
    b = board if isinstance(board, Board) else get_board(board)
    if emit_c:  # the kernels' code sizes build while the compiler plans
        prefetch_code_size(b, cname)
    kw = {"reorder": reorder, "lr": lr, "loss": loss, "rounding": rounding, "qas": qas, "seed": seed,
          "speed_sram_bytes": speed_sram_bytes, "input_rows": input_rows,
          "sram_budget_bytes": sram_budget_bytes, "constant_channels": constant_channels}
    if isinstance(scheme, str) and scheme == "auto":
        a = auto_scheme(graph, b, budget_bytes, **kw)
    else:
        a = analyze(graph, board=b, scheme=scheme, budget_bytes=budget_bytes, **kw)
    report = a.report
    if not report["fits"]:
        raise BudgetError(format_breakdown(report), report)
    sources: dict[str, str] = {}
    if emit_c:
        a, sources, code = layouts_within_flash(graph, a, b, cname, budget_bytes=budget_bytes, **kw)
        if a.report is not report:
            a.report.update({k: report[k] for k in ("auto_skipped",) if k in report})
            a.report["notes"] += [n for n in report["notes"] if n not in a.report["notes"]]
            report = a.report
        if code is not None:
            report["flash_code_bytes"] = code
            report["flash_bytes"] = report["flash_data_bytes"] + code
            if report["flash_bytes"] > b.flash_bytes:
                report["fits"] = False
                report["verdict"] = f"does not fit: needs {report['flash_bytes']:,} B flash of {b.flash_bytes:,} B"
                raise BudgetError(format_breakdown(report), report)
    report["name"] = cname
    report["input"] = input_description(a.forward)
    # an inference-only compile (scheme none) has no trained weights, hence no checkpoint API
    report["checkpoint"] = None if a.inference_only else checkpoint_report(a.forward, list(a.training.updates))
    if out_dir is not None:
        _write_outputs(Path(out_dir), a, report, sources, force=force)
    return report


def layouts_within_flash(graph: Graph, a: Analysis, board: Board, name: str,
                         **analyze_kw: Any) -> tuple[Analysis, dict[str, str], int | None]:
    """The C of ``a`` and its measured code size (tte.targets.code_size.measure_code_size; None
    without an ARM compiler); where the code leaves too little flash for every compile-time
    layout, ``a`` as ``graph`` analyzed again (``analyze_kw``, ``a``'s scheme) with the code
    reserved, so that fewer layouts take the flash that is left: where ``a`` was made for
    ``board``, the same plans with the layouts chosen again (with_flash_reserve), which is what
    that analysis gives."""
    sources = generate(a, name)
    code = measure_code_size(sources, name, board, data_bytes=a.report["flash_data_bytes"])
    if (code is not None and a.report["flash_data_bytes"] + code > board.flash_bytes
            and a.report["prepared_weight_bytes"]):
        a = ((with_flash_reserve(a, code) if a.board == board else None)
             or analyze(graph, board=board, scheme=a.scheme, flash_reserve_bytes=code, **analyze_kw))
        sources = generate(a, name)
        code = measure_code_size(sources, name, board, data_bytes=a.report["flash_data_bytes"])
    return a, sources, code


def input_description(graph: Graph) -> dict[str, Any]:
    """What `tte run/build --inputs` need to turn the user's float data into the board's int8
    input: the source shape and layout, and the input's quantization."""
    t = graph.tensors[graph.inputs[0]]
    q = t.quant
    out = graph.tensors[graph.outputs[0]]
    return {"name": t.name, "shape": list(t.shape), "source_shape": list(source_shape(t)),
            "source_perm": list(t.source_perm) if t.source_perm else None, "dtype": t.dtype,
            "scale": float(q.scale[0]) if q is not None else None,
            "zero_point": int(q.zero_point[0]) if q is not None else None,
            "classes": int(out.shape[-1])}


def earlier_compile_files(folder: Path) -> list[str] | None:
    """The files of a compile output that tte wrote before it kept manifests, or None when the
    folder holds anything else: only generated C (first line "/* Generated by tte"), report.json,
    memory.png and firmware-* folders (which are left alone)."""
    files = []
    for p in folder.iterdir():
        if p.is_dir() and p.name.startswith("firmware-"):
            continue
        if not p.is_file() or p.is_symlink():
            return None
        if p.suffix in (".c", ".h"):
            with open(p, "rb") as f:
                if not f.read(20).startswith(b"/* Generated by tte"):
                    return None
        elif p.name not in ("report.json", "memory.png"):
            return None
        files.append(p.name)
    return files if any(f.endswith(".h") for f in files) else None


def output_names(cname: str) -> list[str]:
    """The files a compile writes into its output folder."""
    return [f"{cname}.c", f"{cname}.h", "report.json", "memory.png"]


def c_identifier(name: str) -> str:
    s = "".join(c if c.isalnum() else "_" for c in name)
    return s if s and not s[0].isdigit() else f"m_{s}"


def _write_outputs(out: Path, a: Analysis, report: dict[str, Any], sources: dict[str, str], *,
                   force: bool) -> None:
    with output_dir(out, command="compile", force=force, adopt=earlier_compile_files) as stage:
        for fname, text in sources.items():
            (stage / fname).write_text(text)
        (stage / "report.json").write_text(json.dumps(_jsonable(report), indent=2) + "\n")
        plot_memory(a.plan, stage / "memory.png", forward_steps=a.scheduled.forward_nodes,
                    fixed_bytes=report["peak_sram_bytes"] - report["arena_bytes"],
                    budget_bytes=report["budget_bytes"])


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v
