"""int8 reference kernels, bit-exact with TFLite's reference kernels.

Each kernel mirrors the integer arithmetic of LiteRT's ``BUILTIN_REF`` kernels (and
tflite-micro's, which share them): multipliers are derived from the float32 scales the
way the TFLite ``Prepare`` functions do, then applied with the fixed-point helpers of
``tte.numerics.fixedpoint``.

Ops whose TFLite kernel only moves bytes or works in its input's domain (reshape,
transpose, pad, max/avg pool, softmax's fixed 1/256 output) requantize to the output's
parameters afterwards when those differ; the exporter writes that as an extra QUANTIZE.

float32 -> int8 ``quantize`` and int8 -> float32 ``dequantize`` live in ``float_ops``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tte.errors import GraphError
from tte.ir import QuantParams, Tensor
from tte.numerics import fixedpoint as fp
from tte.reference.registry import KernelCtx, register

QMIN, QMAX = -128, 127
SOFTMAX_SCALE, SOFTMAX_ZP = 1.0 / 256.0, -128
_DTYPE_RANGE = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767)}


# --------------------------------------------------------------------------------------
# helpers


def _quant(t: Tensor | None, what: str = "tensor") -> QuantParams:
    if t is None or t.quant is None:
        raise GraphError(f"int8 {what} '{getattr(t, 'name', '?')}' has no quantization parameters")
    return t.quant


def _scale_zp(t: Tensor | None) -> tuple[float, int]:
    """Per-tensor (scale as the double of the float32, zero point)."""
    q = _quant(t)
    return float(q.scale[0]), int(q.zero_point[0])


def _same_quant(a: Tensor, b: Tensor) -> bool:
    qa, qb = _quant(a), _quant(b)
    return (np.float32(qa.scale[0]) == np.float32(qb.scale[0])
            and int(qa.zero_point[0]) == int(qb.zero_point[0]))


def _clamp(x: np.ndarray, lo: int, hi: int, dtype: str = "int8") -> np.ndarray:
    return np.clip(x, lo, hi).astype(dtype)


def _act_range(ctx: KernelCtx, out: Tensor) -> tuple[int, int]:
    s, zp = _scale_zp(out)
    return fp.activation_range_int8(ctx.attrs.get("activation", "none"), s, zp)


def requantize(x: np.ndarray, src: Tensor, dst: Tensor) -> np.ndarray:
    """TFLite QUANTIZE int8 -> int8/uint8 (reference_ops::Requantize)."""
    si, zi = _scale_zp(src)
    so, zo = _scale_zp(dst)
    mult, shift = fp.quantize_multiplier(si / so)
    acc = fp.multiply_by_quantized_multiplier(x.astype(np.int64) - zi, mult, shift) + zo
    lo, hi = _DTYPE_RANGE.get(dst.dtype, (QMIN, QMAX))
    return _clamp(acc, lo, hi, dst.dtype)


def _to_output(y: np.ndarray, src: Tensor, dst: Tensor) -> np.ndarray:
    """Results computed in ``src``'s domain, requantized to ``dst`` if they differ."""
    return y if _same_quant(src, dst) else requantize(y, src, dst)


def _channel_multipliers(s_in: float, w: Tensor, s_out: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-output-channel (multiplier, shift): double(s_in) * double(s_w) / double(s_out)."""
    ws = _quant(w, "weight").scale.astype(np.float64)
    ws = np.broadcast_to(ws, (n,)) if ws.size == 1 else ws
    return fp.quantize_multipliers(s_in * ws / s_out)


def _finish_conv(acc: np.ndarray, ctx: KernelCtx, bias: np.ndarray | None) -> np.ndarray:
    """bias, per-channel requantization, output offset and fused activation clamp."""
    x_t, w_t, out_t = ctx.inputs[0], ctx.inputs[1], ctx.outputs[0]
    if bias is not None:
        acc = acc + bias.astype(np.int64)
    s_in, _ = _scale_zp(x_t)
    s_out, zp_out = _scale_zp(out_t)
    mult, shift = _channel_multipliers(s_in, w_t, s_out, acc.shape[-1])  # type: ignore[arg-type]
    y = fp.multiply_by_quantized_multiplier(acc, mult, shift) + zp_out
    lo, hi = _act_range(ctx, out_t)
    return _clamp(y, lo, hi)


def _exact_int(a: np.ndarray) -> np.ndarray:
    """float64 sums of int8 products are exact integers (far below 2**53)."""
    return a.astype(np.int64)


def _c_div(num: np.ndarray, den: np.ndarray | int) -> np.ndarray:
    """C integer division (truncates toward zero)."""
    q = np.abs(num) // np.abs(den)
    return np.where((num < 0) != (np.asarray(den) < 0), -q, q)


# --------------------------------------------------------------------------------------
# conv2d (regular, grouped, depthwise) and fully connected


def _windows(x: np.ndarray, kernel: tuple[int, int], strides: tuple[int, int],
             dilations: tuple[int, int], out_hw: tuple[int, int]) -> np.ndarray:
    """[N, OH, OW, kh, kw, C] view of the (already padded) NHWC input."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, strides, dilations
    eh, ew = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    win = sliding_window_view(x, (eh, ew), axis=(1, 2))      # [N, H', W', C, eh, ew]
    win = win[:, ::sh, ::sw, :, ::dh, ::dw][:, :out_hw[0], :out_hw[1]]
    return win.transpose(0, 1, 2, 4, 5, 3)


def _pad_hw(x: np.ndarray, pads: tuple[int, int, int, int], value: int) -> np.ndarray:
    pt, pl, pb, pr = (int(p) for p in pads)
    # Bottom/right pads beyond what the windows reach are harmless; negative ones crop.
    x = x[:, :x.shape[1] + min(pb, 0) or None, :x.shape[2] + min(pr, 0) or None]
    return np.pad(x, ((0, 0), (pt, max(pb, 0)), (pl, max(pr, 0)), (0, 0)), constant_values=value)


@register("conv2d", "int8")
def conv2d(ctx: KernelCtx, values: list[np.ndarray | None]) -> list[np.ndarray]:
    x, w = values[0], values[1]
    assert x is not None and w is not None
    bias = values[2] if len(values) > 2 else None
    a = ctx.attrs
    _, zp_in = _scale_zp(ctx.inputs[0])
    w_zp = _quant(ctx.inputs[1], "weight").zero_point
    cout, kh, kw, cin_g = w.shape
    groups = int(a["groups"])
    out_shape = ctx.outputs[0].shape
    xp = _pad_hw(x.astype(np.float64) - zp_in, a["pads"], 0)
    patches = _windows(xp, (kh, kw), a["strides"], a["dilations"], out_shape[1:3])
    n, oh, ow = patches.shape[:3]
    wf = w.astype(np.float64) - w_zp.reshape(-1, 1, 1, 1).astype(np.float64)
    if groups == 1:
        acc = patches.reshape(n * oh * ow, -1) @ wf.reshape(cout, -1).T
    else:
        og = cout // groups
        p = patches.reshape(n * oh * ow, kh, kw, groups, cin_g)
        acc = np.einsum("mhwgc,gohwc->mgo", p, wf.reshape(groups, og, kh, kw, cin_g), optimize=True)
    acc = _exact_int(acc.reshape(n, oh, ow, cout))
    return [_finish_conv(acc, ctx, bias)]


@register("fully_connected", "int8")
def fully_connected(ctx: KernelCtx, values: list[np.ndarray | None]) -> list[np.ndarray]:
    x, w = values[0], values[1]
    assert x is not None and w is not None
    bias = values[2] if len(values) > 2 else None
    _, zp_in = _scale_zp(ctx.inputs[0])
    w_zp = _quant(ctx.inputs[1], "weight").zero_point.astype(np.float64)
    wf = w.astype(np.float64) - (w_zp.reshape(-1, 1) if w_zp.size > 1 else w_zp[0])
    acc = (x.astype(np.float64) - zp_in).reshape(-1, w.shape[1]) @ wf.T
    acc = _exact_int(acc).reshape(x.shape[:-1] + (w.shape[0],))
    return [_finish_conv(acc, ctx, bias)]


# --------------------------------------------------------------------------------------
# elementwise


@register("add", "int8")
def add(ctx: KernelCtx, values: list[np.ndarray | None]) -> list[np.ndarray]:
    a, b = values
    assert a is not None and b is not None
    s1, z1 = _scale_zp(ctx.inputs[0])
    s2, z2 = _scale_zp(ctx.inputs[1])
    so, zo = _scale_zp(ctx.outputs[0])
    left_shift = 20                                   # TFLite's int8 ADD headroom
    twice_max = 2.0 * max(s1, s2)
    m1, sh1 = fp.quantize_multiplier_smaller_than_one_exp(s1 / twice_max)
    m2, sh2 = fp.quantize_multiplier_smaller_than_one_exp(s2 / twice_max)
    mo, sho = fp.quantize_multiplier_smaller_than_one_exp(twice_max / ((1 << left_shift) * so))
    x1 = fp.multiply_by_quantized_multiplier_smaller_than_one_exp(
        (a.astype(np.int64) - z1) << left_shift, m1, sh1)
    x2 = fp.multiply_by_quantized_multiplier_smaller_than_one_exp(
        (b.astype(np.int64) - z2) << left_shift, m2, sh2)
    y = fp.multiply_by_quantized_multiplier_smaller_than_one_exp(x1 + x2, mo, sho) + zo
    lo, hi = _act_range(ctx, ctx.outputs[0])
    return [_clamp(y, lo, hi)]


@register("mul", "int8")
def mul(ctx: KernelCtx, values: list[np.ndarray | None]) -> list[np.ndarray]:
    a, b = values
    assert a is not None and b is not None
    q1, q2, qo = (_quant(t) for t in (ctx.inputs[0], ctx.inputs[1], ctx.outputs[0]))
    # mul.cc multiplies and divides the float32 scales in float32 before widening.
    real = float(np.float32(np.float32(q1.scale[0]) * np.float32(q2.scale[0])) / np.float32(qo.scale[0]))
    mult, shift = fp.quantize_multiplier(real)
    prod = (a.astype(np.int64) - int(q1.zero_point[0])) * (b.astype(np.int64) - int(q2.zero_point[0]))
    y = fp.multiply_by_quantized_multiplier(prod, mult, shift) + int(qo.zero_point[0])
    lo, hi = _act_range(ctx, ctx.outputs[0])
    return [_clamp(y, lo, hi)]


def _relu_x(ctx: KernelCtx, x: np.ndarray, lo_real: float | None, hi_real: float | None) -> np.ndarray:
    """QuantizedReluX: requantize input -> output, then clamp to the real bounds."""
    si, zi = _scale_zp(ctx.inputs[0])
    so, zo = _scale_zp(ctx.outputs[0])
    mult, shift = fp.quantize_multiplier(si / so)
    y = fp.multiply_by_quantized_multiplier(x.astype(np.int64) - zi, mult, shift) + zo

    def q(f: float) -> int:
        return zo + int(fp.tflite_round(np.float32(f) / np.float32(so)))

    lo = QMIN if lo_real is None else max(QMIN, q(lo_real))
    hi = QMAX if hi_real is None else min(QMAX, q(hi_real))
    return _clamp(y, lo, hi)


@register("relu", "int8")
def relu(ctx: KernelCtx, values: list[np.ndarray | None]) -> list[np.ndarray]:
    assert values[0] is not None
    return [_relu_x(ctx, values[0], 0.0, None)]


@register("clip", "int8")
def clip(ctx: KernelCtx, values: list[np.ndarray | None]) -> list[np.ndarray]:
    assert values[0] is not None
    lo, hi = ctx.attrs["min"], ctx.attrs["max"]
    return [_relu_x(ctx, values[0], None if lo is None else float(lo), None if hi is None else float(hi))]


@register("quantize", "int8")
def quantize(ctx: KernelCtx, values: list[np.ndarray | None]) -> list[np.ndarray]:
    assert values[0] is not None and ctx.inputs[0] is not None
    return [requantize(values[0], ctx.inputs[0], ctx.outputs[0])]


# --------------------------------------------------------------------------------------
# pooling and reductions


def _pool_geometry(ctx: KernelCtx) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    a = ctx.attrs
    kh, kw = (int(k) for k in a["kernel"])
    return (kh, kw), tuple(a["strides"]), tuple(ctx.outputs[0].shape[1:3])  # type: ignore[return-value]


@register("avgpool2d", "int8")
def avgpool2d(ctx: KernelCtx, values: list[np.ndarray | None]) -> list[np.ndarray]:
    x = values[0]
    assert x is not None and ctx.inputs[0] is not None
    kernel, strides, out_hw = _pool_geometry(ctx)
    pads = ctx.attrs["pads"]
    _, zp = _scale_zp(ctx.inputs[0])
    if ctx.attrs["count_include_pad"]:
        # Exported as PAD (zero point) + VALID pool: padding counts, at the zero point.
        xs = _pad_hw(x.astype(np.int64), pads, zp)
        ones = np.ones_like(xs[..., :1])
    else:
        xs = _pad_hw(x.astype(np.int64), pads, 0)
        ones = _pad_hw(np.ones_like(x[..., :1], dtype=np.int64), pads, 0)
    total = _windows(xs, kernel, strides, (1, 1), out_hw).sum(axis=(3, 4))
    count = _windows(ones, kernel, strides, (1, 1), out_hw).sum(axis=(3, 4))
    # integer_ops::AveragePool rounds half away from zero with C division.
    avg = np.where(total > 0, _c_div(total + count // 2, count), _c_div(total - count // 2, count))
    lo, hi = fp.activation_range_int8(ctx.attrs["activation"], *_scale_zp(ctx.inputs[0]))
    return [_to_output(_clamp(avg, lo, hi), ctx.inputs[0], ctx.outputs[0])]


@register("maxpool2d", "int8")
def maxpool2d(ctx: KernelCtx, values: list[np.ndarray | None]) -> list[np.ndarray]:
    x = values[0]
    assert x is not None and ctx.inputs[0] is not None
    kernel, strides, out_hw = _pool_geometry(ctx)
    xs = _pad_hw(x, ctx.attrs["pads"], QMIN)          # padding never wins over a valid value
    m = _windows(xs, kernel, strides, (1, 1), out_hw).max(axis=(3, 4))
    lo, hi = fp.activation_range_int8(ctx.attrs["activation"], *_scale_zp(ctx.inputs[0]))
    return [_to_output(_clamp(m, lo, hi), ctx.inputs[0], ctx.outputs[0])]


@register("mean", "int8")
def mean(ctx: KernelCtx, values: list[np.ndarray | None]) -> list[np.ndarray]:
    """reference_ops::QuantizedMeanOrSum (LiteRT's int8 MEAN in BUILTIN_REF)."""
    x = values[0]
    assert x is not None
    rank = x.ndim
    axes = tuple(sorted({int(ax) % rank for ax in ctx.attrs["axes"]})) or tuple(range(rank))
    si, zi = _scale_zp(ctx.inputs[0])
    so, zo = _scale_zp(ctx.outputs[0])
    mult, shift = fp.quantize_multiplier(si / so)
    n = int(math.prod(x.shape[a] for a in axes))
    # Fold 1/n into the multiplier: shift up by floor(log2 n) bits, divide, shift back.
    up = min(n.bit_length() - 1, 32, 31 + shift)
    mult = (mult << up) // n
    shift -= up
    total = x.astype(np.int64).sum(axis=axes, keepdims=bool(ctx.attrs["keepdims"]))
    y = fp.multiply_by_quantized_multiplier(total - zi * n, mult, shift) + zo
    return [_clamp(y, QMIN, QMAX)]


# --------------------------------------------------------------------------------------
# softmax (gemmlowp fixed point, reference_ops::Softmax for int8)

_EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
               (2, 39332535), (3, 720401), (4, 242))  # round(exp(-2**k) * 2**31)


def _srdhm(a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
    return fp.saturating_rounding_doubling_high_mul(a, b)


def _rdbp(x: np.ndarray, e: int) -> np.ndarray:
    return fp.rounding_divide_by_pot(x, e)


def _sat_shift_left(x: np.ndarray, e: int) -> np.ndarray:
    return np.clip(np.asarray(x, np.int64) << e, fp.INT32_MIN, fp.INT32_MAX)


def _wrap32(x: np.ndarray) -> np.ndarray:
    return ((np.asarray(x, np.int64) + (1 << 31)) % (1 << 32)) - (1 << 31)


def _exp_quarter_interval(a: np.ndarray) -> np.ndarray:
    """exp on [-1/4, 0) in Q0.31: Taylor expansion around -1/8."""
    x = a + (1 << 28)
    x2 = _srdhm(x, x)
    x3 = _srdhm(x2, x)
    x4 = _srdhm(x2, x2)
    x4_over_4 = _rdbp(x4, 2)
    poly = _rdbp(_srdhm(x4_over_4 + x3, 715827883) + x2, 1)   # 715827883 = 1/3 in Q0.31
    const = 1895147668                                           # exp(-1/8) in Q0.31
    return const + _srdhm(const, x + poly)


def _exp_on_negative_values(a: np.ndarray) -> np.ndarray:
    """gemmlowp exp_on_negative_values for Q5.26 input, Q0.31 output."""
    frac_bits = 26
    quarter = 1 << (frac_bits - 2)
    a_mod = (a & (quarter - 1)) - quarter
    result = _exp_quarter_interval(_sat_shift_left(a_mod, 5))
    remainder = a_mod - a
    for exponent, mult in _EXP_BARREL:
        bit = (remainder & (1 << (frac_bits + exponent))) != 0
        result = np.where(bit, _srdhm(result, mult), result)
    return np.where(a == 0, fp.INT32_MAX, result)


def _one_over_one_plus_x(a: np.ndarray) -> np.ndarray:
    """gemmlowp one_over_one_plus_x_for_x_in_0_1: Newton-Raphson in Q2.29."""
    s = a + fp.INT32_MAX
    half_den = _c_div(s + np.where(s >= 0, 1, -1), 2)          # RoundingHalfSum(a, One)
    x = 1515870810 + _srdhm(half_den, -1010580540)               # 48/17 - 32/17 * d
    for _ in range(3):
        one_minus = (1 << 29) - _srdhm(half_den, x)
        x = x + _sat_shift_left(_srdhm(x, one_minus), 2)
    return _sat_shift_left(x, 1)


def _clz32(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.int64) & 0xFFFFFFFF
    bits = np.zeros_like(x)
    for b in range(32):
        bits = np.where(x >= (1 << b), b + 1, bits)
    return 32 - bits


def _softmax_params(beta: float, input_scale: float) -> tuple[int, int, int]:
    """PreprocessSoftmaxScaling and CalculateInputRadius for 5 integer bits."""
    real = min(beta * input_scale * (1 << 26), float((1 << 31) - 1))
    mult, shift = fp.quantize_multiplier(real)
    radius = math.floor(((1 << 5) - 1) * (1 << 26) / (1 << shift))
    return mult, shift, -radius


@register("softmax", "int8")
def softmax(ctx: KernelCtx, values: list[np.ndarray | None]) -> list[np.ndarray]:
    x = values[0]
    assert x is not None and ctx.inputs[0] is not None
    axis = int(ctx.attrs["axis"]) % x.ndim
    xm = np.moveaxis(x, axis, -1).astype(np.int64)
    si, _ = _scale_zp(ctx.inputs[0])
    mult, shift, diff_min = _softmax_params(float(np.float32(ctx.attrs["beta"])), si)
    diff = xm - xm.max(axis=-1, keepdims=True)
    valid = diff >= diff_min
    scaled = _srdhm(np.where(valid, diff, 0) * (1 << shift), mult)
    exps = _exp_on_negative_values(scaled)
    total = _wrap32(np.where(valid, _rdbp(exps, 12), 0).sum(axis=-1, keepdims=True))
    headroom = _clz32(total)
    bits_over_unit = 12 - headroom
    shifted = _wrap32(((total & 0xFFFFFFFF) << headroom) - (1 << 31))
    recip = _one_over_one_plus_x(shifted)
    exponent = bits_over_unit + 31 - 8
    out = _rdbp(_srdhm(recip, exps), exponent) + QMIN
    out = np.where(valid, np.clip(out, QMIN, QMAX), QMIN).astype(np.int8)
    out = np.moveaxis(out, -1, axis)
    fixed = Tensor("softmax_out", ctx.outputs[0].shape, "int8",
                   quant=QuantParams(np.float32(SOFTMAX_SCALE), SOFTMAX_ZP))
    return [_to_output(out, fixed, ctx.outputs[0])]


# --------------------------------------------------------------------------------------
# data movement


def _run_shape(ctx: KernelCtx, x: np.ndarray, static: tuple[int, ...]) -> tuple[int, ...]:
    """Keep the run's batch when it differs from a static batch of 1."""
    t = ctx.inputs[0]
    if t is not None and x.shape[:1] != t.shape[:1] and static and static[0] == t.shape[0]:
        return (x.shape[0],) + tuple(static[1:])
    return static


@register("reshape", "int8")
def reshape(ctx: KernelCtx, values: list[np.ndarray | None]) -> list[np.ndarray]:
    x = values[0]
    assert x is not None and ctx.inputs[0] is not None
    y = x.reshape(_run_shape(ctx, x, tuple(int(d) for d in ctx.attrs["shape"])))
    return [_to_output(y, ctx.inputs[0], ctx.outputs[0])]


@register("transpose", "int8")
def transpose(ctx: KernelCtx, values: list[np.ndarray | None]) -> list[np.ndarray]:
    x = values[0]
    assert x is not None and ctx.inputs[0] is not None
    y = np.ascontiguousarray(np.transpose(x, ctx.attrs["perm"]))
    return [_to_output(y, ctx.inputs[0], ctx.outputs[0])]


def pad_value_int8(value: float, t: Tensor) -> int:
    """The int8 code of a real pad value in ``t``'s quantization (0.0 -> zero point)."""
    s, zp = _scale_zp(t)
    return int(np.clip(zp + int(fp.tflite_round(float(value) / s)), QMIN, QMAX))


@register("pad", "int8")
def pad(ctx: KernelCtx, values: list[np.ndarray | None]) -> list[np.ndarray]:
    x = values[0]
    assert x is not None and ctx.inputs[0] is not None
    pads = [(int(a), int(b)) for a, b in ctx.attrs["pads"]]
    if any(a < 0 or b < 0 for a, b in pads):
        raise GraphError("pad: negative padding is not supported for int8", node=ctx.node.name)
    y = np.pad(x, pads, constant_values=pad_value_int8(ctx.attrs["value"], ctx.inputs[0]))
    return [_to_output(y, ctx.inputs[0], ctx.outputs[0])]
