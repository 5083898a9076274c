"""A model made of the activation family end to end: float graph -> PTQ -> training graph
-> generated C, run on the host against tte.reference (inference bit for bit, training
steps within tests/test_sim.py's tolerance), the backward pass through every op; and the same
steps as firmware in QEMU give the host's weights."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from fwtools import assert_qemu_trains_like_host
from test_sim import _assert_within_tolerance, _sim, _train_both

import tte
from tte.ir import Graph, Tensor
from tte.reference import execute


def act_cnn(seed: int = 0) -> Graph:
    rng = np.random.default_rng(seed)
    g = Graph("act_cnn")
    g.add_tensor(Tensor("x", (1, 8, 8, 3)))
    g.inputs = ["x"]

    def const(name: str, shape: tuple[int, ...], scale: float) -> str:
        g.add_const(name, (rng.standard_normal(shape) * scale).astype(np.float32))
        return name

    g.add_node("conv2d", ["x", const("c1.w", (8, 3, 3, 3), 0.4), const("c1.b", (8,), 0.1)], "c1",
               {"pads": (1, 1, 1, 1)})
    g.add_node("hard_swish", ["c1"], "hs")
    g.add_node("conv2d", ["hs", const("c2.w", (8, 3, 3, 8), 0.3), const("c2.b", (8,), 0.1)], "c2",
               {"pads": (1, 1, 1, 1)})
    g.add_node("mean", ["c2"], "c2m", {"axes": (1, 2), "keepdims": True})
    g.add_node("sub", ["c2", "c2m"], "c2c")                     # broadcast: its gradient sums back
    g.add_node("logistic", ["c2c"], "sig")
    g.add_node("tanh", ["c2"], "th")
    g.add_node("sub", ["sig", "th"], "d")
    g.add_node("leaky_relu", ["c2"], "lr", {"alpha": 0.1})
    g.add_node("maximum", ["d", "lr"], "mx")
    g.add_node("gelu", ["c2"], "ge", {"approximate": True})
    g.add_node("minimum", ["mx", "ge"], "mn")
    g.add_node("mean", ["mn"], "gap", {"axes": (1, 2), "keepdims": False})
    g.add_node("fully_connected", ["gap", const("fc.w", (4, 8), 0.5), const("fc.b", (4,), 0.1)], "y")
    g.outputs = ["y"]
    g.validate()
    return g


def quantized() -> Graph:
    rng = np.random.default_rng(1)
    return tte.quantize(act_cnn(), calibration=rng.standard_normal((32, 8, 8, 3)).astype(np.float32))


def test_inference_and_training_steps_match_the_reference() -> None:
    q = quantized()
    rng = np.random.default_rng(2)
    xs = [rng.integers(-128, 128, (1, 8, 8, 3)).astype(np.int8) for _ in range(20)]
    ys = [int(v) for v in rng.integers(0, 4, 20)]
    sim = _sim(q, "full", "act_fwd")
    for x in xs[:3]:
        np.testing.assert_array_equal(sim.infer(x), execute(q, {q.inputs[0]: x})[q.outputs[0]])
    ops = {n.op for n in sim.analysis.training.graph.nodes}
    assert {"activation_grad", "minmax_grad", "neg", "sum_to_shape"} <= ops
    c, r, c_loss, r_loss = _train_both(q, "full", xs, ys, "act_train")
    assert any(not np.array_equal(r[p], q.tensors[p].data) for p in r)      # weights moved
    assert not np.array_equal(r["c1.w"], q.tensors["c1.w"].data)          # through hard_swish and all
    _assert_within_tolerance(c, r)
    np.testing.assert_allclose(c_loss[:5], r_loss[:5], rtol=1e-4, atol=1e-5)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
                    reason="needs arm-none-eabi-gcc and qemu-system-arm")
def test_training_on_qemu_gives_the_host_weights() -> None:
    """The same steps as firmware on an emulated Cortex-M7 (DSP and hard-float paths)."""
    q = quantized()
    rng = np.random.default_rng(5)
    xs = rng.standard_normal((3, 8, 8, 3)).astype(np.float32)
    ys = rng.integers(0, 4, 3)
    assert_qemu_trains_like_host(q, "full", xs, ys)
