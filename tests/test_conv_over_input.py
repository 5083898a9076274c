"""Convs whose output lies over their own input (tte.compiler.analysis._choose_over_input, where
an arena shrinks): a depthwise conv in passes of channels (tte_conv2d_s8_depthwise_inplace), a 1x1
conv pixel by pixel (tte_conv2d_s8_pointwise_by_pixel). The plans place the outputs on the inputs,
and the models train and infer with the bits of the plans without them. The kernels' own cases:
tests/c_cases.py _dw_in_place_case, _pw_by_pixel_case (host vs reference, host vs the emulated M7)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from models import paper_int8

import tte.compiler.analysis as analysis
import tte.compiler.memory as memory
from tte.compiler.analysis import Analysis, analyze
from tte.compiler.emit.conv import DW_IN_PLACE_META, PW_BY_PIXEL_META

SCHEME = "paper:mbv2-w0.35:99kb"


def test_unstreamed_plan_runs_a_depthwise_over_its_input_and_keeps_every_bit() -> None:
    """MobileNetV2 without streaming: its arena's peak is a depthwise conv's step, which the conv
    run over its input lowers; its output starts on its input's bytes, and the step trains and
    infers with the bits of the plan without it."""
    g = paper_int8("mbv2-w0.35")
    with_ip = analyze(g, scheme=SCHEME, stream=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(analysis, "_choose_over_input", lambda sg, inf, x: None)
        without = analyze(g, scheme=SCHEME, stream=False)
    chosen = with_ip.scheduled.graph.meta[DW_IN_PLACE_META]
    assert chosen and not without.scheduled.graph.meta.get(DW_IN_PLACE_META)
    assert with_ip.report["arena_bytes"] < without.report["arena_bytes"]
    plan, sg = with_ip.plan, with_ip.scheduled.graph
    by_name = {b.name: b for b in plan.buffers}
    node = next(n for n in sg.nodes if n.name in chosen)
    x, y = by_name[node.inputs[0]], by_name[node.outputs[0]]
    assert x.offset < y.offset + y.size and y.offset < x.offset + x.size   # they share bytes
    assert (x.offset - y.offset) % sg.tensors[node.inputs[0]].shape[3] == 0 <= x.offset - y.offset
    _same_bits(with_ip, without, "mb_dwip", g.tensors[g.inputs[0]].shape, ("tte_conv2d_s8_depthwise_inplace",))


def _same_bits(a: Analysis, b: Analysis, name: str, shape: tuple[int, ...], calls: tuple[str, ...] = ()) -> None:
    """Host C of both analyses (the first's calling each of ``calls``): the same losses, outputs
    and trained weights over two steps."""
    from tte.compiler.codegen import generate
    from tte.targets.sim import Simulator

    sources = [(an, generate(an, nm), nm) for an, nm in ((a, name), (b, f"{name}_plain"))]
    for call in calls:
        assert any(f"{call}(" in text for text in sources[0][1].values()), call
    sims = [Simulator(*src) for src in sources]
    rng = np.random.default_rng(5)
    start = sims[0].crc32()
    for k in range(2):
        xin = rng.integers(-128, 128, shape).astype(np.int8)
        assert sims[0].train_step(xin, k) == sims[1].train_step(xin, k)
        np.testing.assert_array_equal(sims[0].infer(xin), sims[1].infer(xin))
    assert sims[0].crc32() == sims[1].crc32() != start


def _shares(a: Analysis, out: str, inp: str) -> int:
    """How far below input ``inp``'s buffer output ``out``'s starts in a's training plan, where
    the two share bytes (else an AssertionError)."""
    by_name = {t: b for b in a.plan.buffers for t in b.tensors}
    o, i = by_name[out], by_name[inp]
    assert o.offset < i.offset + i.size and i.offset < o.offset + o.size, (out, o.offset, inp, i.offset)
    return i.offset - o.offset


def test_late_block_of_proxyless_runs_over_its_inputs_and_keeps_every_bit() -> None:
    """ProxylessNAS (rows build) with its last block's 7x7 depthwise conv (4x4x384) in passes of
    channels and its 1x1 projection (384 -> 96) pixel by pixel, planned by a planner that places
    the latest-born buffers first: each output shares its input's bytes (the depthwise's on a
    multiple of 384 bytes, the projection's at or below its input), the steps' floors fall by
    the depthwise's output and the projection's, and the step has the plain plan's bits."""
    g = paper_int8("proxyless-w0.3")
    scheme = "paper:proxyless-w0.3:98kb"

    def forced(sg: Any, inf: Any, x: str) -> None:
        for gr in (sg.graph, inf.graph):
            gr.meta[DW_IN_PLACE_META] = frozenset({"blocks.19.depthwise"})
            gr.meta[PW_BY_PIXEL_META] = frozenset({"blocks.19.pointwise2"})

    latest_first = {"latest-born-first": lambda bs: sorted(bs, key=lambda b: (-b.first, -b.size, b.name))}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(memory, "PLANNERS", latest_first)
        # blocks 0 and 1 unpaired: their arena leaves block 19's outputs no room but over their inputs
        mp.setattr(analysis, "_choose_pairs", lambda s, x, trained: s)
        mp.setattr(analysis, "_choose_over_input", forced)
        over = analyze(g, scheme=scheme, input_rows=True)
        mp.setattr(analysis, "_choose_over_input", lambda sg, inf, x: None)
        plain = analyze(g, scheme=scheme, input_rows=True)
    d = _shares(over, "blocks.19.depthwise.relu6", "blocks.19.pointwise1.relu6")
    assert d >= 0 and d % 384 == 0
    assert _shares(over, "blocks.19.pointwise2.conv", "blocks.19.depthwise.relu6") >= 0
    steps = over.plan.steps
    fo, fp = over.plan.floor_bytes(), plain.plan.floor_bytes()
    dw, pw = steps.index("blocks.19.depthwise"), steps.index("blocks.19.pointwise2")
    assert fp[dw] - fo[dw] == 6144 - 128 - 16 * 8 * 2   # less the passes' parameters and copies of 8 channels
    assert fp[pw] - fo[pw] >= 1536
    _same_bits(over, plain, "px_over", g.tensors[g.inputs[0]].shape,
               ("tte_conv2d_s8_depthwise_inplace", "tte_conv2d_s8_pointwise_by_pixel"))


def required_floors(a: Analysis) -> list[int]:
    """The training plan's floors without the optional speed scratch (which fills the room the
    arena leaves), from a copy of its graph's meta with those choices cleared."""
    from tte.compiler.emit.block import DW_ALL_META, DW_PAD_META
    from tte.compiler.emit.conv import PW_BUFFER8_META, PW_BUFFER_META
    from tte.compiler.emit.dwpw import PADDED_META, Q_COLS_META, X_FLOAT_META

    meta = a.scheduled.graph.meta
    kept = dict(meta)
    try:
        for key in (PW_BUFFER_META, PW_BUFFER8_META, PADDED_META, DW_PAD_META, DW_ALL_META):
            meta[key] = frozenset()
        meta[X_FLOAT_META], meta[Q_COLS_META] = {}, {}
        return analysis._train_plan(a.scheduled, a.forward.inputs[0]).floor_bytes()
    finally:
        meta.clear()
        meta.update(kept)


def test_streamed_proxyless_takes_them_where_only_rounds_together_shrink_the_arena() -> None:
    """ProxylessNAS (rows build, its first blocks paired): its last block's depthwise conv over its
    input lowers that step's floor but alone leaves the placement as high; with the next rounds'
    convs the arena shrinks below the plan without any. The pair's step, which no conv over its
    input lowers, is under both arenas' highest floors (its first block's rows made where the
    second's expand conv reads them)."""
    g = paper_int8("proxyless-w0.3")
    scheme = "paper:proxyless-w0.3:98kb"
    a = analyze(g, scheme=scheme, input_rows=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(analysis, "_choose_over_input", lambda sg, inf, x: None)
        plain = analyze(g, scheme=scheme, input_rows=True)
    meta = a.scheduled.graph.meta
    assert "blocks.19.depthwise" in meta[DW_IN_PLACE_META]
    assert not plain.scheduled.graph.meta.get(DW_IN_PLACE_META)
    assert a.report["arena_bytes"] < plain.report["arena_bytes"]
    floors = required_floors(a)
    assert a.scheduled.graph.nodes[0].op == "streamed_pair"
    assert floors[0] < min(max(floors), max(required_floors(plain)))
