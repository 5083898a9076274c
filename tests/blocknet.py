"""A small quantized net of streamed-block shape for the compile-time layout tests: a 3 -> 8
stride-2 stem, then expand 1x1 -> 3x3 depthwise -> 1x1 blocks, a global pool and a classifier."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
from onnx import TensorProto, helper, numpy_helper

import tte


class OnnxNet:
    """The ONNX nodes and initializers of a small conv net as it is built (block_net's and
    rowsnet.rows_net's), its weights drawn from rng in the order of the calls."""

    def __init__(self, rng: np.random.Generator, zero_bias: Collection[str] = ()) -> None:
        self.rng, self.zero_bias = rng, zero_bias
        self.inits: list = []
        self.nodes: list = []

    def conv(self, x: str, y: str, cin: int, cout: int, k: int, stride: int, groups: int, relu: bool) -> str:
        """A Conv y (same padding) on x, then its Relu where relu; the name of its output."""
        rng = self.rng
        w = rng.normal(0, 0.4, (cout, cin // groups, k, k)).astype(np.float32)
        b = np.zeros(cout, np.float32) if y in self.zero_bias else rng.normal(0, 0.1, cout).astype(np.float32)
        self.inits.extend([numpy_helper.from_array(w, f"{y}.w"), numpy_helper.from_array(b, f"{y}.b")])
        self.nodes.append(helper.make_node("Conv", [x, f"{y}.w", f"{y}.b"], [y], strides=[stride, stride],
                                           pads=[k // 2] * 4, group=groups, name=y))
        if relu:
            self.nodes.append(helper.make_node("Relu", [y], [f"{y}.r"]))
            return f"{y}.r"
        return y

    def quantized(self, x: str, channels: int, side: int, classes: int, name: str) -> tte.Graph:
        """The net with a global pool and a classifier on x (channels wide) for an input x of
        (1, 3, side, side), quantized on random calibration data."""
        rng = self.rng
        inits = self.inits + [
            numpy_helper.from_array(rng.normal(0, 0.3, (classes, channels)).astype(np.float32), "fc.w"),
            numpy_helper.from_array(np.zeros(classes, np.float32), "fc.b")]
        nodes = self.nodes + [helper.make_node("GlobalAveragePool", [x], ["gap"]),
                              helper.make_node("Flatten", ["gap"], ["flat"]),
                              helper.make_node("Gemm", ["flat", "fc.w", "fc.b"], ["y"], transB=1)]
        graph = helper.make_graph(
            nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, side, side])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, classes])], inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        return tte.quantize(tte.load(m.SerializeToString()),
                            calibration=rng.uniform(-1, 1, (8, 3, side, side)).astype(np.float32))


def block_net(blocks: Sequence[tuple[int, int, int, int]], side: int, classes: int, name: str,
              zero_bias: Collection[str] = ()) -> tte.Graph:
    """blocks: (in channels, depthwise channels, stride, out channels) each, named b{i}e, b{i}d,
    b{i}p; a layer in zero_bias starts with its bias at 0 (no random values drawn for it)."""
    net = OnnxNet(np.random.default_rng(3), zero_bias)
    x = net.conv("x", "stem", 3, 8, 3, 2, 1, True)
    for i, (cin, mid, stride, cout) in enumerate(blocks):
        e = net.conv(x, f"b{i}e", cin, mid, 1, 1, 1, True)
        d = net.conv(e, f"b{i}d", mid, mid, 3, stride, mid, True)
        x = net.conv(d, f"b{i}p", mid, cout, 1, 1, 1, False)
    return net.quantized(x, blocks[-1][3], side, classes, name)
