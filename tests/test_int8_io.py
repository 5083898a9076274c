"""int8 I/O (tte.int8_io, `tte compile --int8-io`): the float QUANTIZE / DEQUANTIZE the converter
puts at a model's ends taken off. The oracle is tflite-micro on the very file, float boundary
included: its input the int8 input dequantized (which its QUANTIZE gives back exactly), its output
quantized back with the int8 output's parameters (which its DEQUANTIZE came from)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from fwtools import needs_arm_gcc, needs_qemu, qemu_inference_outputs
from mltk_models import LR, fetch_or_skip, samples
from tflite_oracles import run_tflm

import tte
from tte.cli import main
from tte.compiler.analysis import analyze
from tte.compiler.codegen import generate
from tte.errors import TteError
from tte.ir import Graph, QuantParams
from tte.reference import execute
from tte.reference.boundary import dequantize_array, quantize_array
from tte.targets.sim import Simulator

FLOAT_IO = ("kws-dscnn", "ad-fcae", "magic-wand")


@pytest.fixture(scope="module")
def paths() -> dict[str, object]:
    return dict(fetch_or_skip())


def _tflm_int8(data: bytes, g8: Graph, x: np.ndarray) -> np.ndarray:
    x_t, y_t = g8.tensors[g8.inputs[0]], g8.tensors[g8.outputs[0]]
    assert x_t.quant is not None and y_t.quant is not None
    y = run_tflm(data, [dequantize_array(x[None], x_t.quant)])[0]
    assert y.dtype == np.float32
    return quantize_array(y, y_t.quant)


@pytest.mark.parametrize("model", FLOAT_IO)
def test_same_ops_less_the_boundary_and_bit_exact_vs_tflite_micro(paths: dict, model: str) -> None:
    g = tte.load(paths[model])
    g8 = tte.int8_io(g)
    assert [n.op for n in g.nodes] == ["quantize", *[n.op for n in g8.nodes], "dequantize"]
    assert (g8.tensors[g8.inputs[0]].dtype, g8.tensors[g8.outputs[0]].dtype) == ("int8", "int8")
    assert g8.inputs == g.consumers(g.inputs[0])[0].outputs and g8.outputs == g.producer(g.outputs[0]).inputs
    assert g.tensors[g.inputs[0]].dtype == "float32"   # the graph given is not changed
    data = paths[model].read_bytes()
    sim = Simulator.from_graph(g8, scheme="none")
    xs = samples(g8, 4, seed=11)
    assert xs.dtype == np.int8
    for x in xs:
        want = _tflm_int8(data, g8, x)
        np.testing.assert_array_equal(execute(g8, {g8.inputs[0]: x[None]})[g8.outputs[0]].reshape(want.shape), want)
        got = sim.infer(x[None])
        assert got.dtype == np.int8
        np.testing.assert_array_equal(got.reshape(want.shape), want)


def test_int8_model_is_unchanged_and_inspect_says_which_have_the_boundary(paths: dict) -> None:
    from tte.inspect import format_summary, summarize

    g = tte.load(paths["micro-speech"])
    g8 = tte.int8_io(g)
    assert g8.dump() == g.dump()
    note = "float I/O around an int8 body: `tte compile --int8-io`"
    assert note not in format_summary(summarize(g))
    assert note in format_summary(summarize(tte.load(paths["kws-dscnn"])))


def test_header_and_arena_of_the_int8_image(paths: dict) -> None:
    """No float bytes: VWW's input takes a quarter of the float input's arena bytes, and the header
    gives both ends' scale and zero point (those of the boundary ops taken off)."""
    g = tte.load(paths["vww-mbv1"])
    g8 = tte.int8_io(g)
    rf, r8 = analyze(g, scheme="none").report, analyze(g8, scheme="none").report
    assert (r8["input_dtype"], r8["output_dtype"]) == ("int8", "int8")
    assert r8["input_bytes"] * 4 == rf["input_bytes"] == 96 * 96 * 3 * 4
    assert r8["inference_peak_sram_bytes"] < rf["inference_peak_sram_bytes"] - 3 * 96 * 96 * 3 // 2
    src = tte.load(paths["kws-dscnn"])
    h = generate(analyze(tte.int8_io(src), scheme="none"), "kws")["kws.h"]
    x_q = src.tensors[src.consumers(src.inputs[0])[0].outputs[0]].quant
    y_q = src.tensors[src.producer(src.outputs[0]).inputs[0]].quant
    assert x_q is not None and y_q is not None
    for line in ("typedef int8_t tte_input_t;", "typedef int8_t tte_output_t;", "#define TTE_INPUT_FLOAT 0",
                 "#define TTE_OUTPUT_FLOAT 0", f"#define TTE_INPUT_BYTES {50 * 10}",
                 f"#define TTE_INPUT_SCALE {float(x_q.scale[0]).hex()}f",
                 f"#define TTE_INPUT_ZERO_POINT {int(x_q.zero_point[0])}",
                 f"#define TTE_OUTPUT_SCALE {float(y_q.scale[0]).hex()}f",
                 f"#define TTE_OUTPUT_ZERO_POINT {int(y_q.zero_point[0])}"):
        assert line in h, line


def test_training_on_int8_input_is_the_float_models_training(paths: dict) -> None:
    """The step on the int8 input gives the loss and trained bytes the float-I/O model's step gives
    on the float input its QUANTIZE turns into that int8 input."""
    g = tte.load(paths["kws-dscnn"])
    g8 = tte.int8_io(g)
    x8 = samples(g8, 1, seed=3)
    x_q = g8.tensors[g8.inputs[0]].quant
    assert x_q is not None
    xf = dequantize_array(x8, x_q)
    lr = LR[("kws-dscnn", "classifier-only")]
    runs = []
    for graph, x in ((g, xf), (g8, x8)):
        tr = tte.Trainer(graph, scheme="classifier-only", engine="c", lr=lr)
        runs.append(([tr.step(x, np.array([3])) for _ in range(3)], tr.weights_crc32()))
    assert runs[0] == runs[1]
    assert runs[1][0][2] < runs[1][0][0]


def _float_graph() -> Graph:
    g = Graph("f")
    g.add_tensor(tte.ir.Tensor("x", (1, 4), "float32"))
    g.inputs = ["x"]
    g.add_const("w", np.ones((2, 4), np.float32))
    g.add_node("fully_connected", ["x", "w"], "y")
    g.outputs = ["y"]
    return g


def test_a_float_model_is_refused_naming_its_input() -> None:
    with pytest.raises(TteError, match=r"input 'x' \(float32\) is read by .*fully_connected.*QUANTIZE to int8"):
        tte.int8_io(_float_graph())


def test_an_output_read_by_another_op_is_refused() -> None:
    q = QuantParams(np.array([0.5]), np.array([3]))
    g = Graph("g")
    g.add_tensor(tte.ir.Tensor("x", (1, 4), "float32"))
    g.inputs = ["x"]
    g.add_node("quantize", ["x"], "xq", dtype="int8", quant=q)
    g.add_node("dequantize", ["xq"], "y", dtype="float32")
    g.add_node("relu", ["y"], "z")
    g.outputs = ["y", "z"]
    g.validate()
    with pytest.raises(TteError, match=r"output 'y' \(float32\) is made by .*dequantize.*no op reads"):
        tte.int8_io(g)


def test_cli_int8_io(paths: dict, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["compile", str(paths["ad-fcae"]), "--scheme", "none", "--int8-io",
                                  "-o", str(out), "--json"])
    assert r.exit_code == 0, r.stderr
    report = json.loads(r.stdout)
    assert (report["input_dtype"], report["output_dtype"]) == ("int8", "int8")
    assert report["input_bytes"] == 5 * 128
    assert "#define TTE_INPUT_FLOAT 0" in (out / "ad_fcae.h").read_text()


@needs_arm_gcc
@needs_qemu
def test_qemu_int8_image_is_bit_exact(paths: dict, tmp_path: Path) -> None:
    g8 = tte.int8_io(tte.load(paths["kws-dscnn"]))
    xs = samples(g8, 2, seed=5)
    data = paths["kws-dscnn"].read_bytes()
    for x, got in zip(xs, qemu_inference_outputs(g8, xs, tmp_path / "m"), strict=True):
        assert got.tobytes() == _tflm_int8(data, g8, x).tobytes()
