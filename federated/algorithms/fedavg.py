"""FedAvg (McMahan et al., 2017): several devices per round, the new model is their
sample-weighted average (an outer step of size 1); no meta-learning step size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from federated.algorithms.base import Strategy, Update


@dataclass
class FedAvg(Strategy):
    name: ClassVar[str] = "fedavg"

    def weights(self, updates: list[Update]) -> list[float]:
        total = sum(u.samples for u in updates) or len(updates)
        return [(u.samples or 1) / total for u in updates]
