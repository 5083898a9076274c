"""Activations and elementwise ops (csrc/include/tte/activation.h): logistic, tanh,
hard_swish, leaky_relu, rsqrt, l2_normalize, gelu (a table), sub, maximum/minimum, and the
backward ops activation_grad (a table of f'), minmax_grad, neg and sum_to_shape (a
broadcast operand's gradient).

Parameters come from the same functions the reference uses (tte.reference.activation_ops),
so the C kernels and the reference share every constant.
"""

from __future__ import annotations

import numpy as np

from tte.compiler.emit.common import (
    Emitted,
    Ref,
    _array,
    _emitter,
    _need_dtype,
    _requant_init,
    _same_quant,
    _sz,
    _t,
    _unsupported,
    f32,
)
from tte.ir import Graph, Node, QuantParams, Tensor
from tte.numerics import fixedpoint as fp
from tte.reference import activation_ops as A
from tte.reference.activation_grads import derivative_table


def _fixed_tail(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    """Requantize in place from the op's fixed TFLite output quantization when the IR's differs."""
    y = _t(g, node.outputs[0])
    s, zp = A.FIXED_OUTPUT_QUANT[node.op]
    fixed = Tensor("fixed", y.shape, "int8", quant=QuantParams(np.float32(s), zp))
    if _same_quant(node, fixed, y):
        return Emitted()
    so, zo = _sz(node, y)
    return Emitted([f"static const tte_requant_t {prefix}_tail = {_requant_init(zp, s / so, zo, -128, 127)};"],
                   [f"tte_requantize_s8(&{prefix}_tail, {ref(y.name)}, {ref(y.name)}, {y.size});"])


def _io(node: Node, g: Graph) -> tuple[Tensor, Tensor, float, int, float, int]:
    _need_dtype(node, g, ("int8",))
    x, y = _t(g, node.inputs[0]), _t(g, node.outputs[0])
    si, zi = _sz(node, x)
    so, zo = _sz(node, y)
    return x, y, si, zi, so, zo


def _with_tail(em: Emitted, node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    tail = _fixed_tail(node, g, ref, prefix)
    return Emitted(em.decls + tail.decls, em.call + tail.call)


@_emitter("logistic", "tanh")
def emit_logistic_tanh(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    x, y, si, zi, _, _ = _io(node, g)
    mult, shift, radius = A.input_q4_params(si)
    decl = f"static const tte_q4_params_t {prefix}_p = {{{zi}, {mult}, {shift}, {radius}}};"
    call = f"tte_{node.op}_s8(&{prefix}_p, {ref(x.name)}, {ref(y.name)}, {x.size});"
    return _with_tail(Emitted([decl], [call]), node, g, ref, prefix)


@_emitter("hard_swish")
def emit_hard_swish(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    x, y, si, zi, so, zo = _io(node, g)
    try:
        om, oe, rm, re = A.hard_swish_params(si, so)
    except ValueError as e:
        raise _unsupported(node, str(e)) from None
    decl = f"static const tte_hard_swish_s8_params_t {prefix}_p = {{{zi}, {zo}, {om}, {oe}, {rm}, {re}}};"
    return Emitted([decl], [f"tte_hard_swish_s8(&{prefix}_p, {ref(x.name)}, {ref(y.name)}, {x.size});"])


@_emitter("leaky_relu")
def emit_leaky_relu(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    x, y, si, zi, so, zo = _io(node, g)
    try:
        mi, shi, ma, sha = A.leaky_relu_params(si, so, float(node.attrs["alpha"]))
    except ValueError as e:
        raise _unsupported(node, str(e)) from None
    decl = f"static const tte_leaky_relu_s8_params_t {prefix}_p = {{{zi}, {zo}, {mi}, {shi}, {ma}, {sha}}};"
    return Emitted([decl], [f"tte_leaky_relu_s8(&{prefix}_p, {ref(x.name)}, {ref(y.name)}, {x.size});"])


@_emitter("rsqrt")
def emit_rsqrt(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    x, y, si, zi, so, zo = _io(node, g)
    try:
        mult, shift = A.rsqrt_params(si, so)
    except ValueError as e:
        raise _unsupported(node, str(e)) from None
    decl = f"static const tte_rsqrt_s8_params_t {prefix}_p = {{{zi}, {zo}, {mult}, {shift}}};"
    return Emitted([decl], [f"tte_rsqrt_s8(&{prefix}_p, {ref(x.name)}, {ref(y.name)}, {x.size});"])


@_emitter("l2_normalize")
def emit_l2_normalize(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    x, y, _, zi, _, _ = _io(node, g)
    depth = x.shape[-1]
    call = f"tte_l2_normalize_s8({zi}, {ref(x.name)}, {ref(y.name)}, {x.size // depth}, {depth});"
    return _with_tail(Emitted([], [call]), node, g, ref, prefix)


@_emitter("gelu")
def emit_gelu(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    x, y, si, zi, so, zo = _io(node, g)
    table = A.gelu_table(si, zi, so, zo, bool(node.attrs["approximate"]))
    return Emitted([_array("int8_t", f"{prefix}_table", table)],
                   [f"tte_lut_s8({prefix}_table, {ref(x.name)}, {ref(y.name)}, {x.size});"])


def _bcast(node: Node, a: Tensor, b: Tensor, out: tuple[int, ...], prefix: str, *,
           always: bool = False) -> tuple[list[str], str]:
    """(declarations, C expression) of the tte_bcast4_t of a and b against ``out``; NULL when
    the shapes are equal (unless ``always``)."""
    if a.shape == b.shape == out and not always:
        return [], "NULL"
    if len(out) > 4:
        raise _unsupported(node, f"broadcasting at rank {len(out)} (the C kernels take up to 4)")
    dims = (1,) * (4 - len(out)) + tuple(out)

    def strides(shape: tuple[int, ...]) -> list[int]:
        full = (1,) * (4 - len(shape)) + tuple(shape)
        st, acc = [0] * 4, 1
        for k in range(3, -1, -1):
            st[k] = 0 if full[k] == 1 and dims[k] != 1 else acc
            acc *= full[k]
        return st

    sa, sb = strides(a.shape), strides(b.shape)
    decl = (f"static const tte_bcast4_t {prefix}_bc = {{{{{', '.join(map(str, dims))}}}, "
            f"{{{', '.join(map(str, sa))}}}, {{{', '.join(map(str, sb))}}}}};")
    return [decl], f"&{prefix}_bc"


@_emitter("sub")
def emit_sub(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    _need_dtype(node, g, ("int8",))
    a, b, y = (_t(g, t) for t in (*node.inputs, node.outputs[0]))
    bdecl, bc = _bcast(node, a, b, y.shape, prefix)
    s1, z1 = _sz(node, a)
    s2, z2 = _sz(node, b)
    so, zo = _sz(node, y)
    ls, m1, sh1, m2, sh2, mo, sho = A.sub_params(s1, s2, so)
    lo, hi = fp.activation_range_int8(node.attrs["activation"], so, zo)
    decl = (f"static const tte_add_s8_params_t {prefix}_params = {{{z1}, {z2}, {zo}, {ls}, "
            f"{m1}, {sh1}, {m2}, {sh2}, {mo}, {sho}, {lo}, {hi}}};")
    return Emitted([*bdecl, decl], [f"tte_sub_s8(&{prefix}_params, {bc}, {ref(a.name)}, {ref(b.name)}, "
                                    f"{ref(y.name)}, {y.size});"])


@_emitter("maximum", "minimum")
def emit_minmax(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    _need_dtype(node, g, ("int8",))
    a, b, y = (_t(g, t) for t in (*node.inputs, node.outputs[0]))
    bdecl, bc = _bcast(node, a, b, y.shape, prefix)
    so, zo = _sz(node, y)
    parts = []
    for t in (a, b):
        si, zi = _sz(node, t)
        parts.append((0 if _same_quant(node, t, y) else 1, _requant_init(zi, si / so, zo, -128, 127)))
    decl = (f"static const tte_minmax_s8_params_t {prefix}_p = {{{parts[0][0]}, {parts[1][0]}, "
            f"{parts[0][1]}, {parts[1][1]}}};")
    return Emitted([*bdecl, decl], [f"tte_{node.op}_s8(&{prefix}_p, {bc}, {ref(a.name)}, {ref(b.name)}, "
                                    f"{ref(y.name)}, {y.size});"])


@_emitter("activation_grad")
def emit_activation_grad(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    _need_dtype(node, g, ("int8",))
    t, dy = (_t(g, i) for i in node.inputs)
    if t.shape != dy.shape:
        raise _unsupported(node, f"saved tensor {t.shape} and gradient {dy.shape} differ in shape")
    _sz(node, t)
    table = derivative_table(node.attrs["fn"], float(node.attrs["alpha"]), t)
    return Emitted([_array("float", f"{prefix}_table", table)],
                   [f"tte_lut_grad_s8_f32({prefix}_table, {ref(t.name)}, {ref(dy.name)}, "
                    f"{ref(node.outputs[0])}, {t.size});"])


@_emitter("minmax_grad")
def emit_minmax_grad(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    _need_dtype(node, g, ("int8",))
    a, b, dy = (_t(g, i) for i in node.inputs)
    bdecl, bc = _bcast(node, a, b, dy.shape, prefix)
    sa, za = _sz(node, a)
    sb, zb = _sz(node, b)
    decl = (f"static const tte_minmax_grad_params_t {prefix}_p = {{{int(node.attrs['op'] == 'maximum')}, "
            f"{int(node.attrs['input'])}, {za}, {zb}, {f32(sa)}, {f32(sb)}}};")
    return Emitted([*bdecl, decl], [f"tte_minmax_grad_s8_f32(&{prefix}_p, {bc}, {ref(a.name)}, {ref(b.name)}, "
                                    f"{ref(dy.name)}, {ref(node.outputs[0])}, {dy.size});"])


@_emitter("neg")
def emit_neg(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    _need_dtype(node, g, ("float32",))
    x = _t(g, node.inputs[0])
    return Emitted([], [f"tte_neg_f32({ref(x.name)}, {ref(node.outputs[0])}, {x.size});"])


@_emitter("sum_to_shape")
def emit_sum_to_shape(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    _need_dtype(node, g, ("float32",))
    x, y = _t(g, node.inputs[0]), _t(g, node.outputs[0])
    bdecl, bc = _bcast(node, x, y, x.shape, prefix, always=True)
    return Emitted(bdecl, [f"tte_sum_to_shape_f32({bc}, {ref(x.name)}, {ref(y.name)}, {y.size});"])
