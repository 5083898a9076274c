"""Float reference kernels of the training ops (backward, losses, SGD), NHWC.

They keep the dtype they are given, so the same functions are checked in float64 against
finite differences and PyTorch autograd, and run in float32 inside training graphs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tte.ir import Tensor
from tte.numerics.fixedpoint import activation_range_int8, tflite_round
from tte.reference.boundary import dequantize_array
from tte.reference.registry import KernelCtx, register


def _window(pad: np.ndarray, i: int, j: int, a: dict[str, Any], oh: int, ow: int) -> tuple[slice, ...]:
    """The slice of the padded input that kernel tap (i, j) reads for every output pixel."""
    (sh, sw), (dh, dw) = a["strides"], a.get("dilations", (1, 1))
    return (slice(None), slice(i * dh, i * dh + sh * (oh - 1) + 1, sh),
            slice(j * dw, j * dw + sw * (ow - 1) + 1, sw), slice(None))


def _crop(xp: np.ndarray, pads: tuple[int, int, int, int]) -> np.ndarray:
    pt, pl, pb, pr = pads
    return xp[:, pt:xp.shape[1] - pb, pl:xp.shape[2] - pr, :]


def conv2d_grad_input(dy: np.ndarray, w: np.ndarray, a: dict[str, Any],
                      input_shape: tuple[int, ...]) -> np.ndarray:
    n, h, wd, cin = input_shape
    cout, kh, kw, cin_g = w.shape
    g = a["groups"]
    pt, pl, pb, pr = a["pads"]
    oh, ow = dy.shape[1], dy.shape[2]
    dxp = np.zeros((dy.shape[0], h + pt + pb, wd + pl + pr, cin), dy.dtype)
    dyg = dy.reshape(dy.shape[:3] + (g, cout // g))
    wg = w.reshape(g, cout // g, kh, kw, cin_g)
    for i in range(kh):
        for j in range(kw):
            contrib = np.einsum("nhwgo,goc->nhwgc", dyg, wg[:, :, i, j, :])
            dxp[_window(dxp, i, j, a, oh, ow)] += contrib.reshape(dy.shape[:3] + (cin,))
    return _crop(dxp, a["pads"])


def conv2d_grad_weight(x: np.ndarray, dy: np.ndarray, a: dict[str, Any]) -> np.ndarray:
    g = a["groups"]
    kh, kw = a["kernel"]
    pt, pl, pb, pr = a["pads"]
    cin, cout = x.shape[-1], dy.shape[-1]
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    oh, ow = dy.shape[1], dy.shape[2]
    dyg = dy.reshape(-1, g, cout // g)
    dw = np.zeros((cout, kh, kw, cin // g), dy.dtype)
    for i in range(kh):
        for j in range(kw):
            patch = xp[_window(xp, i, j, a, oh, ow)].reshape(-1, g, cin // g)
            dw[:, i, j, :] = np.einsum("mgo,mgc->goc", dyg, patch).reshape(cout, cin // g)
    return _select(dw, a["out_channels"], a["in_channels"])


def _select(t: np.ndarray, out_channels: tuple[int, ...], in_channels: tuple[int, ...] = ()) -> np.ndarray:
    if out_channels:
        t = t[list(out_channels)]
    if in_channels and t.ndim > 1:
        t = t[..., list(in_channels)]
    return t


def avgpool2d_grad(dy: np.ndarray, a: dict[str, Any], input_shape: tuple[int, ...]) -> np.ndarray:
    n, h, w, c = input_shape
    kh, kw = a["kernel"]
    pt, pl, pb, pr = a["pads"]
    oh, ow = dy.shape[1], dy.shape[2]
    shape_p = (1, h + pt + pb, w + pl + pr, 1)
    if a["count_include_pad"]:
        count = np.full((1, oh, ow, 1), kh * kw, dy.dtype)
    else:
        valid = np.pad(np.ones((1, h, w, 1), dy.dtype), ((0, 0), (pt, pb), (pl, pr), (0, 0)))
        count = np.zeros((1, oh, ow, 1), dy.dtype)
        for i in range(kh):
            for j in range(kw):
                count += valid[_window(valid, i, j, a, oh, ow)]
    share = dy / count
    dxp = np.zeros((dy.shape[0],) + shape_p[1:3] + (c,), dy.dtype)
    for i in range(kh):
        for j in range(kw):
            dxp[_window(dxp, i, j, a, oh, ow)] += share
    return _crop(dxp, a["pads"])


def mean_grad(dy: np.ndarray, a: dict[str, Any], input_shape: tuple[int, ...]) -> np.ndarray:
    r = len(input_shape)
    axes = tuple(sorted({ax % r for ax in a["axes"]})) if a["axes"] else tuple(range(r))
    if not a["keepdims"]:
        dy = np.expand_dims(dy, axes)
    count = int(np.prod([input_shape[ax] for ax in axes]))
    shape = (dy.shape[0],) + tuple(input_shape[1:])
    return np.broadcast_to(dy / count, shape).copy()


def act_mask(y: np.ndarray, a: dict[str, Any]) -> np.ndarray:
    lo, hi = {"relu": (0.0, None), "relu6": (0.0, 6.0)}.get(a["activation"], (a["min"], a["max"]))
    mask = np.ones(y.shape, bool)
    if lo is not None:
        mask &= y > lo
    if hi is not None:
        mask &= y < hi
    return mask


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_ce_loss(logits: np.ndarray, label: np.ndarray) -> np.ndarray:
    z = logits.reshape(len(logits), -1)
    zmax = z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(z - zmax).sum(axis=1)) + zmax[:, 0]
    return np.asarray(np.mean(lse - z[np.arange(len(z)), label.reshape(-1)]), logits.dtype)


def softmax_ce_grad(logits: np.ndarray, label: np.ndarray) -> np.ndarray:
    z = logits.reshape(len(logits), -1)
    p = softmax(z, axis=1)
    p[np.arange(len(z)), label.reshape(-1)] -= 1
    return (p / len(z)).reshape(logits.shape).astype(logits.dtype)


def sum_to_shape(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    lead = x.ndim - len(shape)
    out = x.sum(axis=tuple(range(lead))) if lead else x
    axes = tuple(i for i, d in enumerate(shape) if d == 1 and out.shape[i] != 1)
    return out.sum(axis=axes, keepdims=True) if axes else out


def sgd_update(w: np.ndarray, grad: np.ndarray, a: dict[str, Any]) -> np.ndarray:
    idx = [np.arange(d) for d in w.shape]
    if a["out_channels"]:
        idx[0] = np.asarray(a["out_channels"])
    if a["in_channels"] and w.ndim > 1:
        idx[-1] = np.asarray(a["in_channels"])
    out = w.copy()
    out[np.ix_(*idx)] -= (a["lr"] * grad).astype(w.dtype)
    return out


# ---- registry glue --------------------------------------------------------------------
# In int8 training graphs the backward pass works on real values: int8 activations and
# weights are dequantized where a kernel reads them; gradients are float32.

def _real(t: Tensor | None, v: np.ndarray) -> np.ndarray:
    if t is None or t.quant is None or v.dtype.kind == "f":
        return v
    return dequantize_array(v, t.quant)


def _reg(op: str, fn: Any, dtypes: tuple[str, ...] = ("float32",)) -> None:
    for dtype in dtypes:
        register(op, dtype)(fn)


def _scatter(c: KernelCtx, x: np.ndarray) -> np.ndarray:
    """channels_scatter: x's channels at c.attrs["channels"] of in_c, the others x's zero point."""
    q = c.inputs[0].quant
    zp = int(np.asarray(q.zero_point).reshape(-1)[0]) if q is not None else 0
    y = np.full((*x.shape[:-1], int(c.attrs["in_c"])), zp, dtype=x.dtype)
    y[..., list(c.attrs["channels"])] = x
    return y


def _batch_shape(c: KernelCtx, v: list[Any]) -> tuple[int, ...]:
    return (v[0].shape[0],) + c.outputs[0].shape[1:]


_reg("conv2d_grad_input", lambda c, v: [conv2d_grad_input(v[0], _real(c.inputs[1], v[1]), c.attrs,
                                                          _batch_shape(c, v))])
_reg("conv2d_grad_weight", lambda c, v: [conv2d_grad_weight(_real(c.inputs[0], v[0]), v[1], c.attrs)],
     ("float32", "int8"))
_reg("fc_grad_input", lambda c, v: [v[0] @ _real(c.inputs[1], v[1])])
_reg("fc_grad_weight", lambda c, v: [_select(
    v[1].reshape(-1, v[1].shape[-1]).T @ _real(c.inputs[0], v[0]).reshape(-1, v[0].shape[-1]),
    c.attrs["out_channels"], c.attrs["in_channels"])], ("float32", "int8"))
_reg("bias_grad", lambda c, v: [_select(v[0].reshape(-1, v[0].shape[-1]).sum(axis=0),
                                        c.attrs["out_channels"])])
_reg("mask_grad", lambda c, v: [np.where(v[1], v[0], np.zeros((), v[0].dtype))])
_reg("weight_snapshot", lambda c, v: [np.array(v[0], copy=True)], ("float32", "int8"))
_reg("channels_gather", lambda c, v: [np.ascontiguousarray(v[0][..., list(c.attrs["channels"])])], ("int8",))
_reg("channels_scatter", lambda c, v: [_scatter(c, v[0])], ("int8",))
_reg("avgpool2d_grad", lambda c, v: [avgpool2d_grad(v[0], c.attrs, _batch_shape(c, v))])
_reg("mean_grad", lambda c, v: [mean_grad(v[0], c.attrs, c.outputs[0].shape)])
_reg("softmax_grad", lambda c, v: [c.attrs["beta"] * _real(c.inputs[0], v[0]) * (
    v[1] - (v[1] * _real(c.inputs[0], v[0])).sum(axis=c.attrs["axis"], keepdims=True))], ("float32", "int8"))
_reg("sum_to_shape", lambda c, v: [sum_to_shape(v[0], tuple(c.attrs["shape"]))])
_reg("softmax_ce_loss", lambda c, v: [softmax_ce_loss(v[0], v[1])])
_reg("softmax_ce_grad", lambda c, v: [softmax_ce_grad(v[0], v[1])])
_reg("mse_loss", lambda c, v: [np.asarray(np.mean((v[0] - v[1]) ** 2), v[0].dtype)])
_reg("mse_grad", lambda c, v: [(2.0 * (v[0] - v[1]) / v[0].size).astype(v[0].dtype)])
_reg("sgd_update", lambda c, v: [sgd_update(v[0], v[1], c.attrs)])
_reg("act_mask", lambda c, v: [act_mask(v[0], c.attrs)])
_reg("momentum", lambda c, v: [(v[0] * np.float32(c.attrs["momentum"]) + v[1]).astype(np.float32)])


@register("act_mask", "int8")
def _act_mask_int8(c: KernelCtx, v: list[Any]) -> list[np.ndarray]:
    """Where the int8 clamp of the fused activation did not bind."""
    q = c.inputs[0].quant if c.inputs[0] is not None else None
    assert q is not None
    scale, zp = float(q.scale[0]), int(q.zero_point[0])
    act = c.attrs["activation"]
    if act in ("relu", "relu6"):
        lo, hi = activation_range_int8(act, scale, zp)
    else:
        lo = -128 if c.attrs["min"] is None else zp + int(tflite_round(c.attrs["min"] / scale))
        hi = 127 if c.attrs["max"] is None else zp + int(tflite_round(c.attrs["max"] / scale))
    y = v[0]
    return [(y > lo) & (y < hi)]


@register("sgd_update", "int8")
def _sgd_update_int8(c: KernelCtx, v: list[Any]) -> list[np.ndarray]:
    return [qas_update(v[0], v[1], c.inputs[0], c.attrs, v[2] if len(v) > 2 else None, -127, 127)]


@register("sgd_update", "int32")
def _sgd_update_int32(c: KernelCtx, v: list[Any]) -> list[np.ndarray]:
    return [qas_update(v[0], v[1], c.inputs[0], c.attrs, v[2] if len(v) > 2 else None,
                       -(2 ** 31), 2 ** 31 - 1)]


def qas_update(w: np.ndarray, grad: np.ndarray, t: Tensor | None, a: dict[str, Any],
               step: np.ndarray | None, lo: int, hi: int) -> np.ndarray:
    """SGD on a quantized parameter with quantization-aware scaling (paper Eq. 4).

    With W = s * Wq, dL/dWq = s * dL/dW; QAS scales it by s**-2, so the step in
    integer units is lr * dL/dW / s: the same real-valued step as float SGD. Without QAS
    the step is lr * s * dL/dW, far too small for typical scales.

    An update smaller than one integer step is rounded to nearest (lost when below half a
    step) or stochastically (kept in expectation), as ``rounding`` says.
    """
    assert t is not None and t.quant is not None
    shape = [1] * w.ndim
    scale = t.quant.scale.astype(np.float64)
    if a["out_channels"] and len(scale) > 1:
        scale = scale[list(a["out_channels"])]
    if len(scale) > 1:
        shape[0] = -1
    scale = scale.reshape(shape)
    grad = grad.astype(np.float64)
    delta = a["lr"] * (grad / scale if a["qas"] else grad * scale)
    idx = [np.arange(d) for d in w.shape]
    if a["out_channels"]:
        idx[0] = np.asarray(a["out_channels"])
    if a["in_channels"] and w.ndim > 1:
        idx[-1] = np.asarray(a["in_channels"])
    sel = np.ix_(*idx)
    if a["rounding"] == "stochastic":
        assert step is not None, "stochastic rounding needs the step counter input"
        u = uniform_hash(int(a["seed"]), int(np.asarray(step).reshape(-1)[0]), delta.shape)
        steps = np.floor(delta + u)
    else:
        steps = tflite_round(delta)
    out = w.astype(np.int64)
    out[sel] = np.clip(out[sel] - steps.astype(np.int64), lo, hi)
    return out.astype(w.dtype)


def uniform_hash(seed: int, step: int, shape: tuple[int, ...]) -> np.ndarray:
    """Counter-based uniform numbers in [0, 1): a 32-bit integer hash of (seed, step, index).

    Stateless, so the C kernels reproduce it exactly without storing a generator.
    """
    idx = np.arange(int(np.prod(shape)), dtype=np.uint64)
    x = (idx * np.uint64(0x9E3779B1) + np.uint64((step * 0x85EBCA77 + seed) & 0xFFFFFFFF)) & np.uint64(0xFFFFFFFF)
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x7FEB352D)) & np.uint64(0xFFFFFFFF)
    x ^= x >> np.uint64(15)
    x = (x * np.uint64(0x846CA68B)) & np.uint64(0xFFFFFFFF)
    x ^= x >> np.uint64(16)
    return (x.astype(np.float64) / 2.0 ** 32).reshape(shape)


# ---- fused gradient + update ---------------------------------------------------------

def _update(c: KernelCtx, w: np.ndarray, grad: np.ndarray, step: np.ndarray | None) -> np.ndarray:
    t = c.inputs[0]
    if w.dtype == np.int8:
        return qas_update(w, grad, t, c.attrs, step, -127, 127)
    if w.dtype == np.int32:
        return qas_update(w, grad, t, c.attrs, step, -(2 ** 31), 2 ** 31 - 1)
    return sgd_update(w, grad, c.attrs)


def _step_of(v: list[Any], i: int) -> np.ndarray | None:
    return v[i] if len(v) > i else None


def _conv2d_weight_update(c: KernelCtx, v: list[Any]) -> list[np.ndarray]:
    grad = conv2d_grad_weight(_real(c.inputs[1], v[1]), v[2], c.attrs)
    return [_update(c, v[0], grad, _step_of(v, 3))]


def _fc_weight_update(c: KernelCtx, v: list[Any]) -> list[np.ndarray]:
    x = _real(c.inputs[1], v[1])
    grad = _select(v[2].reshape(-1, v[2].shape[-1]).T @ x.reshape(-1, x.shape[-1]),
                   c.attrs["out_channels"], c.attrs["in_channels"])
    return [_update(c, v[0], grad, _step_of(v, 3))]


def _bias_update(c: KernelCtx, v: list[Any]) -> list[np.ndarray]:
    grad = _select(v[1].reshape(-1, v[1].shape[-1]).sum(axis=0), c.attrs["out_channels"])
    return [_update(c, v[0], grad, _step_of(v, 2))]


for _dtype in ("float32", "int8", "int32"):
    register("conv2d_weight_update", _dtype)(_conv2d_weight_update)
    register("fc_weight_update", _dtype)(_fc_weight_update)
    register("bias_update", _dtype)(_bias_update)
