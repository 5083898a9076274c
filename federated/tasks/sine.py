"""Sine-wave regression (Finn et al.'s MAML benchmark): each device is one sine function.

y = A sin(x + phi) with amplitude A in [0.1, 5], phase phi in [0, pi], x in [-5, 5]. A
device streams fresh (x, y) pairs; a held-out device adapts on k = 10 points and is scored
by the mean squared error on 100 evenly spaced points. Validation devices are further
fresh sine functions.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from federated.model import ModelSpec
from federated.tasks.base import DeviceData, Protocol, Task, head_of, mlp

SIZES = [1, 40, 40, 1]


class SineTask(Task):
    name = "sine"
    metric = "mse"
    loss = "mse"
    k_shot = 10
    heldout = 20
    validation = 10

    def __init__(self, n_devices: int, seed: int, protocol: Protocol | None = None) -> None:
        protocol = protocol or Protocol(inner_steps=20, lr=0.01, adapt_epochs=4, head_epochs=4)
        super().__init__(n_devices, seed, protocol)

    @cached_property
    def spec(self) -> ModelSpec:
        rng = np.random.default_rng([self.seed, 0])
        grid = np.linspace(-5.0, 5.0, 101, dtype=np.float32)[:, None]
        return ModelSpec(mlp("sine_mlp", SIZES, rng, input_scale=3.0), grid, (-5.5, 5.5), head_of(SIZES))

    @property
    def n_heldout(self) -> int:
        return self.heldout

    def _make(self, stream: int, i: int) -> DeviceData:
        rng = np.random.default_rng([self.seed, stream, i])
        amp, phase = rng.uniform(0.1, 5.0), rng.uniform(0.0, np.pi)

        def f(x: np.ndarray) -> np.ndarray:
            return (amp * np.sin(x + phase)).astype(np.float32)

        pool_x = rng.uniform(-5.0, 5.0, (1000, 1)).astype(np.float32)
        sup_x = rng.uniform(-5.0, 5.0, (self.k_shot, 1)).astype(np.float32)
        q_x = np.linspace(-5.0, 5.0, 100, dtype=np.float32)[:, None]
        return DeviceData((pool_x, f(pool_x)), (sup_x, f(sup_x)), (q_x, f(q_x)))

    @property
    def n_validation(self) -> int:
        return self.validation

    def device(self, i: int) -> DeviceData:
        return self._make(1, i)

    def validation_device(self, j: int) -> DeviceData:
        return self._make(3, j)

    def heldout_device(self, j: int) -> DeviceData:
        return self._make(2, j)
