"""tte.compiler.fuse: streamed blocks replace only frozen forward chains and change no result bit."""

from __future__ import annotations

import numpy as np
import pytest
from c_cases import _block_case
from models import mbv2_int8

from tte.compiler.analysis import analyze
from tte.compiler.fuse import stream_blocks
from tte.compiler.schedule import schedule_inference
from tte.reference import execute


@pytest.mark.parametrize("seed", range(12))
def test_fused_reference_equals_the_unfused_ops(seed: int) -> None:
    case = _block_case(seed)
    unfused = case.extra["unfused"]
    feeds = {k: v for k, v in case.feeds.items() if k in unfused.inputs}
    want = execute(unfused, feeds)[unfused.outputs[0]]
    got = execute(case.graph, case.feeds)[case.graph.outputs[0]]
    np.testing.assert_array_equal(got, want)


def test_inference_graph_is_streamed_and_identical() -> None:
    g = mbv2_int8()
    inf = schedule_inference(g)
    fused = stream_blocks(inf)
    ops = [n.op for n in fused.graph.nodes]
    assert ops.count("streamed_block") == 17 and "add" not in ops
    x = np.random.default_rng(1).integers(-128, 128, g.tensors[g.inputs[0]].shape).astype(np.int8)
    np.testing.assert_array_equal(execute(fused.graph, {g.inputs[0]: x})[g.outputs[0]],
                                  execute(g, {g.inputs[0]: x})[g.outputs[0]])


def test_training_graph_streams_only_the_frozen_part_and_is_identical() -> None:
    g = mbv2_int8()
    plain = analyze(g, scheme="paper:mbv2-w0.35:99kb", stream=False)
    a = analyze(g, scheme="paper:mbv2-w0.35:99kb")
    sg, sg0 = a.scheduled, plain.scheduled
    fused = [n for n in sg.graph.nodes if n.op == "streamed_block"]
    assert fused and all(i < sg.forward_nodes for i, n in enumerate(sg.graph.nodes) if n.op == "streamed_block")
    # the backward part is untouched but for the dwpw_backward groups and the pooled updates beside
    # the last one (which both stand for the pool's gradient, tte.compiler.pooled.pool_heads);
    # nothing it reads went into a chain
    expanded = [c.name for n in sg.graph.nodes[sg.forward_nodes:]
                for c in (n.attrs["chain"].nodes if n.op in ("dwpw_backward", "pooled_update") else (n,))]
    assert sorted(set(expanded)) == sorted(n.name for n in sg0.graph.nodes[sg0.forward_nodes:])
    pooled = [n for n in sg.graph.nodes if n.op == "dwpw_backward" and n.attrs.get("pool")]
    assert len(pooled) == 1 and pooled[0].inputs[0] == "pool@grad"
    assert len(expanded) == len(set(expanded)) + len(pooled[0].attrs["pool"])
    assert any(n.op == "dwpw_backward" for n in sg.graph.nodes)
    inner = {t.name for n in fused for t in n.attrs["chain"].intermediates}
    assert not inner & {i for n in sg.graph.nodes for i in n.inputs} and not inner & set(a.training.saved)
    assert not inner & {i for n in fused for c in n.attrs["chain"].nodes for i in c.inputs if i in a.training.updates}
    rng = np.random.default_rng(2)
    feeds = {g.inputs[0]: rng.integers(-128, 128, g.tensors[g.inputs[0]].shape).astype(np.int8),
             a.training.label: np.array([3], np.int32), "step": np.array([0], np.int32)}
    want = execute(sg0.graph, feeds)
    got = execute(sg.graph, feeds)
    assert set(got) == set(want)
    for k in want:
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)
    # the memory the planner sees: the expand outputs are gone
    # (both arenas hold the 48 KB input image)
    assert a.report["inference_arena_bytes"] < plain.report["inference_arena_bytes"] / 2
    assert a.report["train_arena_bytes"] < plain.report["train_arena_bytes"]


def test_no_streaming_without_reorder_unless_asked() -> None:
    g = mbv2_int8()
    a = analyze(g, scheme="paper:mbv2-w0.35:99kb", reorder=False)
    assert not any(n.op == "streamed_block" for n in a.scheduled.graph.nodes)
    b = analyze(g, scheme="paper:mbv2-w0.35:99kb", reorder=False, stream=True)
    assert any(n.op == "streamed_block" for n in b.scheduled.graph.nodes)


def test_backward_groups_keep_every_bit_in_c() -> None:
    """dwpw_backward (tte.compiler.fuse.stream_backward, with heads): the trained weights and losses
    of the generated C equal those of the unfused schedule, bit for bit, and the largest
    backward tensors (a 1x1 conv's float output gradient, the depthwise's) are gone from
    the plan."""
    from tte.compiler.codegen import generate
    from tte.targets.sim import Simulator

    g = mbv2_int8()
    scheme = "paper:mbv2-w0.35:99kb"
    a = analyze(g, scheme=scheme, budget_bytes=1 << 40)
    plain = analyze(g, scheme=scheme, budget_bytes=1 << 40, stream=False)
    groups = [n for n in a.scheduled.graph.nodes if n.op == "dwpw_backward"]
    assert len(groups) >= 4
    # with a head, the depthwise output's float gradient (the stride-1 block's largest) is gone too
    assert sum(bool(n.attrs["head"]) for n in groups) >= 4
    gone = {t.name for n in groups for t in n.attrs["chain"].intermediates}
    assert not gone & set(a.plan.offsets) and gone <= set(plain.plan.offsets)
    sims = [Simulator(x, generate(x, name), name) for x, name in ((a, "mb_dwpw"), (plain, "mb_plain"))]
    rng = np.random.default_rng(5)
    shape = g.tensors[g.inputs[0]].shape
    for k in range(3):
        x = rng.integers(-128, 128, shape).astype(np.int8)
        losses = [s.train_step(x, k % 10) for s in sims]
        assert losses[0] == losses[1]
    assert sims[0].crc32() == sims[1].crc32()
    w0, w1 = sims[0].weights(), sims[1].weights()
    assert any(not np.array_equal(w0[p], g.tensors[p].data) for p in w0)
    for p in w0:
        np.testing.assert_array_equal(w0[p], w1[p], err_msg=p)


def test_streamed_outputs_overwrite_consumed_input_rows_and_keep_every_bit() -> None:
    """tte.compiler.fuse.block_overlap: a streamed block's output may start a few rows below its
    input and overwrite the rows it has consumed. The planner uses that (the input image
    and the first block's output share most of their bytes), check_plan verifies every such
    pair, and the generated C run on the real arena at those offsets gives the reference's
    bytes."""
    from tte.compiler.codegen import generate
    from tte.compiler.memory import check_plan
    from tte.targets.sim import Simulator

    g = mbv2_int8()
    a = analyze(g, scheme="paper:mbv2-w0.35:99kb", budget_bytes=1 << 40)
    x_name = g.inputs[0]
    for plan in (a.plan, a.inference_plan):
        check_plan(plan)
        by_name = {b.name: b for b in plan.buffers}
        shared = [(o, i) for (o, i) in plan.overlaps
                  if by_name[o].offset < by_name[i].offset < by_name[o].offset + by_name[o].size]
        assert any(i == x_name for _, i in shared), plan.overlaps
        assert plan.offsets[x_name] == a.plan.offsets[x_name]
        # one aligned step closer than the kernel's row pattern allows is refused
        out = next(by_name[o] for o, i in shared if i == x_name)
        keep = out.offset
        out.offset = by_name[x_name].offset - plan.overlaps[(out.name, x_name)] + 8
        with pytest.raises(AssertionError):
            check_plan(plan)
        out.offset = keep
    assert a.report["inference_arena_bytes"] < g.tensors[x_name].nbytes + 32 * 1024
    # with the next blocks' outputs pinned under their inputs, the forward's peak is the
    # first block: the input image, one row of distance and the block's ring
    ip = a.inference_plan
    assert ip.high_water[0] == ip.arena_bytes == ip.offsets[x_name] + g.tensors[x_name].nbytes + next(
        b.size for b in ip.buffers if b.name.endswith("@scratch") and b.first == 0)
    sim = Simulator(a, generate(a, "mb_overlap"), "mb_overlap")
    lib, ffi = sim.lib, sim.ffi
    rng = np.random.default_rng(11)
    for _ in range(2):
        x = rng.integers(-128, 128, g.tensors[x_name].shape).astype(np.int8)
        want = execute(g, {x_name: x})[g.outputs[0]]
        np.testing.assert_array_equal(sim.infer(x), want)
        raw = np.ascontiguousarray(x).tobytes()
        ffi.memmove(lib.tte_input_buffer(), raw, len(raw))
        got = np.zeros(want.size, np.int8)
        lib.tte_infer(ffi.NULL, ffi.from_buffer("int8_t[]", got))
        np.testing.assert_array_equal(got.reshape(want.shape), want)


def test_block_row_pattern_mirrors_the_kernel() -> None:
    """block_rows_read: the lowest input row still read from output row oy on; a residual
    block reads input row oy for output row oy, a stride-2 block needs its output only one
    row below its input."""
    from tte.compiler.fuse import block_overlap, block_rows_read

    inf = stream_blocks(schedule_inference(mbv2_int8()))
    blocks = [n for n in inf.graph.nodes if n.op == "streamed_block"]
    for n in blocks:
        need = block_rows_read(n, inf.graph)
        y = inf.graph.tensors[n.outputs[0]]
        assert need == sorted(need) and len(need) == y.shape[1] and need[0] == 0
        # output row 0 is written after input row 0 was read: at least one row below
        d = block_overlap(n, inf.graph)
        assert d is not None and d >= y.nbytes // y.shape[1]
        if inf.graph.tensors[n.inputs[0]].shape[1] == 2 * y.shape[1]:   # stride 2
            assert d == y.nbytes // y.shape[1]
        if n.attrs["chain"].nodes[-1].op == "add":
            assert need == list(range(len(need)))   # the residual reads input row oy
