"""`tte compile`: refusals, the over-budget breakdown (exit 2, nothing written), atomic output."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import tte
from tte.cli import main
from tte.training.data import fashion_mnist

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "fmnist_cnn.onnx"


@cache
def example_tflite(tmp: str) -> Path:
    xs, _ = fashion_mnist("train")
    q = tte.quantize(tte.load(EXAMPLE), calibration=xs[:200])
    p = Path(tmp) / "fmnist_int8.tflite"
    tte.export(q, p)
    return p


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return example_tflite(str(tmp_path_factory.mktemp("m")))


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_over_budget_exits_2_with_the_breakdown_and_writes_nothing(model: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, _, err = run("compile", str(model), "--board", "stm32f746g-disco", "--scheme", "full",
                       "--budget-kb", "8", "-o", str(out))
    assert code == 2
    assert "does not fit" in err and "8,192 B" in err
    assert "arena peak at step" in err and "trainable" in err
    assert "Traceback" not in err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir()]  # no temporary leftovers either


def test_over_budget_leaves_an_existing_directory_untouched(model: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    code, _, _ = run("compile", str(model), "--scheme", "full", "--budget-kb", "8", "-o", str(out))
    assert code == 2
    assert list(out.iterdir()) == []


def test_paper_scheme_that_cannot_fit_the_board(tmp_path: Path) -> None:
    from tte.models.paper import build_paper_onnx

    g = tte.load(build_paper_onnx("mbv2-w0.35", resolution=128, num_classes=10, seed=0).SerializeToString())
    q = tte.quantize(g, calibration=np.random.default_rng(0).uniform(-1, 1, (4, 3, 128, 128)).astype(np.float32))
    m = tmp_path / "mbv2.tflite"
    tte.export(q, m)
    out = tmp_path / "out"
    code, stdout, err = run("compile", str(m), "--board", "stm32f746g-disco", "--scheme", "full", "-o", str(out),
                            "--json")
    assert code == 2 and not out.exists()
    report = json.loads(stdout)
    assert report["fits"] is False and report["peak_sram_bytes"] > 256 * 1024
    top = report["peak_breakdown"]["tensors"][0]
    assert top["tensor"] in err and f"{top['bytes']:,} B" in err


def test_float_model_without_calibration_is_refused(tmp_path: Path) -> None:
    code, _, err = run("compile", str(EXAMPLE), "-o", str(tmp_path / "o"))
    assert code == 2
    assert "float" in err and "--calibration" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_failure_while_generating_leaves_nothing(model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tte.compiler.compile
    from tte.errors import TteError

    def boom(*a: object, **k: object) -> dict[str, str]:
        raise TteError("simulated codegen failure")

    monkeypatch.setattr(tte.compiler.compile, "generate", boom)
    out = tmp_path / "out"
    code, _, err = run("compile", str(model), "--scheme", "last-k:2", "-o", str(out))
    assert code == 2 and "simulated codegen failure" in err
    assert not out.exists() and not list(tmp_path.iterdir())


def test_report_without_c_has_the_design_fields(model: Path, tmp_path: Path) -> None:
    from tte.compiler.compile import compile_model

    q = tte.load(model)
    report = compile_model(q, board="stm32f746g-disco", scheme="last-k:2", out_dir=tmp_path / "r", emit_c=False)
    for k in ("peak_sram_bytes", "inference_peak_sram_bytes", "arena_bytes", "trainable_bytes", "flash_bytes",
              "stack_bytes", "macs_forward", "macs_backward", "scheme", "board", "fits", "verdict"):
        assert k in report, k
    # the input image lives in the arena (tte_input_buffer())
    assert report["input_in_arena"] and report["arena_bytes"] >= report["input_bytes"]
    assert report["peak_sram_bytes"] == (report["arena_bytes"] + report["trainable_bytes"] + report["optimizer_bytes"]
                                         + report["stack_bytes"])
    assert report["peak_sram_bytes_input_outside_arena"] >= report["peak_sram_bytes"]
    on_disk = json.loads((tmp_path / "r" / "report.json").read_text())
    assert on_disk["peak_sram_bytes"] == report["peak_sram_bytes"]
    assert (tmp_path / "r" / "memory.png").read_bytes()[:4] == b"\x89PNG"


def test_auto_scheme_picks_the_largest_that_fits(model: Path) -> None:
    from tte.compiler.compile import compile_model

    q = tte.load(model)
    big = compile_model(q, scheme="auto", emit_c=False)
    assert big["scheme"] == "full" and big["fits"]
    small = compile_model(q, scheme="auto", budget_bytes=big["peak_sram_bytes"] - 1, emit_c=False)
    assert small["scheme"] != "full" and small["fits"]
    assert small["peak_sram_bytes"] < big["peak_sram_bytes"]


def test_compile_writes_c_report_and_plot(model: Path, tmp_path: Path) -> None:
    out = tmp_path / "build"
    code, stdout, err = run("compile", str(model), "--scheme", "last-k:2", "--name", "fmnist", "-o", str(out))
    assert code == 0, err
    names = sorted(p.name for p in out.iterdir())
    assert names == [".tte-manifest.json", "fmnist.c", "fmnist.h", "memory.png", "report.json"]
    report = json.loads((out / "report.json").read_text())
    assert report["fits"] and report["scheme"] == "last-k:2"
    h = (out / "fmnist.h").read_text()
    assert f"#define TTE_ARENA_BYTES {report['arena_bytes']}" in h


def test_speed_kb_is_recorded_and_a_negative_one_refused(model: Path, tmp_path: Path) -> None:
    """`--speed-kb N` reaches the planner (the report's speed_sram_bytes, the arena no larger
    than the smallest one plus N KB); a negative N is a usage error that writes nothing."""
    small, fast = tmp_path / "small", tmp_path / "fast"
    code, _, err = run("compile", str(model), "--scheme", "last-k:2", "-o", str(small))
    assert code == 0, err
    code, _, err = run("compile", str(model), "--scheme", "last-k:2", "--speed-kb", "2", "-o", str(fast))
    assert code == 0, err
    r0, r1 = (json.loads((d / "report.json").read_text()) for d in (small, fast))
    assert r0["speed_sram_bytes"] == 0 and r1["speed_sram_bytes"] == 2048
    assert r0["arena_bytes"] <= r1["arena_bytes"] <= r0["arena_bytes"] + 2048
    code, _, err = run("compile", str(model), "--speed-kb", "-1", "-o", str(tmp_path / "neg"))
    assert code == 2 and "--speed-kb" in err
    assert not (tmp_path / "neg").exists()
