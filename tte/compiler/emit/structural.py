"""Concat, slice and max pool's input gradient (csrc/include/tte/structural.h)."""

from __future__ import annotations

import math

from tte.compiler.emit.common import (
    Emitted,
    Ref,
    _emitter,
    _merge,
    _need_dtype,
    _requant_call,
    _requant_init,
    _same_quant,
    _sz,
    _t,
)
from tte.compiler.emit.movement import _rank4
from tte.compiler.emit.pool import _pool_init
from tte.ir import Graph, Node

_ELEM = {"int8": 1, "float32": 4, "int32": 4, "bool": 0}


@_emitter("concat")
def emit_concat(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    d = _need_dtype(node, g, ("int8", "float32"))
    y = _t(g, node.outputs[0])
    axis = int(node.attrs["axis"]) % len(y.shape)
    outer = int(math.prod(y.shape[:axis]))
    inner = int(math.prod(y.shape[axis + 1:]))
    chunks = [_t(g, i).shape[axis] * inner for i in node.inputs]
    n = len(node.inputs)
    decls = [f"static const int32_t {prefix}_chunk[{n}] = {{{', '.join(map(str, chunks))}}};"]
    if d == "float32":
        xs = ", ".join(f"(const void *){ref(i)}" for i in node.inputs)
        return Emitted(decls, ["{", f"    const void *const xs[{n}] = {{{xs}}};",
                               f"    tte_concat({n}, xs, {prefix}_chunk, {outer}, 4, {ref(y.name)});", "}"])
    so, zo = _sz(node, y)
    rqs = []
    for k, name in enumerate(node.inputs):
        x = _t(g, name)
        if _same_quant(node, x, y):
            rqs.append("NULL")
            continue
        si, zi = _sz(node, x)
        decls.append(f"static const tte_requant_t {prefix}_rq{k} = {_requant_init(zi, si / so, zo, -128, 127)};")
        rqs.append(f"&{prefix}_rq{k}")
    decls.append(f"static const tte_requant_t *const {prefix}_rq[{n}] = {{{', '.join(rqs)}}};")
    xs = ", ".join(f"(const int8_t *){ref(i)}" for i in node.inputs)
    return Emitted(decls, ["{", f"    const int8_t *const xs[{n}] = {{{xs}}};",
                           f"    tte_concat_s8({n}, xs, {prefix}_chunk, {prefix}_rq, {outer}, {ref(y.name)});", "}"])


@_emitter("slice")
def emit_slice(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    d = _need_dtype(node, g, ("int8", "float32"))
    x, y = _t(g, node.inputs[0]), _t(g, node.outputs[0])
    lead = 4 - len(x.shape)
    strides = tuple(node.attrs["strides"]) or (1,) * len(x.shape)
    begin = [0] * lead + [int(b) for b in node.attrs["begin"]]
    stride = [1] * lead + [int(s) for s in strides]

    def arr(v: list[int]) -> str:
        return "{" + ", ".join(map(str, v)) + "}"

    init = f"{{{arr(_rank4(node, x.shape))}, {arr(_rank4(node, y.shape))}, {arr(begin)}, {arr(stride)}}}"
    decl = f"static const tte_slice_params_t {prefix}_params = {init};"
    out = Emitted([decl], [f"tte_slice(&{prefix}_params, {ref(x.name)}, {ref(y.name)}, {_ELEM[d]});"])
    if d == "int8" and not _same_quant(node, x, y):
        si, zi = _sz(node, x)
        out = _merge(out, _requant_call(node, prefix, si, zi, y, ref(y.name), ref(y.name), y.size))
    return out


@_emitter("maxpool2d_grad")
def emit_maxpool2d_grad(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    _need_dtype(node, g, ("float32",))
    _need_dtype(node, g, ("int8",), 1)
    dy, x, dx = _t(g, node.inputs[0]), _t(g, node.inputs[1]), _t(g, node.outputs[0])
    decl = f"static const tte_pool_params_t {prefix}_params = {_pool_init(node, dx.shape, dy.shape, 0, 0, 0)};"
    return Emitted([decl], [f"tte_maxpool2d_grad_s8_f32(&{prefix}_params, {ref(x.name)}, {ref(dy.name)}, "
                            f"{ref(dx.name)});"])
