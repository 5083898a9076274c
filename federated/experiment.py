"""One experiment, as `tte fed run` and bench/fed.py run it: meta-train with a strategy,
then adapt on held-out devices from the result and from the initial weights (baseline)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from federated.algorithms import make_strategy
from federated.client import DeviceFactory
from federated.device_report import board_report
from federated.server import evaluate_heldout, train_federated
from federated.tasks import make_task
from federated.transports import InProcessTransport, Transport
from tte.errors import TteError

TRANSPORTS = ("inprocess", "flower")


def make_transport(name: str, factory: DeviceFactory, *, num_supernodes: int = 10) -> Transport:
    if name == "inprocess":
        return InProcessTransport(factory)
    if name == "flower":
        from federated.transports.flower import FlowerTransport
        return FlowerTransport(factory, num_supernodes=num_supernodes)
    raise TteError(f"unknown transport '{name}' (known: {', '.join(TRANSPORTS)})")


def run_experiment(task_name: str, algo: str, *, devices: int, rounds: int, seed: int, engine: str = "ref",
                   transport: str = "inprocess", clients_per_round: int | None = None, n_heldout: int | None = None,
                   baseline: bool = True, on_round: Callable[[int, dict[str, float]], None] | None = None,
                   strategy_kwargs: dict[str, Any] | None = None, split: str = "test",
                   adapt_lr: float | None = None) -> dict[str, Any]:
    """``split="validation"`` scores on the validation devices (choosing hyper-parameters),
    ``"test"`` on the held-out test devices. ``adapt_lr``: the held-out devices' adaptation
    learning rate (default: the task's on-device rate); the baseline adapts with the same."""
    if rounds < 1:
        raise TteError(f"need at least one round, got {rounds}")
    task = make_task(task_name, devices, seed)
    boards = board_report(task, code_size=())  # refuses a model that does not fit a board, before training
    kwargs = dict(strategy_kwargs or {})
    if clients_per_round is not None:
        kwargs["clients_per_round"] = clients_per_round
    strategy = make_strategy(algo, **kwargs)
    factory = DeviceFactory(task_name, devices, seed, engine)
    t0 = time.perf_counter()
    run = train_federated(task, strategy, rounds=rounds, seed=seed, engine=engine,
                          transport=make_transport(transport, factory, num_supernodes=min(devices, 10)),
                          on_round=on_round)
    train_s = time.perf_counter() - t0
    ev = evaluate_heldout(task, run.params, seed=seed, engine=engine, n_heldout=n_heldout, split=split,
                          adapt_lr=adapt_lr)
    base = (evaluate_heldout(task, task.spec.initial_params(), seed=seed, engine=engine, n_heldout=n_heldout,
                             split=split, adapt_lr=adapt_lr) if baseline else None)
    up, down = run.per_device(devices)
    return {
        "task": task.name, "algo": strategy.name, "metric": task.metric,
        "value": ev.value, "baseline_value": None if base is None else base.value,
        "per_device": ev.per_device, "baseline_per_device": None if base is None else base.per_device,
        "adapt_steps": ev.adapt_steps, "baseline_adapt_steps": None if base is None else base.adapt_steps,
        "bytes_up_per_device": up, "bytes_down_per_device": down,
        "devices": devices, "rounds": rounds, "clients_per_round": strategy.clients_per_round, "seed": seed,
        "engine": engine, "transport": transport, "precision": "int8", "qas": True,
        "split": split, "heldout_devices": len(ev.per_device), "meta_lr": strategy.meta_lr,
        "schedule": strategy.schedule, "top_p": strategy.top_p, "local_head": strategy.local_head,
        "k_shot": getattr(task, "k_shot", None),
        "adapt_lr": adapt_lr or task.protocol.lr,
        "device_memory_bytes": ev.memory.get("sram_bytes"), "device_memory": ev.memory, "boards": boards,
        "excluded": run.excluded, "train_wall_s": round(train_s, 3),
        "wall_s": round(time.perf_counter() - t0, 3),
    }
