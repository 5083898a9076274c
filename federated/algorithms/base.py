"""One interface for every federated strategy, Flower-style: a few well-named methods.

A round: ``select`` the devices, ``configure`` what they do (samples, learning rate, head
reconstruction, top-P%), send them the ``communicated`` parameters, and ``aggregate``
their trained parameters into the server's float master parameters. Every algorithm is a
Reptile-type outer step

    theta <- theta + beta_r * sum_i w_i (phi_i - theta_sent)

with ``phi_i`` the parameters device i trained (int8, dequantized) from ``theta_sent`` (what
it received, dequantized); they differ in who takes part, the weights ``w_i``, the meta step
size schedule ``beta_r``, and what crosses the radio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from federated.model import Params
from federated.tasks.base import Protocol


@dataclass
class Update:
    """A device's accepted contribution to a round."""

    device: int
    params: Params        # trained values of the communicated parameters (float)
    samples: int


@dataclass
class Strategy:
    """Base strategy: ``clients_per_round`` devices drawn at random, uniform average, constant step."""

    name: ClassVar[str] = "base"
    clients_per_round: int = 5
    meta_lr: float = 1.0              # beta_0
    schedule: str = "constant"        # constant | linear | cosine
    top_p: float | None = None        # fraction of entries a device sends back (None: all)
    local_head: bool = False          # the head never leaves the device (partial local reconstruction)
    recon_fraction: float = 0.0       # share of a participation's steps that refit the local head first

    def select(self, rnd: int, n_devices: int, rng: np.random.Generator) -> list[int]:
        k = min(self.clients_per_round, n_devices)
        return sorted(int(i) for i in rng.choice(n_devices, size=k, replace=False))

    def communicated(self, names: list[str], head: list[str]) -> list[str]:
        return [n for n in names if not (self.local_head and n in head)]

    def configure(self, rnd: int, rounds: int, protocol: Protocol) -> dict[str, Any]:
        return {"steps": protocol.inner_steps, "lr": protocol.lr,
                "recon_steps": int(round(self.recon_fraction * protocol.inner_steps)) if self.local_head else 0,
                "top_p": float(self.top_p or 0.0)}

    def step_size(self, rnd: int, rounds: int) -> float:
        frac = rnd / max(rounds, 1)
        if self.schedule == "linear":
            return self.meta_lr * (1.0 - frac)
        if self.schedule == "cosine":
            return self.meta_lr * 0.5 * (1.0 + math.cos(math.pi * frac))
        return self.meta_lr

    def weights(self, updates: list[Update]) -> list[float]:
        return [1.0 / len(updates)] * len(updates)

    def aggregate(self, rnd: int, rounds: int, params: Params, sent: Params, updates: list[Update]) -> Params:
        """New master parameters; ``sent`` holds the dequantized values the devices received."""
        if not updates:
            return params
        beta = self.step_size(rnd, rounds)
        new = dict(params)
        for name in sent:
            delta = sum(w * (u.params[name] - sent[name]) for w, u in zip(self.weights(updates), updates))
            new[name] = (params[name] + beta * delta).astype(np.float32)
        return new
