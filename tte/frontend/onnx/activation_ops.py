"""ONNX converters of the activation and elementwise ops: Sigmoid, Tanh, HardSwish,
LeakyRelu, Gelu, Sub, Max, Min, LpNormalization (p=2), Reciprocal(Sqrt(x)) and Div(1, Sqrt(x))
as rsqrt, and Div by a constant (as Mul by its reciprocal).

In a QDQ group (DequantizeLinear -> op -> QuantizeLinear) they are emitted as the int8 op;
a binary op whose other operand is not an int8 value or a per-tensor int8 constant runs in
float between the DQ and Q nodes instead.
"""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import numpy_helper

from tte.errors import UnsupportedOpError
from tte.frontend import layout as L
from tte.frontend.onnx.context import ImportContext
from tte.frontend.onnx.float_ops import _binary
from tte.frontend.onnx.qdq import _INT8_OPS, _quant_of
from tte.frontend.onnx.registry import _converter
from tte.frontend.onnx.values import _attrs, _QOut

_UNARY = {"Sigmoid": "logistic", "Tanh": "tanh", "HardSwish": "hard_swish", "LeakyRelu": "leaky_relu",
          "Gelu": "gelu"}
# inside a QDQ group these are emitted as their int8 op (tte.frontend.onnx.qdq.match_qdq)
_INT8_OPS.update(_UNARY, {"Sub", "Max", "Min", "LpNormalization"})


def _unary(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    a = _attrs(node)
    attrs: dict[str, object] = {}
    if node.op_type == "LeakyRelu":
        attrs["alpha"] = float(a.get("alpha", 0.01))
    if node.op_type == "Gelu":
        mode = a.get("approximate", b"none")
        mode = mode.decode() if isinstance(mode, bytes) else str(mode)
        if mode not in ("none", "tanh"):
            raise UnsupportedOpError(node.op_type, detail=f"Gelu approximate='{mode}'")
        attrs["approximate"] = mode == "tanh"
    v = im.act_input(node.input[0], qout)
    im.emit_out(node, _UNARY[node.op_type], [v.ir], attrs, v.perm, qout)


for _op, _ir in _UNARY.items():
    _converter(_op, emits=(_ir,))(_unary)


def _int8_operands(im: ImportContext, node: onnx.NodeProto) -> bool:
    """Both operands are int8: dequantized values or per-tensor quantized constants."""
    for name in node.input[:2]:
        if name in im.consts:
            qc = im.qconsts.get(name)
            if qc is None or qc.axis is not None:
                return False
        elif not (name in im.vals and im.vals[name].deq):
            return False
    return True


@_converter("Sub", emits=("sub",))
@_converter("Max", emits=("maximum",))
@_converter("Min", emits=("minimum",))
def _sub_max_min(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    if len(node.input) != 2:
        raise UnsupportedOpError(node.op_type, detail=f"{node.op_type} of {len(node.input)} inputs "
                                 "(tte takes two)")
    if qout is not None and not _int8_operands(im, node):
        qout = None
    renamed = onnx.NodeProto()
    renamed.CopyFrom(node)
    renamed.op_type = {"Sub": "Sub", "Max": "Maximum", "Min": "Minimum"}[node.op_type]
    _binary(im, renamed, qout)


@_converter("LpNormalization", emits=("l2_normalize",))
def _lp_normalization(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    a = _attrs(node)
    if int(a.get("p", 2)) != 2:
        raise UnsupportedOpError(node.op_type, detail=f"LpNormalization p={a.get('p')} (tte supports p=2)")
    v = im.act_input(node.input[0], qout)
    r = im.rank(v)
    axis = int(a.get("axis", -1)) % r
    if L.full(v.perm, r)[axis] == r - 1:
        x, perm = v.ir, v.perm
    elif axis == r - 1:
        x, perm = im.in_layout(v, None), None
    else:
        raise UnsupportedOpError(node.op_type, detail=f"normalization over axis {axis} of rank {r} "
                                 "(tte normalizes the last axis)")
    im.emit_out(node, "l2_normalize", [x], {"epsilon": 1e-12}, perm, qout)


def _constant(im: ImportContext, name: str) -> np.ndarray | None:
    """A constant value, also one whose Constant node comes later in the node list."""
    if name in im.consts:
        return im.consts[name]
    for n in im.model.graph.node:
        if n.op_type == "Constant" and name in n.output:
            a = _attrs(n)
            if "value" in a:
                return numpy_helper.to_array(a["value"])
            if "value_float" in a:
                return np.array(a["value_float"], np.float32)
    return None


def _is_reciprocal(im: ImportContext, node: onnx.NodeProto, x: str) -> bool:
    if node.op_type == "Reciprocal":
        return True
    one = _constant(im, node.input[0]) if node.op_type == "Div" else None
    return one is not None and node.input[1] == x and one.size == 1 and float(one.reshape(())) == 1.0


@_converter("Sqrt", emits=("rsqrt",))
def _sqrt(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    """Reciprocal(Sqrt(x)) becomes rsqrt, named after the Reciprocal's output (int8 when a
    dequantized value goes in and one QuantizeLinear reads the result)."""
    recip = im.sole_consumer(node.output[0])
    if recip is None or not _is_reciprocal(im, recip, node.output[0]):
        raise UnsupportedOpError(node.op_type, detail="Sqrt other than inside Reciprocal(Sqrt(x)) "
                                 "or Div(1, Sqrt(x))")
    nxt = im.sole_consumer(recip.output[0])
    src = im.vals.get(node.input[0])
    rq: _QOut | None = None
    if nxt is not None and nxt.op_type == "QuantizeLinear" and src is not None and src.deq:
        quant = _quant_of(im, nxt)
        if quant is not None:
            rq = _QOut(nxt.output[0], quant, "none", [nxt])
    v = im.act_input(node.input[0], rq)
    im.absorbed.add(id(recip))
    im.emit_out(recip, "rsqrt", [v.ir], {}, v.perm, rq)


@_converter("Reciprocal", emits=())
def _reciprocal(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    raise UnsupportedOpError(node.op_type, detail="Reciprocal other than of a Sqrt (as rsqrt)")


def _is_const(im: ImportContext, name: str, value: float, tol: float = 1e-6) -> bool:
    c = _constant(im, name)
    return c is not None and c.size == 1 and abs(float(c.reshape(())) - value) <= tol


def _other(node: onnx.NodeProto, name: str) -> str | None:
    """The other input of a binary node that reads ``name``."""
    ins = list(node.input[:2])
    return ins[1 - ins.index(name)] if len(ins) == 2 and name in ins else None


def _exact_gelu(im: ImportContext, div: onnx.NodeProto) -> list[onnx.NodeProto] | None:
    """x * (erf(x / sqrt 2) + 1) * 0.5 (PyTorch's export of exact GELU before opset 20) from
    its Div: the Erf, Add, Mul, Mul nodes after it, or None."""
    x = div.input[0]
    if not _is_const(im, div.input[1], math.sqrt(2.0)):
        return None
    erf = im.sole_consumer(div.output[0])
    add = im.sole_consumer(erf.output[0]) if erf is not None and erf.op_type == "Erf" else None
    if add is None or add.op_type != "Add" or not _is_const(im, _other(add, erf.output[0]) or "", 1.0):
        return None
    mul = im.sole_consumer(add.output[0])
    if mul is None or mul.op_type != "Mul" or _other(mul, add.output[0]) != x:
        return None
    half = im.sole_consumer(mul.output[0])
    if half is None or half.op_type != "Mul" or not _is_const(im, _other(half, mul.output[0]) or "", 0.5):
        return None
    return [erf, add, mul, half]


@_converter("Div", emits=("mul", "gelu"))
def _div(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    """Division by a constant, as a multiplication by its reciprocal (Div(1, Sqrt(x)) is rsqrt,
    x / sqrt 2 inside PyTorch's exact-GELU expansion is gelu)."""
    gelu = _exact_gelu(im, node)
    if gelu is not None:
        v = im.var(node.input[0])
        im.absorbed.update(id(n) for n in gelu)
        im.emit_out(gelu[-1], "gelu", [v.ir], {"approximate": False}, v.perm, None)
        return
    c = im.consts.get(node.input[1])
    if c is None or not np.all(c != 0):
        raise UnsupportedOpError(node.op_type, detail="Div other than by a non-zero constant or Div(1, Sqrt(x))")
    name = f"{node.input[1]}/reciprocal"
    im.consts[name] = (np.float32(1) / c.astype(np.float32)).astype(np.float32)
    mul = onnx.NodeProto()
    mul.CopyFrom(node)
    mul.op_type = "Mul"
    mul.input[1] = name
    _binary(im, mul, None)


@_converter("Erf")
def _erf(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    raise UnsupportedOpError(node.op_type, detail="Erf other than in x * (erf(x / sqrt 2) + 1) * 0.5 (as gelu)")
