"""The compile-time layouts of fully connected weights (tte.compiler.emit.conv.fc_layout) in a
compiled model: they replace the frozen layers' weights and biases in the generated C (the
flash policy, tte.compiler.emit.block.choose_prepared, charges only their padding), a layer
the policy leaves out gets its weights back, and the trained classifier keeps the plain
kernel; either way inference gives the reference's bytes (on the emulated M7 too, where the
prepared kernel's DSP path runs)."""

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

BOARD, SCHEME = "qemu-mps2-an500", "classifier-only"
SIZES = (36, 20, 24, 5)   # two frozen layers (inputs not a multiple of 8), the trained classifier


@cache
def _mlp() -> tte.Graph:
    rng = np.random.default_rng(0)
    nodes, inits, x = [], [], "x"
    for i in range(3):
        inits += [numpy_helper.from_array(rng.normal(0, 0.3, (SIZES[i + 1], SIZES[i])).astype(np.float32), f"w{i}"),
                  numpy_helper.from_array(rng.normal(0, 0.1, SIZES[i + 1]).astype(np.float32), f"b{i}")]
        nodes.append(helper.make_node("Gemm", [x, f"w{i}", f"b{i}"], [f"h{i}"], transB=1))
        x = f"h{i}"
        if i < 2:
            nodes.append(helper.make_node("Relu", [x], [f"r{i}"]))
            x = f"r{i}"
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, SIZES[0]])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, SIZES[-1]])], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    return tte.quantize(tte.load(m.SerializeToString()),
                        calibration=rng.uniform(-1, 1, (8, SIZES[0])).astype(np.float32))


def _arrays(c: str) -> dict[str, str]:
    """The generated constant arrays: name -> element type."""
    return {name: ctype for ctype, name in re.findall(r"static const (\w+) (tte_\w+)\[", c)}


def _padding_bytes() -> int:
    """What the frozen layers' layouts add to their weights and biases: zero rows up to a
    multiple of 4 and zero inputs up to a multiple of 8 (a bias word per row either way)."""
    total = 0
    for k, n in zip(SIZES[:2], SIZES[1:3]):
        n4, k8 = -(-n // 4) * 4, -(-k // 8) * 8
        total += n4 * k8 + 4 * n4 - (n * k + 4 * n)
    return total


def _check_inference(a: Analysis, m7: bool) -> None:
    assert_infers_like_reference(_mlp(), a, m7, BOARD)


@needs_arm_gcc
@needs_qemu
def test_fc_layouts_replace_the_frozen_weights() -> None:
    a = analyze(_mlp(), board=BOARD, scheme=SCHEME)
    assert sorted(a.report["prepared_layers"]) == ["w0", "w1"] and not a.report["prepared_dropped_layers"]
    assert a.report["prepared_weight_bytes"] == _padding_bytes()
    c = generate(a, "m")["m.c"]
    arrays = _arrays(c)
    assert sum(1 for n in arrays if n.startswith("tte_fcq_")) == 2
    assert not [n for n, t in arrays.items() if t == "int8_t"], "a replaced weight is still emitted"
    assert c.count("tte_fully_connected_s8_prep(") == 4   # the two frozen layers, inference and step
    assert c.count("tte_fully_connected_s8(") == 2        # the trained classifier
    _check_inference(a, m7=True)


def test_a_dropped_fc_layout_gives_its_layer_the_weights_back() -> None:
    g = _mlp()
    full = analyze(g, board=BOARD, scheme=SCHEME)
    tight = dataclasses.replace(get_board(BOARD), flash_bytes=full.report["flash_data_bytes"] - 1)
    a = analyze(g, board=tight, scheme=SCHEME)
    assert a.report["prepared_dropped_layers"] and a.report["fits"]
    arrays = _arrays(generate(a, "m")["m.c"])
    assert sum(1 for n in arrays if n.startswith("tte_fcq_")) == 2 - len(a.report["prepared_dropped_layers"])
    assert [t for t in arrays.values() if t == "int8_t"], "a dropped layout's weight is missing"
    _check_inference(a, m7=False)   # the plain kernel, on the M7 in tests/test_qemu_kernels.py
