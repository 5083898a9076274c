"""Updates that read a global average pool's gradient through an activation mask lazily.

Below a global average pool the backward pass makes G = mask_grad(avgpool2d_grad(dyp), mask):
one float per element of the pooled activation, although it holds only one value per channel
(dyp / count) where the mask lets it through. When G's only readers are the bias update, the
weight update and (a 1x1 conv's) input gradient of the layer under the pool, these nodes
become one ``pooled_update``
(the original nodes in ``attrs["chain"]``) whose C kernels (tte/pooled_update.h) compute each
element of G where they read it: G is never stored. Sums keep the unfused kernels' order, so
every bit stays; the reference runs the original nodes.

Where the layer under the pool is the 1x1 conv Q of a fused backward head (tte.compiler.fuse,
``dwpw_backward``, whose input gradient it computes channel by channel), ``pool_heads`` lets
that head read dyp too (the mask, if any, beside it; G, masked or not, also with no mask), and
Q's bias and weight updates become a ``pooled_update``: the head's kernel forms the shares
0 + dyp / count once, and without a mask each of D's channels' sum over Q's channels once, the
same float at every pixel.
"""

from __future__ import annotations

from tte.compiler.fuse import BACKWARD_OP, replace_groups, rescheduled
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


# the roles of a bias update's and a weight update's reading of a gradient: (op, input index) -> role
_UPDATES: dict[tuple[str, int], str | None] = {("bias_update", 1): "b", ("conv2d_weight_update", 2): "u"}


def _take_readers(g: Graph, grp: dict[str, int], name: str, readers: dict[str, list[int]],
                  roles: dict[tuple[str, int], str | None], skip: int = -1) -> bool:
    """Puts each reader of ``name`` (but node ``skip``) in ``grp`` under its role in ``roles``; False
    where one has none, a role is taken twice, a node reads ``name`` twice, or the bias update
    (b) or weight update (u) is not on the types the pooled_update kernels take."""
    nodes, t = g.nodes, g.tensors
    for k in readers.get(name, []):
        if k == skip:
            continue
        n = nodes[k]
        role = roles.get((n.op, n.inputs.index(name)))
        if role is None or role in grp or n.inputs.count(name) != 1:
            return False
        grp[role] = k
    if "b" in grp and t[nodes[grp["b"]].inputs[0]].dtype != "int32":
        return False
    if "u" in grp:
        u = nodes[grp["u"]]
        if t[u.inputs[0]].dtype != "int8" or t[u.inputs[1]].dtype not in ("int8", "float32"):
            return False
    return True


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
    roles = {**_UPDATES, ("conv2d_grad_input", 0): "gx" if with_gx else None}
    if not _take_readers(g, grp, gname, readers, roles):
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
    """The pooled_update node standing for one group (without "m": G is the pool's gradient
    itself, no mask); does not modify g."""
    nodes = g.nodes
    p = nodes[grp["p"]]
    m = nodes[grp["m"]] if "m" in grp else None
    b, u, gx = (nodes[grp[k]] if k in grp else None for k in ("b", "u", "gx"))
    step = next((n.inputs[i] for n, i in ((u, 3), (b, 2)) if n is not None and len(n.inputs) > i and n.inputs[i]), "")
    inputs = [p.inputs[0], m.inputs[1] if m is not None else "", b.inputs[0] if b is not None else "",
              u.inputs[0] if u is not None else "", u.inputs[1] if u is not None else "", step,
              gx.inputs[1] if gx is not None else ""]
    outs, roles = [], []
    for role, n in (("b", b), ("w", u), ("dx", gx)):
        if n is not None:
            outs.append(n.outputs[0])
            roles.append(role)
    inner = tuple(g.tensors[n.outputs[0]] for n in (p, m) if n is not None)
    group = sorted(k for r, k in grp.items() if r in ("p", "m", "b", "u", "gx"))
    chain = FusedChain(tuple(nodes[k] for k in group), inner, g.tensors[outs[0]])
    return Node(f"{inner[-1].name}@pooled", POOLED_OP, inputs, outs,
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


# ---- a fused backward head whose 1x1 conv Q has a global pool's gradient as output gradient ----

def _head_pool_group(g: Graph, k: int, readers: dict[str, list[int]], prod: dict[str, int]) -> dict[str, int] | None:
    """Roles -> node indices around the dwpw_backward head at node k (h) whose Q output gradient
    gy is a global average pool's gradient (p), through an activation mask (m) or not, and is
    read besides only by Q's bias update (b) and weight update (u); else None."""
    nodes, t = g.nodes, g.tensors
    h = nodes[k]
    if h.op != BACKWARD_OP or not h.attrs.get("head") or h.attrs.get("pool"):
        return None
    gy = h.inputs[0]
    if gy in g.outputs or gy not in prod or h.inputs.count(gy) != 1:
        return None
    grp = {"h": k}
    src = prod[gy]
    if nodes[src].op == "mask_grad":
        m = nodes[src]
        g0 = m.inputs[0]
        if (m.inputs[0] == m.inputs[1] or g0 in g.outputs or g0 not in prod or readers.get(g0, []) != [src]
                or t[m.inputs[1]].dtype != "bool"):
            return None
        grp["m"] = src
        src = prod[g0]
    if global_pool_count(nodes[src], g) is None or t[nodes[src].outputs[0]].shape[0] != 1:
        return None
    grp["p"] = src
    if not _take_readers(g, grp, gy, readers, _UPDATES, skip=k):
        return None
    # the updates run as one pooled_update at the later one's place: nobody after the earlier
    # one's place may read what it updates
    at = max((grp[r] for r in ("b", "u") if r in grp), default=0)
    own = {grp[r] for r in ("p", "m", "b", "u") if r in grp}
    for r in ("b", "u"):
        if r in grp and any(j not in own and nodes[grp[r]].inputs[0] in nodes[j].inputs
                            for j in range(grp[r] + 1, at + 1)):
            return None
    return grp


def fuse_head_pool(g: Graph, grp: dict[str, int]) -> tuple[Node, Node | None]:
    """The head reading the pooled gradient (its input dz is the pool's dy, C floats, and
    input dy_mask the mask, if any; the pool's nodes lead its chain) and the pooled_update of
    Q's bias and weight updates, if any; does not modify g."""
    nodes = g.nodes
    h = nodes[grp["h"]]
    chain = h.attrs["chain"]
    assert isinstance(chain, FusedChain)
    pool = tuple(nodes[grp[r]] for r in ("p", "m") if r in grp)
    inner = chain.intermediates + tuple(g.tensors[n.outputs[0]] for n in pool)
    inputs = [pool[0].inputs[0], *h.inputs[1:]] + [""] * (10 - len(h.inputs)) + [
        pool[1].inputs[1] if len(pool) > 1 else ""]
    head = Node(h.name, h.op, inputs, list(h.outputs),
                {**h.attrs, "chain": FusedChain(pool + chain.nodes, inner, chain.output),
                 "pool": tuple(n.name for n in pool), "count": global_pool_count(pool[0], g)})
    upd = None
    if "b" in grp or "u" in grp:
        upd = fuse_pooled(g, {r: grp[r] for r in ("p", "m", "b", "u") if r in grp})
    return head, upd


def pool_heads(sg: ScheduledGraph) -> ScheduledGraph:
    """A copy of ``sg`` where each dwpw_backward head (tte.compiler.fuse) whose Q output gradient
    is a global average pool's (masked or not) reads the pool's gradient dy lazily (C floats
    instead of H * W * C), and Q's bias and weight updates on it become one pooled_update: the
    full-resolution gradient is never stored. The same bits (the kernels keep every sum's order)."""
    tg = sg.training
    g = tg.graph.copy()
    readers: dict[str, list[int]] = {}
    prod: dict[str, int] = {}
    for k, n in enumerate(g.nodes):
        for name in set(n.inputs):
            if name:
                readers.setdefault(name, []).append(k)
        for o in n.outputs:
            prod[o] = k
    new_at: dict[int, Node] = {}
    drop: set[int] = set()
    inner: list[str] = []
    for k in range(tg.forward_nodes, len(g.nodes)):
        grp = _head_pool_group(g, k, readers, prod)
        if grp is None or drop & set(grp.values()):
            continue
        head, upd = fuse_head_pool(g, grp)
        new_at[k] = head
        drop |= {grp[r] for r in ("p", "m", "b", "u") if r in grp}
        if upd is not None:
            new_at[max(grp[r] for r in ("b", "u") if r in grp)] = upd
        inner += [g.nodes[grp[r]].outputs[0] for r in ("p", "m") if r in grp]
    if not new_at:
        return sg
    g.nodes = [new_at.get(k, n) for k, n in enumerate(g.nodes) if k in new_at or k not in drop]
    return rescheduled(sg, g, inner)
