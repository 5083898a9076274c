"""Sparse-update scheme search: the most contribution that fits a memory budget.

A candidate (``Genome``) is the paper's search space: ``k``, the number of last layers whose
biases are updated, and for each layer the ratio of its channels whose weights are updated (0:
frozen). Its predicted gain comes from its parts' contributions (tte.training.contribution),
composed with diminishing returns (``GainModel``: each part removes its share of the error left
below a ceiling accuracy; the paper's plain sum overestimates big schemes 2-3x) and corrected by
the whole schemes measured so far; its memory is the compiler's own peak SRAM for a training step
(tte.compiler.analysis.analyze: the planner's real plan), cached per candidate. Searches spend
a fixed number of memory evaluations (distinct candidates analysed) and of measurements (whole
schemes fine-tuned), so that they compare at equal cost:

* ``greedy``: the parts (a bias depth, a layer's weights at a ratio) in order of contribution,
  each taken while the scheme still fits and gains;
* ``evolutionary``: starts from the greedy path, then a population of fitting candidates, the
  best quarter kept as parents, children by uniform crossover, per-gene mutation and swaps of
  two layers' genes; children over budget are dropped. Given a ``measure`` function it spends
  its measurements along the way: after each share of the evaluations it measures the best
  candidate not yet measured, refits the model to what it measured, and evolves on under the
  refitted model (away from the neighbours of a scheme that measured badly);
* ``random_search``: candidates drawn from the same distribution as the first population;

both start from the same candidates (the last-k schemes and bias-only);
* ``last_k``: the largest ``last-k:N`` (weights and biases of the last N layers) that fits.

Parts do not add up exactly (two layers trained together gain less, or more, than apart), so
``remeasure`` corrects any search's result with the same measurements: one at a time, the best
predicted candidate that differs from every one measured so far in at least two genes is
fine-tuned (tte.training.contribution.GainMeter), the model refitted, the rest re-ranked; the
best measured one is returned.
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


class GainModel:
    """A scheme's predicted gain over classifier-only from its parts, with diminishing returns,
    corrected by the whole schemes measured so far.

    Each part (the bias depth ``k``; a layer's weights at a ratio) was measured alone over its
    own baseline accuracy ``b`` (classifier-only for biases, bias-only for weights) and gained
    ``g``: it is taken to remove the share ``g / (ceiling - b)`` of the error left below the
    ceiling, and shares compose multiplicatively (``prior``). Small parts still nearly add; big
    ones saturate at the ceiling instead of summing past 100 %. ``ceiling`` 1 is the prior.

    ``calibrated`` fits the model to measured whole-scheme gains: the ceiling by least squares
    (a grid from just above the best analysed accuracy to 1), then what the ceiling leaves
    unexplained (two layers that only fail together) is spread to similar schemes, as the
    posterior mean of a Gaussian process over the residuals with covariance
    ``exp(-distance / LENGTH)`` and noise ``NOISE``: a scheme one gene away from a measured one
    inherits about a third of its residual, a distant one nothing."""

    GRID = 80
    LENGTH = 1.0
    NOISE = 0.25

    def __init__(self, contributions: Contributions, ceiling: float = 1.0,
                 measured: dict[Genome, float] | None = None) -> None:
        self.contrib = contributions
        self.floor = max([*contributions.bias_acc,
                          *(a for d in contributions.weight_acc.values() for a in d.values())]) + 0.01
        self.ceiling = max(ceiling, self.floor)
        self.measured = dict(measured or {})
        self._alpha = np.zeros(0)
        if self.measured:
            gs = list(self.measured)
            kernel = np.array([[self._k(a, b) for b in gs] for a in gs]) + self.NOISE * np.eye(len(gs))
            residual = np.array([self.measured[g] - self.prior(g) for g in gs])
            self._alpha = np.linalg.solve(kernel, residual)

    def _k(self, a: Genome, b: Genome) -> float:
        return math.exp(-distance(a, b) / self.LENGTH)

    def _keep(self, gain: float, base: float) -> float:
        return 1.0 - min(gain / (self.ceiling - base), 1.0)

    def prior(self, g: Genome) -> float:
        """The parts composed, before any measured scheme corrects them."""
        c = self.contrib
        keep = self._keep(c.bias_gain(g.k), c.bias_acc[0])
        for i, r in enumerate(g.ratios):
            if r:
                keep *= self._keep(c.weight_gain(i, r), c.baseline)
        return (self.ceiling - c.bias_acc[0]) * (1.0 - keep)

    def gain(self, g: Genome) -> float:
        return self.prior(g) + sum(a * self._k(g, m) for a, m in zip(self._alpha, self.measured))

    def summed(self, g: Genome) -> float:
        """The paper's objective: the plain sum of the parts' gains."""
        return self.contrib.bias_gain(g.k) + sum(self.contrib.weight_gain(i, r) for i, r in enumerate(g.ratios))

    def calibrated(self, measured: dict[Genome, float]) -> GainModel:
        """The model fitted to the measured gains (self when nothing is measured)."""
        if not measured:
            return self
        grid = np.linspace(self.floor, max(1.0, self.floor), self.GRID)
        errors = [sum((GainModel(self.contrib, float(a)).prior(g) - v) ** 2 for g, v in measured.items())
                  for a in grid]
        return GainModel(self.contrib, float(grid[int(np.argmin(errors))]), measured)


def distance(a: Genome, b: Genome) -> int:
    """How many genes (the bias depth, each layer's ratio) two candidates differ in."""
    return int(a.k != b.k) + sum(x != y for x, y in zip(a.ratios, b.ratios))


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
    measured: int = 0                                    # candidates fine-tuned (whole schemes)
    pool: list[Candidate] = field(default_factory=list)  # every fitting candidate analysed
    ceiling: float | None = None                         # the model's ceiling after calibration

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "best": self.best.to_json() if self.best else None,
                "evaluations": self.evaluations, "measured": self.measured, "ceiling": self.ceiling,
                "top": [c.to_json() for c in self.top]}


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


Measure = Callable[[Genome], float]


class SchemeSearch:
    """Searches over one model's candidates against one contribution table and budget."""

    def __init__(self, graph: Graph, contributions: Contributions, budget_bytes: int, *,
                 memory: MemoryModel | None = None, board: str | Board = "stm32f746g-disco",
                 model: GainModel | None = None) -> None:
        self.n = len(trainable_layers(graph)[0])
        if contributions.n_layers != self.n:
            raise TteError(f"contribution table is for {contributions.n_layers} layers, graph '{graph.name}' "
                           f"has {self.n}")
        self.contrib = contributions
        self.model = model or GainModel(contributions)
        self.budget = budget_bytes
        self.memory = memory or MemoryModel(graph, board=board)
        self.options = [contributions.ratio_options(i) for i in range(self.n)]

    # ---- objective ---------------------------------------------------------------------
    def predicted(self, g: Genome) -> float:
        """The prior model's predicted gain (before any measurement)."""
        return self.model.gain(g)

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

    def mutate(self, g: Genome, rng: np.random.Generator, prob: float, swap: float = 0.25) -> Genome:
        """One move always made: with probability ``swap`` two layers exchange their ratios (the
        same channels' worth of training moved elsewhere, often at a different peak), else one
        gene (k or a layer's ratio) moved to a neighbouring value (a little more or less to
        train); every other gene redrawn with probability ``prob``."""
        def step(values: list[Any], current: Any) -> Any:
            i = values.index(current)
            j = i + (1 if rng.random() < 0.5 else -1)
            return values[j if 0 <= j < len(values) else 2 * i - j]  # reflected at the ends

        ratios = list(g.ratios)
        if self.n >= 2 and rng.random() < swap:
            a, b = (int(v) for v in rng.choice(self.n, 2, replace=False))
            if ratios[a] != ratios[b] and ratios[a] in self.options[b] and ratios[b] in self.options[a]:
                ratios[a], ratios[b] = ratios[b], ratios[a]
                return Genome(g.k, tuple(ratios))
        forced = int(rng.integers(0, self.n + 1))  # n: k, else that layer
        ks = list(range(self.n + 1))
        k = step(ks, g.k) if forced == self.n else int(rng.integers(0, self.n + 1)) if rng.random() < prob else g.k
        for i, opts in enumerate(self.options):
            if i == forced and len(opts) > 1:
                ratios[i] = step(opts, ratios[i])
            elif rng.random() < prob:
                ratios[i] = float(rng.choice(opts))
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

    @staticmethod
    def next_to_measure(pool: list[Candidate], measured: dict[Genome, float],
                        min_distance: int = 2) -> Candidate | None:
        """The best predicted candidate not measured yet that differs from every measured one
        in at least ``min_distance`` genes (a near-copy of a measured scheme teaches little),
        else the best predicted one not measured; None when all are."""
        ranked = [c for c in sorted(pool, key=lambda c: (-c.predicted_gain, c.peak_sram_bytes))
                  if c.genome not in measured]
        far = [c for c in ranked if all(distance(c.genome, m) >= min_distance for m in measured)]
        return (far or ranked or [None])[0]

    def _measure_one(self, pool: list[Candidate], measured: dict[Genome, float], model: GainModel,
                     measure: Measure) -> GainModel | None:
        """Measure the next candidate, refit the model to all measured, re-predict the pool."""
        c = self.next_to_measure(pool, measured)
        if c is None:
            return None
        measured[c.genome] = measure(c.genome)
        model = model.calibrated(measured)
        for p in pool:
            p.predicted_gain = model.gain(p.genome)
        return model

    def _measure_until(self, pool: list[Candidate], measured: dict[Genome, float], model: GainModel,
                       measure: Measure, count: int) -> GainModel:
        """Measure (``_measure_one``) until ``count`` are measured or none is left; the refitted model."""
        while len(measured) < count:
            refit = self._measure_one(pool, measured, model, measure)
            if refit is None:
                break
            model = refit
        return model

    def _result(self, method: str, evaluations: int, history: list[float], pool: list[Candidate],
                measured: dict[Genome, float], model: GainModel) -> SearchResult:
        """The best measured candidate (ties: the better predicted), else the best predicted."""
        ranked = sorted(pool, key=lambda c: -c.predicted_gain)
        top = ranked[:10] + [c for c in ranked[10:] if c.genome in measured]
        top = [replace(c, measured_gain=measured.get(c.genome)) for c in top]
        scored = [c for c in top if c.measured_gain is not None]
        best = (max(scored, key=lambda c: (c.measured_gain, c.predicted_gain)) if scored
                else top[0] if top else None)
        return SearchResult(method, best, evaluations, history, top, len(measured), pool,
                            model.ceiling if measured else None)

    def _run(self, method: str, evaluations: int, propose: Callable[[list[Candidate]], Genome],
             max_tries: int = 200, first: list[Genome] | None = None, measure: Measure | None = None,
             count: int = 0, steer: bool = False) -> SearchResult:
        """Analyse the initial candidates (and ``first``), then proposals, until ``evaluations``
        distinct candidates have been analysed; then ``count`` measurements (``measure``). With
        ``steer`` the measurements are spread over the search instead (one after each equal
        share of the evaluations), so that the later proposals follow the refitted model."""
        seen: set[Genome] = set()
        initial = self.initial() + list(first or [])
        fitting: list[Candidate] = []
        history: list[float] = []
        measured: dict[Genome, float] = {}
        model = self.model
        count = count if measure is not None else 0
        checkpoints = [evaluations * (j + 1) // count for j in range(count)] if steer and count else []
        stale = 0
        while len(seen) < evaluations and stale < max_tries * evaluations:
            g = initial.pop(0) if initial else propose(fitting)
            if g in seen:
                stale += 1
                continue
            seen.add(g)
            peak = self.memory.peak(g)
            if peak <= self.budget:
                fitting.append(Candidate(g, peak, model.gain(g)))
            history.append(max((c.predicted_gain for c in fitting), default=-math.inf))
            while checkpoints and len(seen) >= checkpoints[0]:
                checkpoints.pop(0)
                model = self._measure_one(fitting, measured, model, measure) or model  # type: ignore[arg-type]
        if measure is not None:
            model = self._measure_until(fitting, measured, model, measure, count)
        return self._result(method, len(seen), history, fitting, measured, model)

    def random_search(self, evaluations: int, seed: int = 0, *, measure: Measure | None = None,
                      count: int = 0) -> SearchResult:
        """Random candidates; with ``measure``, ``count`` of them measured at the end (the same
        choice of what to measure as every search)."""
        rng = np.random.default_rng(seed)
        return self._run("random", evaluations, lambda _fitting: self.sample(rng), measure=measure, count=count)

    def evolutionary(self, evaluations: int, seed: int = 0, *, population: int = 20, parent_ratio: float = 0.25,
                     mutate_prob: float = 0.05, fresh: float = 0.1, greedy_start: bool = True,
                     measure: Measure | None = None, count: int = 0) -> SearchResult:
        """Steady-state evolution: proposals are children (crossover half the time, then
        mutation) of the best ``parent_ratio`` of the fitting candidates so far (of at most
        ``population``); a ``fresh`` share are new samples, for diversity. With
        ``greedy_start`` the greedy path's candidates come first (within ``evaluations``). With
        ``measure``, its ``count`` measurements steer it (see ``_run``)."""
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

        return self._run("evolutionary", evaluations, propose, first=first, measure=measure, count=count, steer=True)

    def greedy(self, evaluations: int | None = None) -> SearchResult:
        """The greedy path alone (after the initial candidates every search analyses)."""
        path = self.greedy_path(limit=evaluations)
        distinct = len(set(self.initial() + path))
        return self._run("greedy", distinct, lambda _fitting: path[-1], first=path)

    def remeasure(self, result: SearchResult, measure: Measure, count: int) -> SearchResult:
        """``result`` corrected by ``count`` measurements (``measure``: a genome's measured gain,
        on the predicted gain's scale) of its analysed candidates, chosen one at a time
        (``next_to_measure``, the model refitted after each); the best measured becomes its
        best. Unmeasured candidates keep ``measured_gain`` None."""
        if count < 1 or not result.pool:
            return result
        pool = [replace(c, predicted_gain=self.model.gain(c.genome), measured_gain=None) for c in result.pool]
        measured: dict[Genome, float] = {}
        model = self._measure_until(pool, measured, self.model, measure, count)
        return self._result(result.method, result.evaluations, result.history, pool, measured, model)

    def last_k(self) -> SearchResult:
        """The largest last-k that fits (its evaluations: the ones it took to find it)."""
        evaluated = 0
        for k in range(self.n, -1, -1):
            g = last_k_genome(self.n, k)
            evaluated += 1
            if self.fits(g):
                c = Candidate(g, self.memory.peak(g), self.predicted(g))
                return SearchResult("last-k", c, evaluated, [c.predicted_gain], [c], pool=[c])
        return SearchResult("last-k", None, evaluated)


def scheme_toml(scheme: UpdateScheme, header: str) -> str:
    """The .toml scheme file tte reads (tte.training.sparse.resolve_scheme), with a header comment."""
    lines = [f"# {line}" for line in header.splitlines()]
    lines += [f'name = "{scheme.name}"', f"n_bias = {scheme.n_bias}",
              f"classifier = {'true' if scheme.classifier else 'false'}"]
    for rule in scheme.layers:
        lines += ["", "[[layers]]", f"conv = {rule.conv}", f"weight_ratio = {rule.weight_ratio!r}"]
    return "\n".join(lines) + "\n"
