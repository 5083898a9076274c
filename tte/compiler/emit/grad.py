"""Float input gradients of conv and fully connected layers (csrc/include/tte/grad.h)."""

from __future__ import annotations

import math

import numpy as np

from tte.compiler.emit.common import (
    Emitted,
    Ref,
    _array,
    _emitter,
    _err,
    _geom_init,
    _need_dtype,
    _q,
    _t,
    _unsupported,
    _weight_zero_points_zero,
)
from tte.compiler.schedule import depthwise_grad_in_place, pointwise_grad_in_place
from tte.ir import Graph, Node, Tensor


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
    if depthwise_grad_in_place(node, g):
        return 4 * dy.shape[1] * dy.shape[2]
    # the 1x1 conv's one-pixel buffer: the planner counts it only where the node runs in place
    return 4 * dy.shape[3] if pointwise_grad_in_place(node, g) else 0


@_emitter("conv2d_grad_input")
def emit_conv2d_grad_input(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    _need_dtype(node, g, ("float32",))
    dy, w, dx = _t(g, node.inputs[0]), _t(g, node.inputs[1]), _t(g, node.outputs[0])
    decls, wq, wf, scale = _weight_view(node, g, w, prefix, w.shape[0])
    wq, wf = (ref(w.name) if v == "w" else v for v in (wq, wf))
    decls.append(f"static const tte_conv2d_geom_t {prefix}_geom = "
                 f"{_geom_init(node, g, dx.shape, dy.shape, w.shape)};")
    if ref(dx.name) == ref(dy.name):
        if depthwise_grad_in_place(node, g):
            kernel = "tte_depthwise_grad_input_inplace_f32"
        elif pointwise_grad_in_place(node, g):
            kernel = "tte_pointwise_grad_input_inplace_f32"
        else:
            raise _err(node, "input gradient in place of dy, but neither a same-size depthwise nor a 1x1 conv")
        return Emitted(decls, [f"{kernel}(&{prefix}_geom, {ref(dy.name)}, {wq}, "
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
