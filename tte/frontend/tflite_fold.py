"""Fold a TFLite model's constant shape arithmetic at import.

Keras' Reshape/Flatten with a dynamic batch is converted to ``SHAPE -> STRIDED_SLICE ->
PACK -> RESHAPE``: the batch is read at run time. Once the batch is fixed to 1
(tte.frontend.tflite._fix_batch) every input of that chain is known, so the chain is
evaluated here and its result stored as a constant tensor; the operators disappear.
Only operators whose inputs are all known are folded; anything else is left for the
converters (and refused there if unsupported).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import tflite

from tte.errors import TteError

if TYPE_CHECKING:
    from tte.frontend.tflite import _Model, _RawOp, _RawTensor

__all__ = ["fold_shape_arithmetic", "FOLDABLE_OPS"]

_NP = {tflite.TensorType.INT32: np.int32, tflite.TensorType.INT64: np.int64,
       tflite.TensorType.FLOAT32: np.float32, tflite.TensorType.INT8: np.int8}


def _value(r: _RawTensor) -> np.ndarray:
    return np.frombuffer(r.data, dtype=_NP[r.ttype]).reshape(r.shape)


def _shape(op: _RawOp, ins: list[_RawTensor], out: _RawTensor) -> np.ndarray:
    return np.array(ins[0].shape, dtype=_NP[out.ttype])


def _strided_slice(op: _RawOp, ins: list[_RawTensor], out: _RawTensor) -> np.ndarray:
    o = op.options
    if o is not None and (o.EllipsisMask() or o.NewAxisMask() or getattr(o, "Offset", lambda: False)()):
        raise ValueError("ellipsis/new-axis/offset masks")
    x = _value(ins[0])
    begin, end, strides = (_value(r).astype(np.int64).ravel() for r in ins[1:4])
    bmask, emask, shrink = (0, 0, 0) if o is None else (o.BeginMask(), o.EndMask(), o.ShrinkAxisMask())
    index: list[Any] = []
    for axis in range(len(begin)):
        if shrink >> axis & 1:
            index.append(int(begin[axis]))
            continue
        b = None if bmask >> axis & 1 else int(begin[axis])
        e = None if emask >> axis & 1 else int(end[axis])
        index.append(slice(b, e, int(strides[axis])))
    return np.asarray(x[tuple(index)], dtype=_NP[out.ttype])


def _pack(op: _RawOp, ins: list[_RawTensor], out: _RawTensor) -> np.ndarray:
    axis = int(op.options.Axis()) if op.options is not None else 0
    return np.stack([_value(r) for r in ins], axis=axis).astype(_NP[out.ttype])


_FOLDERS: dict[str, Callable[[_RawOp, list[_RawTensor], _RawTensor], np.ndarray]] = {
    "SHAPE": _shape, "STRIDED_SLICE": _strided_slice, "PACK": _pack}
FOLDABLE_OPS = tuple(sorted(_FOLDERS))


def _foldable(m: _Model, op: _RawOp) -> bool:
    if op.name not in _FOLDERS or len(op.outputs) != 1 or op.outputs[0] < 0:
        return False
    out = m.tensors[op.outputs[0]]
    if out.ttype not in _NP or op.outputs[0] in m.outputs:
        return False
    ins = [m.tensors[i] for i in op.inputs if i >= 0]
    if op.name == "SHAPE":
        return len(ins) == 1 and all(d >= 0 for d in ins[0].shape)
    return bool(ins) and all(r.data and r.ttype in _NP for r in ins)


def fold_shape_arithmetic(m: _Model, file: str) -> list[str]:
    """Evaluate foldable operators in order (later ones see earlier results); returns notes."""
    folded: list[str] = []
    keep = []
    for op in m.ops:
        if not _foldable(m, op):
            keep.append(op)
            continue
        out = m.tensors[op.outputs[0]]
        try:
            value = _FOLDERS[op.name](op, [m.tensors[i] for i in op.inputs if i >= 0], out)
        except (ValueError, IndexError) as e:
            raise TteError(f"operator {op.index} ({op.name}): cannot fold constant shape arithmetic ({e})",
                           file=file) from None
        if value.size != int(np.prod(out.shape, dtype=np.int64)):
            raise TteError(f"operator {op.index} ({op.name}): folds to {value.shape}, the file declares "
                           f"{list(out.shape)}", file=file)
        out.data = np.ascontiguousarray(value).reshape(out.shape).tobytes()
        folded.append(op.name)
    m.ops = keep
    if not folded:
        return []
    return [f"constant shape arithmetic folded at import: {' -> '.join(folded)}"]
