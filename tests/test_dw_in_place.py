"""A depthwise conv run over its own input (tte_conv2d_s8_depthwise_inplace, chosen by
tte.compiler.analysis._choose_dw_in_place where an arena shrinks): the plan places the output on
the input, and the model trains and infers with the bits of the plan without it. The kernel's
own cases: tests/c_cases.py _dw_in_place_case (host vs reference, host vs the emulated M7)."""

from __future__ import annotations

import numpy as np
import pytest
from models import paper_int8

import tte.compiler.analysis as analysis
from tte.compiler.analysis import analyze
from tte.compiler.emit.conv import DW_IN_PLACE_META

SCHEME = "paper:mbv2-w0.35:99kb"


def test_unstreamed_plan_runs_a_depthwise_over_its_input_and_keeps_every_bit() -> None:
    """MobileNetV2 without streaming: its arena's peak is a depthwise conv's step, which the conv
    run over its input lowers; its output starts on its input's bytes, and the step trains and
    infers with the bits of the plan without it."""
    from tte.compiler.codegen import generate
    from tte.targets.sim import Simulator

    g = paper_int8("mbv2-w0.35")
    with_ip = analyze(g, scheme=SCHEME, stream=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(analysis, "_choose_dw_in_place", lambda sg, inf, x: None)
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
    sims = [Simulator(a, generate(a, name), name) for a, name in ((with_ip, "mb_dwip"), (without, "mb_dwnoip"))]
    rng = np.random.default_rng(5)
    start = sims[0].crc32()
    for k in range(2):
        xin = rng.integers(-128, 128, g.tensors[g.inputs[0]].shape).astype(np.int8)
        assert sims[0].train_step(xin, k) == sims[1].train_step(xin, k)
        np.testing.assert_array_equal(sims[0].infer(xin), sims[1].infer(xin))
    assert sims[0].crc32() == sims[1].crc32() != start


def test_streamed_paper_plans_leave_it_out_where_the_first_blocks_set_the_arena() -> None:
    """The streamed paper plans' arenas peak at the first blocks: no depthwise conv pays the copies
    there (each one's step stays further below the highest floor than its output)."""
    g = paper_int8("proxyless-w0.3")
    a = analyze(g, scheme="paper:proxyless-w0.3:98kb", input_rows=True)
    assert a.plan.peak_step() <= 1
    assert not a.scheduled.graph.meta.get(DW_IN_PLACE_META)
