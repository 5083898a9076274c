"""Omniglot for bench/fed.py: one 5-way meta-training per method and seed, three evaluations.

Every method meta-trains on 5-way 1-shot tasks of the meta-train alphabets (20 devices,
federated), and the result is scored three ways on characters it never saw: 5-way 1-shot
and 5-way 5-shot tasks of the test alphabets (Korean, Tagalog), and the 20 official 20-way
1-shot runs (alphabets outside both zips), there with the meta-learned body under a fresh
20-way head (every method and baseline alike; adaptation fits the head first).

Baselines with the same adaptation: ``baseline`` adapts from the initial weights (no
training at all); ``pretrain`` is no meta-learning: a joint classifier over the 163
meta-train characters, trained on the server for as many samples as meta-training streams
through the devices, whose body then adapts like every other (federated.pretrain).
Hyper-parameters (meta step size; pretraining learning rate) are chosen on the validation
alphabet (Sanskrit, seed 0) from two settings per method, the same budget for all.
Online learning: each method's model streams 60 drawings of 5-way test tasks (3 per seed), one
step per sample, scored prequentially (federated.online).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from federated.algorithms import make_strategy
from federated.device_report import board_report
from federated.model import Params
from federated.online import prequential
from federated.pretrain import pretrain
from federated.server import Evaluation, evaluate_heldout, train_federated
from federated.tasks import Task, make_task

FAMILY = "omniglot"
TASKS = ("omniglot-5w1s", "omniglot-5w5s", "omniglot-20w1s")
OVER_RUNS = ("omniglot-20w1s",)   # paired over the 20 official runs (per-run accuracy, mean over seeds)
DEVICES = 20
ROUNDS = 20
PER_ROUND = 5
GRID: dict[str, list[dict[str, Any]]] = {
    "pretrain": [{"lr": 0.02}, {"lr": 0.05}],
    "fedavg": [{}],
    "reptile": [{"meta_lr": 1.0}, {"meta_lr": 2.0}],
    "tinyreptile": [{"meta_lr": 0.1}, {"meta_lr": 0.3}],
    "tinymetafed": [{"meta_lr": 1.0}, {"meta_lr": 2.0}],
}
METHODS = ("baseline", "pretrain", "fedavg", "reptile", "tinyreptile", "tinymetafed")
ONLINE_DEVICES, ONLINE_SAMPLES = 3, 60


def rounds_for(algo: str, rounds: int) -> int:
    return rounds * PER_ROUND if algo == "tinyreptile" else rounds


def meta_train(algo: str, cfg: dict[str, Any], seed: int, rounds: int) -> tuple[Params, float, float]:
    """(parameters to adapt from, bytes up, bytes down per training device)."""
    task = make_task(TASKS[0], DEVICES, seed)
    if algo == "baseline":
        return task.spec.initial_params(), 0.0, 0.0
    if algo == "pretrain":
        samples = rounds * PER_ROUND * task.protocol.inner_steps
        return pretrain(task, samples=samples, lr=float(cfg["lr"]), seed=seed), 0.0, 0.0
    res = train_federated(task, make_strategy(algo, **cfg), rounds=rounds_for(algo, rounds), seed=seed)
    up, down = res.per_device(DEVICES)
    return res.params, up, down


def body_on(task: Task, params: Params) -> Params:
    """``params``' body under ``task``'s own initial head."""
    out = task.spec.initial_params()
    for name in out:
        if name not in task.spec.head:
            out[name] = params[name]
    return out


def evaluate(params: Params, seed: int, split: str) -> dict[str, Evaluation]:
    if split == "validation":
        return {TASKS[0]: evaluate_heldout(make_task(TASKS[0], DEVICES, seed), params, seed=seed, split=split)}
    out = {}
    for name in TASKS:
        task = make_task(name, DEVICES, seed)
        five_way = name != "omniglot-20w1s"  # the meta-trained 5-way head fits; 20-way gets a fresh head
        out[name] = evaluate_heldout(task, params if five_way else body_on(task, params), seed=seed)
    return out


def tune(log: Callable[[str], None]) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    chosen: dict[str, dict[str, Any]] = {"baseline": {}}
    rows: list[dict[str, Any]] = []
    for algo, grid in GRID.items():
        if len(grid) == 1:
            chosen[algo] = dict(grid[0])
            continue
        best = None
        for cfg in grid:
            t0 = time.perf_counter()
            params, up, _ = meta_train(algo, cfg, 0, ROUNDS)
            value = evaluate(params, 0, "validation")[TASKS[0]].value
            rows.append({"task": TASKS[0], "algo": algo, "config": cfg, "value": value, "bytes_up_per_device": up,
                         "wall_s": time.perf_counter() - t0})
            log(f"  tune {TASKS[0]:<15} {algo:<12} {cfg} {value:.4f}  {time.perf_counter() - t0:.0f}s")
            if best is None or value > best[0]:
                best = (value, cfg)
        assert best is not None
        chosen[algo] = dict(best[1])
    return chosen, rows


def run(seeds: list[int], chosen: dict[str, dict[str, Any]], rows: list[dict[str, Any]],
        online: dict[str, dict[str, list[list[float]]]], after_seed: Callable[[], None],
        log: Callable[[str], None], rounds: int = ROUNDS) -> None:
    boards = {name: board_report(make_task(name, DEVICES, 0)) for name in TASKS}
    for seed in seeds:
        for algo in METHODS:
            t0 = time.perf_counter()
            params, up, down = meta_train(algo, chosen[algo], seed, rounds)
            evs = evaluate(params, seed, "test")
            curve = prequential(make_task(TASKS[0], DEVICES, seed), params, seed=seed, n_devices=ONLINE_DEVICES,
                                samples=ONLINE_SAMPLES)
            online.setdefault(TASKS[0], {}).setdefault(algo, []).append([float(v) for v in curve.mean(axis=0)])
            wall = time.perf_counter() - t0
            for name, ev in evs.items():
                rows.append({"task": name, "algo": algo, "seed": seed, "metric": "accuracy", "value": ev.value,
                             "per_device": ev.per_device, "adapt_steps": ev.adapt_steps,
                             "bytes_up_per_device": up, "bytes_down_per_device": down, "config": chosen[algo],
                             "device_memory_bytes": boards[name]["stm32f746g-disco"]["peak_sram_bytes"],
                             "boards": boards[name], "engine": "ref", "precision": "int8", "qas": True,
                             "meta_trained_on": TASKS[0], "wall_s": wall})
            log(f"  omniglot seed {seed} {algo:<12} " + "  ".join(f"{n} {e.value:.4f}" for n, e in evs.items())
                + f"  online {float(np.mean(curve)):.3f}  {wall:.0f}s")
        after_seed()
