"""Real converter output: six public TinyML models (tests/mltk_models.py), imported
unmodified, bit-exact against tflite-micro, compiled and trained.

The converter's defaults are all here: a dynamic batch (``shape_signature[0] == -1``) on
every model, float I/O around an int8 body (QUANTIZE first, DEQUANTIZE last) on four, and
Keras' SHAPE -> STRIDED_SLICE -> PACK reshape arithmetic in the autoencoder. The oracle is
the tflite-micro interpreter on the very bytes shipped. Training runs on the host C engine
(the generated C, as the board runs it) and, for one model, on QEMU; the full grid of
models, schemes and engines with instruction counts is bench/models.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import tflite
from fwtools import needs_arm_gcc, needs_qemu
from mltk_models import LR, MODELS, SCHEMES, fetch_or_skip, samples, target_for
from tflite_oracles import run_tflm

import tte
from tte.compiler.analysis import analyze
from tte.compiler.codegen import generate
from tte.reference import execute
from tte.targets.sim import Simulator

SMALL = ("micro-speech", "magic-wand", "ad-fcae", "kws-dscnn")
FLOAT_IO = {"kws-dscnn", "vww-mbv1", "ad-fcae", "magic-wand"}


@pytest.fixture(scope="module")
def paths() -> dict[str, object]:
    return dict(fetch_or_skip())


def _ops(data: bytes) -> list[str]:
    names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if isinstance(v, int)}
    m = tflite.Model.GetRootAs(data, 0)
    sg = m.Subgraphs(0)
    ops = []
    for i in range(sg.OperatorsLength()):
        code = m.OperatorCodes(sg.Operators(i).OpcodeIndex())
        ops.append(names[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())])
    return ops


@pytest.mark.parametrize("model", sorted(MODELS))
def test_imports_unmodified_and_runs_bit_exact_vs_tflite_micro(paths: dict, model: str) -> None:
    data = paths[model].read_bytes()
    ops = _ops(data)
    assert (ops[0] == "QUANTIZE" and ops[-1] == "DEQUANTIZE") == (model in FLOAT_IO)
    g = tte.load(paths[model])
    notes = g.meta["notes"]
    assert any(n.startswith("dynamic batch") and g.inputs[0] in n for n in notes)
    assert g.tensors[g.inputs[0]].shape[0] == 1
    assert g.tensors[g.inputs[0]].dtype == ("float32" if model in FLOAT_IO else "int8")
    if model == "ad-fcae":   # Keras' SHAPE -> STRIDED_SLICE -> PACK reshape arithmetic is folded away
        assert {"SHAPE", "STRIDED_SLICE", "PACK"} <= set(ops)
        assert {n.op for n in g.nodes} == {"quantize", "reshape", "fully_connected", "dequantize"}
    xs = samples(g, 6, seed=1)
    for x in xs:
        ours = execute(g, {g.inputs[0]: x[None]})
        theirs = run_tflm(data, [x[None]])
        assert len(theirs) == len(g.outputs)
        for name, want in zip(g.outputs, theirs):
            assert ours[name].dtype == want.dtype
            np.testing.assert_array_equal(ours[name].reshape(want.shape), want)


def test_inspect_notes_the_fixed_batch(paths: dict) -> None:
    from tte.inspect import format_summary, summarize

    text = format_summary(summarize(tte.load(paths["kws-dscnn"])))
    assert "note    dynamic batch (shape_signature -1 on input 'input_1', output 'Identity') fixed to 1" in text


@pytest.mark.parametrize("model", SMALL)
def test_compiled_inference_is_bit_exact_vs_tflite_micro(paths: dict, model: str) -> None:
    """The generated C, boundary QUANTIZE/DEQUANTIZE included, on the host."""
    g = tte.load(paths[model])
    sim = Simulator.from_graph(g, scheme="classifier-only", loss=MODELS[model].loss)
    data = paths[model].read_bytes()
    for x in samples(g, 3, seed=2):
        want = run_tflm(data, [x[None]])[0]
        got = sim.infer(x[None])
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got.reshape(want.shape), want)


@pytest.mark.parametrize("model,scheme", [(m, s) for m in SMALL for s in SCHEMES])
def test_host_c_training_lowers_the_loss_on_a_fixed_sample(paths: dict, model: str, scheme: str) -> None:
    g = tte.load(paths[model])
    x = samples(g, 1, seed=3)
    y = target_for(g, model, x)
    loss, lr = MODELS[model].loss, LR[(model, scheme)]
    tr = tte.Trainer(g, scheme=scheme, engine="c", loss=loss, lr=lr)
    losses = [tr.step(x, y) for _ in range(3)]
    assert losses[2] < losses[1] < losses[0], losses
    # the reference engine agrees on the first loss (same int8 forward pass)
    ref = tte.Trainer(g, scheme=scheme, engine="ref", loss=loss, lr=lr)
    assert ref.step(x, y) == pytest.approx(losses[0], rel=1e-4)


def test_float_boundary_costs_no_second_input_copy(paths: dict) -> None:
    """The float input is quantized in place: the arena holds it once (4 bytes a value)."""
    from tte.compiler.memory import check_plan

    g = tte.load(paths["vww-mbv1"])
    a = analyze(g, scheme="classifier-only")
    r = a.report
    assert r["input_bytes"] == 96 * 96 * 3 * 4 and (r["input_dtype"], r["output_dtype"]) == ("float32", "float32")
    assert r["inference_arena_bytes"] == r["input_bytes"]
    x, q = g.inputs[0], g.consumers(g.inputs[0])[0].outputs[0]
    for plan in (a.plan, a.inference_plan):
        check_plan(plan)
        assert plan.offsets[q] == plan.offsets[x]


def test_vww_blocks_get_their_depthwise_image_without_growing_the_arena(paths: dict) -> None:
    """VWW's streamed blocks without E and the add whose 1x1 reads its layout (all twelve after the
    first, whose E is the stem) get D's outputs of a whole image in their scratch (DW_ALL_META:
    their 1x1 reads each flash weight once an image): the inference arena is the float input's,
    as without any; the whole-image scratch (and, where P's layout takes more than one pass of
    channels, every pixel widened once) is what makes the blocks' scratch larger."""
    from tte.compiler.analysis import _overlap_fn, _scratch_fn
    from tte.compiler.emit.block import DW_ALL_META, dw_all_bytes, pw_all_wide_bytes
    from tte.compiler.memory import check_plan, plan_memory

    g = tte.load(paths["vww-mbv1"])
    a = analyze(g, scheme="none", constant_channels=False)   # every channel: the layers as the file has them
    inf = a.inference
    given = inf.graph.meta[DW_ALL_META]
    cands = {n.name for n in inf.graph.nodes if dw_all_bytes(n, inf.graph)}
    assert len(cands) == 12 and given == cands
    check_plan(a.inference_plan)
    assert a.inference_plan.arena_bytes == a.report["input_bytes"] == 96 * 96 * 3 * 4
    blocks = [n for n in inf.graph.nodes if n.name in given]
    with_all = [_scratch_fn(inf)(n) for n in blocks]
    inf.graph.meta[DW_ALL_META] = frozenset()
    without = [_scratch_fn(inf)(n) for n in blocks]
    x = g.inputs[0]
    assert plan_memory(inf, scratch=_scratch_fn(inf), arena_inputs=[x],
                       overlap=_overlap_fn(inf.graph)).arena_bytes == a.inference_plan.arena_bytes
    wide = [pw_all_wide_bytes(n, inf.graph) for n in blocks]
    assert sum(1 for b in wide if b) == 9   # the 1x1s whose layout takes more than one pass of channels
    assert [w - o for w, o in zip(with_all, without, strict=True)] == [
        dw_all_bytes(n, inf.graph) + (7 + b if b else 0) for n, b in zip(blocks, wide, strict=True)]


def test_float_io_header(paths: dict) -> None:
    g = tte.load(paths["ad-fcae"])
    h = generate(analyze(g, scheme="classifier-only", loss="mse"), "ad")["ad.h"]
    for line in ("typedef float tte_input_t;", "typedef float tte_output_t;", "#define TTE_INPUT_FLOAT 1",
                 "#define TTE_OUTPUT_FLOAT 1", f"#define TTE_INPUT_BYTES {5 * 128 * 4}",
                 f"#define TTE_TARGET_BYTES {5 * 128 * 4}", "#define TTE_REGRESSION 1"):
        assert line in h


@needs_arm_gcc
@needs_qemu
def test_qemu_training_equals_the_host_c(paths: dict) -> None:
    """Float I/O and a regression target through the firmware's stream: the same losses and
    trained-weights CRC as the host build of the same C."""
    g = tte.load(paths["ad-fcae"])
    x = samples(g, 1, seed=3)
    y = target_for(g, "ad-fcae", x)
    runs = []
    for engine in ("c", "qemu"):
        tr = tte.Trainer(g, scheme="bias-only", engine=engine, loss="mse", lr=LR[("ad-fcae", "bias-only")])
        runs.append(([tr.step(x, y) for _ in range(3)], tr.weights_crc32()))
        if engine == "qemu":
            q = tr.sim
            stack = q.close()  # type: ignore[union-attr]
            # the report's peak (target buffer included) covers what the firmware measures
            measured = q.firmware.sizes.ram_static_bytes + stack  # type: ignore[union-attr]
            assert 0 < stack and measured <= q.analysis.report["peak_sram_bytes"]  # type: ignore[union-attr]
    assert runs[0] == runs[1]
    assert runs[1][0][2] < runs[1][0][0]
