"""ONNX backend node tests, regenerated from the installed onnx package into build/.

onnx no longer ships the test data; its test-case modules still build every model and
expected output. Importing only the modules of ops tte supports keeps generation to a
second or two; the result is cached per onnx version (written to a temp dir, then renamed,
so concurrent test runs never see half a cache).
"""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "build" / "onnx-node-tests"

# onnx.backend.test.case.node.<module> for every op type the importer supports
MODULES = (
    "add", "averagepool", "batch_normalization", "clip", "conv", "dequantizelinear", "dropout",
    "flatten", "gemm", "globalaveragepool", "identity", "matmul", "maxpool", "mul", "pad",
    "qlinearconv", "qlinearmatmul", "quantizelinear", "reducemean", "relu", "reshape", "softmax",
    "transpose",
    "concat", "slice", "split", "squeeze", "unsqueeze",   # structural ops
)


@dataclass
class NodeCase:
    name: str
    model: onnx.ModelProto
    inputs: list[np.ndarray]
    outputs: list[np.ndarray]


def cache_dir() -> Path:
    """Per onnx version and module list (a new module regenerates the cache)."""
    modules = hashlib.sha256("\n".join(MODULES).encode()).hexdigest()[:8]
    return CACHE / f"onnx-{onnx.__version__}-{modules}"


def ensure_generated() -> Path:
    """The cache directory, generating it first if needed."""
    target = cache_dir()
    if (target / ".complete").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="gen-", dir=target.parent))
    try:
        _generate(tmp)
        (tmp / ".complete").write_text("\n".join(MODULES))
        try:
            os.rename(tmp, target)
        except OSError:  # another run finished first
            pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _generate(out: Path) -> None:
    import onnx.backend.test.case.node as node_cases

    node_cases._TargetOpType = None  # collect every case of the modules we import
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for mod in MODULES:
            importlib.import_module(f"{node_cases.__name__}.{mod}")
    for case in node_cases._NodeTestCases:
        assert case.model is not None and case.data_sets
        d = out / case.name
        d.mkdir()
        (d / "model.onnx").write_bytes(case.model.SerializeToString())
        inputs, outputs = case.data_sets[0]
        for kind, arrays in (("input", inputs), ("output", outputs)):
            for j, arr in enumerate(arrays):
                proto = arr if isinstance(arr, onnx.TensorProto) else numpy_helper.from_array(np.asarray(arr))
                (d / f"{kind}_{j}.pb").write_bytes(proto.SerializeToString())


def case_names() -> list[str]:
    return sorted(p.name for p in ensure_generated().iterdir() if p.is_dir())


def load_case(name: str) -> NodeCase:
    d = ensure_generated() / name
    model = onnx.load_model(d / "model.onnx")

    def arrays(kind: str) -> list[np.ndarray]:
        out = []
        for p in sorted(d.glob(f"{kind}_*.pb"), key=lambda p: int(p.stem.split("_")[1])):
            t = onnx.TensorProto()
            t.ParseFromString(p.read_bytes())
            out.append(numpy_helper.to_array(t))
        return out

    return NodeCase(name, model, arrays("input"), arrays("output"))
