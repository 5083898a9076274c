"""Axis-permutation helpers for mapping NCHW source values onto NHWC IR tensors.

A permutation ``p`` attached to an IR tensor means ``source = np.transpose(ir, p)``;
``None`` means the IR tensor is already in source order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Perm = tuple[int, ...] | None

NCHW_FROM_NHWC: tuple[int, ...] = (0, 3, 1, 2)


def norm(perm: Sequence[int] | None) -> Perm:
    """Identity permutations become None so equal layouts compare equal."""
    if perm is None:
        return None
    p = tuple(int(i) for i in perm)
    return None if p == tuple(range(len(p))) else p


def full(perm: Perm, rank: int) -> tuple[int, ...]:
    return tuple(range(rank)) if perm is None else perm


def inverse(perm: Perm, rank: int) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argsort(full(perm, rank)))


def compose(first: Perm, then: Perm, rank: int) -> Perm:
    """The single perm equal to transposing by ``first`` and then by ``then``."""
    f, t = full(first, rank), full(then, rank)
    return norm(tuple(f[i] for i in t))


def convert(cur: Perm, want: Perm, rank: int) -> Perm:
    """Perm q with ``ir_want = ir_cur.transpose(q)`` for the same source value."""
    return compose(cur, inverse(want, rank), rank)


def source_shape(ir_shape: Sequence[int], perm: Perm) -> tuple[int, ...]:
    return tuple(int(ir_shape[i]) for i in full(perm, len(ir_shape)))


def ir_shape(src_shape: Sequence[int], perm: Perm) -> tuple[int, ...]:
    return tuple(int(src_shape[i]) for i in inverse(perm, len(src_shape)))


def to_ir(array: np.ndarray, perm: Perm) -> np.ndarray:
    """A source-order constant laid out like an IR tensor with this perm."""
    return array if perm is None else np.ascontiguousarray(np.transpose(array, inverse(perm, array.ndim)))


def is_free(ir_shape_: Sequence[int], perm: Perm) -> bool:
    """True when transposing to source order moves no data (only size-1 axes move), so a
    reshape of the IR array equals a reshape of the source array."""
    order = [i for i in full(perm, len(ir_shape_)) if ir_shape_[i] != 1]
    return order == sorted(order)
