"""How each IR op of a (scheduled) training graph becomes C: per-op emitters.

This is the interface between the kernels in ``csrc/`` and the generator in
``tte.codegen``. The generator decides *where* every tensor lives (arena offset, weight
array, input pointer) and hands that over as ``ref``; an emitter decides *how* to call the
kernel: it precomputes parameters at compile time (requantization multipliers and shifts,
activation ranges, scales) as static const data and returns the statements of the call.

Conventions the generator relies on:

* Generated code includes ``HEADER`` ("tte/kernels.h"), compiles against ``csrc/include``
  and links every ``csrc/src/*.c`` (``tte.cbuild.kernel_sources()``).
* ``bool`` tensors (activation masks) are bit-packed: 1 bit per element, LSB first within a
  byte, ``c_nbytes(tensor)`` bytes. Every other tensor takes ``Tensor.nbytes``.
* ``reshape`` is an alias: no call when ``ref(output) == ref(input)`` and the quantization
  is unchanged (otherwise a copy, or a requantize when the int8 parameters differ).
* Updates (``*_update``) are in place: they write through ``ref(output)``; when that differs
  from ``ref(input 0)`` the parameter is copied there first.
* The stochastic-rounding step counter is the graph input named by the node's last input
  (autodiff's "step", int32[1]); it is read as ``ref(step)[0]``.
* Floats are emitted as C99 hexadecimal literals, so the constants are exact.
* Split weights (tte.split): ``split_ref(ref, w)`` gives a ``const tte_split_s8_t *``
  expression; conv2d, streamed_block and dwpw_backward then call the ``*_split`` kernels
  (a dwpw_backward update's ``in_channels`` are then the split's trained channels).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from tte import fixedpoint as fp
from tte.errors import TteError, UnsupportedOpError
from tte.ir import FusedChain, Graph, Node, QuantParams, Tensor
from tte.reference.int8_ops import SOFTMAX_SCALE, SOFTMAX_ZP, pad_value_int8
from tte.schedule import depthwise_grad_in_place


@dataclass
class Emitted:
    """C code for one node: file-scope declarations and statements inside a step function."""

    decls: list[str] = field(default_factory=list)
    call: list[str] = field(default_factory=list)


# ref(tensor_name) -> a C expression that points at the tensor's storage, typed for its
# dtype (e.g. "(int8_t *)(tte_arena + 1024)", "w_blocks_2_project_weight", "in").
Ref = Callable[[str], str]
Emitter = Callable[[Node, Graph, Ref, str], Emitted]   # node, graph, ref, C-safe prefix for names
EMITTERS: dict[str, Emitter] = {}

HEADER = "tte/kernels.h"


def split_ref(ref: Ref, tensor: str) -> str | None:
    """A split weight (tte.split, csrc/include/tte/split.h): the C expression of its
    ``const tte_split_s8_t *``, or None when the tensor is one array. The generator marks
    split weights by giving ``ref`` a ``split`` dict (tensor -> expression)."""
    split = getattr(ref, "split", None)
    if not isinstance(split, dict):
        return None
    found = split.get(tensor)
    return found if isinstance(found, str) else None


def c_nbytes(t: Tensor) -> int:
    """Bytes a tensor takes in generated C (bool masks are bit-packed)."""
    if t.dtype == "bool":
        return (t.size + 7) // 8
    return t.nbytes


# --------------------------------------------------------------------------------------
# helpers


def _emitter(*ops: str) -> Callable[[Emitter], Emitter]:
    def deco(fn: Emitter) -> Emitter:
        for op in ops:
            EMITTERS[op] = fn
        return fn
    return deco


def _err(node: Node, msg: str) -> TteError:
    return TteError(f"{node.op}: {msg}", node=node.name)


def _unsupported(node: Node, detail: str) -> UnsupportedOpError:
    return UnsupportedOpError(node.op, node=node.name, detail=detail)


def f32(x: float) -> str:
    """An exact C float literal."""
    v = float(np.float32(x))
    if not math.isfinite(v):
        raise ValueError(f"non-finite float constant {x}")
    return f"{v.hex()}f"


def f64(x: float) -> str:
    """An exact C double literal."""
    if not math.isfinite(x):
        raise ValueError(f"non-finite double constant {x}")
    return float(x).hex()


def _array(ctype: str, name: str, values: Sequence[float] | Sequence[int] | np.ndarray) -> str:
    vals = list(np.asarray(values).ravel())
    if ctype == "float":
        body = ", ".join(f32(float(v)) for v in vals)
    else:
        body = ", ".join(str(int(v)) for v in vals)
    return f"static const {ctype} {name}[{max(len(vals), 1)}] = {{{body or '0'}}};"


def _t(g: Graph, name: str) -> Tensor:
    return g.tensors[name]


def _q(node: Node, t: Tensor) -> QuantParams:
    if t.quant is None:
        raise _err(node, f"int8 tensor '{t.name}' has no quantization parameters")
    return t.quant


def _sz(node: Node, t: Tensor) -> tuple[float, int]:
    """Per-tensor (scale as the double of the float32, zero point)."""
    q = _q(node, t)
    if q.per_channel and len(q.scale) > 1:
        raise _err(node, f"tensor '{t.name}' must be quantized per tensor")
    return float(q.scale[0]), int(q.zero_point[0])


def _same_quant(node: Node, a: Tensor, b: Tensor) -> bool:
    sa, za = _sz(node, a)
    sb, zb = _sz(node, b)
    return np.float32(sa) == np.float32(sb) and za == zb


def _requant_init(in_zp: int, real: float, out_zp: int, lo: int, hi: int) -> str:
    mult, shift = fp.quantize_multiplier(real)
    return f"{{{in_zp}, {mult}, {shift}, {out_zp}, {lo}, {hi}}}"


def _requant_call(node: Node, prefix: str, src_scale: float, src_zp: int, dst: Tensor, x: str, y: str,
                  n: int) -> Emitted:
    """y = requantize(x) from (src_scale, src_zp) to dst's int8 parameters, full int8 range."""
    if dst.dtype != "int8":
        raise _unsupported(node, f"output dtype {dst.dtype} (only int8 is generated)")
    so, zo = _sz(node, dst)
    return Emitted([f"static const tte_requant_t {prefix}_rq = "
                    f"{_requant_init(src_zp, src_scale / so, zo, -128, 127)};"],
                   [f"tte_requantize_s8(&{prefix}_rq, {x}, {y}, {n});"])


def _merge(*parts: Emitted) -> Emitted:
    out = Emitted()
    for p in parts:
        out.decls += p.decls
        out.call += p.call
    return out


def _opt(node: Node, i: int) -> str:
    return node.inputs[i] if len(node.inputs) > i else ""


def _dtype_in(node: Node, g: Graph, i: int = 0) -> str:
    return _t(g, node.inputs[i]).dtype


def _need_dtype(node: Node, g: Graph, allowed: Sequence[str], i: int = 0) -> str:
    d = _dtype_in(node, g, i)
    if d not in allowed:
        raise _unsupported(node, f"input dtype {d}; C kernels exist for {', '.join(allowed)}")
    return d


def _nonneg_pads(node: Node, pads: Sequence[int]) -> None:
    if any(int(p) < 0 for p in pads):
        raise _unsupported(node, f"negative padding {tuple(pads)}")


def _geom_init(node: Node, g: Graph, x_shape: Sequence[int], y_shape: Sequence[int],
               w_shape: Sequence[int]) -> str:
    a = node.attrs
    _nonneg_pads(node, a["pads"])
    n, h, w, c = x_shape
    _, oh, ow, co = y_shape
    kh, kw = int(w_shape[1]), int(w_shape[2])
    (sh, sw), (dh, dw) = a["strides"], a["dilations"]
    pt, pl = int(a["pads"][0]), int(a["pads"][1])
    return (f"{{{n}, {h}, {w}, {c}, {oh}, {ow}, {co}, {kh}, {kw}, {int(sh)}, {int(sw)}, "
            f"{int(dh)}, {int(dw)}, {pt}, {pl}, {int(a['groups'])}}}")


def _weight_zero_points_zero(node: Node, w: Tensor) -> None:
    q = _q(node, w)
    if np.any(q.zero_point != 0):
        raise _unsupported(node, f"weights '{w.name}' have a non-zero zero point")


# --------------------------------------------------------------------------------------
# int8 forward


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


def _same_shapes(node: Node, g: Graph) -> int:
    shapes = {_t(g, i).shape for i in node.inputs} | {_t(g, node.outputs[0]).shape}
    if len(shapes) != 1:
        raise _unsupported(node, f"broadcasting {[_t(g, i).shape for i in node.inputs]} "
                                 "(the C kernels need equal shapes)")
    return _t(g, node.outputs[0]).size


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


@_emitter("reshape")
def emit_reshape(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    x, y = _t(g, node.inputs[0]), _t(g, node.outputs[0])
    if x.dtype == "int8" and y.dtype == "int8" and not _same_quant(node, x, y):
        si, zi = _sz(node, x)
        return _requant_call(node, prefix, si, zi, y, ref(x.name), ref(y.name), x.size)
    if ref(x.name) == ref(y.name):
        return Emitted()
    return Emitted([], [f"tte_copy({ref(y.name)}, {ref(x.name)}, {c_nbytes(x)});"])


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


def softmax_params(beta: float, input_scale: float) -> tuple[int, int, int]:
    """PreprocessSoftmaxScaling and -CalculateInputRadius for 5 integer bits."""
    real = min(beta * input_scale * (1 << 26), float((1 << 31) - 1))
    mult, shift = fp.quantize_multiplier(real)
    radius = math.floor(((1 << 5) - 1) * (1 << 26) / (1 << shift))
    return mult, shift, -radius


@_emitter("softmax")
def emit_softmax(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    _need_dtype(node, g, ("int8",))
    x, y = _t(g, node.inputs[0]), _t(g, node.outputs[0])
    axis = int(node.attrs["axis"]) % len(x.shape)
    if math.prod(x.shape[axis + 1:]) != 1:
        raise _unsupported(node, f"softmax along axis {axis} of {x.shape} (only the last axis)")
    depth = x.shape[axis]
    si, _ = _sz(node, x)
    mult, shift, diff_min = softmax_params(float(np.float32(node.attrs["beta"])), si)
    decl = (f"static const tte_softmax_s8_params_t {prefix}_params = {{{x.size // depth}, {depth}, "
            f"{mult}, {shift}, {diff_min}}};")
    out = Emitted([decl], [f"tte_softmax_s8(&{prefix}_params, {ref(x.name)}, {ref(y.name)});"])
    so, zo = _sz(node, y)
    if not (np.float32(so) == np.float32(SOFTMAX_SCALE) and zo == SOFTMAX_ZP):
        out = _merge(out, _requant_call(node, prefix, SOFTMAX_SCALE, SOFTMAX_ZP, y, ref(y.name), ref(y.name),
                                        y.size))
    return out


# --------------------------------------------------------------------------------------
# masks and float backward


@_emitter("act_mask")
def emit_act_mask(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    _need_dtype(node, g, ("int8",))
    y = _t(g, node.inputs[0])
    scale, zp = _sz(node, y)
    act = node.attrs["activation"]
    if act in ("relu", "relu6"):
        lo, hi = fp.activation_range_int8(act, scale, zp)
    else:
        mn, mx = node.attrs["min"], node.attrs["max"]
        lo = -128 if mn is None else zp + int(fp.tflite_round(mn / scale))
        hi = 127 if mx is None else zp + int(fp.tflite_round(mx / scale))
    return Emitted([], [f"tte_act_mask_s8({ref(y.name)}, (uint8_t *)({ref(node.outputs[0])}), {y.size}, "
                        f"{lo}, {hi});"])


@_emitter("mask_grad")
def emit_mask_grad(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    _need_dtype(node, g, ("float32",))
    dy, mask = node.inputs
    n = _t(g, dy).size
    return Emitted([], [f"tte_mask_grad_f32({ref(dy)}, (const uint8_t *)({ref(mask)}), "
                        f"{ref(node.outputs[0])}, {n});"])


def _weight_view(node: Node, g: Graph, w: Tensor, prefix: str, channels: int) -> tuple[list[str], str, str, str]:
    """(decls, w_q, w_f, scale array) for a weight read as float."""
    if w.dtype == "float32":
        return [], "NULL", "w", "NULL"
    if w.dtype != "int8":
        raise _unsupported(node, f"weights of dtype {w.dtype}")
    _weight_zero_points_zero(node, w)
    scale = _q(node, w).scale
    if channels and scale.size == 1:
        scale = np.broadcast_to(scale, (channels,))
    return [_array("float", f"{prefix}_wscale", scale)], "w", "NULL", f"{prefix}_wscale"


def _depthwise_grad_scratch(node: Node, g: Graph) -> int:
    dy = _t(g, node.inputs[0])
    return 4 * dy.shape[1] * dy.shape[2] if depthwise_grad_in_place(node, g) else 0


@_emitter("conv2d_grad_input")
def emit_conv2d_grad_input(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    _need_dtype(node, g, ("float32",))
    dy, w, dx = _t(g, node.inputs[0]), _t(g, node.inputs[1]), _t(g, node.outputs[0])
    decls, wq, wf, scale = _weight_view(node, g, w, prefix, w.shape[0])
    wq, wf = (ref(w.name) if v == "w" else v for v in (wq, wf))
    decls.append(f"static const tte_conv2d_geom_t {prefix}_geom = "
                 f"{_geom_init(node, g, dx.shape, dy.shape, w.shape)};")
    if ref(dx.name) == ref(dy.name):
        if not depthwise_grad_in_place(node, g):
            raise _err(node, "input gradient in place of dy, but not a same-size depthwise")
        return Emitted(decls, [f"tte_depthwise_grad_input_inplace_f32(&{prefix}_geom, {ref(dy.name)}, {wq}, "
                               f"{wf}, {scale}, (float *){ref(node.name + '@scratch')});"])
    return Emitted(decls, [f"tte_conv2d_grad_input_f32(&{prefix}_geom, {ref(dy.name)}, {wq}, {wf}, {scale}, "
                           f"{ref(dx.name)});"])


@_emitter("fc_grad_input")
def emit_fc_grad_input(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    _need_dtype(node, g, ("float32",))
    dy, w, dx = _t(g, node.inputs[0]), _t(g, node.inputs[1]), _t(g, node.outputs[0])
    per_channel = int(w.quant is not None and w.quant.scale.size > 1)
    decls, wq, wf, scale = _weight_view(node, g, w, prefix, 0)
    wq, wf = (ref(w.name) if v == "w" else v for v in (wq, wf))
    rows = int(math.prod(dy.shape[:-1]))
    return Emitted(decls, [f"tte_fc_grad_input_f32({rows}, {w.shape[1]}, {w.shape[0]}, {ref(dy.name)}, {wq}, "
                           f"{wf}, {scale}, {per_channel}, {ref(dx.name)});"])


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


@_emitter("softmax_ce_loss", "softmax_ce_grad")
def emit_softmax_ce(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    """Loss and gradient are separate calls (each recomputes the softmax: classes are few),
    so the memory plan needs no knowledge of a fused pair."""
    _need_dtype(node, g, ("float32",))
    z = _t(g, node.inputs[0])
    batch = z.shape[0] if z.shape else 1
    classes = z.size // max(batch, 1)
    out = ref(node.outputs[0])
    loss, grad = (out, "NULL") if node.op == "softmax_ce_loss" else ("NULL", out)
    return Emitted([], [f"tte_softmax_ce_f32({ref(z.name)}, {ref(node.inputs[1])}, {batch}, {classes}, "
                        f"{loss}, {grad});"])


@_emitter("mse_loss", "mse_grad")
def emit_mse(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    _need_dtype(node, g, ("float32",))
    y = _t(g, node.inputs[0])
    out = ref(node.outputs[0])
    loss, grad = (out, "NULL") if node.op == "mse_loss" else ("NULL", out)
    return Emitted([], [f"tte_mse_f32({ref(y.name)}, {ref(node.inputs[1])}, {y.size}, {loss}, {grad});"])


# --------------------------------------------------------------------------------------
# updates (in place)


def _update_params(node: Node, w: Tensor, prefix: str, n_out_all: int, n_in_all: int,
                   has_in: bool = True) -> tuple[list[str], bool]:
    """Declarations of ``{prefix}_u`` (tte_update_params_t); returns (decls, quantized)."""
    a = node.attrs
    if a["rounding"] not in ("nearest", "stochastic"):
        raise _err(node, f"unknown rounding '{a['rounding']}'")
    out_sel = [int(i) for i in a["out_channels"]]
    in_sel = [int(i) for i in a["in_channels"]] if has_in else []
    decls: list[str] = []
    out_idx = in_idx = "NULL"
    if out_sel:
        decls.append(_array("int32_t", f"{prefix}_out_idx", out_sel))
        out_idx = f"{prefix}_out_idx"
    if in_sel:
        decls.append(_array("int32_t", f"{prefix}_in_idx", in_sel))
        in_idx = f"{prefix}_in_idx"
    n_out = len(out_sel) or n_out_all
    n_in = len(in_sel) or n_in_all
    quantized = w.dtype in ("int8", "int32")
    if quantized:
        scale = _q(node, w).scale
        if out_sel and scale.size > 1:
            scale = scale[out_sel]
        decls.append(_array("float", f"{prefix}_scale", scale))
        n_scale, scale_ref = int(scale.size), f"{prefix}_scale"
    elif w.dtype == "float32":
        n_scale, scale_ref = 0, "NULL"
    else:
        raise _unsupported(node, f"parameter dtype {w.dtype}")
    seed = int(a["seed"]) & 0xFFFFFFFF
    decls.append(f"static const tte_update_params_t {prefix}_u = {{{f64(float(a['lr']))}, {int(bool(a['qas']))}, "
                 f"{int(a['rounding'] == 'stochastic')}, {seed}u, {n_out}, {out_idx}, {n_in}, {in_idx}, "
                 f"{n_scale}, {scale_ref}}};")
    return decls, quantized


def _step_arg(node: Node, ref: Ref, step_index: int) -> str:
    step = _opt(node, step_index)
    if step:
        return f"({ref(step)})[0]"
    if node.attrs["rounding"] == "stochastic":
        raise _err(node, "stochastic rounding needs the step counter input")
    return "0"


def _in_place(node: Node, g: Graph, ref: Ref) -> tuple[list[str], str]:
    w, out = node.inputs[0], node.outputs[0]
    if ref(w) == ref(out):
        return [], ref(out)
    return [f"tte_copy({ref(out)}, {ref(w)}, {c_nbytes(_t(g, w))});"], ref(out)


def _act_args(node: Node, g: Graph, ref: Ref, name: str) -> str:
    x = _t(g, name)
    if x.dtype == "int8":
        s, z = _sz(node, x)
        return f"{ref(name)}, NULL, {f32(s)}, {z}"
    if x.dtype == "float32":
        return f"NULL, {ref(name)}, 0.0f, 0"
    raise _unsupported(node, f"activation dtype {x.dtype}")


@_emitter("conv2d_weight_update")
def emit_conv2d_weight_update(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    w, x, dy = (_t(g, n) for n in node.inputs[:3])
    if dy.dtype != "float32":
        raise _unsupported(node, f"gradient dtype {dy.dtype}")
    if w.dtype not in ("int8", "float32"):
        raise _unsupported(node, f"weights of dtype {w.dtype}")
    decls, quantized = _update_params(node, w, prefix, w.shape[0], w.shape[3])
    decls.append(f"static const tte_conv2d_geom_t {prefix}_geom = {_geom_init(node, g, x.shape, dy.shape, w.shape)};")
    if tuple(node.attrs["kernel"]) != tuple(w.shape[1:3]):
        raise _err(node, f"kernel {node.attrs['kernel']} does not match weights {w.shape}")
    pre, wp = _in_place(node, g, ref)
    xa = _act_args(node, g, ref, x.name)
    if quantized:
        call = (f"tte_conv2d_weight_update_s8(&{prefix}_geom, &{prefix}_u, {wp}, {xa}, {ref(dy.name)}, "
                f"{_step_arg(node, ref, 3)});")
    else:
        call = f"tte_conv2d_weight_update_f32(&{prefix}_geom, &{prefix}_u, {wp}, {xa}, {ref(dy.name)});"
    return Emitted(decls, [*pre, call])


@_emitter("fc_weight_update")
def emit_fc_weight_update(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    w, x, dy = (_t(g, n) for n in node.inputs[:3])
    if dy.dtype != "float32" or w.dtype not in ("int8", "float32"):
        raise _unsupported(node, f"weights {w.dtype} with gradient {dy.dtype}")
    decls, quantized = _update_params(node, w, prefix, w.shape[0], w.shape[1])
    rows = int(math.prod(x.shape[:-1]))
    pre, wp = _in_place(node, g, ref)
    xa = _act_args(node, g, ref, x.name)
    dims = f"{rows}, {w.shape[1]}, {w.shape[0]}"
    if quantized:
        call = (f"tte_fc_weight_update_s8({dims}, &{prefix}_u, {wp}, {xa}, {ref(dy.name)}, "
                f"{_step_arg(node, ref, 3)});")
    else:
        call = f"tte_fc_weight_update_f32({dims}, &{prefix}_u, {wp}, {xa}, {ref(dy.name)});"
    return Emitted(decls, [*pre, call])


@_emitter("bias_update")
def emit_bias_update(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    b, dy = _t(g, node.inputs[0]), _t(g, node.inputs[1])
    if dy.dtype != "float32" or b.dtype not in ("int32", "float32"):
        raise _unsupported(node, f"bias {b.dtype} with gradient {dy.dtype}")
    decls, quantized = _update_params(node, b, prefix, b.shape[0], 1, has_in=False)
    rows = int(math.prod(dy.shape[:-1]))
    pre, bp = _in_place(node, g, ref)
    if quantized:
        call = (f"tte_bias_update_s32({rows}, {dy.shape[-1]}, &{prefix}_u, {bp}, {ref(dy.name)}, "
                f"{_step_arg(node, ref, 2)});")
    else:
        call = f"tte_bias_update_f32({rows}, {dy.shape[-1]}, &{prefix}_u, {bp}, {ref(dy.name)});"
    return Emitted(decls, [*pre, call])


@_emitter("sgd_update")
def emit_sgd_update(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    w, grad = _t(g, node.inputs[0]), _t(g, node.inputs[1])
    if grad.dtype != "float32":
        raise _unsupported(node, f"gradient dtype {grad.dtype}")
    nd = len(w.shape)
    d0 = w.shape[0] if nd else 1
    dlast = w.shape[-1] if nd > 1 else 1
    mid = int(math.prod(w.shape[1:-1])) if nd > 1 else 1
    decls, quantized = _update_params(node, w, prefix, d0, dlast, has_in=nd > 1)
    pre, wp = _in_place(node, g, ref)
    dims = f"{wp}, {d0}, {mid}, {dlast}, {ref(grad.name)}"
    kernel = {"int8": "tte_sgd_update_s8", "int32": "tte_sgd_update_s32", "float32": "tte_sgd_update_f32"}[w.dtype]
    step = f", {_step_arg(node, ref, 2)}" if quantized else ""
    return Emitted(decls, [*pre, f"{kernel}(&{prefix}_u, {dims}{step});"])


# --------------------------------------------------------------------------------------
# fused ops (tte.fuse): the unfused ops' parameters, one streaming kernel

BLOCK_MAX_KH = 16  # TTE_BLOCK_MAX_KH in csrc/src/block_s8.c


def _block_parts(node: Node) -> tuple[Node | None, Node, Node, Node | None, FusedChain]:
    chain = node.attrs.get("chain")
    if not isinstance(chain, FusedChain):
        raise _err(node, "no fused chain")
    nodes = list(chain.nodes)
    add = nodes.pop() if nodes[-1].op == "add" else None
    expand = nodes.pop(0) if len(nodes) == 3 else None
    if len(nodes) != 2:
        raise _err(node, f"unexpected chain {chain}")
    return expand, nodes[0], nodes[1], add, chain


def _chain_graph(g: Graph, chain: FusedChain) -> Graph:
    """A view of g that also knows the chain's inner tensors (for the unfused emitters)."""
    view = Graph(g.name)
    view.tensors = {**g.tensors, **{t.name: t for t in chain.intermediates}, chain.output.name: chain.output}
    return view


def block_scratch_bytes(node: Node, g: Graph) -> int:
    """tte_block_s8_scratch_bytes: ring of E's output rows + one pixel of D (+ one of P)."""
    expand, dw, project, add, chain = _block_parts(node)
    view = _chain_graph(g, chain)
    x, d = _t(view, dw.inputs[0]), _t(view, dw.outputs[0])
    kh, dh = _t(view, dw.inputs[1]).shape[1], int(dw.attrs["dilations"][0])
    n = d.shape[-1]
    if expand is not None:
        n += ((kh - 1) * dh + 1) * x.shape[2] * x.shape[3]
    if add is not None:
        n += _t(view, project.outputs[0]).shape[-1]
    return n


@_emitter("streamed_block")
def emit_streamed_block(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    expand, dw, project, add, chain = _block_parts(node)
    view = _chain_graph(g, chain)
    if _t(view, dw.inputs[1]).shape[1] > BLOCK_MAX_KH:
        raise _unsupported(node, f"depthwise kernel height above {BLOCK_MAX_KH}")
    inner = {t.name for t in chain.intermediates}

    def sub_ref(t: str) -> str:
        return "NULL" if t in inner or t == chain.output.name else ref(t)

    out = Emitted()
    names = {}
    for key, n in (("e", expand), ("d", dw), ("p", project)):
        if n is not None:
            out.decls += emit_conv2d(n, view, sub_ref, f"{prefix}_{key}").decls
            names[key] = f"&{prefix}_{key}_params"
    residual_first = 0
    if add is not None:
        out.decls += emit_add(add, view, sub_ref, f"{prefix}_a").decls
        names["a"] = f"&{prefix}_a_params"
        residual_first = int(add.inputs[0] == chain.nodes[0].inputs[0])
    out.decls.append(f"static const tte_block_s8_params_t {prefix}_params = {{{names.get('e', 'NULL')}, "
                     f"{names['d']}, {names['p']}, {names.get('a', 'NULL')}, {residual_first}}};")
    args = [ref(i) if i else "NULL" for i in node.inputs]
    kernel = "tte_block_s8"
    sw = split_ref(ref, node.inputs[1]) if expand is not None and node.inputs[1] else None
    if sw is not None:
        args[1], kernel = sw, "tte_block_s8_split"
    out.call.append(f"{kernel}(&{prefix}_params, {', '.join(args)}, {ref(node.outputs[0])}, "
                    f"(int8_t *){ref(node.name + '@scratch')});")
    return out


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
    for n in chain.nodes:
        if n.name in head:   # the nodes that make dz (tte.fuse._backward_head)
            parts[{"conv2d_grad_input": "q", "mask_grad": "qm", "bias_update": "qb"}[n.op]] = n
            continue
        key = {"mask_grad": "m", "bias_update": "b", "conv2d_weight_update": "u"}.get(n.op)
        if n.op == "conv2d_grad_input":
            key = "d" if "d" not in parts else "gx"
        if key is None or key in parts:
            raise _err(node, f"unexpected chain {chain}")
        parts[key] = n
    return parts


def dwpw_scratch_bytes(node: Node, g: Graph) -> int:
    """tte_dwpw_backward_s8's tmp: one channel of the 1x1 conv's output gradient (floats);
    with a head (tte_dwpw_backward_head_s8) also one channel of dz."""
    chain = node.attrs["chain"]
    assert isinstance(chain, FusedChain)
    d = chain.intermediates[0]
    n = d.shape[0] * d.shape[1] * d.shape[2]
    if node.attrs.get("head"):
        dz = chain.intermediates[3]
        n += dz.shape[0] * dz.shape[1] * dz.shape[2]
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
            pdecls, _ = _update_params(parts[key], _t(g, param), f"{prefix}_{key}", d.shape[3], n_in,
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
    gy, wq = _t(g, q.inputs[0]), _t(g, q.inputs[1])
    _weight_zero_points_zero(node, wq)
    decls.append(_array("float", f"{prefix}_qscale", np.broadcast_to(_q(node, wq).scale, (wq.shape[0],))))
    b_dw, qb_u = "NULL", "NULL"
    if "qb" in parts:
        b_dw = node.inputs[9]
        pdecls, _ = _update_params(parts["qb"], _t(g, b_dw), f"{prefix}_qb", d.shape[3], 1, has_in=False)
        decls += pdecls
        qb_u = f"&{prefix}_qb_u"
        if ref(outs["db"]) != ref(b_dw):
            raise _err(node, f"parameter '{b_dw}' must be updated in place")
    decls.append(f"static const tte_dwpw_head_t {prefix}_head = {{NULL, NULL, {prefix}_qscale, "
                 f"{wq.shape[0]}, NULL, NULL, {qb_u}}};")
    return Emitted(decls, [f"{{ tte_dwpw_head_t h = {prefix}_head; h.gy = {ref(gy.name)}; h.w = {ref(wq.name)}; "
                           f"h.mask = (const uint8_t *)({ref(node.inputs[8])}); "
                           f"h.b = {ref(b_dw) if b_dw != 'NULL' else 'NULL'};",
                           f"  tte_dwpw_backward_head_{sfx}(&{prefix}_params, &h, {', '.join(args)}, {scratch}); }}"])


# op -> bytes of kernel scratch (planned in the arena as "<node name>@scratch")
# (conv2d_grad_input: the one-channel buffer of the in-place depthwise gradient, reserved
# whenever the geometry allows it)
SCRATCH: dict[str, Callable[[Node, Graph], int]] = {"streamed_block": block_scratch_bytes,
                                                    "dwpw_backward": dwpw_scratch_bytes,
                                                    "conv2d_grad_input": _depthwise_grad_scratch}
