"""Sparse-update scheme search: the most contribution that fits a memory budget.

A candidate (``Genome``) is the paper's search space: ``k``, the number of last layers whose
biases are updated, and for each layer the ratio of its channels whose weights are updated (0:
frozen). Its predicted gain is the sum of its parts' contributions (tte.training.contribution);
its memory is the compiler's own peak SRAM for a training step (tte.compiler.analysis.analyze:
the planner's real plan), cached per candidate. Searches spend a fixed number of memory
evaluations (distinct candidates analysed), so that they compare at equal cost:

* ``greedy``: the parts (a bias depth, a layer's weights at a ratio) in order of contribution,
  each taken while the scheme still fits and gains;
* ``evolutionary``: starts from the greedy path, then a population of fitting candidates, the
  best quarter kept as parents, children by uniform crossover and per-gene mutation; children
  over budget are dropped;
* ``random_search``: candidates drawn from the same distribution as the first population;

both start from the same candidates (the last-k schemes and bias-only);
* ``last_k``: the largest ``last-k:N`` (weights and biases of the last N layers) that fits.

Parts do not add up exactly (two layers trained together gain less, or more, than apart), so
``remeasure`` corrects any search's result: its best-predicted few candidates are fine-tuned
(tte.training.contribution.GainMeter) and the best measured one is returned.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from tte.compiler.analysis import analyze
from tte.errors import TteError
from tte.ir import Graph
from tte.targets.boards import Board, get_board
from tte.training.contribution import Contributions
from tte.training.sparse import LayerRule, UpdateScheme, trainable_layers


@dataclass(frozen=True)
class Genome:
    k: int
    ratios: tuple[float, ...]

    def scheme(self, name: str = "searched") -> UpdateScheme:
        return UpdateScheme(name=name, n_bias=self.k,
                            layers=[LayerRule(conv=i, weight_ratio=r) for i, r in enumerate(self.ratios) if r])

    def describe(self) -> str:
        w = ", ".join(f"{i}:{r:g}" for i, r in enumerate(self.ratios) if r)
        return f"bias last {self.k}; weights {{{w or '-'}}}"


def last_k_genome(n: int, k: int) -> Genome:
    return Genome(k, tuple(0.0 if i < n - k else 1.0 for i in range(n)))


@dataclass
class Candidate:
    genome: Genome
    peak_sram_bytes: int
    predicted_gain: float
    measured_gain: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"scheme": self.genome.scheme().to_dict(), "describe": self.genome.describe(),
                "peak_sram_bytes": self.peak_sram_bytes, "predicted_gain": self.predicted_gain,
                "measured_gain": self.measured_gain}


@dataclass
class SearchResult:
    method: str
    best: Candidate | None
    evaluations: int
    history: list[float] = field(default_factory=list)   # best predicted gain after each evaluation
    top: list[Candidate] = field(default_factory=list)   # the best distinct fitting candidates seen
    measured: int = 0                                    # candidates fine-tuned by ``remeasure``

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "best": self.best.to_json() if self.best else None,
                "evaluations": self.evaluations, "measured": self.measured, "top": [c.to_json() for c in self.top]}


class MemoryModel:
    """Peak SRAM of a training step per candidate, from the compiler's analysis (cached)."""

    def __init__(self, graph: Graph, *, board: str | Board = "stm32f746g-disco", **analyze_kw: Any) -> None:
        self.graph = graph
        self.board = board if isinstance(board, Board) else get_board(board)
        self.kw = analyze_kw
        self.cache: dict[Genome, int] = {}
        self.errors: dict[Genome, str] = {}

    def peak(self, g: Genome) -> int:
        """The peak SRAM in bytes; ``math.inf``-like huge value when the scheme cannot be built."""
        if g not in self.cache:
            try:
                a = analyze(self.graph, board=self.board, scheme=g.scheme(), budget_bytes=None, **self.kw)
                self.cache[g] = int(a.report["peak_sram_bytes"])
            except TteError as e:
                self.errors[g] = str(e)
                self.cache[g] = 1 << 62
        return self.cache[g]


class SchemeSearch:
    """Searches over one model's candidates against one contribution table and budget."""

    def __init__(self, graph: Graph, contributions: Contributions, budget_bytes: int, *,
                 memory: MemoryModel | None = None, board: str | Board = "stm32f746g-disco") -> None:
        self.n = len(trainable_layers(graph)[0])
        if contributions.n_layers != self.n:
            raise TteError(f"contribution table is for {contributions.n_layers} layers, graph '{graph.name}' "
                           f"has {self.n}")
        self.contrib = contributions
        self.budget = budget_bytes
        self.memory = memory or MemoryModel(graph, board=board)
        self.options = [contributions.ratio_options(i) for i in range(self.n)]

    # ---- objective ---------------------------------------------------------------------
    def predicted(self, g: Genome) -> float:
        return self.contrib.bias_gain(g.k) + sum(self.contrib.weight_gain(i, r) for i, r in enumerate(g.ratios))

    def fits(self, g: Genome) -> bool:
        return self.memory.peak(g) <= self.budget

    # ---- sampling ------------------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Genome:
        """k uniform; each layer's weights trained with a per-candidate probability (so that
        sparse and dense candidates are both drawn), at a uniformly chosen ratio."""
        density = rng.uniform(0.0, 1.0) ** 2
        ratios = tuple(float(rng.choice(opts[1:])) if len(opts) > 1 and rng.random() < density else 0.0
                       for opts in self.options)
        return Genome(int(rng.integers(0, self.n + 1)), ratios)

    def mutate(self, g: Genome, rng: np.random.Generator, prob: float) -> Genome:
        """One gene (k or a layer's ratio) always moved to a neighbouring value (a little more or
        less to train), every other redrawn with probability ``prob``."""
        def step(values: list[Any], current: Any) -> Any:
            i = values.index(current)
            j = i + (1 if rng.random() < 0.5 else -1)
            return values[j if 0 <= j < len(values) else 2 * i - j]  # reflected at the ends

        forced = int(rng.integers(0, self.n + 1))  # n: k, else that layer
        ks = list(range(self.n + 1))
        k = step(ks, g.k) if forced == self.n else int(rng.integers(0, self.n + 1)) if rng.random() < prob else g.k
        ratios = []
        for i, (r, opts) in enumerate(zip(g.ratios, self.options)):
            if i == forced and len(opts) > 1:
                r = step(opts, r)
            elif rng.random() < prob:
                r = float(rng.choice(opts))
            ratios.append(r)
        return Genome(k, tuple(ratios))

    @staticmethod
    def crossover(a: Genome, b: Genome, rng: np.random.Generator) -> Genome:
        k = a.k if rng.random() < 0.5 else b.k
        return Genome(k, tuple(x if rng.random() < 0.5 else y for x, y in zip(a.ratios, b.ratios)))

    # ---- searches ------------------------------------------------------------------------
    def initial(self) -> list[Genome]:
        """What every search analyses first: the last-k schemes and bias-only."""
        seeds = [last_k_genome(self.n, k) for k in range(self.n + 1)] + [Genome(self.n, (0.0,) * self.n)]
        return [g for i, g in enumerate(seeds) if g not in seeds[:i]]

    def greedy_path(self, limit: int | None = None) -> list[Genome]:
        """Contribution-ranked greedy: the parts (a bias depth ``k``, or one layer's weights at
        one ratio) in order of their gain, each taken if it raises the predicted gain and the
        scheme still fits. Bias depths compete with the weights instead of being fixed first: a
        deep bias update needs the whole backward pass, which can leave no room for the weight
        updates that gain most. Returns every candidate it analysed, in order (at most
        ``limit``): a search that starts from it counts them as its evaluations."""
        parts = sorted([(self.contrib.bias_gain(k), -1, float(k)) for k in range(1, self.n + 1)]
                       + [(self.contrib.weight_gain(i, r), i, r) for i in range(self.n) for r in self.options[i][1:]],
                       reverse=True)
        current = Genome(0, (0.0,) * self.n)
        tried = [current]
        for gain, layer, value in parts:
            if gain <= 0 or limit is not None and len(tried) >= limit:
                break
            if layer < 0:
                g = Genome(int(value), current.ratios)
            else:
                g = Genome(current.k, tuple(value if j == layer else x for j, x in enumerate(current.ratios)))
            if g in tried or self.predicted(g) <= self.predicted(current):
                continue
            tried.append(g)
            if self.fits(g):
                current = g
        return tried if limit is None else tried[:limit]

    def _run(self, method: str, evaluations: int, propose: Callable[[list[Candidate]], Genome],
             max_tries: int = 200, first: list[Genome] | None = None) -> SearchResult:
        """Analyse the initial candidates (and ``first``), then proposals, until ``evaluations``
        distinct candidates have been analysed."""
        seen: dict[Genome, Candidate | None] = {}
        initial = self.initial() + list(first or [])
        fitting: list[Candidate] = []
        history: list[float] = []
        best: Candidate | None = None
        stale = 0
        while len(seen) < evaluations and stale < max_tries * evaluations:
            g = initial.pop(0) if initial else propose(fitting)
            if g in seen:
                stale += 1
                continue
            peak = self.memory.peak(g)
            cand = Candidate(g, peak, self.predicted(g)) if peak <= self.budget else None
            seen[g] = cand
            if cand is not None:
                fitting.append(cand)
                if best is None or cand.predicted_gain > best.predicted_gain:
                    best = cand
            history.append(best.predicted_gain if best else -math.inf)
        top = sorted(fitting, key=lambda c: -c.predicted_gain)[:10]
        return SearchResult(method, best, len(seen), history, top)

    def random_search(self, evaluations: int, seed: int = 0) -> SearchResult:
        rng = np.random.default_rng(seed)
        return self._run("random", evaluations, lambda _fitting: self.sample(rng))

    def evolutionary(self, evaluations: int, seed: int = 0, *, population: int = 20, parent_ratio: float = 0.25,
                     mutate_prob: float = 0.05, fresh: float = 0.1, greedy_start: bool = True) -> SearchResult:
        """Steady-state evolution: proposals are children (crossover half the time, then
        mutation) of the best ``parent_ratio`` of the fitting candidates so far (of at most
        ``population``); a ``fresh`` share are new samples, for diversity. With
        ``greedy_start`` the greedy path's candidates come first (within ``evaluations``)."""
        rng = np.random.default_rng(seed)
        first = self.greedy_path(limit=evaluations // 2) if greedy_start else []

        def propose(fitting: list[Candidate]) -> Genome:
            # a tight budget lets few samples fit: evolve from the first two already
            if len(fitting) < 2 or rng.random() < fresh:
                return self.sample(rng)
            ranked = sorted(fitting, key=lambda c: -c.predicted_gain)
            parents = ranked[:max(2, int(min(len(fitting), population) * parent_ratio))]
            a, b = (parents[int(i)].genome for i in rng.choice(len(parents), 2, replace=False))
            child = self.crossover(a, b, rng) if rng.random() < 0.5 else a
            return self.mutate(child, rng, mutate_prob)

        return self._run("evolutionary", evaluations, propose, first=first)

    def greedy(self, evaluations: int | None = None) -> SearchResult:
        """The greedy path alone (after the initial candidates every search analyses)."""
        path = self.greedy_path(limit=evaluations)
        distinct = len(set(self.initial() + path))
        return self._run("greedy", distinct, lambda _fitting: path[-1], first=path)

    @staticmethod
    def remeasure(result: SearchResult, measure: Callable[[Genome], float], count: int) -> SearchResult:
        """``result`` with its ``count`` best-predicted candidates' gains measured (``measure``: a
        genome's measured gain, on the predicted gain's scale) and the best measured as its best
        (ties: the better predicted). Unmeasured candidates keep ``measured_gain`` None."""
        if count < 1 or not result.top:
            return result
        top = [replace(c, measured_gain=measure(c.genome) if i < count else None) for i, c in enumerate(result.top)]
        measured = top[:count]
        best = max(measured, key=lambda c: (c.measured_gain, c.predicted_gain))
        return replace(result, best=best, top=top, measured=len(measured))

    def last_k(self) -> SearchResult:
        """The largest last-k that fits (its evaluations: the ones it took to find it)."""
        evaluated = 0
        for k in range(self.n, -1, -1):
            g = last_k_genome(self.n, k)
            evaluated += 1
            if self.fits(g):
                c = Candidate(g, self.memory.peak(g), self.predicted(g))
                return SearchResult("last-k", c, evaluated, [c.predicted_gain], [c])
        return SearchResult("last-k", None, evaluated)


def scheme_toml(scheme: UpdateScheme, header: str) -> str:
    """The .toml scheme file tte reads (tte.training.sparse.resolve_scheme), with a header comment."""
    lines = [f"# {line}" for line in header.splitlines()]
    lines += [f'name = "{scheme.name}"', f"n_bias = {scheme.n_bias}",
              f"classifier = {'true' if scheme.classifier else 'false'}"]
    for rule in scheme.layers:
        lines += ["", "[[layers]]", f"conv = {rule.conv}", f"weight_ratio = {rule.weight_ratio!r}"]
    return "\n".join(lines) + "\n"
