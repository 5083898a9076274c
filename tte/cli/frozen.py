"""Compile folders made with `tte compile --scheme none` (report.json's ``inference_only``): the
commands that need a training step or trained weights refuse them before building or writing
anything; the ones that infer run inferences only."""

from __future__ import annotations

import json
from pathlib import Path

from tte.errors import TteError


def is_inference_only(out_dir: str | Path) -> bool:
    """True when OUT_DIR's report.json (or OUT_DIR, a report file) says the model was compiled
    for inference only (a missing or unreadable report is left to the command's own checks)."""
    p = Path(out_dir)
    try:
        report = json.loads((p if p.is_file() else p / "report.json").read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(report, dict) and bool(report.get("inference_only"))


def refuse_inference_only(out_dir: str | Path, why: str) -> None:
    """Raise the one-line refusal when OUT_DIR (or a report file) holds an inference-only
    compile; ``why`` says what the command needed."""
    if is_inference_only(out_dir):
        raise TteError(f"compiled with --scheme none (inference only): {why}", file=str(out_dir))
