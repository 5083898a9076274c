"""tte.numerics.fixedpoint against hand-derived values and exact rational arithmetic."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tte.numerics import fixedpoint as fp

INT32 = st.integers(fp.INT32_MIN, fp.INT32_MAX)


def _round_half_away(f: Fraction) -> int:
    n = abs(f.numerator) * 2 + f.denominator
    q = n // (2 * f.denominator)
    return q if f >= 0 else -q


@pytest.mark.parametrize("x,expected", [(0.5, 1), (1.5, 2), (2.5, 3), (-0.5, -1), (-2.5, -3),
                                        (0.49999999999999994, 0), (-0.49999999999999994, 0),
                                        (np.float32(8388609.0), 8388609), (1e15 + 0.5, 1e15 + 1)])
def test_tflite_round_is_std_round(x: float, expected: float) -> None:
    assert float(fp.tflite_round(x)) == expected


@pytest.mark.parametrize("real,expected", [(0.5, (1 << 30, 0)), (1.0, (1 << 30, 1)), (0.25, (1 << 30, -1)),
                                           (0.75, (3 << 29, 0)), (0.0, (0, 0)), (2.0 ** -40, (0, 0)),
                                           (2.0 ** 40, (fp.INT32_MAX, 30)),
                                           (1 - 2.0 ** -33, (1 << 30, 1))])  # rounds up to 2**31
def test_quantize_multiplier_cases(real: float, expected: tuple[int, int]) -> None:
    assert fp.quantize_multiplier(real) == expected


@given(st.floats(2.0 ** -30, 2.0 ** 20))
def test_quantize_multiplier_is_close(real: float) -> None:
    q, shift = fp.quantize_multiplier(real)
    assert (1 << 30) <= q < (1 << 31)
    assert abs(Fraction(q) * Fraction(2) ** (shift - 31) - Fraction(real)) <= Fraction(real) * Fraction(1, 1 << 30)


def test_srdhm_saturates_the_single_overflow_case() -> None:
    assert int(fp.saturating_rounding_doubling_high_mul(fp.INT32_MIN, fp.INT32_MIN)) == fp.INT32_MAX


@given(INT32, INT32)
def test_srdhm_rounds_half_up(a: int, b: int) -> None:
    if a == b == fp.INT32_MIN:
        return
    exact = Fraction(a * b, 1 << 31)
    # gemmlowp nudges by +-2**30 then truncates: ties go toward +infinity
    expected = int((exact + Fraction(1, 2)).__floor__())
    assert int(fp.saturating_rounding_doubling_high_mul(a, b)) == expected


@given(INT32, st.integers(0, 31))
def test_rounding_divide_by_pot(x: int, e: int) -> None:
    assert int(fp.rounding_divide_by_pot(x, e)) == _round_half_away(Fraction(x, 1 << e))


@given(st.lists(st.integers(-(1 << 24), 1 << 24), min_size=1, max_size=20),
       st.integers(1 << 30, (1 << 31) - 1), st.integers(-31, 6))
def test_multiply_by_quantized_multiplier_vs_exact(xs: list[int], m: int, shift: int) -> None:
    x = np.array(xs, np.int64)
    x = np.clip(x << max(shift, 0), fp.INT32_MIN, fp.INT32_MAX) >> max(shift, 0)  # stay in int32 range
    got = fp.multiply_by_quantized_multiplier(x, m, shift)
    for xi, gi in zip(x.tolist(), got.tolist()):
        # TFLite's two-step rounding: high-mul (ties up), then a rounding shift (ties away)
        hi = int((Fraction(xi * (1 << max(shift, 0)) * m, 1 << 31) + Fraction(1, 2)).__floor__())
        assert gi == _round_half_away(Fraction(hi, 1 << max(-shift, 0)))
        # and it is within one unit of the exact rational product
        assert abs(Fraction(gi) - Fraction(xi * m) * Fraction(2) ** (shift - 31)) <= 1


def test_multiply_by_quantized_multiplier_is_vectorized_per_channel() -> None:
    x = np.array([[1000, -1000, 7]], np.int64)
    m, s = fp.quantize_multipliers(np.array([0.5, 0.25, 3.0]))
    np.testing.assert_array_equal(fp.multiply_by_quantized_multiplier(x, m, s), [[500, -250, 21]])


@pytest.mark.parametrize("act,scale,zp,expected", [("none", 0.1, 5, (-128, 127)), ("relu", 0.1, 5, (5, 127)),
                                                   ("relu6", 0.1, -128, (-128, -68)),
                                                   ("relu6", 0.01, 0, (0, 127)), ("relu", 0.1, -200, (-128, 127)),
                                                   ("relu6", 0.05, 0, (0, 120))])
def test_activation_range_int8(act: str, scale: float, zp: int, expected: tuple[int, int]) -> None:
    assert fp.activation_range_int8(act, scale, zp) == expected


def test_activation_range_rejects_unknown() -> None:
    with pytest.raises(ValueError):
        fp.activation_range_int8("gelu", 0.1, 0)
