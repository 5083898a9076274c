"""Conversion between the source model's layout (e.g. ONNX NCHW) and the IR's (NHWC).

A graph input or output with ``source_perm`` p holds ``source = np.transpose(ir, p)``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from tte.errors import TteError
from tte.ir import Graph, Tensor


def to_ir(t: Tensor, source: np.ndarray) -> np.ndarray:
    if t.source_perm is None:
        return source
    return np.ascontiguousarray(np.transpose(source, np.argsort(t.source_perm)))


def to_source(t: Tensor, ir: np.ndarray) -> np.ndarray:
    if t.source_perm is None:
        return ir
    return np.ascontiguousarray(np.transpose(ir, t.source_perm))


def source_shape(t: Tensor) -> tuple[int, ...]:
    if t.source_perm is None:
        return t.shape
    return tuple(t.shape[p] for p in t.source_perm)


def feeds_to_ir(graph: Graph, xs: np.ndarray | Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Name the feeds (one array for a one-input graph) and put them in IR layout.

    A single sample without its batch axis is accepted and given one.
    """
    if not isinstance(xs, Mapping):
        if len(graph.inputs) != 1:
            raise TteError(f"graph has {len(graph.inputs)} inputs ({', '.join(graph.inputs)}): "
                           "pass a dict of arrays")
        xs = {graph.inputs[0]: xs}
    out = {}
    for name in graph.inputs:
        if name not in xs:
            raise TteError(f"no data for graph input '{name}'")
        t = graph.tensors[name]
        arr = np.asarray(xs[name])
        want = source_shape(t)
        if arr.ndim == len(want) - 1 and arr.shape == want[1:]:
            arr = arr[None]
        if arr.ndim != len(want) or arr.shape[1:] != want[1:]:
            raise TteError(f"input '{name}' expects shape (N, {', '.join(map(str, want[1:]))}) "
                           f"in the model's layout, got {arr.shape}")
        out[name] = to_ir(t, arr)
    return out
