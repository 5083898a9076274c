"""Reference kernels of fused ops: they run the original nodes' int8 kernels in sequence,
so a fused op gives the same bytes as the unfused nodes by construction.

``streamed_block``, ``streamed_pair`` (its chain: two streamed_blocks), ``dwpw_backward`` (built by
``tte.compiler.fuse``) and ``pooled_update``
(``tte.compiler.pooled``) carry their original nodes
in ``attrs["chain"]``; whole intermediate tensors exist here (numpy), only the C kernels
stream them (row by row, channel by channel).
"""

from __future__ import annotations

import numpy as np

from tte.errors import GraphError
from tte.ir import FusedChain, Tensor
from tte.reference.registry import KERNELS, KernelCtx, register


@register("streamed_pair", "int8")
@register("streamed_block", "int8")
def streamed_block(ctx: KernelCtx, values: list[np.ndarray | None]) -> list[np.ndarray]:
    chain = ctx.attrs["chain"]
    if not isinstance(chain, FusedChain):
        raise GraphError("streamed_block without its chain", node=ctx.node.name)
    descr: dict[str, Tensor] = {t.name: t for t in ctx.inputs if t is not None}
    descr.update({t.name: t for t in chain.intermediates})
    descr[chain.output.name] = chain.output
    vals: dict[str, np.ndarray] = {t.name: v for t, v in zip(ctx.inputs, values) if t is not None and v is not None}
    for node in chain.nodes:
        kernel = KERNELS[(node.op, descr[node.inputs[0]].dtype)]
        sub = KernelCtx(node, [descr[i] if i else None for i in node.inputs], [descr[o] for o in node.outputs])
        outs = kernel(sub, [vals[i] if i else None for i in node.inputs])
        vals.update(zip(node.outputs, outs))
    return [vals[chain.output.name]]


@register("pooled_update", "float32")
@register("dwpw_backward", "float32")
def dwpw_backward(ctx: KernelCtx, values: list[np.ndarray | None]) -> list[np.ndarray]:
    chain = ctx.attrs["chain"]
    if not isinstance(chain, FusedChain):
        raise GraphError("dwpw_backward without its chain", node=ctx.node.name)
    descr: dict[str, Tensor] = {t.name: t for t in ctx.inputs if t is not None}
    descr.update({t.name: t for t in chain.intermediates})
    descr.update({t.name: t for t in ctx.outputs})
    vals: dict[str, np.ndarray] = {t.name: v for t, v in zip(ctx.inputs, values) if t is not None and v is not None}
    for node in chain.nodes:
        kernel = KERNELS[(node.op, descr[node.inputs[0]].dtype)]
        sub = KernelCtx(node, [descr[i] if i else None for i in node.inputs], [descr[o] for o in node.outputs])
        outs = kernel(sub, [vals[i] if i else None for i in node.inputs])
        vals.update(zip(node.outputs, outs))
    return [vals[o] for o in ctx.node.outputs]
