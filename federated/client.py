"""A device: trains the int8 model it receives with tte.Trainer, one sample at a time.

This is the firmware's code path: the same int8 training graph (tte.training.autodiff), the same
sparse-update scheme, quantization-aware scaling (QAS) and stochastic rounding of weight
updates smaller than one int8 step, executed by a tte engine: "ref" (tte.reference, the
default) or "c" (the generated C step of the firmware, built for the host), which give the
same results. A device refuses a model whose training step does not fit its SRAM budget.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from federated.model import Message, apply_down, encode_up
from federated.tasks.base import DeviceData, Protocol, Task
from tte.errors import TteError
from tte.ir import Graph
from tte.training.autodiff import ParamUpdate
from tte.training.sparse import UpdateScheme
from tte.training.trainer import Trainer

log = logging.getLogger("federated")

Config = dict[str, Any]
FAULTS = ("dropout", "nan", "malformed")


class DeviceDropout(RuntimeError):
    """The device went away in the middle of a round (power, radio, user)."""


def trainer_seed(*parts: int) -> int:
    """A stable 31-bit seed for the stochastic rounding of one device in one round."""
    return int(np.random.default_rng(list(parts)).integers(0, 2**31 - 1))


def memory_estimate(tr: Trainer) -> dict[str, int]:
    """SRAM for one training step: trainable parameters, activations saved for the backward
    pass, and the largest working set of one op (an estimate until tte.compiler.compile's report)."""
    g = tr.training.graph
    params = set(tr.training.updates) | {n for n, t in g.tensors.items() if t.is_const}
    working = 0
    for node in g.nodes:
        names = {n for n in node.inputs + node.outputs if n and n not in params}
        working = max(working, sum(g.tensors[n].nbytes for n in names))
    total = tr.trainable_bytes + tr.saved_bytes + working
    return {"trainable_bytes": tr.trainable_bytes, "saved_bytes": tr.saved_bytes, "working_bytes": working,
            "sram_bytes": total}


class AllLayers(UpdateScheme):
    """Every conv and fully-connected weight and bias. (tte's ``full`` preset covers conv
    layers and the classifier only, so an MLP's hidden layers need this.)"""

    def __init__(self) -> None:
        super().__init__(name="all-layers")

    def to_plan(self, graph: Graph) -> dict[str, ParamUpdate]:
        return {n: ParamUpdate() for node in graph.nodes if node.op in ("conv2d", "fully_connected")
                for n in node.inputs[1:3] if n}


def resolve(scheme: str) -> str | UpdateScheme:
    return AllLayers() if scheme == "all-layers" else scheme


class Device:
    """One microcontroller with its local data stream."""

    def __init__(self, device_id: int, data: DeviceData, firmware: Graph, *, loss: str, protocol: Protocol,
                 head: list[str], engine: str = "ref") -> None:
        self.id = device_id
        self.data = data
        self.firmware = firmware
        self.loss = loss
        self.protocol = protocol
        self.head = head
        self.engine = engine

    def trainer(self, graph: Graph, *, lr: float, seed: int, scheme: str | None = None) -> Trainer:
        tr = Trainer(graph, scheme=resolve(scheme or self.protocol.scheme), precision="int8", lr=lr, loss=self.loss,
                     engine=self.engine, qas=True, rounding="stochastic", seed=seed)
        mem = memory_estimate(tr)["sram_bytes"]
        if mem > self.protocol.memory_budget:
            raise TteError(f"training step needs {mem:,} bytes of SRAM, the device has "
                           f"{self.protocol.memory_budget:,}", file=graph.name)
        return tr

    def train(self, msg: Mapping[str, np.ndarray], config: Config) -> tuple[Message, dict[str, float]]:
        """One participation: apply the model, train online on fresh samples, encode the result.

        ``steps`` is the participation's whole on-device budget (one sample per step), the same
        for every strategy; a strategy whose head stays local spends ``recon_steps`` of them
        refitting the head with the body frozen, and the rest training everything."""
        rnd, seed = int(config["round"]), int(config["seed"])
        steps = int(config["steps"])
        recon = min(int(config.get("recon_steps", 0)), steps)
        lr = float(config["lr"])
        top_p = float(config.get("top_p", 0.0)) or None
        send = [n for n in str(config["send"]).split(",") if n]
        sent = apply_down(self.firmware, msg)
        rng = np.random.default_rng([seed, rnd, self.id, 7])
        xs, ys = self.data.stream(rng, steps)
        graph = sent
        done = 0
        if recon:  # partial local reconstruction: fit the local head with the body frozen
            head_tr = self.trainer(graph, lr=lr, seed=trainer_seed(seed, rnd, self.id, 1), scheme="classifier-only")
            for i in range(recon):
                self._step(head_tr, xs[i:i + 1], ys[i:i + 1], i)
            graph, done = head_tr.graph, head_tr.steps
        tr = self.trainer(graph, lr=lr, seed=trainer_seed(seed, rnd, self.id, 2))
        losses = [self._step(tr, xs[i:i + 1], ys[i:i + 1], i) for i in range(recon, steps)]
        up = encode_up(sent, tr.graph, send, top_p)
        return up, {"loss": float(np.mean(losses)) if losses else float("nan"), "samples": float(steps),
                    "steps": float(done + tr.steps)}

    def _step(self, tr: Trainer, x: np.ndarray, y: np.ndarray, i: int) -> float:
        return tr.step(x, y)


class FaultyDevice(Device):
    """A device that misbehaves on purpose (for resilience tests and demos):
    ``dropout`` vanishes halfway through its local steps, ``nan`` replies with non-finite
    float values, ``malformed`` replies with arrays of the wrong shape."""

    def __init__(self, *args: Any, fault: str, **kwargs: Any) -> None:
        if fault not in FAULTS:
            raise TteError(f"unknown fault '{fault}' (known: {', '.join(FAULTS)})")
        super().__init__(*args, **kwargs)
        self.fault = fault
        self._steps = 0

    def train(self, msg: Mapping[str, np.ndarray], config: Config) -> tuple[Message, dict[str, float]]:
        self._steps = int(config["steps"])
        up, metrics = super().train(msg, config)
        if self.fault == "nan":
            up = {k: np.full(v.shape, np.nan, np.float32) for k, v in up.items()}
        elif self.fault == "malformed":
            up = {k: v.ravel()[: max(1, v.size // 2)] for k, v in up.items()}
        return up, metrics

    def _step(self, tr: Trainer, x: np.ndarray, y: np.ndarray, i: int) -> float:
        if self.fault == "dropout" and i >= self._steps // 2:
            raise DeviceDropout(f"device {self.id} dropped out after {i} of its local steps")
        return super()._step(tr, x, y, i)


@dataclass(frozen=True)
class DeviceFactory:
    """Builds device ``i`` of a task anywhere (picklable: Flower's workers rebuild devices
    from it). ``faults`` maps device ids to a fault mode."""

    task: str
    n_devices: int
    seed: int
    engine: str = "ref"
    faults: tuple[tuple[int, str], ...] = ()

    def __call__(self, i: int) -> Device:
        from federated.tasks import make_task

        task = make_task(self.task, self.n_devices, self.seed)
        return device_for(task, i, engine=self.engine, fault=dict(self.faults).get(i))


_FIRMWARE: dict[tuple[str, int, int], Graph] = {}


def firmware(task: Task) -> Graph:
    """The int8 model flashed on every device (the task's initial weights, quantized)."""
    key = (task.name, task.n_devices, task.seed)
    if key not in _FIRMWARE:
        spec = task.spec
        _FIRMWARE[key] = spec.device_graph(spec.initial_params())
    return _FIRMWARE[key]


SPLITS = ("train", "validation", "test")


def device_for(task: Task, i: int, *, engine: str = "ref", fault: str | None = None, split: str = "train") -> Device:
    """Device ``i`` of a split: a training device, a validation device (for choosing
    hyper-parameters) or a held-out test device."""
    if split not in SPLITS:
        raise TteError(f"unknown device split '{split}' (known: {', '.join(SPLITS)})")
    data = {"train": task.device, "validation": task.validation_device, "test": task.heldout_device}[split](i)
    kw: dict[str, Any] = dict(loss=task.loss, protocol=task.protocol, head=task.spec.head, engine=engine)
    if fault:
        return FaultyDevice(i, data, firmware(task), fault=fault, **kw)
    return Device(i, data, firmware(task), **kw)


@dataclass
class Adapted:
    """One held-out device after k-shot adaptation."""

    value: float      # metric on its query set
    trainer: Trainer  # the trainer of the last phase (its graph holds the adapted weights)
    steps: int        # on-device training steps the adaptation took (both phases)


def adapt(device: Device, graph: Graph, *, seed: int, lr: float | None = None) -> Adapted:
    """k-shot adaptation on a held-out device, the same protocol for every strategy and for
    the baseline: ``head_epochs`` online passes over the support set fitting the head alone
    (body frozen: a new task's head starts from weights that do not know its labels), then
    ``adapt_epochs`` passes training every layer; then the metric (mse or accuracy) on the
    query set. ``lr`` overrides the protocol's on-device learning rate."""
    p = device.protocol
    lr = lr or p.lr
    xs, ys = device.data.support
    rng = np.random.default_rng([seed, device.id, 11])
    done = 0
    if p.head_epochs:
        head_tr = device.trainer(graph, lr=lr, seed=trainer_seed(seed, device.id, 3), scheme="classifier-only")
        for _ in range(p.head_epochs):
            for i in rng.permutation(len(xs)):
                head_tr.step(xs[i:i + 1], ys[i:i + 1])
        graph, done = head_tr.graph, head_tr.steps
    tr = device.trainer(graph, lr=lr, seed=trainer_seed(seed, device.id, 4))
    for _ in range(p.adapt_epochs):
        for i in rng.permutation(len(xs)):
            tr.step(xs[i:i + 1], ys[i:i + 1])
    qx, qy = device.data.query
    return Adapted(tr.evaluate(qx, qy), tr, done + tr.steps)
