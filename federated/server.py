"""The server loop: rounds of select -> send -> train on devices -> validate -> aggregate,
and the evaluation that matters: k-shot adaptation on held-out devices."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from federated.algorithms import Strategy, Update
from federated.client import DeviceFactory, adapt, device_for, memory_estimate
from federated.model import MalformedUpdate, Params, decode_up, encode_down, message_bytes, real_params
from federated.tasks import Task
from federated.transports import InProcessTransport, Job, Transport
from tte.errors import TteError

log = logging.getLogger("federated")


@dataclass
class RunResult:
    params: Params
    rounds: int
    bytes_up: dict[int, int]
    bytes_down: dict[int, int]
    excluded: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, float]] = field(default_factory=list)
    wall_s: float = 0.0

    def per_device(self, n_devices: int) -> tuple[float, float]:
        """Mean bytes up and down per training device over the whole run."""
        return sum(self.bytes_up.values()) / n_devices, sum(self.bytes_down.values()) / n_devices


def train_federated(task: Task, strategy: Strategy, *, rounds: int, seed: int, transport: Transport | None = None,
                    engine: str = "ref", on_round: Callable[[int, dict[str, float]], None] | None = None) -> RunResult:
    """Meta-train ``task``'s model with ``strategy`` for ``rounds`` rounds."""
    transport = transport or InProcessTransport(DeviceFactory(task.name, task.n_devices, task.seed, engine))
    return transport.session(lambda t: _loop(task, strategy, rounds, seed, t, on_round))


def _loop(task: Task, strategy: Strategy, rounds: int, seed: int, transport: Transport,
          on_round: Callable[[int, dict[str, float]], None] | None) -> RunResult:
    t0 = time.perf_counter()
    spec = task.spec
    params = spec.initial_params()
    send = strategy.communicated(spec.param_names, spec.head)
    rng = np.random.default_rng([seed, 5])
    result = RunResult(params, rounds, {}, {})
    for rnd in range(rounds):
        pool = transport.available(task.n_devices)  # e.g. the devices online in the knowledge graph
        selected = (strategy.select(rnd, task.n_devices, rng) if pool is None
                    else [pool[i] for i in strategy.select(rnd, len(pool), rng)])
        q = spec.device_graph(params)
        msg = encode_down(q, send)
        config = {**strategy.configure(rnd, rounds, task.protocol), "round": rnd, "seed": seed, "send": ",".join(send)}
        replies = {r.device: r for r in transport.train_round([Job(d, msg, config) for d in selected])}
        sent = real_params(q, send)
        updates, losses = [], []
        for d in selected:
            result.bytes_down[d] = result.bytes_down.get(d, 0) + message_bytes(msg)
            reply = replies.get(d)
            reason = None
            if reply is None:
                reason = "no reply"
            elif reply.error is not None or reply.msg is None:
                reason = reply.error or "empty reply"
            else:
                result.bytes_up[d] = result.bytes_up.get(d, 0) + message_bytes(reply.msg)
                try:
                    trained = decode_up(q, reply.msg, send)
                except MalformedUpdate as e:
                    reason = f"malformed update: {e}"
                else:
                    updates.append(Update(d, trained, int(reply.metrics.get("samples", 0))))
                    losses.append(float(reply.metrics.get("loss", np.nan)))
            if reason is not None:
                log.warning("round %d: device %d excluded: %s", rnd, d, reason)
                result.excluded.append({"round": rnd, "device": d, "reason": reason})
        params = strategy.aggregate(rnd, rounds, params, sent, updates)
        stats = {"round": float(rnd), "devices": float(len(updates)), "excluded": float(len(selected) - len(updates)),
                 "loss": float(np.mean(losses)) if losses else float("nan")}
        result.history.append(stats)
        if on_round:
            on_round(rnd, stats)
    result.params = params
    result.wall_s = time.perf_counter() - t0
    return result


@dataclass
class Evaluation:
    value: float                 # mean metric over held-out devices after k-shot adaptation
    per_device: list[float]
    memory: dict[str, int]       # one device's training-step memory
    adapt_steps: list[int] = field(default_factory=list)  # training steps each device's adaptation took


def evaluate_heldout(task: Task, params: Params, *, seed: int, engine: str = "ref", n_heldout: int | None = None,
                     split: str = "test", adapt_lr: float | None = None) -> Evaluation:
    """Adapt ``params`` on each held-out device's k-shot support set; score its query set.
    Every strategy and the baseline adapt under the same protocol (``federated.client.adapt``).

    ``split="test"``: the test devices; ``split="validation"``: the validation devices, on
    which hyper-parameters are chosen. ``adapt_lr``: the adaptation's on-device learning
    rate (default: the task's)."""
    q = task.spec.device_graph(params)
    values: list[float] = []
    steps: list[int] = []
    memory: dict[str, int] = {}
    available = task.n_heldout if split == "test" else task.n_validation
    if available < 1:
        raise TteError(f"{task.name} with {task.n_devices} training devices has no {split} devices")
    for j in range(min(available, n_heldout or available)):
        dev = device_for(task, j, engine=engine, split=split)
        res = adapt(dev, q, seed=seed, lr=adapt_lr)
        values.append(res.value)
        steps.append(res.steps)
        memory = memory or memory_estimate(res.trainer)
    return Evaluation(float(np.mean(values)), values, memory, steps)
