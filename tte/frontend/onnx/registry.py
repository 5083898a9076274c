"""The converter table: one function per ONNX op type, registered with ``@_converter``.

Each converter reads ONNX inputs through the importer and emits IR nodes; ``qout`` is set
when the node is emitted as an int8 op of a QDQ group. ``emits`` declares the IR ops a
converter produces for its op (besides the layout glue ``GLUE_OPS``; empty: the op folds
away or becomes an alias); ``tte ops`` lists it, and the importer records what each
import really produced (``Graph.meta["op_sources"]``) so tests hold the declaration true.
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
EMITS: dict[str, tuple[str, ...]] = {}
# IR ops any converter may add to move values between layouts and number formats
GLUE_OPS = ("transpose", "reshape", "quantize", "dequantize")
# ONNX ops evaluated at import when their inputs are constant (or, for these, always)
FOLDED_OPS = ("Constant", "Shape", "Size")


def _converter(*ops: str, emits: tuple[str, ...] | None = None) -> Callable[[Converter], Converter]:
    """Register ``fn`` for ONNX ``ops``; without ``emits``, an op whose lower-case name is an
    IR op is taken to become that op (Relu -> relu), any other to become nothing."""
    from tte.ir import OPS

    def deco(fn: Converter) -> Converter:
        for op in ops:
            _CONVERTERS[op] = fn
            EMITS[op] = emits if emits is not None else ((op.lower(),) if op.lower() in OPS else ())
        return fn
    return deco
