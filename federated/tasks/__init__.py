"""Federated tasks: sine regression, N-way k-shot image classification (digits, Omniglot), per-person HAR."""

from __future__ import annotations

from collections.abc import Callable

from federated.tasks.base import DeviceData, Protocol, Task
from tte.errors import TteError

__all__ = ["TASKS", "DeviceData", "Protocol", "Task", "make_task"]


def _sine(n: int, seed: int) -> Task:
    from federated.tasks.sine import SineTask
    return SineTask(n, seed)


def _fewshot(dataset: str) -> Callable[[int, int], Task]:
    def make(n: int, seed: int) -> Task:
        from federated.tasks.fewshot import FewShotTask
        return FewShotTask(n, seed, dataset=dataset)
    return make


def _omniglot(n_way: int, k_shot: int, official: bool = False) -> Callable[[int, int], Task]:
    def make(n: int, seed: int) -> Task:
        from federated.tasks.omniglot import OmniglotTask
        return OmniglotTask(n, seed, n_way=n_way, k_shot=k_shot, official=official)
    return make


def _fsdd(n: int, seed: int) -> Task:
    from federated.tasks.fsdd_speakers import FsddSpeakerTask
    return FsddSpeakerTask(n, seed)


def _har(n: int, seed: int) -> Task:
    from federated.tasks.har import HarTask
    return HarTask(n, seed)


TASKS: dict[str, Callable[[int, int], Task]] = {
    "sine": _sine,
    "fewshot-digits": _fewshot("digits"),
    "fewshot-mnist": _fewshot("mnist"),
    "fewshot-fashion": _fewshot("fashion-mnist"),
    "har": _har,
    "fsdd-speakers": _fsdd,
    "omniglot": _omniglot(5, 1),
    "omniglot-5w1s": _omniglot(5, 1),
    "omniglot-5w5s": _omniglot(5, 5),
    "omniglot-20w1s": _omniglot(20, 1, official=True),
}

_CACHE: dict[tuple[str, int, int], Task] = {}


def make_task(name: str, n_devices: int, seed: int) -> Task:
    """A task by name (see ``TASKS``) with ``n_devices`` training devices."""
    if name not in TASKS:
        raise TteError(f"unknown task '{name}' (known: {', '.join(TASKS)})")
    if n_devices < 1:
        raise TteError(f"need at least one device, got {n_devices}")
    key = (name, n_devices, seed)
    if key not in _CACHE:
        _CACHE[key] = TASKS[name](n_devices, seed)
    return _CACHE[key]
