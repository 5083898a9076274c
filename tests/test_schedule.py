"""Scheduling: fused updates give the reference's weights; reordering frees memory early."""

from __future__ import annotations

import numpy as np
import pytest
from models import example_int8, mbv2_int8

from tte.compiler.memory import plan_memory
from tte.compiler.schedule import UPDATE_OPS, graph_macs, schedule, storage_bytes
from tte.ir import Graph
from tte.reference import execute
from tte.training.autodiff import TrainingGraph, derive_training_graph
from tte.training.sparse import resolve_scheme


def training(g: Graph, scheme: str, rounding: str = "stochastic") -> TrainingGraph:
    return derive_training_graph(g, resolve_scheme(scheme).to_plan(g), lr=0.05, rounding=rounding, seed=3)


def run_steps(tg: TrainingGraph, xs: list[np.ndarray], labels: list[int]) -> dict[str, np.ndarray]:
    """Train in the reference executor; return the trained parameters."""
    g = tg.graph.copy()
    for k, (x, y) in enumerate(zip(xs, labels)):
        feeds = {g.inputs[0]: x, tg.label: np.array([y], np.int32)}
        if "step" in g.inputs:
            feeds["step"] = np.array([k], np.int32)
        out = execute(g, feeds)
        for p, upd in tg.updates.items():
            g.tensors[p].data = out[upd]
    return {p: g.tensors[p].data for p in tg.updates}


def int8_inputs(g: Graph, n: int, seed: int = 0) -> list[np.ndarray]:
    shape = g.tensors[g.inputs[0]].shape
    rng = np.random.default_rng(seed)
    return [rng.integers(-128, 128, shape).astype(np.int8) for _ in range(n)]


@pytest.mark.parametrize("scheme,rounding", [("last-k:2", "stochastic"), ("full", "nearest"),
                                             ("bias-only", "stochastic")])
def test_fused_schedule_trains_the_same_weights_as_autodiff(scheme: str, rounding: str) -> None:
    g = example_int8()
    tg = training(g, scheme, rounding)
    sg = schedule(tg)
    assert sg.fused == len(tg.updates)
    assert not any(n.op in ("sgd_update", "conv2d_grad_weight", "fc_grad_weight", "bias_grad")
                   for n in sg.graph.nodes)
    xs, labels = int8_inputs(g, 5), [1, 7, 3, 3, 0]
    want = run_steps(tg, xs, labels)
    got = run_steps(sg.training, xs, labels)
    for p in want:
        np.testing.assert_array_equal(got[p], want[p], err_msg=p)
    assert any(not np.array_equal(want[p], g.tensors[p].data) for p in want)  # training moved something


def test_paper_scheme_on_mbv2_fuses_and_matches_reference() -> None:
    g = mbv2_int8()
    tg = training(g, "paper:mbv2-w0.35:49kb")
    sg = schedule(tg)
    assert sg.fused == len(tg.updates)
    xs, labels = int8_inputs(g, 2, seed=1), [4, 9]
    want, got = run_steps(tg, xs, labels), run_steps(sg.training, xs, labels)
    for p in want:
        np.testing.assert_array_equal(got[p], want[p], err_msg=p)


def _check_order_constraints(tg: TrainingGraph, sg_nodes: list) -> None:  # type: ignore[type-arg]
    pos = {n.name: i for i, n in enumerate(sg_nodes)}
    produced: set[str] = set(tg.graph.inputs) | set(tg.graph.constants())
    for n in sg_nodes:
        assert all(i in produced for i in n.inputs if i), n.name
        produced.update(n.outputs)
        if n.op in UPDATE_OPS:  # in place: every other reader of the parameter came before
            readers = [m for m in sg_nodes if n.inputs[0] in m.inputs and m is not n]
            assert all(pos[m.name] < pos[n.name] for m in readers), n.name


def test_updates_follow_their_gradient_and_precede_nothing_that_reads_the_old_value() -> None:
    tg = training(mbv2_int8(), "paper:mbv2-w0.35:99kb")
    sg = schedule(tg)
    _check_order_constraints(sg.training, sg.graph.nodes)
    nodes = sg.graph.nodes
    for i, n in enumerate(nodes):
        if n.op in ("conv2d_weight_update", "fc_weight_update"):
            dy = n.inputs[2]
            # right after the gradient it needs exists: nothing between dy's producer and the
            # update allocates a new buffer, except work that the same dy also feeds
            prod = next(j for j, m in enumerate(nodes) if dy in m.outputs)
            between = nodes[prod + 1:i]
            assert all(m.op in UPDATE_OPS or dy in m.inputs or m.op == "reshape" for m in between), \
                (n.name, [m.name for m in between])
    # the forward pass is untouched
    assert [n.name for n in nodes[:sg.forward_nodes]] == [n.name for n in tg.graph.nodes[:tg.forward_nodes]]


def test_reordering_lowers_the_backward_peak_and_can_be_turned_off() -> None:
    tg = training(mbv2_int8(), "paper:mbv2-w0.35:99kb")
    on, off = schedule(tg), schedule(tg, reorder=False)
    assert off.fused == 0 and not off.reordered
    assert [n.name for n in off.graph.nodes] == [n.name for n in tg.graph.nodes]
    p_on, p_off = plan_memory(on), plan_memory(off)
    f = tg.forward_nodes
    assert max(p_on.live_bytes[f:]) < 0.5 * max(p_off.live_bytes[f:])
    assert p_on.arena_bytes < p_off.arena_bytes


def test_inplace_only_where_the_input_dies() -> None:
    tg = training(example_int8(), "full")
    sg = schedule(tg)
    nodes = sg.graph.nodes
    pos = {n.name: i for i, n in enumerate(nodes)}
    kinds = {n.op for n in nodes if n.outputs[0] in sg.inplace}
    assert {"mask_grad", "conv2d_weight_update", "bias_update", "reshape"} <= kinds
    for out, src in sg.inplace.items():
        node = next(n for n in nodes if out in n.outputs)
        if node.op in ("mask_grad", "add"):
            later = [m for m in nodes if src in m.inputs and pos[m.name] > pos[node.name]]
            assert not later and src not in sg.graph.outputs


def test_storage_bytes_counts_masks_in_bits_and_gradients_as_float() -> None:
    tg = training(example_int8(), "last-k:1")
    g = tg.graph
    mask = next(n.outputs[0] for n in g.nodes if n.op == "act_mask")
    assert storage_bytes(g, mask) == (g.tensors[mask].size + 7) // 8
    wgrad = next(n.outputs[0] for n in g.nodes if n.op == "conv2d_grad_weight")
    assert storage_bytes(g, wgrad) == 4 * g.tensors[wgrad].size


def test_macs_count_forward_and_backward() -> None:
    g = mbv2_int8()
    # the architecture file's backbone MACs plus the 10-class classifier
    assert graph_macs(g) == 16646912 + 112 * 10
    tg = training(g, "full")
    sg = schedule(tg)
    bwd = graph_macs(sg.graph, sg.graph.nodes[sg.forward_nodes:])
    # full update: every conv's weight gradient costs its forward MACs, and every input
    # gradient but the first conv's too
    first = 128 * 128 // 4 * 16 * 3 * 3 * 3
    assert bwd == 2 * (16646912 + 1120) - first
