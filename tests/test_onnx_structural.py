"""ONNX Concat, Split, Slice, Squeeze, Unsqueeze, 1-D Conv / pooling and training-mode
BatchNormalization against onnxruntime; unsupported ops listed all at once, subgraphs
included."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from test_onnx_import import compare, export_torch

from tte.errors import UnsupportedOpError
from tte.frontend.onnx import load_onnx

RNG = np.random.default_rng(1)


class Conv1dNet(torch.nn.Module):
    """Conv1d + BN + ReLU, max pool, split, concat, slice, unsqueeze/squeeze, avg pool."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = torch.nn.Conv1d(3, 6, 5, padding=2)
        self.bn = torch.nn.BatchNorm1d(6)
        self.c2 = torch.nn.Conv1d(4, 4, 3, stride=2, bias=False)
        torch.nn.init.uniform_(self.bn.weight, 0.5, 1.5)
        self.bn.running_mean.uniform_(-0.5, 0.5)
        self.bn.running_var.uniform_(0.5, 1.5)
        self.fc = torch.nn.Linear(6 * 3, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn(self.c1(x)))
        y = torch.nn.functional.max_pool1d(y, 2)                 # (1, 6, 12)
        a, b = torch.split(y, [2, 4], dim=1)
        z = torch.cat([self.c2(b), a[:, :, 1:11:2].unsqueeze(2).squeeze(2)[:, :, :5]], dim=1)  # (1, 6, 5)
        z = torch.nn.functional.avg_pool1d(z[:, :, :4], 2, padding=1)   # (1, 6, 3)
        return self.fc(z.flatten(1))


@pytest.mark.parametrize("folding", [False, True])
def test_conv1d_net_matches_onnxruntime(folding: bool) -> None:
    model = Conv1dNet()
    model.eval()
    data = export_torch(model, (1, 3, 24))
    if folding:
        # with constant folding torch fuses the BN; without, the importer folds it
        import io
        import warnings
        f = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (torch.randn(1, 3, 24),), f, dynamo=False, opset_version=17)
        data = f.getvalue()
    g = compare(data)
    ops = [n.op for n in g.nodes]
    assert "concat" in ops and "slice" in ops and ops.count("conv2d") == 2
    assert not any(op in ("mul", "add") for op in ops), "BN folded into the 1-D conv"
    conv = next(n for n in g.nodes if n.op == "conv2d")
    assert conv.attrs["activation"] == "relu", "ReLU fused into the 1-D conv"


def _model(nodes: list[onnx.NodeProto], x_shape: list[int], out: str, inits: list[onnx.TensorProto],
           opset: int = 17) -> bytes:
    g = helper.make_graph(nodes, "m", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                          [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)]).SerializeToString()


def _i64(name: str, v: list[int]) -> onnx.TensorProto:
    return numpy_helper.from_array(np.array(v, np.int64), name)


def test_slice_with_negative_indices_steps_and_nhwc_layout() -> None:
    """A 4-D value lives in NHWC: the slice is taken on the IR axes its source axes map to."""
    w = numpy_helper.from_array(RNG.standard_normal((4, 3, 1, 1)).astype(np.float32), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"]),
             helper.make_node("Slice", ["c", "st", "en", "ax", "sp"], ["s"]),
             helper.make_node("Split", ["s", "sz"], ["p", "q"], axis=1),
             helper.make_node("Concat", ["q", "p", "q"], ["y"], axis=-3)]
    data = _model(nodes, [1, 3, 7, 9], "y", [w, _i64("st", [-6, 1, 0]), _i64("en", [100, -1, 4]),
                                              _i64("ax", [3, 2, 1]), _i64("sp", [2, 2, 1]),
                                              _i64("sz", [1, 3])])
    g = compare(data)
    assert not any(n.op == "transpose" for n in g.nodes), "slices and concat stay in NHWC"


def test_split_equal_parts_and_squeeze_unsqueeze_opsets() -> None:
    nodes = [helper.make_node("Split", ["x"], ["a", "b", "c"], axis=2, num_outputs=3),
             helper.make_node("Unsqueeze", ["b", "ax"], ["u"]),
             helper.make_node("Squeeze", ["u", "ax"], ["s"]),
             helper.make_node("Concat", ["c", "s", "a"], ["y"], axis=2)]
    compare(_model(nodes, [2, 3, 8], "y", [_i64("ax", [0])], opset=18))
    nodes11 = [helper.make_node("Unsqueeze", ["x"], ["u"], axes=[1, 4]),
               helper.make_node("Squeeze", ["u"], ["y"], axes=[4])]
    compare(_model(nodes11, [2, 3, 5], "y", [], opset=11))


def test_batchnorm_in_training_mode_is_folded_with_a_note() -> None:
    c = 3
    inits = [numpy_helper.from_array(a.astype(np.float32), n) for a, n in (
        (RNG.uniform(0.5, 1.5, c), "g"), (RNG.uniform(-1, 1, c), "b"), (RNG.uniform(-1, 1, c), "m"),
        (RNG.uniform(0.5, 2, c), "v"))]
    nodes = [helper.make_node("BatchNormalization", ["x", "g", "b", "m", "v"], ["y"], training_mode=1)]
    data = _model(nodes, [1, c, 4, 4], "y", inits, opset=15)
    g = load_onnx(data)
    assert any("training mode" in n for n in g.meta["notes"])
    from tte.inspect import format_summary, summarize
    assert "note    BatchNormalization" in format_summary(summarize(g))
    # the inference twin of the same node is what onnxruntime checks against
    inference = onnx.load_model_from_string(data)
    del inference.graph.node[0].attribute[:]
    compare(inference.SerializeToString())
    ref = load_onnx(inference.SerializeToString())
    assert [n.op for n in g.nodes] == [n.op for n in ref.nodes]


def test_unsupported_ops_are_all_listed_including_subgraphs() -> None:
    then_g = helper.make_graph([helper.make_node("Acos", ["x"], ["t"])], "then", [],
                               [helper.make_tensor_value_info("t", TensorProto.FLOAT, None)])
    else_g = helper.make_graph([helper.make_node("Atan", ["x"], ["e"])], "else", [],
                               [helper.make_tensor_value_info("e", TensorProto.FLOAT, None)])
    nodes = [helper.make_node("ReduceL1", ["x"], ["r"], keepdims=0),
             helper.make_node("Greater", ["r", "zero"], ["cond"]),
             helper.make_node("If", ["cond"], ["i"], then_branch=then_g, else_branch=else_g),
             helper.make_node("Hardmax", ["i"], ["y"])]
    data = _model(nodes, [1, 4], "y", [numpy_helper.from_array(np.array(0, np.float32), "zero")])
    with pytest.raises(UnsupportedOpError) as e:
        load_onnx(data)
    for op in ("Acos", "Atan", "Greater", "Hardmax", "If", "ReduceL1"):
        assert op in e.value.ops, op
    assert "then_branch" in str(e.value) or "else_branch" in str(e.value)


def test_ort_static_quantized_conv1d_model_is_int8_and_matches_ort(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """onnxruntime's QDQ quantization of the 1-D net: conv, max pool, concat, slice and the
    squeeze/unsqueeze run as int8 ops; outputs within a few steps of onnxruntime's."""
    from test_onnx_import import _run_ort_literally, ort_static_qdq, run_tte

    rng = np.random.default_rng(7)
    with torch.random.fork_rng():
        torch.manual_seed(7)
        model = export_torch(Conv1dNet(), (1, 3, 24))
    name = onnx.load_model_from_string(model).graph.input[0].name
    calib = [{name: rng.standard_normal((1, 3, 24)).astype(np.float32)} for _ in range(16)]

    q = ort_static_qdq(model, calib, tmp_path)
    g = load_onnx(q)
    int8_ops = {n.op for n in g.nodes if g.tensors[n.outputs[0]].dtype == "int8"}
    assert {"conv2d", "maxpool2d", "concat", "slice"} <= int8_ops
    assert all(g.tensors[n.outputs[0]].dtype == "int8" for n in g.nodes if n.op in ("slice", "concat"))
    yq = g.tensors[g.nodes[-1].inputs[0]].quant      # the int8 logits before the final dequantize
    assert yq is not None
    # onnxruntime runs the QDQ nodes as written (float ops between DequantizeLinear and
    # QuantizeLinear, optimizations off, so no release-dependent fused kernels); tte runs TFLite's
    # integer arithmetic: a step here and there (tests/test_onnx_import.py compares op by op),
    # summed end to end over the eight int8 ops of this net (measured: 2-4 steps over eight seeds)
    proto = onnx.load_model_from_string(q)
    for _ in range(8):
        x = rng.standard_normal((1, 3, 24)).astype(np.float32)
        want, got = _run_ort_literally(proto, {name: x})[0], run_tte(g, {name: x})[0]
        assert np.max(np.abs(got - want)) <= 4 * float(yq.scale[0]) + 1e-6
