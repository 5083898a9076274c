"""Float32 reference kernels (NHWC).

Convolutions and pools loop over kernel positions (a handful) and vectorise over
batch, space and channels, so big-batch forward passes stay fast. Every kernel is
batch-agnostic: the run's batch may exceed the graph's static batch.
"""

from __future__ import annotations

import numpy as np

from tte.errors import GraphError
from tte.numerics.fixedpoint import tflite_round
from tte.reference.registry import KernelCtx, register

Values = list["np.ndarray | None"]


def _activate(y: np.ndarray, activation: str) -> np.ndarray:
    if activation == "relu":
        return np.maximum(y, 0, out=y)
    if activation == "relu6":
        return np.clip(y, 0, 6, out=y)
    return y


def _f32(x: np.ndarray | None) -> np.ndarray:
    assert x is not None
    return np.asarray(x, dtype=np.float32)


def _f64(x: np.ndarray | None) -> np.ndarray:
    return _f32(x).astype(np.float64)


def _pad_hw(x: np.ndarray, pads: tuple[int, ...], value: float) -> np.ndarray:
    pt, pl, pb, pr = (int(p) for p in pads)
    if not any((pt, pl, pb, pr)):
        return x
    return np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=value)


def _windows(xp: np.ndarray, k: tuple[int, int], s: tuple[int, int], d: tuple[int, int],
             out_hw: tuple[int, int]):  # type: ignore[no-untyped-def]
    """Yield (i, j, view) for every kernel position: the strided input slice it sees."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = k, s, d, out_hw
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * dh, j * dw
            yield i, j, xp[:, r0:r0 + (oh - 1) * sh + 1:sh, c0:c0 + (ow - 1) * sw + 1:sw, :]


def _out_hw(h: int, w: int, k: tuple[int, int], s: tuple[int, int], d: tuple[int, int],
            pads: tuple[int, ...]) -> tuple[int, int]:
    pt, pl, pb, pr = pads
    oh = (h + pt + pb - d[0] * (k[0] - 1) - 1) // s[0] + 1
    ow = (w + pl + pr - d[1] * (k[1] - 1) - 1) // s[1] + 1
    return oh, ow


@register("conv2d", "float32")
def conv2d(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    x, w = _f32(v[0]).astype(np.float64), _f32(v[1]).astype(np.float64)
    a = ctx.attrs
    g = int(a["groups"])
    n, h, wd, c = x.shape
    cout, kh, kw, cin_g = w.shape
    oh, ow = _out_hw(h, wd, (kh, kw), a["strides"], a["dilations"], a["pads"])
    xp = _pad_hw(x, a["pads"], 0.0)
    m = n * oh * ow
    y = np.zeros((m, cout), np.float64)
    depthwise = cin_g == 1 and g == c
    for i, j, view in _windows(xp, (kh, kw), a["strides"], a["dilations"], (oh, ow)):
        patch = view.reshape(m, c)
        wk = w[:, i, j, :]                                  # [Cout, Cin/g]
        if g == 1:
            y += patch @ wk.T
        elif depthwise:
            # output channel o reads input channel o // multiplier
            mult = cout // g
            y += (patch[:, :, None] * wk.reshape(g, mult)[None]).reshape(m, cout)
        else:
            cg = cout // g
            pg = patch.reshape(m, g, cin_g).transpose(1, 0, 2)       # [g, m, cin_g]
            wg = wk.reshape(g, cg, cin_g).transpose(0, 2, 1)          # [g, cin_g, cg]
            y += np.matmul(pg, wg).transpose(1, 0, 2).reshape(m, cout)
    if len(v) > 2 and v[2] is not None:
        y += _f32(v[2])
    return [_activate(y.astype(np.float32).reshape(n, oh, ow, cout), a["activation"])]


@register("fully_connected", "float32")
def fully_connected(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    y = np.matmul(_f64(v[0]), _f64(v[1]).T)
    if len(v) > 2 and v[2] is not None:
        y = y + _f32(v[2])
    return [_activate(np.ascontiguousarray(y, np.float32), ctx.attrs["activation"])]


@register("matmul", "float32")
def matmul(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    return [np.matmul(_f64(v[0]), _f64(v[1])).astype(np.float32)]


@register("add", "float32")
def add(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    return [_activate(np.add(_f32(v[0]), _f32(v[1])), ctx.attrs["activation"])]


@register("mul", "float32")
def mul(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    return [_activate(np.multiply(_f32(v[0]), _f32(v[1])), ctx.attrs["activation"])]


@register("relu", "float32")
def relu(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    return [np.maximum(_f32(v[0]), np.float32(0))]


@register("clip", "float32")
def clip(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    y = _f32(v[0])
    lo, hi = ctx.attrs["min"], ctx.attrs["max"]
    if lo is not None:
        y = np.maximum(y, np.float32(lo))
    if hi is not None:
        y = np.minimum(y, np.float32(hi))
    return [np.array(y, np.float32, copy=True)]


def _pool_parts(ctx: KernelCtx, x: np.ndarray) -> tuple[tuple[int, int], tuple[int, int]]:
    a = ctx.attrs
    k = (int(a["kernel"][0]), int(a["kernel"][1]))
    return k, _out_hw(x.shape[1], x.shape[2], k, a["strides"], (1, 1), a["pads"])


@register("avgpool2d", "float32")
def avgpool2d(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    x = _f32(v[0])
    a = ctx.attrs
    k, out_hw = _pool_parts(ctx, x)
    xp = _pad_hw(x, a["pads"], 0.0)
    total = np.zeros((x.shape[0], *out_hw, x.shape[3]), np.float32)
    for _, _, view in _windows(xp, k, a["strides"], (1, 1), out_hw):
        total += view
    if a["count_include_pad"]:
        count: np.ndarray | float = float(k[0] * k[1])
    else:
        # how many real (unpadded) pixels each window covers
        ones = _pad_hw(np.ones((1, x.shape[1], x.shape[2], 1), np.float32), a["pads"], 0.0)
        count = np.zeros((1, *out_hw, 1), np.float32)
        for _, _, view in _windows(ones, k, a["strides"], (1, 1), out_hw):
            count += view
        count = np.maximum(count, 1.0)
    y = (total / np.float32(count) if isinstance(count, float) else total / count).astype(np.float32)
    return [_activate(y, a["activation"])]


@register("maxpool2d", "float32")
def maxpool2d(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    x = _f32(v[0])
    a = ctx.attrs
    k, out_hw = _pool_parts(ctx, x)
    xp = _pad_hw(x, a["pads"], -np.inf)
    y = np.full((x.shape[0], *out_hw, x.shape[3]), -np.inf, np.float32)
    for _, _, view in _windows(xp, k, a["strides"], (1, 1), out_hw):
        np.maximum(y, view, out=y)
    return [_activate(y, a["activation"])]


@register("mean", "float32")
def mean(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    x = _f32(v[0])
    axes = tuple(int(ax) % x.ndim for ax in ctx.attrs["axes"]) or None
    y = np.mean(x, axis=axes, keepdims=bool(ctx.attrs["keepdims"]), dtype=np.float32)
    return [np.asarray(y, np.float32)]


def _run_shape(ctx: KernelCtx, x: np.ndarray) -> tuple[int, ...]:
    """The output shape for this run: a larger run batch replaces a static batch of 1."""
    shape = tuple(int(d) for d in ctx.attrs["shape"])
    static = ctx.inputs[0].shape if ctx.inputs[0] is not None else x.shape
    if x.shape == tuple(static):
        return shape
    if static and static[0] == 1 and x.shape[1:] == tuple(static[1:]) and shape and shape[0] == 1:
        return (x.shape[0],) + shape[1:]
    raise GraphError(f"reshape: run input {x.shape} does not fit static shape {tuple(static)} "
                     f"with output {shape}", node=ctx.node.name)


@register("reshape", "float32")
def reshape(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    x = _f32(v[0])
    return [x.reshape(_run_shape(ctx, x))]


@register("transpose", "float32")
def transpose(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    return [np.ascontiguousarray(np.transpose(_f32(v[0]), ctx.attrs["perm"]))]


@register("softmax", "float32")
def softmax(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    x = _f32(v[0]) * np.float32(ctx.attrs["beta"])
    axis = int(ctx.attrs["axis"])
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return [(e / np.sum(e, axis=axis, keepdims=True)).astype(np.float32)]


@register("pad", "float32")
def pad(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    x = _f32(v[0])
    pads = [(int(p0), int(p1)) for p0, p1 in ctx.attrs["pads"]]
    # negative pads crop first, positive ones then pad
    crop = tuple(slice(max(-p0, 0), d - max(-p1, 0)) for d, (p0, p1) in zip(x.shape, pads))
    grow = [(max(p0, 0), max(p1, 0)) for p0, p1 in pads]
    return [np.pad(x[crop], grow, constant_values=np.float32(ctx.attrs["value"]))]


_INT_RANGE = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767)}


@register("quantize", "float32")
def quantize(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    """TFLite AffineQuantize: round half away from zero of x / scale (in float32), plus zp."""
    x = _f32(v[0])
    out = ctx.outputs[0]
    q = out.quant
    assert q is not None
    shape = q.broadcast_shape(x.ndim)
    scale = q.scale.reshape(shape).astype(np.float32)
    zp = q.zero_point.reshape(shape)
    lo, hi = _INT_RANGE[out.dtype]
    y = tflite_round(x / scale).astype(np.int64) + zp
    return [np.clip(y, lo, hi).astype(out.dtype)]


@register("dequantize", "int8")
def dequantize(ctx: KernelCtx, v: Values) -> list[np.ndarray]:
    x = v[0]
    q = ctx.inputs[0].quant if ctx.inputs[0] is not None else None
    assert x is not None and q is not None
    shape = q.broadcast_shape(x.ndim)
    centered = (x.astype(np.int32) - q.zero_point.reshape(shape).astype(np.int32)).astype(np.float32)
    return [centered * q.scale.reshape(shape).astype(np.float32)]
