"""Stochastic rounding draws are independent across trained tensors (each has its own seed)."""

from __future__ import annotations

import itertools

import numpy as np
from models import example_int8

from tte.compiler.analysis import analyze
from tte.reference.grad_ops import uniform_hash
from tte.targets import cbuild


def _stochastic_updates(scheme: str) -> dict[str, tuple[int, tuple[int, ...]]]:
    """{trained tensor: (seed its update uses, its shape)} as the compiler hands them to the C."""
    a = analyze(example_int8(), scheme=scheme, rounding="stochastic", seed=0, budget_bytes=1 << 40)
    g = a.scheduled.graph
    found = {}
    for n in g.nodes:
        attrs = n.attrs
        if attrs.get("rounding") == "stochastic" and "seed" in attrs:
            param = n.inputs[0]
            if g.tensors[param].quant is not None:
                found[param] = (int(attrs["seed"]), g.tensors[param].shape)
    return found


def test_two_trained_tensors_never_draw_the_same_numbers() -> None:
    updates = _stochastic_updates("full")
    assert len(updates) >= 4
    for step in (0, 1, 17):
        draws = {p: uniform_hash(seed, step, shape).reshape(-1) for p, (seed, shape) in updates.items()}
        for (pa, da), (pb, db) in itertools.combinations(draws.items(), 2):
            n = min(da.size, db.size)
            same = np.count_nonzero(da[:n] == db[:n])
            assert same <= 1, f"{pa} and {pb} share {same} of {n} draws at step {step}"
            # independent uniforms: the correlation of the overlapping draws is near zero
            if n >= 64:
                assert abs(np.corrcoef(da[:n], db[:n])[0, 1]) < 0.5


def test_the_c_kernels_draw_what_the_reference_draws_for_each_tensor() -> None:
    ffi, lib = cbuild.load()
    for seed, shape in _stochastic_updates("last-k:2").values():
        n = min(int(np.prod(shape)), 256)
        want = uniform_hash(seed, 5, (n,))
        got = np.array([lib.tte_uniform_hash_u32(seed, 5, i) for i in range(n)], np.float64) / 2.0 ** 32
        np.testing.assert_array_equal(got, want)
