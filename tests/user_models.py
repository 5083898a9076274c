"""Small float ONNX models of the kind a user brings (built with onnx.helper, fixed seeds).

cnn(): input (N, 1, 8, 8) NCHW -> Conv 3x3 (4 ch) -> Relu -> Flatten -> Gemm -> 5 classes.
mlp(): input (N, 16) -> Gemm (12) -> Relu -> Gemm -> 3 classes.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def _init(name: str, arr: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(arr, np.float32), name)


def cnn(classes: int = 5, seed: int = 0) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    inits = [_init("conv.weight", rng.normal(0, 0.4, (4, 1, 3, 3))), _init("conv.bias", rng.normal(0, 0.1, 4)),
             _init("fc.weight", rng.normal(0, 0.2, (classes, 4 * 8 * 8))),
             _init("fc.bias", rng.normal(0, 0.1, classes))]
    nodes = [helper.make_node("Conv", ["x", "conv.weight", "conv.bias"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Flatten", ["r"], ["f"]),
             helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["y"], transB=1)]
    g = helper.make_graph(nodes, "user_cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, classes])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def mlp(features: int = 16, classes: int = 3, seed: int = 0) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    inits = [_init("fc1.weight", rng.normal(0, 0.3, (12, features))), _init("fc1.bias", rng.normal(0, 0.1, 12)),
             _init("fc2.weight", rng.normal(0, 0.3, (classes, 12))), _init("fc2.bias", rng.normal(0, 0.1, classes))]
    nodes = [helper.make_node("Gemm", ["x", "fc1.weight", "fc1.bias"], ["h"], transB=1),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Gemm", ["r", "fc2.weight", "fc2.bias"], ["y"], transB=1)]
    g = helper.make_graph(nodes, "user_mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, features])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, classes])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def save(model: onnx.ModelProto, path: str) -> str:
    onnx.save(model, path)
    return path
