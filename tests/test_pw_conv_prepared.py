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
from fwtools import assert_infers_like_reference, needs_arm_gcc, needs_qemu
from onnx import TensorProto, helper, numpy_helper

import tte
from tte.compiler.analysis import Analysis, analyze
from tte.compiler.codegen import generate
from tte.targets.boards import get_board
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
