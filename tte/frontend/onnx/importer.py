"""The importer: walks the ONNX graph once, hands each node to its converter with the
import context, and closes the graph's inputs and outputs."""

from __future__ import annotations

import onnx
from onnx import numpy_helper

from tte.errors import GraphError, TteError, UnsupportedOpError
from tte.frontend import layout as L
from tte.frontend.layout import NCHW_FROM_NHWC
from tte.frontend.onnx import (  # noqa: F401  (register their converters; qdq's register on import)
    activation_ops,
    float_ops,
    structural_ops,
)
from tte.frontend.onnx.context import ImportContext
from tte.frontend.onnx.folding import fold
from tte.frontend.onnx.model import check_nodes, value_info
from tte.frontend.onnx.qdq import _INT8_OPS, match_qdq
from tte.frontend.onnx.registry import _CONVERTERS
from tte.frontend.onnx.values import _Val
from tte.ir import Graph, Tensor


def import_model(model: onnx.ModelProto, label: str, name: str | None) -> Graph:
    """Convert one ONNX model into an IR graph (``label`` names the file in errors)."""
    ctx = ImportContext(model, label, name)
    graph = model.graph
    for init in graph.initializer:
        ctx.consts[init.name] = numpy_helper.to_array(init)
    check_nodes(model, ctx.consts)
    _add_inputs(ctx)
    for node in graph.node:
        if id(node) in ctx.absorbed:
            continue
        try:
            _convert(ctx, node)
        except TteError as e:
            raise e.at(node=node.name or (node.output[0] if node.output else node.op_type)) from None
    _add_outputs(ctx)
    g = ctx.g
    g.meta["op_sources"] = {op: sorted(ir) for op, ir in g.meta.get("op_sources", {}).items()}
    for tname in g.inputs + g.outputs:
        t = g.tensors[tname]
        if t.dtype != "float32" and t.quant is None:
            raise UnsupportedOpError(f"{t.dtype} input", detail=f"graph input/output '{tname}' is "
                                     f"{t.dtype} without quantization parameters (integer arithmetic)")
    g.meta["source"] = "onnx"
    g.meta["opset"] = ctx.opset
    if ctx.notes:
        g.meta["notes"] = list(ctx.notes)
    try:
        g.validate()
    except GraphError as e:
        raise e.at(file=label) from None
    return g


def _add_inputs(ctx: ImportContext) -> None:
    for vi in ctx.model.graph.input:
        if vi.name in ctx.consts:
            continue
        shape, dtype, batch = value_info(vi)
        if batch is not None:
            ctx.notes.append(f"dynamic batch ('{batch}' on input '{vi.name}') fixed to 1")
        if dtype not in ("float32", "int8"):
            raise UnsupportedOpError(f"{dtype} input", node=None,
                                     detail=f"graph input '{vi.name}' has element type {dtype}")
        perm = NCHW_FROM_NHWC if len(shape) == 4 else None
        t = ctx.g.add_tensor(Tensor(vi.name, L.ir_shape(shape, perm), dtype))
        t.source_perm = perm
        ctx.g.inputs.append(vi.name)
        ctx.vals[vi.name] = _Val(vi.name, perm)


def _add_outputs(ctx: ImportContext) -> None:
    g = ctx.g
    for o in ctx.model.graph.output:
        if o.name in ctx.consts and o.name not in ctx.vals:
            ctx.vals[o.name] = _Val(ctx.const_tensor(o.name, ctx.consts[o.name]))
        v = ctx.vals[o.name]
        name = v.ir
        fresh = (v.ir == o.name and v.ir not in g.inputs and not g.tensors[v.ir].is_const
                 and v.ir not in g.outputs)
        if v.deq:
            name = ctx.dequantized(v, o.name)
            perm = v.perm
        elif fresh:
            perm = v.perm
        elif v.perm is not None:
            name = ctx.emit("transpose", [v.ir], o.name, {"perm": v.perm})
            perm = None
        else:
            name = ctx.emit("reshape", [v.ir], o.name, {"shape": g.tensors[v.ir].shape})
            perm = None
        g.tensors[name].source_perm = perm
        g.outputs.append(name)


def _convert(ctx: ImportContext, node: onnx.NodeProto) -> None:
    if node.domain not in ("", "ai.onnx"):
        raise UnsupportedOpError(f"{node.domain}.{node.op_type}")
    if node.op_type in ("Constant", "Shape", "Size") or (
            node.input and all(i in ctx.consts for i in node.input if i)
            and not (node.op_type == "DequantizeLinear" and not ctx.int_const(node.input[0]))):
        fold(ctx, node)
        return
    fn = _CONVERTERS[node.op_type]
    qout = match_qdq(ctx, node) if node.op_type in _INT8_OPS else None
    before = len(ctx.g.nodes)
    fn(ctx, node, qout)
    sources = ctx.g.meta.setdefault("op_sources", {})
    sources.setdefault(node.op_type, set()).update(n.op for n in ctx.g.nodes[before:])
