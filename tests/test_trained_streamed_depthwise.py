"""Layers a step trains keep their live parameters in the inference graph, which streams every
block, trained ones too (tte.compiler.emit.block.choose_prepared, pw_prepared): a depthwise
whose bias or weight a step trains takes no compile-time layout (dw_layout's biases with the
input zero point's share folded in, the ring's pair words), and a block's 1x1 whose bias a step
trains does not read the training graph's live layout (bias 0) where it has pw_layout's bytes
(a compile-time bias of 0). After steps on the emulated M7, its inference gives the reference's
bytes with the trained parameters, as host C does."""

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
CASES = {   # the scheme, the layer it trains
    "dw-bias": (UpdateScheme(layers=[LayerRule(name="b1d")], classifier=False), "b1d"),
    "dw-weight": (UpdateScheme(layers=[LayerRule(name="b0d", weight_ratio=1.0)], classifier=False), "b0d"),
    "pw-bias": (UpdateScheme(layers=[LayerRule(name="b1p")], classifier=False), "b1p"),
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
    scheme, layer = CASES[case]
    a = analyze(g, board=BOARD, scheme=scheme, lr=LR)
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
    for scheme, layer in (CASES["dw-bias"], CASES["dw-weight"]):
        a = analyze(_net(), board=BOARD, scheme=scheme)
        assert f"{layer}.w" not in a.report["prepared_layers"]
        c = generate(a, "m")["m.c"]
        assert c.count("static const uint32_t tte_dwq_") == 1   # the other depthwise's
