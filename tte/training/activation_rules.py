"""Gradient rules of the activation family (logistic, tanh, hard_swish, leaky_relu, gelu,
sub, maximum, minimum), in the form of ``tte.training.autodiff.RULES``: (builder, forward
node, dL/d(output), which inputs want a gradient, update plan).

A unary activation's input gradient is ``dy * f'``, with f' read from the op's output
(logistic, tanh: one saved int8 tensor, no extra buffer when the next layer saves it too) or
its input (the others). maximum/minimum route dy to the input that won, half to each on a tie.
"""

from __future__ import annotations

from typing import Any

from tte.ir import Node
from tte.reference.activation_grads import READS_OUTPUT


def _masked(b: Any, node: Node, dy: str) -> str:
    """dy through the mask of the node's fused activation, if it has one."""
    mask = b.g.meta.get("_masks", {}).get(node.outputs[0])
    return b.op("mask_grad", [dy, mask], f"{node.outputs[0]}@dz") if mask else dy


def _reduce_to(b: Any, grad: str, target: str) -> str:
    """A broadcast operand's gradient summed back to its shape."""
    shape = b.g.tensors[target].shape
    if b.g.tensors[grad].shape == shape:
        return grad
    return str(b.op("sum_to_shape", [grad], f"{target}@grad", {"shape": shape}))


def unary_rule(b: Any, node: Node, dy: str, want: list[bool], plan: dict[str, Any]) -> None:
    if not want[0]:
        return
    fn = "gelu_tanh" if node.op == "gelu" and node.attrs["approximate"] else node.op
    t = node.outputs[0] if READS_OUTPUT[fn] else node.inputs[0]
    x = node.inputs[0]
    b.accumulate(x, b.op("activation_grad", [t, dy], f"{x}@grad",
                         {"fn": fn, "alpha": float(node.attrs.get("alpha", 0.01))}, dtype="float32"))


def sub_rule(b: Any, node: Node, dy: str, want: list[bool], plan: dict[str, Any]) -> None:
    dz = _masked(b, node, dy)
    x0, x1 = node.inputs
    if want[0]:
        b.accumulate(x0, _reduce_to(b, dz, x0))
    if want[1]:
        b.accumulate(x1, _reduce_to(b, b.op("neg", [dz], f"{x1}@neg", dtype="float32"), x1))


def minmax_rule(b: Any, node: Node, dy: str, want: list[bool], plan: dict[str, Any]) -> None:
    for i, x in enumerate(node.inputs):
        if want[i]:
            g = b.op("minmax_grad", [*node.inputs, dy], f"{x}@grad", {"op": node.op, "input": i},
                     dtype="float32")
            b.accumulate(x, _reduce_to(b, g, x))


ACTIVATION_RULES: dict[str, Any] = {
    **{op: unary_rule for op in ("logistic", "tanh", "hard_swish", "leaky_relu", "gelu")},
    "sub": sub_rule, "maximum": minmax_rule, "minimum": minmax_rule}
