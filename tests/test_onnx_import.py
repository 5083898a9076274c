"""load_onnx against onnxruntime: helper-built and torch-exported models, layout, BN folding,
names, QDQ quantization parameters and error messages."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from tte.errors import ModelFormatError, TteError, UnsupportedOpError
from tte.frontend.onnx import load_onnx
from tte.ir import Graph
from tte.reference import execute

RNG = np.random.default_rng(0)


def run_tte(graph: Graph, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Run on source-layout arrays and return source-layout outputs."""
    ir_feeds = {}
    for name in graph.inputs:
        perm = graph.tensors[name].source_perm
        arr = feeds[name]
        ir_feeds[name] = arr if perm is None else np.ascontiguousarray(np.transpose(arr, np.argsort(perm)))
    out = execute(graph, ir_feeds)
    res = []
    for name in graph.outputs:
        perm = graph.tensors[name].source_perm
        res.append(out[name] if perm is None else np.transpose(out[name], perm))
    return res


def run_ort(model: bytes, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    return [np.asarray(a) for a in sess.run(None, feeds)]


def export_torch(module: torch.nn.Module, *shapes: tuple[int, ...], opset: int = 17) -> bytes:
    module.eval()
    args = tuple(torch.randn(*s) for s in shapes)
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, f, dynamo=False, opset_version=opset,
                          do_constant_folding=False)
    return f.getvalue()


def ort_static_qdq(model: bytes, calib: list[dict[str, np.ndarray]], work: Path) -> bytes:
    """onnxruntime's static QDQ quantization (int8 activations, per-channel int8 weights) of
    ``model`` with ``calib`` as its calibration reader: the third-party QDQ models tte imports."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter(calib)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.it, None)

    (work / "f.onnx").write_bytes(model)
    quantize_static(str(work / "f.onnx"), str(work / "q.onnx"), Reader(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, per_channel=True)
    return (work / "q.onnx").read_bytes()


def compare(model: bytes, *, atol: float = 1e-4) -> Graph:
    graph = load_onnx(model)
    proto = onnx.load_model_from_string(model)
    init = {i.name for i in proto.graph.initializer}
    feeds = {}
    for vi in proto.graph.input:
        if vi.name in init:
            continue
        shape = [d.dim_value for d in vi.type.tensor_type.shape.dim]
        feeds[vi.name] = RNG.standard_normal(shape).astype(np.float32)
    want = run_ort(model, feeds)
    got = run_tte(graph, feeds)
    for w, g in zip(want, got):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=atol)
    return graph


# ---- torch-exported models -----------------------------------------------------------


class TinyNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.bn = torch.nn.BatchNorm2d(8)
        self.dw = torch.nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(8)
        self.pw = torch.nn.Conv2d(8, 12, 1)
        self.pool = torch.nn.MaxPool2d(2)
        self.fc = torch.nn.Linear(12, 5)
        for bn in (self.bn, self.bn2):
            torch.nn.init.uniform_(bn.weight, 0.5, 1.5)
            torch.nn.init.uniform_(bn.bias, -0.5, 0.5)
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn(self.conv(x)))
        y = torch.nn.functional.relu6(self.bn2(self.dw(y)))
        y = self.pool(self.pw(y) + 0.25)
        y = torch.nn.functional.adaptive_avg_pool2d(y, 1).flatten(1)
        return torch.softmax(self.fc(y), dim=-1)


def test_torch_tiny_net_matches_ort_and_folds_bn() -> None:
    model = export_torch(TinyNet(), (1, 3, 16, 16))
    graph = compare(model)
    ops = [n.op for n in graph.nodes]
    assert ops == ["conv2d", "conv2d", "conv2d", "add", "maxpool2d", "avgpool2d", "reshape",
                   "fully_connected", "softmax"]
    # BN folded into both convs, ReLU / ReLU6 fused
    assert [n.attrs["activation"] for n in graph.nodes[:2]] == ["relu", "relu6"]
    assert "conv.weight" in graph.tensors and "dw.weight" in graph.tensors
    assert graph.tensors["dw.weight"].shape == (8, 3, 3, 1)
    # input and output layouts
    x = graph.tensors[graph.inputs[0]]
    assert x.shape == (1, 16, 16, 3) and x.source_perm == (0, 3, 1, 2)
    assert graph.tensors[graph.outputs[0]].source_perm is None


def test_torch_batch_of_32_runs_through_static_batch_one() -> None:
    model = export_torch(TinyNet(), (1, 3, 16, 16))
    graph = load_onnx(model)
    xs = RNG.standard_normal((32, 3, 16, 16)).astype(np.float32)
    got = run_tte(graph, {graph.inputs[0]: xs})[0]
    sess_in = onnx.load_model_from_string(model).graph.input[0].name
    want = np.concatenate([run_ort(model, {sess_in: xs[i:i + 1]})[0] for i in range(32)])
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


class Mixed(torch.nn.Module):
    """Spatial flatten (needs NCHW order), transpose and mean over channels."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(4, 6, 3, padding=1, dilation=1)
        self.fc = torch.nn.Linear(6 * 5 * 5, 7)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        y = self.conv(x)
        a = self.fc(torch.flatten(y, 1))
        b = y.mean(dim=1, keepdim=False)
        c = y.permute(0, 2, 3, 1) * 2.0
        return a, b, c


def test_torch_layout_sensitive_ops() -> None:
    graph = compare(export_torch(Mixed(), (1, 4, 5, 5)))
    assert sum(n.op == "transpose" for n in graph.nodes) == 1  # before the flatten only


class Grouped(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c1 = torch.nn.Conv2d(6, 9, (3, 2), stride=(2, 1), padding=(1, 0), groups=3, dilation=(1, 2))
        self.c2 = torch.nn.Conv2d(9, 18, 3, groups=9, padding=2)
        self.pool = torch.nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
        self.pool2 = torch.nn.MaxPool2d(3, stride=2, ceil_mode=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool2(self.pool(torch.clamp(self.c2(self.c1(x)), 0.0, 6.0)))


def test_torch_grouped_dilated_conv_and_pools() -> None:
    compare(export_torch(Grouped(), (1, 6, 17, 13)))


# ---- helper-built models ------------------------------------------------------------


def _model(nodes: list[onnx.NodeProto], inputs: list[onnx.ValueInfoProto], outputs: list[onnx.ValueInfoProto],
           inits: list[onnx.TensorProto], opset: int = 17) -> bytes:
    g = helper.make_graph(nodes, "m", inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m.SerializeToString()


def _vi(name: str, shape: list[int | str], elem: int = TensorProto.FLOAT) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, shape)


def _init(name: str, arr: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(arr, name)


def test_gemm_attributes_and_matrix_bias() -> None:
    a = RNG.standard_normal((4, 3)).astype(np.float32)
    b = RNG.standard_normal((5, 4)).astype(np.float32)
    c = RNG.standard_normal((3, 5)).astype(np.float32)
    node = helper.make_node("Gemm", ["x", "B", "C"], ["y"], alpha=0.5, beta=2.0, transA=1, transB=1)
    m = _model([node], [_vi("x", [4, 3])], [_vi("y", [3, 5])], [_init("B", b), _init("C", c)])
    del a
    compare(m)


def test_matmul_variable_and_bn_without_conv_and_pad_softmax() -> None:
    nodes = [
        helper.make_node("MatMul", ["x", "y"], ["mm"]),
        helper.make_node("BatchNormalization", ["mm", "s", "b", "m", "v"], ["bn"], epsilon=1e-3),
        helper.make_node("Pad", ["bn", "pads", "cv"], ["p"], mode="constant"),
        helper.make_node("Softmax", ["p"], ["out"], axis=1),
    ]
    c = 3
    inits = [_init("s", RNG.uniform(0.5, 1.5, c).astype(np.float32)),
             _init("b", RNG.standard_normal(c).astype(np.float32)),
             _init("m", RNG.standard_normal(c).astype(np.float32)),
             _init("v", RNG.uniform(0.5, 2, c).astype(np.float32)),
             _init("pads", np.array([0, 1, 0, 0, 0, 2, 1, 0], np.int64)),
             _init("cv", np.array(0.5, np.float32))]
    m = _model(nodes, [_vi("x", [2, 3, 4, 5]), _vi("y", [2, 3, 5, 6])], [_vi("out", [2, 6, 5, 6])], inits)
    graph = compare(m)
    assert [n.op for n in graph.nodes][:3] == ["transpose", "transpose", "matmul"] or "matmul" in [
        n.op for n in graph.nodes]


def test_conv_auto_pad_same_lower_and_reduce_mean_axes_input() -> None:
    w = RNG.standard_normal((4, 2, 3, 3)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], auto_pad="SAME_LOWER", strides=[2, 2]),
             helper.make_node("ReduceMean", ["c", "axes"], ["y"], keepdims=0)]
    m = _model(nodes, [_vi("x", [1, 2, 7, 8])], [_vi("y", [1, 4])],
               [_init("w", w), _init("axes", np.array([-1, 2], np.int64))], opset=18)
    compare(m)


def test_bn_not_folded_when_conv_output_is_shared() -> None:
    w = RNG.standard_normal((3, 3, 1, 1)).astype(np.float32)
    ones = np.ones(3, np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"]),
             helper.make_node("BatchNormalization", ["c", "g", "b", "m", "v"], ["bn"]),
             helper.make_node("Add", ["c", "bn"], ["y"])]
    inits = [_init("w", w), _init("g", ones * 2), _init("b", ones), _init("m", ones * 0.1), _init("v", ones)]
    m = _model(nodes, [_vi("x", [1, 3, 4, 4])], [_vi("y", [1, 3, 4, 4])], inits)
    graph = compare(m)
    assert [n.op for n in graph.nodes] == ["conv2d", "mul", "add", "add"]
    assert np.array_equal(graph.tensors["w"].data, np.transpose(w, (0, 2, 3, 1)))


def test_names_are_preserved() -> None:
    model = export_torch(TinyNet(), (1, 3, 16, 16))
    graph = load_onnx(model)
    proto = onnx.load_model_from_string(model)
    assert graph.inputs == [proto.graph.input[0].name]
    assert graph.outputs == [proto.graph.output[0].name]
    assert {"conv.weight", "dw.weight", "pw.weight", "pw.bias", "fc.weight", "fc.bias"} <= set(graph.tensors)


def test_identity_graph_output_keeps_its_name() -> None:
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Identity", ["r"], ["y"]),
             helper.make_node("Transpose", ["r"], ["t"], perm=[0, 2, 3, 1])]
    m = _model(nodes, [_vi("x", [1, 2, 3, 4])], [_vi("y", [1, 2, 3, 4]), _vi("t", [1, 3, 4, 2])], [])
    graph = compare(m)
    assert graph.outputs == ["y", "t"]


# ---- QDQ ------------------------------------------------------------------------------


def _qdq_conv_model() -> bytes:
    w = RNG.integers(-127, 128, (4, 3, 3, 3)).astype(np.int8)
    w_scale = RNG.uniform(0.005, 0.02, 4).astype(np.float32)
    b = RNG.integers(-500, 500, 4).astype(np.int32)
    x_s, y_s = np.float32(0.05), np.float32(0.1)
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
        helper.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wd"], axis=0),
        helper.make_node("DequantizeLinear", ["b", "bs"], ["bd"], axis=0),
        helper.make_node("Conv", ["xd", "wd", "bd"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("QuantizeLinear", ["r", "ys", "yz"], ["yq"]),
        helper.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["y"]),
    ]
    inits = [_init("xs", x_s), _init("xz", np.int8(3)), _init("w", w), _init("ws", w_scale),
             _init("wz", np.zeros(4, np.int8)), _init("b", b), _init("bs", x_s * w_scale),
             _init("ys", y_s), _init("yz", np.int8(-100))]
    return _model(nodes, [_vi("x", [1, 3, 6, 6])], [_vi("y", [1, 4, 6, 6])], inits)


def test_qdq_conv_becomes_int8_conv_with_quant_params() -> None:
    model = _qdq_conv_model()
    graph = load_onnx(model)
    assert [n.op for n in graph.nodes] == ["quantize", "conv2d", "dequantize"]
    conv = graph.nodes[1]
    assert conv.attrs["activation"] == "relu"
    x, w, b = (graph.tensors[i] for i in conv.inputs)
    y = graph.tensors[conv.outputs[0]]
    assert (x.dtype, w.dtype, b.dtype, y.dtype) == ("int8", "int8", "int32", "int8")
    assert x.quant is not None and float(x.quant.scale[0]) == pytest.approx(0.05) and x.quant.zero_point[0] == 3
    assert w.quant is not None and w.quant.axis == 0 and len(w.quant.scale) == 4
    assert w.shape == (4, 3, 3, 3) and np.all(w.quant.zero_point == 0)
    assert y.quant is not None and y.quant.zero_point[0] == -100
    assert (w.name, b.name) == ("w", "b")
    proto = onnx.load_model_from_string(model)
    b_src = numpy_helper.to_array([i for i in proto.graph.initializer if i.name == "b"][0])
    assert np.array_equal(b.data, b_src)


def test_qdq_conv_matches_ort_within_one_step() -> None:
    from tte.reference.registry import KERNELS

    if ("conv2d", "int8") not in KERNELS:
        pytest.skip("int8 reference kernels are not available yet")
    model = _qdq_conv_model()
    x = RNG.standard_normal((1, 3, 6, 6)).astype(np.float32)
    want = run_ort(model, {"x": x})[0]
    got = run_tte(load_onnx(model), {"x": x})[0]
    assert np.max(np.abs(got - want)) <= 0.1 + 1e-6  # one output step


def test_uint8_qdq_is_rejected_naming_the_node() -> None:
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], name="quant_in"),
             helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"])]
    m = _model(nodes, [_vi("x", [1, 4])], [_vi("y", [1, 4])],
               [_init("s", np.float32(0.1)), _init("z", np.uint8(128))])
    with pytest.raises(UnsupportedOpError, match="quant_in.*uint8"):
        load_onnx(m)


# ---- errors ---------------------------------------------------------------------------


def test_truncated_file(tmp_path: Path) -> None:
    p = tmp_path / "net.onnx"
    p.write_bytes(export_torch(TinyNet(), (1, 3, 16, 16))[:-37])
    with pytest.raises(ModelFormatError, match="net.onnx"):
        load_onnx(p)


def test_garbage_bytes() -> None:
    with pytest.raises(ModelFormatError):
        load_onnx(b"\x00\xffnot a model at all\x13\x37" * 5)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TteError, match="nope.onnx"):
        load_onnx(tmp_path / "nope.onnx")


def test_unsupported_ops_are_all_listed() -> None:
    nodes = [helper.make_node("Exp", ["x"], ["a"], name="exp"),
             helper.make_node("Log", ["a"], ["b"]),
             helper.make_node("Exp", ["b"], ["c"]),
             helper.make_node("Softplus", ["c"], ["y"])]
    m = _model(nodes, [_vi("x", [1, 4])], [_vi("y", [1, 4])], [])
    with pytest.raises(UnsupportedOpError) as e:
        load_onnx(m)
    assert e.value.ops == ["Exp", "Log", "Softplus"]
    assert "exp" in str(e.value)


def test_symbolic_batch_is_fixed_to_one_other_symbolic_dims_name_the_input() -> None:
    m = _model([helper.make_node("Relu", ["x"], ["y"])], [_vi("x", ["batch", 4])], [_vi("y", ["batch", 4])], [])
    g = load_onnx(m)
    assert g.tensors["x"].shape == (1, 4) and g.meta["notes"] == ["dynamic batch ('batch' on input 'x') fixed to 1"]
    m = _model([helper.make_node("Relu", ["x"], ["y"])], [_vi("x", [1, "width"])], [_vi("y", [1, "width"])], [])
    with pytest.raises(TteError, match="'x'.*'width' at axis 1"):
        load_onnx(m)


def test_missing_initializer() -> None:
    m = _model([helper.make_node("Conv", ["x", "w"], ["y"], name="conv0")], [_vi("x", [1, 1, 3, 3])],
               [_vi("y", [1, 1, 3, 3])], [])
    with pytest.raises(TteError, match="conv0.*'w'.*missing initializer"):
        load_onnx(m)


def test_initializer_with_wrong_size_is_a_format_error() -> None:
    bad = _init("w", np.ones((1, 1, 1, 1), np.float32))
    bad.dims[:] = [4, 1, 1, 1]
    m = _model([helper.make_node("Conv", ["x", "w"], ["y"])], [_vi("x", [1, 1, 3, 3])],
               [_vi("y", [1, 4, 3, 3])], [bad])
    with pytest.raises(TteError):
        load_onnx(m)


def test_ort_static_quantized_qdq_model_matches_ort(tmp_path: Path) -> None:
    """Every int8 tensor of tte's import of an onnxruntime-quantized QDQ model against onnxruntime
    running that tensor's producer (the QDQ nodes from the int8 tensors it reads) on tte's own inputs.

    onnxruntime runs the QDQ nodes as written (DequantizeLinear, the float op, QuantizeLinear: the
    model's defined meaning), with graph optimizations off: its fused int8 kernels (QLinearConv,
    QLinearSoftmax's lookup table, ...) round differently from release to release. tte computes the
    same ops in TFLite's integer arithmetic, so an element may land one step apart: where a
    fixed-point rescale and the float one fall on either side of a rounding boundary (rare), and
    after an average pool that changes scale, which tte runs as TFLite's AVERAGE_POOL_2D and then
    QUANTIZE (two roundings where the float model rounds once). Compared op by op from identical
    int8 inputs, that is the whole difference; end to end the steps would add up along the chain,
    so final outputs are not compared. A misread scale, zero point or channel axis moves most
    elements of a tensor, so almost all elements must also agree exactly.
    """

    rng = np.random.default_rng(0)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = export_torch(TinyNet(), (1, 3, 16, 16))
    name = onnx.load_model_from_string(model).graph.input[0].name
    calib = [{name: rng.standard_normal((1, 3, 16, 16)).astype(np.float32)} for _ in range(8)]

    proto = onnx.load_model_from_string(ort_static_qdq(model, calib, tmp_path))
    graph = load_onnx(proto.SerializeToString())
    int8_nodes = [n for n in graph.nodes if graph.tensors[n.outputs[0]].dtype == "int8"]
    assert {"conv2d", "add", "maxpool2d", "avgpool2d", "fully_connected"} <= {n.op for n in int8_nodes}
    compared = equal = 0
    for x in rng.standard_normal((4, 1, 3, 16, 16)).astype(np.float32):
        ours = execute(graph, {name: _to_ir(graph, name, x)}, keep_all=True)
        for node in int8_nodes:
            out = node.outputs[0]
            ins = _int8_sources(graph, out)
            feeds = {i: x if i in graph.inputs else _nchw(ours[i]) for i in ins}
            (want,) = _run_ort_literally(_onnx_slice(proto, graph, ins, out), feeds)
            diff = np.abs(_nchw(ours[out]).astype(np.int64) - want.astype(np.int64))
            assert diff.max() <= 1, f"{node.op} -> {out}: {diff.max()} steps from onnxruntime"
            compared += diff.size
            equal += int(np.sum(diff == 0))
    assert compared > 10_000 and equal >= 0.99 * compared, (equal, compared)


def _run_ort_literally(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return [np.asarray(a) for a in sess.run(None, feeds)]


def _to_ir(graph: Graph, name: str, arr: np.ndarray) -> np.ndarray:
    perm = graph.tensors[name].source_perm
    return arr if perm is None else np.ascontiguousarray(np.transpose(arr, np.argsort(perm)))


def _nchw(a: np.ndarray) -> np.ndarray:
    """tte keeps 4-D activations NHWC; ONNX is NCHW."""
    return np.ascontiguousarray(np.transpose(a, (0, 3, 1, 2))) if a.ndim == 4 else a


def _int8_sources(graph: Graph, tensor: str) -> set[str]:
    """The int8 tensors (or graph inputs) that ``tensor`` is computed from through float-only nodes."""
    producer = {o: n for n in graph.nodes for o in n.outputs}
    sources: set[str] = set()
    for i in producer[tensor].inputs:
        t = graph.tensors[i]
        if t.is_const:
            continue
        if t.dtype == "int8" or i in graph.inputs or i not in producer:
            sources.add(i)
        else:
            sources |= _int8_sources(graph, i)
    return sources


def _onnx_slice(proto: onnx.ModelProto, graph: Graph, inputs: set[str], output: str) -> onnx.ModelProto:
    """The ONNX nodes that compute ``output`` from ``inputs``, as a model of their own."""
    producer = {o: n for n in proto.graph.node for o in n.output}
    keep: set[int] = set()
    todo = [output]
    while todo:
        t = todo.pop()
        if t in inputs or t not in producer or id(producer[t]) in keep:
            continue
        keep.add(id(producer[t]))
        todo.extend(producer[t].input)
    nodes = [n for n in proto.graph.node if id(n) in keep]
    used = {i for n in nodes for i in n.input}
    elem = {i: TensorProto.FLOAT if i in graph.inputs else TensorProto.INT8 for i in inputs}
    g = helper.make_graph(nodes, "slice", [helper.make_tensor_value_info(i, elem[i], None) for i in sorted(inputs)],
                          [helper.make_tensor_value_info(output, TensorProto.INT8, None)],
                          [i for i in proto.graph.initializer if i.name in used])
    return helper.make_model(g, opset_imports=proto.opset_import)
