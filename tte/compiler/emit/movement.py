"""Data movement: reshape (alias or copy), transpose, pad (csrc/include/tte/movement.h)."""

from __future__ import annotations

from collections.abc import Sequence

from tte.compiler.emit.common import (
    Emitted,
    Ref,
    _array,
    _emitter,
    _merge,
    _need_dtype,
    _nonneg_pads,
    _requant_call,
    _same_quant,
    _sz,
    _t,
    _unsupported,
    c_nbytes,
    f32,
)
from tte.ir import Graph, Node
from tte.reference.int8_ops import pad_value_int8


@_emitter("reshape")
def emit_reshape(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    x, y = _t(g, node.inputs[0]), _t(g, node.outputs[0])
    if x.dtype == "int8" and y.dtype == "int8" and not _same_quant(node, x, y):
        si, zi = _sz(node, x)
        return _requant_call(node, prefix, si, zi, y, ref(x.name), ref(y.name), x.size)
    if ref(x.name) == ref(y.name):
        return Emitted()
    return Emitted([], [f"tte_copy({ref(y.name)}, {ref(x.name)}, {c_nbytes(x)});"])


@_emitter("weight_snapshot")
def emit_weight_snapshot(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    """The weight before its update, for an input gradient that runs after it (tte.compiler.snapshot)."""
    w = _t(g, node.inputs[0])
    return Emitted([], [f"tte_copy({ref(node.outputs[0])}, {ref(w.name)}, {c_nbytes(w)});"])


def _channels(node: Node, g: Graph, prefix: str) -> tuple[list[str], str, int, int]:
    """A channels_gather / _scatter's index array, its pixels and its whole tensor's channels."""
    _need_dtype(node, g, ("int8",))
    whole = _t(g, node.outputs[0] if node.op == "channels_scatter" else node.inputs[0])
    sel = [int(c) for c in node.attrs["channels"]]
    return [_array("int32_t", f"{prefix}_sel", sel)], f"{prefix}_sel", whole.size // whole.shape[-1], whole.shape[-1]


@_emitter("channels_gather")
def emit_channels_gather(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    """A split weight's trained input channels of x, kept for the backward (tte.compiler.keep_channels)."""
    decls, sel, pixels, in_c = _channels(node, g, prefix)
    return Emitted(decls, [f"tte_channels_gather_s8({ref(node.inputs[0])}, {ref(node.outputs[0])}, {pixels}, "
                           f"{in_c}, {sel}, {len(node.attrs['channels'])});"])


@_emitter("channels_scatter")
def emit_channels_scatter(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    decls, sel, pixels, in_c = _channels(node, g, prefix)
    q = _t(g, node.inputs[0]).quant
    zp = int(q.zero_point.reshape(-1)[0]) if q is not None else 0
    return Emitted(decls, [f"tte_channels_scatter_s8({ref(node.inputs[0])}, {ref(node.outputs[0])}, {pixels}, "
                           f"{in_c}, {sel}, {len(node.attrs['channels'])}, {zp});"])


def _rank4(node: Node, shape: Sequence[int]) -> list[int]:
    if len(shape) > 4:
        raise _unsupported(node, f"rank {len(shape)} (the C kernels handle rank <= 4)")
    return [1] * (4 - len(shape)) + [int(d) for d in shape]


@_emitter("transpose")
def emit_transpose(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    d = _need_dtype(node, g, ("int8", "float32"))
    x, y = _t(g, node.inputs[0]), _t(g, node.outputs[0])
    lead = 4 - len(x.shape)
    shape4 = _rank4(node, x.shape)
    perm4 = list(range(lead)) + [int(p) + lead for p in node.attrs["perm"]]
    decls = [_array("int32_t", f"{prefix}_shape", shape4), _array("int32_t", f"{prefix}_perm", perm4)]
    size = 1 if d == "int8" else 4
    out = Emitted(decls, [f"tte_transpose({ref(x.name)}, {ref(y.name)}, {prefix}_shape, {prefix}_perm, {size});"])
    if d == "int8" and not _same_quant(node, x, y):
        si, zi = _sz(node, x)
        out = _merge(out, _requant_call(node, prefix, si, zi, y, ref(y.name), ref(y.name), y.size))
    return out


@_emitter("pad")
def emit_pad(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    d = _need_dtype(node, g, ("int8", "float32"))
    x, y = _t(g, node.inputs[0]), _t(g, node.outputs[0])
    lead = 4 - len(x.shape)
    before = [0] * lead + [int(p0) for p0, _ in node.attrs["pads"]]
    init = (f"{{{{{', '.join(map(str, _rank4(node, x.shape)))}}}, {{{', '.join(map(str, _rank4(node, y.shape)))}}}, "
            f"{{{', '.join(map(str, before))}}}}}")
    decls = [f"static const tte_pad_params_t {prefix}_params = {init};"]
    if d == "float32":
        return Emitted(decls, [f"tte_pad_f32(&{prefix}_params, {ref(x.name)}, {ref(y.name)}, "
                               f"{f32(float(node.attrs['value']))});"])
    _nonneg_pads(node, [p for pair in node.attrs["pads"] for p in pair])
    value = pad_value_int8(node.attrs["value"], x)
    out = Emitted(decls, [f"tte_pad_s8(&{prefix}_params, {ref(x.name)}, {ref(y.name)}, {value});"])
    if not _same_quant(node, x, y):
        si, zi = _sz(node, x)
        out = _merge(out, _requant_call(node, prefix, si, zi, y, ref(y.name), ref(y.name), y.size))
    return out
