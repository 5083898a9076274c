"""Scheme search: the compiler's own plan bounds every scheme it returns, it finds a planted
optimum that random search at the same number of analyses misses, and `tte scheme search` /
`tte compile --scheme auto --data` write schemes tte reads back and respect the budget."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from models import example_int8
from user_models import cnn, save

import tte
from tte.cli import main
from tte.cli.scheme import load_model_and_data
from tte.compiler.analysis import analyze
from tte.training.contribution import Contributions, ContributionSettings, GainMeter, analyze_contributions
from tte.training.scheme_search import GainModel, Genome, MemoryModel, SchemeSearch, distance, scheme_toml
from tte.training.sparse import resolve_scheme

N_EXAMPLE = 11  # the example CNN's layers before the classifier
RATIOS = (0.125, 0.25, 0.5, 1.0)


def planted(gains: dict[int, dict[float, float]]) -> Contributions:
    """Bias gains all zero; every weight update costs 0.01, except the planted gains."""
    weight_acc = {i: {r: 0.39 for r in (RATIOS if i else (1.0,))} for i in range(N_EXAMPLE)}
    for i, d in gains.items():
        for r, g in d.items():
            weight_acc[i][r] = 0.4 + g
    return Contributions(N_EXAMPLE, [0.4] * (N_EXAMPLE + 1), weight_acc)


@pytest.fixture(scope="module")
def memory() -> MemoryModel:
    return MemoryModel(example_int8())


def composed(gains: list[float], room: float = 0.6) -> float:
    """The diminishing-returns objective by hand: each part removes its share of the error left
    below a ceiling of 100 % (the planted baseline is 40 %, so 0.6 is left)."""
    return room * (1.0 - float(np.prod([1.0 - g / room for g in gains])))


def test_search_finds_the_planted_optimum_random_search_misses(memory: MemoryModel) -> None:
    gains = {10: {1.0: 0.30}, 9: {0.5: 0.05, 1.0: 0.02}, 8: {0.25: 0.04}}
    contrib = planted(gains)
    budget = 32 * 1024
    search = SchemeSearch(memory.graph, contrib, budget, memory=memory)
    # the oracle: every combination of the planted updates (nothing else gains), by the planner
    best = 0.0
    for combo in itertools.product(*[[0.0, *d] for d in gains.values()]):
        ratios = [0.0] * N_EXAMPLE
        for layer, r in zip(gains, combo):
            ratios[layer] = r
        g = Genome(0, tuple(ratios))
        peak = analyze(memory.graph, scheme=g.scheme()).report["peak_sram_bytes"]
        if peak <= budget:
            best = max(best, composed([gains[i][r] for i, r in zip(gains, combo) if r]))
    assert best == pytest.approx(composed([0.30, 0.05]))  # {10: 1, 9: 0.5} fits 32 KB; adding {8: 0.25} does not
    for seed in range(2):
        evo, rnd = search.evolutionary(60, seed=seed), search.random_search(60, seed=seed)
        assert evo.evaluations == rnd.evaluations == 60
        assert evo.best is not None and rnd.best is not None
        assert evo.best.predicted_gain == pytest.approx(best), evo.best.genome.describe()
        assert rnd.best.predicted_gain < best - 0.01
        assert evo.best.peak_sram_bytes <= budget


def test_gain_model_saturates_and_refits_its_ceiling() -> None:
    gains = {10: {1.0: 0.30}, 9: {0.5: 0.05, 1.0: 0.02}, 8: {0.25: 0.04}}
    model = GainModel(planted(gains))
    both = Genome(0, (0.0,) * 9 + (0.5, 1.0))
    assert model.gain(both) == pytest.approx(0.6 * (1 - (1 - 0.05 / 0.6) * (1 - 0.30 / 0.6)))
    assert model.summed(both) == pytest.approx(0.35)
    # whole-scheme gains generated with a ceiling of 85 %: the fit finds it from three schemes
    truth = GainModel(planted(gains), ceiling=0.85)
    schemes = [both, Genome(0, (0.0,) * 8 + (0.25, 0.5, 1.0)), Genome(0, (0.0,) * 8 + (0.25, 0.0, 1.0))]
    fitted = model.calibrated({g: truth.gain(g) for g in schemes})
    step = (1.0 - model.floor) / (GainModel.GRID - 1)
    assert abs(fitted.ceiling - 0.85) <= step
    assert model.calibrated({}) is model
    # a scheme that fails where the model says it gains: its neighbours inherit part of the miss
    alone = Genome(0, (0.0,) * 10 + (1.0,))
    measured = {alone: model.prior(alone), both: model.prior(both) - 0.2}
    fitted = model.calibrated(measured)
    near, far = Genome(0, (0.0,) * 9 + (1.0, 1.0)), Genome(0, (0.0,) * 8 + (0.25, 0.0, 0.0))
    assert distance(near, both) == 1 and distance(far, both) == 3
    drop_near, drop_far = (fitted.prior(g) - fitted.gain(g) for g in (near, far))
    assert drop_near > 0.02 and drop_near > 3 * abs(drop_far)
    assert abs(fitted.gain(both) - measured[both]) < abs(fitted.prior(both) - measured[both])
    # a ceiling below what one part reached alone is not allowed: gains stay finite
    low = GainModel(planted(gains), ceiling=0.5)
    assert low.ceiling == pytest.approx(0.71) and np.isfinite(low.gain(both))


def test_measurements_go_to_distinct_candidates_and_the_best_measured_wins(memory: MemoryModel) -> None:
    gains = {10: {1.0: 0.30}, 9: {0.5: 0.05, 1.0: 0.02}, 8: {0.25: 0.04}}
    search = SchemeSearch(memory.graph, planted(gains), 42 * 1024, memory=memory)
    result = search.evolutionary(60, seed=0)
    assert result.measured == 0 and result.ceiling is None
    ranked = sorted(result.pool, key=lambda c: -c.predicted_gain)
    assert result.best is not None and result.best.genome == ranked[0].genome
    # the parts do not add up: the best-predicted candidate measures 0.2 below its prediction
    def truth(g: Genome) -> float:
        return search.predicted(g) - (0.2 if g == ranked[0].genome else 0.0)

    for steered in (False, True):
        calls: list[Genome] = []

        def measure(g: Genome, calls: list[Genome] = calls) -> float:
            calls.append(g)
            return truth(g)

        fixed = (search.evolutionary(60, seed=0, measure=measure, count=3) if steered
                 else search.remeasure(result, measure, 3))
        assert len(calls) == 3 and all(distance(a, b) >= 2 for a, b in itertools.combinations(calls, 2))
        if not steered:  # measured at the end: the first is the best predicted
            assert calls[0] == ranked[0].genome
        assert fixed.measured == 3 and fixed.evaluations == 60 and fixed.ceiling is not None
        assert fixed.best is not None and fixed.best.genome != ranked[0].genome
        assert fixed.best.measured_gain == max(truth(g) for g in calls)
        assert {c.genome for c in fixed.top if c.measured_gain is not None} == set(calls)
        assert fixed.best.peak_sram_bytes <= 42 * 1024
    assert search.remeasure(result, truth, 0) is result


def test_greedy_adds_parts_by_contribution_while_they_fit(memory: MemoryModel) -> None:
    gains = {10: {1.0: 0.30}, 9: {0.5: 0.05, 1.0: 0.02}, 8: {0.25: 0.04}}
    search = SchemeSearch(memory.graph, planted(gains), 42 * 1024, memory=memory)
    path = search.greedy_path()
    # the planner's verdicts, independently: {10: 1} then {9: 0.5} fit; adding {8: 0.25} does not
    wanted = [(0.0,) * 10 + (1.0,), (0.0,) * 9 + (0.5, 1.0), (0.0,) * 8 + (0.25, 0.5, 1.0)]
    assert [g.ratios for g in path[1:]] == wanted
    fits = [analyze(memory.graph, scheme=Genome(0, r).scheme()).report["peak_sram_bytes"] <= 42 * 1024
            for r in wanted]
    assert fits == [True, True, False]
    res = search.greedy()
    assert res.best is not None and res.best.genome.ratios == wanted[1]
    assert res.evaluations == len(set(search.initial() + path))
    assert len(search.greedy_path(limit=2)) == 2

def test_searched_scheme_compiles_within_its_budget_and_reads_back(memory: MemoryModel, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    contrib = planted({i: {r: float(rng.uniform(0, 0.1)) for r in (RATIOS if i else (1.0,))}
                       for i in range(N_EXAMPLE)})
    budget = 48 * 1024
    result = SchemeSearch(memory.graph, contrib, budget, memory=memory).evolutionary(40, seed=0)
    assert result.best is not None
    scheme = result.best.genome.scheme("searched")
    path = tmp_path / "searched.toml"
    path.write_text(scheme_toml(scheme, "test"))
    read = resolve_scheme(str(path))
    assert read.to_plan(memory.graph) == scheme.to_plan(memory.graph)
    report = tte.compile(memory.graph, scheme=str(path), budget_kb=budget / 1024, out_dir=str(tmp_path / "c"))
    assert report["fits"] and report["peak_sram_bytes"] == result.best.peak_sram_bytes <= budget
    # the largest last-k that fits is the baseline; the next one up does not fit
    lk = SchemeSearch(memory.graph, contrib, budget, memory=memory).last_k().best
    assert lk is not None and lk.peak_sram_bytes <= budget
    k = lk.genome.k
    if k < N_EXAMPLE:
        assert analyze(memory.graph, scheme=f"last-k:{k + 1}").report["peak_sram_bytes"] > budget


@pytest.fixture(scope="module")
def user(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A one-conv model and its data; the contribution cache is shared by the CLI tests."""
    d = tmp_path_factory.mktemp("user")
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (80, 1, 8, 8)).astype(np.float32)
    y = (x[:, 0, :4].mean(axis=(1, 2)) * 10).astype(np.int64) % 5
    np.savez(d / "d.npz", x=x, y=y)
    return {"model": Path(save(cnn(), str(d / "m.onnx"))), "data": d / "d.npz", "cache": d / "cache"}


def test_gain_meter_repeats_the_analysis_own_runs(user: dict[str, Path], tmp_path: Path) -> None:
    """Measured and predicted gains are on one scale: measuring the analysis's bias-only scheme
    gives back its contribution, over the same averaged training orders; measurements are cached."""
    g, x, y = load_model_and_data(str(user["model"]), str(user["data"]))
    st = ContributionSettings(steps=12, val_samples=20, lr=0.05, repeats=2, engine="ref", ratios=(1.0,))
    contrib = analyze_contributions(g, x, y, seed=3, settings=st, cache=tmp_path, progress=False)
    assert contrib.runs == len(contrib.bias_acc) + sum(len(d) for d in contrib.weight_acc.values())
    assert contrib.n_layers == 1  # one conv: last-k:1 is its weight run at ratio 1
    meter = GainMeter(g, x, y, contrib, seed=3, settings=st, cache=tmp_path)
    bias_only = resolve_scheme("bias-only")
    assert meter.gain(bias_only) == pytest.approx(contrib.baseline - contrib.bias_acc[0])
    assert meter.accuracy(resolve_scheme("last-k:1")) == pytest.approx(contrib.weight_acc[0][1.0])
    assert meter.runs == 2
    again = GainMeter(g, x, y, contrib, seed=3, settings=st, cache=tmp_path)
    assert again.gain(bias_only) == meter.gain(bias_only) and again.runs == 0


def cli(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.output


def test_scheme_search_cli_writes_a_scheme_within_budget(user: dict[str, Path], tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTE_CACHE_DIR", str(user["cache"]))
    out = tmp_path / "s.toml"
    small = ["--evaluations", "10", "--measure", "1"]
    code, text = cli("scheme", "search", str(user["model"]), "--data", str(user["data"]), "--budget-kb", "64",
                     "-o", str(out), "--json", *small)
    assert code == 0, text
    table = json.loads(text)
    assert table["candidates"] and all(c["peak_sram_bytes"] <= 64 * 1024 for c in table["candidates"])
    assert table["candidates"][0]["measured_gain"] is not None
    assert list((user["cache"] / "contributions").glob("*.json"))  # cached per model, data, seed
    # tte reads the file: compiling with it gives the peak the search reported
    code, text = cli("compile", str(user["model"]), "--calibration", str(user["data"]), "--scheme", str(out),
                     "--budget-kb", "64", "-o", str(tmp_path / "c"), "--json")
    assert code == 0, text
    assert json.loads(text)["peak_sram_bytes"] == table["best"]["peak_sram_bytes"]
    # its own file is replaced only with --force; a file it did not write never
    code, text = cli("scheme", "search", str(user["model"]), "--data", str(user["data"]), "--budget-kb", "64",
                     "-o", str(out), *small)
    assert code == 2 and "--force" in text
    foreign = tmp_path / "mine.toml"
    foreign.write_text('name = "mine"\n')
    code, text = cli("scheme", "search", str(user["model"]), "--data", str(user["data"]), "--budget-kb", "64",
                     "-o", str(foreign), "--force", *small)
    assert code == 2 and "did not write" in text and foreign.read_text() == 'name = "mine"\n'
    # a budget nothing fits: one line, nothing written
    code, text = cli("scheme", "search", str(user["model"]), "--data", str(user["data"]), "--budget-kb", "1",
                     "-o", str(tmp_path / "none.toml"), *small)
    assert code == 2 and "no update scheme fits" in text and not (tmp_path / "none.toml").exists()


def test_compile_auto_with_data_searches_within_budget(user: dict[str, Path], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTE_CACHE_DIR", str(user["cache"]))
    code, text = cli("compile", str(user["model"]), "--scheme", "auto", "--data", str(user["data"]),
                     "--budget-kb", "64", "-o", str(tmp_path / "c"), "--json")
    assert code == 0, text
    report = json.loads(text)
    assert report["peak_sram_bytes"] <= 64 * 1024
    assert report["scheme_search"]["best"]["peak_sram_bytes"] == report["peak_sram_bytes"]
    code, text = cli("compile", str(user["model"]), "--scheme", "full", "--data", str(user["data"]),
                     "-o", str(tmp_path / "d"))
    assert code == 2 and "--data" in text and not (tmp_path / "d").exists()
