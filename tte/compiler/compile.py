"""The compile pipeline: graph + board + scheme -> training graph -> schedule -> plan -> C + report.

    report = tte.compile(q, board="stm32f746g-disco", scheme="paper:mbv2-w0.35:99kb", out_dir="build/m")

``analyze`` (tte.compiler.analysis) does everything but the C; ``compile_model`` adds the C sources and writes them, the
``report.json`` and the memory plot into the output directory atomically: everything is
built in a temporary sibling directory that replaces the target only when complete, so a
failure (budget not met, unsupported op) leaves the target as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from tte.compiler.analysis import Analysis, BudgetError, analyze, auto_scheme, format_breakdown
from tte.compiler.codegen import generate
from tte.compiler.memory import plot_memory
from tte.errors import TteError
from tte.fsutil import make_public
from tte.ir import Graph
from tte.targets.boards import Board, get_board
from tte.targets.firmware import measure_code_size
from tte.training.sparse import UpdateScheme


def compile_model(graph: Graph, *, board: str | Board = "stm32f746g-disco", scheme: str | UpdateScheme = "auto",
                  out_dir: str | os.PathLike[str] | None = None, budget_bytes: int | None = None,
                  reorder: bool = True, name: str | None = None, lr: float = 0.05, loss: str = "softmax_ce",
                  rounding: str = "stochastic", qas: bool = True, seed: int = 0,
                  emit_c: bool = True) -> dict[str, Any]:
    """Compile; write ``<name>.c/.h``, ``report.json`` and ``memory.png`` into ``out_dir``.

    Raises BudgetError (a TteError) when the step does not fit, before writing anything.
    """
    b = board if isinstance(board, Board) else get_board(board)
    kw = {"reorder": reorder, "lr": lr, "loss": loss, "rounding": rounding, "qas": qas, "seed": seed}
    if isinstance(scheme, str) and scheme == "auto":
        a = auto_scheme(graph, b, budget_bytes, **kw)
    else:
        a = analyze(graph, board=b, scheme=scheme, budget_bytes=budget_bytes, **kw)
    report = a.report
    if not report["fits"]:
        raise BudgetError(format_breakdown(report), report)
    cname = c_identifier(name or graph.name or "model")
    sources: dict[str, str] = {}
    if emit_c:
        sources = generate(a, cname)
        code = measure_code_size(sources, cname, b)
        if code is not None:
            report["flash_code_bytes"] = code
            report["flash_bytes"] = report["flash_data_bytes"] + code
            if report["flash_bytes"] > b.flash_bytes:
                report["fits"] = False
                report["verdict"] = f"does not fit: needs {report['flash_bytes']:,} B flash of {b.flash_bytes:,} B"
                raise BudgetError(format_breakdown(report), report)
    report["name"] = cname
    if out_dir is not None:
        _write_atomically(Path(out_dir), a, report, sources)
    return report


def c_identifier(name: str) -> str:
    s = "".join(c if c.isalnum() else "_" for c in name)
    return s if s and not s[0].isdigit() else f"m_{s}"


def _write_atomically(out: Path, a: Analysis, report: dict[str, Any], sources: dict[str, str]) -> None:
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists() and not out.is_dir():
        raise TteError("output exists and is not a directory", file=str(out))
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    make_public(tmp, directory=True)
    try:
        for fname, text in sources.items():
            (tmp / fname).write_text(text)
        (tmp / "report.json").write_text(json.dumps(_jsonable(report), indent=2) + "\n")
        plot_memory(a.plan, tmp / "memory.png", forward_steps=a.scheduled.forward_nodes,
                    fixed_bytes=report["peak_sram_bytes"] - report["arena_bytes"],
                    budget_bytes=report["budget_bytes"])
        if out.exists():
            old = out.with_name(f".{out.name}.old.{os.getpid()}")
            os.rename(out, old)
            os.rename(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v
