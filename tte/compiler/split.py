"""Split weights: a partially trained layer keeps only its trained slice in SRAM.

The paper's schemes train a ratio of a 1x1 expand conv's *input* channels, so trained and
frozen weights interleave inside every output row. Held whole, the layer's weight would
have to live in SRAM (it is written). Instead, at compile time the weight
``[Cout, kh, kw, Cin]`` becomes two dense arrays (csrc/include/tte/split.h)::

    upd    [Cout, kh, kw, n_sel]        the trained input channels (SRAM, non-const)
    frozen [Cout, kh, kw, Cin - n_sel]  the others (flash, const)

plus the channel index lists. The kernels that read such a weight have split variants
(``tte_conv2d_s8_split``, ``tte_block_s8_split``, ``tte_dwpw_backward[_head]_split_s8``):
the int8 forward sums integers (order-free, the same bytes); the float input gradient of a
1x1 conv sums, for each input channel, over output channels in the same order (splitting the
input channels changes no sum); the fused update writes the trained column in ``upd``.

A weight is split only when every node that reads it has a split variant (the forward
``conv2d`` with groups 1, a ``streamed_block`` whose first conv it is, a ``dwpw_backward``
whose 1x1 conv it is, updating the input channels only); otherwise it stays whole in SRAM,
as before. Checkpoints (``tte_get_weights`` / ``tte_set_weights``) and
``tte_trainable_crc32`` still cover the whole tensors in plan order (the frozen bytes are
gathered from flash; setting weights writes the trained channels only), so the Trainer's
``weights_crc32``, the simulator and the QEMU engine agree without knowing about splits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tte.ir import FusedChain, Graph, Node
from tte.training.autodiff import TrainingGraph


@dataclass(frozen=True)
class SplitWeight:
    """One split int8 weight [Cout, kh, kw, Cin] whose input channels ``sel`` are trained."""

    param: str
    shape: tuple[int, ...]
    sel: tuple[int, ...]

    @property
    def in_c(self) -> int:
        return self.shape[-1]

    @property
    def rows(self) -> int:
        return math.prod(self.shape[:-1])

    @property
    def frz(self) -> tuple[int, ...]:
        chosen = set(self.sel)
        return tuple(c for c in range(self.in_c) if c not in chosen)

    @property
    def where(self) -> tuple[int, ...]:
        """Column of channel c in upd (>= 0) or -1 - its column in frozen."""
        pos = {c: i for i, c in enumerate(self.sel)}
        fpos = {c: i for i, c in enumerate(self.frz)}
        return tuple(pos[c] if c in pos else -1 - fpos[c] for c in range(self.in_c))

    @property
    def sram_bytes(self) -> int:
        return self.rows * len(self.sel)

    def parts(self, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(upd, frozen) of the whole weight, each [rows, n] C-contiguous."""
        w = np.asarray(data).reshape(self.rows, self.in_c)
        return (np.ascontiguousarray(w[:, list(self.sel)]), np.ascontiguousarray(w[:, list(self.frz)]))


def _chain(node: Node) -> FusedChain | None:
    c = node.attrs.get("chain")
    return c if isinstance(c, FusedChain) else None


def _reader_ok(node: Node, p: str) -> tuple[bool, tuple[int, ...] | None]:
    """(whether node may read p as a split weight, the trained channels it updates)."""
    positions = [i for i, t in enumerate(node.inputs) if t == p]
    if node.op == "conv2d":
        return positions == [1] and int(node.attrs["groups"]) == 1, None
    if node.op == "streamed_block":
        chain = _chain(node)
        if positions != [1] or chain is None:
            return False, None
        first = chain.nodes[0]
        return first.op == "conv2d" and first.inputs[1] == p and int(first.attrs["groups"]) == 1, None
    if node.op == "dwpw_backward":
        from tte.compiler.emit import _dwpw_parts

        if positions != [3]:
            return False, None
        u = _dwpw_parts(node).get("u")
        if u is None:
            return True, None
        if u.attrs["out_channels"] or not u.attrs["in_channels"]:
            return False, None
        return True, tuple(int(c) for c in u.attrs["in_channels"])
    return False, None


def split_weights(tg: TrainingGraph, graphs: Sequence[Graph]) -> dict[str, SplitWeight]:
    """The trained weights that are split (param -> SplitWeight), for the scheduled
    training and inference graphs the C code is generated from."""
    fwd = tg.graph
    out: dict[str, SplitWeight] = {}
    for p in tg.updates:
        t = fwd.tensors[p]
        if t.dtype != "int8" or len(t.shape) != 4 or t.data is None or t.quant is None:
            continue
        if np.any(t.quant.zero_point != 0):
            continue
        ok, sel = True, None
        for g in graphs:
            for n in g.nodes:
                if p not in n.inputs:
                    continue
                good, s = _reader_ok(n, p)
                if not good or (s is not None and sel is not None and s != sel):
                    ok = False
                    break
                sel = s if s is not None else sel
            if not ok:
                break
        if not ok or sel is None or not 0 < len(sel) < t.shape[-1] or list(sel) != sorted(set(sel)):
            continue
        out[p] = SplitWeight(p, tuple(int(d) for d in t.shape), sel)
    return out
