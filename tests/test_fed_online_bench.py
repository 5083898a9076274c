"""bench/fed.py --online: prequential curves added to a result file, nothing else in it changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tte
from federated import make_task
from federated.client import device_for

ROOT = Path(__file__).resolve().parent.parent


def fed_online(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(ROOT / "bench" / "fed.py"), "--online", "--out", str(out), *args],
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def result_file(tmp_path: Path) -> Path:
    """A result file as bench/fed.py writes it, with sine's chosen settings and one round."""
    out = tmp_path / "fed.json"
    out.write_text(json.dumps({
        "rounds": 100, "rounds_by_task": {"sine": 1}, "tasks": ["sine"], "runs": [{"task": "sine", "value": 2.5}],
        "chosen": {"sine": {"fedavg": {}, "reptile": {"meta_lr": 2.0}, "tinyreptile": {"meta_lr": 0.3},
                            "tinymetafed": {"meta_lr": 2.0, "local_head": False}}},
        "online": {"omniglot-5w1s": {"baseline": [[1.0, 0.0]]}}}, indent=2) + "\n")
    return out


def test_online_adds_prequential_curves_and_keeps_the_rest(result_file: Path) -> None:
    before = json.loads(result_file.read_text())
    res = fed_online(result_file, "--tasks", "sine", "--seed-list", "0", "--online-samples", "6",
                     "--online-devices", "2")
    assert res.returncode == 0, res.stderr
    after = json.loads(result_file.read_text())
    assert {k: v for k, v in after.items() if k not in ("online", "online_setup")} == {
        k: v for k, v in before.items() if k != "online"}
    assert after["online"]["omniglot-5w1s"] == before["online"]["omniglot-5w1s"]
    curves = after["online"]["sine"]
    assert sorted(curves) == sorted(["baseline", "fedavg", "reptile", "tinyreptile", "tinymetafed"])
    assert all(len(c) == 1 and len(c[0]) == 6 for c in curves.values())
    setup = after["online_setup"]["sine"]
    assert (setup["metric"], setup["devices_per_seed"], setup["samples"], setup["seeds"]) == ("mse", 2, 6, [0])
    # the untrained model's first score: its squared error on each device's first streamed sample
    task = make_task("sine", 20, 0)
    q = task.spec.device_graph(task.spec.initial_params())
    first = []
    for j in range(2):
        xs, ys = device_for(task, j, split="test").data.stream(np.random.default_rng([0, j, 17]), 6)
        first.append(float(np.mean((np.asarray(tte.run(q, xs[:1]), np.float32).reshape(-1) - ys[0]) ** 2)))
    assert curves["baseline"][0][0] == pytest.approx(np.mean(first), rel=1e-5)
    assert (result_file.parent / "fed-online-sine.png").stat().st_size > 0


def test_online_without_chosen_settings_is_a_clear_error(result_file: Path) -> None:
    before = result_file.read_bytes()
    res = fed_online(result_file, "--tasks", "har", "--seed-list", "0")
    assert res.returncode == 2
    assert "has no chosen settings for har" in res.stderr
    assert result_file.read_bytes() == before
    assert not (result_file.parent / "fed-online-har.png").exists()
