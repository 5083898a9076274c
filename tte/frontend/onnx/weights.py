"""Weight and bias constants of conv2d / fully_connected, float or int8 symmetric."""

from __future__ import annotations

import numpy as np
import onnx

from tte.errors import UnsupportedOpError
from tte.frontend.onnx.context import ImportContext
from tte.frontend.onnx.values import _QConst, _QOut
from tte.ir import QuantParams


def _conv_weights(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None,
                  x_ir: str) -> tuple[str, str]:
    """IR weight [Cout,kh,kw,Cin/g] and bias names (int8 / int32 in an int8 group)."""
    w = im.const(node, 1, "weight")
    assert w is not None
    b = im.const(node, 2, "bias")
    w_ir = np.transpose(w, (0, 2, 3, 1))
    if qout is None:
        wn = im.const_tensor(node.input[1], w_ir, "float32")
        bn = im.const_tensor(node.input[2], b, "float32") if b is not None else ""
        return wn, bn
    qc = im.qconsts[node.input[1]]
    return _int8_weights(im, node, qc, np.transpose(qc.q, (0, 2, 3, 1)), b, x_ir, per_channel=True)


def _int8_weights(im: ImportContext, node: onnx.NodeProto, qc: _QConst, w_ir: np.ndarray,
                  b: np.ndarray | None, x_ir: str, *, per_channel: bool) -> tuple[str, str]:
    if w_ir.dtype != np.int8 or np.any(qc.zero_point != 0):
        raise UnsupportedOpError(node.op_type,
                                 detail="int8 QDQ weights must be int8 symmetric (zero point 0)")
    cout = w_ir.shape[0]
    scale = qc.scale.astype(np.float32)
    if per_channel or scale.size > 1:
        scale = np.broadcast_to(scale, (cout,)).copy()
        wq = QuantParams(scale, np.zeros(cout), axis=0)
    else:
        wq = QuantParams(scale.reshape(1), np.zeros(1))
    wn = im.const_tensor(qc.source or node.input[1], w_ir, "int8", wq)
    if b is None:
        return wn, ""
    x_q = im.g.tensors[x_ir].quant
    assert x_q is not None
    bias_scale = (np.float64(x_q.scale[0]) * scale.astype(np.float64))
    bq = im.qconsts.get(node.input[2])
    if bq is not None and bq.q.dtype == np.int32 and np.allclose(bq.scale, bias_scale, rtol=1e-6):
        ints = bq.q.astype(np.int64)
    else:
        ints = np.round(b.astype(np.float64) / bias_scale)
    ints = np.clip(ints, -(2 ** 31), 2 ** 31 - 1).astype(np.int32)
    bn = im.const_tensor(bq.source if bq is not None and bq.source else node.input[2], ints, "int32",
                          QuantParams(np.broadcast_to(bias_scale, ints.shape).astype(np.float32),
                                      np.zeros(ints.shape), axis=0 if ints.size > 1 else None))
    return wn, bn


def _fc_weights(im: ImportContext, node: onnx.NodeProto, w_nk: np.ndarray, bias: np.ndarray | None,
                qout: _QOut | None, x_ir: str, trans_b: bool) -> tuple[str, str]:
    if qout is None:
        wn = im.const_tensor(node.input[1], w_nk, "float32")
        bn = im.const_tensor(node.input[2] if len(node.input) > 2 else f"{node.input[1]}_bias",
                              bias, "float32") if bias is not None else ""
        return wn, bn
    qc = im.qconsts[node.input[1]]
    q = qc.q if trans_b else qc.q.T
    return _int8_weights(im, node, qc, np.ascontiguousarray(q), bias, x_ir, per_channel=False)


def _gemm_bias(c: np.ndarray | None, n: int) -> np.ndarray | None:
    """C as a per-output vector when it broadcasts like one, else None."""
    if c is None:
        return None
    if c.size == 1:
        return np.full(n, float(c.reshape(())), np.float32)
    if c.shape in ((n,), (1, n)):
        return c.reshape(n).astype(np.float32)
    return None
