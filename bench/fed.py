"""Federated meta-learning on tte devices: k-shot adaptation on held-out devices.

For each task, every algorithm meta-trains on the training devices (int8 + QAS training
through tte.Trainer, the firmware's code path, batch size 1), then each held-out device
adapts from the result on its k-shot support set and is scored on its query set. The
baseline adapts the same way from the initial (not meta-learned) weights.

Budgets are equal in device participations: FedAvg, Reptile and TinyMetaFed take 5 devices
per round for R rounds; TinyReptile one device per round for 5R rounds.

  sine             20 devices, y = A sin(x + phi); 10-shot, MSE on 100 points (lower is better)
  fewshot-digits   20 devices, 3-way 5-shot on digits 0-5; held out: tasks from digits 6-9
  har              7 people of the smartwatch IMU study; held out: 3 other people (seed-split)

Columns: value (mean +- std over seeds), bytes up / down per training device over the
whole run (int8 weights, scales, zero points, sparse indices: what crosses the radio),
device SRAM for one training step (estimate), wall time of meta-training + evaluation.

Usage: python bench/fed.py [--seeds 3] [--quick] [--tasks sine,har]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine_info  # noqa: E402

from federated.experiment import run_experiment  # noqa: E402
from federated.server import evaluate_heldout  # noqa: E402
from federated.tasks import make_task  # noqa: E402

TASKS = {"sine": 20, "fewshot-digits": 20, "har": 7}
ALGOS = ("fedavg", "reptile", "tinyreptile", "tinymetafed")
PER_ROUND = 5


def run_task(task: str, devices: int, rounds: int, seeds: list[int]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for seed in seeds:
        t0 = time.perf_counter()
        t = make_task(task, devices, seed)
        base = evaluate_heldout(t, t.spec.initial_params(), seed=seed)
        rows.append({"task": task, "algo": "baseline", "seed": seed, "metric": t.metric, "value": base.value,
                     "bytes_up_per_device": 0.0, "bytes_down_per_device": 0.0,
                     "device_memory_bytes": base.memory["sram_bytes"], "wall_s": time.perf_counter() - t0})
        for algo in ALGOS:
            r = rounds * PER_ROUND if algo == "tinyreptile" else rounds
            res = run_experiment(task, algo, devices=devices, rounds=r, seed=seed, baseline=False)
            res["task"] = task
            rows.append(res)
            print(f"  {task:<15} seed {seed} {algo:<12} {res['value']:.4f}  {res['wall_s']:.0f}s", flush=True)
    return rows


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for task in dict.fromkeys(r["task"] for r in rows):
        for algo in ("baseline", *ALGOS):
            sel = [r for r in rows if r["task"] == task and r["algo"] == algo]
            if not sel:
                continue
            vals = np.array([r["value"] for r in sel])
            out.append({"task": task, "algo": algo, "metric": sel[0]["metric"], "mean": float(vals.mean()),
                        "std": float(vals.std()), "seeds": len(sel),
                        "bytes_up_per_device": float(np.mean([r["bytes_up_per_device"] for r in sel])),
                        "bytes_down_per_device": float(np.mean([r["bytes_down_per_device"] for r in sel])),
                        "device_memory_bytes": int(sel[0]["device_memory_bytes"]),
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


def checks(summary: list[dict[str, Any]]) -> list[str]:
    """The issue's targets, stated per task, pass or not."""
    notes = []
    by = {(s["task"], s["algo"]): s for s in summary}
    for task in dict.fromkeys(s["task"] for s in summary):
        base, rep, tmf = by.get((task, "baseline")), by.get((task, "reptile")), by.get((task, "tinymetafed"))
        if not (base and rep and tmf):
            continue
        acc = rep["metric"] == "accuracy"
        scale = 100.0 if acc else 1.0
        best = max if acc else min
        meta = best(by[(task, a)]["mean"] for a in ALGOS if (task, a) in by)
        gain = (meta - base["mean"]) * scale if acc else base["mean"] - meta
        notes.append(f"{task}: best meta-learning beats the baseline by {gain:.3g} "
                     f"{'points' if acc else 'MSE'}")
        gap = (tmf["mean"] - rep["mean"]) * scale
        ratio = tmf["bytes_up_per_device"] / max(rep["bytes_up_per_device"], 1.0)
        ratio_all = ((tmf["bytes_up_per_device"] + tmf["bytes_down_per_device"])
                     / max(rep["bytes_up_per_device"] + rep["bytes_down_per_device"], 1.0))
        if acc:  # within 1 accuracy point (or better)
            within, what = gap >= -1.0, f"{gap:+.3g} points"
        else:  # MSE has no points: within 1% of Reptile's MSE (or better)
            rel = gap / rep["mean"]
            within, what = rel <= 0.01, f"{gap:+.3g} MSE ({rel:+.0%})"
        notes.append(f"{task}: TinyMetaFed - Reptile = {what} "
                     f"({'within 1' if within else 'NOT within 1'}{'' if acc else '%'}); sends {ratio:.0%} of "
                     f"Reptile's bytes up "
                     f"({'<= half' if ratio <= 0.5 else 'MORE than half'}), {ratio_all:.0%} of up+down")
    return notes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=100, help="rounds of the 5-devices-per-round algorithms")
    ap.add_argument("--quick", action="store_true", help="1 seed, 10 rounds (a smoke run; not written)")
    ap.add_argument("--tasks", default=",".join(TASKS))
    args = ap.parse_args()
    seeds = [0] if args.quick else list(range(args.seeds))
    rounds = 10 if args.quick else args.rounds
    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for task in args.tasks.split(","):
        rows += run_task(task, TASKS[task], rounds, seeds)
    summary = summarize(rows)
    print()
    print(table(summary))
    print()
    for note in checks(summary):
        print(note)
    if not args.quick:
        out = {"machine": machine_info(), "rounds": rounds, "per_round": PER_ROUND, "seeds": seeds,
               "summary": summary, "checks": checks(summary), "runs": rows,
               "total_wall_s": time.perf_counter() - t0}
        path = ROOT / "bench" / "results" / "fed.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out, indent=2, default=float) + "\n")
        print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
