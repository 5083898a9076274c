"""Keep only a split weight's trained input channels of its input for the backward.

A fused depthwise -> 1x1 backward (``dwpw_backward``, tte.compiler.fuse) reads its block's
int8 input x only for the 1x1 conv's weight update, and where that conv trains a subset of its
input channels (tte.compiler.split) only those channels of x. The forward still reads x whole
(the block and its residual add), but from its last forward reader to the backward x can be
held packed, its trained channels alone (``channels_gather``, which may write over x in place:
tte_channels_gather_s8), and be given back its shape just before the backward reads it
(``channels_scatter``, the other channels x's zero point, which nothing reads). The update reads
the same values, so every bit stays; the bytes of the frozen channels are free in between (in
ProxylessNAS's paper scheme, blocks 13, 16 and 17 train 16 of 32, 16 of 64 and 32 of 64).
"""

from __future__ import annotations

from collections.abc import Iterable

from tte.compiler.schedule import ScheduledGraph
from tte.ir import FusedChain, Node, Tensor
from tte.training.autodiff import TrainingGraph

GATHER_OP = "channels_gather"
SCATTER_OP = "channels_scatter"


def _trained_channels(node: Node) -> tuple[int, ...] | None:
    """The input channels a dwpw_backward's 1x1 weight update trains, where a subset."""
    from tte.compiler.emit.dwpw import _dwpw_parts

    u = _dwpw_parts(node).get("u")
    if u is None or u.attrs["out_channels"] or not u.attrs["in_channels"]:
        return None
    return tuple(int(c) for c in u.attrs["in_channels"])


def kept_channels_candidates(sg: ScheduledGraph) -> list[str]:
    """The dwpw_backward nodes whose x may be held as its trained channels: an int8 activation of
    rank 4 (not a graph input) that the backward reads there alone, as x, after its forward readers."""
    g = sg.graph
    out: list[str] = []
    for i, n in enumerate(g.nodes):
        if n.op != "dwpw_backward" or i < sg.forward_nodes or len(n.inputs) < 5 or not n.inputs[4]:
            continue
        x = n.inputs[4]
        t = g.tensors[x]
        sel = _trained_channels(n)
        if (sel is None or x in g.inputs or t.dtype != "int8" or len(t.shape) != 4 or t.is_const
                or not 0 < len(sel) < t.shape[-1] or list(sel) != sorted(set(sel))):
            continue
        readers = [k for k, m in enumerate(g.nodes) if x in m.inputs]
        late = [k for k in readers if k >= sg.forward_nodes]
        if late == [i] and [p for p, name in enumerate(n.inputs) if name == x] == [4] and len(readers) > 1:
            out.append(n.name)
    return out


def _reading(node: Node, old: str, new: str) -> Node:
    """``node`` reading ``new`` in place of ``old`` (a dwpw_backward: its chain's nodes too)."""
    attrs = dict(node.attrs)
    chain = attrs.get("chain")
    if isinstance(chain, FusedChain):
        attrs["chain"] = FusedChain(tuple(_reading(n, old, new) for n in chain.nodes), chain.intermediates,
                                    chain.output)
    return Node(node.name, node.op, [new if i == old else i for i in node.inputs], list(node.outputs), attrs)


def with_kept_channels(sg: ScheduledGraph, names: Iterable[str]) -> ScheduledGraph:
    """A copy of ``sg`` where the x of each named dwpw_backward (kept_channels_candidates) is packed
    to its trained channels right after its last forward reader and unpacked right before it."""
    wanted = set(names) & set(kept_channels_candidates(sg))
    if not wanted:
        return sg
    tg = sg.training
    g = tg.graph.copy()
    nodes = list(g.nodes)
    forward = tg.forward_nodes
    for name in sorted(wanted):
        i = next(k for k, n in enumerate(nodes) if n.name == name)
        back = nodes[i]
        x = g.tensors[back.inputs[4]]
        sel = _trained_channels(back)
        assert sel is not None
        packed, whole = f"{x.name}@kept", f"{x.name}@whole"
        g.add_tensor(Tensor(packed, (*x.shape[:-1], len(sel)), x.dtype, None, x.quant))
        g.add_tensor(Tensor(whole, x.shape, x.dtype, None, x.quant))
        gather = Node(f"{x.name}@gather", GATHER_OP, [x.name], [packed], {"channels": sel})
        scatter = Node(f"{x.name}@scatter", SCATTER_OP, [packed], [whole], {"channels": sel, "in_c": x.shape[-1]})
        last = max(k for k, n in enumerate(nodes[:forward]) if x.name in n.inputs)
        nodes = (nodes[:last + 1] + [gather] + nodes[last + 1:i] + [scatter, _reading(back, x.name, whole)]
                 + nodes[i + 1:])
        forward += 1
    g.nodes = nodes
    g.validate()
    out = TrainingGraph(g, forward, tg.logits, tg.label, tg.loss, dict(tg.updates), list(tg.saved), dict(tg.state))
    # the storage sharing chosen so far stays (the choices before this one made it); the new
    # tensors share none
    return ScheduledGraph(out, dict(sg.inplace), sg.fused, sg.reordered)
