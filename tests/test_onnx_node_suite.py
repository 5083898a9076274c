"""ONNX's own backend node tests through load_onnx + the numpy reference executor.

Inputs that tte needs as constants (weights, shapes, pads, axes, clip bounds, BN
statistics, quantization parameters) are frozen into initializers, as a deployment
export would have them. A case tte cannot run is skipped by a named rule; an import
or run error that matches no rule fails the test.
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import onnx
import pytest
from onnx import numpy_helper
from onnx_node_data import NodeCase, case_names, load_case

from tte.errors import TteError, UnsupportedOpError
from tte.frontend.onnx import load_onnx
from tte.ir import Graph
from tte.reference import execute

# (pattern on the importer's / executor's error message, rule)
RULES: list[tuple[str, str]] = [
    (r"unsupported ops?: .*(Cast|Sub|Div|Exp|Less|Where|ReduceSum|ReduceMax|Max|Min|Sigmoid|Constant"
     r"OfShape|Equal|Greater|Neg|Log|Identity)", "function-expanded variant uses ops tte lacks"),
    (r"(uint8|uint16|uint32|uint64|uint4|uint2) (input|QDQ)|unsupported ops?: uint", "unsigned integer tensors"),
    (r"unsupported ops?: (int16|int32|int64|int8|int4|int2|float16|bfloat16|float8\w*|float4\w*|"
     r"sequence|optional)", "non-float32 graph input"),
    (r"(float8\w*|float4\w*|int4|int2|int16) (input|QDQ)|float8|e4m3|e5m2", "non-int8 quantized types"),
    (r"input rank \d, tte supports 4|-D pooling|-D convolution|1-D spatial|3-D spatial", "non-2-D conv/pooling"),
    (r"pooling with dilations", "pooling with dilations"),
    (r"MaxPool Indices output", "MaxPool Indices output"),
    (r"ceil_mode with count_include_pad", "AveragePool ceil_mode with count_include_pad"),
    (r"training mode", "training-mode op"),
    (r"Dropout mask output", "Dropout mask output"),
    (r"Pad mode", "Pad mode other than constant"),
    (r"allowzero", "Reshape to an empty tensor (allowzero)"),
    (r"blocked quantization", "blocked quantization"),
    (r"per-channel quantization of activations", "per-channel activation quantization"),
    (r"graph input '.*' has no static tensor shape", "non-tensor graph input"),
    (r"opset \d+ \(tte imports opset 11", "opset older than 11"),
    (r"must be int8 symmetric", "asymmetric int8 weights"),
    (r"with a batched B", "QLinearMatMul with a batched B"),
    (r"symbolic/unknown dimension", "symbolic input dimension"),
    (r"no reference kernel for this dtype", "int8 reference kernel missing"),
    (r"Slice with step -\d|Slice \[.*\] of an axis of \d+ is empty", "Slice backwards or to an empty tensor"),
    (r"(Erf|Sqrt|Reciprocal) other than|Div other than", "Erf/Sqrt/Reciprocal/Div outside the patterns tte maps "
     "to gelu and rsqrt"),
]

# Ops whose inputs tte treats as activations (every other input is frozen to a constant).
_VARIABLE_INPUTS = {"Add": 2, "Mul": 2, "MatMul": 2, "Sub": 2, "Max": 2, "Min": 2}


def _freeze(case: NodeCase) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """Move inputs that tte needs constant into initializers; return model and feeds."""
    model = onnx.ModelProto()
    model.CopyFrom(case.model)
    g = model.graph
    values = {vi.name: arr for vi, arr in zip(g.input, case.inputs)}
    frozen: set[str] = set()
    for node in g.node:
        keep = _VARIABLE_INPUTS.get(node.op_type, 1)
        if node.op_type == "DequantizeLinear" and node.input[0] in values and \
                values[node.input[0]].dtype.kind in "iu" and len(g.node) == 1:
            keep = 1
        for i in node.input[keep:]:
            if i in values:
                frozen.add(i)
    for name in frozen:
        g.initializer.append(numpy_helper.from_array(values[name], name))
    kept = [vi for vi in g.input if vi.name not in frozen]
    del g.input[:]
    g.input.extend(kept)
    return model, {k: v for k, v in values.items() if k not in frozen}


def _rule(message: str) -> str | None:
    for pattern, rule in RULES:
        if re.search(pattern, message):
            return rule
    return None


@cache
def _imported(name: str) -> tuple[Graph | None, str | None]:
    """The imported graph, or the rule that skips the case (raises when no rule fits)."""
    case = load_case(name)
    model, _ = _freeze(case)
    if any(t.HasField("sequence_type") or t.HasField("optional_type")
           for t in (vi.type for vi in list(model.graph.input) + list(model.graph.output))):
        return None, "non-tensor graph input"
    try:
        return load_onnx(model.SerializeToString(), name=name), None
    except TteError as e:
        rule = _rule(str(e))
        if rule is None:
            raise
        return None, rule


def _ir_feed(graph: Graph, name: str, arr: np.ndarray) -> np.ndarray:
    perm = graph.tensors[name].source_perm
    return arr if perm is None else np.ascontiguousarray(np.transpose(arr, np.argsort(perm)))


NAMES = case_names()


@pytest.mark.parametrize("name", NAMES)
def test_node_case(name: str) -> None:
    graph, rule = _imported(name)
    if graph is None:
        pytest.skip(f"rule: {rule}")
    case = load_case(name)
    _, feeds = _freeze(case)
    try:
        got = execute(graph, {k: _ir_feed(graph, k, v) for k, v in feeds.items()})
    except UnsupportedOpError as e:
        rule = _rule(str(e))
        if rule is None:
            raise
        pytest.skip(f"rule: {rule}")
    outputs = [o.name for o in case.model.graph.output]
    for k, (onnx_name, want) in enumerate(zip(outputs, case.outputs)):
        ir_name = graph.outputs[k]
        arr = got[ir_name]
        perm = graph.tensors[ir_name].source_perm
        if perm is not None:
            arr = np.transpose(arr, perm)
        assert arr.shape == want.shape, f"{onnx_name}: shape {arr.shape} != {want.shape}"
        if want.dtype.kind in "iu":
            # TFLite rounds half away from zero, ONNX half to even: one step apart at most
            diff = np.abs(arr.astype(np.int64) - want.astype(np.int64))
            assert diff.max(initial=0) <= 1, f"{onnx_name}: int8 mismatch up to {diff.max()}"
        else:
            np.testing.assert_allclose(arr, want, rtol=1e-4, atol=1e-4, err_msg=onnx_name)


EXECUTED_FLOOR = 100


def test_enough_cases_run_and_every_skip_has_a_rule() -> None:
    rules = {r for _, r in RULES} | {"non-tensor graph input"}
    skipped: dict[str, int] = {}
    for name in NAMES:
        graph, rule = _imported(name)
        if graph is None:
            assert rule in rules, f"{name}: skipped without a rule"
            skipped[rule] = skipped.get(rule, 0) + 1
    importable = len(NAMES) - sum(skipped.values())
    assert importable >= EXECUTED_FLOOR, f"only {importable} node cases import; skips: {skipped}"
