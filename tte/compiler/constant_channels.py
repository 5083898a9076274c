"""Constant channels: output channels of an inference-only graph's convolutions that hold the same
byte for every input, proven from the weights, the biases and the ranges the ops can produce, and
taken out of the computation.

A ReLU network trained to its end often has channels whose bias outweighs all its weights can add,
so the channel is the ReLU's floor for every input. In MLPerf Tiny's VWW model a third of the
multiply-accumulates make such channels. Per channel, interval arithmetic bounds the accumulator
over every input the previous op can produce. The requantization (the reference's own integer
arithmetic) is monotone in the accumulator, so where both bounds give one byte, so does every
input. Such a channel is dropped from the 1x1 conv that reads it (its constant folded into that
conv's bias), from a depthwise conv that carries it (dropping it there leaves the channel of the
conv before unread, so that conv drops it too) and from the conv that makes it. Every output byte
stays the same for every input. Each tensor keeps a multiple of 8 channels (the kernels' fast
paths), so a few constant channels may stay.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tte.ir import Graph, Node, QuantParams
from tte.numerics import fixedpoint as fp
from tte.reference.int8_ops import _channel_multipliers

CHANNEL_MULTIPLE = 8
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


@dataclass
class Dropped:
    """What drop_constant_channels took out: per chain (its 1x1 reader's name) the channels, and
    the multiply-accumulates of one inference no longer done."""

    channels: dict[str, int] = field(default_factory=dict)
    macs: int = 0

    def report(self) -> dict[str, object]:
        return {"chains": len(self.channels), "channels": sum(self.channels.values()), "macs": self.macs}


def _is_conv(g: Graph, n: Node) -> bool:
    """An int8 conv2d with constant int8 weights of zero point 0 and a constant bias (or none)."""
    if n.op != "conv2d" or len(n.inputs) < 2:
        return False
    x, w = g.tensors[n.inputs[0]], g.tensors[n.inputs[1]]
    b = g.tensors[n.inputs[2]] if len(n.inputs) > 2 and n.inputs[2] else None
    return (x.dtype == "int8" and w.dtype == "int8" and w.data is not None and w.quant is not None
            and not np.any(w.quant.zero_point) and (b is None or b.data is not None)
            and g.tensors[n.outputs[0]].quant is not None)


def _conv_range(g: Graph, n: Node, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per output channel, the least and greatest byte conv n gives for inputs whose channel c
    lies in [lo[c], hi[c]] (a tap in the padding adds 0)."""
    x, w_t, y = g.tensors[n.inputs[0]], g.tensors[n.inputs[1]], g.tensors[n.outputs[0]]
    assert x.quant is not None and y.quant is not None and w_t.data is not None
    w = w_t.data.astype(np.int64)
    co, kh, kw, cig = w.shape
    groups = int(n.attrs["groups"])
    zin = int(x.quant.zero_point[0])
    # input channel of weight [o, :, :, j]: group of o times cig, plus j
    chan = (np.arange(co) // (co // groups))[:, None] * cig + np.arange(cig)[None, :]
    dl, dh = (lo - zin)[chan][:, None, None, :], (hi - zin)[chan][:, None, None, :]
    a, b = w * dl, w * dh
    low, high = np.minimum(a, b), np.maximum(a, b)
    if any(int(p) for p in n.attrs["pads"]):
        low, high = np.minimum(low, 0), np.maximum(high, 0)
    bias = (g.tensors[n.inputs[2]].data.astype(np.int64) if len(n.inputs) > 2 and n.inputs[2]
            else np.zeros(co, np.int64))
    acc_lo, acc_hi = bias + low.reshape(co, -1).sum(1), bias + high.reshape(co, -1).sum(1)
    s_in, s_out, zout = float(x.quant.scale[0]), float(y.quant.scale[0]), int(y.quant.zero_point[0])
    mult, shift = _channel_multipliers(s_in, w_t, s_out, co)
    amin, amax = fp.activation_range_int8(n.attrs.get("activation", "none"), s_out, zout)
    out = [np.clip(fp.multiply_by_quantized_multiplier(acc, mult, shift) + zout, amin, amax)
           for acc in (acc_lo, acc_hi)]
    return out[0], out[1]


def channel_ranges(g: Graph) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per int8 activation tensor, the least and greatest byte of each channel (last axis) over
    every input: the convs' from their inputs' (_conv_range), every other op's all of int8."""
    r: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def full(name: str) -> tuple[np.ndarray, np.ndarray]:
        c = g.tensors[name].shape[-1]
        return np.full(c, -128, np.int64), np.full(c, 127, np.int64)

    for name in g.inputs:
        r[name] = full(name)
    for n in g.nodes:
        if _is_conv(g, n) and n.inputs[0] in r:
            r[n.outputs[0]] = _conv_range(g, n, *r[n.inputs[0]])
        else:
            for o in n.outputs:
                if g.tensors[o].dtype == "int8":
                    r[o] = full(o)
    return r


def _only_reader(g: Graph, t: str) -> Node | None:
    readers = g.consumers(t)
    return readers[0] if len(readers) == 1 and t not in g.outputs else None


def _is_depthwise(g: Graph, n: Node) -> bool:
    if not _is_conv(g, n):
        return False
    c = g.tensors[n.inputs[0]].shape[-1]
    return int(n.attrs["groups"]) == c == g.tensors[n.outputs[0]].shape[-1]


def _is_pointwise(g: Graph, n: Node) -> bool:
    if not _is_conv(g, n):
        return False
    w = g.tensors[n.inputs[1]].shape
    return int(n.attrs["groups"]) == 1 and w[1] == w[2] == 1 and not any(int(p) for p in n.attrs["pads"])


def _own_constants(g: Graph, n: Node) -> bool:
    """Whether n's weight and bias are read by n alone (so that changing them changes nothing else)."""
    return all(len(g.consumers(t)) == 1 for t in n.inputs[1:3] if t)


@dataclass
class _Chain:
    """Producer P (-> depthwise D) -> 1x1 Q: the tensor Q reads (D's output, else P's) and P's."""

    p: Node
    d: Node | None
    q: Node


def _chains(g: Graph) -> list[_Chain]:
    out = []
    for p in g.nodes:
        if not (_is_conv(g, p) and int(p.attrs["groups"]) == 1 and _own_constants(g, p)):
            continue
        nxt = _only_reader(g, p.outputs[0])
        d = None
        if nxt is not None and _is_depthwise(g, nxt) and _own_constants(g, nxt):
            d, nxt = nxt, _only_reader(g, nxt.outputs[0])
        if nxt is not None and _is_pointwise(g, nxt) and _own_constants(g, nxt):
            out.append(_Chain(p, d, nxt))
    return out


def _kept(constant: np.ndarray, multiple: int) -> np.ndarray:
    """The channels to keep: all but the constant ones, less as many of those as leave a multiple
    of ``multiple`` (at least ``multiple``, or all where fewer)."""
    c = constant.size
    drop = np.flatnonzero(constant)
    keep_n = max(c - drop.size, min(multiple, c))
    keep_n = -(-keep_n // multiple) * multiple if keep_n < c else c
    n_drop = c - min(keep_n, c)
    dropped = set(drop[:n_drop].tolist())
    return np.array([i for i in range(c) if i not in dropped], np.int64)


def _slice_out(g: Graph, n: Node, keep: np.ndarray) -> None:
    """Conv n keeps output channels ``keep`` (weights, bias, per-channel scales, output shape)."""
    w = g.tensors[n.inputs[1]]
    assert w.data is not None and w.quant is not None
    w.data, w.shape = w.data[keep], (keep.size,) + w.shape[1:]
    if w.quant.per_channel:
        w.quant = QuantParams(w.quant.scale[keep], w.quant.zero_point[keep], 0)
    if len(n.inputs) > 2 and n.inputs[2]:
        b = g.tensors[n.inputs[2]]
        assert b.data is not None
        b.data, b.shape = b.data[keep], (keep.size,)
        if b.quant is not None and b.quant.per_channel:
            b.quant = QuantParams(b.quant.scale[keep], b.quant.zero_point[keep], 0)
    y = g.tensors[n.outputs[0]]
    y.shape = y.shape[:-1] + (keep.size,)


def _fold_into(g: Graph, q: Node, keep: np.ndarray, value: np.ndarray) -> bool:
    """1x1 conv q reads only input channels ``keep``, the others' constant bytes ``value`` folded
    into its bias; False (nothing changed) where the bias would leave int32."""
    x, w = g.tensors[q.inputs[0]], g.tensors[q.inputs[1]]
    assert x.quant is not None and w.data is not None and w.quant is not None
    gone = np.setdiff1d(np.arange(w.shape[3]), keep)
    wd = w.data.astype(np.int64).reshape(w.shape[0], -1)
    extra = wd[:, gone] @ (value[gone] - int(x.quant.zero_point[0]))
    if len(q.inputs) > 2 and q.inputs[2]:
        b = g.tensors[q.inputs[2]]
        assert b.data is not None
        bias = b.data.astype(np.int64) + extra
    else:
        bias = extra
    if bias.min(initial=0) < INT32_MIN or bias.max(initial=0) > INT32_MAX:
        return False
    if len(q.inputs) > 2 and q.inputs[2]:
        b.data = bias.astype(np.int32)
    else:
        scale = (np.float64(x.quant.scale[0]) * w.quant.scale.astype(np.float64)).astype(np.float32)
        name = g.unique_name(f"{q.name}@folded_bias")
        g.add_const(name, bias.astype(np.int32), "int32",
                    QuantParams(scale, np.zeros(scale.size, np.int64), 0 if scale.size > 1 else None))
        q.inputs = [*q.inputs[:2], name]
    w.data = w.data[:, :, :, keep]
    w.shape = w.shape[:3] + (keep.size,)
    return True


def drop_constant_channels(graph: Graph, multiple: int = CHANNEL_MULTIPLE) -> tuple[Graph, Dropped]:
    """A copy of ``graph`` without its constant channels where a 1x1 conv reads them (module
    docstring), and what was dropped. The graph's outputs are never narrowed."""
    g = graph.copy()
    done = Dropped()
    for ch in _chains(g):
        ranges = channel_ranges(g)
        t = (ch.d or ch.p).outputs[0]
        lo, hi = ranges[t]
        keep = _kept(lo == hi, multiple)
        if keep.size == lo.size:
            continue
        before = _macs(g, ch)
        if not _fold_into(g, ch.q, keep, lo):
            continue
        _slice_out(g, ch.p, keep)
        if ch.d is not None:
            _slice_out(g, ch.d, keep)
            ch.d.attrs["groups"] = int(keep.size)
        done.channels[ch.q.name] = int(lo.size - keep.size)
        done.macs += before - _macs(g, ch)
    g.validate()
    return g, done


def _macs(g: Graph, ch: _Chain) -> int:
    total = 0
    for n in (ch.p, ch.d, ch.q):
        if n is not None:
            co, kh, kw, cig = g.tensors[n.inputs[1]].shape
            oh, ow = g.tensors[n.outputs[0]].shape[1:3]
            total += int(g.tensors[n.outputs[0]].shape[0]) * oh * ow * co * kh * kw * cig
    return total
