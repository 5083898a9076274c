"""Streaming fusion of the frozen forward pass: inverted-residual blocks as one op.

Before the first updated layer nothing is saved for the backward pass, so a block

    [conv2d E (any, e.g. the 1x1 expansion or the stem conv)] -> depthwise conv2d D
        -> 1x1 conv2d P [-> add A of the block input]

can be computed output row by output row (the idea of MCUNetV2's patch-based inference,
with one-row patches): D's output row needs k_h rows of E's output, which a ring buffer of
``(k_h - 1) * dil_h + 1`` rows holds, and P and A are per pixel. The whole expanded tensor
(E's output, the largest activation of such a block) never exists; the memory planner sees
the block's input, its output and the ring (kernel scratch). Every int8 value is computed
by the same integer arithmetic as the unfused ops, so the result is bit-identical
(``tte.reference.fused_ops`` runs the original kernels; tests compare).

``stream_blocks`` fuses, in a scheduled training graph's forward part (or an inference
graph), every such chain whose inner tensors (E's, D's and, with A, P's output) are read by
no node outside the chain, are no graph output, and whose weights are not trained. The
fused node takes the chain's place at its last node.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection

from tte.compiler.memory import ALIGN
from tte.compiler.schedule import ScheduledGraph, choose_inplace
from tte.ir import FusedChain, Graph, Node
from tte.training.autodiff import TrainingGraph

FUSED_OP = "streamed_block"


def _int8_conv(g: Graph, n: Node) -> bool:
    return (n.op == "conv2d" and g.tensors[n.inputs[0]].dtype == "int8"
            and g.tensors[n.outputs[0]].dtype == "int8" and g.tensors[n.inputs[1]].is_const)


def _is_depthwise(g: Graph, n: Node) -> bool:
    c = g.tensors[n.inputs[0]].shape[-1]
    return _int8_conv(g, n) and int(n.attrs["groups"]) == c and c > 1


def _is_pointwise(g: Graph, n: Node) -> bool:
    if not _int8_conv(g, n):     # e.g. a pool right after a depthwise conv
        return False
    w = g.tensors[n.inputs[1]].shape
    a = n.attrs
    return (int(a["groups"]) == 1 and w[1] == 1 and w[2] == 1
            and tuple(a["strides"]) == (1, 1) and tuple(int(p) for p in a["pads"]) == (0, 0, 0, 0))


def _find_chains(g: Graph, limit: int, frozen: set[str]) -> list[list[Node]]:
    """Chains [E?, D, P, A?] among the first ``limit`` nodes, in node order, disjoint."""
    nodes = g.nodes[:limit]
    readers: dict[str, list[Node]] = {}
    for n in g.nodes:
        for i in n.inputs:
            if i:
                readers.setdefault(i, []).append(n)
    producer = {o: n for n in nodes for o in n.outputs}
    outputs = set(g.outputs)

    def only_reader(t: str) -> Node | None:
        r = readers.get(t, [])
        return r[0] if len(r) == 1 and t not in outputs else None

    def weights_frozen(n: Node) -> bool:
        return all(i in frozen for i in n.inputs[1:] if i)

    in_forward = {id(n) for n in nodes}
    used: set[int] = set()
    chains: list[list[Node]] = []
    for d in nodes:
        if id(d) in used or not _is_depthwise(g, d) or not weights_frozen(d):
            continue
        p = only_reader(d.outputs[0])
        if p is None or id(p) not in in_forward or id(p) in used or not _is_pointwise(g, p) \
                or not weights_frozen(p):
            continue
        chain = [d, p]
        e = producer.get(d.inputs[0])
        if (e is not None and id(e) not in used and _int8_conv(g, e) and weights_frozen(e)
                and only_reader(d.inputs[0]) is d):
            chain.insert(0, e)
        x = chain[0].inputs[0]
        a = only_reader(p.outputs[0])
        if (a is not None and id(a) in in_forward and a.op == "add" and len(a.inputs) == 2
                and sorted(a.inputs) == sorted([x, p.outputs[0]]) and x != p.outputs[0]
                and g.tensors[a.outputs[0]].dtype == "int8"
                and g.tensors[x].shape == g.tensors[p.outputs[0]].shape == g.tensors[a.outputs[0]].shape):
            chain.append(a)
        used.update(id(n) for n in chain)
        chains.append(chain)
    return chains


def fuse_chain(g: Graph, chain: list[Node]) -> Node:
    """The streamed_block node standing for ``chain`` (E?, D, P, A?); does not modify g."""
    convs = chain[:-1] if chain[-1].op == "add" else chain
    e = convs[0] if len(convs) == 3 else None
    d, p = convs[-2], convs[-1]
    inner = [d.inputs[0], d.outputs[0]] if e is not None else [d.outputs[0]]
    if chain[-1].op == "add":
        inner.append(p.outputs[0])
    out = chain[-1].outputs[0]

    def opt(n: Node | None, i: int) -> str:
        return n.inputs[i] if n is not None and len(n.inputs) > i else ""

    x = chain[0].inputs[0]
    inputs = [x, opt(e, 1), opt(e, 2), d.inputs[1], opt(d, 2), p.inputs[1], opt(p, 2)]
    fc = FusedChain(tuple(chain), tuple(g.tensors[t] for t in inner), g.tensors[out])
    return Node(f"{chain[-1].name}@streamed", FUSED_OP, inputs, [out], {"chain": fc})


def stream_blocks(sg: ScheduledGraph) -> ScheduledGraph:
    """A copy of ``sg`` whose frozen forward blocks are streamed_block nodes."""
    tg = sg.training
    g = tg.graph.copy()
    frozen = {k for k, t in g.tensors.items() if t.is_const and k not in tg.updates}
    saved = set(tg.saved)
    chains = [c for c in _find_chains(g, tg.forward_nodes, frozen)
              if not any(o in saved for n in c[:-1] for o in n.outputs)]
    if not chains:
        return sg
    last = {id(c[-1]): c for c in chains}
    drop = {id(n) for c in chains for n in c[:-1]}
    new_nodes: list[Node] = []
    removed_forward = 0
    inner: list[str] = []
    for i, n in enumerate(g.nodes):
        if id(n) in drop:
            removed_forward += i < tg.forward_nodes
            continue
        if id(n) in last:
            fused = fuse_chain(g, last[id(n)])
            inner += [t.name for t in fused.attrs["chain"].intermediates]
            new_nodes.append(fused)
        else:
            new_nodes.append(n)
    g.nodes = new_nodes
    for t in inner:
        del g.tensors[t]
    g.validate()
    out = TrainingGraph(g, tg.forward_nodes - removed_forward, tg.logits, tg.label, tg.loss, dict(tg.updates),
                        list(tg.saved))
    external = set(g.inputs) | set(g.constants())
    return ScheduledGraph(out, choose_inplace(g, external), sg.fused, sg.reordered)



# ---- two streamed blocks run together: the first's output as a band of rows ----------------

PAIR_OP = "streamed_pair"


def _block_chain(n: Node) -> FusedChain:
    chain = n.attrs["chain"]
    assert isinstance(chain, FusedChain)
    return chain


def pairable(a: Node, b: Node, g: Graph, trained: Collection[str] = ()) -> bool:
    """Whether streamed blocks ``a`` then ``b`` (the next node) can run as one streamed_pair: b reads
    a's output through its expand conv alone (no residual add reads it whole), a's output is read by
    nothing else and is no graph output, a makes its output rows in order (an expand conv or an
    add: tte_block_s8's row loop, not the flat one), one batch shape, and no weight of either is
    one a step changes (``trained``: the inference graph streams trained blocks too)."""
    if a.op != FUSED_OP or b.op != FUSED_OP or not b.inputs or b.inputs[0] != a.outputs[0]:
        return False
    ca, cb = _block_chain(a), _block_chain(b)
    convs_b = [n for n in cb.nodes if n.op == "conv2d"]
    if len(convs_b) != 3 or cb.nodes[-1].op == "add":
        return False
    if len([n for n in ca.nodes if n.op == "conv2d"]) != 3 and ca.nodes[-1].op != "add":
        return False
    t = a.outputs[0]
    if t in g.outputs or sum(t in n.inputs for n in g.nodes) != 1 or b.inputs.count(t) != 1:
        return False
    weights = [i for n in (a, b) for i in n.inputs[1:] if i]
    if any(not g.tensors[w].is_const or w in trained for w in weights):
        return False
    return g.tensors[a.inputs[0]].shape[0] == g.tensors[t].shape[0]


def pair_candidates(g: Graph, trained: Collection[str] = ()) -> list[int]:
    """The positions i of the nodes that pair with node i + 1 (pairable), disjoint, in order."""
    out: list[int] = []
    i = 0
    while i + 1 < len(g.nodes):
        if pairable(g.nodes[i], g.nodes[i + 1], g, trained):
            out.append(i)
            i += 2
        else:
            i += 1
    return out


def fuse_pair(g: Graph, a: Node, b: Node) -> Node:
    """The streamed_pair node standing for blocks ``a`` then ``b``; does not modify g."""
    inputs = list(a.inputs) + [""] * (7 - len(a.inputs)) + list(b.inputs[1:]) + [""] * (7 - len(b.inputs))
    fc = FusedChain((a, b), (g.tensors[a.outputs[0]],), g.tensors[b.outputs[0]])
    return Node(f"{b.name}@pair", PAIR_OP, inputs, list(b.outputs), {"chain": fc})


def pair_blocks(sg: ScheduledGraph, at: Collection[int], trained: Collection[str] = ()) -> ScheduledGraph:
    """A copy of ``sg`` whose streamed blocks at positions ``at`` (pair_candidates) run with the next
    one as a streamed_pair: the first's output (whole, the largest activation after the stem in the
    paper models) then never exists, only a band of its rows in the pair's scratch."""
    g = sg.training.graph.copy()
    firsts = {i for i in at if i + 1 < len(g.nodes) and pairable(g.nodes[i], g.nodes[i + 1], g, trained)}
    if not firsts:
        return sg
    nodes: list[Node] = []
    inner: list[str] = []
    forward = sg.training.forward_nodes
    for i, n in enumerate(g.nodes):
        if i in firsts:
            continue
        if i - 1 in firsts:
            nodes.append(fuse_pair(g, g.nodes[i - 1], n))
            inner.append(g.nodes[i - 1].outputs[0])
        else:
            nodes.append(n)
    g.nodes = nodes
    tg = sg.training
    for name in inner:
        del g.tensors[name]
    g.validate()
    removed = sum(1 for i in firsts if i < forward)
    out = TrainingGraph(g, tg.forward_nodes - removed, tg.logits, tg.label, tg.loss, dict(tg.updates),
                        list(tg.saved))
    external = set(g.inputs) | set(g.constants())
    return ScheduledGraph(out, choose_inplace(g, external), sg.fused, sg.reordered)


# ---- the backward pass: depthwise gradient -> mask -> 1x1 conv, channel by channel ----------

BACKWARD_OP = "dwpw_backward"


def _pointwise_geometry(n: Node) -> bool:
    a = n.attrs
    return (int(a["groups"]) == 1 and tuple(a["strides"]) == (1, 1) and tuple(a["dilations"]) == (1, 1)
            and tuple(int(p) for p in a["pads"]) == (0, 0, 0, 0))


def _quant_zero_weights(g: Graph, name: str) -> bool:
    t = g.tensors[name]
    return t.dtype == "int8" and t.quant is not None and not t.quant.zero_point.any()


def _backward_group(g: Graph, i: int, readers: dict[str, list[int]]) -> dict[str, int] | None:
    """The nodes (role -> index) of one dwpw_backward starting at node i, or None.

    d: depthwise conv2d_grad_input (dz -> D), m: mask_grad (D -> G), and of G's readers
    b: bias_update, gx: the 1x1 conv's conv2d_grad_input, u: its conv2d_weight_update (after gx).
    D and G must be read by nothing else: then only one channel of G has to exist at a time."""
    nodes, t = g.nodes, g.tensors
    n1 = nodes[i]
    if n1.op != "conv2d_grad_input" or len(n1.inputs) != 2:
        return None
    d_name, w_dw = n1.outputs[0], n1.inputs[1]
    d, dz, wd = t[d_name], t[n1.inputs[0]], t[w_dw]
    if (len(d.shape) != 4 or d.dtype != "float32" or dz.dtype != "float32" or not _quant_zero_weights(g, w_dw)
            or int(n1.attrs["groups"]) != d.shape[3] or wd.shape[0] != d.shape[3] or wd.shape[3] != 1
            or d_name in g.outputs):
        return None
    r = readers.get(d_name, [])
    if len(r) != 1 or nodes[r[0]].op != "mask_grad" or nodes[r[0]].inputs[0] != d_name:
        return None
    grp = {"d": i, "m": r[0]}
    gname = nodes[r[0]].outputs[0]
    if gname in g.outputs:
        return None
    for k in readers.get(gname, []):
        n = nodes[k]
        role = {("bias_update", 1): "b", ("conv2d_grad_input", 0): "gx",
                ("conv2d_weight_update", 2): "u"}.get((n.op, n.inputs.index(gname)))
        if role is None or role in grp or n.inputs.count(gname) != 1:
            return None
        grp[role] = k
    if not {"b", "gx", "u"} & set(grp):
        return None
    w_names = set()
    if "gx" in grp:
        gx = nodes[grp["gx"]]
        dx = t[gx.outputs[0]]
        if not _pointwise_geometry(gx) or dx.dtype != "float32" or dx.shape[:3] != d.shape[:3]:
            return None
        w_names.add(gx.inputs[1])
    if "u" in grp:
        u = nodes[grp["u"]]
        x = t[u.inputs[1]]
        if (not _pointwise_geometry(u) or tuple(u.attrs["kernel"]) != (1, 1) or x.dtype != "int8"
                or x.quant is None or x.quant.scale.size != 1 or x.shape[:3] != d.shape[:3]
                or ("gx" in grp and grp["gx"] > grp["u"])):
            return None
        w_names.add(u.inputs[0])
    if len(w_names) > 1 or any(not _quant_zero_weights(g, w) or t[w].shape[0] != d.shape[3]
                               or t[w].shape[1:3] != (1, 1) for w in w_names):
        return None
    if "b" in grp and t[nodes[grp["b"]].inputs[0]].dtype != "int32":
        return None
    # the fused node runs at i: nobody else may read the parameters it updates before they would have been
    params = {nodes[grp[k]].inputs[0] for k in ("u", "b") if k in grp}
    own = set(grp.values())
    if any(k not in own and params & set(nodes[k].inputs) for k in range(i, max(own) + 1)):
        return None
    return grp


def _backward_head(g: Graph, grp: dict[str, int], readers: dict[str, list[int]]) -> dict[str, int] | None:
    """The nodes before a dwpw group that make its input dz (role -> index), or None:
    q: the 1x1 conv Q's conv2d_grad_input (gy -> dD; Q reads D's output), qm: mask_grad
    (dD -> dz), qb: D's bias_update on dz (optional). dD and dz must be read by nothing else:
    then dz is computed channel by channel too (tte_dwpw_backward_head_s8)."""
    nodes, t = g.nodes, g.tensors
    d = nodes[grp["d"]]
    dz = d.inputs[0]
    prod = {o: k for k, n in enumerate(nodes) for o in n.outputs}
    if dz in g.outputs or dz not in prod or nodes[prod[dz]].op != "mask_grad":
        return None
    qm = prod[dz]
    d_d = nodes[qm].inputs[0]
    if d_d in g.outputs or d_d not in prod or readers.get(d_d, []) != [qm]:
        return None
    q = prod[d_d]
    qn = nodes[q]
    if qn.op != "conv2d_grad_input" or len(qn.inputs) != 2 or not _pointwise_geometry(qn):
        return None
    gy, wq, ddt = t[qn.inputs[0]], t[qn.inputs[1]], t[d_d]
    ch = t[dz].shape[3]
    if (gy.dtype != "float32" or ddt.dtype != "float32" or not _quant_zero_weights(g, qn.inputs[1])
            or wq.shape[1:] != (1, 1, ch) or gy.shape[:3] != t[dz].shape[:3] or ddt.shape != t[dz].shape):
        return None
    head = {"q": q, "qm": qm}
    for k in readers.get(dz, []):
        if k == grp["d"]:
            continue
        n = nodes[k]
        if n.op != "bias_update" or n.inputs.index(dz) != 1 or "qb" in head or t[n.inputs[0]].dtype != "int32":
            return None
        head["qb"] = k
    if max(head.values()) > grp["d"]:
        return None
    # the fused node runs at q: nobody between may read D's bias or write what the group reads
    own = set(grp.values()) | set(head.values())
    params = {nodes[head["qb"]].inputs[0]} if "qb" in head else set()
    params |= {nodes[grp[k]].inputs[0] for k in ("u", "b") if k in grp}
    group_outputs = {o for k in own for o in nodes[k].outputs}
    group_inputs = {i for k in own for i in nodes[k].inputs if i} - group_outputs
    for k in range(q, max(own) + 1):
        if k in own:
            continue
        if params & set(nodes[k].inputs) or group_inputs & set(nodes[k].outputs) \
                or group_outputs & set(nodes[k].inputs):
            return None
    return head


def fuse_backward_group(g: Graph, grp: dict[str, int]) -> Node:
    """The dwpw_backward node standing for one group (see _backward_group); does not modify g."""
    nodes = g.nodes
    n1, m = nodes[grp["d"]], nodes[grp["m"]]
    gx, u, b = (nodes[grp[k]] if k in grp else None for k in ("gx", "u", "b"))
    w = u.inputs[0] if u is not None else (gx.inputs[1] if gx is not None else "")
    x = u.inputs[1] if u is not None else ""
    step = next((n.inputs[i] for n, i in ((u, 3), (b, 2)) if n is not None and len(n.inputs) > i
                 and n.inputs[i]), "")
    outs: list[str] = []
    roles: list[str] = []
    for role, n in (("dx", gx), ("w", u), ("b", b)):
        if n is not None:
            outs.append(n.outputs[0])
            roles.append(role)
    inputs = [n1.inputs[0], n1.inputs[1], m.inputs[1], w, x, b.inputs[0] if b is not None else "", step]
    inner = [g.tensors[n1.outputs[0]], g.tensors[m.outputs[0]]]
    head: tuple[str, ...] = ()
    if "q" in grp:
        # dz is made inside too: the fused node reads Q's output gradient gy instead
        q, qm = nodes[grp["q"]], nodes[grp["qm"]]
        qb = nodes[grp["qb"]] if "qb" in grp else None
        if not step and qb is not None and len(qb.inputs) > 2:
            inputs[6] = qb.inputs[2]
        inputs[0] = q.inputs[0]
        inputs += [q.inputs[1], qm.inputs[1], qb.inputs[0] if qb is not None else ""]
        inner += [g.tensors[q.outputs[0]], g.tensors[qm.outputs[0]]]
        if qb is not None:
            outs.append(qb.outputs[0])
            roles.append("db")
        head = tuple(nodes[grp[k]].name for k in ("q", "qm", "qb") if k in grp)
    chain = FusedChain(tuple(nodes[k] for k in sorted(grp.values())), tuple(inner), g.tensors[outs[0]])
    return Node(f"{m.outputs[0]}@dwpw", BACKWARD_OP, inputs, outs,
                {"chain": chain, "roles": tuple(roles), "out_shapes": tuple(g.tensors[o].shape for o in outs),
                 "head": head, "depthwise": n1.name})


def stream_backward(sg: ScheduledGraph, head_too: bool = True, skip: frozenset[str] = frozenset(),
                    pool: bool = True) -> ScheduledGraph:
    """A copy of ``sg`` where each depthwise input gradient -> mask -> 1x1 conv backward
    (bias update, input gradient, weight update) is one ``dwpw_backward`` node: the float
    gradient of the 1x1 conv's output (the largest backward tensor of an inverted-residual
    block) never exists whole. With ``head_too``, the 1x1 conv input gradient, mask and
    bias update that make the depthwise output's gradient dz join the group when nothing
    else reads their results: dz (the largest float tensor of such a block when the
    depthwise has stride 1) is then computed channel by channel too. The C kernel keeps
    every sum in the unfused kernels' order. Groups whose depthwise input gradient node is
    named in ``skip`` stay unfused (``unfusable_groups``: the plan may be smaller without).
    With ``pool``, a head under a global average pool then reads the pool's gradient lazily
    (tte.compiler.pooled.pool_heads)."""
    from tte.compiler.pooled import pool_heads  # it builds on this module

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
        if i in taken:
            continue
        grp = _backward_group(g, i, readers)
        if grp is not None and g.nodes[i].name not in skip and not taken & set(grp.values()):
            head = _backward_head(g, grp, readers) if head_too else None
            if head is not None and not taken & set(head.values()):
                grp = {**grp, **head}
            groups[min(grp.values())] = grp
            taken |= set(grp.values())
    if not groups:
        return sg
    fused = replace_groups(sg, g, groups, taken, fuse_backward_group)
    return pool_heads(fused) if pool else fused


def replace_groups(sg: ScheduledGraph, g: Graph, groups: dict[int, dict[str, int]], taken: set[int],
                   fuse: Callable[[Graph, dict[str, int]], Node]) -> ScheduledGraph:
    """``sg`` with each group of backward nodes (keyed by the position of its fused node) made one
    node by ``fuse``, the group's other nodes and inner tensors dropped; ``g`` is the copy edited."""
    new_nodes: list[Node] = []
    inner: list[str] = []
    for k, n in enumerate(g.nodes):
        if k in groups:
            fused = fuse(g, groups[k])
            inner += [t.name for t in fused.attrs["chain"].intermediates]
            new_nodes.append(fused)
        elif k not in taken:
            new_nodes.append(n)
    g.nodes = new_nodes
    return rescheduled(sg, g, inner)


def rescheduled(sg: ScheduledGraph, g: Graph, inner: list[str]) -> ScheduledGraph:
    """``sg`` on ``g``, its edited copy of the graph, with the tensors ``inner`` (no node's now)
    dropped, checked and its buffers chosen again."""
    tg = sg.training
    for name in inner:
        del g.tensors[name]
    g.validate()
    out = TrainingGraph(g, tg.forward_nodes, tg.logits, tg.label, tg.loss, dict(tg.updates), list(tg.saved))
    external = set(g.inputs) | set(g.constants())
    return ScheduledGraph(out, choose_inplace(g, external), sg.fused, sg.reordered)


def unfusable_groups(sg: ScheduledGraph, with_weights: bool = False) -> list[str]:
    """The depthwise input gradient nodes (``stream_backward``'s ``skip``) of the fused groups
    that make the 1x1 conv's input gradient and (unless ``with_weights``) update no weight:
    unfused, that chain can run in one buffer (the depthwise and the 1x1 conv input
    gradients in place, tte.compiler.schedule; with a weight update, after a snapshot of the
    weight, tte.compiler.snapshot), while the fused node holds its whole input and its whole
    output."""
    return [n.attrs["depthwise"] for n in sg.graph.nodes if n.op == BACKWARD_OP
            and "dx" in n.attrs["roles"] and (with_weights or "w" not in n.attrs["roles"])]


# ---- the streamed block's output over its own input (MCUNetV2-style in-place rows) --------

def block_rows_read(node: Node, g: Graph) -> list[int]:
    """Per output row oy of a streamed_block (batch 1): the lowest input row that
    tte_block_s8 reads while computing output rows oy, oy + 1, ... (the image height when
    none). A mirror of the loops of csrc/src/block_s8.c: for row oy it first computes the
    expansion rows the depthwise window still lacks (each E row r reads input rows
    r * stride - pad_top + ky * dilation), then reads the window rows (the input itself
    when there is no expansion) and, with the residual add, input row oy's pixels."""
    chain = node.attrs["chain"]
    assert isinstance(chain, FusedChain)
    nodes = list(chain.nodes)
    add = nodes.pop() if nodes[-1].op == "add" else None
    e = nodes.pop(0) if len(nodes) == 3 else None
    d = nodes[0]
    tensors = {**g.tensors, **{t.name: t for t in chain.intermediates}}
    in_h = tensors[node.inputs[0]].shape[1]

    def rows(n: Node, out_row: int, height: int) -> list[int]:
        kh = tensors[n.inputs[1]].shape[1]
        top = out_row * int(n.attrs["strides"][0]) - int(n.attrs["pads"][0])
        dil = int(n.attrs["dilations"][0])
        return [top + k * dil for k in range(kh) if 0 <= top + k * dil < height]

    d_in_h, d_out_h = tensors[d.inputs[0]].shape[1], tensors[d.outputs[0]].shape[1]
    per_row: list[int] = []
    nxt = 0
    for oy in range(d_out_h):
        read: list[int] = []
        window = rows(d, oy, d_in_h)
        if e is not None:
            if window:
                nxt = max(nxt, window[0])
                while nxt <= window[-1]:
                    read += rows(e, nxt, in_h)
                    nxt += 1
        else:
            read += window
        if add is not None:
            read.append(oy)
        per_row.append(min(read, default=in_h))
    for oy in range(len(per_row) - 2, -1, -1):
        per_row[oy] = min(per_row[oy], per_row[oy + 1])
    return per_row


def depthwise_overlap(node: Node, g: Graph) -> tuple[int, int] | None:
    """(distance, step): how far (bytes) below its input the output of a whole-image int8
    depthwise conv (tte_conv2d_s8 -> tte_conv2d_s8_depthwise, batch 1, multiplier 1, channels a
    multiple of 4, dilation 1) must start at least so that it may overlap the input, and the
    step the distance must be a multiple of. Every path of the kernel writes output row oy of a
    channel after it read that channel's window rows; the DSP paths run each group of four
    channels over all rows (the next group's input bytes are read after the last output row
    of this one is written), so the output may overlap only where each channel's bytes land on
    the same channel's (a distance that is a multiple of the channel count); some write two
    output rows in one pass, so output row oy may still be written while the rows of output
    row oy - 1's window are read: it must end above input row stride * (oy - 1) - pad_top.
    None for other nodes."""
    if node.op != "conv2d" or len(node.inputs) < 2:
        return None
    x, w, y = g.tensors[node.inputs[0]], g.tensors[node.inputs[1]], g.tensors[node.outputs[0]]
    if (x.dtype != "int8" or y.dtype != "int8" or len(x.shape) != 4 or len(y.shape) != 4
            or x.shape[0] != 1 or y.shape[0] != 1):
        return None
    c = x.shape[3]
    if int(node.attrs["groups"]) != c or y.shape[3] != c or c % 4 or w.shape[1] > 7:
        return None
    if tuple(int(v) for v in node.attrs.get("dilations", (1, 1))) != (1, 1):
        return None
    stride, pad = int(node.attrs["strides"][0]), int(node.attrs["pads"][0])
    x_row, y_row = x.nbytes // x.shape[1], y.nbytes // y.shape[1]
    d = max((oy + 1) * y_row - max(0, stride * (oy - 1) - pad) * x_row for oy in range(y.shape[1]))
    step = math.lcm(c, ALIGN)
    return -(-d // step) * step, step


def block_overlap(node: Node, g: Graph) -> int | None:
    """How far (bytes) below its input a streamed_block's output must start at least so that
    it may overlap the input: output row oy (written after every read of rows < oy's
    lowest still needed input row, see block_rows_read) then only overwrites input rows
    that no later read touches. None for other ops and batches above 1."""
    if node.op != FUSED_OP:
        return None
    x, y = g.tensors[node.inputs[0]], g.tensors[node.outputs[0]]
    if x.shape[0] != 1 or y.shape[0] != 1 or len(x.shape) != 4 or len(y.shape) != 4:
        return None
    x_row, y_row = x.nbytes // x.shape[1], y.nbytes // y.shape[1]
    need = block_rows_read(node, g)
    if len(need) != y.shape[1]:
        return None
    return max((oy + 1) * y_row - lo * x_row for oy, lo in enumerate(need))
