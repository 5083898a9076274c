"""Constant channels (tte.compiler.constant_channels): an inference-only compile skips the channels
whose byte is the same for every input. The oracles: the reference on the graph as given, on inputs
at the ends of the range (where a channel that is almost constant shows), and tflite-micro on the
very file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from mltk_models import fetch_or_skip, samples
from tflite_oracles import run_tflm

import tte
from tte.cli import main
from tte.compiler.analysis import analyze
from tte.compiler.constant_channels import channel_ranges, drop_constant_channels
from tte.ir import Graph, QuantParams, Tensor
from tte.reference import execute
from tte.reference.boundary import dequantize_array, quantize_array
from tte.targets.sim import Simulator


@pytest.fixture(scope="module")
def paths() -> dict[str, object]:
    return dict(fetch_or_skip())


def _q(scale: float | np.ndarray, zp: int = 0, axis: int | None = None) -> QuantParams:
    s = np.atleast_1d(np.asarray(scale, np.float32))
    return QuantParams(s, np.full(s.size, zp), axis)


def _conv(g: Graph, x: str, y: str, w: np.ndarray, bias: np.ndarray, out: QuantParams, *, groups: int = 1,
          pads: tuple[int, int, int, int] = (0, 0, 0, 0), act: str = "relu") -> None:
    s_in = float(g.tensors[x].quant.scale[0])  # type: ignore[union-attr]
    ws = np.full(w.shape[0], 0.01, np.float32)
    g.add_const(f"{y}.w", w.astype(np.int8), "int8", _q(ws, 0, 0))
    g.add_const(f"{y}.b", bias.astype(np.int32), "int32", _q(ws * np.float32(s_in), 0, 0))
    g.add_node("conv2d", [x, f"{y}.w", f"{y}.b"], y, {"strides": (1, 1), "dilations": (1, 1), "pads": pads,
                                                      "groups": groups, "activation": act}, quant=out)


def _chain_graph() -> Graph:
    """x -> 1x1 P (ReLU) -> 3x3 depthwise D (padded, ReLU) -> 1x1 Q. P's channel 0 is the ReLU's floor
    for every input; its channel 1 for every input but one, all eight input channels at 127, and D
    carries that on."""
    rng = np.random.default_rng(5)
    g = Graph("chain")
    g.add_tensor(Tensor("x", (1, 4, 4, 8), "int8", quant=_q(0.1, -128)))
    g.inputs = ["x"]
    wp = rng.integers(-20, 21, (8, 1, 1, 8))
    wp[:2] = 1
    bp = rng.integers(-500, 500, 8)
    bp[0] = -8 * 255 - 1000     # at most -1000 before requantization: the floor
    bp[1] = 25 - 8 * 255        # 25 (0.5 after the multiplier 0.02, rounded up) at x = 127 only
    _conv(g, "x", "p", wp, bp, _q(0.05, -128))
    wd, bd = rng.integers(-30, 31, (8, 3, 3, 1)), rng.integers(-300, 300, 8)
    wd[1], bd[1] = 30, 0        # P's channel 1 shows through D where it is not the floor
    _conv(g, "p", "d", wd, bd, _q(0.04, -128), groups=8, pads=(1, 1, 1, 1))
    _conv(g, "d", "q", rng.integers(-40, 41, (8, 1, 1, 8)), rng.integers(-900, 900, 8), _q(0.06, 3), act="none")
    g.outputs = ["q"]
    g.validate()
    return g


def _ends(shape: tuple[int, ...], rng: np.random.Generator) -> list[np.ndarray]:
    return [np.full(shape, 127, np.int8), np.full(shape, -128, np.int8),
            *(rng.integers(-128, 128, shape).astype(np.int8) for _ in range(6))]


def test_only_the_channel_constant_for_every_input_goes() -> None:
    g = _chain_graph()
    lo, hi = channel_ranges(g)["p"]
    assert lo[0] == hi[0] == -128 and lo[1] == -128 and hi[1] == -127
    lo, hi = channel_ranges(g)["d"]
    assert lo[0] == hi[0] and lo[1] < hi[1]
    x = np.full((1, 4, 4, 8), 127, np.int8)
    assert execute(g, {"x": x}, keep_all=True)["p"][..., 1].max() == -127   # the bound is reached
    pruned, dropped = drop_constant_channels(g, multiple=1)
    assert dropped.report() == {"chains": 1, "channels": 1, "macs": 16 * (8 + 9 + 8)}
    assert pruned.tensors["p"].shape[-1] == pruned.tensors["d"].shape[-1] == 7
    assert pruned.tensors["q"].shape == g.tensors["q"].shape
    for x in _ends((1, 4, 4, 8), np.random.default_rng(0)):
        np.testing.assert_array_equal(execute(pruned, {"x": x})["q"], execute(g, {"x": x})["q"])
    # eight channels kept (the kernels' multiple): nothing to drop
    assert drop_constant_channels(g)[1].report()["channels"] == 0


def _random_chain(seed: int) -> Graph:
    """x -> 3x3 conv (stride 1 or 2) -> 3x3 depthwise (padded or not, stride 1 or 2) -> 1x1 -> depthwise
    -> 1x1, ReLU, ReLU6 or none, biases drawn low enough that some channels sit on their floor."""
    rng = np.random.default_rng(100 + seed)
    c0, c1, c2 = 3, int(rng.choice([8, 12, 16])), int(rng.choice([8, 16]))
    g = Graph(f"chain{seed}")
    g.add_tensor(Tensor("x", (1, 9, 9, c0), "int8", quant=_q(0.05, int(rng.integers(-128, 10)))))
    g.inputs = ["x"]

    def act() -> str:
        return str(rng.choice(["relu", "relu6", "none"], p=[0.6, 0.2, 0.2]))

    def out_q(a: str) -> QuantParams:
        return _q(float(rng.uniform(0.02, 0.2)), -128 if a != "none" else int(rng.integers(-20, 20)))

    def bias(n: int, k: int) -> np.ndarray:
        return rng.integers(-600 * k, 40 * k, n)

    a = act()
    _conv(g, "x", "s", rng.integers(-60, 61, (c1, 3, 3, c0)), bias(c1, 27), out_q(a), pads=(1, 1, 1, 1), act=a)
    g.nodes[-1].attrs["strides"] = (int(rng.integers(1, 3)),) * 2
    g.tensors["s"].shape = tuple(g.infer_shapes(g.nodes[-1])[0])
    last, c = "s", c1
    for i, cout in enumerate((c2, c1)):
        a = act()
        pads = (1, 1, 1, 1) if rng.random() < 0.7 else (0, 0, 0, 0)
        _conv(g, last, f"d{i}", rng.integers(-60, 61, (c, 3, 3, 1)), bias(c, 9), out_q(a), groups=c, pads=pads, act=a)
        a = act()
        _conv(g, f"d{i}", f"p{i}", rng.integers(-60, 61, (cout, 1, 1, c)), bias(cout, c), out_q(a), act=a)
        last, c = f"p{i}", cout
    g.outputs = [last]
    g.validate()
    return g


@pytest.mark.parametrize("seed", range(24))
def test_random_chains_keep_every_byte(seed: int) -> None:
    g = _random_chain(seed)
    rng = np.random.default_rng(seed)
    xs = _ends((1, 9, 9, 3), rng)
    for multiple in (1, 8):
        pruned, _ = drop_constant_channels(g, multiple=multiple)
        for x in xs:
            np.testing.assert_array_equal(execute(pruned, {"x": x})[g.outputs[0]], execute(g, {"x": x})[g.outputs[0]])


def test_random_chains_drop_some_channels() -> None:
    """The draws above do reach the pass: most of the chains lose channels (else they test nothing)."""
    assert sum(drop_constant_channels(_random_chain(s), multiple=1)[1].report()["channels"] > 0
               for s in range(24)) >= 12


def test_vww_drops_two_fifths_of_its_macs_and_gives_the_same_bytes(paths: dict) -> None:
    g = tte.int8_io(tte.load(paths["vww-mbv1"]))
    pruned, dropped = drop_constant_channels(g)
    r = dropped.report()
    assert r["channels"] > 500 and r["macs"] > 0.35 * 7_489_664
    for n in pruned.nodes:
        if n.op == "conv2d":
            assert pruned.tensors[n.outputs[0]].shape[-1] % 8 == 0, n.name
    xs = [*_ends((1, 96, 96, 3), np.random.default_rng(1))[:4], *samples(g, 2, seed=4)[:, None]]
    for x in xs:
        np.testing.assert_array_equal(execute(pruned, {g.inputs[0]: x})[g.outputs[0]],
                                      execute(g, {g.inputs[0]: x})[g.outputs[0]])


def test_host_c_of_vww_is_bit_exact_vs_tflite_micro(paths: dict) -> None:
    g = tte.int8_io(tte.load(paths["vww-mbv1"]))
    sim = Simulator.from_graph(g, scheme="none")
    assert sim.analysis.report["constant_channels"]["channels"] > 500
    data = paths["vww-mbv1"].read_bytes()
    x_t, y_t = g.tensors[g.inputs[0]], g.tensors[g.outputs[0]]
    for x in (np.full((96, 96, 3), 127, np.int8), *samples(g, 2, seed=9)):
        want = quantize_array(run_tflm(data, [dequantize_array(x[None], x_t.quant)])[0], y_t.quant)
        np.testing.assert_array_equal(sim.infer(x[None]).reshape(want.shape), want)


def test_training_images_and_the_opt_out_keep_every_channel(paths: dict) -> None:
    g = tte.int8_io(tte.load(paths["vww-mbv1"]))
    kept = analyze(g, scheme="none", constant_channels=False).report
    assert kept["constant_channels"] is None and kept["macs_forward"] == 7_489_664
    assert analyze(g, scheme="classifier-only").report["constant_channels"] is None


def test_inspect_notes_them(paths: dict) -> None:
    from tte.inspect import format_summary, summarize

    assert "conv channels give one byte for every input" in format_summary(summarize(tte.load(paths["vww-mbv1"])))
    assert "conv channels give one byte" not in format_summary(summarize(tte.load(paths["kws-dscnn"])))


def test_cli_says_what_it_skipped(paths: dict, tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["compile", str(paths["vww-mbv1"]), "--scheme", "none", "--int8-io",
                                  "-o", str(tmp_path / "out")])
    assert r.exit_code == 0, r.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    cc = report["constant_channels"]
    assert f"{cc['channels']} channels constant for every input skipped: {cc['macs']:,}" in r.stdout
    assert cc["macs"] + report["macs_forward"] == 7_489_664
