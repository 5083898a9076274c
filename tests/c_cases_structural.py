"""Seeded single-op cases of the structural kernels (concat, slice, max pool's input
gradient) for the C harness: c_cases.all_cases() includes them, so tests/test_c_kernels.py
checks them byte for byte against tte.reference, under the sanitizers too, and
tests/test_qemu_kernels.py on the Cortex-M7."""

from __future__ import annotations

import numpy as np
from c_cases import Case, new_graph, rand_q, random_feeds


def _concat_case(seed: int, dtype: str) -> Case:
    rng = np.random.default_rng(3000 + seed)
    rank = [4, 3, 2, 1][seed % 4]
    base = tuple(int(d) for d in rng.integers(1, 5, rank))
    axis = int(rng.integers(0, rank))
    n = int(rng.integers(1, 4))
    shared = rand_q(rng) if dtype == "int8" else None
    inputs = {}
    for i in range(n):
        shape = tuple(int(rng.integers(1, 4)) if k == axis else d for k, d in enumerate(base))
        quant = None if dtype != "int8" else (shared if seed % 3 == 0 or i == 0 else rand_q(rng))
        inputs[f"x{i}"] = (shape, dtype, quant)
    g = new_graph(inputs)
    g.add_node("concat", list(inputs), "y", {"axis": axis - (rank if seed % 2 else 0)},
               quant=None if dtype != "int8" else (shared if seed % 3 == 0 else rand_q(rng)))
    g.outputs = ["y"]
    return Case(f"concat_{dtype}_{seed}", g, random_feeds(g, rng))


def _slice_case(seed: int, dtype: str) -> Case:
    rng = np.random.default_rng(3100 + seed)
    rank = [4, 3, 2, 1][seed % 4]
    shape = tuple(int(d) for d in rng.integers(2, 7, rank))
    begin = tuple(int(rng.integers(0, d)) for d in shape)
    end = tuple(int(rng.integers(b + 1, d + 1)) for b, d in zip(begin, shape))
    strides = tuple(int(rng.integers(1, 3)) if seed % 2 else 1 for _ in shape)
    xq = rand_q(rng) if dtype == "int8" else None
    g = new_graph({"x": (shape, dtype, xq)})
    g.add_node("slice", ["x"], "y", {"begin": begin, "end": end, "strides": strides},
               quant=None if xq is None else (xq if seed % 3 else rand_q(rng)))
    g.outputs = ["y"]
    return Case(f"slice_{dtype}_{seed}", g, random_feeds(g, rng))


def _maxpool_grad_case(seed: int) -> Case:
    rng = np.random.default_rng(3200 + seed)
    h, w, c = int(rng.integers(2, 9)), int(rng.integers(2, 9)), int(rng.integers(1, 5))
    k = (int(rng.integers(1, min(h, 3) + 1)), int(rng.integers(1, min(w, 3) + 1)))
    s = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    pads = tuple(min(int(p), kk - 1) for p, kk in zip(rng.integers(0, 2, 4), (k[0], k[1], k[0], k[1])))
    oh, ow = (h + pads[0] + pads[2] - k[0]) // s[0] + 1, (w + pads[1] + pads[3] - k[1]) // s[1] + 1
    n = int(rng.integers(1, 3))
    g = new_graph({"dy": ((n, oh, ow, c), "float32", None), "x": ((n, h, w, c), "int8", rand_q(rng))})
    g.add_node("maxpool2d_grad", ["dy", "x"], "dx", {"kernel": k, "strides": s, "pads": pads})
    g.outputs = ["dx"]
    feeds = random_feeds(g, rng)
    feeds["x"] = rng.integers(-3, 3, (n, h, w, c)).astype(np.int8)    # many ties
    return Case(f"maxpool2d_grad_{seed}", g, feeds)


def structural_cases() -> list[Case]:
    return ([_concat_case(s, d) for d in ("int8", "float32") for s in range(8)]
            + [_slice_case(s, d) for d in ("int8", "float32") for s in range(8)]
            + [_maxpool_grad_case(s) for s in range(10)])
