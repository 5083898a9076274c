"""int8 convolution and fully connected layers (csrc/include/tte/conv.h; split weights:
split.h)."""

from __future__ import annotations

import hashlib
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
FC_PASS = 128        # TTE_FC_WIDE_MAX in csrc/src/fully_connected_s8.c
FC_BLOCK = 128       # TTE_FCP_BLOCK, ibid.
FC_PREP_MIN_K = 8    # below: the plain kernel (its scalar loop), no layout
FC_SUM_BITS = 23     # the prepared kernel's sums: 256 times the int32 sum, mod 2**32
FC_PREPARED_META = "fc_prepared"   # Graph.meta key: the C array names choose_prepared keeps
PW_PAIRS_STACK = 64  # TTE_PW_PAIRS_STACK in csrc/include/tte/conv.h
PW_BUFFER_META = "pw_buffer"   # Graph.meta key: the 1x1 convs given a pixel buffer (tte.compiler.analysis)
PW_BUFFER8_META = "pw_buffer8"   # Graph.meta key: those of them given eight pixels' (pointwise_buffer8_bytes)
DW_IN_PLACE_META = "dw_in_place"   # Graph.meta key: the depthwise convs run over their input (tte.compiler.analysis)
DW_IN_PLACE_PASS_BYTES = 256   # about the scratch of a pass of dw_in_place_group's channels
DW_IN_PLACE_PARAMS_BYTES = 128   # TTE_DW_INPLACE_PARAMS_BYTES in csrc/include/tte/conv.h
PW_BY_PIXEL_META = "pw_by_pixel"   # Graph.meta key: the 1x1 convs run pixel by pixel below their input
PW_BY_PIXEL_FIRST = 512   # TTE_PW_BY_PIXEL_FIRST in csrc/include/tte/conv.h


def _plain_pointwise(node: Node, g: Graph) -> bool:
    """tte_conv_path's TTE_PATH_POINTWISE (csrc/include/tte/internal/conv_s8.h)."""
    x, w, y = _t(g, node.inputs[0]), _t(g, node.inputs[1]), _t(g, node.outputs[0])
    return (int(node.attrs["groups"]) == 1 and w.shape[1] == w.shape[2] == 1
            and tuple(node.attrs["strides"]) == (1, 1) and not any(node.attrs["pads"])
            and tuple(y.shape[1:3]) == tuple(x.shape[1:3]))


def pointwise_buffer_bytes(node: Node, g: Graph) -> int:
    """Bytes of the optional pixel buffer of a plain 1x1 conv (tte_conv2d_s8_ws on the pointwise
    path: 8 in_c, four pixels' widened inputs) where it changes the kernel's path: in_c a multiple
    of 8 and more than the stack's buffer runs four pixels a pass with; else 0 (also for one run
    pixel by pixel)."""
    if node.op != "conv2d" or not _plain_pointwise(node, g) or pw_by_pixel(node, g):
        return 0
    cin = _t(g, node.inputs[1]).shape[3]
    return 8 * cin if cin % 8 == 0 and 2 * cin > PW_PAIRS_STACK else 0


def pointwise_buffer8_bytes(node: Node, g: Graph) -> int:
    """Bytes of the eight-pixel buffer of a plain 1x1 conv (tte_conv2d_s8_ws_sized: eight pixels'
    widened inputs, 16 in_c, the weights read once per eight pixels) where the kernel takes it:
    in_c a multiple of 8 from 32 on (twice pointwise_buffer_bytes, or where that is 0 since the
    stack's buffer holds four pixels, 512 bytes); else 0 (also for one run pixel by pixel)."""
    if node.op != "conv2d" or not _plain_pointwise(node, g) or pw_by_pixel(node, g):
        return 0
    cin = _t(g, node.inputs[1]).shape[3]
    return 16 * cin if cin % 8 == 0 and cin >= 32 else 0


def dw_in_place_group(node: Node, g: Graph) -> int:
    """Channels a pass of tte_conv2d_s8_depthwise_inplace for an int8 depthwise conv (multiplier 1,
    channels a multiple of four, batch 1, not a split weight), whose output may then lie over its
    input (tte.compiler.analysis._overlap_fn): a multiple of four that keeps the two copies of a
    pass near DW_IN_PLACE_PASS_BYTES; 0 for other nodes."""
    if node.op != "conv2d" or len(node.inputs) < 2:
        return 0
    x, w, y = _t(g, node.inputs[0]), _t(g, node.inputs[1]), _t(g, node.outputs[0])
    if x.dtype != "int8" or y.dtype != "int8" or len(x.shape) != 4 or len(y.shape) != 4 or x.shape[0] != 1:
        return 0
    c = x.shape[3]
    if int(node.attrs["groups"]) != c or y.shape[3] != c or w.shape[3] != 1 or c % 4:
        return 0
    px = x.shape[1] * x.shape[2] + y.shape[1] * y.shape[2]
    return 4 * max(1, min(c // 4, DW_IN_PLACE_PASS_BYTES // (4 * px)))


def dw_in_place_bytes(node: Node, g: Graph) -> int:
    """tte_conv2d_s8_depthwise_inplace_bytes: the passes' parameters and the copies of a pass's
    input and output channels."""
    group = dw_in_place_group(node, g)
    x, y = _t(g, node.inputs[0]), _t(g, node.outputs[0])
    return DW_IN_PLACE_PARAMS_BYTES + (x.shape[1] * x.shape[2] + y.shape[1] * y.shape[2]) * group


def dw_in_place(node: Node, g: Graph) -> bool:
    """Whether the depthwise conv runs over its input: the graph's DW_IN_PLACE_META names it."""
    return node.name in g.meta.get(DW_IN_PLACE_META, ()) and dw_in_place_group(node, g) > 0


def pw_by_pixel_distance(node: Node, g: Graph) -> int | None:
    """How far (bytes, a multiple of 8) below its input the output of a plain int8 1x1 conv with
    constant weights and no more outputs than inputs may start when it runs pixel by pixel
    (tte_conv2d_s8_pointwise_by_pixel: pixel i's outputs then end at or below pixel i's inputs):
    0 where it makes the first pixels' outputs aside (at most PW_BY_PIXEL_FIRST outputs), else
    out_c rounded up; None for other nodes."""
    if node.op != "conv2d" or len(node.inputs) < 2 or not _plain_pointwise(node, g):
        return None
    x, w, y = _t(g, node.inputs[0]), _t(g, node.inputs[1]), _t(g, node.outputs[0])
    n, m = x.shape[3], y.shape[3]
    if x.dtype != "int8" or y.dtype != "int8" or w.data is None or m > n:
        return None
    return 0 if m <= PW_BY_PIXEL_FIRST else -(-m // 8) * 8


def pw_by_pixel(node: Node, g: Graph) -> bool:
    """Whether the 1x1 conv runs pixel by pixel: the graph's PW_BY_PIXEL_META names it."""
    return node.name in g.meta.get(PW_BY_PIXEL_META, ()) and pw_by_pixel_distance(node, g) is not None


def conv2d_scratch_bytes(node: Node, g: Graph) -> int:
    """tte_conv2d_s8_scratch_bytes: the window path's widened inputs and sums (conv_window_s8.c)
    for a regular conv that is not a plain 1x1, has more than 32 window values (or is a strided
    1x1 over a multiple of 16 channels, or a stride-1 3x3 RGB stem into at most 16 channels with
    rows of 8 outputs or more) and at most 64 output channels; a plain 1x1 that the graph's
    PW_BUFFER_META names: its pixel buffer (pointwise_buffer_bytes; pointwise_buffer8_bytes where
    PW_BUFFER8_META names it); a depthwise run over its input (dw_in_place): its passes' copies;
    a 1x1 run pixel by pixel (pw_by_pixel): none; else 0. Planned in the arena so that the kernel
    keeps them off the stack."""
    if node.op == "conv2d" and dw_in_place(node, g):
        return dw_in_place_bytes(node, g)
    if node.op == "conv2d" and pw_by_pixel(node, g):
        return 0
    if node.op != "conv2d" or int(node.attrs["groups"]) != 1:
        return 0
    w, y = _t(g, node.inputs[1]), _t(g, node.outputs[0])
    cout, kh, kw, cin = w.shape
    pointwise = _plain_pointwise(node, g)
    if pointwise and node.name in g.meta.get(PW_BUFFER8_META, ()):
        return pointwise_buffer8_bytes(node, g)
    if pointwise and node.name in g.meta.get(PW_BUFFER_META, ()):
        return pointwise_buffer_bytes(node, g)
    strided_1x1 = kh == kw == 1 and cin % 16 == 0
    # tte_conv_strip's RGB stem (conv_strip_s8.c) takes the window path's scratch too
    stem = (kh == kw == 3 and cin == 3 and cout <= 16 and tuple(node.attrs["strides"]) == (1, 1)
            and tuple(node.attrs["dilations"]) == (1, 1) and y.shape[2] >= 8)
    if pointwise or (kh * kw * cin <= CONV_WIN and not strided_1x1 and not stem) or cout > WIN_OC:
        return 0
    return CONV_WINDOW_SCRATCH


def rq_fast_ok(node: Node, g: Graph) -> bool:
    """tte_rq_fast_ok of conv ``node``'s output stage (csrc/include/tte/common.h): every shift in
    [-21, -1], every multiplier 0 or at least 2**30, out_zp and the clamp range inside int8."""
    w, y = _t(g, node.inputs[1]), _t(g, node.outputs[0])
    s_in, _ = _sz(node, _t(g, node.inputs[0]))
    s_out, zp_out = _sz(node, y)
    ws = _q(node, w).scale.astype(np.float64)
    ws = np.broadcast_to(ws, (w.shape[0],)) if ws.size == 1 else ws
    mult, shift = fp.quantize_multipliers(s_in * ws / s_out)
    lo, hi = fp.activation_range_int8(node.attrs["activation"], s_out, zp_out)
    return stage_fast_ok(np.asarray(mult, np.int64), np.asarray(shift, np.int64), zp_out, lo, hi)


def stage_fast_ok(mult: np.ndarray, shift: np.ndarray, zp_out: int, lo: int, hi: int) -> bool:
    """tte_rq_fast_ok on an output stage's multipliers, shifts, zero point and clamp range."""
    return (-128 <= zp_out <= 127 and lo >= -128 and hi <= 127 and bool(np.all((shift >= -21) & (shift <= -1)))
            and bool(np.all((mult == 0) | (mult >= 1 << 30))))


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
    if pw_by_pixel(node, g):
        return Emitted(decls, [f"tte_conv2d_s8_pointwise_by_pixel(&{prefix}_params, {ref(x.name)}, {ref(w.name)}, "
                               f"{b}, {ref(y.name)});"])
    if dw_in_place(node, g):
        return Emitted(decls, [f"tte_conv2d_s8_depthwise_inplace(&{prefix}_params, {ref(x.name)}, {ref(w.name)}, {b}, "
                               f"{ref(y.name)}, {ref(node.name + '@scratch')}, {dw_in_place_group(node, g)});"])
    from tte.compiler.emit.block import PE_MAX_IN, live_bias, live_bias_limit, pw_conv_prepared

    prep = pw_conv_prepared(node, g)
    if prep is not None and live_bias(node, g):
        # the trained bias added live while within the layout's bound, else the plain kernel
        npx = int(math.prod(y.shape[:-1]))
        call = (f"if (tte_pointwise_bias_fits({b}, {cout}, {live_bias_limit(node, g)})) {{ "
                f"tte_conv2d_s8_pointwise_prep_bias_px(&{prefix}_params, {ref(x.name)}, {npx}, {prep[0]}, {b}, "
                f"{ref(y.name)}, (int16_t *){ref(node.name + '@scratch')}); }} else {{ "
                f"{_plain_call(node, g, prefix, ref, b)} }}")
        return Emitted([*decls, _array("uint32_t", *prep)], [call])
    if prep is not None:
        # the layout replaces the weight and bias; from 32 input channels on, the planner's
        # pixel buffer is the kernel's
        npx = int(math.prod(y.shape[:-1]))
        call = (f"tte_conv2d_s8_pointwise_small_prep_px(&{prefix}_params, {ref(x.name)}, {npx}, {prep[0]}, "
                f"{ref(y.name)});" if w.shape[3] <= PE_MAX_IN else
                f"tte_conv2d_s8_pointwise_prep_px(&{prefix}_params, {ref(x.name)}, {npx}, {prep[0]}, "
                f"{ref(y.name)}, (int16_t *){ref(node.name + '@scratch')});")
        return Emitted([*decls, _array("uint32_t", *prep)], [call])
    return Emitted(decls, [_plain_call(node, g, prefix, ref, b)])


def _plain_call(node: Node, g: Graph, prefix: str, ref: Ref, b: str) -> str:
    """The conv's call of the plain kernels (its weight as it is): with the planner's 1x1
    buffer where it has one, with its scratch, or without."""
    x, w, y = node.inputs[0], node.inputs[1], node.outputs[0]
    if (_plain_pointwise(node, g) and node.name in g.meta.get(PW_BUFFER8_META, ())
            and conv2d_scratch_bytes(node, g) == pointwise_buffer8_bytes(node, g) > 0):
        return (f"tte_conv2d_s8_ws_sized(&{prefix}_params, {ref(x)}, {ref(w)}, {b}, "
                f"{ref(y)}, {ref(node.name + '@scratch')}, {pointwise_buffer8_bytes(node, g)});")
    if conv2d_scratch_bytes(node, g):
        return (f"tte_conv2d_s8_ws(&{prefix}_params, {ref(x)}, {ref(w)}, {b}, "
                f"{ref(y)}, {ref(node.name + '@scratch')});")
    return f"tte_conv2d_s8(&{prefix}_params, {ref(x)}, {ref(w)}, {b}, {ref(y)});"


def fc_groups_of_eight(rows: int) -> int:
    """The groups of eight rows that lead a block of ``rows`` (a multiple of four) in fc_layout,
    the rest (none or four) a group of four: as fcp_groups8 in csrc/src/fully_connected_s8.c."""
    return rows // 8


def fc_layout(node: Node, g: Graph) -> tuple[str, np.ndarray] | None:
    """The fully connected layer's weights and bias as tte_fully_connected_s8_prep reads them
    (csrc/src/fully_connected_s8.c), with the C array's name (from the weight's name and bytes):
    the rows rounded up to four prepared biases, 256 (bias - zp sum(w) + 127 sum(w at odd
    inputs)) mod 2**32, then per block of 128 rows, per pass of 128 inputs (zero rows and
    inputs up to multiples of 4 and 8), per group of eight rows (fc_groups_of_eight), then
    per four rows, and per four inputs the group's words, each
    the int16 lanes w0 + 256 w1, w2 + 256 w3. None where the kernel could not be exact (a sum
    that may leave 24 bits, a lane below int16: w1 or w3 at -128 after a negative weight),
    where the weight or bias is not a constant, or below 8 inputs or 4 outputs (the plain
    kernel's)."""
    x, w = _t(g, node.inputs[0]), _t(g, node.inputs[1])
    bias_name = _opt(node, 2)
    if w.data is None or w.dtype != "int8" or x.dtype != "int8" or len(w.shape) != 2:
        return None
    nout, k = w.shape
    if k < FC_PREP_MIN_K or nout < 4 or (bias_name and _t(g, bias_name).data is None):
        return None
    wd = np.asarray(w.data, np.int64).reshape(nout, k)
    bias = np.asarray(_t(g, bias_name).data, np.int64).reshape(-1) if bias_name else np.zeros(nout, np.int64)
    _, zp = _sz(node, x)
    span = max(zp + 128, 127 - zp)   # the largest |x - zp|
    if np.any(np.abs(bias) + span * np.abs(wd).sum(axis=1) >= 2 ** FC_SUM_BITS):
        return None
    n4, k8 = -(-nout // 4) * 4, -(-k // 8) * 8
    pad = np.zeros((n4, k8), np.int64)
    pad[:nout, :k] = wd
    pbias = np.zeros(n4, np.int64)
    pbias[:nout] = bias - zp * wd.sum(axis=1) + 127 * wd[:, 1::2].sum(axis=1)
    lanes = pad[:, 0::2] + 256 * pad[:, 1::2]
    if np.any(lanes < -(2 ** 15)):
        return None
    lanes = (lanes & 0xFFFF).reshape(n4, k8 // 4, 2)
    words = lanes[:, :, 0] | lanes[:, :, 1] << 16
    parts = [(pbias << 8) & 0xFFFFFFFF]
    for nb in range(0, n4, FC_BLOCK):
        ne = min(n4, nb + FC_BLOCK)
        for k0 in range(0, k8, FC_PASS):
            sub = words[nb:ne, k0 // 4:min(k8, k0 + FC_PASS) // 4]
            eight = fc_groups_of_eight(ne - nb)
            for rows in (8, 4):
                grp = sub[:8 * eight] if rows == 8 else sub[8 * eight:]
                parts.append(grp.reshape(len(grp) // rows, rows, sub.shape[1]).transpose(0, 2, 1).reshape(-1))
    prep = np.concatenate(parts).astype(np.uint32)
    digest = hashlib.sha256(node.inputs[1].encode() + b"\0" + prep.tobytes()).hexdigest()[:16]
    return f"tte_fcq_{digest}", prep


def kept_layout(pr: tuple[str, np.ndarray] | None, g: Graph, key: str) -> tuple[str, np.ndarray] | None:
    """A compile-time layout where the flash policy (tte.compiler.emit.block.choose_prepared,
    recorded in the graph's meta under ``key``) keeps it; a graph it did not decide for (a kernel
    test's) keeps every layout."""
    kept = g.meta.get(key)
    return pr if pr is None or kept is None or pr[0] in kept else None


def fc_prepared(node: Node, g: Graph) -> tuple[str, np.ndarray] | None:
    """fc_layout where the flash policy keeps it (kept_layout)."""
    return kept_layout(fc_layout(node, g), g, FC_PREPARED_META)


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
    prep = fc_prepared(node, g)
    if prep is not None:
        decls.append(_array("uint32_t", *prep))
        return Emitted(decls, [f"tte_fully_connected_s8_prep(&{prefix}_params, {ref(x.name)}, {prep[0]}, "
                               f"{ref(y.name)});"])
    b = ref(bias) if bias else "NULL"
    return Emitted(decls, [f"tte_fully_connected_s8(&{prefix}_params, {ref(x.name)}, {ref(w.name)}, {b}, "
                           f"{ref(y.name)});"])
