"""Fused backward (tte.compiler.fuse.stream_backward): a block's depthwise -> 1x1 backward, channel by
channel, with its updates (tte_dwpw_backward_* in csrc/include/tte/update.h)."""

from __future__ import annotations

import numpy as np

from tte.compiler.emit.common import (
    Emitted,
    Ref,
    _array,
    _chain_graph,
    _emitter,
    _err,
    _geom_init,
    _q,
    _sz,
    _t,
    _weight_zero_points_zero,
    f32,
    split_ref,
)
from tte.compiler.emit.update import _step_arg, _update_params
from tte.ir import FusedChain, Graph, Node


def _rw(w: str, written: bool) -> str:
    """The kernels take the 1x1 conv's weights as int8_t *: a frozen (const) weight that is
    only read (no update in the group) is passed through a cast."""
    return w if written else f"(int8_t *){w}"


def _dwpw_parts(node: Node) -> dict[str, Node]:
    chain = node.attrs.get("chain")
    if not isinstance(chain, FusedChain):
        raise _err(node, "no fused chain")
    parts: dict[str, Node] = {}
    head = node.attrs.get("head", ())
    pool = node.attrs.get("pool", ())
    for n in chain.nodes:
        if n.name in pool:   # the pool's gradient (and mask) that make gy (tte.compiler.pooled.pool_heads)
            parts[{"avgpool2d_grad": "pool", "mask_grad": "pm"}[n.op]] = n
            continue
        if n.name in head:   # the nodes that make dz (tte.compiler.fuse._backward_head)
            parts[{"conv2d_grad_input": "q", "mask_grad": "qm", "bias_update": "qb"}[n.op]] = n
            continue
        key = {"mask_grad": "m", "bias_update": "b", "conv2d_weight_update": "u"}.get(n.op)
        if n.op == "conv2d_grad_input":
            key = "d" if "d" not in parts else "gx"
        if key is None or key in parts:
            raise _err(node, f"unexpected chain {chain}")
        parts[key] = n
    return parts


X_FLOAT_META = "dwpw_x_float"   # Graph.meta key: dwpw_backward node -> pixels of x its tmp holds as floats


def dwpw_x_float_pixels(node: Node, g: Graph) -> int:
    """The pixels of P's input x that a head variant updating P's weights over at least eight
    input channels could hold as floats in its tmp (tte_dwpw_head_t.x_float_pixels: the weight
    update reads them instead of a table per value): all of x's; else 0."""
    if node.op != "dwpw_backward" or not node.attrs.get("head") or not node.inputs[4] or not node.inputs[3]:
        return 0
    if "u" not in _dwpw_parts(node):
        return 0
    x = _t(g, node.inputs[4])
    return x.size // x.shape[-1] if x.shape[-1] >= 8 else 0


def dwpw_x_float_given(node: Node, g: Graph) -> int:
    """The pixels of x as floats that the graph's X_FLOAT_META gives the node (0: none)."""
    return min(int(g.meta.get(X_FLOAT_META, {}).get(node.name, 0)), dwpw_x_float_pixels(node, g))


Q_COLS_META = "dwpw_q_cols"   # Graph.meta key: dwpw_backward node -> Q's columns per copy in its tmp
Q_COLS_WIDTHS = (32, 8)       # the copies' widths tried, widest first (a line of flash is 32 bytes)
Q_COLS_MIN_BYTES = 2048       # a smaller Q stays in the 4 KB D-cache while its columns are read


def dwpw_q_rows(node: Node, g: Graph) -> int:
    """Q's output channels in a head variant, whose column reads of Q (one per D channel, with a
    stride of D's channels) can go through a copy in its tmp (tte_dwpw_head_t.q_cols); else 0.
    Worth it where Q has at least Q_COLS_MIN_BYTES."""
    if node.op != "dwpw_backward" or not node.attrs.get("head"):
        return 0
    return _t(g, _dwpw_parts(node)["q"].inputs[1]).shape[0]


def dwpw_q_cols_given(node: Node, g: Graph) -> int:
    """Q's columns per copy that the graph's Q_COLS_META gives the node (0: none)."""
    return int(g.meta.get(Q_COLS_META, {}).get(node.name, 0)) if dwpw_q_rows(node, g) else 0


PADDED_META = "dwpw_padded"   # Graph.meta key: the head variants given D's padded plane (absent: all of them)


def dwpw_padded(node: Node, g: Graph) -> bool:
    """Whether a head variant makes D's input gradient on the padded plane (tte_dwpw_head_t.unpadded
    0: no window clipped, the M4F/M7's plane passes), which the graph's PADDED_META gives it (every
    head without the key); else on an unpadded one, fewer floats of its scratch."""
    given = g.meta.get(PADDED_META)
    return given is None or node.name in given


def dwpw_pad_work(node: Node, g: Graph) -> int:
    """A head variant's padded plane as optional scratch (tte.compiler.analysis): the taps of D's
    input gradient it speeds up, where it takes more floats than the unpadded plane; else 0."""
    if node.op != "dwpw_backward" or not node.attrs.get("head"):
        return 0
    if _plane_floats(node, g, True) <= _plane_floats(node, g, False):
        return 0
    dz = node.attrs["chain"].intermediates[3]
    w_dw = _t(_chain_graph(g, node.attrs["chain"]), _dwpw_parts(node)["d"].inputs[1])
    return dz.size * w_dw.shape[1] * w_dw.shape[2]


def _plane_floats(node: Node, g: Graph, padded: bool) -> int:
    """The floats of the head's plane: D's input gradient on its padded plane (dwpw_backward.c
    dwpw_plane) or unpadded, at least one channel of D's input and of dz (head_dz's list)."""
    chain = node.attrs["chain"]
    d, dz = chain.intermediates[0], chain.intermediates[3]
    n = d.shape[0] * d.shape[1] * d.shape[2]
    if not padded:
        return max(n, dz.shape[0] * dz.shape[1] * dz.shape[2])
    w_dw = _t(_chain_graph(g, chain), _dwpw_parts(node)["d"].inputs[1])
    a = _dwpw_parts(node)["d"].attrs
    (sh, sw), (dh, dw) = a["strides"], a["dilations"]
    pt, pl = int(a["pads"][0]), int(a["pads"][1])
    ph = max((dz.shape[1] - 1) * int(sh) + (w_dw.shape[1] - 1) * int(dh) + 1, pt + d.shape[1])
    pw = max((dz.shape[2] - 1) * int(sw) + (w_dw.shape[2] - 1) * int(dw) + 1, pl + d.shape[2])
    return max(n, d.shape[0] * ph * pw)


def dwpw_xtab(node: Node, g: Graph) -> np.ndarray | None:
    """x's dequantization table (tte_dwpw_head_t.xtab: a flash constant, none in the scratch) for
    a head variant that reads x: table[(uint8_t)v] = float32(v - x_zp) * float32(x_scale), the
    floats the kernel would make; else None."""
    if node.op != "dwpw_backward" or not node.attrs.get("head") or not node.inputs[4]:
        return None
    s, z = _sz(node, _t(g, node.inputs[4]))
    v = np.arange(256, dtype=np.int32).astype(np.uint8).view(np.int8).astype(np.int32) - z
    return v.astype(np.float32) * np.float32(s)


def dwpw_scratch_bytes(node: Node, g: Graph) -> int:
    """tte_dwpw_backward_s8's tmp: one channel of the 1x1 conv's output gradient (floats);
    with a head (tte_dwpw_backward_head_s8) that channel on a padded plane (every depthwise
    window inside it; unpadded where PADDED_META leaves it out, dwpw_padded), also one channel
    of dz, the 256-float table that
    dequantizes x, one converted weight row (max of Q's output channels, P's input channels,
    D's taps) and one int32 per pixel (the nonzero pixels of a channel), the table left out where
    it is a flash constant (dwpw_xtab: wherever x is read); then the pixels of x as
    floats that the graph's X_FLOAT_META gives the node (dwpw_x_float_given), Q's columns
    for the channels of one copy that Q_COLS_META gives it (dwpw_q_cols_given), and with a pool
    (tte.compiler.pooled.pool_heads) its shares of gy, one float per Q output channel."""
    chain = node.attrs["chain"]
    assert isinstance(chain, FusedChain)
    d = chain.intermediates[0]
    n = d.shape[0] * d.shape[1] * d.shape[2]
    if node.attrs.get("head"):
        parts = _dwpw_parts(node)
        dz = chain.intermediates[3]
        w_dw = _t(_chain_graph(g, chain), parts["d"].inputs[1])
        cin = _t(g, node.inputs[3]).shape[3] if node.inputs[3] else 0
        row = max(_t(g, parts["q"].inputs[1]).shape[0], cin, w_dw.shape[1] * w_dw.shape[2])
        table = 0 if node.inputs[4] else 256
        n = (_plane_floats(node, g, dwpw_padded(node, g)) + dz.shape[0] * dz.shape[1] * dz.shape[2] + table + row
             + n)
        pixels = dwpw_x_float_given(node, g)
        if pixels:
            n += pixels * _t(g, node.inputs[4]).shape[-1]
        if (cols := dwpw_q_cols_given(node, g)):
            n += -(-dwpw_q_rows(node, g) * cols // 4)
        if node.attrs.get("pool"):
            n += dwpw_q_rows(node, g)
    return 4 * n


@_emitter("dwpw_backward")
def emit_dwpw_backward(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    parts = _dwpw_parts(node)
    chain = node.attrs["chain"]
    assert isinstance(chain, FusedChain)
    view = _chain_graph(g, chain)
    d_node = parts["d"]
    dz, w_dw, d = _t(view, d_node.inputs[0]), _t(view, d_node.inputs[1]), chain.intermediates[0]
    _weight_zero_points_zero(node, w_dw)
    decls = [_array("float", f"{prefix}_dscale", np.broadcast_to(_q(node, w_dw).scale, (w_dw.shape[0],)))]
    w_name, x_name, b_name = node.inputs[3], node.inputs[4], node.inputs[5]
    cin, w_scale, x_scale, x_zp = 0, "NULL", "0.0f", 0
    if w_name:
        w = _t(g, w_name)
        _weight_zero_points_zero(node, w)
        cin = w.shape[3]
        decls.append(_array("float", f"{prefix}_wscale", np.broadcast_to(_q(node, w).scale, (w.shape[0],))))
        w_scale = f"{prefix}_wscale"
    if x_name:
        s, z = _sz(node, _t(g, x_name))
        x_scale, x_zp = f32(s), z
    updates = {}
    for key, param, n_in in (("u", w_name, cin), ("b", b_name, 1)):
        if key in parts:
            pdecls, _ = _update_params(parts[key], _t(g, param), f"{prefix}_{key}", d.shape[3], n_in, ref,
                                       has_in=key == "u")
            decls += pdecls
            updates[key] = f"&{prefix}_{key}_u"
    decls.append(f"static const tte_dwpw_backward_params_t {prefix}_params = "
                 f"{{{_geom_init(d_node, view, d.shape, dz.shape, w_dw.shape)}, {prefix}_dscale, {cin}, {w_scale}, "
                 f"{x_scale}, {x_zp}, {updates.get('u', 'NULL')}, {updates.get('b', 'NULL')}}};")
    outs = dict(zip(node.attrs["roles"], node.outputs))
    for role, param in (("w", w_name), ("b", b_name)):
        if role in outs and ref(outs[role]) != ref(param):
            raise _err(node, f"parameter '{param}' must be updated in place")
    stepper = next(((parts[k], i) for k, i in (("u", 3), ("b", 2), ("qb", 2)) if k in parts), None)
    step = _step_arg(stepper[0], ref, stepper[1]) if stepper is not None else "0"
    sw = split_ref(ref, w_name) if w_name else None
    args = [ref(w_dw.name), f"(const uint8_t *)({ref(node.inputs[2])})",
            sw if sw is not None else (_rw(ref(w_name), "u" in parts) if w_name else "NULL"),
            ref(x_name) if x_name else "NULL",
            ref(b_name) if b_name else "NULL", ref(outs["dx"]) if "dx" in outs else "NULL", step]
    sfx = "split_s8" if sw is not None else "s8"
    if sw is not None and "u" in parts and [int(c) for c in parts["u"].attrs["out_channels"]]:
        raise _err(node, "split weights are updated over input channels only")
    scratch = f"(float *){ref(node.name + '@scratch')}"
    if "q" not in parts:
        return Emitted(decls, [f"tte_dwpw_backward_{sfx}(&{prefix}_params, {ref(dz.name)}, {', '.join(args)}, "
                               f"{scratch});"])
    q = parts["q"]
    wq = _t(g, q.inputs[1])
    # gy, or with a pool its dy and mask (tte_dwpw_head_t.dyp, dy_mask): gy is never stored
    dyp, dy_mask, count = "NULL", "NULL", "0.0f"
    if "pool" not in parts:
        gy_ref = ref(q.inputs[0])
    else:   # gy itself exists nowhere
        gy_ref, dyp, count = "NULL", ref(node.inputs[0]), f32(float(node.attrs["count"]))
        if "pm" in parts:
            dy_mask = f"(const uint8_t *)({ref(node.inputs[10])})"
    _weight_zero_points_zero(node, wq)
    decls.append(_array("float", f"{prefix}_qscale", np.broadcast_to(_q(node, wq).scale, (wq.shape[0],))))
    b_dw, qb_u = "NULL", "NULL"
    if "qb" in parts:
        b_dw = node.inputs[9]
        pdecls, _ = _update_params(parts["qb"], _t(g, b_dw), f"{prefix}_qb", d.shape[3], 1, ref, has_in=False)
        decls += pdecls
        qb_u = f"&{prefix}_qb_u"
        if ref(outs["db"]) != ref(b_dw):
            raise _err(node, f"parameter '{b_dw}' must be updated in place")
    xtab = dwpw_xtab(node, g)
    if xtab is not None:
        decls.append(_array("float", f"{prefix}_xtab", xtab))
    decls.append(f"static const tte_dwpw_head_t {prefix}_head = {{NULL, NULL, {prefix}_qscale, "
                 f"{wq.shape[0]}, NULL, NULL, {qb_u}, {dwpw_x_float_given(node, g)}, "
                 f"{dwpw_q_cols_given(node, g)}, NULL, {count}, NULL, "
                 f"{f'{prefix}_xtab' if xtab is not None else 'NULL'}, {int(not dwpw_padded(node, g))}}};")
    return Emitted(decls, [f"{{ tte_dwpw_head_t h = {prefix}_head; h.gy = {gy_ref}; h.w = {ref(wq.name)}; "
                           f"h.dyp = {dyp}; h.dy_mask = {dy_mask}; "
                           f"h.mask = (const uint8_t *)({ref(node.inputs[8])}); "
                           f"h.b = {ref(b_dw) if b_dw != 'NULL' else 'NULL'};",
                           f"  tte_dwpw_backward_head_{sfx}(&{prefix}_params, &h, {', '.join(args)}, {scratch}); }}"])
