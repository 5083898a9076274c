"""int8 softmax (csrc/include/tte/softmax.h)."""

from __future__ import annotations

import math

import numpy as np

from tte.compiler.emit.common import Emitted, Ref, _emitter, _merge, _need_dtype, _requant_call, _sz, _t, _unsupported
from tte.ir import Graph, Node
from tte.numerics import fixedpoint as fp
from tte.reference.int8_ops import SOFTMAX_SCALE, SOFTMAX_ZP


def softmax_params(beta: float, input_scale: float) -> tuple[int, int, int]:
    """PreprocessSoftmaxScaling and -CalculateInputRadius for 5 integer bits."""
    real = min(beta * input_scale * (1 << 26), float((1 << 31) - 1))
    mult, shift = fp.quantize_multiplier(real)
    radius = math.floor(((1 << 5) - 1) * (1 << 26) / (1 << shift))
    return mult, shift, -radius


@_emitter("softmax")
def emit_softmax(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    _need_dtype(node, g, ("int8",))
    x, y = _t(g, node.inputs[0]), _t(g, node.outputs[0])
    axis = int(node.attrs["axis"]) % len(x.shape)
    if math.prod(x.shape[axis + 1:]) != 1:
        raise _unsupported(node, f"softmax along axis {axis} of {x.shape} (only the last axis)")
    depth = x.shape[axis]
    si, _ = _sz(node, x)
    mult, shift, diff_min = softmax_params(float(np.float32(node.attrs["beta"])), si)
    decl = (f"static const tte_softmax_s8_params_t {prefix}_params = {{{x.size // depth}, {depth}, "
            f"{mult}, {shift}, {diff_min}}};")
    out = Emitted([decl], [f"tte_softmax_s8(&{prefix}_params, {ref(x.name)}, {ref(y.name)});"])
    so, zo = _sz(node, y)
    if not (np.float32(so) == np.float32(SOFTMAX_SCALE) and zo == SOFTMAX_ZP):
        out = _merge(out, _requant_call(node, prefix, SOFTMAX_SCALE, SOFTMAX_ZP, y, ref(y.name), ref(y.name),
                                        y.size))
    return out
