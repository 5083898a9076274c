"""Fused forward (tte.compiler.fuse): a streamed inverted-residual block, expand -> depthwise ->
project (-> add), the unfused ops' parameters in one streaming kernel (csrc/include/tte/block.h)."""

from __future__ import annotations

from tte.compiler.emit.common import Emitted, Ref, _chain_graph, _emitter, _err, _t, _unsupported, split_ref
from tte.compiler.emit.conv import emit_conv2d
from tte.compiler.emit.elementwise import emit_add
from tte.ir import FusedChain, Graph, Node

BLOCK_MAX_KH = 16  # TTE_BLOCK_MAX_KH in csrc/src/block_s8.c


def _block_parts(node: Node) -> tuple[Node | None, Node, Node, Node | None, FusedChain]:
    chain = node.attrs.get("chain")
    if not isinstance(chain, FusedChain):
        raise _err(node, "no fused chain")
    nodes = list(chain.nodes)
    add = nodes.pop() if nodes[-1].op == "add" else None
    expand = nodes.pop(0) if len(nodes) == 3 else None
    if len(nodes) != 2:
        raise _err(node, f"unexpected chain {chain}")
    return expand, nodes[0], nodes[1], add, chain


def block_scratch_bytes(node: Node, g: Graph) -> int:
    """tte_block_s8_scratch_bytes: ring of E's output rows + one pixel of D (+ one of P)."""
    expand, dw, project, add, chain = _block_parts(node)
    view = _chain_graph(g, chain)
    x, d = _t(view, dw.inputs[0]), _t(view, dw.outputs[0])
    kh, dh = _t(view, dw.inputs[1]).shape[1], int(dw.attrs["dilations"][0])
    n = d.shape[-1]
    if expand is not None:
        n += ((kh - 1) * dh + 1) * x.shape[2] * x.shape[3]
    if add is not None:
        n += _t(view, project.outputs[0]).shape[-1]
    return n


@_emitter("streamed_block")
def emit_streamed_block(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    expand, dw, project, add, chain = _block_parts(node)
    view = _chain_graph(g, chain)
    if _t(view, dw.inputs[1]).shape[1] > BLOCK_MAX_KH:
        raise _unsupported(node, f"depthwise kernel height above {BLOCK_MAX_KH}")
    inner = {t.name for t in chain.intermediates}

    def sub_ref(t: str) -> str:
        return "NULL" if t in inner or t == chain.output.name else ref(t)

    out = Emitted()
    names = {}
    for key, n in (("e", expand), ("d", dw), ("p", project)):
        if n is not None:
            out.decls += emit_conv2d(n, view, sub_ref, f"{prefix}_{key}").decls
            names[key] = f"&{prefix}_{key}_params"
    residual_first = 0
    if add is not None:
        out.decls += emit_add(add, view, sub_ref, f"{prefix}_a").decls
        names["a"] = f"&{prefix}_a_params"
        residual_first = int(add.inputs[0] == chain.nodes[0].inputs[0])
    out.decls.append(f"static const tte_block_s8_params_t {prefix}_params = {{{names.get('e', 'NULL')}, "
                     f"{names['d']}, {names['p']}, {names.get('a', 'NULL')}, {residual_first}}};")
    args = [ref(i) if i else "NULL" for i in node.inputs]
    kernel = "tte_block_s8"
    sw = split_ref(ref, node.inputs[1]) if expand is not None and node.inputs[1] else None
    if sw is not None:
        args[1], kernel = sw, "tte_block_s8_split"
    out.call.append(f"{kernel}(&{prefix}_params, {', '.join(args)}, {ref(node.outputs[0])}, "
                    f"(int8_t *){ref(node.name + '@scratch')});")
    return out
