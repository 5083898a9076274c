"""Post-training quantization: parameter rules, and a quantized net that tracks its float twin."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tte
from tte.errors import TteError
from tte.ir import Graph, Tensor
from tte.numerics.quantize import asymmetric_params, quantize_symmetric
from tte.reference.boundary import dequantize_array, quantize_array

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@given(finite, finite)
def test_asymmetric_params_cover_range_and_zero(a: float, b: float) -> None:
    lo, hi = min(a, b), max(a, b)
    p = asymmetric_params(lo, hi)
    s, zp = float(p.scale[0]), int(p.zero_point[0])
    assert -128 <= zp <= 127
    # zero is exact: it dequantizes from the zero point
    assert dequantize_array(np.array([zp], np.int8), p)[0] == 0.0
    xs = np.array([min(lo, 0.0), max(hi, 0.0)], np.float32)
    back = dequantize_array(quantize_array(xs, p), p)
    assert np.all(np.abs(back - xs) <= s * 0.5 + 1e-6 * max(1.0, abs(lo), abs(hi)))


@given(st.integers(1, 6), st.integers(1, 9), st.integers(0, 2**16))
def test_symmetric_per_channel(cout: int, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((cout, k)) * rng.uniform(1e-3, 10, (cout, 1))).astype(np.float32)
    w[0] = 0.0  # an all-zero channel must not divide by zero
    q, p = quantize_symmetric(w, axis=0)
    assert p.axis == 0 and np.all(p.zero_point == 0)
    assert q.dtype == np.int8 and q.min() >= -127
    err = np.abs(q.astype(np.float32) * p.scale[:, None] - w)
    assert np.all(err <= p.scale[:, None] * 0.5 * (1 + 1e-6))
    for c in range(1, cout):
        assert np.abs(q[c]).max() == 127


def small_float_net(seed: int = 0) -> Graph:
    """conv3x3+relu6 -> depthwise3x3 s2 + relu6 -> residual-free pointwise -> avgpool -> fc."""
    rng = np.random.default_rng(seed)
    g = Graph("small")
    g.add_tensor(Tensor("x", (1, 12, 12, 3), source_perm=(0, 3, 1, 2)))
    g.inputs = ["x"]

    def const(name: str, shape: tuple[int, ...], scale: float) -> str:
        g.add_const(name, (rng.standard_normal(shape) * scale).astype(np.float32))
        return name

    g.add_node("conv2d", ["x", const("c1.w", (8, 3, 3, 3), 0.4), const("c1.b", (8,), 0.1)], "a1",
               {"pads": (1, 1, 1, 1), "activation": "relu6"})
    g.add_node("conv2d", ["a1", const("dw.w", (8, 3, 3, 1), 0.5), const("dw.b", (8,), 0.1)], "a2",
               {"pads": (1, 1, 1, 1), "strides": (2, 2), "groups": 8, "activation": "relu6"})
    g.add_node("conv2d", ["a2", const("pw.w", (6, 1, 1, 8), 0.4), const("pw.b", (6,), 0.1)], "a3")
    g.add_node("add", ["a3", "a3"], "a4")
    g.add_node("avgpool2d", ["a4"], "a5", {"kernel": (6, 6), "strides": (6, 6)})
    g.add_node("reshape", ["a5"], "a6", {"shape": (1, 6)})
    g.add_node("fully_connected", ["a6", const("fc.w", (4, 6), 0.5), const("fc.b", (4,), 0.1)], "y")
    g.outputs = ["y"]
    g.validate()
    return g


def test_quantized_net_tracks_float() -> None:
    g = small_float_net()
    rng = np.random.default_rng(1)
    xs = rng.uniform(-1, 1, (64, 3, 12, 12)).astype(np.float32)  # NCHW, the source layout
    q = tte.quantize(g, calibration=xs[:48])
    assert q.tensors["x"].dtype == "int8" and q.tensors["y"].dtype == "int8"
    assert q.tensors["c1.w"].quant.axis == 0 and len(q.tensors["c1.w"].quant.scale) == 8
    assert q.tensors["fc.w"].quant.axis is None
    assert q.tensors["c1.b"].dtype == "int32"
    # pooling and reshape pass their input's parameters through (TFLite requires it)
    assert q.tensors["a5"].quant == q.tensors["a4"].quant == q.tensors["a6"].quant
    yf = tte.run(g, xs[48:])
    yq = tte.run(q, xs[48:])
    span = float(yf.max() - yf.min())
    assert np.abs(yq - yf).max() < 0.08 * span
    # int8 in -> int8 out
    xq = quantize_array(np.transpose(xs[48:], (0, 2, 3, 1)), q.tensors["x"].quant)
    y8 = tte.run(q, np.transpose(xq, (0, 3, 1, 2)))
    assert y8.dtype == np.int8
    np.testing.assert_array_equal(dequantize_array(y8, q.tensors["y"].quant), yq)


def test_quantize_refuses_bad_graphs() -> None:
    g = small_float_net()
    xs = np.zeros((4, 3, 12, 12), np.float32)
    q = tte.quantize(g, calibration=xs)
    with pytest.raises(TteError, match="already quantized"):
        tte.quantize(q, calibration=xs)
    with pytest.raises(TteError, match=r"expects shape \(N, 3, 12, 12\)"):
        tte.quantize(g, calibration=np.zeros((4, 12, 12, 3), np.float32))
    with pytest.raises(TteError, match="empty"):
        tte.quantize(g, calibration=np.zeros((0, 3, 12, 12), np.float32))
    m = Graph("mm")
    m.add_tensor(Tensor("a", (2, 3)))
    m.add_tensor(Tensor("b", (3, 4)))
    m.inputs = ["a", "b"]
    m.add_node("matmul", ["a", "b"], "c")
    m.outputs = ["c"]
    with pytest.raises(TteError, match="matmul"):
        tte.quantize(m, calibration={"a": np.zeros((1, 2, 3), np.float32)})


def test_headroom_leaves_room_to_grow() -> None:
    g = small_float_net()
    xs = np.random.default_rng(2).uniform(-1, 1, (32, 3, 12, 12)).astype(np.float32)
    q1 = tte.quantize(g, calibration=xs)
    q = tte.quantize(g, calibration=xs, headroom=0.75)
    w = q.tensors["c1.w"]
    assert np.abs(w.data).max() == round(127 * 0.75)
    np.testing.assert_allclose(w.quant.scale, q1.tensors["c1.w"].quant.scale / 0.75, rtol=1e-6)
    span = float(q.tensors["a3"].quant.scale[0]) / float(q1.tensors["a3"].quant.scale[0])
    assert span == pytest.approx(1 / 0.75, rel=0.02)
    yf, yq = tte.run(g, xs), tte.run(q, xs)
    assert np.abs(yq - yf).max() < 0.1 * float(yf.max() - yf.min())
    with pytest.raises(TteError, match="headroom"):
        tte.quantize(g, calibration=xs, headroom=1.5)
