"""Compile-time autodiff: forward graph + loss -> training graph, in the same IR.

The backward pass is built from a table of small per-op rules (``RULES``). Only what the
update plan needs is built: a tensor gets a gradient only if some trainable parameter lies
upstream of it, so nothing below the first updated layer appears, a bias-only layer keeps
no input activation, and weight gradients cover only the selected channels.

Activation masks (ReLU/ReLU6) are computed right after the forward op that produced the
activation, so the training step saves one bit per element instead of the activation.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from tte.errors import TteError
from tte.ir import Graph, Node, Tensor
from tte.training.activation_rules import ACTIVATION_RULES
from tte.training.structural_rules import STRUCTURAL_RULES

LOSSES = ("softmax_ce", "mse")
ROUNDINGS = ("nearest", "stochastic")


@dataclass(frozen=True)
class ParamUpdate:
    """Which part of one parameter tensor is trained (empty tuples mean all)."""

    out_channels: tuple[int, ...] = ()
    in_channels: tuple[int, ...] = ()


@dataclass
class TrainingGraph:
    """The training graph and the names a trainer needs to drive it."""

    graph: Graph
    forward_nodes: int            # graph.nodes[:forward_nodes] are the (masked) forward pass
    logits: str
    label: str
    loss: str
    updates: dict[str, str]       # parameter name -> its updated tensor (written back in place)
    saved: list[str]              # forward tensors the backward pass reads
    state: dict[str, str] = field(default_factory=dict)  # optimizer state -> its updated tensor


class _Builder:
    def __init__(self, g: Graph) -> None:
        self.g = g
        self.grads: dict[str, str] = {}

    def op(self, op: str, inputs: list[str], out: str, attrs: dict | None = None,
           dtype: str | None = None) -> str:
        name = self.g.unique_name(out)
        self.g.add_node(op, inputs, name, attrs or {}, dtype=dtype)
        return name

    def accumulate(self, tensor: str, grad: str) -> None:
        """Sum the gradients a tensor gets from each of its consumers."""
        if tensor in self.grads:
            grad = self.op("add", [self.grads[tensor], grad], f"{tensor}@grad")
        self.grads[tensor] = grad


# A rule gets the builder, the forward node, dL/d(output), which inputs want a gradient,
# the update plan, and the mask tensor of a fused activation (if any).
Rule = Callable[[_Builder, Node, str, list[bool], dict[str, ParamUpdate]], None]


def _masked(b: _Builder, node: Node, dy: str) -> str:
    mask = b.g.meta.get("_masks", {}).get(node.outputs[0])
    return b.op("mask_grad", [dy, mask], f"{node.outputs[0]}@dz") if mask else dy


def _conv_rule(b: _Builder, node: Node, dy: str, want: list[bool], plan: dict[str, ParamUpdate]) -> None:
    dz = _masked(b, node, dy)
    x, w = node.inputs[0], node.inputs[1]
    bias = node.inputs[2] if len(node.inputs) > 2 else ""
    geo = {k: node.attrs[k] for k in ("strides", "pads", "dilations", "groups")}
    if want[0]:
        b.accumulate(x, b.op("conv2d_grad_input", [dz, w], f"{x}@grad",
                             {**geo, "input_shape": b.g.tensors[x].shape}))
    if want[1]:
        sel = plan[w]
        kh, kw = b.g.tensors[w].shape[1:3]
        b.accumulate(w, b.op("conv2d_grad_weight", [x, dz], f"{w}@grad",
                             {**geo, "kernel": (kh, kw), "out_channels": sel.out_channels,
                              "in_channels": sel.in_channels}))
    if bias and want[2]:
        b.accumulate(bias, b.op("bias_grad", [dz], f"{bias}@grad",
                                {"out_channels": plan[bias].out_channels}))


def _fc_rule(b: _Builder, node: Node, dy: str, want: list[bool], plan: dict[str, ParamUpdate]) -> None:
    dz = _masked(b, node, dy)
    x, w = node.inputs[0], node.inputs[1]
    bias = node.inputs[2] if len(node.inputs) > 2 else ""
    if want[0]:
        b.accumulate(x, b.op("fc_grad_input", [dz, w], f"{x}@grad"))
    if want[1]:
        sel = plan[w]
        b.accumulate(w, b.op("fc_grad_weight", [x, dz], f"{w}@grad",
                             {"out_channels": sel.out_channels, "in_channels": sel.in_channels}))
    if bias and want[2]:
        b.accumulate(bias, b.op("bias_grad", [dz], f"{bias}@grad",
                                {"out_channels": plan[bias].out_channels}))


def _reduce_to(b: _Builder, grad: str, target: str) -> str:
    shape = b.g.tensors[target].shape
    if b.g.tensors[grad].shape == shape:
        return grad
    return b.op("sum_to_shape", [grad], f"{target}@grad", {"shape": shape})


def _add_rule(b: _Builder, node: Node, dy: str, want: list[bool], plan: dict[str, ParamUpdate]) -> None:
    dz = _masked(b, node, dy)
    for i, x in enumerate(node.inputs):
        if want[i]:
            b.accumulate(x, _reduce_to(b, dz, x))


def _mul_rule(b: _Builder, node: Node, dy: str, want: list[bool], plan: dict[str, ParamUpdate]) -> None:
    dz = _masked(b, node, dy)
    x0, x1 = node.inputs

    def real(x: str) -> str:
        if b.g.tensors[x].dtype == "float32":
            return x
        return b.op("dequantize", [x], f"{x}@real", dtype="float32")

    if want[0]:
        b.accumulate(x0, _reduce_to(b, b.op("mul", [dz, real(x1)], f"{x0}@grad"), x0))
    if want[1]:
        b.accumulate(x1, _reduce_to(b, b.op("mul", [dz, real(x0)], f"{x1}@grad"), x1))


def _activation_rule(b: _Builder, node: Node, dy: str, want: list[bool], plan: dict[str, ParamUpdate]) -> None:
    if want[0]:
        b.accumulate(node.inputs[0], _masked(b, node, dy))


def _avgpool_rule(b: _Builder, node: Node, dy: str, want: list[bool], plan: dict[str, ParamUpdate]) -> None:
    if want[0]:
        x = node.inputs[0]
        attrs = {k: v for k, v in node.attrs.items() if k != "activation"}
        b.accumulate(x, b.op("avgpool2d_grad", [dy], f"{x}@grad",
                             {**attrs, "input_shape": b.g.tensors[x].shape}))


def _mean_rule(b: _Builder, node: Node, dy: str, want: list[bool], plan: dict[str, ParamUpdate]) -> None:
    if want[0]:
        x = node.inputs[0]
        b.accumulate(x, b.op("mean_grad", [dy], f"{x}@grad",
                             {**node.attrs, "input_shape": b.g.tensors[x].shape}))


def _reshape_rule(b: _Builder, node: Node, dy: str, want: list[bool], plan: dict[str, ParamUpdate]) -> None:
    if want[0]:
        x = node.inputs[0]
        b.accumulate(x, b.op("reshape", [dy], f"{x}@grad", {"shape": b.g.tensors[x].shape}))


def _transpose_rule(b: _Builder, node: Node, dy: str, want: list[bool], plan: dict[str, ParamUpdate]) -> None:
    if want[0]:
        perm = node.attrs["perm"]
        inverse = tuple(sorted(range(len(perm)), key=lambda i: perm[i]))
        b.accumulate(node.inputs[0], b.op("transpose", [dy], f"{node.inputs[0]}@grad", {"perm": inverse}))


def _pad_rule(b: _Builder, node: Node, dy: str, want: list[bool], plan: dict[str, ParamUpdate]) -> None:
    if want[0]:
        crop = tuple((-p0, -p1) for p0, p1 in node.attrs["pads"])
        b.accumulate(node.inputs[0], b.op("pad", [dy], f"{node.inputs[0]}@grad", {"pads": crop}))


def _softmax_rule(b: _Builder, node: Node, dy: str, want: list[bool], plan: dict[str, ParamUpdate]) -> None:
    if want[0]:
        b.accumulate(node.inputs[0], b.op("softmax_grad", [node.outputs[0], dy],
                                          f"{node.inputs[0]}@grad", dict(node.attrs)))


def _straight_through(b: _Builder, node: Node, dy: str, want: list[bool], plan: dict[str, ParamUpdate]) -> None:
    if want[0]:
        b.accumulate(node.inputs[0], dy)


RULES: dict[str, Rule] = {
    "conv2d": _conv_rule,
    "fully_connected": _fc_rule,
    "add": _add_rule,
    "mul": _mul_rule,
    "relu": _activation_rule,
    "clip": _activation_rule,
    "avgpool2d": _avgpool_rule,
    "mean": _mean_rule,
    "reshape": _reshape_rule,
    "transpose": _transpose_rule,
    "pad": _pad_rule,
    "softmax": _softmax_rule,
    "quantize": _straight_through,
    "dequantize": _straight_through,
}
RULES.update(STRUCTURAL_RULES)
RULES.update(ACTIVATION_RULES)


def _needs_mask(node: Node) -> dict[str, object] | None:
    if node.op == "relu":
        return {"activation": "relu"}
    if node.op == "clip":
        return {"activation": "none", "min": node.attrs["min"], "max": node.attrs["max"]}
    act = node.attrs.get("activation", "none")
    return {"activation": act} if act != "none" else None


def tensor_seed(seed: int, param: str) -> int:
    """The stochastic-rounding seed of one trained tensor: the run's seed mixed with the
    tensor's name, so no two tensors draw the same numbers for the same element and step
    (the draws are a hash of (seed, step, index); one shared seed would correlate them).
    Computed here, once, so the reference and the C read the same 32-bit value."""
    x = (seed ^ zlib.crc32(param.encode())) & 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x7FEB352D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x846CA68B) & 0xFFFFFFFF
    return x ^ (x >> 16)


def derive_training_graph(forward: Graph, plan: dict[str, ParamUpdate], *, loss: str = "softmax_ce",
                          lr: float = 0.01, qas: bool = True, rounding: str = "nearest",
                          seed: int = 0, momentum: float = 0.0) -> TrainingGraph:
    """Build forward + loss + pruned backward + SGD updates for the parameters in ``plan``.

    On an int8 graph the forward pass stays int8 (TFLite kernels), the logits are
    dequantized for the loss, gradients are real-valued float32, and quantized parameters
    get QAS updates (``qas``) rounded as ``rounding`` says ("nearest" or "stochastic").

    ``momentum`` > 0 keeps a float32 velocity per trained element (4 bytes each, which is why
    it is off by default) in ``TrainingGraph.state``; the C engine does not support it yet.
    """
    if not 0.0 <= momentum < 1.0:
        raise TteError(f"momentum must lie in [0, 1), got {momentum}")
    if loss not in LOSSES:
        raise TteError(f"unknown loss '{loss}' (known: {', '.join(LOSSES)})")
    if rounding not in ROUNDINGS:
        raise TteError(f"unknown rounding '{rounding}' (known: {', '.join(ROUNDINGS)})")
    if len(forward.outputs) != 1:
        raise TteError(f"training needs a single-output graph, '{forward.name}' has {len(forward.outputs)}")
    for p in plan:
        t = forward.tensors.get(p)
        if t is None or not t.is_const:
            raise TteError(f"'{p}' is not a parameter (constant tensor) of graph '{forward.name}'")
    g = forward.copy()
    g.name = f"{forward.name}.train"
    fwd_nodes = list(g.nodes)
    logits = g.outputs[0]
    while fwd_nodes and fwd_nodes[-1].op == "dequantize" and fwd_nodes[-1].outputs[0] == logits:
        # a float output of an int8 body: the loss dequantizes the int8 values itself
        logits = fwd_nodes[-1].inputs[0]
        fwd_nodes = fwd_nodes[:-1]
    if loss == "softmax_ce" and fwd_nodes and fwd_nodes[-1].op == "softmax" and fwd_nodes[-1].outputs[0] == logits:
        # the loss fuses softmax: train on the logits that feed the final softmax
        logits = fwd_nodes[-1].inputs[0]
        fwd_nodes = fwd_nodes[:-1]

    needs = set(plan)
    no_rule: list[Node] = []
    for node in fwd_nodes:
        if any(i in needs for i in node.inputs):
            if node.op not in RULES:
                no_rule.append(node)
            needs.update(node.outputs)
    if no_rule:
        ops = sorted({n.op for n in no_rule})
        raise TteError(f"no gradient rule for op{'s' if len(ops) > 1 else ''} {', '.join(ops)}: "
                       f"{'they lie' if len(no_rule) > 1 else 'it lies'} between the loss and a trained "
                       f"parameter (node{'s' if len(no_rule) > 1 else ''} {', '.join(n.name for n in no_rule)})",
                       node=no_rule[0].name)
    if logits not in needs:
        raise TteError("no trained parameter lies upstream of the loss")

    # forward pass, with a saved activation mask after each op whose gradient needs one
    g.nodes = []
    masks: dict[str, str] = {}
    b = _Builder(g)
    for node in fwd_nodes:
        g.nodes.append(node)
        spec = _needs_mask(node)
        if spec is not None and node.outputs[0] in needs:
            masks[node.outputs[0]] = b.op("act_mask", [node.outputs[0]], f"{node.outputs[0]}@mask",
                                          spec, dtype="bool")
    n_forward = len(g.nodes)
    g.meta["_masks"] = masks

    label_name = g.unique_name("label" if loss == "softmax_ce" else "target")
    lt = g.tensors[logits]
    if loss == "softmax_ce":
        g.add_tensor(Tensor(label_name, (lt.shape[0],), "int32"))
    else:
        g.add_tensor(Tensor(label_name, lt.shape, "float32"))
    g.inputs = [*g.inputs, label_name]
    real_logits = logits
    if lt.dtype != "float32":
        real_logits = b.op("dequantize", [logits], f"{logits}@real", dtype="float32")
    loss_name = b.op(f"{loss}_loss", [real_logits, label_name], "loss", dtype="float32")
    b.grads[logits] = b.op(f"{loss}_grad", [real_logits, label_name], f"{logits}@grad", dtype="float32")
    loss_end = len(g.nodes)

    for node in reversed(fwd_nodes):
        dy = b.grads.get(node.outputs[0])
        if dy is None:
            continue
        RULES[node.op](b, node, dy, [i in needs and i != "" for i in node.inputs], plan)

    step_input: list[str] = []
    if rounding == "stochastic" and any(g.tensors[p].quant is not None for p in plan):
        step_name = g.unique_name("step")
        g.add_tensor(Tensor(step_name, (1,), "int32"))
        g.inputs = [*g.inputs, step_name]
        step_input = [step_name]
    updates, state = {}, {}
    for p, sel in plan.items():
        quantized = g.tensors[p].quant is not None
        grad = b.grads[p]
        if momentum > 0:
            velocity = g.add_const(g.unique_name(f"{p}@velocity"), np.zeros(g.tensors[grad].shape, np.float32))
            grad = b.op("momentum", [velocity.name, grad], f"{p}@velocity_new", {"momentum": momentum})
            state[velocity.name] = grad
        updates[p] = b.op("sgd_update", [p, grad, *(step_input if quantized else [])], f"{p}@updated",
                          {"lr": lr, "out_channels": sel.out_channels, "in_channels": sel.in_channels,
                           "qas": qas, "rounding": rounding, "seed": tensor_seed(seed, p)})
    del g.meta["_masks"]
    g.outputs = [loss_name, *updates.values(), *state.values()]
    # the loss reads the logits right away; "saved" is what must outlive the forward pass
    backward_reads = {i for n in g.nodes[loss_end:] for i in n.inputs}
    saved = [n.outputs[0] for n in g.nodes[:n_forward] if n.outputs[0] in backward_reads]
    g.validate()
    return TrainingGraph(g, n_forward, logits, label_name, loss_name, updates, saved, state)
