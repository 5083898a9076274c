"""Reading, parsing and validating ONNX models before conversion: opset, op types,
undefined values and graph-input types and shapes."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import onnx
from google.protobuf.message import DecodeError

from tte.errors import ModelFormatError, TteError, UnsupportedOpError
from tte.frontend.onnx.registry import _CONVERTERS

MIN_OPSET = 11

_ELEM_TYPES: dict[int, str] = {
    onnx.TensorProto.FLOAT: "float32", onnx.TensorProto.INT8: "int8",
    onnx.TensorProto.UINT8: "uint8", onnx.TensorProto.INT32: "int32",
    onnx.TensorProto.INT64: "int64", onnx.TensorProto.INT16: "int16",
    onnx.TensorProto.BOOL: "bool",
}

def read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise TteError(f"cannot read model: {e.strerror}", file=path) from None


def parse(data: bytes, label: str) -> onnx.ModelProto:
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as e:
        raise ModelFormatError(f"not a valid ONNX protobuf (truncated or corrupt): {e}", file=label) from None
    if not model.HasField("graph") or not model.graph.output or not model.opset_import:
        raise ModelFormatError("not an ONNX model: no graph, outputs or opset", file=label)
    return model


def opset_version(model: onnx.ModelProto) -> int:
    """The default-domain opset, rejected when older than MIN_OPSET."""
    versions = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
    if not versions:
        raise ModelFormatError("the model imports no default-domain opset")
    v = int(versions[0])
    if v < MIN_OPSET:
        raise UnsupportedOpError(f"opset {v}", detail=f"tte imports opset {MIN_OPSET} and newer")
    return v


def _foldable(node: onnx.NodeProto, consts: set[str] | dict[str, np.ndarray]) -> bool:
    if node.op_type in ("Constant", "Shape", "Size"):
        return True
    present = [i for i in node.input if i]
    return bool(present) and all(i in consts for i in present)


def check_nodes(model: onnx.ModelProto, consts: Collection[str]) -> None:
    """Fail early: undefined inputs, then every unsupported op type at once."""
    known = set(consts) | {i.name for i in model.graph.input}
    const = set(consts)
    unsupported: dict[str, str] = {}
    for node in model.graph.node:
        where = node.name or (node.output[0] if node.output else node.op_type)
        for i in node.input:
            if i and i not in known:
                raise TteError(f"input '{i}' is neither a graph input, an initializer nor "
                               f"produced by an earlier node (missing initializer?)", node=where)
        op = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
        # constant subgraphs (exporters' shape arithmetic) are folded at import
        foldable = node.domain in ("", "ai.onnx") and _foldable(node, const)
        if foldable:
            const.update(o for o in node.output if o)
        elif node.domain not in ("", "ai.onnx") or op not in _CONVERTERS:
            unsupported.setdefault(op, where)
        for sub_op, sub_where in _subgraph_ops(node, where):
            if sub_op not in _CONVERTERS:
                unsupported.setdefault(sub_op, sub_where)
        known.update(o for o in node.output if o)
    for o in model.graph.output:
        if o.name not in known:
            raise TteError(f"graph output '{o.name}' is never produced")
    if unsupported:
        nodes = ", ".join(f"{op} (node '{n}')" for op, n in sorted(unsupported.items()))
        raise UnsupportedOpError(list(unsupported), detail=f"used by {nodes}")


def _subgraph_ops(node: onnx.NodeProto, where: str) -> list[tuple[str, str]]:
    """(op, where) of every node inside the subgraphs of If / Loop / Scan, recursively."""
    found: list[tuple[str, str]] = []
    for attr in node.attribute:
        graphs = list(attr.graphs) + ([attr.g] if attr.HasField("g") else [])
        for g in graphs:
            for sub in g.node:
                op = sub.op_type if sub.domain in ("", "ai.onnx") else f"{sub.domain}.{sub.op_type}"
                sub_where = f"{where}/{attr.name}/{sub.name or (sub.output[0] if sub.output else sub.op_type)}"
                found.append((op, sub_where))
                found += _subgraph_ops(sub, sub_where)
    return found


def value_info(vi: onnx.ValueInfoProto) -> tuple[tuple[int, ...], str, str | None]:
    """(shape, dtype, symbolic batch name or None): a symbolic/unknown batch (axis 0, the
    exporters' ``dynamic_axes``) is fixed to 1; any other symbolic dimension is refused."""
    tt = vi.type.tensor_type
    if not vi.type.HasField("tensor_type") or not tt.HasField("shape"):
        raise TteError(f"graph input '{vi.name}' has no static tensor shape")
    dims = []
    batch = None
    for k, d in enumerate(tt.shape.dim):
        if not d.HasField("dim_value") or d.dim_value <= 0:
            sym = d.dim_param or "?"
            if k == 0 and len(tt.shape.dim) > 1:
                batch = sym
                dims.append(1)
                continue
            raise TteError(f"graph input '{vi.name}' has a symbolic/unknown dimension "
                           f"'{sym}' at axis {k}; tte needs static shapes beyond the batch (export "
                           f"with a fixed input size; a dynamic batch alone is fixed to 1)")
        dims.append(int(d.dim_value))
    if tt.elem_type not in _ELEM_TYPES:
        raise UnsupportedOpError(f"{onnx.TensorProto.DataType.Name(tt.elem_type).lower()} input",
                                 detail=f"graph input '{vi.name}'")
    return tuple(dims), _ELEM_TYPES[tt.elem_type], batch
