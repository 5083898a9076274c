"""The no-meta-learning baseline: pretrain on the meta-train classes, then fine-tune.

The server (which holds the meta-train data pooled, as a transfer-learning baseline may)
trains one joint classifier over every meta-train class in float, for the same number of
samples that meta-training streams through the devices (rounds x devices x steps), then
keeps the body and puts a fresh N-way head on it. Held-out devices adapt from that with the
same protocol as every meta-learned model (``federated.client.adapt``).
"""

from __future__ import annotations

import numpy as np

from federated.client import AllLayers
from federated.model import Params
from federated.tasks.base import Task
from tte.errors import TteError
from tte.training.trainer import Trainer


def supports_pretraining(task: Task) -> bool:
    return hasattr(task, "pretrain_data") and hasattr(task, "pretrain_graph")


def pretrain(task: Task, *, samples: int, lr: float, seed: int) -> Params:
    """Body weights of a joint classifier trained on ``samples`` meta-train samples (batch 1,
    float), with the task's initial (untrained) N-way head."""
    if not supports_pretraining(task):
        raise TteError(f"task '{task.name}' has no pooled meta-train classes to pretrain on")
    xs, ys, n_classes = task.pretrain_data()  # type: ignore[attr-defined]
    graph = task.pretrain_graph(n_classes)  # type: ignore[attr-defined]
    tr = Trainer(graph, scheme=AllLayers(), precision="fp32", lr=lr, loss=task.loss, seed=seed)
    rng = np.random.default_rng([seed, 13])
    order = np.concatenate([rng.permutation(len(xs)) for _ in range(-(-samples // len(xs)))])[:samples]
    for i in order:
        tr.step(xs[i:i + 1], ys[i:i + 1])
    trained = tr.graph
    params = task.spec.initial_params()
    keep_head = getattr(task, "pretrain_keeps_head", False)  # same classes on every device: the head transfers
    for name in params:
        if keep_head or name not in task.spec.head:
            params[name] = np.array(trained.tensors[name].data, np.float32)
    return params
