"""How the server reaches devices. A transport runs one round: it delivers each ``Job``
(the model message and the round's configuration) and returns one ``Reply`` per device
that answered: its update or the error that took it out of the round."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from federated.model import Message

T = TypeVar("T")


@dataclass
class Job:
    device: int
    msg: Message
    config: dict[str, Any]


@dataclass
class Reply:
    device: int
    msg: Message | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None


class Transport(ABC):
    @abstractmethod
    def train_round(self, jobs: list[Job]) -> list[Reply]: ...

    def available(self, n_devices: int) -> list[int] | None:
        """The devices a round may select from, asked before each round (None: all `n_devices`)."""
        return None

    def session(self, loop: Callable[[Transport], T]) -> T:
        """Run the server loop ``loop(transport)``; transports that own the event loop
        (Flower's simulation engine) run it inside their server app."""
        return loop(self)
