"""A small quantized net whose first op is a streamed block reading the input (the paper models'
shape: a stem conv as the block's expand conv, then a depthwise and a 1x1), for input_rows."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

import tte


def rows_net(side: int = 15, stem_k: int = 3, stem_stride: int = 2, classes: int = 4,
             name: str = "rowsnet") -> tte.Graph:
    """x (1, 3, side, side) -> stem (stem_k x stem_k, stride stem_stride, 3 -> 8) -> 3x3 depthwise ->
    1x1 (8 -> 8) -> 1x1 expand (8 -> 16) -> 3x3 depthwise, stride 2 -> 1x1 (16 -> 8) -> pool -> fc."""
    rng = np.random.default_rng(5)
    inits: list = []
    nodes: list = []

    def conv(x: str, y: str, cin: int, cout: int, k: int, stride: int, groups: int, relu: bool) -> str:
        w = rng.normal(0, 0.4, (cout, cin // groups, k, k)).astype(np.float32)
        b = rng.normal(0, 0.1, cout).astype(np.float32)
        inits.extend([numpy_helper.from_array(w, f"{y}.w"), numpy_helper.from_array(b, f"{y}.b")])
        nodes.append(helper.make_node("Conv", [x, f"{y}.w", f"{y}.b"], [y], strides=[stride, stride],
                                      pads=[k // 2] * 4, group=groups, name=y))
        if relu:
            nodes.append(helper.make_node("Relu", [y], [f"{y}.r"]))
            return f"{y}.r"
        return y

    x = conv("x", "stem", 3, 8, stem_k, stem_stride, 1, True)
    x = conv(x, "b0d", 8, 8, 3, 1, 8, True)
    x = conv(x, "b0p", 8, 8, 1, 1, 1, False)
    x = conv(x, "b1e", 8, 16, 1, 1, 1, True)
    x = conv(x, "b1d", 16, 16, 3, 2, 16, True)
    x = conv(x, "b1p", 16, 8, 1, 1, 1, False)
    inits += [numpy_helper.from_array(rng.normal(0, 0.3, (classes, 8)).astype(np.float32), "fc.w"),
              numpy_helper.from_array(np.zeros(classes, np.float32), "fc.b")]
    nodes += [helper.make_node("GlobalAveragePool", [x], ["gap"]),
              helper.make_node("Flatten", ["gap"], ["flat"]),
              helper.make_node("Gemm", ["flat", "fc.w", "fc.b"], ["y"], transB=1)]
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, side, side])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, classes])], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    return tte.quantize(tte.load(m.SerializeToString()),
                        calibration=rng.uniform(-1, 1, (8, 3, side, side)).astype(np.float32))
