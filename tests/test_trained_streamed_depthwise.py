"""Layers a step trains keep their live parameters in the inference graph, which streams every
block, trained ones too (tte.compiler.emit.block.choose_prepared, pw_prepared): a depthwise
whose bias or weight a step trains takes no compile-time layout (dw_layout's biases with the
input zero point's share folded in, the ring's pair words), but for one whose bias alone a step
trains and whose block keeps its rows widened (--speed-kb gives b1d the rows: dw_live_given),
a layout of biases 0 to which depthwise_s8.c's dw3_wide_*_b add the live biases per call; and a
block's 1x1 whose bias a step trains does not read the training graph's live layout (bias 0)
where it has pw_layout's bytes (a compile-time bias of 0). After steps on the emulated M7, its
inference gives the reference's bytes with the trained parameters, as host C does."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from blocknet import block_net
from fwtools import needs_arm_gcc, needs_qemu, with_params

import tte
from tte.compiler.analysis import analyze
from tte.compiler.codegen import generate
from tte.reference import execute
from tte.targets.qemu import QemuEngine
from tte.targets.sim import Simulator
from tte.training.sparse import LayerRule, UpdateScheme

BOARD = "qemu-mps2-an500"
SIDE, CLASSES = 34, 4
# stem 3 -> 8 (stride 2), then two expand -> 3x3 depthwise -> 1x1 blocks: stride 2 over 20
# channels, then stride 1 over 32 (b1d's layout holds the ring's pair words; b1p's 32 inputs
# take pw_layout's wide form, and its bias starts at 0)
BLOCKS = ((8, 20, 2, 12), (12, 32, 1, 8))
CASES = {   # the scheme, the layer it trains, the SRAM for speed
    "dw-bias": (UpdateScheme(layers=[LayerRule(name="b1d")], classifier=False), "b1d", 0),
    "dw-bias-wide": (UpdateScheme(layers=[LayerRule(name="b1d")], classifier=False), "b1d", 8192),
    "dw-weight": (UpdateScheme(layers=[LayerRule(name="b0d", weight_ratio=1.0)], classifier=False), "b0d", 0),
    "pw-bias": (UpdateScheme(layers=[LayerRule(name="b1p")], classifier=False), "b1p", 0),
}
STEPS, LR = 4, 2.0


@cache
def _net() -> tte.Graph:
    return block_net(BLOCKS, SIDE, CLASSES, "trainednet", zero_bias={"b1p"})



@needs_arm_gcc
@needs_qemu
@pytest.mark.parametrize("case", sorted(CASES))
def test_trained_layer_infers_with_its_trained_parameters(case: str) -> None:
    g = _net()
    scheme, layer, speed = CASES[case]
    a = analyze(g, board=BOARD, scheme=scheme, lr=LR, speed_sram_bytes=speed)
    params = [p for p in next(n for n in g.nodes if n.name == layer).inputs[1:3] if p in a.training.updates]
    assert params, "the scheme trains none of the layer's parameters"
    sources = generate(a, "m")
    rng = np.random.default_rng(11)
    xs = rng.integers(-128, 128, (STEPS, *g.tensors[g.inputs[0]].shape)).astype(np.int8)
    sim, q = Simulator(a, sources, "m"), QemuEngine(a, sources, "m", board=BOARD)
    try:
        base = sim.weights()
        for i, x in enumerate(xs):
            sim.train_step(x, i % CLASSES)
            q.train_step(x, i % CLASSES)
        trained = sim.weights()
        assert sim.crc32() == q.crc32()
        assert any(not np.array_equal(trained[p], base[p]) for p in params), "the steps moved nothing"
        x = xs[0]
        want = execute(with_params(g, trained), {g.inputs[0]: x})[g.outputs[0]]
        assert not np.array_equal(want, execute(g, {g.inputs[0]: x})[g.outputs[0]]), "no change to see"
        np.testing.assert_array_equal(sim.infer(x).reshape(want.shape), want)
        np.testing.assert_array_equal(q.infer(x).reshape(want.shape), want)
    finally:
        q.close()


def test_a_trained_depthwise_takes_no_layout() -> None:
    """A trained depthwise weight never has a compile-time layout; a trained bias has one only
    where its block keeps D's rows widened (dw_live_given: the layout with biases 0, below)."""
    from tte.compiler.emit.block import dw_live_given

    for scheme, layer, _ in (CASES["dw-bias"], CASES["dw-weight"]):
        a = analyze(_net(), board=BOARD, scheme=scheme)
        g = a.inference.graph
        node = next(n for n in g.nodes if n.op == "streamed_block" and f"{layer}.w" in n.inputs)
        live = layer != "b0d" and dw_live_given(node, g)
        assert (f"{layer}.w" in a.report["prepared_layers"]) == live
        c = generate(a, "m")["m.c"]
        # the other depthwise's, and the trained bias's layout with biases 0 where its rows are widened
        assert c.count("static const uint32_t tte_dwq_") == 1 + live


def test_a_trained_bias_with_widened_rows_reads_a_layout_of_biases_0() -> None:
    """b1d's block given its rows widened: its layout is dw_layout's with biases 0 (the live ones
    added by the kernel), read through tte_conv2d_s8_dw3_wide_live, not as dw_prep."""
    from tte.compiler.emit.block import dw_layout

    scheme, layer, speed = CASES["dw-bias-wide"]
    a = analyze(_net(), board=BOARD, scheme=scheme, speed_sram_bytes=speed)
    assert f"{layer}.w" in a.report["prepared_layers"]
    node = next(n for n in a.inference.graph.nodes if n.op == "streamed_block" and f"{layer}.w" in n.inputs)
    live, plain = dw_layout(node, a.inference.graph, live=True), dw_layout(node, a.inference.graph)
    assert live is not None and plain is not None and live[0] != plain[0]
    c = generate(a, "m")["m.c"]
    params = next(ln for ln in c.splitlines() if "tte_block_s8_params_t" in ln and live[0] in ln)
    # then in_rows 0, rq_fast (every output stage fast: TTE_BLOCK_RQ_KNOWN | D | P | E), no stem layout,
    # no stride-2 pixel-pair kernel
    assert params.endswith(f"NULL, NULL, {live[0]}, &tte_conv2d_s8_dw3_wide_live, 0, 15, NULL, NULL, NULL}};")
    assert ", 0, NULL, tte_pwq_" in params   # residual_first, then no dw_prep
    assert ", 1, 0, NULL, NULL," in params   # dw_pad given, no dw_all, no doubled 1x1
    assert plain[0] not in c
