"""Analysis: graph + board + scheme -> training graph -> schedule -> memory plans -> report.

``analyze`` does everything but the C (used by ``compile_model``, the Trainer, the
simulator, the benchmarks and ``scheme="auto"``).

SRAM accounting of a training step (``peak_sram_bytes``):

* ``arena_bytes``: the static arena (activations, saved masks, gradients, kernel scratch),
  the larger of the training and the inference plans (they share one arena);
* ``trainable_bytes``: the parameters the scheme updates, in SRAM: whole tensors, except a
  partially updated layer's weight split by tte.compiler.split (its trained input channels in SRAM,
  the frozen rest in flash; ``split_weights``); ``trainable_updated_bytes`` is the part
  actually updated, ``trainable_checkpoint_bytes`` the whole tensors (``tte_get_weights``);
* ``optimizer_bytes``: plain SGD keeps no state; the step counter of stochastic rounding
  takes 4 bytes;
* ``target_bytes``: a regression (mse) step's float target, as large as the output (0 for a
  classifier, whose label is one int32 argument);
* the int8 input image lives in the arena (``tte_input_buffer()``, where the
  application writes it, TinyEngine-style; a pointer passed to ``tte_infer`` /
  ``tte_train_step`` is copied there), so ``input_bytes`` is part of ``arena_bytes``; it
  sits just above the first streamed block's output, which overwrites the input rows that
  block has consumed (tte.compiler.fuse.block_overlap); a float input (float I/O around an
  int8 body, the TFLite converter's default) takes 4 bytes a value and is quantized in place
  by the first op, so the int8 copy costs nothing more;
* with ``input_rows`` (analyze) the int8 input image is not in the arena (``input_in_arena``
  False, ``input_bytes`` not in ``arena_bytes``): the first streamed block reads it row by row
  from the caller's image or its reader, through a window of its expand conv's kernel rows in
  the block's scratch (tte.compiler.emit.block.input_window_bytes, in the arena);
* ``stack_bytes``: an estimate (``STACK_ESTIMATE_BYTES``); the firmware measures the truth
  by stack painting.

An inference-only compile (scheme ``none``, ``inference_only`` in the report) has no training
graph: the training fields of the Analysis are the inference ones (``training`` is the
forward pass with no updates, no label and no loss), every weight is frozen (so every layer
may take its compile-time layout), and ``peak_sram_bytes`` is ``inference_peak_sram_bytes``.

Frozen weights stay in flash (``const``); ``flash_bytes`` counts all weight and parameter
data (trainable initial values included, as their load image lives in flash; the layouts
some kernels read prepared at compile time, ``prepared_weight_bytes``, included, as many as
fit the flash beside the rest: ``prepared_layers``, ``prepared_dropped_layers``) plus the
code size when an ARM compiler was available to measure it (``flash_code_bytes``: the code of
every kernel object the generated C links and the generated C's code and tables,
tte.targets.code_size.measure_code_size).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from tte.compiler.emit.block import INPUT_ROWS_META, streamed_blocks
from tte.compiler.emit.conv import (
    DW_IN_PLACE_META,
    PW_BY_PIXEL_META,
    dw_in_place,
    dw_in_place_group,
    pw_by_pixel,
    pw_by_pixel_distance,
)
from tte.compiler.fuse import (
    FUSED_OP,
    block_overlap,
    depthwise_overlap,
    pair_blocks,
    pair_candidates,
    stream_backward,
    stream_blocks,
    unfusable_groups,
)
from tte.compiler.keep_channels import GATHER_OP, kept_channels_candidates, with_kept_channels
from tte.compiler.memory import ALIGN, MemoryPlan, align, plan_arena_bytes, plan_memory, scratch_room, with_scratch
from tte.compiler.pooled import pooled_updates
from tte.compiler.schedule import (
    ScheduledGraph,
    graph_macs,
    pointwise_grad_in_place,
    pointwise_in_place,
    schedule,
    schedule_inference,
    without_in_place,
)
from tte.compiler.snapshot import snapshot_candidates, with_snapshots
from tte.compiler.split import SplitWeight, split_weights
from tte.errors import TteError
from tte.ir import Graph, Node
from tte.targets.boards import Board, get_board
from tte.training.autodiff import TrainingGraph, derive_training_graph
from tte.training.sparse import UpdateScheme, plan_bytes, resolve_scheme

STACK_ESTIMATE_BYTES = 2048
STEP_COUNTER_BYTES = 4
AUTO_SCHEMES = ("full", "last-k:8", "last-k:6", "last-k:4", "last-k:3", "last-k:2", "last-k:1",
                "bias-only", "classifier-only")


class BudgetError(TteError):
    """The scheme does not fit the board (or --budget-kb); carries the report."""

    def __init__(self, message: str, report: dict[str, Any]) -> None:
        super().__init__(message)
        self.report = report


@dataclass
class Analysis:
    forward: Graph
    scheme: UpdateScheme
    training: TrainingGraph
    scheduled: ScheduledGraph
    plan: MemoryPlan
    inference: ScheduledGraph
    inference_plan: MemoryPlan
    board: Board
    report: dict[str, Any]
    # the training and inference plans with the input image outside the arena (for comparison)
    outside: tuple[MemoryPlan, MemoryPlan] | None = None
    budget_bytes: int | None = None   # analyze's budget_bytes (None: the board's SRAM)
    input_rows: bool = False          # analyze's input_rows
    first_plans: bool = True          # the plans are the first analyze made (see with_flash_reserve)

    @property
    def inference_only(self) -> bool:
        """No training step (scheme ``none``): ``training``/``scheduled``/``plan`` are the inference ones."""
        return self.scheme.inference_only


CONSTANT_CHANNELS_META = "constant_channels"   # Graph.meta key: drop_constant_channels' report

def _check_int8(graph: Graph) -> None:
    if not graph.is_quantized:
        raise TteError(f"model '{graph.name}' is float: tte compiles int8 models; quantize it first "
                       "(tte compile --calibration DATA, or tte.numerics.quantize)")
    for node in graph.nodes:
        if node.op in ("conv2d", "fully_connected"):
            for name in node.inputs[:3]:
                if name and graph.tensors[name].quant is None:
                    raise TteError(f"int8 model lacks quantization parameters for '{name}'", node=node.name)
    if len(graph.inputs) != 1 or graph.tensors[graph.inputs[0]].dtype not in ("int8", "float32"):
        raise TteError(f"tte compiles models with one int8 or float32 input; '{graph.name}' has "
                       f"{[graph.tensors[i].dtype for i in graph.inputs]}")
    # float I/O around an int8 body (the TFLite converter's default): the board gets float
    # samples, the first op quantizes them; a float output comes from a last DEQUANTIZE
    x = graph.inputs[0]
    if graph.tensors[x].dtype == "float32":
        bad = [n for n in graph.consumers(x) if n.op != "quantize" or graph.tensors[n.outputs[0]].dtype != "int8"]
        if bad:
            raise TteError(f"float32 input '{x}' must feed QUANTIZE only (float I/O around an int8 body); "
                           f"it feeds {bad[0].op}", node=bad[0].name)
    for o in graph.outputs:
        prod = graph.producer(o)
        if graph.tensors[o].dtype == "float32" and (prod is None or prod.op != "dequantize"):
            raise TteError(f"float32 output '{o}' of an int8 model must come from DEQUANTIZE",
                           node=prod.name if prod is not None else None)


def _scratch_fn(sg: ScheduledGraph) -> Callable[[Node], int]:
    """Kernel scratch bytes per node of ``sg``; a 1x1 conv's input gradient needs its
    one-pixel buffer only where it runs in place (tte.compiler.schedule.pointwise_grad_in_place)."""
    from tte.compiler.emit import SCRATCH

    def fn(node: Node) -> int:
        if pointwise_grad_in_place(node, sg.graph) and sg.inplace.get(node.outputs[0]) != node.inputs[0]:
            return 0
        return SCRATCH[node.op](node, sg.graph) if node.op in SCRATCH else 0
    return fn


def _choose_pointwise_in_place(sg: ScheduledGraph, x: str) -> ScheduledGraph:
    """Which 1x1 conv input gradients run in place, by the training plan's arena: in place,
    a gradient's buffer is as large as the larger of dy and dx for both their lifetimes,
    which can cost more than the second buffer it saves. From the better of all and none
    in place, each one is flipped in turn and kept flipped while the arena shrinks."""
    candidates = pointwise_in_place(sg)
    if not candidates or _forward_sets_arena(sg, x):
        return sg

    def arena(off: set[str]) -> int:
        return _train_arena(without_in_place(sg, off), x)

    off: set[str] = set()
    best = arena(off)
    none = arena(set(candidates))
    if none < best:
        off, best = set(candidates), none
    for out in candidates:
        trial = off ^ {out}
        cost = arena(trial)
        if cost < best:
            off, best = trial, cost
    return without_in_place(sg, off)


def _overlap_fn(g: Graph) -> Callable[[Node], list[tuple[str, str, int] | tuple[str, str, int, int]]]:
    """Per node: (output, input, distance[, step]) where the kernel may write its output over its
    input (tte.compiler.memory, "Overlap by design"); streamed blocks (tte.compiler.fuse.block_overlap),
    whole-image depthwise convs (tte.compiler.fuse.depthwise_overlap)."""
    def fn(n: Node) -> list[tuple[str, str, int] | tuple[str, str, int, int]]:
        if _quantizes_in_place(n, g) or n.op == GATHER_OP:   # (tte_channels_gather_s8: at x or below)
            return [(n.outputs[0], n.inputs[0], 0)]
        d = block_overlap(n, g)
        if d is not None:
            return [(n.outputs[0], n.inputs[0], d)]
        if dw_in_place(n, g):   # each channel's output bytes over the same channel's input
            return [(n.outputs[0], n.inputs[0], 0, math.lcm(g.tensors[n.inputs[0]].shape[3], ALIGN))]
        if pw_by_pixel(n, g):   # each pixel's outputs below its own inputs
            return [(n.outputs[0], n.inputs[0], pw_by_pixel_distance(n, g) or 0)]
        dw = depthwise_overlap(n, g)
        return [] if dw is None else [(n.outputs[0], n.inputs[0], *dw)]
    return fn


def _inputs_kw(s: ScheduledGraph, x: str) -> dict[str, Any]:
    """Where the plans of ``s`` put the input image: pinned in the arena, or, given row by row
    (INPUT_ROWS_META, analyze's ``input_rows``), not at all: the first block's output then heads
    the chain of streamed outputs (as _plan_input_outside)."""
    if s.graph.meta.get(INPUT_ROWS_META) == x:
        return {"chain_from": next(n.outputs[0] for n in s.graph.nodes if x in n.inputs)}
    return {"arena_inputs": [x]}


def _train_plan(sg: ScheduledGraph, x: str) -> MemoryPlan:
    return plan_memory(sg, scratch=_scratch_fn(sg), overlap=_overlap_fn(sg.graph), **_inputs_kw(sg, x))


def _train_arena(sg: ScheduledGraph, x: str) -> int:
    return plan_arena_bytes(sg, scratch=_scratch_fn(sg), overlap=_overlap_fn(sg.graph), **_inputs_kw(sg, x))


def _forward_sets_arena(sg: ScheduledGraph, x: str) -> bool:
    """Whether the arena reaches its height in the forward pass with as many bytes live there:
    the backward choices below (which change no forward node) then have nothing to gain."""
    plan = _train_plan(sg, x)
    return (plan.peak_step() < sg.forward_nodes
            and plan.arena_bytes <= max(plan.live_bytes[:sg.forward_nodes], default=0))


def _choose_backward_fusion(sg: ScheduledGraph, x: str, pool: bool = True) -> ScheduledGraph:
    """``sg`` with its depthwise -> 1x1 conv backward groups fused (stream_backward; ``pool``: a
    head under a global pool reads its gradient lazily), except
    those that the training plan's arena is smaller without (unfusable_groups), each tried
    in turn, with weight snapshots (tte.compiler.snapshot) where they let an input gradient
    run in place and the arena shrinks; then the 1x1 conv input gradients in place where
    they pay. Never a larger arena than all groups fused without snapshots."""
    def build(skip: frozenset[str], snaps_off: frozenset[str]) -> ScheduledGraph:
        s = stream_backward(sg, skip=skip, pool=pool)
        return with_snapshots(s, [n for n in snapshot_candidates(s) if n not in snaps_off])

    fused = _choose_pointwise_in_place(stream_backward(sg, pool=pool), x)
    if _forward_sets_arena(fused, x):
        return fused
    skip: frozenset[str] = frozenset()
    snaps_off: frozenset[str] = frozenset()
    best = _train_arena(build(skip, snaps_off), x)
    for name in unfusable_groups(stream_backward(sg, pool=pool), with_weights=True):
        cost = _train_arena(build(skip | {name}, snaps_off), x)
        if cost < best:
            skip, best = skip | {name}, cost
    for name in snapshot_candidates(stream_backward(sg, skip=skip, pool=pool)):
        cost = _train_arena(build(skip, snaps_off | {name}), x)
        if cost < best:
            snaps_off, best = snaps_off | {name}, cost
    chosen = _choose_pointwise_in_place(build(skip, snaps_off), x)
    return chosen if _train_arena(chosen, x) < _train_arena(fused, x) else fused


def _choose_kept_channels(sg: ScheduledGraph, x: str) -> ScheduledGraph:
    """``sg`` with the fused backwards' inputs held as their trained channels between the passes
    (tte.compiler.keep_channels) where the training plan's arena shrinks (all of them, then each
    left out again where the arena does not grow without it: two small copies less)."""
    names = kept_channels_candidates(sg)
    if not names:
        return sg
    best = _train_arena(with_kept_channels(sg, names), x)
    if best >= _train_arena(sg, x):
        return sg
    for name in list(names):
        rest = [k for k in names if k != name]
        if _train_arena(with_kept_channels(sg, rest), x) <= best:
            names = rest
    return with_kept_channels(sg, names)


def _choose_optional_scratch(sg: ScheduledGraph, inf: ScheduledGraph, x: str,
                             speed_sram_bytes: int = 0) -> tuple[int, int]:
    """Which kernels get their optional scratch, recorded in both graphs' meta for the planner and
    the emitters: first the fused backward heads' padded planes (tte.compiler.emit.dwpw.
    dwpw_padded: all where neither arena grows past ``speed_sram_bytes`` over none, else each in
    turn, the most taps first), then the plain 1x1 convs' pixel buffer (tte.compiler.emit.conv.pointwise_buffer_bytes:
    four pixels a pass) and the fused backward's x as floats (tte.compiler.emit.dwpw.
    dwpw_x_float_pixels). All of them where neither plan's arena grows by more than
    ``speed_sram_bytes`` (0: not at all), else (all the 1x1 convs' if they fit) each in turn, the
    most work first, kept where neither grows so; then, for a fused backward left out, the most
    sixteenths of x's pixels that fit so. The fused backward's copies of Q's columns
    (tte.compiler.emit.dwpw.dwpw_q_rows) go before x as floats at their narrowest, the largest Q
    first, and are widened at the end where that fits too. Last, eight pixels' buffers for the 1x1
    convs (eight pixels a pass) where neither arena grows from there, or by no more than
    ``speed_sram_bytes`` over none (eight_pixels). Returns both arenas without any of them."""
    from tte.compiler.emit.conv import PW_BUFFER8_META, PW_BUFFER_META, pointwise_buffer8_bytes, pointwise_buffer_bytes
    from tte.compiler.emit.dwpw import (
        PADDED_META,
        Q_COLS_META,
        Q_COLS_MIN_BYTES,
        Q_COLS_WIDTHS,
        X_FLOAT_META,
        dwpw_pad_work,
        dwpw_q_rows,
        dwpw_x_float_pixels,
    )

    graphs = (sg.graph, inf.graph)
    # the inference graph has no fused backward
    inf_arena: dict[tuple[frozenset[str], frozenset[str]], int] = {}

    def arenas(pw: frozenset[str], xf: dict[str, int], qc: dict[str, int] | None = None,
               pw8: frozenset[str] = frozenset()) -> tuple[int, int]:
        for g in graphs:
            g.meta[PW_BUFFER_META] = pw
            g.meta[PW_BUFFER8_META] = pw8
            g.meta[X_FLOAT_META] = dict(xf)
            g.meta[Q_COLS_META] = dict(qc or {})
        if (pw, pw8) not in inf_arena:
            inf_arena[pw, pw8] = _train_arena(inf, x)
        return _train_arena(sg, x), inf_arena[pw, pw8]

    def eight_pixels(pw: frozenset[str], xf: dict[str, int], qc: dict[str, int]) -> None:
        """Last, with everything else chosen: the 1x1 convs given a buffer, and those whose four
        pixels fit the stack's, get eight pixels' (pointwise_buffer8_bytes) where neither arena
        grows from that choice (or past none's plus speed_sram_bytes): all of them, else each
        half in turn (the more work first), and so on down to single convs (fewer plans than one
        by one where most fit); then the meta of the final choice."""
        now = arenas(pw, xf, qc)
        limit = [max(n, b + speed_sram_bytes) for n, b in zip(now, base)] if speed_sram_bytes else now
        pw8: frozenset[str] = frozenset()

        def add(names: list[str]) -> None:
            nonlocal pw8
            if all(a <= b for a, b in zip(arenas(pw, xf, qc, pw8 | frozenset(names)), limit)):
                pw8 |= frozenset(names)
            elif len(names) > 1:
                add(names[:len(names) // 2])
                add(names[len(names) // 2:])

        cand = sorted((k for k in pw8_cand if k in pw or k not in pw_cand), key=lambda k: (-pw8_cand[k], k))
        if cand:
            add(cand)
        arenas(pw, xf, qc, pw8)

    def work(g: Graph, n: Node) -> int:
        """MACs of a 1x1 conv; of the fused backward's weight update, its x times its rows"""
        if n.op == "conv2d":
            w = g.tensors[n.inputs[1]]
            return g.tensors[n.outputs[0]].size // w.shape[0] * w.size
        return g.tensors[n.inputs[4]].size * g.tensors[n.inputs[3]].shape[0]

    pw_cand: dict[str, int] = {}
    pw8_cand: dict[str, int] = {}
    xf_cand: dict[str, tuple[int, int]] = {}
    for g in graphs:
        for n in g.nodes:
            if pointwise_buffer_bytes(n, g):
                pw_cand[n.name] = max(pw_cand.get(n.name, 0), work(g, n))
            if pointwise_buffer8_bytes(n, g):
                pw8_cand[n.name] = max(pw8_cand.get(n.name, 0), work(g, n))
            if (px := dwpw_x_float_pixels(n, g)):
                xf_cand[n.name] = (px, work(g, n))
    base = arenas(frozenset(), {})
    # the fused backward heads' padded planes first (few bytes for the D gradient's fast passes)
    _choose_given(sg, inf, x, speed_sram_bytes, base, PADDED_META, dwpw_pad_work)
    qc_cand = {n.name: q for n in sg.graph.nodes
               if dwpw_q_rows(n, sg.graph)
               and (q := dwpw_q_rows(n, sg.graph) * n.attrs["chain"].intermediates[0].shape[3]) >= Q_COLS_MIN_BYTES}
    if not pw_cand and not pw8_cand and not xf_cand and not qc_cand:
        return base
    every = (frozenset(pw_cand), {k: v[0] for k, v in xf_cand.items()})
    widest = {k: Q_COLS_WIDTHS[0] for k in qc_cand}
    if all(a <= b + speed_sram_bytes for a, b in zip(arenas(*every, widest), base)):
        eight_pixels(*every, widest)
        return base

    def fits(pw: frozenset[str], xf: dict[str, int], qc: dict[str, int] | None = None) -> bool:
        return all(a <= b + speed_sram_bytes for a, b in zip(arenas(pw, xf, qc), base))

    pw: frozenset[str] = every[0] if fits(every[0], {}) else frozenset()
    xf: dict[str, int] = {}
    # Q's column copies, narrowest first: a column read that misses the D-cache costs more than
    # x's table lookups that x as floats saves
    qc: dict[str, int] = {}
    by_size = sorted(qc_cand, key=lambda k: (-qc_cand[k], k))
    for name in by_size:
        if fits(pw, xf, {**qc, name: Q_COLS_WIDTHS[-1]}):
            qc[name] = Q_COLS_WIDTHS[-1]
    order = sorted([(w, "pw", k) for k, w in pw_cand.items() if k not in pw]
                   + [(w, "xf", k) for k, (_, w) in xf_cand.items()], key=lambda t: (-t[0], t[1], t[2]))
    for _, kind, name in order:
        trial = (pw | {name}, xf) if kind == "pw" else (pw, {**xf, name: xf_cand[name][0]})
        if fits(*trial, qc):
            pw, xf = trial
    for _, kind, name in order:
        if kind != "xf" or name in xf:
            continue
        # the most sixteenths of x's pixels that fit
        q = max(1, xf_cand[name][0] // 16)
        lo, hi = 0, xf_cand[name][0] // q
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if fits(pw, {**xf, name: mid * q}, qc):
                lo = mid
            else:
                hi = mid
        if lo:
            xf = {**xf, name: lo * q}
    for name in by_size:   # then wider where they fit
        width = next((w for w in Q_COLS_WIDTHS if w > qc.get(name, 0) and fits(pw, xf, {**qc, name: w})), 0)
        if width:
            qc[name] = width
    eight_pixels(pw, xf, qc)
    return base


def _over_input_saving(n: Node, g: Graph) -> tuple[str, int] | None:
    """(meta key, bytes it can save at its step) where ``n`` has a variant whose output may lie
    over its input: a depthwise conv in passes of channels (DW_IN_PLACE_META: the smaller of its
    input and output), a 1x1 conv pixel by pixel (PW_BY_PIXEL_META: its output less the
    distance)."""
    if dw_in_place_group(n, g):
        return DW_IN_PLACE_META, min(g.tensors[n.inputs[0]].nbytes, g.tensors[n.outputs[0]].nbytes)
    if (d := pw_by_pixel_distance(n, g)) is not None and g.tensors[n.outputs[0]].nbytes > d:
        return PW_BY_PIXEL_META, g.tensors[n.outputs[0]].nbytes - d
    return None


def _shrinks(got: tuple[int, int], now: tuple[int, int]) -> bool:
    """Whether neither arena of ``got`` exceeds ``now``'s and one is smaller."""
    return all(a <= b for a, b in zip(got, now)) and got != now


def _choose_over_input(sg: ScheduledGraph, inf: ScheduledGraph, x: str) -> None:
    """Which convs take a slower variant whose output may lie over its input (_over_input_saving:
    tte_conv2d_s8_depthwise_inplace, tte_conv2d_s8_pointwise_by_pixel), recorded in both graphs'
    meta, judged by the floors without the optional scratch (chosen after this, into the arena this
    leaves). In rounds: those whose step's floor comes within that saving of a plan's highest floor
    (with the rounds before) are added, and the rounds so far kept where neither plan's arena grows
    and one shrinks (a round alone may not shrink it: the floor it lowers can leave the placement
    as high); then all candidates, kept so; then each is dropped again where neither arena grows
    without it."""
    graphs = (sg.graph, inf.graph)
    keys = (DW_IN_PLACE_META, PW_BY_PIXEL_META)
    kind: dict[str, str] = {}

    def arenas(names: frozenset[str]) -> tuple[int, int]:
        for g in graphs:
            for key in keys:
                g.meta[key] = frozenset(k for k in names if kind.get(k) == key)
        return _train_arena(sg, x), _train_arena(inf, x)

    def near(keep: frozenset[str]) -> set[str]:
        """The candidates not in ``keep`` whose step's floor (with ``keep``) is near the top."""
        arenas(keep)
        found: set[str] = set()
        for s in (sg, inf):
            floors = _train_plan(s, x).floor_bytes()
            top = max(floors, default=0)
            for n, floor in zip(s.graph.nodes, floors):
                if n.name not in keep and (var := _over_input_saving(n, s.graph)) and floor > top - var[1]:
                    kind[n.name] = var[0]
                    found.add(n.name)
        return found

    def every_candidate(s: ScheduledGraph) -> set[str]:
        found: set[str] = set()
        for n in s.graph.nodes:
            if (var := _over_input_saving(n, s.graph)):
                kind[n.name] = var[0]
                found.add(n.name)
        return found

    _clear_dw_pad(sg, inf)
    keep: frozenset[str] = frozenset()
    now = arenas(keep)
    trial = keep
    while (more := near(trial)):
        trial |= more
        if _shrinks(got := arenas(trial), now):
            keep, now = trial, got
    every = frozenset(every_candidate(sg) | every_candidate(inf))
    if every - keep and _shrinks(got := arenas(every), now):
        keep, now = every, got
    for name in sorted(keep):
        if all(a <= b for a, b in zip(arenas(keep - {name}), now)):
            keep -= {name}
    arenas(keep)


def _clear_dw_pad(sg: ScheduledGraph, inf: ScheduledGraph) -> None:
    """No streamed block given its depthwise's padded copy nor D's whole image, no fused backward
    head its padded plane (before the other optional scratch is chosen)."""
    from tte.compiler.emit.block import DW_ALL_META, DW_PAD_META
    from tte.compiler.emit.dwpw import PADDED_META

    for g in (sg.graph, inf.graph):
        g.meta[DW_PAD_META] = frozenset()
        g.meta[DW_ALL_META] = frozenset()
        g.meta[PADDED_META] = frozenset()


def _choose_dw_pad(sg: ScheduledGraph, inf: ScheduledGraph, x: str, speed_sram_bytes: int,
                   base: tuple[int, int]) -> None:
    """Which streamed blocks' depthwise (3x3, 5x5 or 7x7, stride 1) gets its padded copy of the
    window rows (tte.compiler.emit.block.dw_pad_bytes), then which blocks without E and the add
    get D's outputs of a whole image (dw_all_bytes; the most flash weights first), recorded in
    both graphs' meta, after the other optional scratch (_choose_optional_scratch, whose arenas
    without any are ``base``)."""
    from tte.compiler.emit.block import DW_ALL_META, DW_PAD_META, dw_all_work, dw_pad_work

    _choose_given(sg, inf, x, speed_sram_bytes, base, DW_PAD_META, dw_pad_work)
    _choose_given(sg, inf, x, speed_sram_bytes, base, DW_ALL_META, dw_all_work)


def _choose_given(sg: ScheduledGraph, inf: ScheduledGraph, x: str, speed_sram_bytes: int,
                  base: tuple[int, int], key: str, work_of: Callable[[Node, Graph], int]) -> None:
    """The blocks given the optional scratch of meta ``key`` (candidates: ``work_of`` nonzero, the
    work it speeds up): all where the shared arena (the larger plan's) exceeds ``base``'s by no more
    than ``speed_sram_bytes``, else each in turn, the most work first, kept where it does not."""
    graphs = (sg.graph, inf.graph)

    def fits(given: frozenset[str]) -> bool:
        # the two plans share one arena: the larger of the two may not grow (the inference plan may
        # take its blocks' scratch below the training plan's height, e.g. beside a streamed_pair)
        for g in graphs:
            g.meta[key] = given
        got = (_train_plan(sg, x).arena_bytes, _train_plan(inf, x).arena_bytes)
        return max(got) <= max(base) + speed_sram_bytes

    work: dict[str, int] = {}
    for graph in graphs:
        for n, g in streamed_blocks(graph):
            if (wk := work_of(n, g)):
                work[n.name] = max(work.get(n.name, 0), wk)
    given: frozenset[str] = frozenset(work)
    if not work or fits(given):
        return
    given = frozenset()
    for name in sorted(work, key=lambda k: (-work[k], k)):
        if fits(given | {name}):
            given |= {name}
    fits(given)


def _choose_pairs(s: ScheduledGraph, x: str, trained: Collection[str]) -> ScheduledGraph:
    """``s`` with each pair of streamed blocks that can run together (tte.compiler.fuse.pair_candidates:
    the second reads the first's output alone, row by row) made one streamed_pair, each kept where
    the plan's arena, then the most bytes a forward step needs (floor_bytes), shrinks (the first's
    output then exists only as a band of rows; with the input image in the arena the pair's
    scratch costs more than that)."""
    def cost(c: ScheduledGraph) -> tuple[int, int]:
        plan = _train_plan(c, x)
        return plan.arena_bytes, max(plan.floor_bytes()[:c.forward_nodes], default=0)

    best, chosen = cost(s), s
    for i in pair_candidates(s.graph, trained):
        trial = pair_blocks(s, [*_pair_positions(chosen, s), i], trained)
        if (c := cost(trial)) < best:
            best, chosen = c, trial
    return chosen


def _pair_positions(chosen: ScheduledGraph, s: ScheduledGraph) -> list[int]:
    """The positions in ``s`` of the first blocks that ``chosen`` (a pairing of s) has paired."""
    firsts = {n.attrs["chain"].nodes[0].name for n in chosen.graph.nodes if n.op == "streamed_pair"}
    return [i for i, n in enumerate(s.graph.nodes) if n.name in firsts]


def _quantizes_in_place(n: Node, g: Graph) -> bool:
    """float32 -> int8 QUANTIZE (tte_quantize_f32_s8) writes byte i after reading bytes
    4i..4i+3, in order: its output may start at its input's offset (or below), so a float
    input costs no second, int8 copy in the arena."""
    return (n.op == "quantize" and g.tensors[n.inputs[0]].dtype == "float32"
            and g.tensors[n.outputs[0]].dtype == "int8")


def analyze(graph: Graph, *, board: str | Board = "stm32f746g-disco", scheme: str | UpdateScheme = "last-k:2",
            budget_bytes: int | None = None, reorder: bool = True, lr: float = 0.05, loss: str = "softmax_ce",
            rounding: str = "stochastic", qas: bool = True, seed: int = 0, stream: bool | None = None,
            flash_reserve_bytes: int = 0, speed_sram_bytes: int = 0, input_rows: bool = False,
            sram_budget_bytes: int | None = None, constant_channels: bool = True) -> Analysis:
    """Training graph, schedule, memory plans and the report; no C.

    ``constant_channels``: an inference-only scheme drops the channels whose byte is the same for
    every input (tte.compiler.constant_channels; report ``constant_channels``); False keeps them.

    ``flash_reserve_bytes``: flash the compile-time layouts must leave free beside the weight
    data (the code, once measured: tte.compiler.compile).

    ``speed_sram_bytes``: SRAM the arenas may grow by for the kernels' optional scratch (pixel
    buffers, x as floats, copies of Q's columns: fewer instructions and flash reads), never so
    much that a step which fits without it stops fitting; 0 (the default) keeps the smallest
    arena.

    ``stream`` (default: as ``reorder``) fuses the frozen forward blocks into streamed
    kernels (tte.compiler.fuse) in the training and the inference graph, and runs each block's
    depthwise -> 1x1 backward channel by channel (tte.compiler.fuse.stream_backward), and
    the updates under a global average pool from its masked gradient read lazily
    (tte.compiler.pooled).

    ``sram_budget_bytes``: where the peak SRAM exceeds it, the optional speed scratch is trimmed
    on the searched plans of the required buffers until it fits, keeping what fits beside them
    (_within_sram_budget; report ``sram_budget_bytes``); a TteError where even those exceed it.
    None (the default): the plans as chosen.

    ``input_rows``: the int8 input image is not in the arena; the first streamed block, whose
    expand conv alone reads it, takes it row by row (tte_block_s8_rows) through a window of
    the conv's kernel rows in its scratch, from the caller's image or a reader the application
    sets (tte.compiler.codegen); a TteError where the model's first op is not such a block.

    An inference-only scheme (``none``) builds no training graph: ``loss``, ``lr``, ``qas``,
    ``rounding`` and ``seed`` are then ignored (there is no step for them to shape)."""
    _check_int8(graph)
    if input_rows:
        _check_input_rows_dtype(graph)
    b = board if isinstance(board, Board) else get_board(board)
    sch = resolve_scheme(scheme)
    frozen = sch.inference_only
    if frozen and constant_channels:   # no weight changes: channels constant for every input need no work
        graph = _without_constant_channels(graph)
    plan_sel = {} if frozen else sch.to_plan(graph)
    inf = schedule_inference(graph)
    tg = inf.training if frozen else derive_training_graph(graph, plan_sel, loss=loss, lr=lr, qas=qas,
                                                           rounding=rounding, seed=seed)
    sg = inf if frozen else schedule(tg, reorder=reorder)
    # the input image lives in the arena, at the same offset in both plans (tte_input_buffer());
    # a streamed block may write its output over the input rows it has consumed
    x = graph.inputs[0]
    if frozen:
        if reorder if stream is None else stream:
            inf = stream_blocks(inf)
        if input_rows:
            _mark_input_rows(inf, x)
        inf = _choose_pairs(inf, x, ())
        sg, tg = inf, inf.training
    elif reorder if stream is None else stream:
        streamed = stream_blocks(sg)
        if input_rows:
            _mark_input_rows(streamed, x)
        streamed = _choose_pairs(streamed, x, tg.updates)
        # the 1x1 conv input gradient under the pool reads G lazily, or G feeds a streamed head
        variants = [pooled_updates(streamed, with_gx=w) for w in (True, False)]
        if [n.name for n in variants[0].graph.nodes] == [n.name for n in variants[1].graph.nodes]:
            variants.pop()
        options = [_choose_backward_fusion(v, x) for v in variants]
        # a head reading the pool's gradient (the faster, first at a tie) or not, whichever plans less
        options += [_choose_backward_fusion(v, x, pool=False) for v, o in zip(variants, options)
                    if any(n.attrs.get("pool") for n in o.graph.nodes if n.op == "dwpw_backward")]
        sg, inf = min(options, key=lambda s: _train_arena(s, x)), stream_blocks(inf)
        if input_rows:
            _mark_input_rows(inf, x)
        inf = _choose_pairs(inf, x, tg.updates)
    elif input_rows:
        _mark_input_rows(sg, x)   # raises: nothing is streamed
    elif reorder:
        sg = _choose_pointwise_in_place(sg, x)
    else:   # the unscheduled baseline ("sparse update without reordering") as it always was
        sg = without_in_place(sg, set(pointwise_in_place(sg)))
    if speed_sram_bytes < 0:
        raise TteError(f"the SRAM for speed must be 0 or more bytes, got {speed_sram_bytes}")
    from tte.compiler.emit.block import mark_live_depthwise

    if not frozen:
        sg = _choose_kept_channels(sg, x)
    # the trained depthwise biases of the streamed blocks: their scratch (dw_live) in the plans
    mark_live_depthwise((sg.graph, inf.graph), () if frozen else tg.updates)
    _choose_over_input(sg, inf, x)
    a: Analysis | None = None
    updated_bytes = plan_bytes(graph, plan_sel)
    for slack in dict.fromkeys((speed_sram_bytes, 0)):
        _clear_dw_pad(sg, inf)
        _choose_dw_pad(sg, inf, x, slack, _choose_optional_scratch(sg, inf, x, slack))
        mp, ip = _emitted_plans(sg, inf, x, frozen, input_rows)
        a = Analysis(graph, sch, tg, sg, mp, inf, ip, b, {}, None, budget_bytes, input_rows, first_plans=a is None)
        a.report = _plans_report(a, flash_reserve_bytes, slack, updated_bytes)
        if a.report["fits"]:
            break   # else the smallest arena, which may fit where the faster one did not
    assert a is not None
    if sram_budget_bytes is not None:
        a = _within_sram_budget(a, sram_budget_bytes, flash_reserve_bytes, updated_bytes)
    return _with_outside_plans(a)


def _without_constant_channels(graph: Graph) -> Graph:
    """The inference-only graph without its constant channels (tte.compiler.constant_channels),
    what it dropped in its meta (the report's constant_channels: chains, channels and the
    multiply-accumulates of an inference; macs_forward is what is left)."""
    from tte.compiler.constant_channels import drop_constant_channels

    g, dropped = drop_constant_channels(graph)
    g.meta[CONSTANT_CHANNELS_META] = dropped.report()
    return g


def _emitted_plans(sg: ScheduledGraph, inf: ScheduledGraph, x: str, frozen: bool,
                   input_rows: bool, search: bool = False) -> tuple[MemoryPlan, MemoryPlan]:
    """The training and inference plans a compile emits, the input image at one offset in both
    where it is in the arena. ``search`` (plan_memory's local search) only under an SRAM budget:
    it places overlapping buffers closer than the choices were judged on, which leaves the
    streamed blocks less room to park pixels (KWS's inference 3.23M -> 3.67M instructions)."""
    scratch, inf_scratch = _scratch_fn(sg), _scratch_fn(inf)
    mp = plan_memory(sg, scratch=scratch, overlap=_overlap_fn(sg.graph), search=search, **_inputs_kw(sg, x))
    ip = mp if frozen else plan_memory(inf, scratch=inf_scratch, overlap=_overlap_fn(inf.graph), search=search,
                                       **_inputs_kw(inf, x))
    if not input_rows and mp.offsets[x] != ip.offsets[x]:
        base = max(mp.offsets[x], ip.offsets[x])
        mp = plan_memory(sg, scratch=scratch, arena_inputs=[x],
                         overlap=_overlap_fn(sg.graph), input_offset=base, search=search)
        ip = plan_memory(inf, scratch=inf_scratch, arena_inputs=[x],
                         overlap=_overlap_fn(inf.graph), input_offset=base, search=search)
    return mp, ip


def _within_sram_budget(a: Analysis, sram_budget_bytes: int, flash_reserve_bytes: int,
                        updated_bytes: int) -> Analysis:
    """``a`` with its peak SRAM within ``sram_budget_bytes`` (analyze's): unchanged where it is;
    else the emitted plans of the required buffers alone, each node's optional speed scratch kept
    where its step has room for it below the budget's arena (tte.compiler.memory.with_scratch),
    trimmed where it has not (_trim_levels: x as floats in sixteenths first, the depthwise's
    padded copy last), recorded in both graphs' meta. A TteError where even the required
    buffers' plans peak over the budget."""
    peak = a.report["peak_sram_bytes"]
    if peak <= sram_budget_bytes:
        a.report["sram_budget_bytes"] = sram_budget_bytes
        return a
    sg, inf, x, frozen = a.scheduled, a.inference, a.forward.inputs[0], a.inference_only
    scheduled, graphs = (sg, inf), (sg.graph, inf.graph)
    sets, amounts = _optional_scratch_keys()
    chosen = [{k: g.meta.get(k) for k in (*sets, *amounts)} for g in graphs]
    full = [[_scratch_fn(s)(n) for n in s.graph.nodes] for s in scheduled]
    every = {n.name for g in graphs for n in g.nodes}
    _set_scratch(graphs, chosen, {name: {k: 0 for k in (*sets, *amounts)} for name in every})
    lean = _emitted_plans(sg, inf, x, frozen, a.input_rows, search=True)
    without = [[_scratch_fn(s)(n) for n in s.graph.nodes] for s in scheduled]
    overhead = peak - a.report["arena_bytes"]   # the trained weights, the stack: no scratch changes them
    limit = sram_budget_bytes - overhead
    need = max(p.arena_bytes for p in lean) + overhead
    if need > sram_budget_bytes:
        raise TteError(f"the SRAM budget of {sram_budget_bytes:,} B is below what '{a.forward.name}' needs: its "
                       f"peak is {peak:,} B with the optional speed scratch and {need:,} B without any "
                       f"(arena {max(p.arena_bytes for p in lean):,} B)")
    kept: dict[str, dict[str, int]] = {}
    for name in sorted({s.graph.nodes[i].name for k, s in enumerate(scheduled)
                        for i in range(len(s.graph.nodes)) if full[k][i] > without[k][i]}):
        for level in _trim_levels(name, graphs, chosen):
            _set_scratch(graphs, chosen, {**kept, name: level})
            if _scratch_fits(scheduled, lean, without, name, limit):
                kept[name] = level
                break
    _set_scratch(graphs, chosen, kept)
    mp, ip = (with_scratch(p, {i: size for i, n in enumerate(s.graph.nodes)
                               if (size := _scratch_fn(s)(n)) > without[k][i]}, limit)[0]
              for k, (s, p) in enumerate(zip(scheduled, lean)))
    b = Analysis(a.forward, a.scheme, a.training, sg, mp, inf, mp if frozen else ip, a.board, {}, None,
                 a.budget_bytes, a.input_rows)
    b.report = _plans_report(b, flash_reserve_bytes, a.report["speed_sram_bytes"], updated_bytes)
    assert b.report["peak_sram_bytes"] <= sram_budget_bytes, (b.report["peak_sram_bytes"], sram_budget_bytes)
    b.report["sram_budget_bytes"] = sram_budget_bytes
    return b


def _set_scratch(graphs: Sequence[Graph], chosen: Sequence[dict[str, Any]],
                 less: dict[str, dict[str, int]]) -> None:
    """Each graph's optional scratch meta as ``chosen`` (per graph: meta key -> its value), less
    what ``less`` gives a node: meta key -> 0 (none of that kind) or the amount it keeps."""
    sets, amounts = _optional_scratch_keys()
    for g, meta in zip(graphs, chosen):
        for key in sets:
            g.meta[key] = frozenset(n for n in meta.get(key) or () if less.get(n, {}).get(key, 1))
        for key in amounts:
            got = {n: min(v, less.get(n, {}).get(key, v)) for n, v in (meta.get(key) or {}).items()}
            g.meta[key] = {n: v for n, v in got.items() if v}


def _trim_levels(name: str, graphs: Sequence[Graph], chosen: Sequence[dict[str, Any]]) -> list[dict[str, int]]:
    """The node's optional scratch from the most to the least (each a ``less`` of _set_scratch):
    as chosen, then a fused backward's x as floats a sixteenth of its pixels less at a time, then
    without Q's columns, its padded plane, the 1x1 conv's eight and one pixels' buffers, D's whole
    image, and last the depthwise's padded copy of its window rows."""
    from tte.compiler.emit.block import DW_ALL_META, DW_PAD_META
    from tte.compiler.emit.conv import PW_BUFFER8_META, PW_BUFFER_META
    from tte.compiler.emit.dwpw import PADDED_META, Q_COLS_META, X_FLOAT_META, dwpw_x_float_pixels

    levels: list[dict[str, int]] = [{}]
    xf = max((int((meta.get(X_FLOAT_META) or {}).get(name, 0)) for meta in chosen), default=0)
    if xf:
        node, g = next((n, g) for g in graphs for n in g.nodes if n.name == name)
        q = max(1, dwpw_x_float_pixels(node, g) // 16)
        levels += [{X_FLOAT_META: k * q} for k in range((xf - 1) // q, -1, -1)]
    less = dict(levels[-1])
    for key in (Q_COLS_META, PADDED_META, PW_BUFFER8_META, PW_BUFFER_META, DW_ALL_META, DW_PAD_META):
        if any(name in (meta.get(key) or ()) for meta in chosen):
            less = {**less, key: 0}
            levels.append(less)
    return levels


def _scratch_fits(scheduled: Sequence[ScheduledGraph], lean: Sequence[MemoryPlan], without: Sequence[list[int]],
                  name: str, limit: int) -> bool:
    """Whether the node's scratch, as the meta now gives it, fits its step beside the plans
    ``lean`` below ``limit`` in both (a step's scratch depends on its own node's meta alone)."""
    for k, s in enumerate(scheduled):
        i = next((i for i, n in enumerate(s.graph.nodes) if n.name == name), None)
        if i is not None and (size := _scratch_fn(s)(s.graph.nodes[i])) > without[k][i] \
                and align(size) > scratch_room(lean[k], i, limit):
            return False
    return True


def _optional_scratch_keys() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The meta keys of the optional scratch: sets of node names, and node name -> amount."""
    from tte.compiler.emit.block import DW_ALL_META, DW_PAD_META
    from tte.compiler.emit.conv import PW_BUFFER8_META, PW_BUFFER_META
    from tte.compiler.emit.dwpw import PADDED_META, Q_COLS_META, X_FLOAT_META

    return (PW_BUFFER_META, PW_BUFFER8_META, PADDED_META, DW_PAD_META, DW_ALL_META), (X_FLOAT_META, Q_COLS_META)


def with_flash_reserve(a: Analysis, flash_reserve_bytes: int) -> Analysis | None:
    """``a`` as analyze makes it with ``flash_reserve_bytes`` (the same graph, scheme and options):
    only the compile-time layouts (choose_prepared, in the report) and the plans made after them
    change, as the reserve shapes nothing before (tests/test_prepared_flash.py checks it against a
    second analyze). The graphs are ``a``'s, which then follow the new choice: ``a`` is replaced,
    not kept. None where analyze planned twice (the faster arena did not fit: its second plans
    would follow the first ones' layouts)."""
    if not a.first_plans:
        return None
    b = Analysis(a.forward, a.scheme, a.training, a.scheduled, a.plan, a.inference, a.inference_plan, a.board,
                 {}, None, a.budget_bytes, a.input_rows)
    b.report = _plans_report(b, flash_reserve_bytes, a.report["speed_sram_bytes"], a.report["trainable_updated_bytes"])
    b.report.update({k: a.report[k] for k in ("sram_budget_bytes",) if k in a.report})
    return _with_outside_plans(b)


def _plans_report(a: Analysis, flash_reserve_bytes: int, slack: int, updated_bytes: int) -> dict[str, Any]:
    """The report of ``a``'s plans, planned with ``slack`` bytes of SRAM for speed."""
    sg, inf, input_rows = a.scheduled, a.inference, a.input_rows
    report = _report(a.forward, a.scheme, a.training, sg, a.plan, inf, a.inference_plan, a.board, a.budget_bytes,
                     updated_bytes, split_weights(a.training, (sg.graph, inf.graph)), flash_reserve_bytes)
    report["speed_sram_bytes"] = slack
    report["constant_channels"] = a.forward.meta.get(CONSTANT_CHANNELS_META)
    report["input_rows"] = input_rows
    report["input_in_arena"] = not input_rows
    if input_rows:
        report["notes"] = [n if not n.startswith("the input image lives in the arena") else
                           "input_rows: the input image is not in the arena (input_bytes are not part of "
                           "arena_bytes): the first block reads it row by row, from the image passed as `in` "
                           "or the reader set by tte_set_input_reader, through a window of its kernel rows "
                           "in the block's scratch" for n in report["notes"]]
    return report


def _with_outside_plans(a: Analysis) -> Analysis:
    """``a`` with the plans kept for comparison: the peak with the input in a separate buffer of
    the caller's (after choose_prepared, whose layouts they follow)."""
    x = a.forward.inputs[0]
    a.outside = (_plan_input_outside(a.scheduled, x), _plan_input_outside(a.inference, x))
    arena_out = max(p.arena_bytes for p in a.outside)
    a.report["arena_bytes_input_outside_arena"] = arena_out
    a.report["peak_sram_bytes_input_outside_arena"] = (a.report["peak_sram_bytes"] - a.report["arena_bytes"]
                                                       + a.report["input_bytes"] + arena_out)
    return a


def _first_op(g: Graph) -> str:
    return f"{g.nodes[0].op} '{g.nodes[0].name}'" if g.nodes else "none"


def _check_input_rows_dtype(graph: Graph) -> None:
    """input_rows takes an int8 input: a float one is quantized in place by a QUANTIZE that needs
    it whole in the arena."""
    x = graph.inputs[0]
    if graph.tensors[x].dtype != "int8":
        readers = ", ".join(f"{n.op.upper()} '{n.name}'" for n in graph.consumers(x))
        raise TteError(f"input_rows needs an int8 input; '{graph.name}' takes {graph.tensors[x].dtype} input "
                       f"'{x}', which its first op {_first_op(graph)} reads ({readers} quantizes it whole in the "
                       "arena, not row by row)")


def _mark_input_rows(s: ScheduledGraph, x: str) -> None:
    """Records in ``s``'s graph meta that the input ``x`` comes row by row (INPUT_ROWS_META: the
    planner leaves it out of the arena, the block reading it takes tte_block_s8_rows and a window
    of its rows in scratch), after checking that its only reader is a streamed block whose expand
    conv reads it (no residual add of it), on a batch of one image."""
    g = s.graph
    readers = g.consumers(x)
    why = None
    if len(readers) != 1:
        why = f"{len(readers)} ops read the input ({', '.join(n.op for n in readers)}); it must have one reader"
    elif readers[0].op != FUSED_OP:
        why = (f"its reader {readers[0].op} '{readers[0].name}' is not a streamed block (tte.compiler.fuse: "
               "a frozen expand -> depthwise -> 1x1 chain, streamed when reorder/stream is on)")
    else:
        chain = readers[0].attrs["chain"]
        if sum(n.op == "conv2d" for n in chain.nodes) < 3:   # [E,] D, P[, add]: E reads the block's input
            why = f"its streamed block '{readers[0].name}' has no expand conv reading it"
        elif chain.nodes[-1].op == "add":
            why = f"its streamed block '{readers[0].name}' adds the input to its output (a residual)"
        elif g.tensors[x].shape[0] != 1:
            why = f"the input is a batch of {g.tensors[x].shape[0]} images"
    if why is not None:
        raise TteError(f"input_rows: the input '{x}' of '{g.name}' cannot be given row by row: the model's "
                       f"first op is {_first_op(g)}; {why}", node=readers[0].name if readers else None)
    g.meta[INPUT_ROWS_META] = x


def _plan_input_outside(s: ScheduledGraph, x: str) -> MemoryPlan:
    """The plan of ``s`` with the input image outside the arena: the output of the input's first
    reader (the streamed stem) then heads the chain of streamed outputs that plan_memory pins,
    each its allowed distance below the one before (``chain_from``)."""
    first = next((n.outputs[0] for n in s.graph.nodes if x in n.inputs), None)
    return plan_memory(s, scratch=_scratch_fn(s), overlap=_overlap_fn(s.graph), chain_from=first)


def _report(graph: Graph, sch: UpdateScheme, tg: TrainingGraph, sg: ScheduledGraph, mp: MemoryPlan,
            inf: ScheduledGraph, ip: MemoryPlan, board: Board, budget_bytes: int | None,
            updated_bytes: int, splits: dict[str, SplitWeight], flash_reserve: int = 0) -> dict[str, Any]:
    trainable = list(tg.updates)
    whole_bytes = sum(graph.tensors[p].nbytes for p in trainable)
    trainable_bytes = sum(splits[p].sram_bytes if p in splits else graph.tensors[p].nbytes for p in trainable)
    frozen_bytes = sum(t.nbytes for k, t in graph.tensors.items() if t.is_const and k not in tg.updates)
    x = graph.tensors[graph.inputs[0]]
    out = graph.tensors[graph.outputs[0]]
    arena = max(mp.arena_bytes, ip.arena_bytes)
    optimizer = STEP_COUNTER_BYTES if "step" in tg.graph.inputs else 0
    # a regression step reads a float target as large as the output (the firmware's buffer)
    label = None if sch.inference_only else tg.graph.tensors[tg.label]
    target = label.nbytes if label is not None and label.dtype == "float32" else 0
    peak = arena + trainable_bytes + optimizer + target + STACK_ESTIMATE_BYTES
    inference_peak = ip.arena_bytes + out.nbytes + STACK_ESTIMATE_BYTES
    if sch.inference_only:
        peak = inference_peak   # no training step: an inference is all the board runs
    from tte.compiler.emit.block import choose_prepared

    # weights the emitters also lay out at compile time, once each, while the flash has room
    # for them (tte.compiler.emit.block.choose_prepared decides for the emitters too)
    prepared = choose_prepared((sg.graph, inf.graph), board.flash_bytes - flash_reserve - frozen_bytes - whole_bytes,
                               trained=tg.updates, doubling=sch.inference_only)
    prepared_bytes = prepared.kept_bytes
    flash_data = frozen_bytes + whole_bytes + prepared_bytes
    budget = budget_bytes if budget_bytes is not None else board.sram_bytes
    fits_sram = peak <= budget
    fits_flash = flash_data <= board.flash_bytes
    fwd = graph_macs(graph)
    bwd = graph_macs(sg.graph, sg.graph.nodes[sg.forward_nodes:])
    verdict = "fits" if fits_sram and fits_flash else (
        f"does not fit: needs {peak:,} B SRAM of {budget:,} B" if not fits_sram
        else f"does not fit: needs {flash_data:,} B flash of {board.flash_bytes:,} B")
    return {
        "model": graph.name, "board": board.name, "scheme": sch.name, "inference_only": sch.inference_only,
        "peak_sram_bytes": peak, "inference_peak_sram_bytes": inference_peak,
        "arena_bytes": arena, "train_arena_bytes": mp.arena_bytes, "inference_arena_bytes": ip.arena_bytes,
        "trainable_bytes": trainable_bytes, "trainable_updated_bytes": updated_bytes,
        "trainable_checkpoint_bytes": whole_bytes,
        "split_weights": {p: {"shape": list(sw.shape), "trained_in_channels": len(sw.sel),
                              "sram_bytes": sw.sram_bytes} for p, sw in splits.items()},
        "optimizer_bytes": optimizer, "target_bytes": target,
        "scratch_bytes": max([b.size for p in (mp, ip) for b in p.buffers if b.name.endswith("@scratch")],
                             default=0),
        "input_bytes": x.nbytes, "input_in_arena": True, "output_bytes": out.nbytes,
        "input_dtype": x.dtype, "output_dtype": out.dtype,
        "stack_bytes": STACK_ESTIMATE_BYTES, "stack_is_estimate": True,
        "flash_bytes": flash_data, "flash_data_bytes": flash_data, "flash_code_bytes": None,
        "frozen_weight_bytes": frozen_bytes, "prepared_weight_bytes": prepared_bytes,
        "prepared_layers": sorted(w for _, w in prepared.kept.values()),
        "prepared_dropped_layers": sorted(w for _, w in prepared.dropped.values()),
        "prepared_dropped_bytes": prepared.dropped_bytes,
        "prepared_doubled_layers": sorted(w for _, w in prepared.doubled.values()),
        "macs_forward": fwd, "macs_backward": bwd,
        "budget_bytes": budget, "sram_bytes": board.sram_bytes, "flash_capacity_bytes": board.flash_bytes,
        "fits": fits_sram and fits_flash, "verdict": verdict,
        "reordered": sg.reordered, "fused_updates": sg.fused, "planner": mp.planner,
        "planner_candidates": mp.candidates, "arena_lower_bound": mp.lower_bound,
        "trainable_tensors": trainable, "num_train_nodes": len(sg.graph.nodes),
        "peak_breakdown": mp.breakdown(),
        "notes": ["scratch buffers are planned inside the arena",
                  "a partially updated weight is split (split_weights): its trained input channels in "
                  "SRAM, the frozen rest in flash; weights whose readers have no split kernel stay whole in "
                  "SRAM (trainable_bytes); trainable_updated_bytes is the updated part, "
                  "trainable_checkpoint_bytes the whole tensors (tte_get_weights)",
                  "stack_bytes is an estimate; the firmware measures the peak stack by painting",
                  "prepared_layers: the depthwise and fully connected layers whose weights are laid out at compile "
                  "time (prepared_weight_bytes of flash); prepared_dropped_layers: those left to the plain path "
                  "(the same bytes) so that the flash data fits; prepared_doubled_layers: the 1x1 layers whose layout "
                  "takes its doubled form (twice the weight bytes, fewer instructions) in the flash left",
                  "the input image lives in the arena at tte_input_buffer() (input_bytes are part of "
                  "arena_bytes); peak_sram_bytes_input_outside_arena: the peak if the caller kept "
                  "the input in a buffer of its own",
                  *(["inference_only: scheme none compiles the forward pass alone (no training step, "
                     "every weight frozen in flash); peak_sram_bytes is inference_peak_sram_bytes"]
                    if sch.inference_only else [])],
    }


def format_breakdown(report: dict[str, Any]) -> str:
    """A readable account of where the peak SRAM goes and which tensors dominate."""
    r = report
    bd = r["peak_breakdown"]
    lines = [f"{r['model']} on {r['board']} with scheme {r['scheme']}: {r['verdict']}",
             f"  peak SRAM {r['peak_sram_bytes']:>10,} B  (budget {r['budget_bytes']:,} B)",
             f"    arena           {r['arena_bytes']:>10,} B  (training {r['train_arena_bytes']:,}, "
             f"inference {r['inference_arena_bytes']:,})",
             f"    trainable       {r['trainable_bytes']:>10,} B  ({len(r['trainable_tensors'])} tensors)",
             f"    (input image    {r['input_bytes']:>10,} B, "
             f"{'in the arena' if r.get('input_in_arena', True) else 'given row by row, not in SRAM'})",
             f"    optimizer       {r['optimizer_bytes']:>10,} B",
             *([f"    target (mse)    {r['target_bytes']:>10,} B"] if r.get("target_bytes") else []),
             f"    stack (est.)    {r['stack_bytes']:>10,} B",
             f"  arena peak at step {bd['step']} ({bd['node']}): {bd['live_bytes']:,} B live in:"]
    for t in bd["tensors"]:
        lines.append(f"    {t['bytes']:>9,} B  {t['tensor']}  (steps {t['from_step']}..{t['to_step']}: "
                     f"{t['from_node']} -> {t['to_node']})")
    return "\n".join(lines)


def auto_scheme(graph: Graph, board: Board, budget_bytes: int | None, **kw: Any) -> Analysis:
    """The largest of ``AUTO_SCHEMES`` that fits; the smallest one's analysis if none does.

    A larger scheme that cannot be built (e.g. an op without a gradient rule between the loss
    and its layers) is not skipped silently: the report's ``auto_skipped`` names it and why."""
    last: Analysis | None = None
    skipped: dict[str, str] = {}
    for spec in AUTO_SCHEMES:
        try:
            a = analyze(graph, board=board, scheme=spec, budget_bytes=budget_bytes, **kw)
        except TteError as e:
            skipped[spec] = str(e)
            continue
        a.report["auto_skipped"] = dict(skipped)
        if skipped:
            a.report["notes"].append("auto: " + "; ".join(f"{k} does not apply ({v})" for k, v in skipped.items()))
        if a.report["fits"]:
            return a
        last = a
    if last is None:
        raise TteError(f"no update scheme applies to '{graph.name}': " +
                       "; ".join(f"{k}: {v}" for k, v in skipped.items()))
    return last
