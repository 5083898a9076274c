"""Reptile (Nichol et al., 2018), parallel (batched) version: several devices per round,
each adapts from theta; theta moves toward the mean of their adapted parameters with a
linearly decaying meta step size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from federated.algorithms.base import Strategy


@dataclass
class Reptile(Strategy):
    name: ClassVar[str] = "reptile"
    schedule: str = "linear"
