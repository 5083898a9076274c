"""The graph IR every part of tte speaks: Graph, Node, Tensor, QuantParams.

Conventions (the contract between frontends, reference, quantizer, exporter):

* Layout is NHWC for every 4-D activation. Conv weights are ``[Cout, kh, kw, Cin/groups]``;
  a depthwise conv is a ``conv2d`` with ``groups == Cin`` (weights ``[Cout, kh, kw, 1]``).
  Fully-connected weights are ``[N, K]``.
* A graph input/output may carry ``source_perm``: the axis permutation that turns the IR
  array into the source model's layout (``np.transpose(ir_value, source_perm)``), so that
  ``tte.run`` speaks the layout of the file the user brought.
* int8 graphs follow TFLite: activations int8 asymmetric per-tensor; conv weights int8
  symmetric per-channel along axis 0 (zero point 0); fully-connected weights int8 symmetric
  per-tensor; biases int32 with scale ``s_in * s_w`` and zero point 0. The fused activation
  of an int8 op is applied as a clamp in the quantized domain.
* Tensor names come from the source model, so a weight is found by its original name.

Each op type is described in ``OPS``: its inputs, attributes with defaults, and a shape
function used both to build graphs and to validate them.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tte.errors import GraphError

DTYPES = ("float32", "int8", "int16", "int32", "int64", "uint8", "bool")
ACTIVATIONS = ("none", "relu", "relu6")


@dataclass
class QuantParams:
    """Affine quantization: ``real = scale * (q - zero_point)``.

    ``axis`` is None for per-tensor parameters (scale and zero_point of length 1) and the
    quantized dimension for per-channel ones.
    """

    scale: np.ndarray
    zero_point: np.ndarray
    axis: int | None = None

    def __post_init__(self) -> None:
        self.scale = np.atleast_1d(np.asarray(self.scale, dtype=np.float32))
        self.zero_point = np.atleast_1d(np.asarray(self.zero_point, dtype=np.int64))
        if self.scale.shape != self.zero_point.shape:
            raise GraphError(f"quantization scale {self.scale.shape} and zero point "
                             f"{self.zero_point.shape} differ in length")
        if not np.all(np.isfinite(self.scale)) or np.any(self.scale <= 0):
            raise GraphError("quantization scale must be finite and positive")

    @property
    def per_channel(self) -> bool:
        return self.axis is not None

    def broadcast_shape(self, rank: int) -> tuple[int, ...]:
        """Shape that broadcasts scale/zero_point against a tensor of this rank."""
        if self.axis is None:
            return (1,) * rank
        shape = [1] * rank
        shape[self.axis] = -1
        return tuple(shape)

    def describe(self) -> str:
        if self.axis is None:
            return f"scale={float(self.scale[0]):.6g} zp={int(self.zero_point[0])}"
        return (f"per-channel axis={self.axis} n={len(self.scale)} "
                f"scale=[{float(self.scale.min()):.3g}..{float(self.scale.max()):.3g}]")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QuantParams):
            return NotImplemented
        return (self.axis == other.axis and np.array_equal(self.scale, other.scale)
                and np.array_equal(self.zero_point, other.zero_point))


@dataclass
class Tensor:
    """A value in the graph. ``data`` is set for constants (weights, biases)."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"
    data: np.ndarray | None = None
    quant: QuantParams | None = None
    source_perm: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        self.shape = tuple(int(d) for d in self.shape)
        if self.dtype not in DTYPES:
            raise GraphError(f"tensor '{self.name}': unknown dtype {self.dtype}")
        if self.data is not None:
            self.data = np.asarray(self.data, dtype=self.dtype)
            if self.data.shape != self.shape:
                raise GraphError(f"tensor '{self.name}': data shape {self.data.shape} "
                                 f"does not match declared shape {self.shape}")

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return int(math.prod(self.shape))

    @property
    def nbytes(self) -> int:
        return self.size * np.dtype(self.dtype).itemsize


@dataclass
class Node:
    """One operation. Absent optional inputs are the empty string."""

    name: str
    op: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------
# Op table: inputs, attributes and shape functions.

ShapeFn = Callable[[list["Tensor | None"], dict[str, Any]], list[tuple[int, ...]]]


@dataclass(frozen=True)
class OpSpec:
    inputs: tuple[str, ...]          # input roles, in order
    optional: int                    # how many trailing inputs may be absent
    attrs: dict[str, Any]            # attribute defaults
    shape: ShapeFn
    doc: str = ""


def _pool_out(size: int, k: int, s: int, p0: int, p1: int, d: int = 1) -> int:
    return (size + p0 + p1 - d * (k - 1) - 1) // s + 1


def _conv_shape(ins: list[Tensor | None], a: dict[str, Any]) -> list[tuple[int, ...]]:
    x, w, b = ins[0], ins[1], ins[2] if len(ins) > 2 else None
    assert x is not None and w is not None
    if len(x.shape) != 4 or len(w.shape) != 4:
        raise GraphError(f"conv2d expects 4-D NHWC input and 4-D weights, got {x.shape} and {w.shape}")
    n, h, wd, c = x.shape
    cout, kh, kw, cin_g = w.shape
    g = a["groups"]
    if c != cin_g * g or cout % g:
        raise GraphError(f"conv2d: input channels {c} do not match weights {w.shape} with groups={g}")
    if b is not None and b.shape != (cout,):
        raise GraphError(f"conv2d: bias shape {b.shape} does not match {cout} output channels")
    (sh, sw), (dh, dw) = a["strides"], a["dilations"]
    pt, pl, pb, pr = a["pads"]
    oh, ow = _pool_out(h, kh, sh, pt, pb, dh), _pool_out(wd, kw, sw, pl, pr, dw)
    if oh <= 0 or ow <= 0:
        raise GraphError(f"conv2d: kernel {kh}x{kw} larger than padded input {h}x{wd}")
    return [(n, oh, ow, cout)]


def _fc_shape(ins: list[Tensor | None], a: dict[str, Any]) -> list[tuple[int, ...]]:
    x, w, b = ins[0], ins[1], ins[2] if len(ins) > 2 else None
    assert x is not None and w is not None
    if len(w.shape) != 2 or x.shape[-1] != w.shape[1]:
        raise GraphError(f"fully_connected: input {x.shape} does not match weights {w.shape} ([N, K])")
    if b is not None and b.shape != (w.shape[0],):
        raise GraphError(f"fully_connected: bias shape {b.shape} does not match {w.shape[0]} outputs")
    return [tuple(x.shape[:-1]) + (w.shape[0],)]


def _matmul_shape(ins: list[Tensor | None], a: dict[str, Any]) -> list[tuple[int, ...]]:
    x, y = ins[0], ins[1]
    assert x is not None and y is not None
    a, b = list(x.shape), list(y.shape)
    if not a or not b:
        raise GraphError(f"matmul: scalar operand in {x.shape} x {y.shape}")
    a1, b1 = len(a) == 1, len(b) == 1
    a = [1] + a if a1 else a
    b = b + [1] if b1 else b
    if a[-1] != b[-2]:
        raise GraphError(f"matmul: shapes {x.shape} and {y.shape} do not multiply")
    try:
        batch = list(np.broadcast_shapes(tuple(a[:-2]), tuple(b[:-2])))
    except ValueError as e:
        raise GraphError(f"matmul: batch dimensions of {x.shape} and {y.shape} do not broadcast") from e
    return [tuple(batch + ([] if a1 else [a[-2]]) + ([] if b1 else [b[-1]]))]


def _broadcast_shape(ins: list[Tensor | None], a: dict[str, Any]) -> list[tuple[int, ...]]:
    shapes = [t.shape for t in ins if t is not None]
    try:
        return [tuple(np.broadcast_shapes(*shapes))]
    except ValueError as e:
        raise GraphError(f"shapes {shapes} do not broadcast") from e


def _same_shape(ins: list[Tensor | None], a: dict[str, Any]) -> list[tuple[int, ...]]:
    assert ins[0] is not None
    return [ins[0].shape]


def _gather_shape(ins: list[Tensor | None], a: dict[str, Any]) -> list[tuple[int, ...]]:
    assert ins[0] is not None
    return [(*ins[0].shape[:-1], len(a["channels"]))]


def _scatter_shape(ins: list[Tensor | None], a: dict[str, Any]) -> list[tuple[int, ...]]:
    assert ins[0] is not None
    return [(*ins[0].shape[:-1], int(a["in_c"]))]


def _pool_shape(ins: list[Tensor | None], a: dict[str, Any]) -> list[tuple[int, ...]]:
    x = ins[0]
    assert x is not None
    if len(x.shape) != 4:
        raise GraphError(f"2-D pooling expects a 4-D NHWC input, got {x.shape}")
    n, h, w, c = x.shape
    (kh, kw), (sh, sw) = a["kernel"], a["strides"]
    pt, pl, pb, pr = a["pads"]
    oh, ow = _pool_out(h, kh, sh, pt, pb), _pool_out(w, kw, sw, pl, pr)
    if oh <= 0 or ow <= 0:
        raise GraphError(f"pool kernel {kh}x{kw} larger than padded input {h}x{w}")
    return [(n, oh, ow, c)]


def _mean_shape(ins: list[Tensor | None], a: dict[str, Any]) -> list[tuple[int, ...]]:
    x = ins[0]
    assert x is not None
    r = len(x.shape)
    axes = {ax % r for ax in a["axes"]} if a["axes"] else set(range(r))
    if a["keepdims"]:
        return [tuple(1 if i in axes else d for i, d in enumerate(x.shape))]
    return [tuple(d for i, d in enumerate(x.shape) if i not in axes)]


def _reshape_shape(ins: list[Tensor | None], a: dict[str, Any]) -> list[tuple[int, ...]]:
    x = ins[0]
    assert x is not None
    shape = tuple(int(d) for d in a["shape"])
    if math.prod(shape) != x.size:
        raise GraphError(f"reshape: cannot reshape {x.shape} ({x.size} elements) to {shape}")
    return [shape]


def _transpose_shape(ins: list[Tensor | None], a: dict[str, Any]) -> list[tuple[int, ...]]:
    x = ins[0]
    assert x is not None
    perm = tuple(a["perm"])
    if sorted(perm) != list(range(len(x.shape))):
        raise GraphError(f"transpose: perm {perm} is not a permutation of rank {len(x.shape)}")
    return [tuple(x.shape[p] for p in perm)]


def _pad_shape(ins: list[Tensor | None], a: dict[str, Any]) -> list[tuple[int, ...]]:
    x = ins[0]
    assert x is not None
    pads = a["pads"]
    if len(pads) != len(x.shape):
        raise GraphError(f"pad: {len(pads)} (before, after) pairs for a rank-{len(x.shape)} tensor")
    out = tuple(d + int(p0) + int(p1) for d, (p0, p1) in zip(x.shape, pads))
    if any(d <= 0 for d in out):
        raise GraphError(f"pad: negative padding removes the whole tensor {x.shape}")
    return [out]


def _softmax_shape(ins: list[Tensor | None], a: dict[str, Any]) -> list[tuple[int, ...]]:
    x = ins[0]
    assert x is not None
    if not -len(x.shape) <= a["axis"] < len(x.shape):
        raise GraphError(f"softmax: axis {a['axis']} out of range for rank {len(x.shape)}")
    return [x.shape]


_CONV_ATTRS = {"strides": (1, 1), "pads": (0, 0, 0, 0), "dilations": (1, 1), "groups": 1,
               "activation": "none"}
_POOL_ATTRS = {"kernel": (1, 1), "strides": (1, 1), "pads": (0, 0, 0, 0), "activation": "none"}

OPS: dict[str, OpSpec] = {
    "conv2d": OpSpec(("x", "w", "b"), 1, dict(_CONV_ATTRS), _conv_shape,
                     "NHWC conv; w [Cout,kh,kw,Cin/groups]; depthwise when groups == Cin; "
                     "pads (top, left, bottom, right)"),
    "fully_connected": OpSpec(("x", "w", "b"), 1, {"activation": "none"}, _fc_shape,
                              "y[..., n] = sum_k x[..., k] * w[n, k] + b[n]"),
    "matmul": OpSpec(("a", "b"), 0, {}, _matmul_shape, "numpy matmul of two variables (float only)"),
    "add": OpSpec(("a", "b"), 0, {"activation": "none"}, _broadcast_shape, "broadcasting add"),
    "mul": OpSpec(("a", "b"), 0, {"activation": "none"}, _broadcast_shape, "broadcasting multiply"),
    "relu": OpSpec(("x",), 0, {}, _same_shape, "max(x, 0)"),
    "clip": OpSpec(("x",), 0, {"min": None, "max": None}, _same_shape,
                   "clamp to [min, max]; None means unbounded (relu6 is clip(0, 6))"),
    "avgpool2d": OpSpec(("x",), 0, {**_POOL_ATTRS, "count_include_pad": False}, _pool_shape,
                        "NHWC average pool; padding excluded from the count unless count_include_pad"),
    "maxpool2d": OpSpec(("x",), 0, dict(_POOL_ATTRS), _pool_shape, "NHWC max pool; padding never wins"),
    "mean": OpSpec(("x",), 0, {"axes": (), "keepdims": True}, _mean_shape,
                   "mean over axes (all axes when empty)"),
    "reshape": OpSpec(("x",), 0, {"shape": ()}, _reshape_shape, "static reshape"),
    "transpose": OpSpec(("x",), 0, {"perm": ()}, _transpose_shape, "axis permutation"),
    "softmax": OpSpec(("x",), 0, {"axis": -1, "beta": 1.0}, _softmax_shape,
                      "softmax(beta * x) along axis"),
    "pad": OpSpec(("x",), 0, {"pads": (), "value": 0.0}, _pad_shape,
                  "constant pad; pads is ((before, after), ...) per axis; int8 pads with the zero point"),
    "quantize": OpSpec(("x",), 0, {}, _same_shape,
                       "float -> int8 with the output's quant params (or int8 -> int8 rescale)"),
    "dequantize": OpSpec(("x",), 0, {}, _same_shape, "int8 -> float with the input's quant params"),
}

# Activations and elementwise ops of TinyML models (int8: TFLite's kernels; tte.reference.activation_ops)
ACTIVATION_OPS: dict[str, OpSpec] = {
    "logistic": OpSpec(("x",), 0, {}, _same_shape, "sigmoid 1 / (1 + exp(-x)); int8 computes in 1/256, -128"),
    "tanh": OpSpec(("x",), 0, {}, _same_shape, "tanh(x); int8 computes in 1/128, 0"),
    "hard_swish": OpSpec(("x",), 0, {}, _same_shape, "x * relu6(x + 3) / 6"),
    "leaky_relu": OpSpec(("x",), 0, {"alpha": 0.01}, _same_shape, "x if x >= 0 else alpha * x"),
    "gelu": OpSpec(("x",), 0, {"approximate": False}, _same_shape,
                   "x * Phi(x); approximate: the tanh form"),
    "sub": OpSpec(("a", "b"), 0, {"activation": "none"}, _broadcast_shape, "broadcasting a - b"),
    "maximum": OpSpec(("a", "b"), 0, {}, _broadcast_shape, "broadcasting elementwise max"),
    "minimum": OpSpec(("a", "b"), 0, {}, _broadcast_shape, "broadcasting elementwise min"),
    "rsqrt": OpSpec(("x",), 0, {}, _same_shape, "1 / sqrt(x)"),
    "l2_normalize": OpSpec(("x",), 0, {"epsilon": 1e-6}, _same_shape,
                           "x / max(||x||, epsilon) over the last axis; int8 computes in 1/128, 0"),
}
OPS.update(ACTIVATION_OPS)


# ---- training ops: produced by tte.training.autodiff, never by a frontend --------------------------
# Channel subsets (``out_channels`` / ``in_channels``) are tuples of indices; empty means all.


def _sel(n: int, subset: tuple[int, ...], what: str) -> int:
    if not subset:
        return n
    if len(set(subset)) != len(subset) or min(subset) < 0 or max(subset) >= n:
        raise GraphError(f"{what} subset {subset} is not a set of distinct indices below {n}")
    return len(subset)


def _given_shape(key: str) -> ShapeFn:
    def fn(ins: list[Tensor | None], a: dict[str, Any]) -> list[tuple[int, ...]]:
        return [tuple(int(d) for d in a[key])]
    return fn


def _conv_grad_weight_shape(ins: list[Tensor | None], a: dict[str, Any]) -> list[tuple[int, ...]]:
    x, dy = ins[0], ins[1]
    assert x is not None and dy is not None
    cout, cin_g = dy.shape[-1], x.shape[-1] // a["groups"]
    kh, kw = a["kernel"]
    return [(_sel(cout, a["out_channels"], "out_channels"), kh, kw,
             _sel(cin_g, a["in_channels"], "in_channels"))]


def _fc_grad_weight_shape(ins: list[Tensor | None], a: dict[str, Any]) -> list[tuple[int, ...]]:
    x, dy = ins[0], ins[1]
    assert x is not None and dy is not None
    return [(_sel(dy.shape[-1], a["out_channels"], "out_channels"),
             _sel(x.shape[-1], a["in_channels"], "in_channels"))]


def _bias_grad_shape(ins: list[Tensor | None], a: dict[str, Any]) -> list[tuple[int, ...]]:
    dy = ins[0]
    assert dy is not None
    return [(_sel(dy.shape[-1], a["out_channels"], "out_channels"),)]


def _fc_grad_input_shape(ins: list[Tensor | None], a: dict[str, Any]) -> list[tuple[int, ...]]:
    dy, w = ins[0], ins[1]
    assert dy is not None and w is not None
    return [tuple(dy.shape[:-1]) + (w.shape[1],)]


def _scalar_shape(ins: list[Tensor | None], a: dict[str, Any]) -> list[tuple[int, ...]]:
    return [()]


_SUBSETS = {"out_channels": (), "in_channels": ()}
_UPDATE_ATTRS = {"lr": 0.01, **_SUBSETS, "qas": True, "rounding": "nearest", "seed": 0}
_CONV_GEOMETRY = {k: v for k, v in _CONV_ATTRS.items() if k != "activation"}

TRAINING_OPS: dict[str, OpSpec] = {
    "conv2d_grad_input": OpSpec(("dy", "w"), 0, {**_CONV_GEOMETRY, "input_shape": ()},
                                _given_shape("input_shape"), "dL/dx of conv2d"),
    "conv2d_grad_weight": OpSpec(("x", "dy"), 0, {**_CONV_GEOMETRY, "kernel": (1, 1), **_SUBSETS},
                                 _conv_grad_weight_shape, "dL/dw of conv2d for the selected channels"),
    "fc_grad_input": OpSpec(("dy", "w"), 0, {}, _fc_grad_input_shape, "dL/dx of fully_connected"),
    "fc_grad_weight": OpSpec(("x", "dy"), 0, dict(_SUBSETS), _fc_grad_weight_shape,
                             "dL/dw of fully_connected for the selected rows/columns"),
    "bias_grad": OpSpec(("dy",), 0, {"out_channels": ()}, _bias_grad_shape,
                        "dL/db: dy summed over every axis but the last"),
    "act_mask": OpSpec(("y",), 0, {"activation": "relu", "min": None, "max": None}, _same_shape,
                       "bool mask where the activation passed its input through (saved in forward)"),
    "mask_grad": OpSpec(("dy", "mask"), 0, {}, _same_shape, "dy where mask else 0"),
    "avgpool2d_grad": OpSpec(("dy",), 0, {**_POOL_ATTRS, "count_include_pad": False, "input_shape": ()},
                             _given_shape("input_shape"), "dL/dx of avgpool2d"),
    "mean_grad": OpSpec(("dy",), 0, {"axes": (), "keepdims": True, "input_shape": ()},
                        _given_shape("input_shape"), "dL/dx of mean"),
    "softmax_grad": OpSpec(("y", "dy"), 0, {"axis": -1, "beta": 1.0}, _same_shape,
                           "dL/dx of softmax from its output y"),
    "sum_to_shape": OpSpec(("x",), 0, {"shape": ()}, _given_shape("shape"),
                           "sum a broadcast gradient back to an operand's shape"),
    "softmax_ce_loss": OpSpec(("logits", "label"), 0, {}, _scalar_shape,
                              "mean softmax cross-entropy over the batch; label holds class indices"),
    "softmax_ce_grad": OpSpec(("logits", "label"), 0, {}, _same_shape,
                              "(softmax(logits) - onehot(label)) / batch"),
    "mse_loss": OpSpec(("y", "target"), 0, {}, _scalar_shape, "mean squared error"),
    "mse_grad": OpSpec(("y", "target"), 0, {}, _same_shape, "2 (y - target) / size"),
    "sgd_update": OpSpec(("w", "grad", "step"), 1, dict(_UPDATE_ATTRS), _same_shape,
                         "w - lr * grad on the selected channels (axis 0 out, last axis in), in place; "
                         "quantized w: QAS-scaled integer step, rounded to nearest or stochastically "
                         "(then 'step' is the int32 step counter)"),
    "momentum": OpSpec(("velocity", "grad"), 0, {"momentum": 0.9}, _same_shape,
                       "velocity * momentum + grad (SGD with momentum; the velocity persists across steps)"),
    # Fused gradient + update (built by tte.compiler.schedule): no full gradient buffer is ever materialized.
    "conv2d_weight_update": OpSpec(("w", "x", "dy", "step"), 1,
                                   {**_CONV_GEOMETRY, "kernel": (1, 1), **_UPDATE_ATTRS}, _same_shape,
                                   "sgd_update(w, conv2d_grad_weight(x, dy)) in one pass, in place"),
    "fc_weight_update": OpSpec(("w", "x", "dy", "step"), 1, dict(_UPDATE_ATTRS), _same_shape,
                               "sgd_update(w, fc_grad_weight(x, dy)) in one pass, in place"),
    "bias_update": OpSpec(("b", "dy", "step"), 1, dict(_UPDATE_ATTRS), _same_shape,
                          "sgd_update(b, bias_grad(dy)) in one pass, in place"),
    # built by tte.compiler.snapshot: the weight before its in-place update, for an input gradient run after it
    "weight_snapshot": OpSpec(("w",), 0, {}, _same_shape, "a copy of w"),
    # built by tte.compiler.keep_channels: only a split weight's trained input channels of x kept for the backward
    "channels_gather": OpSpec(("x",), 0, {"channels": ()}, _gather_shape, "x[..., channels], packed"),
    "channels_scatter": OpSpec(("x",), 0, {"channels": (), "in_c": 0}, _scatter_shape,
                               "x back in channels of in_c (the others x's zero point)"),
}
OPS.update(TRAINING_OPS)


def _shape_of_input(i: int) -> ShapeFn:
    def fn(ins: list[Tensor | None], a: dict[str, Any]) -> list[tuple[int, ...]]:
        t = ins[i]
        assert t is not None
        return [t.shape]
    return fn


# Backward ops of the activation family (tte.training.activation_rules)
ACTIVATION_GRAD_OPS: dict[str, OpSpec] = {
    "activation_grad": OpSpec(("t", "dy"), 0, {"fn": "logistic", "alpha": 0.01}, _shape_of_input(1),
                              "dy * f'(t): t is the op's output for logistic/tanh, its input for "
                              "hard_swish/gelu/gelu_tanh/leaky_relu; an int8 t reads a 256-entry table"),
    "minmax_grad": OpSpec(("a", "b", "dy"), 0, {"op": "maximum", "input": 0},
                          _shape_of_input(2),
                          "dy where input 'input' of maximum/minimum won, half of dy on ties"),
    "neg": OpSpec(("x",), 0, {}, _same_shape, "-x"),
}
TRAINING_OPS.update(ACTIVATION_GRAD_OPS)
OPS.update(ACTIVATION_GRAD_OPS)


# ---- fused ops: produced by compiler passes (tte.compiler.fuse), never by a frontend ----------------


@dataclass
class FusedChain:
    """The original nodes a fused op stands for, in order, and the descriptors (shape,
    dtype, quantization; no data) of the tensors that pass between them and exist nowhere
    else. ``output`` describes the chain's result (the fused node's output)."""

    nodes: tuple[Node, ...]
    intermediates: tuple[Tensor, ...]
    output: Tensor

    def tensor(self, name: str) -> Tensor | None:
        for t in self.intermediates:
            if t.name == name:
                return t
        return self.output if name == self.output.name else None

    def __repr__(self) -> str:
        return "chain(" + " -> ".join(n.name for n in self.nodes) + ")"


def _chain_shape(ins: list[Tensor | None], a: dict[str, Any]) -> list[tuple[int, ...]]:
    chain = a["chain"]
    if not isinstance(chain, FusedChain):
        raise GraphError("streamed_block needs its 'chain' attribute (a FusedChain)")
    return [chain.output.shape]


def _given_outputs(ins: list[Tensor | None], a: dict[str, Any]) -> list[tuple[int, ...]]:
    if not isinstance(a["chain"], FusedChain):
        raise GraphError("a fused op needs its 'chain' attribute (a FusedChain)")
    return [tuple(s) for s in a["out_shapes"]]


FUSED_OPS: dict[str, OpSpec] = {
    "streamed_block": OpSpec(("x", "w_expand", "b_expand", "w_dw", "b_dw", "w_project", "b_project"), 6,
                             {"chain": None}, _chain_shape,
                             "[conv2d ->] depthwise conv2d -> 1x1 conv2d [-> add of x], int8, computed "
                             "output row by output row: only a ring of k_h rows of the first conv's "
                             "output exists (kernel scratch); 'chain' holds the original nodes"),
    "streamed_pair": OpSpec(("x", "w_expand", "b_expand", "w_dw", "b_dw", "w_project", "b_project",
                             "w2_expand", "b2_expand", "w2_dw", "b2_dw", "w2_project", "b2_project"), 12,
                            {"chain": None}, _chain_shape,
                            "two streamed_blocks run together: the second (with an expand conv, without the "
                            "add) reads the first's output row by row as the first makes it, so only a band "
                            "of its rows exists (kernel scratch); 'chain' holds the two streamed_block nodes"),
    "dwpw_backward": OpSpec(("dz", "w_dw", "mask", "w", "x", "b", "step", "w_q", "dz_mask", "b_dw", "dy_mask"), 8,
                            {"chain": None, "roles": (), "out_shapes": (), "head": (), "depthwise": "",
                             "pool": (), "count": 0},
                            _given_outputs,
                            "depthwise input gradient -> activation mask -> a 1x1 conv's bias update, "
                            "input gradient and weight update, channel by channel: one channel of the "
                            "1x1 conv's output gradient exists at a time (kernel scratch); 'chain' holds "
                            "the original nodes, 'roles' names the outputs ('dx', 'w', 'b', 'db'). With a "
                            "'head' (names of chain nodes), 'dz' is the gradient of the 1x1 conv Q after "
                            "the depthwise (weights 'w_q') and the depthwise's masked output gradient is "
                            "made channel by channel too ('dz_mask', depthwise bias 'b_dw'); with a "
                            "'pool' (names of chain nodes), 'dz' is instead a global average pool's "
                            "gradient dy (C floats): Q's output gradient is 0 + dy / 'count' at every pixel, "
                            "masked by 'dy_mask' if given (tte.compiler.pooled.pool_heads)"),
    "pooled_update": OpSpec(("dyp", "mask", "b", "w", "x", "step", "w_gx"), 6,
                            {"chain": None, "roles": (), "out_shapes": (), "count": 1}, _given_outputs,
                            "a global average pool's input gradient through an activation mask (or none) into the "
                            "bias ('b') and weight ('w') updates and the 1x1 conv input gradient ('dx', "
                            "weights 'w_gx') of the layer below, the gradient read "
                            "element by element and never stored; 'chain' holds the original nodes"),
}
OPS.update(FUSED_OPS)


# ---- structural ops: concatenation and slicing (forward), max pool's input gradient -------------------
# concat takes 1..MAX_CONCAT inputs; an int8 concat requantizes each input to the output's parameters.

MAX_CONCAT = 16


def _concat_shape(ins: list[Tensor | None], a: dict[str, Any]) -> list[tuple[int, ...]]:
    shapes = [t.shape for t in ins if t is not None]
    if len(shapes) != len(ins):
        raise GraphError("concat: an input is missing")
    r = len(shapes[0])
    if not -r <= a["axis"] < r:
        raise GraphError(f"concat: axis {a['axis']} out of range for rank {r}")
    ax = a["axis"] % r
    for s in shapes[1:]:
        if len(s) != r or any(d != e for i, (d, e) in enumerate(zip(s, shapes[0])) if i != ax):
            raise GraphError(f"concat: shapes {shapes} differ outside axis {ax}")
    return [tuple(sum(s[ax] for s in shapes) if i == ax else d for i, d in enumerate(shapes[0]))]


def _slice_shape(ins: list[Tensor | None], a: dict[str, Any]) -> list[tuple[int, ...]]:
    x = ins[0]
    assert x is not None
    r = len(x.shape)
    begin, end = tuple(a["begin"]), tuple(a["end"])
    strides = tuple(a["strides"]) or (1,) * r
    if not len(begin) == len(end) == len(strides) == r:
        raise GraphError(f"slice: begin {begin}, end {end}, strides {strides} do not match rank {r}")
    out = []
    for d, b, e, s in zip(x.shape, begin, end, strides):
        if s <= 0 or not 0 <= b < e <= d:
            raise GraphError(f"slice: [{b}:{e}:{s}] is not a non-empty forward range of an axis of size {d}")
        out.append((e - b + s - 1) // s)
    return [tuple(out)]


def _saved_input_shape(ins: list[Tensor | None], a: dict[str, Any]) -> list[tuple[int, ...]]:
    assert ins[1] is not None
    return [ins[1].shape]


STRUCTURAL_OPS: dict[str, OpSpec] = {
    "concat": OpSpec(tuple(f"x{i}" for i in range(MAX_CONCAT)), MAX_CONCAT - 1, {"axis": -1}, _concat_shape,
                     "join the inputs along axis; int8: each input requantized to the output's parameters"),
    "slice": OpSpec(("x",), 0, {"begin": (), "end": (), "strides": ()}, _slice_shape,
                    "x[begin:end:strides] per axis (normalized: 0 <= begin < end <= dim, strides > 0)"),
    "maxpool2d_grad": OpSpec(("dy", "x"), 0, {k: v for k, v in _POOL_ATTRS.items() if k != "activation"},
                             _saved_input_shape,
                             "dL/dx of maxpool2d: dy goes to the first largest valid input of each window "
                             "(row-major scan, as PyTorch), recomputed from the saved input x"),
}
OPS.update(STRUCTURAL_OPS)
TRAINING_OPS["maxpool2d_grad"] = STRUCTURAL_OPS["maxpool2d_grad"]


def normalize_attrs(op: str, attrs: dict[str, Any]) -> dict[str, Any]:
    """Fill defaults and turn lists into tuples; reject unknown attributes."""
    spec = OPS[op]
    unknown = set(attrs) - set(spec.attrs)
    if unknown:
        raise GraphError(f"{op}: unknown attribute(s) {sorted(unknown)}")
    out = dict(spec.attrs)
    for k, v in attrs.items():
        if isinstance(v, list):
            v = tuple(tuple(e) if isinstance(e, list) else e for e in v)
        out[k] = v
    if "activation" in out and out["activation"] not in ACTIVATIONS:
        raise GraphError(f"{op}: unknown fused activation '{out['activation']}'")
    return out


# --------------------------------------------------------------------------------------


class Graph:
    """A static-shape dataflow graph with nodes kept in topological order."""

    def __init__(self, name: str = "graph") -> None:
        self.name = name
        self.tensors: dict[str, Tensor] = {}
        self.nodes: list[Node] = []
        self.inputs: list[str] = []
        self.outputs: list[str] = []
        self.meta: dict[str, Any] = {}

    # ---- building ------------------------------------------------------------------
    def add_tensor(self, t: Tensor) -> Tensor:
        if t.name in self.tensors:
            raise GraphError(f"tensor '{t.name}' defined twice")
        self.tensors[t.name] = t
        return t

    def add_const(self, name: str, data: np.ndarray, dtype: str | None = None,
                  quant: QuantParams | None = None) -> Tensor:
        arr = np.asarray(data)
        return self.add_tensor(Tensor(name, arr.shape, dtype or str(arr.dtype), arr, quant))

    def unique_name(self, base: str) -> str:
        if base not in self.tensors and all(n.name != base for n in self.nodes):
            return base
        i = 1
        names = set(self.tensors) | {n.name for n in self.nodes}
        while f"{base}_{i}" in names:
            i += 1
        return f"{base}_{i}"

    def add_node(self, op: str, inputs: Sequence[str], outputs: Sequence[str] | str,
                 attrs: dict[str, Any] | None = None, *, name: str | None = None,
                 dtype: str | None = None, quant: QuantParams | None = None) -> Node:
        """Append a node; output tensors that do not exist yet are created with the
        inferred shape, the given dtype (default: the first input's) and quant params."""
        if op not in OPS:
            raise GraphError(f"unknown op type '{op}'")
        outs = [outputs] if isinstance(outputs, str) else list(outputs)
        node = Node(name or self.unique_name(outs[0]), op, list(inputs), outs,
                    normalize_attrs(op, attrs or {}))
        shapes = self.infer_shapes(node)
        first = self.tensors[node.inputs[0]]
        for o, s in zip(outs, shapes):
            if o not in self.tensors:
                self.add_tensor(Tensor(o, s, dtype or first.dtype, quant=quant))
        self.nodes.append(node)
        return node

    # ---- queries ---------------------------------------------------------------------
    def infer_shapes(self, node: Node) -> list[tuple[int, ...]]:
        spec = OPS[node.op]
        n_req = len(spec.inputs) - spec.optional
        if not n_req <= len(node.inputs) <= len(spec.inputs):
            raise GraphError(f"{node.op} takes {n_req}..{len(spec.inputs)} inputs, "
                             f"got {len(node.inputs)}", node=node.name)
        ins: list[Tensor | None] = []
        for i, name in enumerate(node.inputs):
            if name == "":
                if i < n_req:
                    raise GraphError(f"required input '{spec.inputs[i]}' is missing", node=node.name)
                ins.append(None)
                continue
            if name not in self.tensors:
                raise GraphError(f"input '{name}' is not defined", node=node.name)
            ins.append(self.tensors[name])
        try:
            return spec.shape(ins, node.attrs)
        except GraphError as e:
            e.at(node=node.name)
            raise

    def producer(self, tensor: str) -> Node | None:
        for n in self.nodes:
            if tensor in n.outputs:
                return n
        return None

    def consumers(self, tensor: str) -> list[Node]:
        return [n for n in self.nodes if tensor in n.inputs]

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def constants(self) -> dict[str, Tensor]:
        return {k: t for k, t in self.tensors.items() if t.is_const}

    def weights(self) -> dict[str, np.ndarray]:
        """Constant tensors (weights, biases) by their source name, in the source model's layout:
        an ONNX model's conv weights come back OIHW, as PyTorch holds them (the IR keeps them
        OHWI, as TFLite does: ``graph.tensors[name].data``)."""
        out = {k: t.data.copy() for k, t in self.tensors.items() if t.data is not None}
        if self.meta.get("source") == "onnx":
            for node in self.nodes:
                if node.op == "conv2d" and len(node.inputs) > 1 and node.inputs[1] in out:
                    w = out[node.inputs[1]]
                    if w.ndim == 4:
                        out[node.inputs[1]] = np.ascontiguousarray(w.transpose(0, 3, 1, 2))
        return out

    @property
    def is_quantized(self) -> bool:
        return any(self.tensors[i].dtype == "int8" for i in self.inputs + self.outputs) or any(
            self.tensors[n.outputs[0]].dtype == "int8" for n in self.nodes)

    def copy(self) -> Graph:
        return copy.deepcopy(self)

    # ---- checking ------------------------------------------------------------------
    def validate(self) -> None:
        """Raise GraphError on dangling tensors, bad order, shape or dtype mismatches."""
        defined = set(self.inputs) | {k for k, t in self.tensors.items() if t.is_const}
        for name in self.inputs:
            if name not in self.tensors:
                raise GraphError(f"graph input '{name}' has no tensor")
        produced: set[str] = set()
        for node in self.nodes:
            if node.op not in OPS:
                raise GraphError(f"unknown op type '{node.op}'", node=node.name)
            for name in node.inputs:
                if name and name not in defined:
                    where = "is used before it is produced" if name in self.tensors else "is not defined"
                    raise GraphError(f"input '{name}' {where}", node=node.name)
            shapes = self.infer_shapes(node)
            for o, s in zip(node.outputs, shapes):
                if o in produced or o in self.inputs or (o in self.tensors and self.tensors[o].is_const):
                    raise GraphError(f"tensor '{o}' is written twice", node=node.name)
                if o not in self.tensors:
                    raise GraphError(f"output '{o}' has no tensor", node=node.name)
                if self.tensors[o].shape != s:
                    raise GraphError(f"output '{o}' declared {self.tensors[o].shape} but the op "
                                     f"produces {s}", node=node.name)
                produced.add(o)
                defined.add(o)
            self._check_dtypes(node)
        for name in self.outputs:
            if name not in defined:
                raise GraphError(f"graph output '{name}' is never produced")

    def _check_dtypes(self, node: Node) -> None:
        t = [self.tensors[i] if i else None for i in node.inputs]
        out = self.tensors[node.outputs[0]]
        if node.op in TRAINING_OPS or node.op in FUSED_OPS:
            ok = True  # mixed dtypes (labels, masks) by construction in tte.training.autodiff / tte.compiler.fuse
        elif node.op == "quantize":
            ok = out.dtype in ("int8", "int16", "uint8") and out.quant is not None
        elif node.op == "dequantize":
            ok = out.dtype == "float32" and t[0] is not None and t[0].quant is not None
        elif node.op in ("conv2d", "fully_connected") and t[0] is not None and t[0].dtype == "int8":
            ok = (t[1] is not None and t[1].dtype == "int8" and t[1].quant is not None
                  and (len(t) < 3 or t[2] is None or t[2].dtype == "int32") and out.dtype == "int8"
                  and t[0].quant is not None and out.quant is not None)
        else:
            ok = all(x is None or x.dtype == out.dtype for x in t)
            if out.dtype == "int8":
                ok = ok and out.quant is not None and all(x is None or x.quant is not None for x in t)
        if not ok:
            desc = ", ".join(f"{x.name}:{x.dtype}{'' if x.quant is None else '(q)'}" for x in t if x)
            raise GraphError(f"{node.op}: inconsistent dtypes or missing quantization "
                             f"parameters (inputs {desc}; output {out.name}:{out.dtype})",
                             node=node.name)

    # ---- presentation -------------------------------------------------------------
    def dump(self) -> str:
        """A readable listing: inputs, nodes with shapes/quant, outputs."""
        def tdesc(name: str) -> str:
            if not name:
                return "-"
            t = self.tensors[name]
            s = f"{name}:{t.dtype}{list(t.shape)}"
            if t.quant is not None:
                s += f"{{{t.quant.describe()}}}"
            return s

        lines = [f"graph {self.name}"]
        lines += [f"  input  {tdesc(i)}" for i in self.inputs]
        for n in self.nodes:
            attrs = {k: v for k, v in n.attrs.items() if OPS[n.op].attrs.get(k) != v}
            a = " " + ", ".join(f"{k}={v}" for k, v in attrs.items()) if attrs else ""
            ins = ", ".join(tdesc(i) for i in n.inputs)
            lines.append(f"  {n.name}: {n.op}({ins}){a} -> {', '.join(tdesc(o) for o in n.outputs)}")
        lines += [f"  output {tdesc(o)}" for o in self.outputs]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Graph {self.name}: {len(self.nodes)} nodes, {len(self.tensors)} tensors>"
