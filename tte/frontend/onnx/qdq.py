"""int8 QDQ and QLinear import: matching DequantizeLinear -> op -> QuantizeLinear groups,
Q / DQ nodes, and QLinearConv / QLinearMatMul through the Conv / MatMul converters."""

from __future__ import annotations

import numpy as np
import onnx

from tte.errors import UnsupportedOpError
from tte.frontend.onnx.context import ImportContext
from tte.frontend.onnx.float_ops import _conv, _matmul
from tte.frontend.onnx.folding import activation_of
from tte.frontend.onnx.registry import _converter
from tte.frontend.onnx.values import _attrs, _QConst, _QOut, _Val
from tte.frontend.onnx.weights import _gemm_bias
from tte.ir import QuantParams

# ops an int8 QDQ group may be emitted as (the rest run in float between DQ and Q)
_INT8_OPS = {"Conv", "Gemm", "MatMul", "Add", "Mul", "AveragePool", "GlobalAveragePool",
             "MaxPool", "ReduceMean", "Reshape", "Flatten", "Transpose", "Pad"}
_INT8_OPS |= {"Concat", "Slice", "Squeeze", "Unsqueeze"}   # structural: tte.frontend.onnx.structural_ops


def _quant_of(im: ImportContext, node: onnx.NodeProto) -> QuantParams | None:
    """Per-tensor int8 parameters of a QuantizeLinear node, or None if not int8."""
    scale = im.consts.get(node.input[1]) if len(node.input) > 1 else None
    zp = im.consts.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    out_type = int(_attrs(node).get("output_dtype", 0))
    is_int8 = (zp.dtype == np.int8) if zp is not None else out_type == onnx.TensorProto.INT8
    if scale is None or scale.size != 1 or not is_int8:
        return None
    return QuantParams(scale.reshape(1), np.zeros(1) if zp is None else zp.reshape(1).astype(np.int64))


def match_qdq(im: ImportContext, node: onnx.NodeProto) -> _QOut | None:
    """Does this node sit between DequantizeLinear inputs and one int8 QuantizeLinear?"""
    act_inputs = [i for i in node.input[:2] if i and i not in im.consts] if node.op_type in (
        "Add", "Mul") else [node.input[0]]
    if node.op_type == "Concat":
        act_inputs = [i for i in node.input if i]
    if not all(i in im.vals and im.vals[i].deq for i in act_inputs) or not act_inputs:
        return None
    if node.op_type in ("Conv", "Gemm", "MatMul"):
        if len(node.input) < 2 or node.input[1] not in im.qconsts:
            return None
        if node.op_type == "MatMul" and im.consts[node.input[1]].ndim != 2:
            return None
        a = _attrs(node)
        if node.op_type == "Gemm" and (a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0
                                       or a.get("transA", 0)):
            return None
        if node.op_type == "Gemm" and len(node.input) > 2 and node.input[2]:
            b = im.consts[node.input[1]]
            n = b.shape[0] if a.get("transB", 0) else b.shape[1]
            if _gemm_bias(im.consts.get(node.input[2]), n) is None:
                return None  # a matrix C stays in float
    if node.op_type in ("Add", "Mul"):
        consts = [i for i in node.input if i in im.consts]
        if any(i not in im.qconsts or im.qconsts[i].axis is not None for i in consts):
            return None
    nxt = im.sole_consumer(node.output[0])
    absorbed: list[onnx.NodeProto] = []
    activation = "none"
    if nxt is not None and node.op_type in ("Conv", "Gemm", "MatMul", "Add"):
        act = activation_of(im, nxt)
        if act is not None:
            activation = act
            absorbed.append(nxt)
            nxt = im.sole_consumer(nxt.output[0])
    if nxt is None or nxt.op_type != "QuantizeLinear":
        return None
    quant = _quant_of(im, nxt)
    if quant is None:
        return None
    absorbed.append(nxt)
    return _QOut(nxt.output[0], quant, activation, absorbed)


def _act_quant(im: ImportContext, node: onnx.NodeProto, s_idx: int, z_idx: int) -> QuantParams:
    scale = im.const(node, s_idx, "scale")
    zp = im.const(node, z_idx, "zero point")
    assert scale is not None
    if zp is not None and zp.dtype != np.int8:
        raise UnsupportedOpError(f"{zp.dtype} QDQ", detail=f"{node.op_type} with {zp.dtype} zero point; "
                                 "tte supports int8 activations only")
    if zp is None and node.op_type == "QuantizeLinear" and \
            int(_attrs(node).get("output_dtype", 0)) != onnx.TensorProto.INT8:
        raise UnsupportedOpError("uint8 QDQ", detail="QuantizeLinear without an int8 zero point")
    if scale.size != 1:
        raise UnsupportedOpError(node.op_type, detail="per-channel quantization of activations")
    return QuantParams(scale.reshape(1), np.zeros(1) if zp is None else zp.reshape(1).astype(np.int64))


def _int8_value(im: ImportContext, name: str, quant: QuantParams, node: onnx.NodeProto) -> _Val:
    """An int8 variable, adopting ``quant`` when it has none yet (an int8 graph input)."""
    v = im.var(name, float_view=False)
    t = im.g.tensors[v.ir]
    if t.dtype != "int8":
        raise UnsupportedOpError(f"{t.dtype} QDQ", detail=f"{node.op_type} of a {t.dtype} tensor")
    if t.quant is None:
        t.quant = quant
    elif t.quant != quant:
        raise UnsupportedOpError(node.op_type, detail=f"quantization of '{name}' differs from the "
                                 "parameters its producer wrote")
    return v


@_converter("QuantizeLinear", emits=("quantize",))
def _quantize(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    if int(_attrs(node).get("block_size", 0)):
        raise UnsupportedOpError(node.op_type, detail="blocked quantization")
    quant = _act_quant(im, node, 1, 2)
    v = im.var(node.input[0], float_view=False)
    if v.deq and im.g.tensors[v.ir].quant == quant:
        im.set(node.output[0], v.ir, v.perm)
        return
    ir = im.emit("quantize", [v.ir], node.output[0], dtype="int8", quant=quant, node=node.name or None)
    im.set(node.output[0], ir, v.perm)


@_converter("DequantizeLinear", emits=("dequantize",))
def _dequantize(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    if int(_attrs(node).get("block_size", 0)):
        raise UnsupportedOpError(node.op_type, detail="blocked quantization")
    quant = _act_quant(im, node, 1, 2)
    v = _int8_value(im, node.input[0], quant, node)
    im.set(node.output[0], v.ir, v.perm, deq=True)


def _qlinear_out(im: ImportContext, node: onnx.NodeProto, s_idx: int, z_idx: int) -> _QOut:
    return _QOut(node.output[0], _act_quant(im, node, s_idx, z_idx), "none", [])


def _qlinear_weight(im: ImportContext, node: onnx.NodeProto, idx: int) -> None:
    """Expose a QLinear op's integer weight as a dequantized constant with parameters."""
    w = im.const(node, idx, "weight")
    scale, zp = im.const(node, idx + 1, "weight scale"), im.const(node, idx + 2, "weight zero point")
    assert w is not None and scale is not None
    if w.dtype != np.int8:
        raise UnsupportedOpError(f"{w.dtype} QDQ", detail=f"{node.op_type} with {w.dtype} weights")
    zp_a = np.zeros(scale.size, np.int64) if zp is None else np.asarray(zp, np.int64).ravel()
    axis = 0 if scale.size > 1 else None
    im.qconsts[node.input[idx]] = _QConst(w, np.asarray(scale, np.float32).ravel(), zp_a, axis,
                                          node.input[idx])


@_converter("QLinearConv", emits=("conv2d",))
def _qlinear_conv(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    x_q = _act_quant(im, node, 1, 2)
    v = _int8_value(im, node.input[0], x_q, node)
    _qlinear_weight(im, node, 3)
    if len(node.input) > 8 and node.input[8]:
        b = im.const(node, 8, "bias")
        assert b is not None
        b_scale = x_q.scale[0] * im.qconsts[node.input[3]].scale
        im.qconsts[node.input[8]] = _QConst(b, np.broadcast_to(b_scale, b.shape).astype(np.float64),
                                            np.zeros(b.shape, np.int64), 0, node.input[8])
    # reorder to Conv's (x, w, b) and reuse the Conv converter on the int8 value
    conv = onnx.NodeProto()
    conv.CopyFrom(node)
    del conv.input[:]
    conv.input.extend([node.input[0], node.input[3], node.input[8] if len(node.input) > 8 else ""])
    im.vals[node.input[0]] = _Val(v.ir, v.perm, deq=True)
    try:
        _conv(im, conv, _qlinear_out(im, node, 6, 7))
    finally:
        im.vals[node.input[0]] = v


@_converter("QLinearMatMul", emits=("fully_connected",))
def _qlinear_matmul(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    a_q = _act_quant(im, node, 1, 2)
    v = _int8_value(im, node.input[0], a_q, node)
    b = im.const(node, 3, "B")
    assert b is not None
    if b.ndim != 2:
        raise UnsupportedOpError(node.op_type, detail="QLinearMatMul with a batched B")
    _qlinear_weight(im, node, 3)
    qc = im.qconsts[node.input[3]]
    if qc.axis is not None:
        qc.axis = 1
    mm = onnx.NodeProto()
    mm.CopyFrom(node)
    del mm.input[:]
    mm.input.extend([node.input[0], node.input[3]])
    im.vals[node.input[0]] = _Val(v.ir, v.perm, deq=True)
    try:
        _matmul(im, mm, _qlinear_out(im, node, 6, 7))
    finally:
        im.vals[node.input[0]] = v
