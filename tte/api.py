"""The public Python API: load, quantize, run, export, compile."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from tte.errors import ModelFormatError, TteError
from tte.ir import Graph
from tte.layout import feeds_to_ir, source_shape, to_source

_TFLITE_MAGIC = b"TFL3"


def load(source: str | os.PathLike[str] | bytes, *, name: str | None = None) -> Graph:
    """Read an ONNX (float or QDQ) or int8 TFLite model into a tte Graph."""
    path = None
    if isinstance(source, bytes):
        data = source
    else:
        path = Path(source)
        if not path.is_file():
            raise TteError("no such model file", file=str(path))
        data = path.read_bytes()
        name = name or path.stem
    where = str(path) if path else "<bytes>"
    if len(data) < 8:
        raise ModelFormatError(f"file is too short to be a model ({len(data)} bytes)", file=where)
    try:
        if data[4:8] == _TFLITE_MAGIC or (path is not None and path.suffix == ".tflite"):
            from tte.frontend.tflite import load_tflite
            g = load_tflite(data, name=name)
        else:
            from tte.frontend.onnx import load_onnx
            g = load_onnx(data, name=name, base_dir=path.parent if path is not None else None)
    except TteError as e:
        if e.file in (None, "<bytes>"):
            e.file = None
        e.at(file=where)
        raise
    g.meta.setdefault("source_file", where)
    return g


def quantize(graph: Graph, calibration: np.ndarray | Mapping[str, np.ndarray] | Iterable[object], *,
             headroom: float = 1.0) -> Graph:
    """Post-training int8 quantization; ``calibration`` is in the source model's layout.

    ``calibration`` is an array of samples ``(N, ...)``, a dict of them by input name, or an
    iterable of batches as TFLite's representative dataset gives them: arrays ``(1, C, H, W)``
    (or ``(C, H, W)``), or lists/tuples holding one array per model input.

    ``headroom`` < 1 (e.g. 0.75) leaves room for on-device training to grow weights and
    activations (see tte.numerics.quantize.quantize_graph)."""
    from tte.numerics.quantize import quantize_graph
    arrays = _calibration_arrays(graph, calibration)
    for a in arrays.values() if isinstance(arrays, dict) else [arrays]:
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            raise TteError("calibration data holds NaN or Inf")
    return quantize_graph(graph, arrays, headroom=headroom)


def _calibration_arrays(graph: Graph, calibration: object) -> np.ndarray | dict[str, np.ndarray]:
    """One array (or one per input) from any of the forms quantize() accepts."""
    if isinstance(calibration, np.ndarray):
        return calibration
    if isinstance(calibration, Mapping):
        return {str(k): np.asarray(v) for k, v in calibration.items()}
    if isinstance(calibration, (str, bytes)) or not isinstance(calibration, Iterable):
        raise TteError(f"calibration must be an array, a dict of arrays or an iterable of batches, "
                       f"not {type(calibration).__name__}")
    per_input: list[list[np.ndarray]] = [[] for _ in graph.inputs]
    for i, batch in enumerate(calibration):
        parts = list(batch) if isinstance(batch, (list, tuple)) else [batch]
        if len(parts) != len(graph.inputs):
            raise TteError(f"calibration batch {i} holds {len(parts)} arrays; the model has "
                           f"{len(graph.inputs)} input{'s' * (len(graph.inputs) != 1)}")
        for j, (name, part) in enumerate(zip(graph.inputs, parts)):
            arr = np.asarray(part, np.float32)
            want = source_shape(graph.tensors[name])
            if arr.ndim == len(want) - 1:
                arr = arr[None]
            if arr.shape[1:] != tuple(want[1:]):
                raise TteError(f"calibration batch {i} has shape {arr.shape}; input '{name}' takes "
                               f"(N, {', '.join(map(str, want[1:]))})")
            per_input[j].append(arr)
    if not per_input or not per_input[0]:
        raise TteError("calibration set is empty")
    arrays = [np.concatenate(p) for p in per_input]
    return arrays[0] if len(arrays) == 1 else dict(zip(graph.inputs, arrays))


def run(graph: Graph, xs: np.ndarray | Mapping[str, np.ndarray], *,
        batch_size: int = 256) -> np.ndarray | dict[str, np.ndarray]:
    """Reference inference in the source model's layout.

    float in -> float out (an int8 graph quantizes the input and dequantizes the outputs
    with its own parameters); int8 in -> int8 out. One output gives an array, several a
    dict by output name.
    """
    from tte.reference import execute
    from tte.reference.boundary import dequantize_array, quantize_array

    feeds = feeds_to_ir(graph, xs)
    float_in = False
    for name, arr in feeds.items():
        t = graph.tensors[name]
        if t.dtype == "int8" and arr.dtype != np.int8:
            if not np.issubdtype(arr.dtype, np.floating):
                raise TteError(f"input '{name}' is int8; pass int8 or float data, got {arr.dtype}")
            assert t.quant is not None
            feeds[name] = quantize_array(arr.astype(np.float32), t.quant)
            float_in = True
        elif t.dtype == "float32":
            feeds[name] = arr.astype(np.float32)
    n = len(next(iter(feeds.values())))
    parts: dict[str, list[np.ndarray]] = {o: [] for o in graph.outputs}
    for start in range(0, max(n, 1), batch_size):
        outs = execute(graph, {k: v[start:start + batch_size] for k, v in feeds.items()})
        for o in graph.outputs:
            parts[o].append(outs[o])
    result = {}
    for o in graph.outputs:
        t = graph.tensors[o]
        y = np.concatenate(parts[o])
        if float_in and t.dtype == "int8":
            assert t.quant is not None
            y = dequantize_array(y, t.quant)
        result[o] = to_source(t, y)
    return result[graph.outputs[0]] if len(result) == 1 else result


def export(graph: Graph, path: str | os.PathLike[str]) -> Path:
    """Write an int8 graph as a .tflite file (atomically)."""
    p = Path(path)
    if p.suffix != ".tflite":
        raise TteError("tte exports .tflite files only", file=str(p))
    from tte.export.tflite import export_tflite
    export_tflite(graph, p)
    return p


def compile(graph: Graph, *, board: str = "stm32f746g-disco", scheme: str = "auto",  # noqa: A001
            out_dir: str | os.PathLike[str] | None = None, budget_kb: float | None = None,
            reorder: bool = True, name: str | None = None, force: bool = False,
            **kw: object) -> dict:  # type: ignore[type-arg]
    """Compile one training step of an int8 graph for a board; write ``<name>.c/.h``,
    ``report.json`` and ``memory.png`` into ``out_dir`` (atomically) and return the report.

    ``out_dir`` must be new or empty; ``force=True`` replaces tte's files in a folder that an
    earlier compile made (its ``.tte-manifest.json``); files tte did not write are never touched.

    ``scheme="auto"`` picks the largest built-in scheme that fits. A step that does not fit
    raises ``tte.compiler.analysis.BudgetError`` (a TteError) whose ``report`` says why.
    """
    from tte.compiler.compile import compile_model
    budget = None if budget_kb is None else int(budget_kb * 1024)
    return compile_model(graph, board=board, scheme=scheme, out_dir=out_dir, budget_bytes=budget,
                         reorder=reorder, name=name, force=force, **kw)  # type: ignore[arg-type]
