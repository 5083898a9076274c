"""bench/machine.py: what every bench/results/*.json records about the run that produced it."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import numpy as np

_spec = importlib.util.spec_from_file_location("bench_machine", Path(__file__).resolve().parent.parent / "bench" /
                                               "machine.py")
assert _spec is not None and _spec.loader is not None
machine = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(machine)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                          capture_output=True, text=True).stdout


def test_git_state_reports_commit_and_uncommitted_changes(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    (tmp_path / "a.txt").write_text("1\n")
    _git(tmp_path, "add", "a.txt")
    _git(tmp_path, "commit", "-qm", "a")
    head = _git(tmp_path, "rev-parse", "HEAD").strip()
    assert machine.git_state(tmp_path) == {"commit": head, "dirty": False, "dirty_files": []}
    (tmp_path / "a.txt").write_text("2\n")
    assert machine.git_state(tmp_path) == {"commit": head, "dirty": True, "dirty_files": ["a.txt"]}


def test_machine_info_records_versions() -> None:
    info = machine.machine_info()
    assert info["python_packages"]["numpy"] == np.__version__
    assert set(info["tools"]) == {"gcc", "arm-none-eabi-gcc", "qemu-system-arm"}
    assert info["tools"]["gcc"].startswith("gcc")
    assert info["blas"] and all(b["version"] for b in info["blas"])
