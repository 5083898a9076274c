"""Online learning as a device sees it: a stream of labelled samples, one training step per
sample, no replay buffer, and prequential scoring (each sample is predicted before the
device learns from it). The device model is the int8 graph the server sends; it trains with
the same engine, scheme, QAS and learning rate as every other on-device step."""

from __future__ import annotations

import numpy as np

from federated.client import device_for, trainer_seed
from federated.model import Params
from federated.tasks.base import Task


def prequential(task: Task, params: Params, *, seed: int, n_devices: int, samples: int, split: str = "test",
                engine: str = "ref", lr: float | None = None) -> np.ndarray:
    """(devices, samples): 1/0 for a correct prediction (classification) or the squared error
    (regression) of each sample of each device's stream, scored before the step on it.
    The stream is the device's pool in a seeded random order."""
    q = task.spec.device_graph(params)
    out = np.zeros((n_devices, samples), np.float32)
    for j in range(n_devices):
        dev = device_for(task, j, engine=engine, split=split)
        xs, ys = dev.data.stream(np.random.default_rng([seed, j, 17]), samples)
        tr = dev.trainer(q, lr=lr or task.protocol.lr, seed=trainer_seed(seed, j, 5))
        for i in range(samples):
            x, y = xs[i:i + 1], ys[i:i + 1]
            pred = np.asarray(tr.predict(x)).reshape(-1)
            if task.metric == "accuracy":
                out[j, i] = float(int(np.argmax(pred)) == int(y[0]))
            else:
                out[j, i] = float(np.mean((pred - np.asarray(y, np.float32).reshape(-1)) ** 2))
            tr.step(x, y)
    return out


def running_mean(scores: np.ndarray) -> np.ndarray:
    """Prequential curve: the mean score over the first t samples, t = 1..T (per device mean)."""
    s = np.asarray(scores, np.float64).mean(axis=0)
    return np.cumsum(s) / np.arange(1, len(s) + 1)
