"""Updates that read a global average pool's gradient through an activation mask lazily.

Below a global average pool the backward pass makes G = mask_grad(avgpool2d_grad(dyp), mask):
one float per element of the pooled activation, although it holds only one value per channel
(dyp / count) where the mask lets it through. When G's only readers are the bias update, the
weight update and (a 1x1 conv's) input gradient of the layer under the pool, these nodes
become one ``pooled_update``
(the original nodes in ``attrs["chain"]``) whose C kernels (tte/pooled_update.h) compute each
element of G where they read it: G is never stored. Sums keep the unfused kernels' order, so
every bit stays; the reference runs the original nodes.
"""

from __future__ import annotations

from tte.compiler.fuse import replace_groups
from tte.compiler.schedule import ScheduledGraph, pointwise_grad_in_place
from tte.ir import FusedChain, Graph, Node

POOLED_OP = "pooled_update"


def global_pool_count(n: Node, g: Graph) -> int | None:
    """H * W when ``n`` is the gradient of an average pool over the whole H x W image (every
    element receives 0 + dy[c] / (H * W)), else None."""
    if n.op != "avgpool2d_grad":
        return None
    dy, dx = g.tensors[n.inputs[0]], g.tensors[n.outputs[0]]
    a = n.attrs
    if (len(dx.shape) != 4 or dy.shape != (dx.shape[0], 1, 1, dx.shape[3]) or dy.dtype != "float32"
            or tuple(a["kernel"]) != dx.shape[1:3] or tuple(int(p) for p in a["pads"]) != (0, 0, 0, 0)):
        return None
    return dx.shape[1] * dx.shape[2]


def _group(g: Graph, i: int, readers: dict[str, list[int]], with_gx: bool = True) -> dict[str, int] | None:
    """Roles -> node indices (p: pool gradient, m: mask_grad, b: bias update, u: weight
    update, gx: a 1x1 conv's input gradient, before u) of a group starting at node i, or None."""
    nodes, t = g.nodes, g.tensors
    if global_pool_count(nodes[i], g) is None:
        return None
    g0 = nodes[i].outputs[0]
    r = readers.get(g0, [])
    if g0 in g.outputs or len(r) != 1 or nodes[r[0]].op != "mask_grad" or nodes[r[0]].inputs[0] != g0:
        return None
    m = nodes[r[0]]
    gname = m.outputs[0]
    if gname in g.outputs or t[m.inputs[1]].dtype != "bool":
        return None
    grp = {"p": i, "m": r[0]}
    for k in readers.get(gname, []):
        n = nodes[k]
        role = {("bias_update", 1): "b", ("conv2d_weight_update", 2): "u",
                ("conv2d_grad_input", 0): "gx" if with_gx else None}.get((n.op, n.inputs.index(gname)))
        if role is None or role in grp or n.inputs.count(gname) != 1:
            return None
        grp[role] = k
    if "b" in grp and t[nodes[grp["b"]].inputs[0]].dtype != "int32":
        return None
    if "u" in grp:
        u = nodes[grp["u"]]
        if t[u.inputs[0]].dtype != "int8" or t[u.inputs[1]].dtype not in ("int8", "float32"):
            return None
    if "gx" in grp:
        gx = nodes[grp["gx"]]
        w = t[gx.inputs[1]]
        if (not pointwise_grad_in_place(gx, g) or w.dtype not in ("int8", "float32")
                or (w.dtype == "int8" and (w.quant is None or w.quant.zero_point.any()))
                or ("u" in grp and grp["u"] < grp["gx"])):
            return None
    if not {"b", "u", "gx"} & set(grp):
        return None
    # the fused node runs where the input gradient ran (else at the last node): nobody in between
    # may read what the group updates or makes
    params = {nodes[grp[k]].inputs[0] for k in ("b", "u") if k in grp}
    made = set(nodes[grp["gx"]].outputs) if "gx" in grp else set()
    own = set(grp.values())
    if any(k not in own and (params | made) & set(nodes[k].inputs) for k in range(i, max(own) + 1)):
        return None
    return grp


def fuse_pooled(g: Graph, grp: dict[str, int]) -> Node:
    """The pooled_update node standing for one group; does not modify g."""
    nodes = g.nodes
    p, m = nodes[grp["p"]], nodes[grp["m"]]
    b, u, gx = (nodes[grp[k]] if k in grp else None for k in ("b", "u", "gx"))
    step = next((n.inputs[i] for n, i in ((u, 3), (b, 2)) if n is not None and len(n.inputs) > i and n.inputs[i]), "")
    inputs = [p.inputs[0], m.inputs[1], b.inputs[0] if b is not None else "",
              u.inputs[0] if u is not None else "", u.inputs[1] if u is not None else "", step,
              gx.inputs[1] if gx is not None else ""]
    outs, roles = [], []
    for role, n in (("b", b), ("w", u), ("dx", gx)):
        if n is not None:
            outs.append(n.outputs[0])
            roles.append(role)
    chain = FusedChain(tuple(nodes[k] for k in sorted(grp.values())),
                       (g.tensors[p.outputs[0]], g.tensors[m.outputs[0]]), g.tensors[outs[0]])
    return Node(f"{m.outputs[0]}@pooled", POOLED_OP, inputs, outs,
                {"chain": chain, "roles": tuple(roles), "out_shapes": tuple(g.tensors[o].shape for o in outs),
                 "count": global_pool_count(p, g)})


def pooled_updates(sg: ScheduledGraph, with_gx: bool = True) -> ScheduledGraph:
    """A copy of ``sg`` where each global pool gradient -> mask -> bias/weight update/input
    gradient group is one ``pooled_update`` node, at the input gradient's place (it must read
    the weight before the update), else at the group's last node. Without ``with_gx``, only
    groups whose G no input gradient reads (that one may then stream G in a dwpw_backward
    head, tte.compiler.fuse)."""
    tg = sg.training
    g = tg.graph.copy()
    readers: dict[str, list[int]] = {}
    for k, n in enumerate(g.nodes):
        for name in set(n.inputs):
            if name:
                readers.setdefault(name, []).append(k)
    groups: dict[int, dict[str, int]] = {}
    taken: set[int] = set()
    for i in range(tg.forward_nodes, len(g.nodes)):
        grp = _group(g, i, readers, with_gx)
        if grp is not None and not taken & set(grp.values()):
            groups[grp["gx"] if "gx" in grp else max(grp.values())] = grp
            taken |= set(grp.values())
    if not groups:
        return sg
    return replace_groups(sg, g, groups, taken, fuse_pooled)
