"""What a federated task provides: the model every device runs, and each device's data.

A device sees its data one sample at a time (online learning, batch size 1): ``stream``
yields the samples it trains on during meta-training; a held-out device adapts on its
k-shot ``support`` set and is scored on its ``query`` set.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from federated.model import ModelSpec
from tte.ir import Graph, Tensor

Arrays = tuple[np.ndarray, np.ndarray]


@dataclass
class DeviceData:
    """One device: a pool (or generator) to stream from, a support set, a query set."""

    pool: Arrays
    support: Arrays
    query: Arrays

    def stream(self, rng: np.random.Generator, n: int) -> Arrays:
        """``n`` samples in arrival order (drawn from the pool, without repeats while it lasts)."""
        xs, ys = self.pool
        idx = np.concatenate([rng.permutation(len(xs)) for _ in range(-(-n // len(xs)))])[:n]
        return xs[idx], ys[idx]


@dataclass(frozen=True)
class Protocol:
    """How devices train: samples per participation, learning rates, k-shot adaptation.

    Adaptation on a held-out device is one protocol for every strategy and the baseline:
    ``head_epochs`` passes over the support set fitting the head alone, then
    ``adapt_epochs`` passes training everything (``federated.client.adapt``)."""

    inner_steps: int = 20        # online samples (steps) per participation in meta-training
    lr: float = 0.01             # on-device learning rate (meta-training and adaptation)
    adapt_epochs: int = 5        # passes over the k-shot support set training every layer
    head_epochs: int = 5         # passes before those fitting the head alone (body frozen)
    scheme: str = "all-layers"   # tte sparse-update scheme on the device (or "all-layers")
    memory_budget: int = 256 * 1024  # device SRAM for one training step (bytes)


class Task(ABC):
    """A federated task: ``n_devices`` training devices and ``n_heldout`` held-out ones."""

    name: str = ""
    metric: str = ""           # "mse" (lower is better) or "accuracy" (higher is better)
    loss: str = ""             # tte.Trainer loss: "mse" or "softmax_ce"

    def __init__(self, n_devices: int, seed: int, protocol: Protocol) -> None:
        self.n_devices = n_devices
        self.seed = seed
        self.protocol = protocol

    @property
    @abstractmethod
    def spec(self) -> ModelSpec: ...

    @property
    @abstractmethod
    def n_heldout(self) -> int: ...

    @abstractmethod
    def device(self, i: int) -> DeviceData: ...

    @abstractmethod
    def heldout_device(self, j: int) -> DeviceData: ...

    @property
    def n_validation(self) -> int:
        """Validation devices: held out from training and disjoint from the test devices
        (``heldout_device``); hyper-parameters are chosen on these, never on the test devices."""
        return 0

    def validation_device(self, j: int) -> DeviceData:
        raise IndexError(f"{self.name} has no validation device {j}")

    def better(self, a: float, b: float) -> bool:
        """True when metric value ``a`` beats ``b``."""
        return a < b if self.metric == "mse" else a > b


def mlp(name: str, sizes: list[int], rng: np.random.Generator, input_scale: float = 1.0) -> Graph:
    """A float MLP of fully_connected + ReLU layers (He-initialized), input ``(1, sizes[0])``.

    The last layer is the head: ``fc{len(sizes) - 2}.w`` / ``.b``.
    """
    g = Graph(name)
    g.add_tensor(Tensor("x", (1, sizes[0])))
    g.inputs = ["x"]
    cur = "x"
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        last = i == len(sizes) - 2
        std = np.sqrt((1.0 if last else 2.0) / fan_in) / (input_scale if i == 0 else 1.0)
        g.add_const(f"fc{i}.w", (rng.standard_normal((fan_out, fan_in)) * std).astype(np.float32))
        g.add_const(f"fc{i}.b", np.zeros(fan_out, np.float32))
        g.add_node("fully_connected", [cur, f"fc{i}.w", f"fc{i}.b"], f"h{i}",
                   {"activation": "none" if last else "relu"})
        cur = f"h{i}"
    g.outputs = [cur]
    g.validate()
    return g


def head_of(sizes: list[int]) -> list[str]:
    last = len(sizes) - 2
    return [f"fc{last}.w", f"fc{last}.b"]
