"""Quantize / dequantize arrays at the graph boundary, with TFLite's rounding."""

from __future__ import annotations

import numpy as np

from tte.ir import QuantParams
from tte.numerics.fixedpoint import tflite_round


def quantize_array(x: np.ndarray, q: QuantParams, dtype: type = np.int8) -> np.ndarray:
    """AffineQuantize: round(x / scale) in float32, half away from zero, plus zero point."""
    shape = q.broadcast_shape(x.ndim)
    scaled = np.asarray(x, np.float32) / q.scale.reshape(shape)
    info = np.iinfo(dtype)
    return np.clip(tflite_round(scaled) + q.zero_point.reshape(shape), info.min, info.max).astype(dtype)


def dequantize_array(x: np.ndarray, q: QuantParams) -> np.ndarray:
    """Dequantize: (q - zero point) * scale in float32."""
    shape = q.broadcast_shape(x.ndim)
    return ((x.astype(np.int32) - q.zero_point.reshape(shape).astype(np.int32)).astype(np.float32)
            * q.scale.reshape(shape))
