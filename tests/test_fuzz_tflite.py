"""Corrupted .tflite bytes either load or raise a TteError, never another exception."""

from __future__ import annotations

import functools

from hypothesis import given
from hypothesis import strategies as st
from test_tflite_import import small_cnn

from tte.errors import TteError
from tte.export.tflite import export_tflite
from tte.frontend.tflite import load_tflite


@functools.cache
def valid_model() -> bytes:
    return export_tflite(small_cnn())


def _load_or_tte_error(data: bytes) -> None:
    try:
        load_tflite(data)
    except TteError:
        pass


@given(st.integers(0, 10**9))
def test_truncation(cut: int) -> None:
    data = valid_model()
    _load_or_tte_error(data[: cut % len(data)])


@given(st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 255)), min_size=1, max_size=8))
def test_byte_flips(flips: list[tuple[int, int]]) -> None:
    data = bytearray(valid_model())
    for pos, value in flips:
        data[pos % len(data)] = value
    _load_or_tte_error(bytes(data))


@given(st.integers(0, 10**9), st.binary(min_size=1, max_size=16))
def test_spliced_garbage(pos: int, junk: bytes) -> None:
    data = valid_model()
    p = pos % len(data)
    _load_or_tte_error(data[:p] + junk + data[p + len(junk):])
