"""A split weight's trained input channels of x kept for the backward (tte.compiler.keep_channels):
the compiler packs them where the arena shrinks, the floors of the steps between shrink by the
frozen channels' bytes, and the step trains the same bits as without (host C; the kernels' cases
are tests/c_cases.py _channels_case)."""

from __future__ import annotations

import numpy as np
import pytest
from models import paper_int8

import tte.compiler.analysis as analysis
from tte.compiler.analysis import analyze
from tte.compiler.keep_channels import GATHER_OP, SCATTER_OP, kept_channels_candidates
from tte.targets.sim import Simulator

SCHEME = "paper:proxyless-w0.3:98kb"
# ProxylessNAS's split 1x1 weights' blocks: their input, its channels, the trained ones
KEPT = {"blocks.12.add": (32, 16), "blocks.15.pointwise2.conv": (64, 16), "blocks.16.add": (64, 32)}


def without_kept(g: object, **kw: object) -> analysis.Analysis:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(analysis, "_choose_kept_channels", lambda sg, x: sg)
        return analyze(g, scheme=SCHEME, **kw)   # type: ignore[arg-type]


def test_proxyless_rows_build_keeps_the_trained_channels_and_its_floors_shrink() -> None:
    g = paper_int8("proxyless-w0.3")
    a = analyze(g, scheme=SCHEME, input_rows=True)
    plain = without_kept(g, input_rows=True)
    nodes = a.scheduled.graph.nodes
    gathers = {n.inputs[0]: n for n in nodes if n.op == GATHER_OP}
    assert set(gathers) == set(KEPT) and sum(n.op == SCATTER_OP for n in nodes) == len(KEPT)
    assert len(kept_channels_candidates(plain.scheduled)) == len(KEPT)
    t = a.scheduled.graph.tensors
    for x, (c, k) in KEPT.items():
        packed = t[gathers[x].outputs[0]]
        assert packed.shape[-1] == k and t[x].shape[-1] == c and packed.nbytes * c == t[x].nbytes * k
    # (chosen where the planners' arena shrinks; today the pair's step sets both final plans)
    assert a.report["arena_bytes"] <= plain.report["arena_bytes"]
    # a step where all three are saved (block 19's 1x1 projection): its floor is lower by their
    # frozen channels' bytes
    saved = sum(t[x].nbytes - t[gathers[x].outputs[0]].nbytes for x in KEPT)
    step, old = (next(i for i, n in enumerate(b.scheduled.graph.nodes) if n.name == "blocks.19.pointwise2")
                 for b in (a, plain))
    assert plain.plan.live_bytes[old] - a.plan.live_bytes[step] == saved


def test_kept_channels_train_the_same_bits_on_the_host() -> None:
    """ProxylessNAS's row-streamed build with the inputs packed and the same build with them kept
    whole train to the same losses and weights (which moved)."""
    from tte.compiler.codegen import generate

    g = paper_int8("proxyless-w0.3")
    a = analyze(g, scheme=SCHEME, input_rows=True, budget_bytes=1 << 40)
    assert any(n.op == GATHER_OP for n in a.scheduled.graph.nodes)
    b = without_kept(g, input_rows=True, budget_bytes=1 << 40)
    sims = [Simulator(x, generate(x, name), name) for x, name in ((a, "kept"), (b, "whole"))]
    rng = np.random.default_rng(5)
    x_shape = g.tensors[g.inputs[0]].shape
    start = sims[0].weights()
    for i in range(2):
        x = rng.integers(-128, 128, x_shape).astype(np.int8)
        losses = [s.train_step(x, i % 10) for s in sims]
        assert losses[0] == losses[1]
    assert sims[0].crc32() == sims[1].crc32()
    assert any(not np.array_equal(sims[0].weights()[p], start[p]) for p in start)
