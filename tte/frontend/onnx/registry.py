"""The converter table: one function per ONNX op type, registered with ``@_converter``.

Each converter reads ONNX inputs through the importer and emits IR nodes; ``qout`` is set
when the node is emitted as an int8 op of a QDQ group.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import onnx

if TYPE_CHECKING:
    from tte.frontend.onnx.context import ImportContext
    from tte.frontend.onnx.values import _QOut

Converter = Callable[["ImportContext", onnx.NodeProto, "_QOut | None"], None]
_CONVERTERS: dict[str, Converter] = {}


def _converter(*ops: str) -> Callable[[Converter], Converter]:
    def deco(fn: Converter) -> Converter:
        for op in ops:
            _CONVERTERS[op] = fn
        return fn
    return deco
