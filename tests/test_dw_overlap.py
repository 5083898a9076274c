"""A whole-image depthwise conv's output over its consumed input rows
(tte.compiler.fuse.depthwise_overlap, offered to the planner by tte.compiler.analysis): the
distance and step the kernels' order needs, the planner's placement on the step, and a paper
model whose plan uses them training and inferring with the bits of the plan without them, on
the host and on the emulated M7. The kernels themselves run overlapped in tests/c_cases.py
(_dw_overlap_case: host vs reference, host vs M7)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fwtools import needs_arm_gcc, needs_qemu
from models import mbv2_int8

import tte.compiler.analysis as analysis
import tte.compiler.memory as memory
from tte.compiler.analysis import Analysis, analyze
from tte.compiler.fuse import depthwise_overlap
from tte.compiler.memory import check_plan
from tte.ir import Graph, Tensor

SCHEME = "paper:mbv2-w0.35:99kb"
LATEST_BORN_FIRST = {"latest-born-first": lambda bs: sorted(bs, key=lambda b: (-b.first, -b.size, b.name))}


def _dw(shape: tuple[int, int, int, int], k: int, stride: int, pad: int, dtype: str = "int8",
        dil: int = 1) -> tuple[Graph, Any]:
    n, h, w, c = shape
    g = Graph("dw")
    g.add_tensor(Tensor("x", shape, dtype))
    g.add_tensor(Tensor("w", (c, k, k, 1), "int8"))
    oh, ow = (h + 2 * pad - dil * (k - 1) - 1) // stride + 1, (w + 2 * pad - dil * (k - 1) - 1) // stride + 1
    g.add_tensor(Tensor("y", (n, oh, ow, c), dtype))
    node = g.add_node("conv2d", ["x", "w"], "y", {"strides": (stride, stride), "dilations": (dil, dil),
                                                   "pads": (pad,) * 4, "groups": c,
                                                   "activation": "none"})
    return g, node


def test_distance_is_the_window_rows_plus_one_on_a_channel_step() -> None:
    """Stride 1: pad_top + 2 rows (output row oy may be written while output row oy - 1's
    window, from input row oy - 1 - pad_top, is still read); stride 2 by the same rule on its
    rows; always a multiple of the channel count and of 8; none where the kernel is not the
    whole-image depthwise of the tests."""
    g, n = _dw((1, 8, 8, 192), 3, 1, 1)
    assert depthwise_overlap(n, g) == (3 * 8 * 192, 192)
    g, n = _dw((1, 8, 8, 144), 7, 1, 3)
    assert depthwise_overlap(n, g) == (5 * 8 * 144, 144)
    g, n = _dw((1, 8, 8, 12), 3, 1, 1)
    assert depthwise_overlap(n, g) == (3 * 8 * 12, 24)
    # stride 2, 16 -> 8 rows: output row oy (8 * 20 B) ends above input row 2 (oy - 1) - 1
    g, n = _dw((1, 16, 16, 20), 3, 2, 1)
    d, step = depthwise_overlap(n, g) or (0, 0)
    assert step == 40 and d % step == 0
    assert d == -(-max((oy + 1) * 160 - max(0, 2 * oy - 3) * 320 for oy in range(8)) // 40) * 40
    for g, n in (_dw((2, 8, 8, 16), 3, 1, 1), _dw((1, 8, 8, 18), 3, 1, 1), _dw((1, 8, 8, 16), 3, 1, 1, "float32"),
                 _dw((1, 9, 9, 16), 3, 1, 2, dil=2)):
        assert depthwise_overlap(n, g) is None
    g, n = _dw((1, 8, 8, 16), 3, 1, 1)
    n.attrs["groups"] = 4   # a grouped conv: another kernel
    assert depthwise_overlap(n, g) is None


@pytest.fixture(scope="module")
def plans() -> Iterator[tuple[Analysis, Analysis]]:
    """MobileNetV2's analysis with and without the depthwise overlaps, both planned by one
    planner that places the latest-born buffers first (a depthwise output before its input,
    which then goes the allowed distance above it): the paper plans' planners happen to
    leave the overlaps unused, as the arena's peak is the first step."""
    g = mbv2_int8()
    mp = pytest.MonkeyPatch()
    mp.setattr(memory, "PLANNERS", LATEST_BORN_FIRST)
    try:
        with_dw = analyze(g, scheme=SCHEME)
        mp.setattr(analysis, "depthwise_overlap", lambda n, g: None)
        # nor any depthwise run over its input (tte.compiler.analysis._choose_over_input)
        mp.setattr(analysis, "_choose_over_input", lambda sg, inf, x: None)
        without = analyze(g, scheme=SCHEME)
    finally:
        mp.undo()
    yield with_dw, without


def _shared(a: Analysis) -> list[tuple[str, str]]:
    """The depthwise output/input pairs of a's training plan that share bytes."""
    plan = a.plan
    by_name = {b.name: b for b in plan.buffers}
    return [(o, i) for o, i in plan.overlap_steps
            if by_name[o].offset < by_name[i].offset + by_name[i].size
            and by_name[i].offset < by_name[o].offset + by_name[o].size]


def test_planner_places_depthwise_outputs_on_the_step(plans: tuple[Analysis, Analysis]) -> None:
    """The training plan of MobileNetV2 lets depthwise outputs share bytes with their inputs
    (the floor at blocks.12.depthwise falls by the output less the distance), each at a
    distance that is a multiple of its step and no less than the allowed one; check_plan
    refuses one aligned step off it."""
    with_dw, without = plans
    plan = with_dw.plan
    check_plan(plan)
    shared = _shared(with_dw)
    assert len(shared) >= 3, plan.overlap_steps
    by_name = {b.name: b for b in plan.buffers}
    for o, i in shared:
        dist = by_name[i].offset - by_name[o].offset
        assert dist >= plan.overlaps[(o, i)] and dist % plan.overlap_steps[(o, i)] == 0
    o, i = shared[0]
    keep = by_name[o].offset
    by_name[o].offset = keep - 8
    with pytest.raises(AssertionError):
        check_plan(plan)
    by_name[o].offset = keep
    step = plan.steps.index("blocks.12.depthwise")
    assert not without.plan.overlap_steps
    out = next(b for b in plan.buffers if b.name == "blocks.12.depthwise.relu6")
    d = plan.overlaps[("blocks.12.depthwise.relu6", "blocks.12.pointwise1.relu6")]
    assert without.plan.floor_bytes()[step] - plan.floor_bytes()[step] == out.size - d


def test_stepped_placement_is_the_lowest_on_the_step(plans: tuple[Analysis, Analysis],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """plan_memory's indexed placement with stepped overlaps equals the plain one-by-one
    placement (tests/test_memory.py placed_one_by_one: each buffer at the lowest offset that
    fits, on the step where it shares bytes with a partner)."""
    import test_memory

    from tte.compiler.analysis import _overlap_fn, _scratch_fn
    from tte.compiler.memory import SEARCHED, check_plan, plan_memory

    with_dw, _ = plans
    monkeypatch.setattr(memory, "PLANNERS", LATEST_BORN_FIRST)
    monkeypatch.setattr(test_memory, "PLANNERS", LATEST_BORN_FIRST)
    sg = with_dw.scheduled
    x = with_dw.forward.inputs[0]
    # at the input's offset in the analysis's plan (the training and inference plans share it)
    kw: dict[str, Any] = {"arena_inputs": [x], "scratch": _scratch_fn(sg), "overlap": _overlap_fn(sg.graph),
                          "input_offset": with_dw.plan.offsets[x]}
    want = test_memory.placed_one_by_one(sg, **kw)
    plan = plan_memory(sg, search=True, **kw)   # as the analysis's
    assert {k: v for k, v in plan.candidates.items() if not k.endswith(SEARCHED)} == {k: v[0] for k, v in want.items()}
    if plan.planner.endswith(SEARCHED):   # the local search from the best of them (tests/test_memory.py)
        check_plan(plan)
        assert plan.arena_bytes < min(v[0] for v in want.values())
    else:
        assert plan.offsets == {t: want[plan.planner][1][b.name] for b in plan.buffers for t in b.tensors}
    assert plan.offsets == with_dw.plan.offsets


def _run(engines: list[Any], shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(21)
    start = engines[0].crc32()
    for k in range(3):
        x = rng.integers(-128, 128, shape).astype(np.int8)
        losses = [e.train_step(x, k % 10) for e in engines]
        assert losses[0] == losses[1]
        outs = [e.infer(x) for e in engines]
        np.testing.assert_array_equal(outs[0], outs[1])
    assert engines[0].crc32() == engines[1].crc32() != start
    w0, w1 = engines[0].weights(), engines[1].weights()
    assert set(w0) == set(w1)
    for p in w0:
        np.testing.assert_array_equal(w0[p], w1[p], err_msg=p)


def test_overlapped_plan_trains_as_the_plain_one_on_the_host(plans: tuple[Analysis, Analysis]) -> None:
    from tte.compiler.codegen import generate
    from tte.targets.sim import Simulator

    with_dw, without = plans
    assert _shared(with_dw)
    sims = [Simulator(a, generate(a, name), name) for a, name in ((with_dw, "mb_dwov"), (without, "mb_dwplain"))]
    _run(sims, with_dw.forward.tensors[with_dw.forward.inputs[0]].shape)


def test_unstreamed_plan_uses_the_overlaps_and_keeps_every_bit() -> None:
    """ProxylessNAS without streaming: its own planners let the first depthwise conv's output
    (64 x 64 x 16) share bytes with its input (the arena 176 -> 136 KB), and it trains and
    infers with the bits of the plan without the overlaps."""
    from models import paper_int8

    from tte.compiler.codegen import generate
    from tte.targets.sim import Simulator

    g = paper_int8("proxyless-w0.3")
    scheme = "paper:proxyless-w0.3:98kb"
    with_dw = analyze(g, scheme=scheme, stream=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(analysis, "depthwise_overlap", lambda n, g: None)
        # nor any depthwise run over its input (tests/test_dw_in_place.py)
        mp.setattr(analysis, "_choose_over_input", lambda sg, inf, x: None)
        without = analyze(g, scheme=scheme, stream=False)
    assert ("blocks.0.depthwise.relu6", "first_conv.relu6") in _shared(with_dw)
    assert with_dw.report["arena_bytes"] < without.report["arena_bytes"] - 32 * 1024
    sims = [Simulator(a, generate(a, name), name) for a, name in ((with_dw, "px_dwov"), (without, "px_dwplain"))]
    _run(sims, g.tensors[g.inputs[0]].shape)


@needs_arm_gcc
@needs_qemu
def test_overlapped_plan_trains_as_the_plain_one_on_the_m7(plans: tuple[Analysis, Analysis]) -> None:
    from tte.compiler.codegen import generate
    from tte.targets.qemu import QemuEngine

    with_dw, without = plans
    engines = [QemuEngine(a, generate(a, name), name) for a, name in ((with_dw, "mb_dwov"), (without, "mb_dwplain"))]
    try:
        _run(engines, with_dw.forward.tensors[with_dw.forward.inputs[0]].shape)
    finally:
        for e in engines:
            e.close()


def test_a_shared_placement_moves_onto_the_step() -> None:
    """Where the lowest free offset would share bytes off the step, the buffer moves to the
    next offset on it: an output below its input closer to it, an input above its output
    further from it (the distance stays at least the allowed one)."""
    from tte.compiler.memory import Buffer, _Layout

    def layout() -> tuple[list[Buffer], _Layout]:
        bufs = [Buffer("keep", ["keep"], 40, 0, 5), Buffer("gap", ["gap"], 48, 0, 1),
                Buffer("in", ["in"], 96, 0, 2), Buffer("out", ["out"], 96, 2, 4)]
        return bufs, _Layout.of(bufs, {("out", "in"): 32}, {("out", "in"): 32})

    bufs, lay = layout()
    offsets = [-1] * 4
    lay.place([0, 1, 2, 3], offsets)
    # the input at 88; the output's lowest free offset 40 is 48 below it: on the step, 32 below
    assert offsets == [0, 40, 88, 56]
    bufs, lay = layout()
    offsets = [-1] * 4
    lay.place([0, 3, 1, 2], offsets)
    # the output at 40; the input's lowest free offset 88 is 48 above it: on the step, 64 above
    assert offsets == [0, 40, 104, 40]
