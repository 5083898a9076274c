"""Federated strategies behind one interface (``Strategy``)."""

from __future__ import annotations

from typing import Any

from federated.algorithms.base import Strategy, Update
from federated.algorithms.fedavg import FedAvg
from federated.algorithms.reptile import Reptile
from federated.algorithms.tinymetafed import TinyMetaFed
from federated.algorithms.tinyreptile import TinyReptile
from tte.errors import TteError

ALGORITHMS: dict[str, type[Strategy]] = {c.name: c for c in (FedAvg, Reptile, TinyReptile, TinyMetaFed)}

__all__ = ["ALGORITHMS", "FedAvg", "Reptile", "Strategy", "TinyMetaFed", "TinyReptile", "Update", "make_strategy"]


def make_strategy(name: str, **kwargs: Any) -> Strategy:
    if name not in ALGORITHMS:
        raise TteError(f"unknown algorithm '{name}' (known: {', '.join(ALGORITHMS)})")
    return ALGORITHMS[name](**kwargs)
