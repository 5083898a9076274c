"""Elementwise ops: add, mul, relu/clip, quantize, dequantize (csrc/include/tte/elementwise.h)."""

from __future__ import annotations

import numpy as np

from tte.compiler.emit.common import (
    Emitted,
    Ref,
    _emitter,
    _need_dtype,
    _q,
    _requant_call,
    _requant_init,
    _sz,
    _t,
    _unsupported,
    f32,
)
from tte.ir import Graph, Node
from tte.numerics import fixedpoint as fp


def _same_shapes(node: Node, g: Graph) -> int:
    shapes = {_t(g, i).shape for i in node.inputs} | {_t(g, node.outputs[0]).shape}
    if len(shapes) != 1:
        raise _unsupported(node, f"broadcasting {[_t(g, i).shape for i in node.inputs]} "
                                 "(the C kernels need equal shapes)")
    return _t(g, node.outputs[0]).size


ADD_TABLE_MIN = 512      # TTE_ADD_TABLE_MIN in csrc/include/tte/elementwise.h
ADD_TABLE_BYTES = 1024   # TTE_ADD_TABLE_BYTES, ibid.


def add_table_bytes(n: int) -> int:
    """tte_add_s8_scratch_bytes: the 256-entry table of a sum of n int8 elements."""
    return ADD_TABLE_BYTES if n >= ADD_TABLE_MIN else 0


def add_scratch_bytes(node: Node, g: Graph) -> int:
    """An int8 ADD's table (add_table_bytes), planned in the arena so that the kernel keeps it
    off the stack; 0 for what emit_add does not send to tte_add_s8_ws."""
    shapes = {_t(g, t).shape for t in (*node.inputs, node.outputs[0])}
    y = _t(g, node.outputs[0])
    return add_table_bytes(y.size) if y.dtype == "int8" and len(shapes) == 1 else 0


@_emitter("add")
def emit_add(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    d = _need_dtype(node, g, ("int8", "float32"))
    n = _same_shapes(node, g)
    a, b, y = (ref(t) for t in (*node.inputs, node.outputs[0]))
    if d == "float32":
        if node.attrs["activation"] != "none":
            raise _unsupported(node, "float add with a fused activation")
        return Emitted([], [f"tte_add_f32({a}, {b}, {y}, {n});"])
    s1, z1 = _sz(node, _t(g, node.inputs[0]))
    s2, z2 = _sz(node, _t(g, node.inputs[1]))
    so, zo = _sz(node, _t(g, node.outputs[0]))
    left_shift = 20
    twice_max = 2.0 * max(s1, s2)
    m1, sh1 = fp.quantize_multiplier_smaller_than_one_exp(s1 / twice_max)
    m2, sh2 = fp.quantize_multiplier_smaller_than_one_exp(s2 / twice_max)
    mo, sho = fp.quantize_multiplier_smaller_than_one_exp(twice_max / ((1 << left_shift) * so))
    lo, hi = fp.activation_range_int8(node.attrs["activation"], so, zo)
    decl = (f"static const tte_add_s8_params_t {prefix}_params = {{{z1}, {z2}, {zo}, {left_shift}, "
            f"{m1}, {sh1}, {m2}, {sh2}, {mo}, {sho}, {lo}, {hi}}};")
    if add_table_bytes(n):
        return Emitted([decl], [f"tte_add_s8_ws(&{prefix}_params, {a}, {b}, {y}, {n}, "
                                f"(int32_t *){ref(node.name + '@scratch')});"])
    return Emitted([decl], [f"tte_add_s8(&{prefix}_params, {a}, {b}, {y}, {n});"])


@_emitter("mul")
def emit_mul(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    d = _need_dtype(node, g, ("int8", "float32"))
    n = _same_shapes(node, g)
    a, b, y = (ref(t) for t in (*node.inputs, node.outputs[0]))
    if d == "float32":
        if node.attrs["activation"] != "none":
            raise _unsupported(node, "float mul with a fused activation")
        return Emitted([], [f"tte_mul_f32({a}, {b}, {y}, {n});"])
    q1, q2, qo = (_q(node, _t(g, t)) for t in (*node.inputs, node.outputs[0]))
    # mul.cc multiplies and divides the float32 scales in float32 before widening
    real = float(np.float32(np.float32(q1.scale[0]) * np.float32(q2.scale[0])) / np.float32(qo.scale[0]))
    mult, shift = fp.quantize_multiplier(real)
    lo, hi = fp.activation_range_int8(node.attrs["activation"], float(qo.scale[0]), int(qo.zero_point[0]))
    decl = (f"static const tte_mul_s8_params_t {prefix}_params = {{{int(q1.zero_point[0])}, "
            f"{int(q2.zero_point[0])}, {int(qo.zero_point[0])}, {mult}, {shift}, {lo}, {hi}}};")
    return Emitted([decl], [f"tte_mul_s8(&{prefix}_params, {a}, {b}, {y}, {n});"])


@_emitter("relu", "clip")
def emit_relu_clip(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    """QuantizedReluX: requantize input -> output, clamp to the quantized real bounds."""
    _need_dtype(node, g, ("int8",))
    x, y = _t(g, node.inputs[0]), _t(g, node.outputs[0])
    si, zi = _sz(node, x)
    so, zo = _sz(node, y)
    lo_r, hi_r = (0.0, None) if node.op == "relu" else (node.attrs["min"], node.attrs["max"])

    def q(f: float) -> int:
        return zo + int(fp.tflite_round(np.float32(f) / np.float32(so)))

    lo = -128 if lo_r is None else max(-128, q(float(lo_r)))
    hi = 127 if hi_r is None else min(127, q(float(hi_r)))
    decl = f"static const tte_requant_t {prefix}_rq = {_requant_init(zi, si / so, zo, lo, hi)};"
    return Emitted([decl], [f"tte_requantize_s8(&{prefix}_rq, {ref(x.name)}, {ref(y.name)}, {x.size});"])


@_emitter("quantize")
def emit_quantize(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    d = _need_dtype(node, g, ("int8", "float32"))
    x, y = _t(g, node.inputs[0]), _t(g, node.outputs[0])
    if y.dtype != "int8":
        raise _unsupported(node, f"quantize to {y.dtype} (only int8 is generated)")
    if d == "float32":
        so, zo = _sz(node, y)
        return Emitted([], [f"tte_quantize_f32_s8({ref(x.name)}, {ref(y.name)}, {x.size}, {f32(so)}, {zo});"])
    si, zi = _sz(node, x)
    return _requant_call(node, prefix, si, zi, y, ref(x.name), ref(y.name), x.size)


@_emitter("dequantize")
def emit_dequantize(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    _need_dtype(node, g, ("int8",))
    x, y = _t(g, node.inputs[0]), _t(g, node.outputs[0])
    s, z = _sz(node, x)
    return Emitted([], [f"tte_dequantize_s8_f32({ref(x.name)}, {ref(y.name)}, {x.size}, {f32(s)}, {z});"])
