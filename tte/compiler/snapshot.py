"""A trained weight's snapshot, so that its update may run before its input gradient.

An input gradient ``gx`` reads the weight's old value, so the scheduler runs it before the
weight's in-place update ``u`` (tte.compiler.schedule._dependencies); when ``u`` also reads
``gx``'s output gradient dy, dy is still needed after ``gx`` and ``gx`` cannot write over it.
With a copy of the weight taken where ``gx`` stood (``weight_snapshot``, the weight's bytes in
the arena), ``gx`` moves to just after ``u`` and reads the copy: dy's last reader is then
``gx``, which may write its input gradient over dy (a depthwise or a 1x1 conv,
tte.compiler.schedule.choose_inplace). The copy holds the same values, so every bit stays.
Only whole weights (no channel subset: never split, tte.compiler.split) are copied.
"""

from __future__ import annotations

from collections.abc import Iterable

from tte.compiler.schedule import ScheduledGraph, choose_inplace, depthwise_grad_in_place, pointwise_grad_in_place
from tte.ir import Node, Tensor
from tte.training.autodiff import TrainingGraph

SNAPSHOT_OP = "weight_snapshot"


def _update_after(nodes: list[Node], i: int) -> int | None:
    """The index of the weight update that node i (an input gradient) must precede, when
    moving node i after it would let node i run in place."""
    gx = nodes[i]
    dy, w, dx = gx.inputs[0], gx.inputs[1], gx.outputs[0]
    for j in range(i + 1, len(nodes)):
        n = nodes[j]
        if dx in n.inputs:
            return None
        if n.op == "conv2d_weight_update" and n.inputs[0] == w:
            whole = not n.attrs["out_channels"] and not n.attrs["in_channels"]
            later = any(dy in m.inputs for m in nodes[j + 1:])
            return j if whole and n.inputs[2] == dy and not later else None
    return None


def snapshot_candidates(sg: ScheduledGraph) -> list[str]:
    """Input gradient nodes (depthwise or 1x1 conv, in-place capable) that a weight snapshot
    would let run in place."""
    g = sg.graph
    return [n.name for i, n in enumerate(g.nodes)
            if (depthwise_grad_in_place(n, g) or pointwise_grad_in_place(n, g))
            and g.tensors[n.inputs[1]].is_const and _update_after(g.nodes, i) is not None]


def with_snapshots(sg: ScheduledGraph, names: Iterable[str]) -> ScheduledGraph:
    """A copy of ``sg`` where each named input gradient reads a snapshot of its weight taken
    at its place and runs right after the weight's update."""
    wanted = set(names)
    if not wanted:
        return sg
    tg = sg.training
    g = tg.graph.copy()
    nodes = list(g.nodes)
    for name in wanted:
        i = next(k for k, n in enumerate(nodes) if n.name == name)
        j = _update_after(nodes, i)
        if j is None:
            continue
        gx = nodes[i]
        w = g.tensors[gx.inputs[1]]
        old = f"{w.name}@old"
        g.add_tensor(Tensor(old, w.shape, w.dtype, None, w.quant))
        snap = Node(f"{gx.name}@snapshot", SNAPSHOT_OP, [w.name], [old], {})
        moved = Node(gx.name, gx.op, [gx.inputs[0], old, *gx.inputs[2:]], list(gx.outputs), dict(gx.attrs))
        nodes = nodes[:i] + [snap] + nodes[i + 1:j + 1] + [moved] + nodes[j + 1:]
    g.nodes = nodes
    g.validate()
    out = TrainingGraph(g, tg.forward_nodes, tg.logits, tg.label, tg.loss, dict(tg.updates), list(tg.saved))
    external = set(g.inputs) | set(g.constants())
    return ScheduledGraph(out, choose_inplace(g, external), sg.fused, sg.reordered)
