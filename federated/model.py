"""The model as the server and the devices see it: float master parameters on the server,
int8 graphs (TFLite conventions, tte.numerics.quantize) on the devices, and the bytes in between.

Wire format. A message is a flat ``dict[str, np.ndarray]``; its size is the sum of the
arrays' ``nbytes`` (what a device would put on the radio, framing excluded):

* down (server -> device): ``q/<param>`` int8 weights or int32 biases, ``s/<tensor>``
  float32 scales and ``z/<tensor>`` int8 zero points of every quantized tensor the device
  needs (weights it receives and every activation, whose ranges the server recalibrates
  each round on unlabelled public inputs).
* up (device -> server): the trained parameters in the device's own format, either whole
  (``q/<param>``) or top-P% sparse (``i/<param>`` indices or ``m/<param>`` a packed bitmap,
  whichever is smaller, plus ``v/<param>`` the new values). Scales do not change during
  on-device training (QAS keeps them fixed), so they are not sent back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

import tte
from tte.errors import TteError
from tte.ir import Graph, QuantParams
from tte.numerics.quantize import asymmetric_params
from tte.reference.boundary import dequantize_array, quantize_array

Params = dict[str, np.ndarray]
Message = dict[str, np.ndarray]


@dataclass
class ModelSpec:
    """What is flashed on every device: the architecture, its initial weights, and how the
    server quantizes it (public calibration inputs, a fixed output range)."""

    graph: Graph                       # float graph with the initial parameters
    calibration: np.ndarray            # unlabelled inputs in the graph's layout
    output_range: tuple[float, float]  # the int8 output covers this (labels or logits)
    head: list[str] = field(default_factory=list)  # parameters of the last layer

    @property
    def param_names(self) -> list[str]:
        names = []
        for node in self.graph.nodes:
            if node.op in ("conv2d", "fully_connected"):
                names += [n for n in node.inputs[1:3] if n]
        return names

    def initial_params(self) -> Params:
        return {n: np.array(self.graph.tensors[n].data, np.float32) for n in self.param_names}

    def float_graph(self, params: Mapping[str, np.ndarray]) -> Graph:
        g = self.graph.copy()
        for name, value in params.items():
            t = g.tensors[name]
            if value.shape != t.shape:
                raise TteError(f"parameter '{name}' has shape {value.shape}, the model wants {t.shape}")
            t.data = np.asarray(value, np.float32)
        return g

    weight_headroom: float = 0.75      # the largest weight maps to 0.75 * 127, not 127
    activation_margin: float = 1.25    # calibrated activation ranges widened by this factor

    def device_graph(self, params: Mapping[str, np.ndarray]) -> Graph:
        """The int8 graph a device trains: PTQ on the calibration inputs, output range fixed,
        and headroom for training.

        Why headroom: PTQ maps each tensor's largest weight to +-127, so on-device training
        can never make it larger (int8 saturates) while it can always make it smaller. Over
        many federated rounds of quantize -> train -> average, that one-sided clipping
        shrinks the largest weights round after round (measured: Reptile on sine got worse
        than no meta-learning). Mapping the largest weight to ``weight_headroom * 127`` and
        widening activation ranges by ``activation_margin`` leaves room to grow.
        """
        f = self.float_graph(params)
        q = tte.quantize(f, calibration=self.calibration)
        for name, t in q.tensors.items():
            if t.dtype == "int8" and not t.is_const and t.quant is not None and name not in q.outputs:
                s, zp = float(t.quant.scale[0]), int(t.quant.zero_point[0])
                lo, hi = s * (-128 - zp), s * (127 - zp)
                t.quant = asymmetric_params(lo * self.activation_margin, hi * self.activation_margin)
        q.tensors[q.outputs[0]].quant = asymmetric_params(*self.output_range)
        for node in q.nodes:
            if node.op not in ("conv2d", "fully_connected"):
                continue
            x, w = q.tensors[node.inputs[0]], q.tensors[node.inputs[1]]
            real = np.asarray(f.tensors[w.name].data, np.float32)
            assert w.quant is not None and x.quant is not None
            axis = w.quant.axis
            amax = (np.abs(real).max(keepdims=True).reshape(1) if axis is None
                    else np.abs(np.moveaxis(real, axis, 0)).reshape(real.shape[axis], -1).max(axis=1))
            scale = np.where(amax > 0, amax / (127.0 * self.weight_headroom), 1.0).astype(np.float32)
            wq = QuantParams(scale, np.zeros(len(scale), np.int64), axis)
            w.data = quantize_array(real, wq)
            w.quant = wq
            if len(node.inputs) > 2 and node.inputs[2]:
                b = q.tensors[node.inputs[2]]
                bscale = (x.quant.scale.astype(np.float64) * scale.astype(np.float64)).astype(np.float32)
                bq = QuantParams(bscale, np.zeros(len(bscale), np.int64), axis)
                b.data = quantize_array(np.asarray(f.tensors[b.name].data, np.float32), bq, np.int32)
                b.quant = bq
        return q


def param_bytes(graph: Graph, names: Iterable[str]) -> int:
    return sum(graph.tensors[n].nbytes for n in names)


def real_params(graph: Graph, names: Iterable[str]) -> Params:
    """Float values of (int8/int32 or float) parameters."""
    out: Params = {}
    for n in names:
        t = graph.tensors[n]
        assert t.data is not None
        out[n] = (dequantize_array(t.data, t.quant) if t.quant is not None else t.data).astype(np.float32)
    return out


# ---- down --------------------------------------------------------------------------


def encode_down(q: Graph, send: Iterable[str]) -> Message:
    """Weights in ``send`` and every quantization parameter the device must update."""
    send = list(send)
    msg: Message = {}
    for n in send:
        t = q.tensors[n]
        assert t.data is not None
        msg[f"q/{n}"] = t.data
    for name, t in q.tensors.items():
        if t.quant is None or (t.is_const and name not in send):
            continue
        msg[f"s/{name}"] = t.quant.scale.astype(np.float32)
        if t.dtype == "int8" and not t.is_const:
            msg[f"z/{name}"] = t.quant.zero_point.astype(np.int8)
    return msg


def apply_down(template: Graph, msg: Mapping[str, np.ndarray]) -> Graph:
    """The device side: its int8 firmware graph with the received weights and quant params."""
    g = template.copy()
    for key, arr in msg.items():
        kind, _, name = key.partition("/")
        if name not in g.tensors:
            raise TteError(f"message names tensor '{name}', which the device model does not have")
        t = g.tensors[name]
        if kind == "q":
            if arr.shape != t.shape or str(arr.dtype) != t.dtype:
                raise TteError(f"'{name}': got {arr.dtype}{list(arr.shape)}, want {t.dtype}{list(t.shape)}")
            t.data = np.array(arr)
        elif kind == "s":
            assert t.quant is not None
            zp = msg.get(f"z/{name}")
            zero = t.quant.zero_point if zp is None else np.asarray(zp, np.int64)
            t.quant = QuantParams(np.asarray(arr, np.float32), zero, t.quant.axis)
    # biases' scales follow from their layer's input and weight scales (s_b = s_x * s_w)
    for node in g.nodes:
        if node.op in ("conv2d", "fully_connected") and len(node.inputs) > 2 and node.inputs[2]:
            x, w, b = (g.tensors[i] for i in node.inputs[:3])
            if x.quant is not None and w.quant is not None and b.quant is not None:
                s = (x.quant.scale.astype(np.float64) * w.quant.scale.astype(np.float64)).astype(np.float32)
                b.quant = QuantParams(s, np.zeros(len(s), np.int64), w.quant.axis)
    return g


# ---- up ----------------------------------------------------------------------------


def encode_up(sent: Graph, trained: Graph, names: list[str], top_p: float | None) -> Message:
    """The trained parameters, whole or only the top-P% largest real-valued changes."""
    msg: Message = {}
    if top_p is None:
        for n in names:
            data = trained.tensors[n].data
            assert data is not None
            msg[f"q/{n}"] = data
        return msg
    before, after = real_params(sent, names), real_params(trained, names)
    delta = np.concatenate([np.abs(after[n] - before[n]).ravel() for n in names])
    k = int(np.ceil(top_p * delta.size))
    if k <= 0:
        return msg
    # the k-th largest magnitude; ties broken by position so the choice is deterministic
    order = np.argsort(-delta, kind="stable")[:k]
    chosen = np.zeros(delta.size, bool)
    chosen[order] = True
    chosen &= delta > 0
    start = 0
    for n in names:
        size = before[n].size
        mask = chosen[start:start + size]
        start += size
        if not mask.any():
            continue
        idx = np.flatnonzero(mask)
        data = trained.tensors[n].data
        assert data is not None
        msg[f"v/{n}"] = data.ravel()[idx]
        idx_dtype = np.uint16 if size <= 1 << 16 else np.uint32
        bitmap = np.packbits(mask)
        if bitmap.nbytes < idx.size * np.dtype(idx_dtype).itemsize:
            msg[f"m/{n}"] = bitmap
        else:
            msg[f"i/{n}"] = idx.astype(idx_dtype)
    return msg


class MalformedUpdate(ValueError):
    """A device's reply that does not decode into finite parameters of the right shape."""


def decode_up(sent: Graph, msg: Mapping[str, np.ndarray], names: list[str]) -> Params:
    """Server side: float values of the trained parameters (unsent entries unchanged)."""
    allowed = {f"{k}/{n}" for n in names for k in "qimv"}
    extra = sorted(set(msg) - allowed)
    if extra:
        raise MalformedUpdate(f"unexpected entries {extra[:3]}")
    out: Params = {}
    for n in names:
        t = sent.tensors[n]
        assert t.data is not None
        data = np.array(t.data)
        if f"q/{n}" in msg:
            arr = np.asarray(msg[f"q/{n}"])
            if arr.shape != t.shape:
                raise MalformedUpdate(f"'{n}' has shape {arr.shape}, want {t.shape}")
            data = _as_device_dtype(arr, t.dtype, n)
        elif f"v/{n}" in msg:
            vals = np.asarray(msg[f"v/{n}"]).ravel()
            if f"m/{n}" in msg:
                bits = np.asarray(msg[f"m/{n}"])
                if bits.dtype != np.uint8 or bits.size != (t.size + 7) // 8:
                    raise MalformedUpdate(f"'{n}': bitmap of {bits.size} bytes for {t.size} entries")
                idx = np.flatnonzero(np.unpackbits(bits)[:t.size])
            elif f"i/{n}" in msg:
                idx = np.asarray(msg[f"i/{n}"]).astype(np.int64).ravel()
            else:
                raise MalformedUpdate(f"'{n}': values without positions")
            if idx.size != vals.size or (idx.size and (idx.min() < 0 or idx.max() >= t.size)):
                raise MalformedUpdate(f"'{n}': {vals.size} values for {idx.size} positions in {t.size}")
            flat = data.ravel()
            flat[idx] = _as_device_dtype(vals, t.dtype, n)
            data = flat.reshape(t.shape)
        real = dequantize_array(data, t.quant) if t.quant is not None else data
        real = np.asarray(real, np.float32)
        if not np.all(np.isfinite(real)):
            raise MalformedUpdate(f"'{n}' has non-finite values")
        out[n] = real
    return out


def _as_device_dtype(arr: np.ndarray, dtype: str, name: str) -> np.ndarray:
    if str(arr.dtype) == dtype:
        return arr
    if np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr)):
        raise MalformedUpdate(f"'{name}' has non-finite values")
    raise MalformedUpdate(f"'{name}' is {arr.dtype}, the device format is {dtype}")


def message_bytes(msg: Mapping[str, np.ndarray]) -> int:
    return int(sum(np.asarray(a).nbytes for a in msg.values()))
