"""Post-training quantization of a float graph to int8 (TFLite conventions).

* Activations: asymmetric per-tensor int8 from the calibration min/max, widened to include 0
  so that zero (padding, ReLU floor) is exact.
* conv2d weights: symmetric per-channel int8 (axis 0, range [-127, 127], zero point 0).
* fully_connected weights: symmetric per-tensor, as the TFLite converter does by default
  (every TFLite runtime supports it; per-channel FC is not universal).
* Biases: int32, scale ``s_in * s_w`` per output channel, zero point 0.
* Ops whose TFLite kernels need equal input and output parameters (pooling, reshape,
  transpose, pad, mean) pass the input's parameters through; softmax outputs use the
  fixed 1/256, -128 of TFLite.

The fixed-point requantization helpers that int8 kernels use live in ``tte.numerics.fixedpoint``
and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from tte.errors import TteError
from tte.ir import Graph, QuantParams, Tensor
from tte.layout import feeds_to_ir
from tte.numerics.fixedpoint import (  # noqa: F401  (re-exported API)
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
    tflite_round,
)
from tte.reference import execute
from tte.reference.activation_ops import FIXED_OUTPUT_QUANT

_PASS_THROUGH = {"maxpool2d", "avgpool2d", "reshape", "transpose", "pad", "mean"}
_PASS_THROUGH |= {"slice"}   # concat takes its own range: its inputs are requantized to it
_FLOAT_ONLY = {"matmul"}
SOFTMAX_QUANT = (1.0 / 256.0, -128)


def asymmetric_params(lo: float, hi: float) -> QuantParams:
    """int8 asymmetric parameters covering [lo, hi] and 0."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi - lo < 1e-8:
        hi = lo + 1e-8
    scale = np.float32((hi - lo) / 255.0)
    zp = int(np.clip(tflite_round(-128.0 - lo / float(scale)), -128, 127))
    return QuantParams(scale, zp)


def quantize_symmetric(w: np.ndarray, axis: int | None, headroom: float = 1.0) -> tuple[np.ndarray, QuantParams]:
    """int8 symmetric weights in [-127, 127], per channel along ``axis`` or per tensor; the
    largest magnitude maps to ``127 * headroom``."""
    w = np.asarray(w, np.float32)
    if axis is None:
        amax = np.array([np.abs(w).max(initial=0.0)], np.float64)
    else:
        amax = np.abs(np.moveaxis(w, axis, 0)).reshape(w.shape[axis], -1).max(axis=1).astype(np.float64)
    scale = np.where(amax > 0, amax / (127.0 * headroom), 1.0).astype(np.float32)
    shape = [1] * w.ndim
    if axis is not None:
        shape[axis] = -1
    q = np.clip(tflite_round(w / scale.reshape(shape)), -127, 127).astype(np.int8)
    return q, QuantParams(scale, np.zeros(len(scale), np.int64), axis)


def calibrate(graph: Graph, calibration: np.ndarray | Mapping[str, np.ndarray], *,
              batch_size: int = 32) -> dict[str, tuple[float, float]]:
    """Min/max of every activation tensor over the calibration set (source layout)."""
    feeds = feeds_to_ir(graph, calibration)
    n = len(next(iter(feeds.values())))
    if n == 0:
        raise TteError("calibration set is empty")
    ranges: dict[str, tuple[float, float]] = {}
    for start in range(0, n, batch_size):
        chunk = {k: v[start:start + batch_size] for k, v in feeds.items()}
        values = execute(graph, chunk, keep_all=True)
        for name, arr in values.items():
            if graph.tensors[name].is_const or arr.dtype != np.float32:
                continue
            lo, hi = float(arr.min()), float(arr.max())
            if not (np.isfinite(lo) and np.isfinite(hi)):
                raise TteError(f"calibration produced non-finite values in tensor '{name}'")
            old = ranges.get(name)
            ranges[name] = (lo, hi) if old is None else (min(old[0], lo), max(old[1], hi))
    return ranges


def quantize_graph(graph: Graph, calibration: np.ndarray | Mapping[str, np.ndarray], *,
                   headroom: float = 1.0) -> Graph:
    """Post-training quantization: a new int8 Graph with int8 inputs and outputs.

    ``headroom`` < 1 prepares a model for on-device training: the largest weight maps to
    ``127 * headroom`` and activation ranges are widened by ``1 / headroom`` (not the graph
    input), so trained weights and activations can grow instead of saturating.
    """
    if not 0.0 < headroom <= 1.0:
        raise TteError(f"headroom must lie in (0, 1], got {headroom}")
    if graph.is_quantized:
        raise TteError(f"graph '{graph.name}' is already quantized")
    bad = sorted({n.op for n in graph.nodes if n.op in _FLOAT_ONLY})
    if bad:
        raise TteError(f"cannot quantize op(s) {', '.join(bad)}: no int8 kernel "
                       "(a matmul of two variables has no TFLite int8 equivalent)")
    graph.validate()
    ranges = calibrate(graph, calibration)
    q = graph.copy()
    q.name = graph.name
    q.meta = {**graph.meta, "quantized_by": "tte.numerics.quantize"}
    params: dict[str, QuantParams] = {}
    for name in q.inputs:
        params[name] = asymmetric_params(*ranges[name])
    for node in q.nodes:
        out = node.outputs[0]
        if node.op in _PASS_THROUGH:
            params[out] = params[node.inputs[0]]
        elif node.op == "softmax":
            params[out] = QuantParams(*SOFTMAX_QUANT)
        elif node.op in FIXED_OUTPUT_QUANT:
            params[out] = QuantParams(*FIXED_OUTPUT_QUANT[node.op])
        else:
            lo, hi = ranges[out]
            params[out] = asymmetric_params(lo / headroom, hi / headroom)
        _quantize_constants(q, node, params, headroom)
    for name, p in params.items():
        t = q.tensors[name]
        q.tensors[name] = Tensor(t.name, t.shape, "int8", None, p, t.source_perm)
    q.validate()
    return q


def _quantize_constants(q: Graph, node, params: dict[str, QuantParams],  # type: ignore[no-untyped-def]
                        headroom: float = 1.0) -> None:
    """Weights, biases and constant operands of one node, in place."""
    if node.op in ("conv2d", "fully_connected"):
        x, w_name = node.inputs[0], node.inputs[1]
        w = q.tensors[w_name]
        if w.data is None:
            raise TteError(f"{node.op} weights '{w_name}' are not constant; only constant "
                           "weights can be quantized", node=node.name)
        axis = 0 if node.op == "conv2d" else None
        wq, wp = quantize_symmetric(w.data, axis, headroom)
        q.tensors[w_name] = Tensor(w_name, w.shape, "int8", wq, wp)
        b_name = node.inputs[2] if len(node.inputs) > 2 else ""
        if b_name:
            b = q.tensors[b_name]
            assert b.data is not None
            bscale = (params[x].scale.astype(np.float64) * wp.scale.astype(np.float64)).astype(np.float32)
            real = b.data.astype(np.float64) / bscale.astype(np.float64)
            bq = np.clip(tflite_round(real), -(2 ** 31), 2 ** 31 - 1).astype(np.int32)
            bp = QuantParams(bscale, np.zeros(len(bscale), np.int64), wp.axis)
            q.tensors[b_name] = Tensor(b_name, b.shape, "int32", bq, bp)
        return
    for name in node.inputs:
        t = q.tensors.get(name) if name else None
        if t is not None and t.data is not None and t.dtype == "float32":
            p = asymmetric_params(float(t.data.min()), float(t.data.max()))
            data = np.clip(tflite_round(t.data / p.scale[0]) + p.zero_point[0], -128, 127).astype(np.int8)
            q.tensors[name] = Tensor(name, t.shape, "int8", data, p)


def dequantize_graph(q: Graph) -> Graph:
    """The float twin of an int8 graph: weights dequantized, activations float32.

    This is the paper's fp32 baseline for training a model that shipped as int8.
    """
    from tte.reference.boundary import dequantize_array

    g = q.copy()
    g.meta = {**q.meta, "dequantized_from": q.name}
    for name, t in list(g.tensors.items()):
        if t.dtype not in ("int8", "int32") or t.quant is None:
            continue
        data = None if t.data is None else dequantize_array(t.data, t.quant).astype(np.float32)
        g.tensors[name] = Tensor(name, t.shape, "float32", data, None, t.source_perm)
    for i, node in enumerate(g.nodes):
        if node.op in ("quantize", "dequantize"):
            # the boundary conversions become identities in float
            g.nodes[i] = type(node)(node.name, "reshape", node.inputs[:1], node.outputs,
                                    {"shape": g.tensors[node.outputs[0]].shape})
            g.tensors[node.outputs[0]] = Tensor(node.outputs[0], g.tensors[node.outputs[0]].shape, "float32",
                                                source_perm=g.tensors[node.outputs[0]].source_perm)
    g.validate()
    return g
