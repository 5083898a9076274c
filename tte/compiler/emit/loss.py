"""Losses and their gradients: softmax cross-entropy, MSE (csrc/include/tte/loss.h)."""

from __future__ import annotations

from tte.compiler.emit.common import Emitted, Ref, _emitter, _need_dtype, _t
from tte.ir import Graph, Node


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
