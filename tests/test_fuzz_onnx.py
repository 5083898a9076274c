"""Property tests: corrupt inputs fail with a tte error; random conv / pool / gemm
configurations match onnxruntime."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from tte.errors import TteError
from tte.frontend.onnx import load_onnx
from tte.ir import Graph
from tte.reference import execute


def _model(node: onnx.NodeProto, x_shape: tuple[int, ...], inits: dict[str, np.ndarray]) -> bytes:
    g = helper.make_graph([node], "fuzz", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m.SerializeToString()


def _valid_model() -> bytes:
    rng = np.random.default_rng(1)
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("GlobalAveragePool", ["r"], ["p"]),
             helper.make_node("Flatten", ["p"], ["f"]),
             helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], transB=1)]
    inits = {"w": rng.standard_normal((4, 2, 3, 3)).astype(np.float32), "b": np.zeros(4, np.float32),
             "fw": rng.standard_normal((3, 4)).astype(np.float32), "fb": np.ones(3, np.float32)}
    g = helper.make_graph(nodes, "valid", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 5, 5])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m.SerializeToString()


VALID = _valid_model()


def _loads_or_tte_error(data: bytes) -> None:
    try:
        graph = load_onnx(data)
    except TteError:
        return
    assert isinstance(graph, Graph)


@given(st.binary(max_size=400))
def test_random_bytes(data: bytes) -> None:
    _loads_or_tte_error(data)


@given(st.integers(0, len(VALID)))
def test_truncations(n: int) -> None:
    _loads_or_tte_error(VALID[:n])


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 7)), min_size=1, max_size=4))
def test_bit_flips(flips: list[tuple[int, int]]) -> None:
    data = bytearray(VALID)
    for pos, bit in flips:
        data[pos] ^= 1 << bit
    _loads_or_tte_error(bytes(data))


def _compare(model: bytes, x: np.ndarray) -> None:
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    want = sess.run(None, {"x": x})[0]
    graph = load_onnx(model)
    perm = graph.tensors["x"].source_perm
    feed = x if perm is None else np.ascontiguousarray(np.transpose(x, np.argsort(perm)))
    out_name = graph.outputs[0]
    got = execute(graph, {"x": feed})[out_name]
    out_perm = graph.tensors[out_name].source_perm
    if out_perm is not None:
        got = np.transpose(got, out_perm)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@st.composite
def conv_cases(draw: st.DrawFn) -> tuple[bytes, np.ndarray]:
    groups = draw(st.integers(1, 3))
    cin_g, cout_g = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    pads = draw(st.lists(st.integers(0, 2), min_size=4, max_size=4))
    h = draw(st.integers((kh - 1) * dh + 1, 9))
    w = draw(st.integers((kw - 1) * dw + 1, 9))
    auto = draw(st.sampled_from(["NOTSET", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]))
    seed = draw(st.integers(0, 2 ** 16))
    rng = np.random.default_rng(seed)
    cin, cout = cin_g * groups, cout_g * groups
    attrs: dict[str, object] = {"strides": [sh, sw], "dilations": [dh, dw], "group": groups}
    if auto == "NOTSET":
        attrs["pads"] = pads
    else:
        attrs["auto_pad"] = auto
        attrs["dilations"] = [1, 1]  # onnxruntime rejects SAME padding with dilation
    inits = {"w": rng.standard_normal((cout, cin_g, kh, kw)).astype(np.float32),
             "b": rng.standard_normal(cout).astype(np.float32)}
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], **attrs)
    x = rng.standard_normal((1, cin, h, w)).astype(np.float32)
    return _model(node, x.shape, inits), x


@given(conv_cases())
def test_random_conv_matches_ort(case: tuple[bytes, np.ndarray]) -> None:
    _compare(*case)


@st.composite
def pool_cases(draw: st.DrawFn) -> tuple[bytes, np.ndarray]:
    op = draw(st.sampled_from(["MaxPool", "AveragePool"]))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    pads = [draw(st.integers(0, kh - 1)), draw(st.integers(0, kw - 1)),
            draw(st.integers(0, kh - 1)), draw(st.integers(0, kw - 1))]
    h, w = draw(st.integers(kh, 9)), draw(st.integers(kw, 9))
    attrs: dict[str, object] = {"kernel_shape": [kh, kw], "strides": [sh, sw], "pads": pads,
                                "ceil_mode": int(draw(st.booleans()))}
    if op == "AveragePool":
        attrs["count_include_pad"] = int(draw(st.booleans()))
        if attrs["count_include_pad"]:
            attrs["ceil_mode"] = 0
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    x = rng.standard_normal((2, 3, h, w)).astype(np.float32)
    return _model(helper.make_node(op, ["x"], ["y"], **attrs), x.shape, {}), x


@given(pool_cases())
def test_random_pool_matches_ort(case: tuple[bytes, np.ndarray]) -> None:
    _compare(*case)


@st.composite
def gemm_cases(draw: st.DrawFn) -> tuple[bytes, np.ndarray]:
    m, k, n = draw(st.integers(1, 5)), draw(st.integers(1, 6)), draw(st.integers(1, 5))
    ta, tb = draw(st.integers(0, 1)), draw(st.integers(0, 1))
    alpha = draw(st.sampled_from([1.0, 0.5, -2.0]))
    beta = draw(st.sampled_from([1.0, 0.0, 3.0]))
    c_shape = draw(st.sampled_from([None, (n,), (1, n), (m, n), (m, 1), ()]))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    inits = {"B": rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)}
    ins = ["x", "B"]
    if c_shape is not None:
        inits["C"] = rng.standard_normal(c_shape).astype(np.float32)
        ins.append("C")
    node = helper.make_node("Gemm", ins, ["y"], alpha=alpha, beta=beta, transA=ta, transB=tb)
    x = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    return _model(node, x.shape, inits), x


@given(gemm_cases())
def test_random_gemm_matches_ort(case: tuple[bytes, np.ndarray]) -> None:
    _compare(*case)
