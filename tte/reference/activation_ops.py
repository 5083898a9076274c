"""Activations and elementwise ops of TinyML models: float and int8 reference kernels.

int8 follows tflite-micro's kernels (the ones that run on the board), which share
LiteRT's reference code: LOGISTIC and TANH in gemmlowp fixed point (input in Q4.27),
HARD_SWISH in its own 16-bit fixed point, LEAKY_RELU with two multipliers, SUB as ADD's
arithmetic with the second input subtracted, MAXIMUM/MINIMUM on the raw codes, RSQRT and
L2_NORMALIZATION through GetInvSqrtQuantizedMultiplierExp, GELU through a 256-entry table
built from the float function (as TFLite's Prepare builds it).

Ops whose TFLite output quantization is fixed (logistic 1/256 -128, tanh and l2_normalize
1/128 0) compute in that domain and requantize when the IR output differs; the exporter
writes that as a trailing QUANTIZE. maximum/minimum requantize inputs whose parameters
differ from the output's first (the exporter writes leading QUANTIZEs), since TFLite
compares raw codes.
"""

from __future__ import annotations

import math

import numpy as np

from tte.errors import GraphError
from tte.ir import QuantParams, Tensor
from tte.numerics import fixedpoint as fp
from tte.reference.int8_ops import _one_over_one_plus_x, _same_quant, _scale_zp, requantize
from tte.reference.registry import KernelCtx, register

Values = list["np.ndarray | None"]
CODES = np.arange(-128, 128, dtype=np.int64)          # every int8 value, table index = code + 128

# TFLite's fixed output quantization per op: (scale, zero point)
FIXED_OUTPUT_QUANT: dict[str, tuple[float, int]] = {
    "logistic": (1.0 / 256.0, -128), "tanh": (1.0 / 128.0, 0), "l2_normalize": (1.0 / 128.0, 0)}

_EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
               (2, 39332535), (3, 720401), (4, 242))   # round(exp(-2**k) * 2**31)


# --------------------------------------------------------------------------------------
# gemmlowp fixed point on int32 values held in int64 arrays


def _srdhm(a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
    return fp.saturating_rounding_doubling_high_mul(a, b)


def _shl_sat(x: np.ndarray, e: int) -> np.ndarray:
    """SaturatingRoundingMultiplyByPOT with a positive exponent."""
    return np.clip(np.asarray(x, np.int64) << e, fp.INT32_MIN, fp.INT32_MAX)


def _exp_quarter_interval(a: np.ndarray) -> np.ndarray:
    """exp on [-1/4, 0) in Q0.31: Taylor expansion around -1/8."""
    x = a + (1 << 28)
    x2 = _srdhm(x, x)
    x3 = _srdhm(x2, x)
    x4_over_4 = fp.rounding_divide_by_pot(_srdhm(x2, x2), 2)
    poly = fp.rounding_divide_by_pot(_srdhm(x4_over_4 + x3, 715827883) + x2, 1)
    return 1895147668 + _srdhm(1895147668, x + poly)


def exp_on_negative_values(a: np.ndarray, integer_bits: int) -> np.ndarray:
    """gemmlowp exp_on_negative_values: input with ``integer_bits`` integer bits, Q0.31 out."""
    frac = 31 - integer_bits
    quarter = 1 << (frac - 2)
    a = np.asarray(a, np.int64)
    a_mod = (a & (quarter - 1)) - quarter
    result = _exp_quarter_interval(_shl_sat(a_mod, integer_bits))
    remainder = a_mod - a
    for exponent, mult in _EXP_BARREL:
        if integer_bits > exponent:
            bit = (remainder & (1 << (frac + exponent))) != 0
            result = np.where(bit, _srdhm(result, mult), result)
    return np.where(a == 0, fp.INT32_MAX, result)


def _one_minus_x_over_one_plus_x(a: np.ndarray) -> np.ndarray:
    """gemmlowp one_minus_x_over_one_plus_x_for_x_in_0_1: Newton-Raphson in Q2.29."""
    s = a + fp.INT32_MAX
    half_den = np.where(s >= 0, (s + 1) // 2, -((-s + 1) // 2))      # RoundingHalfSum(a, One)
    x = 1515870810 + _srdhm(half_den, -1010580540)
    for _ in range(3):
        x = x + _shl_sat(_srdhm(x, (1 << 29) - _srdhm(half_den, x)), 2)
    return _shl_sat(x - (1 << 29), 2)


def logistic_q4(a: np.ndarray) -> np.ndarray:
    """gemmlowp logistic of a Q4.27 value, Q0.31 result."""
    a = np.asarray(a, np.int64)
    pos = a > 0
    on_pos = _one_over_one_plus_x(exp_on_negative_values(-np.where(pos, a, -a), 4))
    return np.where(a == 0, 1 << 30, np.where(pos, on_pos, fp.INT32_MAX - on_pos))


def tanh_q4(a: np.ndarray) -> np.ndarray:
    """gemmlowp tanh of a Q4.27 value, Q0.31 result (exp of 2a read as Q5.26)."""
    a = np.asarray(a, np.int64)
    neg = a < 0
    t = _one_minus_x_over_one_plus_x(exp_on_negative_values(np.where(neg, a, -a), 5))
    return np.where(a == 0, 0, np.where(neg, -t, t))


def input_q4_params(scale: float) -> tuple[int, int, int]:
    """(multiplier, left shift, radius) that take an int8 input to Q4.27 (tflite-micro's
    CalculateArithmeticOpData for LOGISTIC/TANH)."""
    q, shift = math.frexp(float(scale) * float(1 << 27))
    mult = int(fp.tflite_round(q * (1 << 31)))
    radius = math.floor(15.0 * (1 << 27) / 2.0 ** shift)
    return mult, shift, radius


def inv_sqrt_multiplier_exp(x: int) -> tuple[int, int]:
    """GetInvSqrtQuantizedMultiplierExp(x, reverse_shift=-1): 1/sqrt(x) as (multiplier, shift)."""
    if x <= 1:
        return fp.INT32_MAX, 0
    shift = 11
    while x >= (1 << 29):
        x //= 4
        shift += 1
    clz = 32 - int(x).bit_length()
    pairs = (clz - 1) // 2 - 1
    shift -= pairs
    x <<= 2 * pairs
    arr = np.int64(x >> 1)                       # Q3.28
    half_in = fp.rounding_divide_by_pot(arr, 1)
    half_three = (1 << 28) + (1 << 27)
    v = np.int64(1 << 28)
    for _ in range(5):
        x3 = _shl_sat(_srdhm(_srdhm(v, v), v), 6)
        v = _shl_sat(_srdhm(half_three, v) - _srdhm(half_in, x3), 3)
    mult = int(_srdhm(v, 1518500250))
    if shift < 0:
        mult <<= -shift
        shift = 0
    return mult, -shift


# --------------------------------------------------------------------------------------
# int8 helpers


def _lookup(table: np.ndarray, x: np.ndarray) -> np.ndarray:
    return table[x.astype(np.int64) + 128]


def _fixed_out(ctx: KernelCtx, y: np.ndarray) -> np.ndarray:
    """y computed in the op's fixed TFLite output quantization -> the IR output's."""
    s, zp = FIXED_OUTPUT_QUANT[ctx.node.op]
    fixed = Tensor("fixed", ctx.outputs[0].shape, "int8", quant=QuantParams(np.float32(s), zp))
    return y if _same_quant(fixed, ctx.outputs[0]) else requantize(y, fixed, ctx.outputs[0])


def logistic_table(s_in: float, zp_in: int) -> np.ndarray:
    mult, shift, radius = input_q4_params(s_in)
    x = CODES - zp_in
    inner = logistic_q4(fp.multiply_by_quantized_multiplier(np.clip(x, -radius, radius), mult, shift))
    y = np.clip(fp.rounding_divide_by_pot(inner, 23) - 128, -128, 127)
    return np.where(x <= -radius, -128, np.where(x >= radius, 127, y)).astype(np.int8)


def tanh_table(s_in: float, zp_in: int) -> np.ndarray:
    mult, shift, radius = input_q4_params(s_in)
    x = CODES - zp_in
    inner = tanh_q4(fp.multiply_by_quantized_multiplier(np.clip(x, -radius, radius), mult, shift))
    y = np.clip(fp.rounding_divide_by_pot(inner, 24), -128, 127)
    return np.where(x <= -radius, -128, np.where(x >= radius, 127, y)).astype(np.int8)


def _int16_multiplier(real: float) -> tuple[int, int]:
    """QuantizeMultiplier then DownScaleInt32ToInt16Multiplier."""
    m, e = fp.quantize_multiplier(real)
    return (32767 if m >= fp.INT32_MAX - (1 << 15) else (m + (1 << 15)) >> 16), e


def hard_swish_params(s_in: float, s_out: float) -> tuple[int, int, int, int]:
    """(output multiplier int16, its exponent, reluish multiplier int16, its exponent), the
    scales combined in float32 as HardSwishPrepare does."""
    hires = np.float32(1.0 / 128.0) * np.float32(s_in)
    om, oe = _int16_multiplier(float(np.float32(hires / np.float32(s_out))))
    rm, re = _int16_multiplier(float(np.float32(hires / np.float32(3.0 / 32768.0))))
    if oe > 0:
        raise ValueError("hard_swish: output scale below input scale / 128 (TFLite refuses it)")
    if oe < -31 or re < -31:
        raise ValueError("hard_swish: output or input scale out of the kernel's range (a shift beyond 31 bits)")
    return om, oe, rm, re


def _srdhm16(a: np.ndarray, b: int) -> np.ndarray:
    ab = np.asarray(a, np.int64) * b
    nudge = np.where(ab >= 0, 1 << 14, 1 - (1 << 14))
    s = ab + nudge
    v = np.where(s >= 0, s >> 15, -((-s) >> 15))
    return np.where((a == -32768) & (b == -32768), 32767, v)


def _sdhm16(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ab = np.asarray(a, np.int64) * np.asarray(b, np.int64)
    v = np.where(ab >= 0, ab >> 15, -((-ab) >> 15))
    return np.where((a == -32768) & (b == -32768), 32767, v)


def _sat16(x: np.ndarray) -> np.ndarray:
    return np.clip(x, -32768, 32767)


def hard_swish_table(s_in: float, zp_in: int, s_out: float, zp_out: int) -> np.ndarray:
    """reference_ops::HardSwish on every int8 code."""
    om, oe, rm, re = hard_swish_params(s_in, s_out)
    hires = (CODES - zp_in) * 128
    pre_out = _srdhm16(hires, om)
    r = hires
    if re > 0:
        r = _sat16(r * (1 << (re - 1)))
    r = _srdhm16(r, rm)
    if re > 0:
        r = _sat16(r * 2)
    if re < 0:
        r = fp.rounding_divide_by_pot(r, -re)
    r = (r + (1 << 15)) >> 1
    y = fp.rounding_divide_by_pot(_sdhm16(r, pre_out), -oe)
    y = ((y + zp_out + 32768) & 0xFFFF) - 32768            # int16 arithmetic
    return np.clip(y, -128, 127).astype(np.int8)


def leaky_relu_params(s_in: float, s_out: float, alpha: float) -> tuple[int, int, int, int]:
    """(identity multiplier, shift, alpha multiplier, shift); alpha's in float32 as TFLite."""
    if alpha < 0:
        raise ValueError(f"leaky_relu: int8 needs alpha >= 0, got {alpha}")
    mi, si = fp.quantize_multiplier(float(s_in) / float(s_out))
    real_alpha = float(np.float32(np.float32(s_in) * np.float32(alpha)) / np.float32(s_out))
    ma, sa = fp.quantize_multiplier(real_alpha)
    return mi, si, ma, sa


def leaky_relu_table(s_in: float, zp_in: int, s_out: float, zp_out: int, alpha: float) -> np.ndarray:
    mi, si, ma, sa = leaky_relu_params(s_in, s_out, alpha)
    x = CODES - zp_in
    y = np.where(x >= 0, fp.multiply_by_quantized_multiplier(x, mi, si),
                 fp.multiply_by_quantized_multiplier(x, ma, sa)) + zp_out
    return np.clip(y, -128, 127).astype(np.int8)


def rsqrt_params(s_in: float, s_out: float) -> tuple[int, int]:
    mult, shift = fp.quantize_multiplier(1.0 / (math.sqrt(float(np.float32(s_in))) * float(np.float32(s_out))))
    if shift - 20 < -31:
        raise ValueError("rsqrt: output scale too large for the input scale (a shift beyond 31 bits)")
    return mult, shift


def rsqrt_table(s_in: float, zp_in: int, s_out: float, zp_out: int) -> np.ndarray:
    """LiteRT's int8 RSQRT on every code; codes at or below the zero point (x <= 0, which
    TFLite refuses) give the largest output."""
    mult, shift = rsqrt_params(s_in, s_out)
    out = np.full(256, 127, np.int8)
    for i, code in enumerate(CODES):
        v = int(code) - zp_in
        if v <= 0:
            continue
        m, e = inv_sqrt_multiplier_exp(v)
        data = int(fp.multiply_by_quantized_multiplier(1, m, e + 20))
        y = int(fp.multiply_by_quantized_multiplier(data, mult, shift - 20)) + zp_out
        out[i] = min(max(y, -128), 127)
    return out


def erf(x: np.ndarray) -> np.ndarray:
    """math.erf over an array, in x's float dtype."""
    return np.vectorize(math.erf, otypes=[np.float64])(x).astype(np.asarray(x).dtype)


def gelu_table(s_in: float, zp_in: int, s_out: float, zp_out: int, approximate: bool) -> np.ndarray:
    """TFLite's GELU table: the float function on each dequantized code, rounded to the output."""
    x = (np.float32(s_in) * (CODES - zp_in).astype(np.float32)).astype(np.float32)
    y = gelu_float(x.astype(np.float64), approximate).astype(np.float32)
    q = fp.tflite_round(y * (np.float32(1.0) / np.float32(s_out))).astype(np.float32) + np.float32(zp_out)
    return np.clip(q.astype(np.int64), -128, 127).astype(np.int8)


def gelu_float(x: np.ndarray, approximate: bool) -> np.ndarray:
    if approximate:
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def unary_table(op: str, attrs: dict, x: Tensor, y: Tensor) -> np.ndarray:
    """The int8 -> int8 table of a unary op (in the op's own output domain for the ops whose
    TFLite output quantization is fixed)."""
    si, zi = _scale_zp(x)
    so, zo = _scale_zp(y)
    if op == "logistic":
        return logistic_table(si, zi)
    if op == "tanh":
        return tanh_table(si, zi)
    if op == "hard_swish":
        return hard_swish_table(si, zi, so, zo)
    if op == "leaky_relu":
        return leaky_relu_table(si, zi, so, zo, float(attrs["alpha"]))
    if op == "rsqrt":
        return rsqrt_table(si, zi, so, zo)
    if op == "gelu":
        return gelu_table(si, zi, so, zo, bool(attrs["approximate"]))
    raise KeyError(op)


def _unary_int8(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    x = v[0]
    assert x is not None and ctx.inputs[0] is not None
    try:
        table = unary_table(ctx.node.op, ctx.attrs, ctx.inputs[0], ctx.outputs[0])
    except ValueError as e:
        raise GraphError(str(e), node=ctx.node.name) from None
    y = _lookup(table, x)
    return [_fixed_out(ctx, y) if ctx.node.op in FIXED_OUTPUT_QUANT else y]


for _op in ("logistic", "tanh", "hard_swish", "leaky_relu", "rsqrt", "gelu"):
    register(_op, "int8")(_unary_int8)


def l2_normalize_int8(x: np.ndarray, zp_in: int) -> np.ndarray:
    """reference_integer_ops::L2Normalization over the last axis, output in 1/128, 0."""
    xc = x.astype(np.int64) - zp_in
    rows = xc.reshape(-1, xc.shape[-1])
    out = np.empty(rows.shape, np.int8)
    for r, row in enumerate(rows):
        m, e = inv_sqrt_multiplier_exp(int((row * row).sum()))
        y = fp.multiply_by_quantized_multiplier(row, m, e + 7)
        out[r] = np.clip(y, -128, 127)
    return out.reshape(x.shape)


@register("l2_normalize", "int8")
def l2_normalize(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    x = v[0]
    assert x is not None
    _, zp = _scale_zp(ctx.inputs[0])
    return [_fixed_out(ctx, l2_normalize_int8(x, zp))]


def sub_params(s1: float, s2: float, so: float) -> tuple[int, ...]:
    """(left shift, m1, shift1, m2, shift2, m_out, shift_out), as ADD's Prepare."""
    twice_max = 2.0 * max(s1, s2)
    m1, sh1 = fp.quantize_multiplier_smaller_than_one_exp(s1 / twice_max)
    m2, sh2 = fp.quantize_multiplier_smaller_than_one_exp(s2 / twice_max)
    mo, sho = fp.quantize_multiplier_smaller_than_one_exp(twice_max / ((1 << 20) * so))
    return 20, m1, sh1, m2, sh2, mo, sho


@register("sub", "int8")
def sub(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    a, b = v
    assert a is not None and b is not None
    s1, z1 = _scale_zp(ctx.inputs[0])
    s2, z2 = _scale_zp(ctx.inputs[1])
    so, zo = _scale_zp(ctx.outputs[0])
    ls, m1, sh1, m2, sh2, mo, sho = sub_params(s1, s2, so)
    x1 = fp.multiply_by_quantized_multiplier_smaller_than_one_exp((a.astype(np.int64) - z1) << ls, m1, sh1)
    x2 = fp.multiply_by_quantized_multiplier_smaller_than_one_exp((b.astype(np.int64) - z2) << ls, m2, sh2)
    y = fp.multiply_by_quantized_multiplier_smaller_than_one_exp(x1 - x2, mo, sho) + zo
    lo, hi = fp.activation_range_int8(ctx.attrs["activation"], so, zo)
    return [np.clip(y, lo, hi).astype(np.int8)]


def _minmax_int8(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    a, b = v
    assert a is not None and b is not None and ctx.inputs[0] is not None and ctx.inputs[1] is not None
    out = ctx.outputs[0]
    a = a if _same_quant(ctx.inputs[0], out) else requantize(a, ctx.inputs[0], out)
    b = b if _same_quant(ctx.inputs[1], out) else requantize(b, ctx.inputs[1], out)
    return [(np.maximum if ctx.node.op == "maximum" else np.minimum)(a, b)]


register("maximum", "int8")(_minmax_int8)
register("minimum", "int8")(_minmax_int8)


# --------------------------------------------------------------------------------------
# float32


def _f32(x: np.ndarray | None) -> np.ndarray:
    assert x is not None
    return np.asarray(x, dtype=np.float32)


@register("logistic", "float32")
def logistic_f32(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    x = _f32(v[0]).astype(np.float64)
    return [(0.5 * (1.0 + np.tanh(0.5 * x))).astype(np.float32)]    # no overflow for large |x|


@register("tanh", "float32")
def tanh_f32(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    return [np.tanh(_f32(v[0]))]


@register("hard_swish", "float32")
def hard_swish_f32(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    x = _f32(v[0])
    return [(x * np.clip(x + np.float32(3), 0, 6) / np.float32(6)).astype(np.float32)]


@register("leaky_relu", "float32")
def leaky_relu_f32(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    x = _f32(v[0])
    return [np.where(x >= 0, x, x * np.float32(ctx.attrs["alpha"])).astype(np.float32)]


@register("gelu", "float32")
def gelu_f32(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    return [gelu_float(_f32(v[0]).astype(np.float64), bool(ctx.attrs["approximate"])).astype(np.float32)]


@register("sub", "float32")
def sub_f32(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    y = np.subtract(_f32(v[0]), _f32(v[1]))
    act = ctx.attrs["activation"]
    if act == "relu":
        y = np.maximum(y, 0)
    elif act == "relu6":
        y = np.clip(y, 0, 6)
    return [y.astype(np.float32)]


@register("maximum", "float32")
def maximum_f32(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    return [np.maximum(_f32(v[0]), _f32(v[1]))]


@register("minimum", "float32")
def minimum_f32(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    return [np.minimum(_f32(v[0]), _f32(v[1]))]


@register("rsqrt", "float32")
def rsqrt_f32(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        return [(np.float32(1) / np.sqrt(_f32(v[0]))).astype(np.float32)]


@register("l2_normalize", "float32")
def l2_normalize_f32(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    x = _f32(v[0])
    norm = np.sqrt(np.sum(x * x, axis=-1, keepdims=True, dtype=np.float32))
    return [(x / np.maximum(norm, np.float32(ctx.attrs["epsilon"]))).astype(np.float32)]
