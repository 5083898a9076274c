"""ONNX import of the activation and elementwise ops against onnxruntime (float), their
QDQ form, and post-training quantization of a model that uses them (vs tflite-micro)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper
from test_onnx_import import compare, export_torch
from tflite_oracles import run_litert, run_tflm

import tte
from tte.errors import UnsupportedOpError
from tte.export.tflite import export_tflite
from tte.frontend.onnx import load_onnx
from tte.reference import execute


class ActNet(torch.nn.Module):
    def __init__(self, gelu: bool = True) -> None:
        super().__init__()
        self.gelu = gelu
        self.conv = torch.nn.Conv2d(3, 6, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(3, 6, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = torch.sigmoid(self.conv(x))
        b = torch.tanh(self.conv2(x))
        c = F.hardswish(a - b)
        d = F.leaky_relu(self.conv2(x), 0.1)
        e = torch.maximum(c, d) - torch.minimum(a, F.gelu(d) if self.gelu else d)
        return torch.rsqrt(a) + e


@pytest.mark.parametrize("opset", [17, 20])
def test_torch_export_matches_onnxruntime(opset: int) -> None:
    """Before opset 20 PyTorch writes exact GELU as x * (erf(x / sqrt 2) + 1) * 0.5: one gelu too."""
    model = export_torch(ActNet(), (1, 3, 6, 5), opset=opset)
    graph = compare(model)
    ops = [n.op for n in graph.nodes]
    assert {"logistic", "tanh", "hard_swish", "leaky_relu", "sub", "maximum", "minimum", "rsqrt", "gelu"} <= set(ops)
    assert "mul" not in ops


def _unary_model(op: str, shape: tuple[int, ...], **attrs: object) -> bytes:
    node = helper.make_node(op, ["x"], ["y"], **attrs)
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 20)]).SerializeToString()


@pytest.mark.parametrize("op,attrs", [("Gelu", {"approximate": "tanh"}), ("Gelu", {}),
                                      ("LeakyRelu", {"alpha": 0.3}), ("HardSwish", {}),
                                      ("LpNormalization", {"axis": -1, "p": 2}),
                                      ("LpNormalization", {"axis": 1, "p": 2})])
def test_helper_built_ops(op: str, attrs: dict) -> None:
    graph = compare(_unary_model(op, (2, 5, 3, 4), **attrs))
    assert len([n for n in graph.nodes if n.op not in ("transpose", "reshape")]) == 1


def test_lp_normalization_other_axis_is_refused() -> None:
    with pytest.raises(UnsupportedOpError, match="axis 1"):
        load_onnx(_unary_model("LpNormalization", (2, 5, 3), axis=1, p=2))


def test_sqrt_without_reciprocal_is_refused() -> None:
    with pytest.raises(UnsupportedOpError, match="Reciprocal"):
        load_onnx(_unary_model("Sqrt", (2, 3)))


def _qdq_model(op: str, shape: tuple[int, ...], out_scale: float, out_zp: int) -> bytes:
    inits = [numpy_helper.from_array(np.array(0.05, np.float32), "s"),
             numpy_helper.from_array(np.array(-3, np.int8), "z"),
             numpy_helper.from_array(np.array(out_scale, np.float32), "so"),
             numpy_helper.from_array(np.array(out_zp, np.int8), "zo")]
    nodes = [helper.make_node("DequantizeLinear", ["xq", "s", "z"], ["x"]),
             helper.make_node(op, ["x"], ["y"]),
             helper.make_node("QuantizeLinear", ["y", "so", "zo"], ["yq"])]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("xq", TensorProto.INT8, shape)],
                          [helper.make_tensor_value_info("yq", TensorProto.INT8, shape)], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


@pytest.mark.parametrize("op,out_q", [("Sigmoid", (1 / 256, -128)), ("Tanh", (1 / 128, 0)),
                                      ("HardSwish", (0.04, -40)), ("Sigmoid", (0.005, -100))])
def test_qdq_group_becomes_the_int8_op(op: str, out_q: tuple[float, int]) -> None:
    import onnxruntime as ort

    model = _qdq_model(op, (1, 256), *out_q)
    graph = load_onnx(model)
    assert {n.op for n in graph.nodes} & {"logistic", "tanh", "hard_swish"}
    assert all(graph.tensors[n.outputs[0]].dtype == "int8" for n in graph.nodes)
    x = np.arange(-128, 128, dtype=np.int8).reshape(1, 256)
    got = execute(graph, {"xq": x})[graph.outputs[0]]
    want = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, {"xq": x})[0]
    # onnxruntime rounds the float function; TFLite's fixed point is within one step of it
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    # and the int8 op is the one tflite-micro runs
    np.testing.assert_array_equal(got, run_tflm(export_tflite(graph), [x])[0])


@pytest.mark.parametrize("gelu", [False, True])
def test_post_training_quantization_runs_on_both_runtimes(gelu: bool) -> None:
    model = export_torch(ActNet(gelu=gelu), (1, 3, 6, 5), opset=20)
    g = tte.load(model)
    rng = np.random.default_rng(0)
    calib = rng.standard_normal((16, 3, 6, 5)).astype(np.float32)
    qg = tte.quantize(g, calibration=calib)
    for n in qg.nodes:
        if n.op == "logistic":
            assert float(qg.tensors[n.outputs[0]].quant.scale[0]) == 1 / 256
    data = export_tflite(qg)
    xin = rng.integers(-128, 128, qg.tensors[qg.inputs[0]].shape).astype(np.int8)
    ref = execute(qg, {qg.inputs[0]: xin})[qg.outputs[0]]
    np.testing.assert_array_equal(ref, run_litert(data, [xin])[qg.outputs[0]])
    if not gelu:   # tflite-micro has no GELU kernel
        np.testing.assert_array_equal(ref, run_tflm(data, [xin])[0])
    # quantized outputs track the float model
    fl = tte.run(g, calib[:4])
    qo = tte.run(qg, calib[:4])
    assert np.corrcoef(np.ravel(fl), np.ravel(qo))[0, 1] > 0.95


def test_onnx_checker_accepts_the_helper_models() -> None:
    onnx.checker.check_model(onnx.load_model_from_string(_unary_model("HardSwish", (1, 4))))


def _qdq_binary_model(op: str) -> bytes:
    inits = [numpy_helper.from_array(np.array(0.05, np.float32), "s"),
             numpy_helper.from_array(np.array(-3, np.int8), "z"),
             numpy_helper.from_array(np.array(0.04, np.float32), "s2"),
             numpy_helper.from_array(np.array(7, np.int8), "z2"),
             numpy_helper.from_array(np.array(0.07, np.float32), "so"),
             numpy_helper.from_array(np.array(-5, np.int8), "zo"),
             numpy_helper.from_array(np.arange(-4, 4).astype(np.int8).reshape(1, 8), "cq")]
    nodes = [helper.make_node("DequantizeLinear", ["aq", "s", "z"], ["a"]),
             helper.make_node("DequantizeLinear", ["bq", "s2", "z2"], ["b"]),
             helper.make_node("DequantizeLinear", ["cq", "s2", "z2"], ["c"]),
             helper.make_node(op, ["a", "b"], ["ab"]),
             helper.make_node("QuantizeLinear", ["ab", "so", "zo"], ["abq"]),
             helper.make_node("DequantizeLinear", ["abq", "so", "zo"], ["ab2"]),
             helper.make_node(op, ["ab2", "c"], ["y"]),
             helper.make_node("QuantizeLinear", ["y", "so", "zo"], ["yq"])]
    ins = [helper.make_tensor_value_info(n, TensorProto.INT8, (4, 8)) for n in ("aq", "bq")]
    g = helper.make_graph(nodes, "g", ins, [helper.make_tensor_value_info("yq", TensorProto.INT8, (4, 8))], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


@pytest.mark.parametrize("op", ["Sub", "Max", "Min"])
def test_qdq_binary_ops_become_int8(op: str) -> None:
    import onnxruntime as ort

    model = _qdq_binary_model(op)
    graph = load_onnx(model)
    ir_op = {"Sub": "sub", "Max": "maximum", "Min": "minimum"}[op]
    assert [n.op for n in graph.nodes].count(ir_op) == 2
    assert all(graph.tensors[n.outputs[0]].dtype == "int8" for n in graph.nodes)
    rng = np.random.default_rng(0)
    feeds = {"aq": rng.integers(-128, 128, (4, 8)).astype(np.int8),
             "bq": rng.integers(-128, 128, (4, 8)).astype(np.int8)}
    got = execute(graph, feeds)[graph.outputs[0]]
    want = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    np.testing.assert_array_equal(got, run_litert(export_tflite(graph), feeds)[graph.outputs[0]])


def test_division_by_a_constant_is_a_multiplication() -> None:
    c = numpy_helper.from_array(np.array([2.0, -4.0, 0.5], np.float32), "c")
    g = helper.make_graph([helper.make_node("Div", ["x", "c"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, (2, 3))],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, (2, 3))], [c])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
    graph = compare(model)
    assert [n.op for n in graph.nodes] == ["mul"]
    zero = numpy_helper.from_array(np.array([2.0, 0.0, 1.0], np.float32), "c")
    g.initializer[0].CopyFrom(zero)
    with pytest.raises(UnsupportedOpError, match="Div"):
        load_onnx(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())


def test_imports_produce_only_declared_ops() -> None:
    """`tte ops` shows each converter's declared IR ops: an import produces no others."""
    from test_ops_listing import _check_sources

    from tte.frontend.onnx.registry import EMITS
    from tte.opsinfo import op_support

    for opset in (17, 20):
        g = tte.load(export_torch(ActNet(), (1, 3, 6, 5), opset=opset))
        _check_sources(g, EMITS)
        gelu = "Div" if opset < 20 else "Gelu"     # the exact-GELU expansion starts with its Div
        assert {"Sigmoid", "Tanh", "HardSwish", "LeakyRelu", "Sub", "Max", "Min", "Sqrt", gelu} <= set(
            g.meta["op_sources"])
    rows = {r["op"]: r for r in op_support()["forward"]}
    for op in ("logistic", "tanh", "hard_swish", "leaky_relu", "gelu", "sub", "maximum", "minimum"):
        assert rows[op]["gradient"] and rows[op]["gradient_c"] and rows[op]["c"], op
    assert rows["logistic"]["onnx"] == ["Sigmoid"] and rows["logistic"]["tflite"] == ["LOGISTIC"]
    assert rows["rsqrt"]["c"] and not rows["rsqrt"]["gradient"]
