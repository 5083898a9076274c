"""Federated meta-learning on tte devices: k-shot adaptation on held-out devices.

For each task, every algorithm meta-trains on the training devices (int8 + QAS training
through tte.Trainer, the firmware's code path, batch size 1), then each held-out device
adapts from the result on its k-shot support set and is scored on its query set. The
baseline adapts the same way from the initial (not meta-learned) weights.

One adaptation protocol and budget for all, baseline included: the head alone for
head_epochs passes over the support set, then every layer for adapt_epochs passes (the
run records each device's adaptation steps and fails if two methods differ). Meta-training
budgets are equal in device participations and on-device steps: FedAvg, Reptile and
TinyMetaFed take 5 devices per round for R rounds, TinyReptile one device per round for 5R
rounds, and every participation is inner_steps samples (TinyMetaFed's head refit included).

  sine             20 devices, y = A sin(x + phi); 10-shot, MSE on 100 points (lower is better)
  fewshot-digits   20 devices, 3-way 5-shot on digits 0-3; validation: tasks from digits 4-6;
                   test: 60 tasks per seed from digits 7-9 (classes disjoint three ways)
  har              7 people of the smartwatch IMU study; test: 3 other people drawn by the seed
                   from the 4 that are never used for tuning
  fsdd-speakers    4 speakers of the Free Spoken Digit Dataset; validation: jackson; test: one of
                   the other 5 per seed; 2 recordings per digit to adapt on; also a pretrained
                   no-meta-learning baseline ("pretrain", PRETRAIN_GRID)

Columns: value (mean +- std over seeds), bytes up / down per training device over the
whole run (int8 weights, scales, zero points, sparse indices: what crosses the radio),
device SRAM for one training step (estimate), wall time of meta-training + evaluation.

Hyper-parameters are chosen per task and algorithm on *validation* devices (seed 0), never
on the test devices (at no seed: HAR tunes on 6 fixed people that are never test people;
few-shot validation and test classes are disjoint, and the server calibrates quantization
on meta-training classes only): the meta step size beta_0 (GRID), and for TinyMetaFed
also whether the head stays local. Few-shot digits: the adaptation learning rate (ADAPT_LR_GRID) is
chosen once, with the baseline, and every method adapts with it (one protocol); every
method meta-trains for the same 30 rounds (ROUNDS).
Then TinyMetaFed's top-P% is swept at the chosen setting (bytes trade-off). The test runs
use the chosen settings for every seed.

Comparisons are paired by seed (the same held-out devices, initial weights and adaptation
order): for each algorithm minus the baseline, and TinyMetaFed minus Reptile, n seeds, the
mean difference and its 95 % t-interval. "Better" only when the interval excludes zero.

Omniglot (``--tasks omniglot``): see bench/fed_omniglot.py: one 5-way meta-training per
method and seed scored as omniglot-5w1s, omniglot-5w5s and omniglot-20w1s (the 20 official
runs, paired over the runs), with a pretrained no-meta-learning baseline ("pretrain"), each
board's compiled peak SRAM and flash, and prequential online-learning curves plotted to
bench/results/fed-online-omniglot.png.

Online learning on sine, HAR and fsdd-speakers (``--online``, bench/fed_online.py): with the
settings already chosen in the result file, each method meta-trains again (same rounds) and
its model streams samples on held-out test devices, prequentially scored; only the file's
"online" and "online_setup" entries change, and bench/results/fed-online-<task>.png is drawn.

Usage: python bench/fed.py [--seeds 5] [--quick] [--tasks sine,har] [--out F]
       python bench/fed.py --tasks har --chosen part1.json --seed-list 5,6,7 --out part2.json
       python bench/fed.py --online --tasks sine,har,fsdd-speakers --seed-list 0 [--out F]
       python bench/fed.py --merge part1.json part2.json [--out F]   (later parts' tasks win,
                                                                       unless they add seeds)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import fed_omniglot  # noqa: E402
import fed_online  # noqa: E402
from machine import machine_info  # noqa: E402

from federated.algorithms import make_strategy  # noqa: E402
from federated.experiment import run_experiment  # noqa: E402
from federated.pretrain import pretrain, supports_pretraining  # noqa: E402
from federated.server import evaluate_heldout, train_federated  # noqa: E402
from federated.tasks import make_task  # noqa: E402

TASKS = {"sine": 20, "fewshot-digits": 20, "har": 7, "fsdd-speakers": 4}
# training devices while choosing hyper-parameters (HAR: 4 of the 6 tuning people train, the
# other 2 validate; test people are drawn from the other 4 people at every seed)
TUNE_DEVICES = {"har": 4}
ALGOS = ("fedavg", "reptile", "tinyreptile", "tinymetafed")
PER_ROUND = 5
# The search, per algorithm, on validation devices with seed 0 and the same round budget.
# FedAvg has no meta step size. The on-device learning rate is the task's (shared by
# meta-training and adaptation on every device) and is not searched.
GRID: dict[str, list[dict[str, Any]]] = {
    "fedavg": [{}],
    "reptile": [{"meta_lr": 1.0}, {"meta_lr": 2.0}],
    "tinyreptile": [{"meta_lr": 0.1}, {"meta_lr": 0.3}],  # 1.0 diverges on HAR (see tinyreptile.py)
    "tinymetafed": [{"meta_lr": 1.0}, {"meta_lr": 2.0}, {"meta_lr": 2.0, "local_head": False}],
}
TOP_P = (0.1, 0.25, 0.5)  # TinyMetaFed's bytes trade-off, at its chosen setting
# Round budgets other than --rounds. Few-shot digits: meta-training overfits its 4 training
# classes with more rounds (an earlier search over 30 and 100 on validation chose 30 for
# three of the four methods); every method gets the same budget.
ROUNDS: dict[str, int] = {"fewshot-digits": 30, "fsdd-speakers": 30}
# The no-meta-learning baseline pretrained on the training devices' pooled data (tasks that
# have it, federated.pretrain), for as many samples as meta-training streams; its learning
# rate is searched like a meta step size (two settings).
PRETRAIN_GRID = [{"lr": 0.002}, {"lr": 0.02}]  # 0.05 diverged on FSDD (validation: 0.10)
# Tasks whose adaptation learning rate is chosen on validation devices, once, with the
# baseline, then used by every method (one adaptation protocol). Few-shot digits: the
# task's on-device rate (0.02) under-trains a few passes over 15 images.
ADAPT_LR_GRID: dict[str, tuple[float, ...]] = {"fewshot-digits": (0.02, 0.05, 0.1, 0.2)}


def round_budget(task: str, rounds: int) -> int:
    """Rounds of the 5-devices-per-round methods on ``task``."""
    return fed_omniglot.ROUNDS if task in fed_omniglot.TASKS else ROUNDS.get(task, rounds)


def rounds_for(algo: str, rounds: int) -> int:
    return rounds * PER_ROUND if algo == "tinyreptile" else rounds


def tune(task: str, rounds: int, sweep_top_p: bool = True) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """Per algorithm, the setting with the best validation metric; and every validation run.
    A setting is a strategy config, plus, for tasks in ``ADAPT_LR_GRID``, the adaptation
    learning rate (``adapt_lr``) that the baseline chose, the same for every method."""
    devices = TUNE_DEVICES.get(task, TASKS[task])
    t = make_task(task, devices, 0)
    rows: list[dict[str, Any]] = []
    chosen: dict[str, dict[str, Any]] = {}
    rounds = ROUNDS.get(task, rounds)

    def best_of(results: list[dict[str, Any]]) -> dict[str, Any]:
        best = results[0]
        for res in results[1:]:
            if t.better(res["value"], best["value"]):
                best = res
        return best

    shared: dict[str, Any] = {}
    if task in ADAPT_LR_GRID:
        base = []
        for lr in ADAPT_LR_GRID[task]:
            t0 = time.perf_counter()
            ev = evaluate_heldout(t, t.spec.initial_params(), seed=0, split="validation", adapt_lr=lr)
            base.append({"task": task, "algo": "baseline", "config": {"adapt_lr": lr}, "value": ev.value,
                         "bytes_up_per_device": 0.0, "wall_s": time.perf_counter() - t0})
            print(f"  tune {task:<15} {'baseline':<12} {json.dumps(base[-1]['config']):<44} {ev.value:.4f}",
                  flush=True)
        rows += base
        shared = dict(best_of(base)["config"])
    chosen["baseline"] = dict(shared)

    def run(algo: str, cfg: dict[str, Any]) -> dict[str, Any]:
        """One meta-training on the tuning devices, scored on the validation devices."""
        strategy = make_strategy(algo, **cfg)
        t0 = time.perf_counter()
        res = train_federated(t, strategy, rounds=rounds_for(algo, rounds), seed=0)
        up, _ = res.per_device(devices)
        ev = evaluate_heldout(t, res.params, seed=0, split="validation", adapt_lr=shared.get("adapt_lr"))
        row = {"task": task, "algo": algo, "config": {**cfg, **shared}, "value": ev.value,
               "bytes_up_per_device": up, "wall_s": time.perf_counter() - t0}
        rows.append(row)
        print(f"  tune {task:<15} {algo:<12} {json.dumps(row['config']):<44} {ev.value:.4f}  "
              f"{row['wall_s']:.0f}s", flush=True)
        return row

    if supports_pretraining(t):
        best = None
        for cfg in PRETRAIN_GRID:
            t0 = time.perf_counter()
            params = pretrain(t, samples=rounds * PER_ROUND * t.protocol.inner_steps, lr=cfg["lr"], seed=0)
            ev = evaluate_heldout(t, params, seed=0, split="validation", adapt_lr=shared.get("adapt_lr"))
            rows.append({"task": task, "algo": "pretrain", "config": {**cfg, **shared}, "value": ev.value,
                         "bytes_up_per_device": 0.0, "wall_s": time.perf_counter() - t0})
            print(f"  tune {task:<15} {'pretrain':<12} {json.dumps(cfg):<44} {ev.value:.4f}", flush=True)
            if best is None or t.better(ev.value, best[0]):
                best = (ev.value, {**cfg, **shared})
        assert best is not None
        chosen["pretrain"] = best[1]
    for algo in ALGOS:
        grid = GRID[algo]
        if len(grid) == 1:
            chosen[algo] = {**grid[0], **shared}
        else:
            chosen[algo] = dict(best_of([run(algo, c) for c in grid])["config"])
    if sweep_top_p:
        cfg, _ = split_setting(chosen["tinymetafed"])
        for p in TOP_P:
            if p != 0.25:  # 0.25 is the grid's own top_p
                run("tinymetafed", {**cfg, "top_p": p})
    return chosen, rows


def split_setting(setting: dict[str, Any]) -> tuple[dict[str, Any], float | None]:
    """A chosen setting as (strategy kwargs, adaptation learning rate)."""
    return {k: v for k, v in setting.items() if k != "adapt_lr"}, setting.get("adapt_lr")


def run_task(task: str, devices: int, rounds: int, seeds: list[int], chosen: dict[str, dict[str, Any]],
             rows: list[dict[str, Any]], after_seed: Callable[[], None]) -> None:
    """Every seed's test runs, appended to ``rows``; ``after_seed`` saves progress."""
    for seed in seeds:
        t0 = time.perf_counter()
        t = make_task(task, devices, seed)
        base_lr = chosen.get("baseline", {}).get("adapt_lr")
        base = evaluate_heldout(t, t.spec.initial_params(), seed=seed, adapt_lr=base_lr)
        rows.append({"task": task, "algo": "baseline", "seed": seed, "metric": t.metric, "value": base.value,
                     "per_device": base.per_device, "adapt_steps": base.adapt_steps,
                     "bytes_up_per_device": 0.0, "bytes_down_per_device": 0.0, "config": chosen.get("baseline"),
                     "device_memory_bytes": base.memory["sram_bytes"], "wall_s": time.perf_counter() - t0})
        if "pretrain" in chosen:
            t0 = time.perf_counter()
            rounds_t = round_budget(task, rounds)
            params = pretrain(t, samples=rounds_t * PER_ROUND * t.protocol.inner_steps, lr=chosen["pretrain"]["lr"],
                              seed=seed)
            ev = evaluate_heldout(t, params, seed=seed, adapt_lr=base_lr)
            rows.append({"task": task, "algo": "pretrain", "seed": seed, "metric": t.metric, "value": ev.value,
                         "per_device": ev.per_device, "adapt_steps": ev.adapt_steps, "bytes_up_per_device": 0.0,
                         "bytes_down_per_device": 0.0, "config": chosen["pretrain"],
                         "device_memory_bytes": ev.memory["sram_bytes"], "wall_s": time.perf_counter() - t0})
            print(f"  {task:<15} seed {seed} {'pretrain':<12} {ev.value:.4f}", flush=True)
        for algo in ALGOS:
            cfg, lr = split_setting(chosen[algo])
            r = rounds_for(algo, ROUNDS.get(task, rounds))
            res = run_experiment(task, algo, devices=devices, rounds=r, seed=seed, baseline=False,
                                 strategy_kwargs=cfg, adapt_lr=lr)
            res["task"] = task
            res["config"] = chosen[algo]
            rows.append(res)
            print(f"  {task:<15} seed {seed} {algo:<12} {res['value']:.4f}  {res['wall_s']:.0f}s", flush=True)
        after_seed()


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for task in dict.fromkeys(r["task"] for r in rows):
        for algo in ("baseline", "pretrain", *ALGOS):
            sel = [r for r in rows if r["task"] == task and r["algo"] == algo]
            if not sel:
                continue
            vals = np.array([r["value"] for r in sel])
            out.append({"task": task, "algo": algo, "metric": sel[0]["metric"], "mean": float(vals.mean()),
                        "std": float(vals.std()), "seeds": len(sel),
                        "bytes_up_per_device": float(np.mean([r["bytes_up_per_device"] for r in sel])),
                        "bytes_down_per_device": float(np.mean([r["bytes_down_per_device"] for r in sel])),
                        "device_memory_bytes": int(sel[0]["device_memory_bytes"]), "config": sel[0].get("config"),
                        "boards": sel[0].get("boards"),
                        "wall_s": float(np.mean([r["wall_s"] for r in sel]))})
    return out


def table(summary: list[dict[str, Any]]) -> str:
    lines = [f"{'task':<15} {'algo':<12} {'metric':<8} {'value':>16} {'up B/dev':>10} {'down B/dev':>11} "
             f"{'SRAM B':>7} {'wall s':>7}"]
    for s in summary:
        scale = 100.0 if s["metric"] == "accuracy" else 1.0
        unit = "%" if s["metric"] == "accuracy" else ""
        value = f"{s['mean'] * scale:.2f}{unit} +- {s['std'] * scale:.2f}"
        lines.append(f"{s['task']:<15} {s['algo']:<12} {s['metric']:<8} {value:>16} "
                     f"{s['bytes_up_per_device']:>10,.0f} {s['bytes_down_per_device']:>11,.0f} "
                     f"{s['device_memory_bytes']:>7,} {s['wall_s']:>7.1f}")
    return "\n".join(lines)


def paired(rows: list[dict[str, Any]], task: str, algo: str, ref: str) -> dict[str, Any] | None:
    """``algo`` minus ``ref`` seed by seed on ``task`` (accuracy in points, MSE as is): n,
    mean difference and its 95 % t-interval; "better"/"worse" only when the interval
    excludes zero."""
    a = {r["seed"]: r["value"] for r in rows if r["task"] == task and r["algo"] == algo}
    b = {r["seed"]: r["value"] for r in rows if r["task"] == task and r["algo"] == ref}
    seeds = sorted(set(a) & set(b))
    if not seeds:
        return None
    acc = next(r.get("metric") for r in rows if r["task"] == task and r["algo"] == "baseline") == "accuracy"
    if task in fed_omniglot.OVER_RUNS:  # paired over the official runs: each run's accuracy, mean over seeds
        def per_run(name: str) -> np.ndarray:
            return np.mean([r["per_device"] for r in rows
                            if r["task"] == task and r["algo"] == name and r["seed"] in seeds], axis=0)
        d = (per_run(algo) - per_run(ref)) * 100.0
    else:
        d = np.array([a[s] - b[s] for s in seeds]) * (100.0 if acc else 1.0)
    n, mean = len(d), float(d.mean())
    half = float(stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / np.sqrt(n)) if n > 1 else float("inf")
    lo, hi = mean - half, mean + half
    up = lo > 0 if acc else hi < 0      # the difference favours algo
    down = hi < 0 if acc else lo > 0
    return {"task": task, "algo": algo, "minus": ref, "unit": "points" if acc else "mse", "n": n, "mean": mean,
            "ci95": [lo, hi], "per_seed": [float(x) for x in d], "seeds": seeds,
            "over": "official runs" if task in fed_omniglot.OVER_RUNS else "seeds",
            "verdict": "better" if up else ("worse" if down else "no difference shown")}


def comparisons(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every algorithm minus the baseline, and TinyMetaFed minus Reptile, per task."""
    out = []
    for task in dict.fromkeys(r["task"] for r in rows):
        pairs = [(a, "baseline") for a in ("pretrain", *ALGOS)] + [(a, "pretrain") for a in ALGOS]
        pairs += [("tinymetafed", "reptile")]
        out += [p for p in (paired(rows, task, a, b) for a, b in pairs) if p is not None]
    return out


def comparison_notes(comps: list[dict[str, Any]], summary: list[dict[str, Any]]) -> list[str]:
    notes = []
    for c in comps:
        lo, hi = c["ci95"]
        notes.append(f"{c['task']}: {c['algo']} - {c['minus']} = {c['mean']:+.3g} {c['unit']}, 95% CI "
                     f"[{lo:+.3g}, {hi:+.3g}] over n={c['n']} {c.get('over', 'seeds')} ({c['verdict']}); per item "
                     f"{', '.join(f'{x:+.3g}' for x in c['per_seed'])}")
    by = {(s["task"], s["algo"]): s for s in summary}
    for task in dict.fromkeys(s["task"] for s in summary):
        rep, tmf = by.get((task, "reptile")), by.get((task, "tinymetafed"))
        if rep and tmf:  # deterministic byte counts
            up = tmf["bytes_up_per_device"] / max(rep["bytes_up_per_device"], 1.0)
            both = ((tmf["bytes_up_per_device"] + tmf["bytes_down_per_device"])
                    / max(rep["bytes_up_per_device"] + rep["bytes_down_per_device"], 1.0))
            notes.append(f"{task}: TinyMetaFed sends {up:.0%} of Reptile's bytes up, {both:.0%} of up + down")
    notes += must_show(comps, by)
    return notes


def must_show(comps: list[dict[str, Any]], by: dict[tuple[str, str], dict[str, Any]]) -> list[str]:
    """The issue's two claims, per accuracy task, stated as holding or not: TinyMetaFed within
    1 point of Reptile, i.e. at most 1 point worse (held when the 95 % CI of the difference lies
    above -1 point; "on the mean only" when just the mean does) at <= 1/2 of its bytes up; and
    each meta-learning method beating no meta-learning (the pretrained baseline where there is
    one, else the untrained one) with a CI that excludes 0."""
    notes = []
    get = {(c["task"], c["algo"], c["minus"]): c for c in comps}
    for task in dict.fromkeys(c["task"] for c in comps):
        c = get.get((task, "tinymetafed", "reptile"))
        rep, tmf = by.get((task, "reptile")), by.get((task, "tinymetafed"))
        if c and c["unit"] == "points" and rep and tmf:
            lo, hi = c["ci95"]
            ratio = tmf["bytes_up_per_device"] / max(rep["bytes_up_per_device"], 1.0)
            on_ci = lo >= -1.0 and ratio <= 0.5   # at most 1 point worse (better counts as within)
            on_mean = c["mean"] >= -1.0 and ratio <= 0.5
            verdict = "HOLDS" if on_ci else ("HOLDS on the mean only (the CI reaches below -1)" if on_mean
                                             else "DOES NOT HOLD")
            notes.append(f"{task}: TinyMetaFed within 1 point of Reptile at <= 1/2 its bytes up: {verdict} "
                         f"(difference {c['mean']:+.2f} [{lo:+.2f}, {hi:+.2f}] points, bytes up {ratio:.0%})")
        ref = "pretrain" if (task, "pretrain") in by else "baseline"
        for algo in ALGOS:
            d = get.get((task, algo, ref))
            if d is not None and d["unit"] == "points":
                notes.append(f"{task}: {algo} beats no meta-learning ({ref}) with a CI excluding 0: "
                             f"{'HOLDS' if d['verdict'] == 'better' else 'DOES NOT HOLD'} ({d['mean']:+.2f} "
                             f"[{d['ci95'][0]:+.2f}, {d['ci95'][1]:+.2f}] points)")
    return notes


def protocol_check(rows: list[dict[str, Any]]) -> dict[str, dict[str, list[int]]]:
    """Per task and seed, the adaptation steps of every held-out device: the same for every
    method and the baseline, or the comparison is not fair and the run stops here."""
    out: dict[str, dict[str, list[int]]] = {}
    for task in dict.fromkeys(r["task"] for r in rows):
        out[task] = {}
        for seed in dict.fromkeys(r["seed"] for r in rows if r["task"] == task):
            seen = {r["algo"]: r["adapt_steps"] for r in rows
                    if r["task"] == task and r["seed"] == seed and "adapt_steps" in r}
            if len({tuple(v) for v in seen.values()}) > 1:
                raise SystemExit(f"{task} seed {seed}: methods adapted with different step budgets: {seen}")
            if seen:
                out[task][str(seed)] = next(iter(seen.values()))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=100, help="rounds of the 5-devices-per-round algorithms")
    ap.add_argument("--quick", action="store_true", help="1 seed, 10 rounds, no search (a smoke run; not written)")
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "fed.json")
    ap.add_argument("--seed-list", help="comma-separated seeds (instead of 0..--seeds-1)")
    ap.add_argument("--chosen", type=Path, help="take the tasks' search (chosen settings, validation runs) from this "
                    "result file instead of searching again (to run more seeds in another process)")
    ap.add_argument("--no-top-p-sweep", action="store_true", help="skip TinyMetaFed's top-P sweep")
    ap.add_argument("--merge", type=Path, nargs="+", help="merge per-task result files into --out (no runs)")
    ap.add_argument("--markdown", type=Path, help="print the README's tables from this result file (no runs)")
    ap.add_argument("--online", action="store_true", help="online learning only: add prequential curves of --tasks "
                    "to --out, with the settings --out (or --chosen) already holds; nothing else in it changes")
    ap.add_argument("--online-samples", type=int, default=fed_online.SAMPLES, help="samples streamed per device")
    ap.add_argument("--online-devices", type=int, default=fed_online.MAX_DEVICES,
                    help="held-out test devices streamed per seed (at most)")
    args = ap.parse_args()
    if args.markdown:
        print(markdown(json.loads(args.markdown.read_text())))
        return
    if args.merge:
        missing = [str(p) for p in args.merge if not p.is_file()]
        if missing:
            ap.error(f"no such result file: {', '.join(missing)}")
        merged = merge([json.loads(p.read_text()) for p in args.merge])
        finish(merged, args.out)
        if merged["online"]:
            plot_online(merged["online"], args.out.parent)
        return
    seeds = [0] if args.quick else list(range(args.seeds))
    if args.seed_list:
        seeds = [int(x) for x in args.seed_list.split(",")]
    if args.online:
        run_online(args.tasks.split(","), seeds, args.chosen or args.out, args.out, ap,
                   samples=args.online_samples, max_devices=args.online_devices)
        return
    earlier = json.loads(args.chosen.read_text()) if args.chosen else None
    rounds = 10 if args.quick else args.rounds
    rows: list[dict[str, Any]] = []
    tuning: list[dict[str, Any]] = []
    chosen: dict[str, dict[str, dict[str, Any]]] = {}
    t0 = time.perf_counter()
    tasks = args.tasks.split(",")
    unknown = [t for t in tasks if t not in TASKS and t != fed_omniglot.FAMILY]
    if unknown:
        ap.error(f"unknown task {', '.join(unknown)} (known: {', '.join([*TASKS, fed_omniglot.FAMILY])})")
    protocols = {t: asdict(make_task(t, TASKS.get(t, fed_omniglot.DEVICES), 0).protocol)
                 for t in tasks if t != fed_omniglot.FAMILY}
    protocols.update({t: asdict(make_task(t, fed_omniglot.DEVICES, 0).protocol)
                      for t in (fed_omniglot.TASKS if fed_omniglot.FAMILY in tasks else ())})
    online: dict[str, dict[str, list[list[float]]]] = {}
    machine = machine_info()  # the commit the run started from

    def result() -> dict[str, Any]:
        done = list(dict.fromkeys(r["task"] for r in rows))
        return {"machine": machine, "protocol": protocols, "rounds": rounds,
                "rounds_by_task": {t: round_budget(t, rounds) for t in done}, "per_round": PER_ROUND,
                "seeds": seeds, "tasks": done, "grid": GRID, "top_p_sweep": TOP_P,
                "chosen": dict(chosen), "tuning": tuning, "runs": rows, "online": online,
                "total_wall_s": time.perf_counter() - t0}

    partial = args.out.with_suffix(".partial.json")

    def save_progress() -> None:  # an interrupted run can be finished with --merge on this file
        if not args.quick:
            partial.write_text(json.dumps(result(), indent=2, default=float) + "\n")

    for task in tasks:
        if task == fed_omniglot.FAMILY:
            if earlier is not None:
                setting = earlier["chosen"][fed_omniglot.TASKS[0]]
                tuning += [r for r in earlier["tuning"] if r["task"] == fed_omniglot.TASKS[0]]
            elif args.quick:
                setting = {a: dict(g[0]) for a, g in fed_omniglot.GRID.items()} | {"baseline": {}}
            else:
                setting, tr = fed_omniglot.tune(lambda m: print(m, flush=True))
                tuning += tr
            for name in fed_omniglot.TASKS:
                chosen[name] = setting
            save_progress()  # the search, reusable with --chosen by processes running other seeds
            fed_omniglot.run(seeds, setting, rows, online, save_progress, lambda m: print(m, flush=True),
                             rounds=2 if args.quick else fed_omniglot.ROUNDS)
            continue
        if args.quick:
            chosen[task] = {a: {} for a in ALGOS}
        elif earlier is not None:
            chosen[task] = earlier["chosen"][task]
            tuning += [r for r in earlier["tuning"] if r["task"] == task]
        else:
            chosen[task], tr = tune(task, rounds, not args.no_top_p_sweep)
            tuning += tr
            print(f"  {task}: chosen {json.dumps(chosen[task])}", flush=True)
        run_task(task, TASKS[task], rounds, seeds, chosen[task], rows, save_progress)
    finish(result(), None if args.quick else args.out)
    partial.unlink(missing_ok=True)
    if not args.quick and online:
        plot_online(online, args.out.parent)


def run_online(tasks: list[str], seeds: list[int], chosen_from: Path, out: Path,
               ap: argparse.ArgumentParser, *, samples: int, max_devices: int) -> None:
    """Prequential curves of ``tasks`` with the settings in ``chosen_from``, written into
    ``out``'s "online" and "online_setup" entries (the rest of ``out`` is left as it is)."""
    if not chosen_from.is_file():
        ap.error(f"no such result file: {chosen_from}")
    earlier = json.loads(chosen_from.read_text())
    bad = [t for t in tasks if t not in TASKS or t not in earlier.get("chosen", {})]
    if bad:
        ap.error(f"{chosen_from} has no chosen settings for {', '.join(bad)} (online runs the generic tasks "
                 f"{', '.join(TASKS)} after their search)")
    online: dict[str, dict[str, list[list[float]]]] = {}
    setups: dict[str, dict[str, Any]] = {}
    machine = machine_info()  # the commit the run started from
    for task in tasks:
        rounds = earlier.get("rounds_by_task", {}).get(task, round_budget(task, earlier.get("rounds", 100)))
        t0 = time.perf_counter()
        online[task], setups[task] = fed_online.online_curves(
            task, TASKS[task], seeds, earlier["chosen"][task], rounds=rounds, per_round=PER_ROUND,
            rounds_for=rounds_for, algos=ALGOS, samples=samples, max_devices=max_devices,
            log=lambda m: print(m, flush=True))
        setups[task] |= {"machine": machine, "wall_s": time.perf_counter() - t0}
    result = json.loads(out.read_text()) if out.is_file() else {"machine": machine}  # read late: other runs
    result["online"] = {**result.get("online", {}), **online}
    result["online_setup"] = {**result.get("online_setup", {}), **setups}
    tmp = out.with_suffix(".online.tmp")
    tmp.write_text(json.dumps(result, indent=2, default=float) + "\n")
    tmp.replace(out)
    print(f"wrote online entries of {', '.join(tasks)} into {out}")
    for task in tasks:
        final = {a: float(np.mean([c[-1] for c in curves_running(cs)])) for a, cs in online[task].items()}
        print(f"  {task}: final prequential {setups[task]['metric']}: "
              + ", ".join(f"{NAMES.get(a, a)} {v:.4f}" for a, v in final.items()))
    plot_online(online, out.parent, {t: s["metric"] for t, s in setups.items()})


def curves_running(curves: list[list[float]]) -> list[np.ndarray]:
    """Each curve as its prequential running mean (mean score over the first t samples)."""
    return [np.cumsum(c) / np.arange(1, len(c) + 1) for c in np.asarray(curves, np.float64)]


def merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-task result files as one. Parts of one task with the same chosen settings (the
    same search, more seeds run elsewhere) add their seeds (a seed run twice counts once);
    otherwise a task in a later part replaces it from earlier parts (rerun one task, merge
    it over the full file). ``machines`` keeps where each ran."""
    owners: dict[str, list[int]] = {}
    for i, p in enumerate(parts):
        for t in p["tasks"]:
            same = owners.get(t) and parts[owners[t][0]]["chosen"][t] == p["chosen"][t]
            owners[t] = [*owners[t], i] if same else [i]
    runs: list[dict[str, Any]] = []
    seen: set[tuple[str, int, str]] = set()
    for t, idx in owners.items():
        for i in idx:
            for r in parts[i]["runs"]:
                key = (r["task"], r["seed"], r["algo"])
                if r["task"] == t and key not in seen:
                    seen.add(key)
                    runs.append(r)
    first = {t: idx[0] for t, idx in owners.items()}
    machines = {t: parts[i].get("machines", {}).get(t, parts[i]["machine"]) for t, i in first.items()}
    return {**parts[-1], "tasks": list(owners), "machines": machines,
            "seeds": sorted({r["seed"] for r in runs}),
            "chosen": {t: parts[i]["chosen"][t] for t, i in first.items()},
            "protocol": {t: parts[i].get("protocol", {}).get(t) for t, i in first.items()},
            "rounds_by_task": {t: parts[i].get("rounds_by_task", {}).get(t, parts[i]["rounds"])
                               for t, i in first.items()},
            "tuning": [r for t, i in first.items() for r in parts[i]["tuning"] if r["task"] == t],
            "runs": runs, "total_wall_s": sum(p["total_wall_s"] for p in parts),
            "online": merge_online(parts)}


def merge_online(parts: list[dict[str, Any]]) -> dict[str, dict[str, list[list[float]]]]:
    out: dict[str, dict[str, list[list[float]]]] = {}
    for p in parts:
        for task, by_algo in p.get("online", {}).items():
            for algo, curves in by_algo.items():
                out.setdefault(task, {}).setdefault(algo, []).extend(curves)
    return out


def finish(out: dict[str, Any], path: Path | None) -> None:
    summary = summarize(out["runs"])
    comps = comparisons(out["runs"])
    out["adapt_steps"] = protocol_check(out["runs"])
    out["summary"], out["comparisons"] = summary, comps
    out["checks"] = comparison_notes(comps, summary)
    print()
    print(table(summary))
    print()
    for line in tuning_table(out["tuning"]):
        print(line)
    print()
    for note in out["checks"]:
        print(note)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out, indent=2, default=float) + "\n")
        print(f"\nwrote {path}")


def plot_online(online: dict[str, dict[str, list[list[float]]]], folder: Path,
                metrics: dict[str, str] | None = None) -> list[Path]:
    """Prequential accuracy, or for a regression task (``metrics[task] == "mse"``) the
    prequential MSE (mean over the first t samples of the stream, averaged over devices
    and seeds) per method: bench/results/fed-online-<task family>.png."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for task, by_algo in online.items():
        mse = (metrics or {}).get(task) == "mse"
        fig, ax = plt.subplots(figsize=(6.4, 4.0))
        for algo, curves in by_algo.items():
            scores = np.mean(np.asarray(curves, np.float64), axis=0)
            running = np.cumsum(scores) / np.arange(1, len(scores) + 1)
            ax.plot(np.arange(1, len(scores) + 1), running * (1.0 if mse else 100.0),
                    label=f"{NAMES.get(algo, algo)} ({len(curves)} seed{'s' if len(curves) > 1 else ''})")
        ax.set_xlabel("samples streamed (one int8 training step each, predicted before the step)")
        ax.set_ylabel("prequential MSE (lower is better)" if mse else "prequential accuracy (%)")
        held = "test tasks" if task.startswith(fed_omniglot.FAMILY) else "test devices"
        ax.set_title(f"{task}: online learning on held-out {held}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = folder / f"fed-online-{task.split('-')[0]}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
        print(f"wrote {path}")
    return written


NAMES = {"baseline": "untrained", "pretrain": "no meta-learning (pretrained)", "fedavg": "FedAvg",
         "reptile": "Reptile", "tinyreptile": "TinyReptile", "tinymetafed": "TinyMetaFed"}


def markdown(out: dict[str, Any]) -> str:
    """Per task and method: mean +- std over seeds, paired difference to the no-meta-learning
    baseline (the pretrained one where the task has it) with its 95 % CI, bytes up/down per
    device, device SRAM (the compiled step's peak on the STM32F746 where the bench compiled
    it, else the training step's estimate)."""
    comps = {(c["task"], c["algo"], c["minus"]): c for c in out["comparisons"]}
    lines = ["| task | method | accuracy / MSE | minus no meta-learning [95 % CI] (n) | up B/device | "
             "down B/device | device SRAM B |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for s in out["summary"]:
        task, algo = s["task"], s["algo"]
        acc = s["metric"] == "accuracy"
        scale, unit = (100.0, " %") if acc else (1.0, "")
        ref = "pretrain" if any(x["task"] == task and x["algo"] == "pretrain" for x in out["summary"]) else "baseline"
        c = comps.get((task, algo, ref))
        diff = "" if c is None else (f"{c['mean']:+.2f} [{c['ci95'][0]:+.2f}, {c['ci95'][1]:+.2f}] "
                                     f"({c['n']} {c.get('over', 'seeds')})")
        lines.append(f"| {task} | {NAMES.get(algo, algo)} | {s['mean'] * scale:.2f} ± {s['std'] * scale:.2f}{unit} | "
                     f"{diff} | {s['bytes_up_per_device']:,.0f} | {s['bytes_down_per_device']:,.0f} | "
                     f"{s['device_memory_bytes']:,} |")
    return "\n".join(lines)


def tuning_table(tuning: list[dict[str, Any]]) -> list[str]:
    """The search on validation devices (seed 0), TinyMetaFed's top-P bytes trade-off included."""
    if not tuning:
        return []
    lines = [f"{'task':<15} {'algo':<12} {'setting (validation, seed 0)':<44} {'value':>8} {'up B/dev':>10}"]
    for r in tuning:
        lines.append(f"{r['task']:<15} {r['algo']:<12} {json.dumps(r['config']):<44} {r['value']:>8.4f} "
                     f"{r['bytes_up_per_device']:>10,.0f}")
    return lines


if __name__ == "__main__":
    main()
