"""A scheme the search returns compiles, links and trains in QEMU within its budget: the
firmware's measured RAM (.data + .bss + painted stack) is at most the budget the search had."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner
from fwtools import needs_arm_gcc, needs_qemu
from models import example_int8

import tte
from tte.cli import main
from tte.training.contribution import Contributions
from tte.training.scheme_search import MemoryModel, SchemeSearch

pytestmark = [needs_arm_gcc, needs_qemu]
BOARD = "qemu-mps2-an500"


def test_searched_scheme_runs_in_qemu_within_its_budget(tmp_path: Path) -> None:
    q = example_int8()
    n = 11
    rng = np.random.default_rng(2)  # gains that favour partial updates of several layers
    weight_acc = {i: {r: 0.4 + float(rng.uniform(0, 0.1)) for r in ((0.125, 0.25, 0.5, 1.0) if i else (1.0,))}
                  for i in range(n)}
    contrib = Contributions(n, [0.4 + 0.005 * k for k in range(n + 1)], weight_acc)
    budget = 48 * 1024
    result = SchemeSearch(q, contrib, budget, memory=MemoryModel(q, board=BOARD)).evolutionary(40, seed=0)
    assert result.best is not None
    out = tmp_path / "m"
    report = tte.compile(q, board=BOARD, scheme=result.best.genome.scheme("searched"), budget_kb=budget / 1024,
                         out_dir=str(out))
    assert report["peak_sram_bytes"] == result.best.peak_sram_bytes <= budget
    r = CliRunner().invoke(main, ["run", str(out), "--qemu", "--steps", "2", "--infer", "1", "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)
    assert res["steps"] == 2 and res["instructions_per_train_step"] > 0
    assert res["stack_peak_bytes"] < report["stack_bytes"]
    assert res["data_bytes"] + res["bss_bytes"] + res["stack_peak_bytes"] <= budget
