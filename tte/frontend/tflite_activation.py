"""TFLite converters of the activation and elementwise ops: LOGISTIC, TANH, HARD_SWISH,
LEAKY_RELU, GELU, SUB, MAXIMUM, MINIMUM, RSQRT, L2_NORMALIZATION.

Each converter takes the importer's context (``tte.frontend.tflite._Ctx``: ``name``,
``raw``, ``fresh``, ``graph``) and the operator record, and adds one IR node.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tflite

from tte.errors import UnsupportedOpError

_ACTS = {tflite.ActivationFunctionType.NONE: "none", tflite.ActivationFunctionType.RELU: "relu",
         tflite.ActivationFunctionType.RELU6: "relu6"}


def _activation(ctx: Any, op: Any) -> str:
    code = op.options.FusedActivationFunction() if op.options is not None else 0
    if code not in _ACTS:
        raise UnsupportedOpError([f"{op.name} with fused activation {code}"], file=ctx.file,
                                 detail=f"operator {op.index}")
    return _ACTS[code]


def _node(ir_op: str, n_inputs: int, attrs: Callable[[Any, Any], dict[str, Any]] | None = None
          ) -> Callable[[Any, Any], None]:
    def convert(ctx: Any, op: Any) -> None:
        out = ctx.raw(op.outputs[0])
        ctx.graph.add_node(ir_op, [ctx.name(i) for i in op.inputs[:n_inputs]], [ctx.name(op.outputs[0])],
                           attrs(ctx, op) if attrs else {}, name=ctx.fresh(f"{out.name or ir_op}/op"))
    convert.emits = (ir_op,)  # type: ignore[attr-defined]  (the IR op it becomes, for `tte ops`)
    return convert


def _leaky_attrs(ctx: Any, op: Any) -> dict[str, Any]:
    return {"alpha": float(op.options.Alpha()) if op.options is not None else 0.0}


def _gelu_attrs(ctx: Any, op: Any) -> dict[str, Any]:
    return {"approximate": bool(op.options.Approximate()) if op.options is not None else False}


def _sub_attrs(ctx: Any, op: Any) -> dict[str, Any]:
    return {"activation": _activation(ctx, op)}


def _minmax_attrs(ctx: Any, op: Any) -> dict[str, Any]:
    """TFLite compares raw codes: tte's ops agree when every operand shares the output's
    quantization (as the TFLite converter makes it)."""
    out = ctx.raw(op.outputs[0])
    for i in op.inputs[:2]:
        r = ctx.raw(i)
        if out.scale.size and (not r.scale.size or float(r.scale[0]) != float(out.scale[0])
                               or int(r.zero_point[0] if r.zero_point.size else 0)
                               != int(out.zero_point[0] if out.zero_point.size else 0)):
            raise UnsupportedOpError([f"{op.name} of operands quantized unlike its output"], file=ctx.file,
                                     detail=f"operator {op.index}: TFLite compares raw int8 codes")
    return {}


def _l2_attrs(ctx: Any, op: Any) -> dict[str, Any]:
    if _activation(ctx, op) != "none":
        raise UnsupportedOpError([f"{op.name} with a fused activation"], file=ctx.file,
                                 detail=f"operator {op.index}")
    return {}


CONVERTERS: dict[str, Callable[[Any, Any], None]] = {
    "LOGISTIC": _node("logistic", 1), "TANH": _node("tanh", 1), "HARD_SWISH": _node("hard_swish", 1),
    "LEAKY_RELU": _node("leaky_relu", 1, _leaky_attrs), "GELU": _node("gelu", 1, _gelu_attrs),
    "SUB": _node("sub", 2, _sub_attrs),
    "MAXIMUM": _node("maximum", 2, _minmax_attrs), "MINIMUM": _node("minimum", 2, _minmax_attrs),
    "RSQRT": _node("rsqrt", 1), "L2_NORMALIZATION": _node("l2_normalize", 1, _l2_attrs),
}
