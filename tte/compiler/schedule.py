"""Operator scheduling of a training graph: fuse weight updates, reorder, choose in-place ops.

``schedule(tg)`` turns the training graph that ``tte.training.autodiff`` built (forward, loss,
backward in reverse layer order, then every SGD update at the very end) into the order the
generated C runs:

* **Fusion.** Each ``conv2d_grad_weight``/``fc_grad_weight``/``bias_grad`` whose only
  reader is an ``sgd_update`` becomes one ``conv2d_weight_update``/``fc_weight_update``/
  ``bias_update`` node: the kernel applies the update while it computes the gradient, so no
  full gradient buffer is ever materialized (the reference has kernels for the fused ops,
  so the scheduled graph still runs on ``tte.reference``).
* **Reordering.** The backward part is list-scheduled: among the nodes whose inputs are
  ready, the one that frees the most bytes net of what it allocates runs first (ties keep
  autodiff's order). A fused update frees its saved activation and allocates nothing, so it
  runs right after the gradient it needs exists. Updates write their parameter in place, so
  they also wait for every other reader of the old value (``conv2d_grad_input`` of the same
  layer reads the weight before it changes).
* **In place.** After ordering, ``mask_grad`` and accumulation ``add`` nodes write over an
  input that dies at that node (elementwise kernels read each element before writing it),
  so does a same-size depthwise ``conv2d_grad_input`` (channel by channel, through a
  one-channel scratch buffer) and a 1x1 conv's ``conv2d_grad_input`` (pixel by pixel,
  through a one-pixel scratch buffer),
  ``reshape`` is always a view, and updates write their parameter (``ScheduledGraph.inplace``).

``reorder=False`` keeps autodiff's order and does not fuse: every gradient is materialized
and applied at the end, the baseline the paper's "sparse update without reordering" measures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from tte.ir import FusedChain, Graph, Node, Tensor
from tte.training.autodiff import TrainingGraph

FUSED = {"conv2d_grad_weight": "conv2d_weight_update", "fc_grad_weight": "fc_weight_update",
         "bias_grad": "bias_update"}
UPDATE_OPS = ("sgd_update", "conv2d_weight_update", "fc_weight_update", "bias_update")
# elementwise ops whose kernels may write over their first input
INPLACE_ELEMENTWISE = ("mask_grad", "add", "activation_grad", "minmax_grad", "neg")
# gradient tensors are float32 whatever dtype autodiff stamped on them
FLOAT_GRAD_OPS = ("conv2d_grad_weight", "fc_grad_weight")


def storage_bytes(graph: Graph, name: str) -> int:
    """Bytes a tensor occupies at run time: masks at one bit per element, weight gradients
    as float32."""
    t = graph.tensors[name]
    if t.dtype == "bool":
        return (t.size + 7) // 8
    prod = graph.producer(name) if t.dtype != "float32" else None
    if prod is not None and prod.op in FLOAT_GRAD_OPS:
        return t.size * 4
    return max(t.nbytes, 1) if t.shape == () else t.nbytes


@dataclass
class ScheduledGraph:
    """A training graph in execution order, with the tensors that share storage."""

    training: TrainingGraph
    inplace: dict[str, str] = field(default_factory=dict)   # tensor -> tensor whose storage it reuses
    fused: int = 0                                          # how many gradient+update pairs were fused
    reordered: bool = True

    @property
    def graph(self) -> Graph:
        return self.training.graph

    @property
    def forward_nodes(self) -> int:
        return self.training.forward_nodes

    def storage_root(self, name: str) -> str:
        while name in self.inplace:
            name = self.inplace[name]
        return name


def fuse_updates(tg: TrainingGraph) -> tuple[TrainingGraph, int]:
    """A copy of ``tg`` where each gradient + sgd_update pair is one fused update node."""
    g = tg.graph.copy()
    readers: dict[str, list[Node]] = {}
    for n in g.nodes:
        for i in n.inputs:
            if i:
                readers.setdefault(i, []).append(n)
    producers = {o: n for n in g.nodes for o in n.outputs}
    drop: set[int] = set()
    replace: dict[int, Node] = {}
    for upd in g.nodes:
        if upd.op != "sgd_update":
            continue
        grad = producers.get(upd.inputs[1])
        if grad is None or grad.op not in FUSED or len(readers.get(upd.inputs[1], [])) != 1:
            continue  # accumulated (shared) gradients stay as they are
        step = upd.inputs[2:3] if len(upd.inputs) > 2 and upd.inputs[2] else []
        update_attrs = {k: upd.attrs[k] for k in ("lr", "qas", "rounding", "seed", "out_channels",
                                                  "in_channels")}
        if grad.op == "conv2d_grad_weight":
            geo = {k: grad.attrs[k] for k in ("strides", "pads", "dilations", "groups", "kernel")}
            node = Node(upd.name, "conv2d_weight_update", [upd.inputs[0], *grad.inputs, *step],
                        list(upd.outputs), {**geo, **update_attrs})
        elif grad.op == "fc_grad_weight":
            node = Node(upd.name, "fc_weight_update", [upd.inputs[0], *grad.inputs, *step],
                        list(upd.outputs), update_attrs)
        else:
            node = Node(upd.name, "bias_update", [upd.inputs[0], grad.inputs[0], *step],
                        list(upd.outputs), update_attrs)
        drop.add(id(grad))
        replace[id(upd)] = node
    g.nodes = [replace.get(id(n), n) for n in g.nodes if id(n) not in drop]
    for name in [t for t in g.tensors if t not in {i for n in g.nodes for i in n.inputs + n.outputs}
                 and not g.tensors[t].is_const and t not in g.inputs]:
        del g.tensors[name]
    fwd = tg.forward_nodes  # fused nodes all sit after the forward pass
    out = TrainingGraph(g, fwd, tg.logits, tg.label, tg.loss, dict(tg.updates), list(tg.saved))
    return out, len(drop)


def _dependencies(nodes: list[Node], available: set[str]) -> dict[int, set[int]]:
    """Node index -> indices it must follow: data dependencies, and for an in-place
    update, every other reader of the value it overwrites."""
    producer = {o: i for i, n in enumerate(nodes) for o in n.outputs}
    deps: dict[int, set[int]] = {}
    for i, n in enumerate(nodes):
        deps[i] = {producer[x] for x in n.inputs if x and x in producer and x not in available}
        if n.op in UPDATE_OPS:
            w = n.inputs[0]
            deps[i] |= {j for j, m in enumerate(nodes) if j != i and w in m.inputs}
    return deps


def reorder_backward(sg: Graph, forward_nodes: int) -> list[Node]:
    """List-schedule the nodes after the forward pass to free memory as early as possible."""
    head, tail = sg.nodes[:forward_nodes], sg.nodes[forward_nodes:]
    available = set(sg.inputs) | {o for n in head for o in n.outputs} | set(sg.constants())
    deps = _dependencies(tail, available)
    remaining_readers: dict[str, int] = {}
    for n in tail:
        for x in set(n.inputs):
            if x:
                remaining_readers[x] = remaining_readers.get(x, 0) + 1
    outputs = set(sg.outputs)
    sizes = {name: storage_bytes(sg, name) for n in tail for name in n.inputs + n.outputs if name}

    def gain(n: Node) -> int:
        freed = sum(sizes[x] for x in set(n.inputs) if x and remaining_readers[x] == 1
                    and x not in outputs and not sg.tensors[x].is_const and x not in sg.inputs)
        alloc = 0 if n.op in UPDATE_OPS or n.op == "reshape" else sum(sizes[o] for o in n.outputs)
        return freed - alloc

    done: set[int] = set()
    order: list[Node] = []
    while len(done) < len(tail):
        ready = [i for i in range(len(tail)) if i not in done and deps[i] <= done]
        best = max(ready, key=lambda i: (gain(tail[i]), -i))
        done.add(best)
        order.append(tail[best])
        for x in set(tail[best].inputs):
            if x:
                remaining_readers[x] -= 1
    return head + order


def depthwise_grad_in_place(node: Node, g: Graph) -> bool:
    """A depthwise input gradient as large as dy: its kernel can overwrite dy channel by
    channel with a one-channel buffer (tte_depthwise_grad_input_inplace_f32, TinyEngine's
    in-place depthwise), in the same summation order as the out-of-place kernel."""
    if node.op != "conv2d_grad_input":
        return False
    dy, w, dx = (g.tensors[t] for t in (node.inputs[0], node.inputs[1], node.outputs[0]))
    c = dx.shape[-1] if len(dx.shape) == 4 else 0
    return (len(dx.shape) == 4 and int(node.attrs["groups"]) == c
            and w.shape[0] == c and dx.shape == dy.shape and dx.dtype == dy.dtype == "float32")


def pointwise_grad_in_place(node: Node, g: Graph) -> bool:
    """A 1x1 conv's (stride 1, no padding, groups 1) input gradient: dX[p, :] = W^T dY[p, :]
    depends on pixel p of dy only, so its kernel can overwrite dy pixel by pixel with a
    one-pixel buffer (tte_pointwise_grad_input_inplace_f32; backwards when Cin > Cout), in
    the same summation order as the out-of-place kernel. The shared buffer is sized max."""
    if node.op != "conv2d_grad_input":
        return False
    dy, w, dx = (g.tensors[t] for t in (node.inputs[0], node.inputs[1], node.outputs[0]))
    a = node.attrs
    return (len(dx.shape) == 4 and len(dy.shape) == 4 and len(w.shape) == 4 and int(a["groups"]) == 1
            and w.shape[1:3] == (1, 1) and w.shape[0] == dy.shape[3] and w.shape[3] == dx.shape[3]
            and tuple(a["strides"]) == (1, 1) and tuple(int(p) for p in a["pads"]) == (0, 0, 0, 0)
            and dx.shape[:3] == dy.shape[:3] and dx.dtype == dy.dtype == "float32")


def choose_inplace(g: Graph, external: set[str]) -> dict[str, str]:
    """Output -> input pairs that may share storage in the graph's current node order."""
    last_use: dict[str, int] = {}
    for i, n in enumerate(g.nodes):
        for x in n.inputs:
            if x:
                last_use[x] = i
    outputs = set(g.outputs)
    inplace: dict[str, str] = {}
    taken: set[str] = set()
    for i, n in enumerate(g.nodes):
        out = n.outputs[0]
        if n.op == "dwpw_backward":   # tte.compiler.fuse: updates its 1x1 conv's weight and bias in place
            params = {"w": n.inputs[3], "b": n.inputs[5]}    # (and with a head, the depthwise's bias)
            if len(n.inputs) > 9 and n.inputs[9]:
                params["db"] = n.inputs[9]
            for o, role in zip(n.outputs, n.attrs["roles"]):
                if role in params:
                    inplace[o] = params[role]
        elif n.op == "pooled_update":   # tte.compiler.pooled: updates its bias and weight in place
            params = {"b": n.inputs[2], "w": n.inputs[3]}
            for o, role in zip(n.outputs, n.attrs["roles"]):
                if role in params:
                    inplace[o] = params[role]
        elif n.op in UPDATE_OPS:
            inplace[out] = n.inputs[0]
        elif n.op == "reshape":
            inplace[out] = n.inputs[0]
        elif (n.op in INPLACE_ELEMENTWISE and g.tensors[out].dtype == "float32") or (
                depthwise_grad_in_place(n, g)) or pointwise_grad_in_place(n, g):
            pointwise = pointwise_grad_in_place(n, g)
            for x in n.inputs[:1] if n.op in ("mask_grad", "conv2d_grad_input") else n.inputs:
                t = g.tensors[x]
                if (x not in external and x not in outputs and not t.is_const and last_use.get(x) == i
                        and t.dtype == "float32" and (pointwise or t.shape == g.tensors[out].shape)
                        and x not in taken and n.inputs.count(x) == 1):
                    inplace[out] = x
                    taken.add(x)
                    break
    return inplace


def pointwise_in_place(sg: ScheduledGraph) -> list[str]:
    """The outputs of 1x1 conv input gradients that ``sg`` computes in place of dy."""
    return [n.outputs[0] for n in sg.graph.nodes
            if pointwise_grad_in_place(n, sg.graph) and sg.inplace.get(n.outputs[0]) == n.inputs[0]]


def without_in_place(sg: ScheduledGraph, outputs: set[str]) -> ScheduledGraph:
    """``sg`` with ``outputs`` in buffers of their own (their in-place pairs dropped)."""
    return ScheduledGraph(sg.training, {k: v for k, v in sg.inplace.items() if k not in outputs},
                          sg.fused, sg.reordered)


def schedule(tg: TrainingGraph, *, reorder: bool = True, fuse: bool | None = None) -> ScheduledGraph:
    """Fuse (unless ``fuse`` is False; default: as ``reorder``), reorder, and pick in-place ops."""
    fuse = reorder if fuse is None else fuse
    fused = 0
    if fuse:
        tg, fused = fuse_updates(tg)
    else:
        tg = TrainingGraph(tg.graph.copy(), tg.forward_nodes, tg.logits, tg.label, tg.loss,
                           dict(tg.updates), list(tg.saved))
    if reorder:
        tg.graph.nodes = reorder_backward(tg.graph, tg.forward_nodes)
    tg.graph.validate()
    external = set(tg.graph.inputs) | set(tg.graph.constants())
    return ScheduledGraph(tg, choose_inplace(tg.graph, external), fused, reorder)


def schedule_inference(forward: Graph) -> ScheduledGraph:
    """The inference graph as-is (already in a lean order), with its reshape views."""
    g = forward.copy()
    tg = TrainingGraph(g, len(g.nodes), g.outputs[0], "", "", {}, [])
    external = set(g.inputs) | set(g.constants())
    return ScheduledGraph(tg, choose_inplace(g, external), 0, False)


def graph_macs(g: Graph, nodes: list[Node] | None = None,
               extra: dict[str, Tensor] | None = None) -> int:
    """Multiply-accumulates of conv/FC-like nodes (forward and backward), for the report.
    A fused node counts the MACs of the original nodes it stands for."""
    total = 0
    t = {**g.tensors, **(extra or {})}
    for n in g.nodes if nodes is None else nodes:
        chain = n.attrs.get("chain")
        if isinstance(chain, FusedChain):
            inner = {x.name: x for x in (*chain.intermediates, chain.output)}
            total += graph_macs(g, list(chain.nodes), {**(extra or {}), **inner})
            continue
        if n.op == "conv2d":
            w = t[n.inputs[1]].shape
            total += t[n.outputs[0]].size * w[1] * w[2] * w[3]
        elif n.op == "fully_connected":
            total += t[n.outputs[0]].size * t[n.inputs[1]].shape[1]
        elif n.op == "conv2d_grad_input":
            w = t[n.inputs[1]].shape
            total += t[n.inputs[0]].size * w[1] * w[2] * w[3]
        elif n.op == "fc_grad_input":
            total += t[n.inputs[0]].size * t[n.inputs[1]].shape[1]
        elif n.op in ("conv2d_grad_weight", "conv2d_weight_update"):
            dy = t[n.inputs[1] if n.op == "conv2d_grad_weight" else n.inputs[2]]
            out = t[n.outputs[0]] if n.op == "conv2d_grad_weight" else None
            if out is not None:
                per = out.size
            else:
                w = list(t[n.inputs[0]].shape)
                if n.attrs["out_channels"]:
                    w[0] = len(n.attrs["out_channels"])
                if n.attrs["in_channels"]:
                    w[3] = len(n.attrs["in_channels"])
                per = math.prod(w)
            total += per * int(np.prod(dy.shape[:-1]))
        elif n.op in ("fc_grad_weight", "fc_weight_update"):
            dy = t[n.inputs[1] if n.op == "fc_grad_weight" else n.inputs[2]]
            out_shape = list(t[n.outputs[0]].shape)
            if n.op == "fc_weight_update":
                if n.attrs["out_channels"]:
                    out_shape[0] = len(n.attrs["out_channels"])
                if n.attrs["in_channels"]:
                    out_shape[1] = len(n.attrs["in_channels"])
            total += math.prod(out_shape) * int(np.prod(dy.shape[:-1]))
    return total
