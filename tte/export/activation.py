"""TFLite lowering of the activation and elementwise ops (LOGISTIC, TANH, HARD_SWISH,
LEAKY_RELU, GELU, SUB, MAXIMUM/MINIMUM, RSQRT, L2_NORMALIZATION); registered into the
exporter's table when ``tte.export.tflite`` loads."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tte.export.tflite import (
    _ACT,
    _OP,
    _OPT,
    _empty,
    _Lowering,
    _requant_head,
    _requant_tail,
    _table,
)
from tte.ir import Node, QuantParams, Tensor
from tte.reference.activation_ops import FIXED_OUTPUT_QUANT

VERSIONS = {_OP.LOGISTIC: 2, _OP.TANH: 2, _OP.HARD_SWISH: 1, _OP.LEAKY_RELU: 2, _OP.GELU: 2,
            _OP.SUB: 2, _OP.MAXIMUM: 2, _OP.MINIMUM: 2, _OP.RSQRT: 2, _OP.L2_NORMALIZATION: 2}

_UNARY = {"logistic": (_OP.LOGISTIC, None), "tanh": (_OP.TANH, None), "rsqrt": (_OP.RSQRT, None),
          "hard_swish": (_OP.HARD_SWISH, "HardSwishOptions"), "l2_normalize": (_OP.L2_NORMALIZATION, "L2NormOptions")}


def _lower_unary(low: _Lowering, node: Node) -> None:
    x, out = low.graph.tensors[node.inputs[0]], low.graph.tensors[node.outputs[0]]
    code, table = _UNARY[node.op]
    dst = low.tensor(out.name)
    if node.op in FIXED_OUTPUT_QUANT:
        s, zp = FIXED_OUTPUT_QUANT[node.op]
        dst = _requant_tail(low, node, Tensor("fixed", out.shape, "int8", quant=QuantParams(np.float32(s), zp)), out)
    if table is None:
        low.op(code, [low.tensor(x.name)], [dst])
    else:
        low.op(code, [low.tensor(x.name)], [dst], getattr(_OPT, table), _empty(table))


def _lower_leaky_relu(low: _Lowering, node: Node) -> None:
    low.op(_OP.LEAKY_RELU, [low.tensor(node.inputs[0])], [low.tensor(node.outputs[0])], _OPT.LeakyReluOptions,
           _table("LeakyReluOptions", Alpha=float(node.attrs["alpha"])))


def _lower_gelu(low: _Lowering, node: Node) -> None:
    low.op(_OP.GELU, [low.tensor(node.inputs[0])], [low.tensor(node.outputs[0])], _OPT.GeluOptions,
           _table("GeluOptions", Approximate=bool(node.attrs["approximate"])))


def _lower_sub(low: _Lowering, node: Node) -> None:
    low.op(_OP.SUB, [low.tensor(i) for i in node.inputs], [low.tensor(node.outputs[0])], _OPT.SubOptions,
           _table("SubOptions", FusedActivationFunction=_ACT[node.attrs["activation"]]))


def _lower_minmax(low: _Lowering, node: Node) -> None:
    """TFLite compares raw codes: inputs with other parameters are requantized first."""
    g = low.graph
    out = g.tensors[node.outputs[0]]
    ins = []
    for name in node.inputs:
        t = g.tensors[name]
        ins.append(_requant_head(low, t, Tensor(f"{out.name}/{name}", t.shape, "int8", quant=out.quant)))
    code = _OP.MAXIMUM if node.op == "maximum" else _OP.MINIMUM
    low.op(code, ins, [low.tensor(out.name)], _OPT.MaximumMinimumOptions, _empty("MaximumMinimumOptions"))


LOWER: dict[str, Callable[[_Lowering, Node], None]] = {
    **{op: _lower_unary for op in _UNARY}, "leaky_relu": _lower_leaky_relu, "gelu": _lower_gelu,
    "sub": _lower_sub, "maximum": _lower_minmax, "minimum": _lower_minmax}
