"""Numpy execution of any IR graph, float and int8: the oracle the C code is checked against.

Kernels live in ``float_ops`` and ``int8_ops``; each registers itself for an
``(op, first-input dtype)`` pair. Arrays are in IR layout (NHWC); ``tte.run`` converts
from and to the source model's layout.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from tte.errors import GraphError, UnsupportedOpError
from tte.ir import Graph
from tte.reference import (  # noqa: F401  (they register kernels)
    activation_grads,
    activation_ops,
    float_ops,
    fused_ops,
    grad_ops,
    int8_ops,
    structural_ops,
)
from tte.reference.registry import KERNELS, KernelCtx


def execute(graph: Graph, feeds: Mapping[str, np.ndarray], *,
            keep_all: bool = False) -> dict[str, np.ndarray]:
    """Run ``graph`` on IR-layout arrays; return the graph outputs (every tensor if keep_all).

    The leading (batch) axis may differ from the static shape when the graph's static batch
    is 1: kernels are batch-agnostic and reshapes keep the run's batch.
    """
    values: dict[str, np.ndarray] = {}
    for name in graph.inputs:
        if name not in feeds:
            raise GraphError(f"no value fed for graph input '{name}'")
        t = graph.tensors[name]
        arr = np.asarray(feeds[name])
        if arr.dtype != np.dtype(t.dtype):
            raise GraphError(f"input '{name}' expects {t.dtype}, got {arr.dtype}")
        if arr.shape[1:] != t.shape[1:] or (arr.shape[0] != t.shape[0] and t.shape[0] != 1):
            raise GraphError(f"input '{name}' expects shape {t.shape}, got {arr.shape}")
        values[name] = arr
    for name, t in graph.tensors.items():
        if t.data is not None:
            values[name] = t.data
    missing = sorted({n.op for n in graph.nodes
                      if (n.op, _key_dtype(graph, n)) not in KERNELS})
    if missing:
        raise UnsupportedOpError(missing, detail="no reference kernel for this dtype")
    for node in graph.nodes:
        kernel = KERNELS[(node.op, _key_dtype(graph, node))]
        ctx = KernelCtx(node, [graph.tensors[i] if i else None for i in node.inputs],
                        [graph.tensors[o] for o in node.outputs])
        outs = kernel(ctx, [values[i] if i else None for i in node.inputs])
        for name, arr in zip(node.outputs, outs):
            values[name] = arr
        if not keep_all:
            _free_dead(graph, node, values)
    if keep_all:
        return values
    return {o: values[o] for o in graph.outputs}


def _key_dtype(graph: Graph, node) -> str:  # type: ignore[no-untyped-def]
    return graph.tensors[node.inputs[0]].dtype


def _free_dead(graph: Graph, done, values: dict[str, np.ndarray]) -> None:  # type: ignore[no-untyped-def]
    """Drop activations no later node reads, to keep big-batch runs small."""
    idx = graph.nodes.index(done)
    later = {i for n in graph.nodes[idx + 1:] for i in n.inputs}
    for name in done.inputs:
        if name and name not in later and name not in graph.outputs and not graph.tensors[name].is_const:
            values.pop(name, None)
