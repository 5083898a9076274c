"""Reference kernels of the activation family's backward ops (``activation_grad``,
``minmax_grad``, ``neg``).

The derivative functions keep the dtype they are given, so they are checked in float64
against PyTorch autograd and finite differences and run in float32 in training graphs. An
int8 saved tensor is read through a table of the derivative at its 256 dequantized codes
(float32): the C kernel gets the same table from the code generator, so both agree bit for bit.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tte.ir import Tensor
from tte.reference.activation_ops import erf
from tte.reference.boundary import dequantize_array
from tte.reference.registry import KernelCtx, register

# derivative function -> whether it reads the op's output (else its input)
READS_OUTPUT = {"logistic": True, "tanh": True, "hard_swish": False, "gelu": False, "gelu_tanh": False,
                "leaky_relu": False}
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def derivative(fn: str, t: np.ndarray, alpha: float = 0.01) -> np.ndarray:
    """f'(x) from t: the output y for logistic/tanh, the input x otherwise (as PyTorch)."""
    one = np.ones((), t.dtype)
    if fn == "logistic":
        return t * (one - t)
    if fn == "tanh":
        return one - t * t
    if fn == "hard_swish":
        return np.where(t < -3, 0, np.where(t <= 3, t / 3 + 0.5, one)).astype(t.dtype)
    if fn == "leaky_relu":
        return np.where(t > 0, one, np.asarray(alpha, t.dtype)).astype(t.dtype)
    if fn == "gelu":
        cdf = 0.5 * (1.0 + erf(t / math.sqrt(2.0)))
        return (cdf + t * np.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)).astype(t.dtype)
    if fn == "gelu_tanh":
        inner = _SQRT_2_OVER_PI * (t + 0.044715 * t ** 3)
        th = np.tanh(inner)
        d_inner = _SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * t * t)
        return (0.5 * (1.0 + th) + 0.5 * t * (1.0 - th * th) * d_inner).astype(t.dtype)
    raise KeyError(fn)


def derivative_table(fn: str, alpha: float, t: Tensor) -> np.ndarray:
    """float32 f' at each int8 code of ``t`` (index code + 128)."""
    assert t.quant is not None
    real = dequantize_array(np.arange(-128, 128).astype(np.int8), t.quant).astype(np.float64)
    return derivative(fn, real, alpha).astype(np.float32)


def _activation_grad(c: KernelCtx, v: list[Any]) -> list[np.ndarray]:
    t, dy = v
    fn, alpha = c.attrs["fn"], float(c.attrs["alpha"])
    if t.dtype == np.int8:
        assert c.inputs[0] is not None
        table = derivative_table(fn, alpha, c.inputs[0])
        return [(dy * table[t.astype(np.int64) + 128]).astype(np.float32)]
    return [(dy * derivative(fn, t.astype(dy.dtype), alpha)).astype(dy.dtype)]


def minmax_share(op: str, which: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The share of dy that input ``which`` gets: 1 where it won, 1/2 on ties (as PyTorch)."""
    mine, other = (a, b) if which == 0 else (b, a)
    won = mine > other if op == "maximum" else mine < other
    return np.where(mine == other, 0.5, np.where(won, 1.0, 0.0))


def _real(t: Tensor | None, v: np.ndarray) -> np.ndarray:
    return dequantize_array(v, t.quant) if t is not None and t.quant is not None else v


def _minmax_grad(c: KernelCtx, v: list[Any]) -> list[np.ndarray]:
    a, b, dy = _real(c.inputs[0], v[0]), _real(c.inputs[1], v[1]), v[2]
    share = minmax_share(c.attrs["op"], int(c.attrs["input"]), a, b).astype(dy.dtype)
    return [(dy * np.broadcast_to(share, dy.shape)).astype(dy.dtype)]


for _dtype in ("float32", "int8"):
    register("activation_grad", _dtype)(_activation_grad)
    register("minmax_grad", _dtype)(_minmax_grad)
register("neg", "float32")(lambda c, v: [np.negative(v[0])])
