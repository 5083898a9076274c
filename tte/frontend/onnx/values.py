"""Records for where ONNX values live in the IR, and node-attribute helpers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx

from tte.frontend.layout import Perm
from tte.ir import QuantParams


@dataclass
class _Val:
    """Where an ONNX value lives: an IR tensor, its perm, and whether the ONNX value is
    the dequantized (float) view of that int8 tensor."""

    ir: str
    perm: Perm = None
    deq: bool = False


@dataclass
class _QConst:
    """An integer constant and the DequantizeLinear parameters that give it meaning."""

    q: np.ndarray
    scale: np.ndarray
    zero_point: np.ndarray
    axis: int | None
    source: str = ""  # the integer initializer's name


@dataclass
class _QOut:
    """A node whose output is requantized: emit it as an int8 op named after the Q output."""

    name: str
    quant: QuantParams
    activation: str
    absorbed: list[onnx.NodeProto]


def _attrs(node: onnx.NodeProto) -> dict[str, Any]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _ints(v: Any) -> tuple[int, ...]:
    return tuple(int(i) for i in v)
