"""Kernel registry of the numpy reference executor: one function per (op, input dtype)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tte.ir import Node, Tensor


@dataclass
class KernelCtx:
    """What a kernel may look at besides its input values."""

    node: Node
    inputs: list[Tensor | None]   # IR descriptors (quant params, constant data)
    outputs: list[Tensor]

    @property
    def attrs(self) -> dict[str, Any]:
        return self.node.attrs


Kernel = Callable[[KernelCtx, list["np.ndarray | None"]], list[np.ndarray]]
KERNELS: dict[tuple[str, str], Kernel] = {}


def register(op: str, dtype: str) -> Callable[[Kernel], Kernel]:
    """Register a kernel for ``op`` when its first input has ``dtype``."""
    def deco(fn: Kernel) -> Kernel:
        KERNELS[(op, dtype)] = fn
        return fn
    return deco
