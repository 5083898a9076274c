"""Reference kernels of the structural ops: concat, slice (float and int8) and max pool's
input gradient.

int8 concat follows TFLite's CONCATENATION, which needs every input quantized like the
output: an input whose parameters differ is requantized first (the exporter writes that as
a QUANTIZE before the CONCATENATION). int8 slice moves bytes (STRIDED_SLICE) and
requantizes afterwards when the output's parameters differ.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tte.reference.boundary import dequantize_array
from tte.reference.int8_ops import _to_output, requantize
from tte.reference.registry import KernelCtx, register

Values = list["np.ndarray | None"]


def _axis(ctx: KernelCtx) -> int:
    return int(ctx.attrs["axis"]) % len(ctx.outputs[0].shape)


@register("concat", "float32")
def concat_f32(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    return [np.concatenate([np.asarray(x, np.float32) for x in v], axis=_axis(ctx))]


@register("concat", "int8")
def concat_s8(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    out = ctx.outputs[0]
    parts = []
    for x, t in zip(v, ctx.inputs):
        assert x is not None and t is not None
        parts.append(_to_output(x, t, out))
    return [np.concatenate(parts, axis=_axis(ctx))]


def slice_index(a: dict[str, Any], rank: int) -> tuple[slice, ...]:
    strides = tuple(a["strides"]) or (1,) * rank
    return tuple(slice(int(b), int(e), int(s)) for b, e, s in zip(a["begin"], a["end"], strides))


def _run_slice(ctx: KernelCtx, x: np.ndarray) -> np.ndarray:
    """The slice; a run batch larger than a static batch of 1 is kept whole."""
    idx = slice_index(ctx.attrs, x.ndim)
    t = ctx.inputs[0]
    if t is not None and x.shape[0] != t.shape[0] and t.shape[0] == 1 and idx[0] == slice(0, 1, 1):
        idx = (slice(None),) + idx[1:]
    return np.ascontiguousarray(x[idx])


@register("slice", "float32")
def slice_f32(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    assert v[0] is not None
    return [_run_slice(ctx, np.asarray(v[0], np.float32))]


@register("slice", "int8")
def slice_s8(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    assert v[0] is not None and ctx.inputs[0] is not None
    return [_to_output(_run_slice(ctx, v[0]), ctx.inputs[0], ctx.outputs[0])]


def maxpool2d_grad(dy: np.ndarray, x: np.ndarray, a: dict[str, Any]) -> np.ndarray:
    """dL/dx of max pooling: each output's gradient goes to the first largest valid input of
    its window in row-major order (a later tap wins only when strictly larger), as PyTorch's
    CPU kernel does; padding never wins."""
    n, h, w, c = x.shape
    kh, kw = (int(k) for k in a["kernel"])
    sh, sw = (int(s) for s in a["strides"])
    pt, pl = int(a["pads"][0]), int(a["pads"][1])
    oh, ow = dy.shape[1], dy.shape[2]
    xs = x.astype(np.float64) if x.dtype.kind != "f" else x
    best = np.full((n, oh, ow, c), -np.inf, np.float64)
    where = np.full((n, oh, ow, c), -1, np.int64)      # flat (row * w + col) of the winner
    rows = np.arange(oh) * sh - pt
    cols = np.arange(ow) * sw - pl
    for i in range(kh):
        for j in range(kw):
            r, q = rows + i, cols + j
            rv, qv = (r >= 0) & (r < h), (q >= 0) & (q < w)
            val = np.full((n, oh, ow, c), -np.inf, np.float64)
            ri, qi = np.nonzero(rv)[0], np.nonzero(qv)[0]
            val[:, ri[:, None], qi[None, :], :] = xs[:, r[rv][:, None], q[qv][None, :], :]
            valid = rv[:, None] & qv[None, :]
            better = valid[None, :, :, None] & ((val > best) | (where < 0))
            best = np.where(better, val, best)
            flat = (r[:, None] * w + q[None, :])[None, :, :, None]
            where = np.where(better, flat, where)
    dx = np.zeros((n, h * w, c), dy.dtype)
    nn, cc = np.meshgrid(np.arange(n), np.arange(c), indexing="ij")
    for oi in range(oh):
        for oj in range(ow):
            won = where[:, oi, oj, :]
            np.add.at(dx, (nn, np.maximum(won, 0), cc), np.where(won >= 0, dy[:, oi, oj, :], 0))
    return dx.reshape(n, h, w, c)


def _maxpool2d_grad(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    dy, x = v[0], v[1]
    assert dy is not None and x is not None
    t = ctx.inputs[1]
    if t is not None and t.quant is not None and x.dtype.kind != "f":
        x = dequantize_array(x, t.quant)    # same order as the int8 codes (positive scale)
    return [maxpool2d_grad(dy, x, ctx.attrs)]


register("maxpool2d_grad", "float32")(_maxpool2d_grad)

__all__ = ["concat_f32", "concat_s8", "maxpool2d_grad", "requantize", "slice_f32", "slice_index", "slice_s8"]
