"""Memory planning: tensor lifetimes over a schedule -> offsets in one static arena.

Every activation, gradient, mask and kernel scratch buffer of a scheduled graph lives in
``tte_arena``; what lives elsewhere is *external*: graph inputs (the caller's buffer, the
label, the step counter), constants (frozen weights in flash, trained ones in SRAM arrays),
and everything that shares storage with them (updated parameters are written in place,
reshapes are views). Tensors that share storage (``ScheduledGraph.inplace``) form one
buffer whose lifetime is the union of theirs.

A buffer lives from the step that writes it to the last step that reads it (graph outputs:
to the end). Planners place buffers at the lowest offset that does not collide with an
already placed buffer whose lifetime overlaps; they differ in the order they place them
(largest first, as TFLite Micro's greedy planner; first use first; largest size x lifetime
first; a training step's saved activations first, the last to die first, under the
temporaries). ``plan_memory`` runs them all and keeps the smallest arena; where that is
above the most bytes a step needs, a bounded local search over the order of the best
placement (and of the best whose first streamed output may sit at its step's floor) tries
to lower it (``_search``: deterministic, kept only where smaller).

Masks count one bit per element; weight gradients are float32; offsets are 8-byte aligned.

Overlap by design (MCUNetV2 / TinyEngine-style in-place rows): a kernel that reads its
input faster than it writes its output may write the output over input rows it has
consumed. ``plan_memory(overlap=...)`` asks, per node, for such (output, input, distance)
triples: the output buffer may then share bytes with the input buffer, at the one step
where the input dies and the output is born, if it starts at least ``distance`` bytes below
the input (``MemoryPlan.overlaps``; ``check_plan`` verifies every such pair). The distance
comes from the kernel's row access pattern (``tte.compiler.fuse.block_overlap``). A triple may
carry a fourth value, a step: the distance of a shared placement must then also be a multiple
of it (a depthwise conv that runs each group of channels over every row, whose channels must
land on their own bytes: ``tte.compiler.fuse.depthwise_overlap``).
"""

from __future__ import annotations

import math
import random
import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tte.compiler.schedule import ScheduledGraph, storage_bytes
from tte.ir import Node

ALIGN = 8


def align(n: int, a: int = ALIGN) -> int:
    return (n + a - 1) // a * a


@dataclass
class Buffer:
    """One arena allocation: a storage root and the tensors that share it."""

    name: str
    tensors: list[str]
    size: int
    first: int
    last: int
    offset: int = -1

    def overlaps(self, other: Buffer) -> bool:
        return self.first <= other.last and other.first <= self.last


@dataclass
class MemoryPlan:
    planner: str
    arena_bytes: int
    buffers: list[Buffer]
    offsets: dict[str, int]                 # arena tensor -> byte offset
    external: dict[str, str]                # non-arena tensor -> the input/constant it lives in
    steps: list[str]                        # node names in execution order
    live_bytes: list[int]                   # per step: bytes of live buffers
    high_water: list[int]                   # per step: highest end offset among live buffers
    candidates: dict[str, int] = field(default_factory=dict)   # planner -> arena bytes
    overlaps: dict[tuple[str, str], int] = field(default_factory=dict)  # (out buffer, in buffer) -> distance
    overlap_steps: dict[tuple[str, str], int] = field(default_factory=dict)  # the same pairs -> step, where not ALIGN

    @property
    def lower_bound(self) -> int:
        """No placement without allowed overlaps can use less than the most bytes live at one step."""
        return max(self.live_bytes, default=0)

    def floor_bytes(self) -> list[int]:
        """Per step: the bytes no placement of these buffers can go under, the live bytes less
        what the step's allowed overlap saves (an output born there may start its distance d
        below the input that dies there: the two then span at least max(input + d, output))."""
        by_name = {b.name: b for b in self.buffers}
        floor = list(self.live_bytes)
        for (o, i), d in self.overlaps.items():
            out, inp = by_name[o], by_name[i]
            if out.first == inp.last and 0 <= out.first < len(floor):
                floor[out.first] -= inp.size + out.size - max(inp.size + d, out.size)
        return floor

    def peak_step(self) -> int:
        """The step where the arena reaches highest (then: where the most bytes are live)."""
        return max(range(len(self.live_bytes)), key=lambda i: (self.high_water[i], self.live_bytes[i], -i)) \
            if self.live_bytes else 0

    def live_at(self, step: int) -> list[Buffer]:
        return sorted((b for b in self.buffers if b.first <= step <= b.last), key=lambda b: -b.size)

    def breakdown(self, top: int = 8) -> dict[str, Any]:
        """Which buffers are live at the step where the arena reaches highest."""
        s = self.peak_step()
        live = self.live_at(s)
        return {"step": s, "node": self.steps[s] if self.steps else "", "live_bytes": self.lower_bound,
                "arena_bytes": self.arena_bytes,
                "tensors": [{"tensor": b.name, "bytes": b.size, "offset": b.offset,
                             "from_step": b.first, "to_step": b.last,
                             "from_node": self.steps[b.first] if b.first >= 0 else "(input)",
                             "to_node": self.steps[min(b.last, len(self.steps) - 1)]} for b in live[:top]]}


def buffers_of(sg: ScheduledGraph, scratch: Callable[[Node], int] | None = None,
               arena_inputs: Sequence[str] = ()) -> tuple[list[Buffer], dict[str, str]]:
    """The arena buffers of a scheduled graph and the map of external tensors.
    ``arena_inputs``: graph inputs placed in the arena (live from step 0 to their last reader;
    ``plan_memory`` places them at offset 0)."""
    g = sg.graph
    n_steps = len(g.nodes)
    roots_external = (set(g.inputs) - set(arena_inputs)) | set(g.constants())
    first: dict[str, int] = {x: 0 for x in arena_inputs}
    last: dict[str, int] = {x: 0 for x in arena_inputs}
    for i, n in enumerate(g.nodes):
        for o in n.outputs:
            first.setdefault(o, i)
            last[o] = max(last.get(o, i), i)
        for x in n.inputs:
            if x:
                last[x] = i
    for o in g.outputs:
        last[o] = n_steps - 1
    groups: dict[str, list[str]] = {}
    external: dict[str, str] = {}
    for name in first:
        root = sg.storage_root(name)
        if root in roots_external:
            external[name] = root
        else:
            groups.setdefault(root, []).append(name)
    buffers = []
    for root, names in groups.items():
        size = max(storage_bytes(g, t) for t in names)
        buffers.append(Buffer(root, sorted(names, key=lambda t: first[t]), align(size),
                              min(first[t] for t in names), max(last[t] for t in names)))
    if scratch is not None:
        for i, n in enumerate(g.nodes):
            nbytes = scratch(n)
            if nbytes > 0:
                buffers.append(Buffer(f"{n.name}@scratch", [f"{n.name}@scratch"], align(nbytes), i, i))
    return buffers, external


Overlaps = dict[tuple[str, str], int]
OverlapOffer = Callable[[Node], Sequence[tuple[int | str, ...]]]   # (output, input, distance[, step])


def _span(b: Buffer, p: Buffer, allow: Overlaps) -> tuple[int, int]:
    """Offsets of b that collide with the placed p: b fits at off if off + b.size <= start
    or off >= stop. An allowed overlap lets b (output) reach up to distance d below p
    (input), or p (output) reach into b (input) from d below it."""
    start, stop = p.offset, p.offset + p.size
    d = allow.get((b.name, p.name))
    if d is not None:
        start = p.offset + max(0, b.size - d)
    d = allow.get((p.name, b.name))
    if d is not None:
        stop = p.offset + min(d, p.size)
    return start, stop


def _place(order: Sequence[Buffer], allow: Overlaps | None = None, pinned: Sequence[Buffer] = ()) -> int:
    """Place ``order`` one by one at the lowest fitting offset, around the ``pinned``
    buffers (already at their offsets); returns the arena's end."""
    placed: list[Buffer] = list(pinned)
    end = max((b.offset + b.size for b in pinned), default=0)
    for b in order:
        spans = sorted(_span(b, p, allow or {}) for p in placed if p.overlaps(b))
        off = 0
        for start, stop in spans:
            if off + b.size <= start:
                break
            off = max(off, stop)
        b.offset = off
        placed.append(b)
        end = max(end, off + b.size)
    return end


TINY = 64   # bytes: a buffer this small that lives to the end goes first, at the bottom


def _saved_first(bs: list[Buffer]) -> list[Buffer]:
    """Training steps' order: the tiny buffers that live to the end (the loss) first, then the
    buffers alive at the step where the most are (the activations the backward reads, from the
    forward/backward turn), the last to die first, then the rest by size. Placed so, the saved
    activations stack up from the bottom in the order the backward frees them, and the
    temporaries of both passes use the one region above them instead of the gaps between them."""
    if not bs:
        return []
    end = max(b.last for b in bs)
    count = np.zeros(end + 2, dtype=np.int64)
    for b in bs:
        count[max(b.first, 0)] += 1
        count[b.last + 1] -= 1
    pivot = int(np.argmax(np.cumsum(count)))

    def key(b: Buffer) -> tuple[int, int, int, str]:
        if b.last >= end and b.size <= TINY:
            return 0, b.first, -b.size, b.name
        if b.first <= pivot <= b.last:
            return 1, -b.last, -b.size, b.name
        return 2, -b.size, b.first, b.name
    return sorted(bs, key=key)


PLANNERS: dict[str, Callable[[list[Buffer]], list[Buffer]]] = {
    "greedy-by-size": lambda bs: sorted(bs, key=lambda b: (-b.size, b.first, b.name)),
    "greedy-by-first-use": lambda bs: sorted(bs, key=lambda b: (b.first, -b.size, b.name)),
    "greedy-by-area": lambda bs: sorted(bs, key=lambda b: (-b.size * (b.last - b.first + 1), b.first, b.name)),
    "saved-first": _saved_first,
}


def allowed_overlaps(sg: ScheduledGraph, bufs: Sequence[Buffer], overlap: OverlapOffer) -> Overlaps:
    """(output buffer, input buffer) -> distance, for the triples that ``overlap`` offers
    whose input buffer dies at the node and whose output buffer is born there."""
    return _allowed(sg, bufs, overlap)[0]


def _allowed(sg: ScheduledGraph, bufs: Sequence[Buffer], overlap: OverlapOffer) -> tuple[Overlaps, Overlaps]:
    """allowed_overlaps and the steps of its pairs that have one (a multiple of ALIGN; the
    distance rounded up to a multiple of it)."""
    root: dict[str, Buffer] = {t: b for b in bufs for t in b.tensors}
    allow: Overlaps = {}
    steps: Overlaps = {}
    for i, n in enumerate(sg.graph.nodes):
        for offer in overlap(n):
            out, inp, dist = str(offer[0]), str(offer[1]), int(offer[2])
            step = math.lcm(int(offer[3]), ALIGN) if len(offer) > 3 else ALIGN
            bo, bi = root.get(out), root.get(inp)
            if bo is None or bi is None or bo is bi or bo.first != i or bi.last != i or dist < 0:
                continue
            if step > ALIGN:
                steps[(bo.name, bi.name)] = step
                dist = -(-dist // step) * step
            allow[(bo.name, bi.name)] = dist
    return allow, steps


MAX_CHAIN = 3  # streamed blocks at the start whose outputs plan_memory may pin, each below its input


def _overlap_chain(allow: Overlaps, start: str) -> list[tuple[str, int]]:
    """From buffer ``start`` on: the output that may overlap it, the output that may overlap
    that one, ... (at most MAX_CHAIN), each with its distance."""
    by_in = {i: (o, d) for (o, i), d in allow.items()}
    chain: list[tuple[str, int]] = []
    cur = start
    while cur in by_in and len(chain) < MAX_CHAIN:
        cur, d = by_in[cur]
        chain.append((cur, d))
    return chain


def _time_conflicts(bufs: Sequence[Buffer]) -> list[list[int]]:
    """Per buffer: the indices of the other buffers whose lifetimes overlap its own (the only
    ones a placement has to look at)."""
    first = np.array([b.first for b in bufs], dtype=np.int64)
    last = np.array([b.last for b in bufs], dtype=np.int64)
    live_together = (first[:, None] <= last[None, :]) & (first[None, :] <= last[:, None])
    np.fill_diagonal(live_together, False)
    return [np.flatnonzero(row).tolist() for row in live_together]


@dataclass
class _Layout:
    """The buffers of one plan_memory call by index, what every planner's placement reads."""

    bufs: list[Buffer]
    conflicts: list[list[int]]
    as_output: dict[int, dict[int, int]]   # buffer -> {input buffer it may overlap: distance}
    as_input: dict[int, dict[int, int]]    # buffer -> {output buffer that may overlap it: distance}
    stepped: dict[int, list[tuple[int, int, int]]]   # buffer -> [(other buffer, step, +1 output / -1 input)]

    @classmethod
    def of(cls, bufs: list[Buffer], allow: Overlaps, steps: Overlaps | None = None) -> _Layout:
        index = {b.name: i for i, b in enumerate(bufs)}
        as_output: dict[int, dict[int, int]] = {}
        as_input: dict[int, dict[int, int]] = {}
        stepped: dict[int, list[tuple[int, int, int]]] = {}
        for (o, i), d in allow.items():
            if o in index and i in index:
                as_output.setdefault(index[o], {})[index[i]] = d
                as_input.setdefault(index[i], {})[index[o]] = d
        for (o, i), m in (steps or {}).items():
            if o in index and i in index:
                stepped.setdefault(index[o], []).append((index[i], m, 1))
                stepped.setdefault(index[i], []).append((index[o], m, -1))
        return cls(bufs, _time_conflicts(bufs), as_output, as_input, stepped)

    def place(self, order: Sequence[int], offsets: list[int], limit: int | None = None) -> int:
        """_place by index: ``offsets`` holds the pinned buffers' offsets (-1: not placed yet);
        each of ``order`` goes to the lowest offset that fits; returns the arena's end, or, with
        a ``limit``, an end no smaller than it as soon as the arena reaches it."""
        sizes = [b.size for b in self.bufs]
        ends = [o + s if o >= 0 else -1 for o, s in zip(offsets, sizes)]
        end = max([0, *ends])
        for i in order:
            size = sizes[i]
            conflicts = self.conflicts[i]
            if i in self.as_output or i in self.as_input:
                spans = sorted(self._span(i, j, offsets, sizes) for j in conflicts if offsets[j] >= 0)
            else:
                spans = sorted([(offsets[j], ends[j]) for j in conflicts if offsets[j] >= 0])
            off = _lowest(spans, size, 0)
            while i in self.stepped:
                on_step = self._on_step(i, off, offsets, sizes)
                if on_step == off:
                    break
                off = _lowest(spans, size, on_step)
            offsets[i] = off
            ends[i] = off + size
            if off + size > end:
                end = off + size
                if limit is not None and end >= limit:
                    return end
        return end

    def _on_step(self, i: int, off: int, offsets: list[int], sizes: list[int]) -> int:
        """The lowest offset from ``off`` on where buffer i shares bytes with no placed partner of
        a stepped overlap at a distance off its step (moving closer to an output below, or
        further above an input: the distance stays at least the allowed one, a multiple of the
        step)."""
        for j, step, side in self.stepped[i]:
            if offsets[j] < 0 or not (off < offsets[j] + sizes[j] and offsets[j] < off + sizes[i]):
                continue
            if side > 0:
                off += (offsets[j] - off) % step
            else:
                off = min(off + (offsets[j] - off) % step, offsets[j] + sizes[j])
        return off

    def _span(self, i: int, j: int, offsets: list[int], sizes: list[int]) -> tuple[int, int]:
        """_span by index: the offsets of buffer i that collide with the placed buffer j."""
        start, stop = offsets[j], offsets[j] + sizes[j]
        d = self.as_output.get(i, {}).get(j)
        if d is not None:
            start = offsets[j] + max(0, sizes[i] - d)
        d = self.as_input.get(i, {}).get(j)
        if d is not None:
            stop = offsets[j] + min(d, sizes[j])
        return start, stop


def _lowest(spans: list[tuple[int, int]], size: int, off: int) -> int:
    """The lowest offset from ``off`` on where ``size`` bytes collide with none of the spans
    (sorted by start)."""
    for start, stop in spans:
        if off + size <= start:
            break
        if stop > off:
            off = stop
    return off


def _live_and_high(bufs: Sequence[Buffer], n_steps: int) -> tuple[list[int], list[int]]:
    """Per step, the bytes live and the highest byte any live buffer reaches."""
    live = [0] * n_steps
    high = [0] * n_steps
    for b in bufs:
        for s in range(max(b.first, 0), min(b.last, n_steps - 1) + 1):
            live[s] += b.size
            high[s] = max(high[s], b.offset + b.size)
    return live, high


def plan_memory(sg: ScheduledGraph, *, planners: Sequence[str] | None = None,
                scratch: Callable[[Node], int] | None = None, arena_inputs: Sequence[str] = (),
                overlap: OverlapOffer | None = None,
                input_offset: int | None = None, chain_from: str | None = None, search: bool = False) -> MemoryPlan:
    """Place every arena buffer with each planner; keep the smallest arena (``search``: then
    the local search's, _search, where smaller: for the plans a compile emits; the others, as
    the choices' arenas, are the planners').

    ``arena_inputs`` are pinned first, one after the other from ``input_offset``. With one
    arena input that the first streamed blocks may overwrite (``overlap``), the plans also
    pin the outputs of those blocks, each its allowed distance below its input (the input
    image, then block 1's output under it, block 2's under that, ...; 1..MAX_CHAIN blocks
    are tried), and by default the input sits at the sum of those distances, so that the
    last pinned output starts at offset 0. Without arena inputs, ``chain_from`` (an arena
    buffer, e.g. the first block's output when the input image lives outside the arena)
    starts such a chain instead, pinned where the input would be, or above the scratch of
    the step where it is born (_Planning.pinnings)."""
    job = _Planning.of(sg, planners, scratch, arena_inputs, overlap, input_offset, chain_from)
    results = _PLACEMENTS.get((*job.key, search))
    if results is None:
        results = _remember(_PLACEMENTS, (*job.key, search), job.place(search=search))
    bufs = job.bufs
    keys = list(results)
    best = min(keys, key=lambda k: (results[k][0], keys.index(k)))
    arena, offsets = results[best]
    for b, off in zip(bufs, offsets):
        b.offset = off
    steps = [n.name for n in sg.graph.nodes]
    live, high = _live_and_high(bufs, len(steps))
    offsets_of = {t: b.offset for b in bufs for t in b.tensors}
    return MemoryPlan(best, arena, sorted(bufs, key=lambda b: (b.first, b.name)), offsets_of, job.external, steps,
                      live, high, {k: v[0] for k, v in results.items()}, job.allow, job.steps)


def with_scratch(plan: MemoryPlan, sizes: dict[int, int], limit: int) -> tuple[MemoryPlan, set[int]]:
    """``plan`` with the scratch of the steps in ``sizes`` grown to those bytes (a step's scratch
    lives at that step alone), each at the lowest offset where it collides with nothing else
    live at its step, where it then ends within ``limit``; every other buffer stays where it is.
    Returns the plan and the steps whose scratch grew."""
    bufs = [Buffer(b.name, list(b.tensors), b.size, b.first, b.last, b.offset) for b in plan.buffers]
    by_name = {b.name: b for b in bufs}
    grown: set[int] = set()
    for step, size in sorted(sizes.items()):
        name = f"{plan.steps[step]}@scratch"
        own = by_name.get(name)
        size = align(size)
        if own is not None and own.size >= size:
            continue
        spans = sorted((b.offset, b.offset + b.size) for b in bufs
                       if b is not own and b.first <= step <= b.last)
        off = _lowest(spans, size, 0)
        if off + size > limit:
            continue
        if own is None:
            own = by_name[name] = Buffer(name, [name], size, step, step)
            bufs.append(own)
        own.size, own.offset = size, off
        grown.add(step)
    steps = plan.steps
    live, high = _live_and_high(bufs, len(steps))
    arena = max((b.offset + b.size for b in bufs), default=0)
    offsets = {t: b.offset for b in bufs for t in b.tensors}
    return MemoryPlan(plan.planner + SCRATCH_GROWN, arena, sorted(bufs, key=lambda b: (b.first, b.name)), offsets,
                      dict(plan.external), steps, live, high, {**plan.candidates, plan.planner + SCRATCH_GROWN: arena},
                      dict(plan.overlaps), dict(plan.overlap_steps)), grown


SCRATCH_GROWN = "+scratch"   # the suffix of a plan that with_scratch made


def scratch_room(plan: MemoryPlan, step: int, limit: int) -> int:
    """The most bytes with_scratch can give the scratch of ``step`` within ``limit``: the largest
    run of bytes below it that no other buffer live at the step uses."""
    own = f"{plan.steps[step]}@scratch"
    spans = sorted((b.offset, b.offset + b.size) for b in plan.buffers
                   if b.name != own and b.first <= step <= b.last)
    room, off = 0, 0
    for start, stop in [*spans, (limit, limit)]:
        room = max(room, min(start, limit) - off)
        off = max(off, stop)
    return room


def plan_arena_bytes(sg: ScheduledGraph, *, planners: Sequence[str] | None = None,
                     scratch: Callable[[Node], int] | None = None, arena_inputs: Sequence[str] = (),
                     overlap: OverlapOffer | None = None,
                     input_offset: int | None = None, chain_from: str | None = None) -> int:
    """The planners' smallest arena without the plan (what the compiler's choices compare): the
    same placements as plan_memory's, each given up once its arena reaches the smallest one so
    far, without plan_memory's local search (which may lower the plan chosen, by the choices'
    own measure, further; fast enough for the one plan, not for every choice's)."""
    job = _Planning.of(sg, planners, scratch, arena_inputs, overlap, input_offset, chain_from)
    for placed in (_PLACEMENTS.get((*job.key, s)) for s in (False, True)):
        if placed is not None:
            return min(arena for k, (arena, _) in placed.items() if not k.endswith(SEARCHED))
    if job.key not in _ARENAS:
        _remember(_ARENAS, job.key, min(arena for arena, _ in job.place(smallest_only=True).values()))
    return _ARENAS[job.key]


@dataclass
class _Planning:
    """What one plan places: the buffers, the allowed overlaps, the planners and the pinning."""

    bufs: list[Buffer]
    external: dict[str, str]
    allow: Overlaps
    names: list[str]
    arena_inputs: Sequence[str]
    start: str | None
    chain: list[tuple[str, int]]
    input_offset: int | None
    steps: Overlaps = field(default_factory=dict)
    key: tuple[Any, ...] = ()   # everything the placements depend on

    @classmethod
    def of(cls, sg: ScheduledGraph, planners: Sequence[str] | None, scratch: Callable[[Node], int] | None,
           arena_inputs: Sequence[str], overlap: OverlapOffer | None,
           input_offset: int | None, chain_from: str | None) -> _Planning:
        bufs, external = buffers_of(sg, scratch, arena_inputs)
        allow, steps = _allowed(sg, bufs, overlap) if overlap is not None else ({}, {})
        start = arena_inputs[0] if len(arena_inputs) == 1 else None if arena_inputs else chain_from
        chain = _overlap_chain(allow, start) if start is not None else []
        names = list(planners) if planners else list(PLANNERS)
        key = (tuple((b.name, b.size, b.first, b.last) for b in bufs), tuple(sorted(allow.items())),
               tuple(sorted(steps.items())), tuple(arena_inputs), input_offset, start, tuple(chain), tuple(names))
        return cls(bufs, external, allow, names, arena_inputs, start, chain, input_offset, steps, key)

    def place(self, smallest_only: bool = False, search: bool = False) -> dict[str, tuple[int, list[int]]]:
        """Per planner (and number of pinned chain outputs): the arena's end and every buffer's
        offset. ``smallest_only``: a placement stops once it reaches the smallest arena so far
        (its end is then no smaller, its offsets incomplete)."""
        bufs, chain, start = self.bufs, self.chain, self.start
        layout = _Layout.of(bufs, self.allow, self.steps)
        index = {b.name: i for i, b in enumerate(bufs)}
        # a planner's order of all buffers; leaving out the pinned ones keeps the rest's order
        orders = {name: [index[b.name] for b in PLANNERS[name](bufs)] for name in self.names}
        results: dict[str, tuple[int, list[int]]] = {}
        smallest: int | None = None
        best: tuple[str, list[int], list[int]] = ("", [], [])   # (key, order, pinned offsets)
        lifted: dict[str, tuple[str, list[int], list[int]]] = {}   # per planner: with its chain's head lifted
        for name in self.names:
            for n_chain, lift in self.pinnings():
                offsets = [-1] * len(bufs)
                # arena inputs go first, at the same offset in every plan: the application writes
                # the input there (tte_input_buffer()) before the step, whichever plan runs
                pinned = [i for i, b in enumerate(bufs)
                          if b.name in self.arena_inputs or (n_chain and b.name == start)]
                dists = [align(d) for _, d in chain[:max(n_chain, 1)]]
                base = self.input_offset if self.input_offset is not None else max(sum(dists), lift)
                pos = base
                outs: list[int] = []
                for (o, _), d in zip(chain[:n_chain], dists):
                    pos -= d
                    offsets[index[o]] = pos
                    outs.append(index[o])
                if pos < 0:
                    continue
                for i in pinned:
                    offsets[i] = base
                    base += bufs[i].size
                fixed = set(pinned) | set(outs)
                end = layout.place([i for i in orders[name] if i not in fixed], offsets,
                                   smallest if smallest_only else None)
                key = name if n_chain == 0 else f"{name}/pin{n_chain}" + ("/above" if lift else "")
                results[key] = (end, offsets)
                start = (key, [i for i in orders[name] if i not in fixed],
                         [o if i in fixed else -1 for i, o in enumerate(offsets)])
                if smallest is None or end < smallest:
                    smallest, best = end, start
                if n_chain == 1 and lift:
                    lifted[name] = start
        if not search or smallest_only or smallest is None or smallest <= (bound := self.floor_bound()):
            return results
        # the search from the best placement, then from the best planner's with its chain's head
        # above its first step's scratch (that step may then reach its floor)
        for start in (best, lifted.get(best[0].split("/")[0])):
            if start is None or start[0] + SEARCHED in results:
                continue
            key, order, pinned_at = start
            got = list(pinned_at)
            begin = results[key] if key == best[0] else (layout.place(order, got), got)
            results[key + SEARCHED] = _search(layout, order, pinned_at, begin, bound)
        return results

    def pinnings(self) -> list[tuple[int, int]]:
        """(chain outputs pinned, the least offset of the chain's head) of each placement: 0..len(chain)
        pinned from offset 0 up; with a chain from an arena buffer (chain_from), also the chain's
        head with its first output pinned above the buffers that live only at the step where it is
        born (its kernel's scratch: that step may then reach its floor, the scratch below it)."""
        out = [(n, 0) for n in (range(len(self.chain) + 1) if self.chain else range(1))]
        if self.chain and not self.arena_inputs and self.input_offset is None:
            head = next(b for b in self.bufs if b.name == self.start)
            lift = align(sum(b.size for b in self.bufs if b is not head and b.first == b.last == head.first))
            if lift:
                out.append((1, lift))
        return out

    def floor_bound(self) -> int:
        """The most bytes any step needs (MemoryPlan.floor_bytes): no placement goes under it."""
        if not self.bufs:
            return 0
        end = max(b.last for b in self.bufs) + 2
        live = np.zeros(end, dtype=np.int64)
        for b in self.bufs:
            live[max(b.first, 0)] += b.size
            live[b.last + 1] -= b.size
        floor = np.cumsum(live)
        by_name = {b.name: b for b in self.bufs}
        for (o, i), d in self.allow.items():
            out, inp = by_name[o], by_name[i]
            if out.first == inp.last and out.first >= 0:
                floor[out.first] -= inp.size + out.size - max(inp.size + d, out.size)
        return int(floor.max())


SEARCHED = "+search"   # the suffix of a candidate plan that _search improved
SEARCH_ROUNDS = 128   # placements the search below may try per plan (about 0.25 ms each on a paper model)
SEARCH_PATIENCE = 64   # rounds it goes on without a smaller arena


def _search(layout: _Layout, order: list[int], pinned_at: list[int], start: tuple[int, list[int]],
            bound: int) -> tuple[int, list[int]]:
    """From the best planner's placement (``order`` of the buffers not pinned, ``pinned_at``: the
    pinned ones' offsets, -1 elsewhere; ``start``: its end and offsets), a bounded local search:
    each round moves one of the buffers that reach the arena's end to just before a random one of
    the buffers placed before it that live with it, or swaps two random buffers, and keeps the
    order where the arena does not grow; it stops at ``bound`` (no placement goes lower), after
    SEARCH_ROUNDS or SEARCH_PATIENCE rounds without a smaller arena. Deterministic (a fixed
    seed), so a plan repeats."""
    rng = random.Random(0)
    sizes = [b.size for b in layout.bufs]
    end, offsets = start
    n = len(order)
    last_gain = 0
    for r in range(SEARCH_ROUNDS):
        if end <= bound or n < 2 or r - last_gain > SEARCH_PATIENCE:
            break
        trial = list(order)
        tops = [i for i in trial if offsets[i] + sizes[i] == end]
        if r % 2 == 0 and tops:
            top = tops[rng.randrange(len(tops))]
            k = trial.index(top)
            # to just before one of the buffers placed before it and alive with it (the only
            # places in the order where moving it changes what it collides with)
            at = {i: p for p, i in enumerate(trial[:k])}
            earlier = [at[j] for j in layout.conflicts[top] if j in at]
            first = earlier[rng.randrange(len(earlier))] if earlier else rng.randrange(k + 1)
            trial.insert(first, trial.pop(k))
        else:
            a, b = rng.randrange(n), rng.randrange(n)
            trial[a], trial[b] = trial[b], trial[a]
            first = min(a, b)
        # the buffers before the first moved one land where they did
        got = list(pinned_at)
        for i in trial[:first]:
            got[i] = offsets[i]
        got_end = layout.place(trial[first:], got, end + 1)
        if got_end <= end:
            last_gain = r if got_end < end else last_gain
            order, offsets, end = trial, got, got_end
    return end, offsets


# Placements by everything they depend on: the planners' choices (tte.compiler.analysis) plan
# the same buffers many times over, and a placement is most of a plan's time.
_PLACEMENTS: dict[tuple[Any, ...], dict[str, tuple[int, list[int]]]] = {}
_ARENAS: dict[tuple[Any, ...], int] = {}      # plan_arena_bytes's, where no whole plan was needed
_KEPT = 512


def _remember(cache: dict[tuple[Any, ...], Any], key: tuple[Any, ...], value: Any) -> Any:
    cache[key] = value
    if len(cache) > _KEPT:
        del cache[next(iter(cache))]
    return value


def check_plan(plan: MemoryPlan) -> None:
    """Raise AssertionError if two buffers alive at the same step share bytes, unless the
    plan allows that pair (an output born where its input dies, starting at least the
    allowed distance below it)."""
    bs = plan.buffers
    for i, a in enumerate(bs):
        assert a.offset >= 0 and a.offset % ALIGN == 0 and a.offset + a.size <= plan.arena_bytes, a
        for b in bs[i + 1:]:
            if a.overlaps(b) and not (a.offset + a.size <= b.offset or b.offset + b.size <= a.offset):
                for out, inp in ((a, b), (b, a)):
                    d = plan.overlaps.get((out.name, inp.name))
                    step = plan.overlap_steps.get((out.name, inp.name), ALIGN)
                    if (d is not None and out.first == inp.last and inp.offset - out.offset >= d
                            and (inp.offset - out.offset) % step == 0):
                        break
                else:
                    raise AssertionError((a, b))


# ---- memory-over-time plot (a PNG written with zlib; no plotting library needed) --------

_FONT = {  # 3x5 glyphs, rows top to bottom, 3 bits each
    "0": (7, 5, 5, 5, 7), "1": (2, 6, 2, 2, 7), "2": (7, 1, 7, 4, 7), "3": (7, 1, 7, 1, 7),
    "4": (5, 5, 7, 1, 1), "5": (7, 4, 7, 1, 7), "6": (7, 4, 7, 5, 7), "7": (7, 1, 1, 1, 1),
    "8": (7, 5, 7, 5, 7), "9": (7, 5, 7, 1, 7), "K": (5, 5, 6, 5, 5), "B": (6, 5, 6, 5, 6),
    " ": (0, 0, 0, 0, 0), ".": (0, 0, 0, 0, 2),
}


def _write_png(path: Path, pixels: list[bytearray], width: int, height: int) -> None:
    raw = b"".join(b"\x00" + bytes(row) for row in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    path.write_bytes(png)


def plot_memory(plan: MemoryPlan, path: str | Path, *, forward_steps: int, fixed_bytes: int = 0,
                budget_bytes: int | None = None, width: int = 800, height: int = 300) -> Path:
    """Bytes live per step as bars (forward blue, backward orange) on top of the fixed SRAM
    (trainable parameters, stack; grey), the arena high-water line (black) and the budget
    (red). The y axis is labelled in KB."""
    p = Path(path)
    left, bottom, top = 40, 10, 10
    pw, ph = width - left - 10, height - bottom - top
    img = [bytearray(b"\xff" * (3 * width)) for _ in range(height)]
    n = max(len(plan.live_bytes), 1)
    ymax = max([fixed_bytes + max(plan.high_water, default=0), budget_bytes or 0, 1]) * 1.1

    def put(x: int, y: int, rgb: tuple[int, int, int]) -> None:
        if 0 <= x < width and 0 <= y < height:
            img[y][3 * x:3 * x + 3] = bytes(rgb)

    def ypix(v: float) -> int:
        return top + ph - int(round(v / ymax * ph))

    def text(x: int, y: int, s: str) -> None:
        for k, ch in enumerate(s):
            for r, bits in enumerate(_FONT.get(ch, _FONT[" "])):
                for c in range(3):
                    if bits >> (2 - c) & 1:
                        for dy in range(2):
                            for dx in range(2):
                                put(x + 8 * k + 2 * c + dx, y + 2 * r + dy, (0, 0, 0))

    for s in range(n):
        x0, x1 = left + s * pw // n, left + (s + 1) * pw // n
        live = plan.live_bytes[s] if s < len(plan.live_bytes) else 0
        high = plan.high_water[s] if s < len(plan.high_water) else 0
        color = (70, 130, 200) if s < forward_steps else (235, 140, 50)
        for x in range(x0, max(x1, x0 + 1)):
            for y in range(ypix(fixed_bytes), ypix(0)):
                put(x, y, (190, 190, 190))
            for y in range(ypix(fixed_bytes + live), ypix(fixed_bytes)):
                put(x, y, color)
            put(x, ypix(fixed_bytes + high), (0, 0, 0))
    if budget_bytes:
        for x in range(left, left + pw):
            put(x, ypix(budget_bytes), (220, 30, 30))
    for y in range(top, top + ph + 1):
        put(left - 1, y, (0, 0, 0))
    for x in range(left - 1, left + pw):
        put(x, top + ph, (0, 0, 0))
    kb_max = ymax / 1024
    step = next(s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10**4, 10**5)
                if kb_max / s <= 6)
    v = 0
    while v <= kb_max:
        y = ypix(v * 1024)
        for x in range(left - 4, left):
            put(x, y, (0, 0, 0))
        text(1, y - 5, f"{v:>4}")
        v += step
    text(1, top + ph + 1 if top + ph + 11 < height else 0, "")
    text(left + 4, top, "KB")
    _write_png(p, img, width, height)
    return p
