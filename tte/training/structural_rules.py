"""Gradient rules of the structural ops (concat, slice, max pool), in the form of
``tte.training.autodiff.RULES``: (builder, forward node, dL/d(output), which inputs want a
gradient, update plan).

concat's gradient is a slice of dy per input; slice's is dy padded back with zeros (unit
strides only); max pool routes dy to the first largest input of each window, recomputed
from the saved input in the backward pass.
"""

from __future__ import annotations

from typing import Any

from tte.errors import TteError
from tte.ir import Node


def _masked(b: Any, node: Node, dy: str) -> str:
    """dy through the mask of the node's fused activation, if it has one."""
    mask = b.g.meta.get("_masks", {}).get(node.outputs[0])
    return b.op("mask_grad", [dy, mask], f"{node.outputs[0]}@dz") if mask else dy


def concat_rule(b: Any, node: Node, dy: str, want: list[bool], plan: dict[str, Any]) -> None:
    shape = b.g.tensors[node.outputs[0]].shape
    axis = int(node.attrs["axis"]) % len(shape)
    start = 0
    for i, x in enumerate(node.inputs):
        size = b.g.tensors[x].shape[axis]
        if want[i]:
            begin = tuple(start if k == axis else 0 for k in range(len(shape)))
            end = tuple(start + size if k == axis else d for k, d in enumerate(shape))
            b.accumulate(x, b.op("slice", [dy], f"{x}@grad", {"begin": begin, "end": end,
                                                                "strides": (1,) * len(shape)}))
        start += size


def slice_rule(b: Any, node: Node, dy: str, want: list[bool], plan: dict[str, Any]) -> None:
    if not want[0]:
        return
    x = node.inputs[0]
    if any(int(s) != 1 for s in node.attrs["strides"]):
        raise TteError(f"no gradient rule for a strided slice (strides {tuple(node.attrs['strides'])}); "
                       "it lies between the loss and a trained parameter", node=node.name)
    shape = b.g.tensors[x].shape
    pads = tuple((int(s), int(d) - int(e)) for s, e, d in zip(node.attrs["begin"], node.attrs["end"], shape))
    b.accumulate(x, b.op("pad", [dy], f"{x}@grad", {"pads": pads}))


def maxpool_rule(b: Any, node: Node, dy: str, want: list[bool], plan: dict[str, Any]) -> None:
    if not want[0]:
        return
    x = node.inputs[0]
    attrs = {k: v for k, v in node.attrs.items() if k != "activation"}
    b.accumulate(x, b.op("maxpool2d_grad", [_masked(b, node, dy), x], f"{x}@grad", attrs, dtype="float32"))


STRUCTURAL_RULES = {"concat": concat_rule, "slice": slice_rule, "maxpool2d": maxpool_rule}
