"""Import-time folding: constant subgraphs, inference BatchNormalization into the conv /
fully_connected before it, and Relu / ReLU6 into the op that feeds them."""

from __future__ import annotations

import math

import numpy as np
import onnx

from tte.errors import TteError, UnsupportedOpError
from tte.frontend.onnx.context import FUSABLE, ImportContext
from tte.frontend.onnx.values import _attrs, _QConst
from tte.ir import Node


def fold(im: ImportContext, node: onnx.NodeProto) -> None:
    """Evaluate at import a Shape / Size node or one whose inputs are all constants."""
    if node.op_type == "Shape":
        _fold_shape(im, node)
        return
    if node.op_type == "Size":
        im.consts[node.output[0]] = np.array(math.prod(im.shape(node.input[0])), np.int64)
        return
    if node.op_type == "DequantizeLinear":
        _fold_dequantize(im, node)
        return
    from onnx.reference import ReferenceEvaluator

    feeds = {i: im.consts[i] for i in node.input if i}
    try:
        outs = ReferenceEvaluator(node, opsets={"": im.opset}).run(None, feeds)
    except Exception as e:  # the evaluator raises arbitrary types on bad constants
        raise TteError(f"cannot fold constant {node.op_type}: {type(e).__name__}: {e}") from None
    for name, arr in zip(node.output, outs):
        if name:
            im.consts[name] = np.asarray(arr)


def _fold_shape(im: ImportContext, node: onnx.NodeProto) -> None:
    shape = im.shape(node.input[0])
    a = _attrs(node)
    r = len(shape)
    start, end = int(a.get("start", 0)), int(a.get("end", r))
    start, end = (min(max(x + r if x < 0 else x, 0), r) for x in (start, end))
    im.consts[node.output[0]] = np.array(shape[start:end], np.int64)


def _fold_dequantize(im: ImportContext, node: onnx.NodeProto) -> None:
    x = im.consts[node.input[0]]
    scale = np.asarray(im.const(node, 1, "scale"), np.float32)
    zp = im.const(node, 2, "zero point")
    zp = np.zeros_like(scale, dtype=np.int64) if zp is None else np.asarray(zp, np.int64)
    a = _attrs(node)
    if int(a.get("block_size", 0)):
        raise UnsupportedOpError(node.op_type, detail="blocked quantization")
    axis = None
    s, z = scale.reshape(()) if scale.size == 1 else scale, zp.reshape(()) if zp.size == 1 else zp
    if scale.size > 1:
        axis = int(a.get("axis", 1)) % x.ndim
        shape = [1] * x.ndim
        shape[axis] = -1
        s, z = scale.reshape(shape), zp.reshape(shape)
    im.consts[node.output[0]] = ((x.astype(np.int64) - z).astype(np.float32) * s).astype(np.float32)
    im.qconsts[node.output[0]] = _QConst(x, scale.ravel(), zp.ravel(), axis, node.input[0])


def _fold_bn(im: ImportContext, node: onnx.NodeProto, scale: np.ndarray, shift: np.ndarray) -> bool:
    """Fold inference BN into the conv / fully_connected that feeds only it."""
    v = im.vals.get(node.input[0])
    if v is None or v.deq or im.sole_consumer(node.input[0]) is not node:
        return False
    prod = im.producer.get(v.ir)
    if prod is None or prod.op not in ("conv2d", "fully_connected") or prod.attrs["activation"] != "none":
        return False
    if im.g.tensors[v.ir].dtype != "float32" or im.g.consumers(v.ir) or len(im.shape(node.input[0])) < 2:
        return False
    w_name = prod.inputs[1]
    w = im.g.tensors[w_name]
    assert w.data is not None
    new_w = (w.data * scale.reshape((-1,) + (1,) * (w.data.ndim - 1))).astype(np.float32)
    b_old = im.g.tensors[prod.inputs[2]].data if len(prod.inputs) > 2 and prod.inputs[2] else None
    new_b = (shift if b_old is None else b_old * scale + shift).astype(np.float32)
    prod.inputs[1] = _replace_const(im, prod, w_name, new_w)
    if b_old is not None:
        prod.inputs[2] = _replace_const(im, prod, prod.inputs[2], new_b)
    else:
        prod.inputs.append(im.const_tensor(node.input[2], new_b, "float32"))
    im.set(node.output[0], im.rename(v.ir, node.output[0]), v.perm)
    return True


def _replace_const(im: ImportContext, owner: Node, name: str, data: np.ndarray) -> str:
    """New data for a constant, in place (keeping its name) unless another node reads it."""
    if all(n is owner for n in im.g.consumers(name)):
        im.g.tensors[name].data = data.astype(im.g.tensors[name].dtype)
        return name
    return im.const_tensor(name, data, im.g.tensors[name].dtype)


def _try_fuse(im: ImportContext, node: onnx.NodeProto, activation: str) -> bool:
    """Fold a Relu/ReLU6 into the float conv / fully_connected / add that feeds only it."""
    src = node.input[0]
    v = im.vals.get(src)
    if v is None or v.deq or im.sole_consumer(src) is not node:
        return False
    producer = im.producer.get(v.ir)
    if producer is None or producer.op not in FUSABLE or producer.attrs.get("activation") != "none":
        return False
    if im.g.tensors[v.ir].dtype != "float32" or im.g.consumers(v.ir) or v.ir in im.g.outputs:
        return False
    producer.attrs["activation"] = activation
    im.set(node.output[0], im.rename(v.ir, node.output[0]), v.perm)
    return True


def _clip_bounds(im: ImportContext, node: onnx.NodeProto) -> tuple[float | None, float | None]:
    if im.opset < 11 or not node.input[1:]:
        a = _attrs(node)
        lo, hi = a.get("min"), a.get("max")
        return (None if lo is None else float(lo)), (None if hi is None else float(hi))
    lo_a, hi_a = im.const(node, 1, "min"), im.const(node, 2, "max")
    lo = None if lo_a is None else float(lo_a.reshape(()))
    return lo, (None if hi_a is None else float(hi_a.reshape(())))


def activation_of(im: ImportContext, node: onnx.NodeProto) -> str | None:
    if node.op_type == "Relu":
        return "relu"
    if node.op_type == "Clip":
        lo, hi = _clip_bounds(im, node)
        if lo == 0.0 and hi is None:
            return "relu"
        if lo == 0.0 and hi == 6.0:
            return "relu6"
    return None
