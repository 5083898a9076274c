"""int8 concat and slice vs LiteRT's reference kernels and tflite-micro, byte for byte
(exported with tte.export; the oracle harness of test_int8_kernels)."""

from __future__ import annotations

import numpy as np
import pytest
from test_int8_kernels import check, graph_with_input, rand_q

from tte.ir import Tensor


@pytest.mark.parametrize("seed", range(8))
def test_concat(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rank = [4, 3, 2, 4][seed % 4]
    base = tuple(int(d) for d in rng.integers(1, 5, rank))
    axis = int(rng.integers(0, rank)) - (rank if seed % 2 else 0)
    n = int(rng.integers(1, 4))
    shared = rand_q(rng)
    g = graph_with_input(base, shared, "x0")
    for i in range(1, n):
        shape = tuple(int(rng.integers(1, 4)) if k == axis % rank else d for k, d in enumerate(base))
        g.add_tensor(Tensor(f"x{i}", shape, "int8", quant=shared if seed % 3 == 0 else rand_q(rng)))
        g.inputs.append(f"x{i}")
    g.add_node("concat", list(g.inputs), "y", {"axis": axis}, quant=shared if seed % 3 == 0 else rand_q(rng))
    g.outputs = ["y"]
    check(g, rng, tflm=True)


@pytest.mark.parametrize("seed", range(8))
def test_strided_slice(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    rank = [4, 3, 2, 4][seed % 4]
    shape = tuple(int(d) for d in rng.integers(2, 7, rank))
    begin = tuple(int(rng.integers(0, d)) for d in shape)
    end = tuple(int(rng.integers(b + 1, d + 1)) for b, d in zip(begin, shape))
    strides = tuple(int(rng.integers(1, 3)) if seed % 2 else 1 for _ in shape)
    xq = rand_q(rng)
    g = graph_with_input(shape, xq)
    g.add_node("slice", ["x"], "y", {"begin": begin, "end": end, "strides": strides},
               quant=xq if seed % 3 else rand_q(rng))
    g.outputs = ["y"]
    check(g, rng, tflm=True)
