"""int8 convolution and fully connected layers (csrc/include/tte/conv.h; split weights:
split.h)."""

from __future__ import annotations

import math

import numpy as np

from tte.compiler.emit.common import (
    Emitted,
    Ref,
    _array,
    _emitter,
    _err,
    _geom_init,
    _need_dtype,
    _opt,
    _q,
    _sz,
    _t,
    _weight_zero_points_zero,
    split_ref,
)
from tte.ir import Graph, Node
from tte.numerics import fixedpoint as fp

CONV_WIN = 32        # TTE_CONV_WIN in csrc/include/tte/internal/conv_s8.h
WIN_OC = 64          # TTE_WIN_OC, ibid.
CONV_WINDOW_SCRATCH = 1280   # TTE_CONV_WINDOW_SCRATCH in csrc/include/tte/conv.h


def conv2d_scratch_bytes(node: Node, g: Graph) -> int:
    """tte_conv2d_s8_scratch_bytes: the window path's widened inputs and sums (conv_window_s8.c)
    for a regular conv that is not a plain 1x1, has more than 32 window values (or is a strided
    1x1 over a multiple of 16 channels, or a stride-1 3x3 RGB stem into at most 16 channels with
    rows of 8 outputs or more) and at most 64 output channels; else 0. Planned in the
    arena so that the kernel keeps them off the stack."""
    if node.op != "conv2d" or int(node.attrs["groups"]) != 1:
        return 0
    x, w, y = _t(g, node.inputs[0]), _t(g, node.inputs[1]), _t(g, node.outputs[0])
    cout, kh, kw, cin = w.shape
    pointwise = (kh == kw == 1 and tuple(node.attrs["strides"]) == (1, 1) and not any(node.attrs["pads"])
                 and tuple(y.shape[1:3]) == tuple(x.shape[1:3]))
    strided_1x1 = kh == kw == 1 and cin % 16 == 0
    # tte_conv_strip's RGB stem (conv_strip_s8.c) takes the window path's scratch too
    stem = (kh == kw == 3 and cin == 3 and cout <= 16 and tuple(node.attrs["strides"]) == (1, 1)
            and tuple(node.attrs["dilations"]) == (1, 1) and y.shape[2] >= 8)
    if pointwise or (kh * kw * cin <= CONV_WIN and not strided_1x1 and not stem) or cout > WIN_OC:
        return 0
    return CONV_WINDOW_SCRATCH


@_emitter("conv2d")
def emit_conv2d(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    _need_dtype(node, g, ("int8",))
    x, w, y = _t(g, node.inputs[0]), _t(g, node.inputs[1]), _t(g, node.outputs[0])
    bias = _opt(node, 2)
    _weight_zero_points_zero(node, w)
    s_in, zp_in = _sz(node, x)
    s_out, zp_out = _sz(node, y)
    cout = w.shape[0]
    ws = _q(node, w).scale.astype(np.float64)
    ws = np.broadcast_to(ws, (cout,)) if ws.size == 1 else ws
    mult, shift = fp.quantize_multipliers(s_in * ws / s_out)
    lo, hi = fp.activation_range_int8(node.attrs["activation"], s_out, zp_out)
    decls = [
        _array("int32_t", f"{prefix}_mult", mult),
        _array("int32_t", f"{prefix}_shift", shift),
        f"static const tte_conv2d_s8_params_t {prefix}_params = "
        f"{{{_geom_init(node, g, x.shape, y.shape, w.shape)}, {zp_in}, {zp_out}, {lo}, {hi}, "
        f"{prefix}_mult, {prefix}_shift}};",
    ]
    b = ref(bias) if bias else "NULL"
    sw = split_ref(ref, w.name)
    if sw is not None:
        if int(node.attrs["groups"]) != 1:
            raise _err(node, "split weights need groups 1")
        return Emitted(decls, [f"tte_conv2d_s8_split(&{prefix}_params, {ref(x.name)}, {sw}, {b}, {ref(y.name)});"])
    if conv2d_scratch_bytes(node, g):
        return Emitted(decls, [f"tte_conv2d_s8_ws(&{prefix}_params, {ref(x.name)}, {ref(w.name)}, {b}, "
                               f"{ref(y.name)}, {ref(node.name + '@scratch')});"])
    return Emitted(decls, [f"tte_conv2d_s8(&{prefix}_params, {ref(x.name)}, {ref(w.name)}, {b}, "
                           f"{ref(y.name)});"])


@_emitter("fully_connected")
def emit_fully_connected(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    _need_dtype(node, g, ("int8",))
    x, w, y = _t(g, node.inputs[0]), _t(g, node.inputs[1]), _t(g, node.outputs[0])
    bias = _opt(node, 2)
    _weight_zero_points_zero(node, w)
    s_in, zp_in = _sz(node, x)
    s_out, zp_out = _sz(node, y)
    ws = _q(node, w).scale.astype(np.float64)
    mult, shift = fp.quantize_multipliers(s_in * ws / s_out)
    lo, hi = fp.activation_range_int8(node.attrs["activation"], s_out, zp_out)
    rows = int(math.prod(x.shape[:-1]))
    decls = [
        _array("int32_t", f"{prefix}_mult", mult),
        _array("int32_t", f"{prefix}_shift", shift),
        f"static const tte_fc_s8_params_t {prefix}_params = {{{rows}, {w.shape[1]}, {w.shape[0]}, "
        f"{zp_in}, {zp_out}, {lo}, {hi}, {int(ws.size > 1)}, {prefix}_mult, {prefix}_shift}};",
    ]
    b = ref(bias) if bias else "NULL"
    return Emitted(decls, [f"tte_fully_connected_s8(&{prefix}_params, {ref(x.name)}, {ref(w.name)}, {b}, "
                           f"{ref(y.name)});"])
