"""TFLite export: operator choice, padding, names, refusals and atomic writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tflite
from test_int8_kernels import graph_with_input, q
from test_tflite_import import small_cnn

from tte.errors import TteError
from tte.export.tflite import export_tflite
from tte.ir import Graph, Tensor

OP_NAMES = {v: k for k, v in vars(tflite.BuiltinOperator).items() if isinstance(v, int)}


def read(data: bytes) -> tuple[list[str], dict[str, tuple[list[int], str]]]:
    """Operator names in order, and tensor name -> (shape, quantized_dimension info)."""
    m = tflite.Model.GetRootAs(data, 0)
    sg = m.Subgraphs(0)
    ops = []
    for i in range(sg.OperatorsLength()):
        code = m.OperatorCodes(sg.Operators(i).OpcodeIndex())
        ops.append(OP_NAMES[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())])
    tensors = {}
    for i in range(sg.TensorsLength()):
        t = sg.Tensors(i)
        qd = t.Quantization().QuantizedDimension() if t.Quantization() is not None else -1
        tensors[t.Name().decode()] = (t.ShapeAsNumpy().tolist(), f"axis={qd}")
    return ops, tensors


def test_operators_names_and_layouts() -> None:
    ops, tensors = read(export_tflite(small_cnn()))
    assert ops == ["CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"]
    assert {"image", "conv1/weights", "conv1/bias", "conv1", "dw/weights", "dw", "pool", "flat",
            "fc/weights", "logits", "probs"} <= set(tensors)
    assert tensors["dw/weights"] == ([1, 3, 3, 8], "axis=3")          # depthwise layout
    assert tensors["conv1/weights"] == ([4, 3, 3, 3], "axis=0")


def test_unmatched_pads_become_a_pad_operator() -> None:
    g = graph_with_input((1, 6, 6, 2), q(0.1, 4))
    g.add_const("w", np.ones((2, 3, 3, 2), np.int8), quant=q([0.01, 0.02], [0, 0], 0))
    g.add_node("conv2d", ["x", "w"], "y", {"pads": (2, 0, 0, 2)}, quant=q(0.1, 0))
    g.outputs = ["y"]
    ops, tensors = read(export_tflite(g))
    assert ops == ["PAD", "CONV_2D"]
    assert tensors["y/pad"][0] == [1, 8, 8, 2]


def test_changed_quantization_adds_a_quantize() -> None:
    g = graph_with_input((1, 4, 4, 2), q(0.1, 4))
    g.add_node("maxpool2d", ["x"], "y", {"kernel": (2, 2), "strides": (2, 2)}, quant=q(0.2, -3))
    g.outputs = ["y"]
    ops, _ = read(export_tflite(g))
    assert ops == ["MAX_POOL_2D", "QUANTIZE"]


def test_export_refuses_float_graphs_and_writes_nothing(tmp_path: Path) -> None:
    g = Graph("f")
    g.add_tensor(Tensor("a", (1, 4), "float32"))
    g.inputs = ["a"]
    g.add_node("relu", ["a"], "y")
    g.outputs = ["y"]
    path = tmp_path / "f.tflite"
    with pytest.raises(TteError, match="float graph"):
        export_tflite(g, path)
    assert list(tmp_path.iterdir()) == []


def test_export_refuses_inexpressible_ops() -> None:
    g = graph_with_input((1, 4, 4, 2), q(0.1, 0))
    g.add_node("clip", ["x"], "y", {"min": -2, "max": 3}, quant=q(0.1, 0))
    g.outputs = ["y"]
    with pytest.raises(TteError, match="no TFLite int8 equivalent"):
        export_tflite(g)
    g = graph_with_input((1, 5, 5, 2), q(0.1, 0))
    g.add_node("avgpool2d", ["x"], "y", {"kernel": (2, 2), "pads": (1, 1, 0, 0)}, quant=q(0.1, 0))
    g.outputs = ["y"]
    with pytest.raises(TteError, match="averaging count"):
        export_tflite(g)


def test_export_overwrites_atomically(tmp_path: Path) -> None:
    path = tmp_path / "m.tflite"
    path.write_bytes(b"old")
    data = export_tflite(small_cnn(), path)
    assert path.read_bytes() == data
    assert [p.name for p in tmp_path.iterdir()] == ["m.tflite"]
