"""Pooling and mean, forward (int8) and backward (float) (csrc/include/tte/pool.h)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from tte.compiler.emit.common import (
    Emitted,
    Ref,
    _emitter,
    _merge,
    _need_dtype,
    _nonneg_pads,
    _requant_call,
    _same_quant,
    _sz,
    _t,
    _unsupported,
)
from tte.ir import Graph, Node
from tte.numerics import fixedpoint as fp


def _pool_init(node: Node, x_shape: Sequence[int], y_shape: Sequence[int], pad_value: int, lo: int,
               hi: int) -> str:
    a = node.attrs
    _nonneg_pads(node, a["pads"])
    n, h, w, c = x_shape
    kh, kw = (int(k) for k in a["kernel"])
    sh, sw = (int(s) for s in a["strides"])
    include = int(bool(a.get("count_include_pad", False)))
    return (f"{{{n}, {h}, {w}, {c}, {y_shape[1]}, {y_shape[2]}, {kh}, {kw}, {sh}, {sw}, "
            f"{int(a['pads'][0])}, {int(a['pads'][1])}, {include}, {pad_value}, {lo}, {hi}}}")


@_emitter("avgpool2d", "maxpool2d")
def emit_pool(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    _need_dtype(node, g, ("int8",))
    x, y = _t(g, node.inputs[0]), _t(g, node.outputs[0])
    si, zi = _sz(node, x)
    lo, hi = fp.activation_range_int8(node.attrs["activation"], si, zi)
    decl = f"static const tte_pool_params_t {prefix}_params = {_pool_init(node, x.shape, y.shape, zi, lo, hi)};"
    kernel = "tte_avgpool2d_s8" if node.op == "avgpool2d" else "tte_maxpool2d_s8"
    out = Emitted([decl], [f"{kernel}(&{prefix}_params, {ref(x.name)}, {ref(y.name)});"])
    if not _same_quant(node, x, y):
        out = _merge(out, _requant_call(node, prefix, si, zi, y, ref(y.name), ref(y.name), y.size))
    return out


def _outer_reduce_inner(node: Node, shape: Sequence[int], axes_attr: Sequence[int]) -> tuple[int, int, int]:
    r = len(shape)
    axes = sorted({int(a) % r for a in axes_attr}) if axes_attr else list(range(r))
    if axes != list(range(axes[0], axes[-1] + 1)):
        raise _unsupported(node, f"mean over non-contiguous axes {tuple(axes)}")
    outer = int(math.prod(shape[:axes[0]]))
    reduce = int(math.prod(shape[axes[0]:axes[-1] + 1]))
    inner = int(math.prod(shape[axes[-1] + 1:]))
    return outer, reduce, inner


@_emitter("mean")
def emit_mean(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    _need_dtype(node, g, ("int8",))
    x, y = _t(g, node.inputs[0]), _t(g, node.outputs[0])
    outer, n, inner = _outer_reduce_inner(node, x.shape, node.attrs["axes"])
    si, zi = _sz(node, x)
    so, zo = _sz(node, y)
    mult, shift = fp.quantize_multiplier(si / so)
    # reference_ops::QuantizedMeanOrSum folds 1/n into the multiplier
    up = min(n.bit_length() - 1, 32, 31 + shift)
    mult = (mult << up) // n
    shift -= up
    decl = (f"static const tte_mean_s8_params_t {prefix}_params = {{{outer}, {n}, {inner}, {zi}, {zo}, "
            f"{mult}, {shift}}};")
    return Emitted([decl], [f"tte_mean_s8(&{prefix}_params, {ref(x.name)}, {ref(y.name)});"])


@_emitter("avgpool2d_grad")
def emit_avgpool2d_grad(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    _need_dtype(node, g, ("float32",))
    dy, dx = _t(g, node.inputs[0]), _t(g, node.outputs[0])
    decl = f"static const tte_pool_params_t {prefix}_params = {_pool_init(node, dx.shape, dy.shape, 0, 0, 0)};"
    return Emitted([decl], [f"tte_avgpool2d_grad_f32(&{prefix}_params, {ref(dy.name)}, {ref(dx.name)});"])


@_emitter("mean_grad")
def emit_mean_grad(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    _need_dtype(node, g, ("float32",))
    dx = _t(g, node.outputs[0])
    outer, reduce, inner = _outer_reduce_inner(node, dx.shape, node.attrs["axes"])
    return Emitted([], [f"tte_mean_grad_f32({outer}, {reduce}, {inner}, {ref(node.inputs[0])}, "
                        f"{ref(dx.name)});"])
