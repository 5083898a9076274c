"""Trained weights back into the user's ONNX model: the same file with the trained
initializers replaced, everything else (ops, names, quantization, metadata) kept.

tte's ONNX importer re-lays weights (a Conv's OIHW becomes OHWI, a Gemm's [K, N] becomes
[N, K]); the layout of each initializer is found by matching the compiled model's tensor
against it, and the written file is imported again and must hold the device's tensors
exactly. A QDQ model's int8 weights and int32 biases are stored as they are; a float bias
(one the importer rounded to int32 itself) is stored as int32 * scale in float32 only when
importing it gives the same int32 back, otherwise the ONNX cannot hold the device's bias and
the error says so (the .tflite can).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from tte.errors import TteError
from tte.ir import Graph

TTE_KEY = "tte"  # metadata_props key of the files tte wrote


def _layout(init: np.ndarray, ir: np.ndarray) -> tuple[int, ...] | None:
    """The permutation p with init.transpose(p) == ir, or None."""
    for p in itertools.permutations(range(init.ndim)):
        t = init.transpose(p)
        if t.shape == ir.shape and np.array_equal(t, ir):
            return p
    return None


def trained_onnx(source: str | Path, compiled: Graph, trained: Graph, names: list[str]) -> bytes:
    """The source ONNX with ``names`` taken from ``trained`` (``compiled`` holds their values
    as imported from ``source``, to find each initializer's layout)."""
    import tte

    model = onnx.load(str(source))
    inits = {i.name: i for i in model.graph.initializer}
    for name in names:
        if name not in inits:
            raise TteError(f"trained tensor '{name}' is not an initializer of the ONNX model; write a .tflite",
                           file=str(source))
        init = inits[name]
        old = numpy_helper.to_array(init)
        ir_old, ir_new = compiled.tensors[name], trained.tensors[name]
        assert ir_old.data is not None and ir_new.data is not None
        if old.dtype.kind in "iu":
            perm = _layout(old, ir_old.data)
            if perm is None:
                raise TteError(f"cannot find how initializer '{name}' maps to the compiled tensor; write a .tflite",
                               file=str(source))
            new = np.ascontiguousarray(ir_new.data.transpose(np.argsort(perm))).astype(old.dtype)
        else:
            q = ir_new.quant
            if q is None or ir_new.data.ndim != 1 or old.size != ir_new.data.size:
                raise TteError(f"float initializer '{name}' has no int8 counterpart to write back; write a .tflite",
                               file=str(source))
            new = (ir_new.data.astype(np.float64) * q.scale.astype(np.float64)).astype(old.dtype).reshape(old.shape)
        init.CopyFrom(numpy_helper.from_array(new, name))
    kept = [p for p in model.metadata_props if p.key != TTE_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    model.metadata_props.add(key=TTE_KEY, value="weights pull")
    data = model.SerializeToString()
    back = tte.load(data)
    for name in names:
        got, want = back.tensors[name].data, trained.tensors[name].data
        if got is None or want is None or got.dtype != want.dtype or not np.array_equal(got, want):
            raise TteError(f"the ONNX model cannot hold the trained '{name}' exactly (a float initializer "
                           "rounds differently when imported); write a .tflite instead", file=str(source))
    return data


def is_tte_onnx(path: Path) -> bool:
    """An .onnx that tte wrote (its metadata carries the "tte" key)."""
    try:
        m = onnx.load(str(path), load_external_data=False)
    except Exception:  # noqa: BLE001  (a file that does not parse is not ours)
        return False
    return any(p.key == TTE_KEY for p in m.metadata_props)
