"""`tte demo` fails (non-zero exit, MISMATCH on stderr) when host C and firmware disagree."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import tte.cli.demo as demo
from tte.cli import main


def test_engines_that_agree_pass() -> None:
    demo.check_engines_agree({"c": 0x27AEA015, "qemu": 0x27AEA015})
    demo.check_engines_agree({"c": 0x27AEA015})


def test_engines_that_disagree_raise_with_both_crcs() -> None:
    with pytest.raises(demo.EngineMismatch, match="c 00000001, qemu 00000002"):
        demo.check_engines_agree({"c": 1, "qemu": 2})


def test_demo_command_exits_non_zero_on_mismatch(monkeypatch: pytest.MonkeyPatch) -> None:
    def disagreeing_run(*args: object) -> dict[str, float]:
        demo.check_engines_agree({"c": 1, "qemu": 2})
        return {}

    monkeypatch.setattr(demo, "run_demo", disagreeing_run)
    res = CliRunner().invoke(main, ["demo"])
    assert res.exit_code == 1
    assert "MISMATCH" in res.output and "Traceback" not in res.output
