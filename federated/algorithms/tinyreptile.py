"""TinyReptile (Ren et al.): serial participation, one device per round; the device
streams its samples one at a time (online learning, batch size 1) and the server takes a
Reptile outer step toward its result with a linearly decaying meta step size.

Why beta_0 = 0.3 and not 1.0. With one device per round and beta near 1 for hundreds of
rounds, the server model is essentially the last device's fine-tuned model: serial SGD
through person after person at a fixed on-device learning rate. Measured on HAR (seed 0,
500 rounds, beta_0 = 1): held-out accuracy 0.92 at round 100, then the weights grow
(largest |w| 1.1 -> 1.6 by round 175), larger weights make the same learning rate a larger
effective step, the devices' local loss climbs (0.02 -> 4), their updates grow 10-50x,
every round saturates int8 weights at the headroom (x1.33 per round: |w| 1.6 -> 7 by
round 250) and the model never recovers (accuracy 0.35). Not the first step: the early
rounds are the good ones. With beta_0 = 0.3 (or 0.1) the server averages over several
recent devices and the weights stay bounded: seed 2, which collapsed with beta_0 = 1,
reaches 0.90 by round 350 with beta_0 = 0.3 (largest |w| 0.91). bench/fed.py chooses
beta_0 per task on validation devices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from federated.algorithms.base import Strategy


@dataclass
class TinyReptile(Strategy):
    name: ClassVar[str] = "tinyreptile"
    clients_per_round: int = 1
    schedule: str = "linear"
    meta_lr: float = 0.3
