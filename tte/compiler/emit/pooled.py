"""pooled_update (tte.compiler.pooled): bias and weight updates and a 1x1 conv's input
gradient reading a global average pool's masked gradient lazily (csrc/include/tte/pooled_update.h)."""

from __future__ import annotations

import math

from tte.compiler.emit.common import Emitted, Ref, _emitter, _geom_init, _t, f32
from tte.compiler.emit.grad import _weight_view
from tte.compiler.emit.update import _act_args, _in_place, _step_arg, _update_params
from tte.ir import FusedChain, Graph, Node


@_emitter("pooled_update")
def emit_pooled_update(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    chain = node.attrs["chain"]
    assert isinstance(chain, FusedChain)
    grad = chain.intermediates[-1]              # G: its shape, never its storage
    by_op = {n.op: n for n in chain.nodes}
    dyp = ref(node.inputs[0])
    mask = ref(node.inputs[1]) if node.inputs[1] else "NULL"     # none: G is the pool's gradient
    count = f32(float(node.attrs["count"]))
    decls: list[str] = []
    calls: list[str] = []
    outs = dict(zip(node.attrs["roles"], node.outputs))
    gx = by_op.get("conv2d_grad_input")
    if gx is not None:     # first: it reads the weight before the update
        w = _t(g, node.inputs[6])
        d, wq, wf, scale = _weight_view(gx, g, w, f"{prefix}_gx", w.shape[0])
        wq, wf = (ref(w.name) if v == "w" else v for v in (wq, wf))
        dx = _t(g, outs["dx"])
        geom = _geom_init(gx, g, dx.shape, grad.shape, w.shape)
        decls += [*d, f"static const tte_conv2d_geom_t {prefix}_gx_geom = {geom};"]
        calls.append(f"tte_pooled_pointwise_grad_input_f32(&{prefix}_gx_geom, {wq}, {wf}, {scale}, {dyp}, {count}, "
                     f"{mask}, {ref(dx.name)});")
    b = by_op.get("bias_update")
    if b is not None:
        bt = _t(g, b.inputs[0])
        d, _ = _update_params(b, bt, f"{prefix}_b", bt.shape[0], 1, ref, has_in=False)
        decls += d
        pre, bp = _in_place(Node(b.name, b.op, b.inputs, [outs["b"]], b.attrs), g, ref)
        rows = int(math.prod(grad.shape[:-1]))
        calls += [*pre, f"tte_pooled_bias_update_s32({rows}, {grad.shape[-1]}, &{prefix}_b_u, {bp}, {dyp}, {count}, "
                        f"{mask}, {_step_arg(b, ref, 2)});"]
    u = by_op.get("conv2d_weight_update")
    if u is not None:
        w, x = _t(g, u.inputs[0]), _t(g, u.inputs[1])
        d, _ = _update_params(u, w, f"{prefix}_w", w.shape[0], w.shape[3], ref)
        decls += d
        geom = _geom_init(u, g, x.shape, grad.shape, w.shape)
        decls.append(f"static const tte_conv2d_geom_t {prefix}_geom = {geom};")
        pre, wp = _in_place(Node(u.name, u.op, u.inputs, [outs["w"]], u.attrs), g, ref)
        calls += [*pre, f"tte_pooled_conv2d_weight_update_s8(&{prefix}_geom, &{prefix}_w_u, {wp}, "
                        f"{_act_args(u, g, ref, x.name)}, {dyp}, {count}, {mask}, {_step_arg(u, ref, 3)});"]
    return Emitted(decls, calls)
