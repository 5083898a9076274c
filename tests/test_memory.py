"""Memory planning, checked by running the reference kernels out of a real byte arena."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from models import example_int8, paper_int8

from tte.compiler.memory import (
    ALIGN,
    PLANNERS,
    SEARCHED,
    MemoryPlan,
    check_plan,
    plan_arena_bytes,
    plan_memory,
    plot_memory,
)
from tte.compiler.schedule import ScheduledGraph, schedule, schedule_inference
from tte.ir import Graph
from tte.reference import execute
from tte.reference.registry import KERNELS, KernelCtx
from tte.training.autodiff import TrainingGraph, derive_training_graph
from tte.training.sparse import resolve_scheme


def plan_arenas(a: Any) -> list[int]:
    """The training and the inference plan's arena bytes of an Analysis, planned again from its
    graphs' meta as it is now (what the optional-scratch tests toggle)."""
    from tte.compiler.analysis import _overlap_fn, _scratch_fn

    x = a.forward.inputs[0]
    return [plan_memory(s, scratch=_scratch_fn(s), arena_inputs=[x], overlap=_overlap_fn(s.graph)).arena_bytes
            for s in (a.scheduled, a.inference)]


def training(g: Graph, scheme: str) -> TrainingGraph:
    return derive_training_graph(g, resolve_scheme(scheme).to_plan(g), lr=0.05, rounding="stochastic", seed=1)


def run_in_arena(sg: ScheduledGraph, plan: MemoryPlan, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Execute with every arena tensor stored at its planned offset of one byte array
    (masks bit-packed, weight gradients float32) and read back from there: a plan that
    overlaps live tensors corrupts the values."""
    g = sg.graph
    arena = np.zeros(plan.arena_bytes, np.uint8)
    ext: dict[str, np.ndarray] = {k: v for k, v in feeds.items()}
    ext.update({k: t.data for k, t in g.tensors.items() if t.data is not None})
    shapes: dict[str, tuple[tuple[int, ...], np.dtype]] = {}

    def store(name: str, value: np.ndarray) -> None:
        if name in plan.offsets:
            raw = np.packbits(value.reshape(-1)) if value.dtype == bool else value.reshape(-1).view(np.uint8)
            off = plan.offsets[name]
            arena[off:off + raw.size] = raw
            shapes[name] = (value.shape, value.dtype)
        else:
            ext[plan.external.get(name, name)] = value

    def load(name: str) -> np.ndarray:
        if name not in plan.offsets:
            return ext[plan.external.get(name, name)]
        shape, dtype = shapes[name]
        off, n = plan.offsets[name], int(np.prod(shape))
        if dtype.kind == "b":
            return np.unpackbits(arena[off:off + (n + 7) // 8])[:n].astype(bool).reshape(shape)
        return arena[off:off + n * dtype.itemsize].copy().view(dtype).reshape(shape)

    for node in g.nodes:
        key = (node.op, g.tensors[node.inputs[0]].dtype)
        ctx = KernelCtx(node, [g.tensors[i] if i else None for i in node.inputs], [g.tensors[o] for o in node.outputs])
        outs = KERNELS[key](ctx, [load(i) if i else None for i in node.inputs])
        for o, v in zip(node.outputs, outs):
            store(o, np.asarray(v))
    return {o: load(o) for o in g.outputs}


def feeds_for(tg: TrainingGraph, seed: int = 0) -> dict[str, np.ndarray]:
    g = tg.graph
    rng = np.random.default_rng(seed)
    x = g.inputs[0]
    feeds = {x: rng.integers(-128, 128, g.tensors[x].shape).astype(np.int8), tg.label: np.array([3], np.int32)}
    if "step" in g.inputs:
        feeds["step"] = np.array([5], np.int32)
    return feeds


@pytest.mark.parametrize("scheme", ["last-k:2", "full", "bias-only"])
@pytest.mark.parametrize("reorder", [True, False])
def test_plan_runs_the_example_in_one_arena(scheme: str, reorder: bool) -> None:
    tg = training(example_int8(), scheme)
    sg = schedule(tg, reorder=reorder)
    feeds = feeds_for(tg)
    want = execute(sg.graph, feeds)
    for planner in PLANNERS:
        plan = plan_memory(sg, planners=[planner])
        check_plan(plan)
        got = run_in_arena(sg, plan, feeds)
        for k in want:
            np.testing.assert_array_equal(got[k], want[k], err_msg=f"{planner}: {k}")


@pytest.mark.parametrize("model,scheme", [("mbv2-w0.35", "paper:mbv2-w0.35:99kb"),
                                          ("proxyless-w0.3", "paper:proxyless-w0.3:98kb")])
def test_plan_runs_a_paper_model_in_one_arena(model: str, scheme: str) -> None:
    tg = training(paper_int8(model), scheme)
    sg = schedule(tg)
    plan = plan_memory(sg)
    check_plan(plan)
    feeds = feeds_for(tg, 2)
    want, got = execute(sg.graph, feeds), run_in_arena(sg, plan, feeds)
    for k in want:
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)


def test_a_deliberately_overlapping_plan_is_caught() -> None:
    """The arena executor is a real oracle: squeeze two live tensors together and it fails."""
    tg = training(example_int8(), "last-k:2")
    sg = schedule(tg)
    plan = plan_memory(sg)
    feeds = feeds_for(tg)
    want = execute(sg.graph, feeds)
    big = sorted(plan.buffers, key=lambda b: -b.size)
    a = big[0]
    b = next(b for b in big[1:] if b.overlaps(a) and b.first > a.first)
    for t in b.tensors:
        plan.offsets[t] = plan.offsets[a.tensors[0]]
    got = run_in_arena(sg, plan, feeds)
    assert any(not np.array_equal(got[k], want[k]) for k in want)


def test_planners_are_compared_and_the_best_kept() -> None:
    sg = schedule(training(paper_int8("mbv2-w0.35"), "paper:mbv2-w0.35:99kb"), reorder=False)
    plan = plan_memory(sg, search=True)
    # each planner's placement, and the local search's from the best of them where that is above the floor
    assert {k for k in plan.candidates if not k.endswith(SEARCHED)} == set(PLANNERS) and len(PLANNERS) >= 2
    searched = [k for k in plan.candidates if k.endswith(SEARCHED)]
    assert len(searched) <= 1 and all(plan.candidates[k] <= plan.candidates[k[:-len(SEARCHED)]] for k in searched)
    assert plan.arena_bytes == min(plan.candidates.values())
    assert plan.candidates[plan.planner] == plan.arena_bytes
    assert plan.lower_bound <= plan.arena_bytes
    assert all(b.offset % ALIGN == 0 for b in plan.buffers)


def placed_one_by_one(sg: ScheduledGraph, **kw: Any) -> dict[str, tuple[int, dict[str, int]]]:
    """The planners' placements the plain way, as plan_memory's docstring states them: per
    planner and number of pinned chain outputs, every buffer in the planner's order at the
    lowest offset where it collides with no placed buffer alive with it (an allowed overlap
    lets an output reach its distance below its input). Returns arena end and offsets."""
    from tte.compiler.memory import _allowed, _overlap_chain, align, buffers_of

    inputs = kw.get("arena_inputs", ())
    bufs, _ = buffers_of(sg, kw.get("scratch"), inputs)
    allow, steps = _allowed(sg, bufs, kw["overlap"]) if kw.get("overlap") else ({}, {})
    start = inputs[0] if len(inputs) == 1 else kw.get("chain_from")
    chain = _overlap_chain(allow, start) if start is not None else []
    out: dict[str, tuple[int, dict[str, int]]] = {}
    # chained from an arena buffer: also with the chain's head above its first step's scratch
    head = next((b for b in bufs if b.name == start), None)
    lift = align(sum(b.size for b in bufs if head is not None and b is not head and b.first == b.last == head.first))
    lifts = [0, lift] if lift and not inputs and kw.get("input_offset") is None else [0]
    for name, order in PLANNERS.items():
        for n_chain, above in ((n, a) for a in lifts for n in range(len(chain) + 1) if n == 1 or not a):
            off: dict[str, int] = {}
            dists = [align(d) for _, d in chain[:max(n_chain, 1)]]
            base = kw["input_offset"] if kw.get("input_offset") is not None else max(sum(dists), above)
            pos = base
            for (o, _), d in zip(chain[:n_chain], dists):
                pos -= d
                off[o] = pos
            if pos < 0:
                continue
            for b in bufs:
                if b.name in inputs or (n_chain and b.name == start):
                    off[b.name], base = base, base + b.size
            # the planner orders every buffer (its order may depend on all of them); the pinned ones are left out
            for b in [b for b in order(bufs) if b.name not in off]:
                taken = []
                # (offset, size, step) of a placed partner of a stepped overlap: where they share
                # bytes, its offset less b's is a multiple of the step
                stepped: list[tuple[int, int, int]] = []
                at_step: set[int] = set()
                for p in bufs:
                    if p.name not in off or not p.overlaps(b):
                        continue
                    lo, hi = off[p.name], off[p.name] + p.size
                    if (b.name, p.name) in allow:
                        lo += max(0, b.size - allow[b.name, p.name])
                    if (p.name, b.name) in allow:
                        hi = off[p.name] + min(allow[p.name, b.name], p.size)
                    taken.append((lo, hi))
                    step = steps.get((b.name, p.name), steps.get((p.name, b.name)))
                    if step is not None:
                        stepped.append((off[p.name], p.size, step))
                        at_step.update(range(off[p.name] - b.size, off[p.name] + p.size, ALIGN))

                def fits(at: int, size: int = b.size, taken: list[tuple[int, int]] = taken,
                         stepped: list[tuple[int, int, int]] = stepped) -> bool:
                    return at >= 0 and not any(lo < at + size and at < hi for lo, hi in taken) and all(
                        (o - at) % step == 0 for o, n, step in stepped if o < at + size and at < o + n)
                # the lowest free offset is 0, the end of a taken span or an offset beside a stepped partner
                off[b.name] = min(at for at in {0, *(hi for _, hi in taken), *at_step} if fits(at))
            end = max(off[b.name] + b.size for b in bufs)
            out[name if n_chain == 0 else f"{name}/pin{n_chain}" + ("/above" if above else "")] = (end, off)
    return out


def test_placements_equal_placing_one_by_one_and_repeat_from_the_cache() -> None:
    """plan_memory's indexed, cached placement gives each planner's arena and the kept plan's
    offsets as the plain one-by-one placement does, on MCUNet's training and inference graphs
    (streamed blocks over their input, scratch, a pinned input; an input offset given; the
    input outside the arena, chained from the stem), and plan_arena_bytes the smallest of those
    arenas; planning again (from the cache, then with the cache emptied) gives the same plan."""
    from tte.compiler import memory
    from tte.compiler.analysis import _overlap_fn, _scratch_fn, analyze

    a = analyze(paper_int8("mcunet-5fps"), scheme="paper:mcunet-5fps:99kb")
    x = a.forward.inputs[0]
    first = next(n.outputs[0] for n in a.inference.graph.nodes if x in n.inputs)
    for s in (a.scheduled, a.inference):
        for kw in ({"arena_inputs": [x]}, {"arena_inputs": [x], "input_offset": 4096}, {"chain_from": first}):
            kw.update(scratch=_scratch_fn(s), overlap=_overlap_fn(s.graph))
            want = placed_one_by_one(s, **kw)
            memory._PLACEMENTS.clear()
            memory._ARENAS.clear()
            # the arena alone, each placement given up once it reaches the smallest so far (then the search)
            arena_only = plan_arena_bytes(s, **kw)
            assert arena_only <= min(end for end, _ in want.values())
            plan = plan_memory(s, **kw)
            assert plan.arena_bytes == arena_only
            searched = plan_memory(s, search=True, **kw)
            check_plan(searched)
            assert searched.arena_bytes <= arena_only   # the search's, from the same placements
            greedy = {k: v for k, v in plan.candidates.items() if not k.endswith(SEARCHED)}
            assert greedy == {k: v[0] for k, v in want.items()}
            if not plan.planner.endswith(SEARCHED):
                assert plan.offsets == {t: want[plan.planner][1][b.name] for b in plan.buffers for t in b.tensors}
            else:   # the search started from the best planner's placement and never went above it
                assert plan.arena_bytes <= min(greedy.values())
            check_plan(plan)
            again = plan_memory(s, **kw)
            memory._PLACEMENTS.clear()
            fresh = plan_memory(s, **kw)
            for p in (again, fresh):
                assert (p.planner, p.candidates, p.offsets, p.high_water) == \
                    (plan.planner, plan.candidates, plan.offsets, plan.high_water)


def test_inference_plan_is_the_lean_forward_pass() -> None:
    g = example_int8()
    sg = schedule_inference(g)
    plan = plan_memory(sg)
    check_plan(plan)
    # the largest consecutive input+output pair bounds a layer-by-layer forward pass from below
    pairs = [sum(g.tensors[t].nbytes for t in (n.inputs[0], n.outputs[0]) if t not in g.inputs)
             for n in g.nodes]
    assert max(pairs) <= plan.arena_bytes <= max(pairs) + 2 * ALIGN * len(g.nodes) + max(pairs)
    # reshape outputs are views: no buffer of their own
    for n in g.nodes:
        if n.op == "reshape":
            assert n.outputs[0] not in {b.name for b in plan.buffers}


def test_breakdown_names_the_tensors_at_the_peak() -> None:
    sg = schedule(training(paper_int8("mbv2-w0.35"), "paper:mbv2-w0.35:99kb"))
    plan = plan_memory(sg)
    bd = plan.breakdown()
    assert bd["live_bytes"] == plan.lower_bound
    assert sum(t["bytes"] for t in bd["tensors"]) <= bd["live_bytes"]
    assert bd["tensors"][0]["bytes"] == max(t["bytes"] for t in bd["tensors"])
    assert bd["node"] == sg.graph.nodes[bd["step"]].name


def test_memory_plot_is_a_valid_png(tmp_path: Path) -> None:
    sg = schedule(training(example_int8(), "last-k:2"))
    plan = plan_memory(sg)
    p = plot_memory(plan, tmp_path / "m.png", forward_steps=sg.forward_nodes, fixed_bytes=4096,
                    budget_bytes=64 * 1024, width=320, height=120)
    data = p.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        chunks[kind] = body
        pos += 12 + n
    w, h = struct.unpack(">II", chunks[b"IHDR"][:8])
    assert (w, h) == (320, 120)
    raw = zlib.decompress(chunks[b"IDAT"])
    assert len(raw) == h * (1 + 3 * w)
    rows = np.frombuffer(raw, np.uint8).reshape(h, 1 + 3 * w)[:, 1:].reshape(h, w, 3)
    assert (rows == [220, 30, 30]).all(axis=2).any()          # the budget line
    assert ((rows == [235, 140, 50]).all(axis=2)).any()       # backward bars


@pytest.mark.parametrize("model,budget,paper_kb", [("mcunet-5fps", "99kb", 173), ("mbv2-w0.35", "99kb", 141),
                                                   ("proxyless-w0.3", "98kb", 135)])
def test_paper_schemes_fit_below_the_paper_with_split_weights(model: str, budget: str, paper_kb: int) -> None:
    """The partially trained 1x1 convs keep only their trained input channels in SRAM
    (tte.compiler.split): peak SRAM at or below the paper's figure."""
    from tte.compiler.analysis import analyze

    r = analyze(paper_int8(model), scheme=f"paper:{model}:{budget}").report
    assert r["split_weights"]
    assert r["trainable_bytes"] < r["trainable_checkpoint_bytes"]
    assert r["trainable_bytes"] - r["trainable_updated_bytes"] < 1024   # (the classifier's bias etc. whole)
    assert r["peak_sram_bytes"] <= paper_kb * 1024, r["peak_sram_bytes"] / 1024


@pytest.mark.parametrize("model,budget", [("mcunet-5fps", "99kb"), ("mbv2-w0.35", "99kb")])
def test_optional_scratch_never_grows_the_arenas(model: str, budget: str) -> None:
    """The 1x1 convs' pixel buffers, the fused backward's x as floats and its copies of Q's
    columns (tte.compiler.analysis._choose_optional_scratch) are planned where neither arena
    grows: both plans with the chosen ones are no larger than with none, and the paper models get
    some of each."""
    from tte.compiler.analysis import analyze
    from tte.compiler.emit.conv import PW_BUFFER8_META, PW_BUFFER_META
    from tte.compiler.emit.dwpw import Q_COLS_META, X_FLOAT_META

    a = analyze(paper_int8(model), scheme=f"paper:{model}:{budget}")
    plans = (a.scheduled, a.inference)

    chosen = [(s.graph.meta[PW_BUFFER_META], s.graph.meta[X_FLOAT_META], s.graph.meta[Q_COLS_META]) for s in plans]
    assert chosen[0][0] and chosen[0][1] and chosen[0][2]
    with_them = plan_arenas(a)
    eight = [s.graph.meta.get(PW_BUFFER8_META, frozenset()) for s in plans]
    for s in plans:
        s.graph.meta[PW_BUFFER_META], s.graph.meta[X_FLOAT_META], s.graph.meta[Q_COLS_META] = frozenset(), {}, {}
        s.graph.meta[PW_BUFFER8_META] = frozenset()
    try:
        without = plan_arenas(a)
    finally:
        for s, (pw, xf, qc), e in zip(plans, chosen, eight, strict=True):
            s.graph.meta[PW_BUFFER_META], s.graph.meta[X_FLOAT_META], s.graph.meta[Q_COLS_META] = pw, xf, qc
            s.graph.meta[PW_BUFFER8_META] = e
    assert all(w <= n for w, n in zip(with_them, without, strict=True)), (with_them, without)
    scratch = {b.name: b.size for b in a.plan.buffers if b.name.endswith("@scratch")}
    assert any(f"{name}@scratch" in scratch for name in chosen[0][0])


def test_fused_backward_heads_keep_their_padded_planes_where_the_arena_has_room() -> None:
    """The fused backward heads' padded planes (tte.compiler.emit.dwpw.PADDED_META) are optional
    scratch: ProxylessNAS, whose arenas its first blocks set, keeps every head's plane without
    either arena growing; unpadded, block 18's 7x7 head over 4x4 pixels (pads 3) takes
    (10 * 10 - 4 * 4) * 4 bytes less of its scratch, and its step's floor drops by as much."""
    from tte.compiler.analysis import _scratch_fn, analyze
    from tte.compiler.emit.dwpw import PADDED_META, dwpw_pad_work

    a = analyze(paper_int8("proxyless-w0.3"), scheme="paper:proxyless-w0.3:98kb")
    g = a.scheduled.graph
    heads = frozenset(n.name for n in g.nodes if dwpw_pad_work(n, g))
    assert len(heads) >= 6 and g.meta[PADDED_META] == heads
    step = next(i for i, n in enumerate(g.nodes) if n.name == "blocks.18.pointwise1.relu6@dz@dwpw")
    node = g.nodes[step]
    padded, floor = _scratch_fn(a.scheduled)(node), a.plan.floor_bytes()[step]
    with_them = plan_arenas(a)
    g.meta[PADDED_META] = frozenset()
    try:
        unpadded = _scratch_fn(a.scheduled)(node)
        without = plan_arenas(a)
        x = a.forward.inputs[0]
        lower = plan_memory(a.scheduled, scratch=_scratch_fn(a.scheduled), arena_inputs=[x]).floor_bytes()[step]
    finally:
        g.meta[PADDED_META] = heads
    assert padded - unpadded == (10 * 10 - 4 * 4) * 4
    assert with_them == without, (with_them, without)
    assert floor - lower == padded - unpadded


def test_speed_sram_grows_the_arena_by_at_most_its_bytes_and_never_past_the_budget() -> None:
    """`--speed-kb`: MCUNet's smallest arena leaves its largest fused backwards without x as
    floats; allowed 8 KB more, the arena grows by at most that and every one gets all of x.
    Where the faster arena would not fit the budget, the smallest one is planned."""
    from tte.compiler.analysis import analyze
    from tte.compiler.emit.dwpw import X_FLOAT_META, dwpw_x_float_pixels

    q = paper_int8("mcunet-5fps")
    small = analyze(q, scheme="paper:mcunet-5fps:99kb")
    fast = analyze(q, scheme="paper:mcunet-5fps:99kb", speed_sram_bytes=8192)
    r0, r1 = small.report, fast.report
    assert r0["speed_sram_bytes"] == 0 and r1["speed_sram_bytes"] == 8192
    assert r0["train_arena_bytes"] < r1["train_arena_bytes"] <= r0["train_arena_bytes"] + 8192
    g0, g1 = small.scheduled.graph, fast.scheduled.graph
    wanted = {n.name: dwpw_x_float_pixels(n, g1) for n in g1.nodes if dwpw_x_float_pixels(n, g1)}
    assert any(g0.meta[X_FLOAT_META].get(k, 0) < v for k, v in wanted.items())
    assert g1.meta[X_FLOAT_META] == wanted
    tight = analyze(q, scheme="paper:mcunet-5fps:99kb", speed_sram_bytes=8192, budget_bytes=r0["peak_sram_bytes"])
    assert tight.report["fits"] and tight.report["speed_sram_bytes"] == 0
    assert tight.report["peak_sram_bytes"] == r0["peak_sram_bytes"]


def test_dw_pad_copy_is_given_without_growing_either_arena() -> None:
    """ProxylessNAS's stride-1 streamed blocks (3x3: dw3_ring's ring; 5x5 / 7x7: dw57_pad's copy;
    eight in the training step, more in the inference graph) get their copy in their scratch where
    that costs no SRAM: both arenas planned again without any copy are as large, the blocks'
    scratch smaller; the one left out (the first block's 3x3 ring, 64 wide, 16 channels: no pair
    buffer to share) would grow an arena."""
    from tte.compiler.analysis import _scratch_fn, analyze
    from tte.compiler.emit.block import DW_PAD_META, dw_pad_candidate

    a = analyze(paper_int8("proxyless-w0.3"), scheme="paper:proxyless-w0.3:98kb")
    both = (a.scheduled, a.inference)
    given = a.scheduled.graph.meta[DW_PAD_META]
    cands = {n.name for s in both for n in s.graph.nodes if dw_pad_candidate(n, s.graph)}
    assert len([n for n in a.scheduled.graph.nodes if n.name in cands]) == 8
    assert given < cands and a.inference.graph.meta[DW_PAD_META] == given
    assert "blocks.2.add@streamed" in given and cands - given == {"blocks.0.pointwise2@streamed"}

    def scratch() -> list[int]:
        return [_scratch_fn(s)(n) for s in both for n in s.graph.nodes if n.name in given]

    with_copy, bytes_with = plan_arenas(a), scratch()
    for s in both:
        s.graph.meta[DW_PAD_META] = cands
    assert any(b > c for b, c in zip(plan_arenas(a), with_copy, strict=True))
    for s in both:
        s.graph.meta[DW_PAD_META] = frozenset()
    # (a copy no larger than P's pair buffer costs no scratch)
    without = scratch()
    assert all(b <= c for b, c in zip(without, bytes_with, strict=True)) and sum(without) < sum(bytes_with)
    assert plan_arenas(a) == with_copy


def test_floor_bounds_every_plan_and_the_input_outside_plan_chains_the_first_blocks() -> None:
    """MemoryPlan.floor_bytes is a lower bound no plan goes under; with the input image outside
    the arena, the stem's output heads the chain of streamed outputs (plan_memory(chain_from=)),
    and the inference plan then reaches its floor, 32 KB of the stem's output at 64x64x8 plus
    block 1's scratch, below the plan that does not chain them."""
    from tte.compiler.analysis import _overlap_fn, _scratch_fn, analyze

    a = analyze(paper_int8("mbv2-w0.35"), scheme="paper:mbv2-w0.35:99kb")
    assert a.outside is not None
    for plan in (a.plan, a.inference_plan, *a.outside):
        check_plan(plan)
        floor = plan.floor_bytes()
        assert all(f <= h for f, h in zip(floor, plan.high_water, strict=True))
        assert all(f <= live for f, live in zip(floor, plan.live_bytes, strict=True))
    inf = a.outside[1]
    stem_out = a.inference.graph.nodes[0].outputs[0]
    assert a.inference.graph.tensors[stem_out].nbytes == 64 * 64 * 8
    assert inf.offsets[stem_out] > 0 and any(i == stem_out for _, i in inf.overlaps)
    assert inf.arena_bytes == max(inf.floor_bytes())
    s = a.inference
    plain = plan_memory(s, scratch=_scratch_fn(s), overlap=_overlap_fn(s.graph))
    # (the unchained plan's planners and search now reach that floor too; the chain keeps it)
    assert inf.arena_bytes <= plain.arena_bytes
    assert a.report["arena_bytes_input_outside_arena"] == max(p.arena_bytes for p in a.outside)


@pytest.mark.parametrize("model,budget", [("mcunet-5fps", "99kb"), ("mbv2-w0.35", "99kb")])
def test_eight_pixel_buffers_never_grow_the_arenas(model: str, budget: str) -> None:
    """The 1x1 convs that _choose_optional_scratch gives eight pixels' buffer (PW_BUFFER8_META:
    eight pixels a pass, tte_conv2d_s8_ws_sized) get it planned in full, and both plans are no
    larger with those buffers than with the four pixels' ones (or none) instead."""
    from tte.compiler.analysis import analyze
    from tte.compiler.emit.conv import PW_BUFFER8_META, pointwise_buffer8_bytes

    a = analyze(paper_int8(model), scheme=f"paper:{model}:{budget}")
    plans = (a.scheduled, a.inference)

    eight = [s.graph.meta[PW_BUFFER8_META] for s in plans]
    assert eight[0]
    with_them = plan_arenas(a)
    for s in plans:
        s.graph.meta[PW_BUFFER8_META] = frozenset()
    try:
        four = plan_arenas(a)
    finally:
        for s, e in zip(plans, eight, strict=True):
            s.graph.meta[PW_BUFFER8_META] = e
    assert all(w <= f for w, f in zip(with_them, four, strict=True)), (with_them, four)
    g = a.scheduled.graph
    scratch = {b.name: b.size for b in a.plan.buffers if b.name.endswith("@scratch")}
    for name in eight[0]:
        node = next(n for n in g.nodes if n.name == name)
        assert scratch[f"{name}@scratch"] >= pointwise_buffer8_bytes(node, g) > 0


def test_search_lowers_the_rows_plan_of_the_required_buffers() -> None:
    """ProxylessNAS's rows build without its optional scratch: no planner places the backward's
    gradients under 30,088 B (each long-lived gradient born while the next block's saved
    activations are alive leaves a hole the next gradient does not fit); the local search, moving
    the buffers at the top to just before buffers alive with them, gets the plan below 29,588 B
    (the arena of a 108 KB peak), every buffer apart from those it lives with."""
    from tte.compiler.analysis import _inputs_kw, _overlap_fn, _scratch_fn, analyze
    from tte.compiler.emit.block import DW_ALL_META, DW_PAD_META
    from tte.compiler.emit.conv import PW_BUFFER8_META, PW_BUFFER_META
    from tte.compiler.emit.dwpw import PADDED_META, Q_COLS_META, X_FLOAT_META

    a = analyze(paper_int8("proxyless-w0.3"), scheme="paper:proxyless-w0.3:98kb", input_rows=True)
    sg, x = a.scheduled, a.forward.inputs[0]
    for key in (PW_BUFFER_META, PW_BUFFER8_META, PADDED_META, DW_PAD_META, DW_ALL_META):
        sg.graph.meta[key] = frozenset()
    sg.graph.meta[X_FLOAT_META], sg.graph.meta[Q_COLS_META] = {}, {}
    kw = {"scratch": _scratch_fn(sg), "overlap": _overlap_fn(sg.graph), **_inputs_kw(sg, x)}
    planners = plan_arena_bytes(sg, **kw)
    searched = plan_memory(sg, search=True, **kw)
    check_plan(searched)
    assert searched.planner.endswith(SEARCHED)
    assert max(searched.floor_bytes()) <= searched.arena_bytes < 29_588 < planners
