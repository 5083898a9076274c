"""Converters of the float ONNX ops (each also emits the int8 op of a QDQ group)."""

from __future__ import annotations

import math

import numpy as np
import onnx

from tte.errors import TteError, UnsupportedOpError
from tte.frontend import layout as L
from tte.frontend.layout import NCHW_FROM_NHWC, Perm
from tte.frontend.onnx.context import ImportContext
from tte.frontend.onnx.folding import _clip_bounds, _fold_bn, _try_fuse
from tte.frontend.onnx.padding import _pool_geometry, _spatial_pads
from tte.frontend.onnx.registry import _converter
from tte.frontend.onnx.values import _attrs, _ints, _QOut, _Val
from tte.frontend.onnx.weights import _conv_weights, _fc_weights, _gemm_bias
from tte.ir import QuantParams


def _need_rank(im: ImportContext, node: onnx.NodeProto, name: str, rank: int, what: str) -> None:
    r = len(im.shape(name))
    if r != rank:
        raise UnsupportedOpError(node.op_type, detail=f"{what} (input rank {r}, tte supports {rank})")


def _nhwc_input(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> str:
    _need_rank(im, node, node.input[0], 4, f"{len(im.shape(node.input[0])) - 2}-D spatial data")
    return im.in_layout(im.act_input(node.input[0], qout), NCHW_FROM_NHWC)


@_converter("Conv", emits=("conv2d",))
def _conv(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    x = _nhwc_input(im, node, qout)
    w = im.const(node, 1, "weight")
    assert w is not None
    if w.ndim != 4:
        raise UnsupportedOpError(node.op_type, detail=f"{w.ndim - 2}-D convolution")
    a = _attrs(node)
    k = (int(w.shape[2]), int(w.shape[3]))
    s = _ints(a.get("strides", (1, 1)))
    d = _ints(a.get("dilations", (1, 1)))
    _, _, h, wd = im.shape(node.input[0])
    pads = _spatial_pads(node, a, (h, wd), k, (s[0], s[1]), (d[0], d[1]))
    wn, bn = _conv_weights(im, node, qout, x)
    attrs = {"strides": s, "dilations": d, "pads": pads, "groups": int(a.get("group", 1))}
    im.emit_out(node, "conv2d", [x, wn] + ([bn] if bn else []), attrs, NCHW_FROM_NHWC, qout)


@_converter("Gemm", emits=("fully_connected", "matmul", "add"))
def _gemm(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    a = _attrs(node)
    alpha, beta = float(a.get("alpha", 1.0)), float(a.get("beta", 1.0))
    trans_a, trans_b = int(a.get("transA", 0)), int(a.get("transB", 0))
    x_val = im.act_input(node.input[0], qout)
    x = im.in_layout(x_val, (1, 0) if trans_a else None)
    if node.input[1] not in im.consts:
        _gemm_variable(im, node, x, alpha, beta, trans_b)
        return
    b = im.consts[node.input[1]]
    w = (b if trans_b else b.T).astype(np.float32) * np.float32(alpha)
    c = im.const(node, 2, "C")
    vec = _gemm_bias(c, w.shape[0])
    bias = None if vec is None else vec * np.float32(beta)
    wn, bn = _fc_weights(im, node, np.ascontiguousarray(w), bias, qout, x, bool(trans_b))
    if c is not None and vec is None:
        fc = im.emit("fully_connected", [x, wn], f"{node.output[0]}_fc")
        cn = im.const_tensor(node.input[2], c.astype(np.float32) * np.float32(beta))
        ir = im.emit("add", [fc, cn], node.output[0], node=node.name or None)
        im.set(node.output[0], ir)
        return
    im.emit_out(node, "fully_connected", [x, wn] + ([bn] if bn else []), {}, None, qout)


def _gemm_variable(im: ImportContext, node: onnx.NodeProto, x: str, alpha: float, beta: float,
                   trans_b: int) -> None:
    bv = im.var(node.input[1])
    y = im.emit("matmul", [x, im.in_layout(bv, (1, 0) if trans_b else None)], f"{node.output[0]}_mm")
    if alpha != 1.0:
        alpha_c = im.const_tensor("alpha", np.array(alpha, np.float32))
        y = im.emit("mul", [y, alpha_c], f"{node.output[0]}_a")
    c = im.const(node, 2, "C")
    if c is not None:
        y = im.emit("add", [y, im.const_tensor(node.input[2], c * np.float32(beta))], node.output[0])
    im.set(node.output[0], y)


@_converter("MatMul", emits=("fully_connected", "matmul"))
def _matmul(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    b = im.consts.get(node.input[1])
    if b is not None and b.ndim == 2 and len(im.shape(node.input[0])) >= 1:
        x = im.in_layout(im.act_input(node.input[0], qout), None)
        wn, _ = _fc_weights(im, node, np.ascontiguousarray(b.T.astype(np.float32)), None, qout, x, False)
        im.emit_out(node, "fully_connected", [x, wn], {}, None, qout)
        return
    xa = im.in_layout(im.var(node.input[0]), None)
    xb = im.in_layout(im.var(node.input[1]), None)
    im.emit_out(node, "matmul", [xa, xb], {}, None, None)


@_converter("Relu", emits=("relu",))
def _relu(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    if _try_fuse(im, node, "relu"):
        return
    v = im.var(node.input[0])
    im.set(node.output[0], im.emit("relu", [v.ir], node.output[0], node=node.name or None), v.perm)


@_converter("Clip", emits=("clip",))
def _clip(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    lo, hi = _clip_bounds(im, node)
    act = {(0.0, None): "relu", (0.0, 6.0): "relu6"}.get((lo, hi))
    if act is not None and _try_fuse(im, node, act):
        return
    v = im.var(node.input[0])
    ir = im.emit("clip", [v.ir], node.output[0], {"min": lo, "max": hi}, node=node.name or None)
    im.set(node.output[0], ir, v.perm)


def _const_like(im: ImportContext, name: str, c: np.ndarray, v: _Val, dtype: str,
                quant: QuantParams | None = None) -> str:
    """A source-order constant broadcast to v's rank and laid out like v."""
    r = im.rank(v)
    if c.ndim > r:
        raise UnsupportedOpError("Add/Mul", detail=f"constant of rank {c.ndim} broadcast over rank {r}")
    full = c.reshape((1,) * (r - c.ndim) + c.shape)
    return im.const_tensor(name, L.to_ir(full, v.perm), dtype, quant)


def _expand_rank(im: ImportContext, v: _Val, rank: int, perm: Perm) -> str:
    """Reshape a lower-rank value to ``rank`` (leading ones) and lay it out with ``perm``."""
    src = im.in_layout(v, None)
    shape = im.g.tensors[src].shape
    t = im.g.tensors[src]
    ir = im.emit("reshape", [src], f"{src}_r", {"shape": (1,) * (rank - len(shape)) + shape},
                  dtype=t.dtype, quant=t.quant)
    return im.in_layout(_Val(ir), perm)


@_converter("Add", emits=("add",))
@_converter("Mul", emits=("mul",))
def _binary(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    op = node.op_type.lower()
    names = list(node.input[:2])
    const_idx = [k for k, n in enumerate(names) if n in im.consts]
    if const_idx:
        k = const_idx[0]
        v = im.act_input(names[1 - k], qout)
        if qout is None:
            cn = _const_like(im, names[k], im.consts[names[k]].astype(np.float32), v, "float32")
        else:
            qc = im.qconsts[names[k]]
            cn = _const_like(im, names[k], qc.q, v, "int8", QuantParams(qc.scale, qc.zero_point))
        ins = [v.ir, cn] if k == 1 else [cn, v.ir]
        im.emit_out(node, op, ins, {}, v.perm, qout)
        return
    a, b = (im.act_input(n, qout) for n in names)
    ra, rb = im.rank(a), im.rank(b)
    if ra == rb:
        perm = a.perm
        ins = [a.ir, im.in_layout(b, perm)]
    elif ra > rb:
        perm = a.perm
        ins = [a.ir, _expand_rank(im, b, ra, perm)]
    else:
        perm = b.perm
        ins = [_expand_rank(im, a, rb, perm), b.ir]
    im.emit_out(node, op, ins, {}, perm, qout)


@_converter("AveragePool", emits=("avgpool2d",))
def _avgpool(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    a = _attrs(node)
    k = _ints(a["kernel_shape"])
    if len(k) != 2:
        raise UnsupportedOpError(node.op_type, detail=f"{len(k)}-D pooling")
    x = _nhwc_input(im, node, qout)
    s, pads, extended = _pool_geometry(im, node, (k[0], k[1]))
    include = bool(int(a.get("count_include_pad", 0)))
    if extended and include:
        raise UnsupportedOpError(node.op_type, detail="ceil_mode with count_include_pad")
    attrs = {"kernel": k, "strides": s, "pads": pads, "count_include_pad": include}
    im.emit_out(node, "avgpool2d", [x], attrs, NCHW_FROM_NHWC, qout)


@_converter("GlobalAveragePool", emits=("avgpool2d",))
def _global_avgpool(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    x = _nhwc_input(im, node, qout)
    _, _, h, w = im.shape(node.input[0])
    im.emit_out(node, "avgpool2d", [x], {"kernel": (h, w), "strides": (1, 1)}, NCHW_FROM_NHWC, qout)


@_converter("MaxPool", emits=("maxpool2d",))
def _maxpool(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    a = _attrs(node)
    k = _ints(a["kernel_shape"])
    if len(k) != 2:
        raise UnsupportedOpError(node.op_type, detail=f"{len(k)}-D pooling")
    if len(node.output) > 1 and node.output[1]:
        raise UnsupportedOpError(node.op_type, detail="MaxPool Indices output")
    x = _nhwc_input(im, node, qout)
    s, pads, _ = _pool_geometry(im, node, (k[0], k[1]))
    im.emit_passthrough(node, "maxpool2d", [x], {"kernel": k, "strides": s, "pads": pads},
                        NCHW_FROM_NHWC, qout)


def _remove_axes(perm: Perm, rank: int, axes: set[int]) -> Perm:
    """Perm of a value after removing source axes ``axes`` (IR axes perm[a])."""
    p = L.full(perm, rank)
    kept_ir = sorted(p[a] for a in range(rank) if a not in axes)
    return L.norm(tuple(kept_ir.index(p[a]) for a in range(rank) if a not in axes))


@_converter("ReduceMean", emits=("mean",))
def _reduce_mean(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    a = _attrs(node)
    v = im.act_input(node.input[0], qout)
    r = im.rank(v)
    axes_arr = im.const(node, 1, "axes") if im.opset >= 18 else None
    axes = _ints(axes_arr.ravel()) if axes_arr is not None else _ints(a.get("axes", ()))
    if not axes and int(a.get("noop_with_empty_axes", 0)):
        raise UnsupportedOpError(node.op_type, detail="ReduceMean with noop_with_empty_axes")
    src_axes = {ax % r for ax in axes} if axes else set(range(r))
    p = L.full(v.perm, r)
    keep = bool(int(a.get("keepdims", 1)))
    ir_axes = tuple(sorted(p[ax] for ax in src_axes))
    perm = v.perm if keep else _remove_axes(v.perm, r, src_axes)
    im.emit_out(node, "mean", [v.ir], {"axes": ir_axes, "keepdims": keep}, perm, qout)


def _reshape_to(im: ImportContext, node: onnx.NodeProto, shape: tuple[int, ...], qout: _QOut | None) -> None:
    v = im.act_input(node.input[0], qout)
    src = v.ir if L.is_free(im.g.tensors[v.ir].shape, v.perm) else im.in_layout(v, None)
    im.emit_passthrough(node, "reshape", [src], {"shape": shape}, None, qout)


@_converter("Flatten", emits=("reshape",))
def _flatten(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    shape = im.shape(node.input[0])
    axis = int(_attrs(node).get("axis", 1))
    axis = axis + len(shape) if axis < 0 else axis
    _reshape_to(im, node, (math.prod(shape[:axis]), math.prod(shape[axis:])), qout)


@_converter("Reshape", emits=("reshape",))
def _reshape(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    target = im.const(node, 1, "shape")
    assert target is not None
    src = im.shape(node.input[0])
    allowzero = int(_attrs(node).get("allowzero", 0))
    dims = [int(d) for d in target.ravel()]
    if allowzero and 0 in dims:
        raise UnsupportedOpError(node.op_type, detail="Reshape to an empty tensor (allowzero)")
    dims = [src[k] if d == 0 else d for k, d in enumerate(dims)]
    if dims.count(-1) == 1:
        known = math.prod(d for d in dims if d != -1)
        dims[dims.index(-1)] = math.prod(src) // known if known else 0
    _reshape_to(im, node, tuple(dims), qout)


@_converter("Transpose", emits=("transpose",))
def _transpose(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    v = im.act_input(node.input[0], qout)
    r = im.rank(v)
    t = _ints(_attrs(node).get("perm", tuple(reversed(range(r)))))
    perm = L.compose(v.perm, t, r)
    if qout is None:
        im.set(node.output[0], v.ir, perm, deq=v.deq)
        return
    src = im.g.tensors[v.ir]
    if src.quant == qout.quant:
        im.set(qout.name, v.ir, perm)
    else:
        im.set(qout.name, im.emit("quantize", [v.ir], qout.name, dtype="int8", quant=qout.quant), perm)
    im.absorb(qout)


@_converter("Softmax", emits=("softmax",))
def _softmax(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    v = im.var(node.input[0])
    r = im.rank(v)
    axis = int(_attrs(node).get("axis", -1 if im.opset >= 13 else 1)) % r
    if im.opset >= 13 or axis == r - 1:
        ir = im.emit("softmax", [v.ir], node.output[0], {"axis": L.full(v.perm, r)[axis]},
                      node=node.name or None)
        im.set(node.output[0], ir, v.perm)
        return
    # opset < 13: softmax over the flattened trailing axes [axis:]
    shape = im.shape(node.input[0])
    flat = im.emit("reshape", [im.in_layout(v, None)], f"{node.output[0]}_2d",
                    {"shape": (math.prod(shape[:axis]), math.prod(shape[axis:]))})
    sm = im.emit("softmax", [flat], f"{node.output[0]}_sm", {"axis": 1}, node=node.name or None)
    im.set(node.output[0], im.emit("reshape", [sm], node.output[0], {"shape": shape}))


@_converter("BatchNormalization", emits=("mul", "add"))
def _batchnorm(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    a = _attrs(node)
    if int(a.get("training_mode", 0)) or any(o for o in node.output[1:]):
        raise UnsupportedOpError(node.op_type, detail="BatchNormalization in training mode")
    gamma, beta, mean, var = (im.const(node, k, n) for k, n in
                              ((1, "scale"), (2, "bias"), (3, "mean"), (4, "var")))
    assert gamma is not None and beta is not None and mean is not None and var is not None
    eps = np.float32(a.get("epsilon", 1e-5))
    scale = (gamma.astype(np.float32) / np.sqrt(var.astype(np.float32) + eps)).astype(np.float32)
    shift = (beta.astype(np.float32) - mean.astype(np.float32) * scale).astype(np.float32)
    if _fold_bn(im, node, scale, shift):
        return
    v = im.var(node.input[0])
    r = im.rank(v)
    bshape = (scale.size,) + (1,) * (r - 2)
    s_ir = _const_like(im, f"{node.output[0]}_scale", scale.reshape(bshape), v, "float32")
    t_ir = _const_like(im, f"{node.output[0]}_shift", shift.reshape(bshape), v, "float32")
    m = im.emit("mul", [v.ir, s_ir], f"{node.output[0]}_mul")
    im.set(node.output[0], im.emit("add", [m, t_ir], node.output[0], node=node.name or None), v.perm)


@_converter("Pad", emits=("pad",))
def _pad(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    a = _attrs(node)
    mode = a.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    if mode != "constant":
        raise UnsupportedOpError(node.op_type, detail=f"Pad mode '{mode}'")
    v = im.act_input(node.input[0], qout)
    r = im.rank(v)
    pads_a = im.const(node, 1, "pads")
    pads = _ints(pads_a.ravel()) if pads_a is not None else _ints(a.get("pads", ()))
    value_a = im.const(node, 2, "constant_value")
    value = float(value_a.reshape(())) if value_a is not None else float(a.get("value", 0.0))
    axes_a = im.const(node, 3, "axes")
    axes = [ax % r for ax in _ints(axes_a.ravel())] if axes_a is not None else list(range(r))
    if len(pads) != 2 * len(axes):
        raise TteError(f"Pad: {len(pads)} pads for {len(axes)} axes")
    per_src = [(0, 0)] * r
    for k, ax in enumerate(axes):
        per_src[ax] = (pads[k], pads[k + len(axes)])
    p = L.full(v.perm, r)
    per_ir = [(0, 0)] * r
    for ax in range(r):
        per_ir[p[ax]] = per_src[ax]
    if qout is not None and value != 0.0:
        qout = None  # the int8 pad fills with the zero point only
        v = im.var(node.input[0])
    im.emit_passthrough(node, "pad", [v.ir], {"pads": tuple(per_ir), "value": value}, v.perm, qout)


@_converter("Identity", "Dropout", emits=())
def _identity(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    if node.op_type == "Dropout":
        if len(node.output) > 1 and node.output[1] and im.uses[node.output[1]] + (
                node.output[1] in im.graph_outputs):
            raise UnsupportedOpError(node.op_type, detail="Dropout mask output")
        train = im.const(node, 2, "training_mode")
        if train is not None and bool(train.reshape(())):
            raise UnsupportedOpError(node.op_type, detail="Dropout in training mode")
    v = im.var(node.input[0], float_view=False)
    im.set(node.output[0], v.ir, v.perm, deq=v.deq)
