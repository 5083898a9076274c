"""TinyReptile (Ren et al.): serial participation, one device per round; the device
streams its samples one at a time (online learning, batch size 1) and the server takes a
Reptile outer step toward its result with a linearly decaying meta step size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from federated.algorithms.base import Strategy


@dataclass
class TinyReptile(Strategy):
    name: ClassVar[str] = "tinyreptile"
    clients_per_round: int = 1
    schedule: str = "linear"
