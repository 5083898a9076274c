"""Sparse-update scheme search under a memory budget: evolutionary vs random search vs last-k.

Task: the example CNN, pretrained on Fashion-MNIST, transferred to MNIST digits (the 5,000-image
subset: 4,000 train / 1,000 test). Per seed:

1. contribution analysis on the training images (200 held out for scoring; tte.training.contribution,
   engine 'c', batch 1, cached under build/cache), done once (``--contribution-seed``) and shared by
   the seeds: on this machine's share of two cores one analysis takes most of the run; the seeds
   vary the searches and the final training;
2. at each budget, three searches over the same candidates, memory from the compiler's plan
   (peak SRAM, tte.compiler.analysis): evolutionary and random search with the same number of
   analysed candidates, and the largest last-k that fits; bias-only where it fits;
3. each chosen scheme is trained with one protocol (engine 'c': the generated C, batch 1, lr
   0.02, ``--final-steps`` samples of the training images in a seed-fixed order) and scored on
   the 1,000 test images.

Reported: test accuracy and peak SRAM per (budget, method), mean over seeds; paired differences
(same seed, same budget) with 95% t-intervals; the predicted gain (the search objective) of
evolutionary vs random search; per last-k scheme, the least memory at which the search's mean
accuracy is as high.

Usage: python bench/scheme_search.py [--seeds 3] [--budgets-kb 30,36,40,...,64] [--evaluations 120] [--jobs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine_info  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "build" / "cache"
METHODS = ("evolutionary", "random", "last-k", "bias-only")
FINAL_LR = 0.02
T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def setup() -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    import tte
    from tte.training.data import fashion_mnist, mnist

    xf, _ = fashion_mnist("train")
    q = tte.quantize(tte.load(ROOT / "examples" / "fmnist_cnn.onnx"), calibration=xf[:500])
    x, y = mnist("train")
    xt, yt = mnist("test")
    return q, x, y, xt, yt


def final_accuracy(q: Any, scheme: Any, x: np.ndarray, y: np.ndarray, xt: np.ndarray, yt: np.ndarray, seed: int,
                   steps: int) -> float:
    from tte.training.contribution import fine_tune

    return fine_tune(q, scheme, x, y, xt, yt, steps=steps, batch_size=1, lr=FINAL_LR, seed=seed + 1000, engine="c")


def contributions(seed: int, steps: int, progress: bool = True, jobs: int = 1) -> Any:
    os.environ["TTE_CACHE_DIR"] = str(CACHE)
    from tte.training.contribution import ContributionSettings, analyze_contributions

    q, x, y, _, _ = setup()
    return analyze_contributions(q, x, y, seed=seed, settings=ContributionSettings(steps=steps, val_samples=200),
                                 progress=progress, jobs=jobs)


def run_seed(seed: int, budgets_kb: list[int], evaluations: int, final_steps: int, contrib_steps: int,
             contrib_seed: int) -> dict[str, Any]:
    from tte.training.scheme_search import Genome, MemoryModel, SchemeSearch

    q, x, y, xt, yt = setup()
    contrib = contributions(contrib_seed, contrib_steps, progress=False)  # cached by the parent
    memory = MemoryModel(q)
    trained: dict[Genome, float] = {}
    rows = []
    for kb in budgets_kb:
        search = SchemeSearch(q, contrib, kb * 1024, memory=memory)
        t1 = time.perf_counter()
        found = {"evolutionary": search.evolutionary(evaluations, seed=seed),
                 "random": search.random_search(evaluations, seed=seed), "last-k": search.last_k()}
        t_search = time.perf_counter() - t1
        bias_only = Genome(search.n, (0.0,) * search.n)
        for method in METHODS:
            if method == "bias-only":
                cand = None
                if search.fits(bias_only):
                    cand = {"genome": bias_only, "peak": memory.peak(bias_only), "pred": search.predicted(bias_only)}
                evals = 1
                history: list[float] = []
            else:
                r = found[method]
                cand = None if r.best is None else {"genome": r.best.genome, "peak": r.best.peak_sram_bytes,
                                                    "pred": r.best.predicted_gain}
                evals, history = r.evaluations, r.history
            row: dict[str, Any] = {"seed": seed, "budget_kb": kb, "method": method, "evaluations": evals,
                                   "search_seconds": t_search if method in ("evolutionary", "random") else None}
            if cand is None:
                rows.append({**row, "fits": False})
                continue
            g = cand["genome"]
            if g not in trained:
                trained[g] = final_accuracy(q, g.scheme(), x, y, xt, yt, seed, final_steps)
            rows.append({**row, "fits": True, "scheme": g.describe(), "k": g.k, "ratios": list(g.ratios),
                         "peak_sram_bytes": cand["peak"], "predicted_gain": cand["pred"],
                         "test_accuracy": trained[g],
                         "best_predicted_at": {str(n): history[n - 1] for n in (25, 50, 100, evaluations)
                                               if 0 < n <= len(history)}})
            print(f"seed {seed} {kb:>3} KB {method:<13} peak {cand['peak']:>7,} B predicted "
                  f"{cand['pred'] * 100:+6.1f} test {trained[g] * 100:6.2f} %  {g.describe()}", flush=True)
    return {"seed": seed, "memory_analyses": len(memory.cache), "rows": rows}


def ci95(diffs: list[float]) -> dict[str, float]:
    d = np.asarray(diffs, float)
    n = len(d)
    half = T_975.get(n - 1, 1.96) * d.std(ddof=1) / np.sqrt(n) if n > 1 else float("nan")
    return {"mean": float(d.mean()), "ci95_low": float(d.mean() - half), "ci95_high": float(d.mean() + half), "n": n}


def summarize(per_seed: list[dict[str, Any]], budgets_kb: list[int]) -> dict[str, Any]:
    rows = [r for s in per_seed for r in s["rows"]]
    table, paired = [], []
    for kb in budgets_kb:
        by = {m: {r["seed"]: r for r in rows if r["budget_kb"] == kb and r["method"] == m and r["fits"]}
              for m in METHODS}
        for m in METHODS:
            if by[m]:
                accs = [r["test_accuracy"] for r in by[m].values()]
                table.append({"budget_kb": kb, "method": m, "seeds": len(accs),
                              "test_accuracy_mean": float(np.mean(accs)), "test_accuracy_std": float(np.std(accs)),
                              "peak_sram_bytes_mean": float(np.mean([r["peak_sram_bytes"] for r in by[m].values()])),
                              "predicted_gain_mean": float(np.mean([r["predicted_gain"] for r in by[m].values()]))})
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
    return {"table": table, "paired": paired, "search_matches_last_k": matches}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--budgets-kb", default="30,36,40,44,48,52,58,64")
    ap.add_argument("--evaluations", type=int, default=120)
    ap.add_argument("--final-steps", type=int, default=3000)
    ap.add_argument("--contribution-steps", type=int, default=2000)
    ap.add_argument("--contribution-seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one seed, two budgets, few steps: a smoke run")
    args = ap.parse_args()
    budgets = [int(b) for b in args.budgets_kb.split(",")]
    seeds = list(range(args.seeds))
    if args.quick:
        budgets, seeds, args.evaluations, args.final_steps, args.contribution_steps = budgets[:2], [0], 30, 100, 20
    t0 = time.perf_counter()
    contrib = contributions(args.contribution_seed, args.contribution_steps, jobs=args.jobs)
    t_contrib = time.perf_counter() - t0
    with ProcessPoolExecutor(max_workers=max(1, min(args.jobs, len(seeds)))) as pool:
        per_seed = list(pool.map(run_seed, seeds, [budgets] * len(seeds), [args.evaluations] * len(seeds),
                                 [args.final_steps] * len(seeds), [args.contribution_steps] * len(seeds),
                                 [args.contribution_seed] * len(seeds)))
    summary = summarize(per_seed, budgets)
    print(f"\nFashion-MNIST example -> MNIST digits, {len(seeds)} seeds, {args.evaluations} analysed candidates "
          f"per search, final training {args.final_steps} samples (batch 1, lr {FINAL_LR})")
    print(f"{'budget':>7} {'method':<13} {'peak SRAM':>11} {'predicted':>9} {'test acc %':>14}")
    for t in summary["table"]:
        print(f"{t['budget_kb']:>4} KB {t['method']:<13} {t['peak_sram_bytes_mean']:>9,.0f} B "
              f"{t['predicted_gain_mean'] * 100:>+9.1f} {t['test_accuracy_mean'] * 100:>7.2f} ± "
              f"{t['test_accuracy_std'] * 100:4.2f}")
    print("\npaired differences (evolutionary - other), mean [95% CI] over seeds, points:")
    for p in summary["paired"]:
        a, g = p["test_accuracy_diff"], p["predicted_gain_diff"]
        print(f"{p['budget_kb']:>4} KB vs {p['b']:<10} test acc {a['mean'] * 100:+6.2f} "
              f"[{a['ci95_low'] * 100:+6.2f}, {a['ci95_high'] * 100:+6.2f}]   predicted "
              f"{g['mean'] * 100:+6.2f} [{g['ci95_low'] * 100:+6.2f}, {g['ci95_high'] * 100:+6.2f}]")
    print("\nlast-k vs the least memory at which the search's mean test accuracy is as high:")
    for m in summary["search_matches_last_k"]:
        head = (f"  last-k at {m['last_k_budget_kb']:>3} KB: {m['last_k_accuracy'] * 100:6.2f} % at "
                f"{m['last_k_peak_sram_bytes']:>9,.0f} B; ")
        if m["searched_peak_sram_bytes"] is None:
            print(head + "no searched scheme reaches it")
        else:
            print(head + f"searched {m['searched_accuracy'] * 100:6.2f} % at {m['searched_peak_sram_bytes']:>9,.0f} B "
                  f"(last-k / searched memory {m['memory_ratio_last_k_over_searched']:.2f})")
    out = {"benchmark": "scheme_search", "task": "fashion-mnist example -> mnist (5k subset)",
           "budgets_kb": budgets, "seeds": seeds, "evaluations": args.evaluations, "final_steps": args.final_steps,
           "final_lr": FINAL_LR, "final_engine": "c", "memory": "tte.compiler.analysis peak_sram_bytes",
           "contribution_seed": args.contribution_seed, "contributions": contrib.to_json(),
           "contribution_seconds": t_contrib,
           **summary, "per_seed": per_seed, "machine": machine_info(), "seconds": time.perf_counter() - t0}
    if not args.quick:
        path = ROOT / "bench" / "results" / "scheme_search.json"
        path.write_text(json.dumps(out, indent=2) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
