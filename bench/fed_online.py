"""Online learning on the generic tasks of bench/fed.py (sine, HAR, fsdd-speakers).

After meta-training with the settings bench/fed.py chose (same rounds, same strategy
configs, no new search), each method's model and the baselines (untrained; pretrained
no-meta-learning where the task has one) stream samples on held-out test devices: one int8
training step per sample, each scored before its step, no replay buffer
(federated.online.prequential). Classification scores 1/0 per sample, sine regression the
squared error; curves are the per-sample mean over devices, one per seed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from federated.algorithms import make_strategy
from federated.model import Params
from federated.online import prequential
from federated.pretrain import pretrain
from federated.server import train_federated
from federated.tasks import Task, make_task

SAMPLES = 100     # samples streamed per held-out device
MAX_DEVICES = 5   # held-out test devices streamed per seed (fewer where the task has fewer)


def method_params(task: Task, algo: str, setting: dict[str, Any], *, seed: int, rounds: int, per_round: int,
                  rounds_for: Callable[[str, int], int]) -> Params:
    """The weights ``algo`` sends to a new device: the initial ones (``baseline``), the
    pretrained body (``pretrain``), or the result of meta-training with ``setting``."""
    if algo == "baseline":
        return task.spec.initial_params()
    if algo == "pretrain":
        return pretrain(task, samples=rounds * per_round * task.protocol.inner_steps, lr=float(setting["lr"]),
                        seed=seed)
    cfg = {k: v for k, v in setting.items() if k != "adapt_lr"}
    return train_federated(task, make_strategy(algo, **cfg), rounds=rounds_for(algo, rounds), seed=seed).params


def online_curves(task_name: str, devices: int, seeds: list[int], chosen: dict[str, dict[str, Any]], *,
                  rounds: int, per_round: int, rounds_for: Callable[[str, int], int], algos: tuple[str, ...],
                  samples: int = SAMPLES, max_devices: int = MAX_DEVICES,
                  log: Callable[[str], None] = print) -> tuple[dict[str, list[list[float]]], dict[str, Any]]:
    """Per method, one prequential curve per seed (mean over the held-out devices), and what
    was run (metric, devices, samples, seeds, rounds) for the result file."""
    curves: dict[str, list[list[float]]] = {}
    n_dev = 0
    metric = ""
    methods = [m for m in ("baseline", "pretrain", *algos) if m == "baseline" or m in chosen]
    for seed in seeds:
        task = make_task(task_name, devices, seed)
        metric = task.metric
        n_dev = min(task.n_heldout, max_devices)
        for algo in methods:
            t0 = time.perf_counter()
            params = method_params(task, algo, chosen.get(algo, {}), seed=seed, rounds=rounds, per_round=per_round,
                                   rounds_for=rounds_for)
            lr = chosen.get(algo, {}).get("adapt_lr")
            scores = prequential(task, params, seed=seed, n_devices=n_dev, samples=samples, lr=lr)
            curves.setdefault(algo, []).append([float(v) for v in scores.mean(axis=0)])
            log(f"  online {task_name:<14} seed {seed} {algo:<12} {metric} {float(np.mean(scores)):.4f}  "
                f"{time.perf_counter() - t0:.0f}s")
    setup = {"metric": metric, "devices_per_seed": n_dev, "samples": samples, "seeds": list(seeds),
             "rounds": rounds, "methods": methods}
    return curves, setup
