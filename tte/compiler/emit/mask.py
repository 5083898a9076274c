"""Activation masks: bit-packed from the forward, applied to the gradient (csrc/include/tte/mask.h)."""

from __future__ import annotations

from tte.compiler.emit.common import Emitted, Ref, _emitter, _need_dtype, _sz, _t
from tte.ir import Graph, Node
from tte.numerics import fixedpoint as fp


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
