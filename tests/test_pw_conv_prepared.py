"""The compile-time layouts of standalone frozen 1x1 convs (tte.compiler.emit.block.pw_conv_layout):
they replace the weights and biases nothing else reads, come beside a weight a backward reads
(ranked below every other layout), give way to fit the flash, and leave a trained conv its
plain kernel; every way inference gives the reference's bytes (on the emulated M7 too, where
tte_conv2d_s8_pointwise_prep_px's and _small_prep_px's DSP paths run)."""

from __future__ import annotations

import dataclasses
import re
from functools import cache

import numpy as np
from fwtools import assert_infers_like_reference, needs_arm_gcc, needs_qemu, with_params
from onnx import TensorProto, helper, numpy_helper

import tte
from tte.compiler.analysis import Analysis, analyze
from tte.compiler.codegen import generate
from tte.reference import execute
from tte.targets.boards import get_board
from tte.targets.qemu import QemuEngine
from tte.targets.sim import Simulator
from tte.training.sparse import LayerRule, UpdateScheme

BOARD = "qemu-mps2-an500"
CHANNELS = (8, 40, 24, 64)   # 1x1 convs 8 -> 40 (small layout), 40 -> 24 (wide: a pixel buffer), 24 -> 64
# (the last the arena's peak, so that the second conv's buffer grows no arena)
CLASSES, SIDE = 5, 6
# the first conv's bias trained: the backward reads the second's weight for the input gradient
# (the third's a pooled_update reads: the policy takes it for trained)
FIRST_TRAINED = UpdateScheme(layers=[LayerRule(conv=0)])


@cache
def _convnet() -> tte.Graph:
    rng = np.random.default_rng(1)
    nodes, inits, x = [], [], "x"
    for i, (cin, cout) in enumerate(zip(CHANNELS, CHANNELS[1:])):
        inits += [numpy_helper.from_array(rng.normal(0, 0.3, (cout, cin, 1, 1)).astype(np.float32), f"w{i}"),
                  numpy_helper.from_array(rng.normal(0, 0.1, cout).astype(np.float32), f"b{i}")]
        nodes += [helper.make_node("Conv", [x, f"w{i}", f"b{i}"], [f"c{i}"]),
                  helper.make_node("Relu", [f"c{i}"], [f"r{i}"])]
        x = f"r{i}"
    inits += [numpy_helper.from_array(rng.normal(0, 0.3, (CLASSES, CHANNELS[-1])).astype(np.float32), "wc"),
              numpy_helper.from_array(np.zeros(CLASSES, np.float32), "bc")]
    nodes += [helper.make_node("GlobalAveragePool", [x], ["gap"]),
              helper.make_node("Flatten", ["gap"], ["flat"]),
              helper.make_node("Gemm", ["flat", "wc", "bc"], ["y"], transB=1)]
    graph = helper.make_graph(
        nodes, "pwnet", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, CHANNELS[0], SIDE, SIDE])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, CLASSES])], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    return tte.quantize(tte.load(m.SerializeToString()),
                        calibration=rng.uniform(-1, 1, (8, CHANNELS[0], SIDE, SIDE)).astype(np.float32))


def _conv_weights(g: tte.Graph) -> list[str]:
    return [n.inputs[1] for n in g.nodes if n.op == "conv2d"]


def _int8_constants(c: str) -> list[str]:
    """The generated int8 constant arrays (frozen weights in flash)."""
    return re.findall(r"static const int8_t (tte_\w+)\[", c)


def _check_inference(a: Analysis, m7: bool) -> str:
    return assert_infers_like_reference(_convnet(), a, m7, BOARD)["m.c"]


@needs_arm_gcc
@needs_qemu
def test_frozen_1x1_layouts_replace_weights_nothing_else_reads() -> None:
    g = _convnet()
    a = analyze(g, board=BOARD, scheme="classifier-only")
    assert sorted(a.report["prepared_layers"]) == sorted(_conv_weights(g))
    c = _check_inference(a, m7=True)
    # inference and the step's forward: two small (8 and 24 inputs), one wide (40, in its buffer)
    assert c.count("tte_conv2d_s8_pointwise_small_prep_px(") == 4
    assert c.count("tte_conv2d_s8_pointwise_prep_px(") == 2
    assert "tte_conv2d_s8(" not in c and "tte_conv2d_s8_ws" not in c
    assert not _int8_constants(c), "a replaced weight is still emitted"


@needs_arm_gcc
@needs_qemu
def test_frozen_1x1_layouts_come_beside_weights_a_backward_reads() -> None:
    g = _convnet()
    a = analyze(g, board=BOARD, scheme=FIRST_TRAINED)
    assert a.report["prepared_layers"] == ["w1"]
    c = _check_inference(a, m7=True)
    assert c.count("tte_conv2d_s8_pointwise_prep_px(") == 2 and "pointwise_small_prep_px(" not in c
    # its weight stays for the input gradient (its bias, which nothing else reads, does not)
    layouts = sum(4 * int(k) for k in re.findall(r"const uint32_t tte_pwq_[0-9a-f]+\[(\d+)\]", c))
    assert a.report["prepared_weight_bytes"] == layouts - 4 * CHANNELS[2] > 0
    assert _int8_constants(c) == ["tte_w_w0", "tte_w_w1", "tte_w_w2"]   # w1 beside its layout
    # the conv whose bias a step updates keeps its plain kernel, as the one a pooled_update reads
    assert sum(c.count(f) for f in ("tte_conv2d_s8(", "tte_conv2d_s8_ws(", "tte_conv2d_s8_ws_sized(")) == 4


def test_frozen_1x1_copies_give_way_first_to_fit_the_flash() -> None:
    g = _convnet()
    full = analyze(g, board=BOARD, scheme=FIRST_TRAINED)
    wide = full.report["prepared_layers"]
    tight = dataclasses.replace(get_board(BOARD), flash_bytes=full.report["flash_data_bytes"] - 1)
    a = analyze(g, board=tight, scheme=FIRST_TRAINED)
    r = a.report
    assert r["fits"] and r["prepared_dropped_layers"]
    assert sorted(r["prepared_layers"] + r["prepared_dropped_layers"]) == sorted(wide)
    c = _check_inference(a, m7=False)
    assert c.count("tte_pwq_") < generate(full, "m")["m.c"].count("tte_pwq_")


def test_a_dropped_replacing_layout_gives_the_conv_its_weight_back() -> None:
    g = _convnet()
    full = analyze(g, board=BOARD, scheme="classifier-only")
    tight = dataclasses.replace(get_board(BOARD), flash_bytes=full.report["flash_data_bytes"] - 1)
    a = analyze(g, board=tight, scheme="classifier-only")
    assert a.report["fits"] and a.report["prepared_dropped_layers"]
    c = _check_inference(a, m7=False)
    assert len(_int8_constants(c)) == len(a.report["prepared_dropped_layers"]), "a dropped layout's weight is missing"


# the second conv's bias trained alone (its weight frozen): its layout leaves the bias out and
# tte_conv2d_s8_pointwise_prep_bias_px adds the live one (a copy beside the weight, which the
# plain kernel reads past the layout's bound)
SECOND_BIAS = UpdateScheme(layers=[LayerRule(conv=1)])



@needs_arm_gcc
@needs_qemu
def test_a_trained_bias_reads_the_layout_with_the_live_bias() -> None:
    from tte.compiler.emit.block import live_bias_limit

    g = _convnet()
    a = analyze(g, board=BOARD, scheme=SECOND_BIAS)
    assert "w1" in a.report["prepared_layers"]
    sources = generate(a, "m")
    c = sources["m.c"]
    assert c.count("tte_conv2d_s8_pointwise_prep_bias_px(") == 2   # inference and the step's forward
    assert "tte_w_w1" in _int8_constants(c)   # the plain kernel's past the bound
    bias = next(p for p in a.training.updates if p == "b1")
    conv = next(n for n in g.nodes if n.op == "conv2d" and n.inputs[2] == bias)
    limit = live_bias_limit(conv, g)
    rng = np.random.default_rng(9)
    x = rng.integers(-128, 128, g.tensors[g.inputs[0]].shape).astype(np.int8)
    sim, q = Simulator(a, sources, "m"), QemuEngine(a, sources, "m", board=BOARD)
    try:
        base = sim.weights()
        moved = base[bias].astype(np.int64) + rng.integers(-20000, 20000, base[bias].shape)
        edge = moved.copy()
        edge[::3] = np.where(edge[::3] < 0, -limit, limit)   # at the bound: still the layout
        past = edge.copy()
        past[1] = limit + 1   # one channel past it: the plain kernel for the layer
        for b in (moved, edge, past):
            w = {**base, bias: b.astype(np.int32)}
            want = execute(with_params(g, w), {g.inputs[0]: x})[g.outputs[0]]
            sim.set_weights(w)
            q.session.set_weights(b"".join(np.ascontiguousarray(w[p]).tobytes() for p in q.params))
            np.testing.assert_array_equal(sim.infer(x).reshape(want.shape), want)
            np.testing.assert_array_equal(q.infer(x).reshape(want.shape), want)
        # a training step moves the bias; the host and the M7 agree, and infer as the reference
        sim.set_weights(base)
        q.session.set_weights(b"".join(np.ascontiguousarray(base[p]).tobytes() for p in q.params))
        sim.train_step(x, 1)
        q.train_step(x, 1)
        trained = sim.weights()
        assert not np.array_equal(trained[bias], base[bias])
        assert sim.crc32() == q.crc32()
        want = execute(with_params(g, trained), {g.inputs[0]: x})[g.outputs[0]]
        np.testing.assert_array_equal(sim.infer(x).reshape(want.shape), want)
        np.testing.assert_array_equal(q.infer(x).reshape(want.shape), want)
    finally:
        q.close()
