"""An inference-only compile (scheme ``none``): the forward pass alone, bit-exact against
tflite-micro on the host build and on QEMU, no trainable bytes, and a training call refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from fwtools import needs_arm_gcc, needs_qemu
from mltk_models import fetch_or_skip, samples
from tflite_oracles import run_tflm

import tte
from tte.cli import main
from tte.compiler.analysis import analyze
from tte.errors import TteError
from tte.targets.sim import Simulator


@pytest.fixture(scope="module")
def paths() -> dict[str, object]:
    return dict(fetch_or_skip())


def test_report_has_no_trainable_bytes_and_every_layer_prepared(paths: dict) -> None:
    g = tte.load(paths["ad-fcae"])
    r = analyze(g, scheme="none").report
    assert r["inference_only"] and r["scheme"] == "none"
    assert r["trainable_bytes"] == r["trainable_checkpoint_bytes"] == r["optimizer_bytes"] == 0
    assert r["trainable_tensors"] == [] and r["macs_backward"] == 0
    assert r["peak_sram_bytes"] == r["inference_peak_sram_bytes"]
    assert r["arena_bytes"] == r["inference_arena_bytes"]
    # the classifier, trained by classifier-only, is frozen here: it takes its compile-time layout
    trained = analyze(g, scheme="classifier-only", loss="mse").report
    last = "model/dense_9/MatMul"
    assert last in r["prepared_layers"] and last not in trained["prepared_layers"]
    assert r["inference_peak_sram_bytes"] == trained["inference_peak_sram_bytes"]


@pytest.mark.parametrize("model", ["ad-fcae", "kws-dscnn"])
def test_host_build_is_bit_exact_vs_tflite_micro(paths: dict, model: str) -> None:
    g = tte.load(paths[model])
    sim = Simulator.from_graph(g, scheme="none")
    assert "tte_train_step" not in sim.sources["model.c"] and "tte_train_step" not in sim.sources["model.h"]
    data = paths[model].read_bytes()
    xs = samples(g, 3, seed=2)
    for x in xs:
        want = run_tflm(data, [x[None]])[0]
        got = sim.infer(x[None])
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got.reshape(want.shape), want)
    with pytest.raises(TteError, match="inference only"):
        sim.train_step(xs[0][None], 0)


def test_training_with_scheme_none_is_refused(paths: dict) -> None:
    g = tte.load(paths["ad-fcae"])
    with pytest.raises(TteError, match="inference-only"):
        tte.Trainer(g, scheme="none", engine="c", loss="mse")


def test_cli_compiles_inference_only(paths: dict, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["compile", str(paths["ad-fcae"]), "--scheme", "none", "--loss", "mse",
                                  "-o", str(out), "--json"])
    assert r.exit_code == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["inference_only"] and report["trainable_bytes"] == 0 and report["checkpoint"] is None
    assert json.loads((out / "report.json").read_text())["scheme"] == "none"
    header = (out / "ad_fcae.h").read_text()
    assert "#define TTE_INFERENCE_ONLY 1" in header and "tte_train_step" not in header


@needs_arm_gcc
@needs_qemu
def test_qemu_firmware_is_bit_exact_and_refuses_a_training_step(paths: dict, tmp_path: Path) -> None:
    from tte.compiler.compile import compile_model
    from tte.targets.firmware import build_firmware
    from tte.targets.qemu import Stream, run_firmware

    g = tte.load(paths["ad-fcae"])
    compile_model(g, board="qemu-mps2-an500", scheme="none", out_dir=tmp_path / "m")
    fw = build_firmware(tmp_path / "m", "qemu-mps2-an500", in_mode="semihost")
    xs = samples(g, 2, seed=5)
    s = Stream()
    for x in xs:
        s.infer(np.ascontiguousarray(x))
    res = run_firmware(fw, s)
    data = paths["ad-fcae"].read_bytes()
    for x, got in zip(xs, res.outputs, strict=True):
        want = run_tflm(data, [x[None]])[0]
        assert got.tobytes() == np.ascontiguousarray(want).tobytes()
    bad = Stream().train(np.ascontiguousarray(xs[0]), 0, np.zeros(xs[0].size, np.float32))
    with pytest.raises(TteError, match="inference-only-model: no training step"):
        run_firmware(fw, bad)


def test_package_of_an_inference_only_compile_is_refused(paths: dict, tmp_path: Path) -> None:
    out, pkg = tmp_path / "out", tmp_path / "pkg"
    r = CliRunner().invoke(main, ["compile", str(paths["ad-fcae"]), "--scheme", "none", "-o", str(out),
                                  "--package", str(pkg)])
    assert r.exit_code == 2 and "inference only" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists() and not pkg.exists()
