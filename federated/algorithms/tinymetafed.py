"""TinyMetaFed (Ren et al.): several devices per round, partial local reconstruction (the
head stays on the device and is refitted there, with the body frozen, before the body
trains; within the same number of on-device steps per participation as every other
strategy), top-P% selective communication (a device sends back only the P% of entries
whose real value changed most), online learning, and a cosine-annealed meta step size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from federated.algorithms.base import Strategy


@dataclass
class TinyMetaFed(Strategy):
    name: ClassVar[str] = "tinymetafed"
    schedule: str = "cosine"
    top_p: float | None = 0.25
    local_head: bool = True
    recon_fraction: float = 0.5
