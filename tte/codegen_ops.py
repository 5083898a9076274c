"""How each IR op of a (scheduled) training graph becomes C: per-op emitters.

This is the interface between the kernels in ``csrc/`` and the generator in
``tte.codegen``. The generator decides *where* every tensor lives (arena offset, weight
array, input pointer) and hands that over as ``ref``; an emitter decides *how* to call the
kernel: it precomputes parameters at compile time (requantization multipliers and shifts,
activation ranges, scales) as static const data and returns the statements of the call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tte.ir import Graph, Node


@dataclass
class Emitted:
    """C code for one node: file-scope declarations and statements inside a step function."""

    decls: list[str] = field(default_factory=list)
    call: list[str] = field(default_factory=list)


# ref(tensor_name) -> a C expression that points at the tensor's storage, typed for its
# dtype (e.g. "(int8_t *)(tte_arena + 1024)", "w_blocks_2_project_weight", "in").
Ref = Callable[[str], str]
Emitter = Callable[[Node, Graph, Ref, str], Emitted]   # node, graph, ref, C-safe prefix for names
EMITTERS: dict[str, Emitter] = {}
