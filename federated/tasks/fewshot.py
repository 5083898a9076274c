"""N-way k-shot image classification from real data (digits, MNIST or Fashion-MNIST).

Each device is one N-way task: N classes (with its own random label order) and its own
images of them. The classes of the data set are split three ways, as in the few-shot
literature (meta-train / meta-validation / meta-test classes): training devices draw their
classes from the first ones, validation devices (for choosing hyper-parameters) from the
next ``VALIDATION_CLASSES``, held-out test devices from the last ``HELDOUT_CLASSES``. So
both validation and test measure adaptation to classes that meta-training never saw.

Why validation needs its own classes: validation tasks over the *training* classes reward
memorizing those classes, not learning to learn. Measured on digits (seed 0, 3-way
5-shot, training classes 0-5, test classes 6-9): Reptile's accuracy on new tasks over the
training classes rose from 0.90 (5 rounds) to 0.99 (300 rounds) while on the test classes
it fell to 0.85, below the no-meta-learning baseline's 0.88; that proxy picked the
settings that overfit most.

Images are flattened (MNIST-sized ones first downsampled to 14x14) into an MLP. A
validation or test device adapts on k images per class and is scored on
``query_per_class`` others.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from federated.model import ModelSpec
from federated.tasks.base import DeviceData, Protocol, Task, head_of, mlp
from tte.errors import TteError
from tte.training.data import fit_to, load_dataset

HELDOUT_CLASSES = 3     # the last classes of the data set (digits 7..9): test devices
VALIDATION_CLASSES = 3  # the ones before them (digits 4..6): validation devices


class FewShotTask(Task):
    metric = "accuracy"
    loss = "softmax_ce"
    n_way = 3
    k_shot = 5
    pool_per_class = 40
    query_per_class = 20
    heldout = 60      # tasks (devices) per seed: one task's accuracy varies by ~8 points
    validation = 60

    def __init__(self, n_devices: int, seed: int, protocol: Protocol | None = None, *,
                 dataset: str = "digits") -> None:
        protocol = protocol or Protocol(inner_steps=30, lr=0.02, adapt_epochs=5, head_epochs=5)
        super().__init__(n_devices, seed, protocol)
        self.dataset = dataset
        self.name = "fewshot-" + {"fashion-mnist": "fashion"}.get(dataset, dataset)

    @cached_property
    def images(self) -> tuple[np.ndarray, np.ndarray]:
        xs, ys = load_dataset(self.dataset, "train")
        if xs.shape[-1] > 14:
            xs = fit_to(xs, 14, 14)
        n_classes = int(ys.max()) + 1
        if n_classes - HELDOUT_CLASSES - VALIDATION_CLASSES < self.n_way:
            raise TteError(f"{self.dataset}: too few classes for {self.n_way}-way tasks with validation and "
                           "held-out classes")
        return xs.reshape(len(xs), -1).astype(np.float32), ys

    @cached_property
    def spec(self) -> ModelSpec:
        xs, _ = self.images
        sizes = [xs.shape[1], 32, 32, self.n_way]
        rng = np.random.default_rng([self.seed, 0])
        return ModelSpec(mlp(f"{self.name}_mlp", sizes, rng), self.calibration(), (-8.0, 8.0), head_of(sizes))

    def calibration(self, n: int = 200) -> np.ndarray:
        """The server's quantization calibration inputs: images of the meta-training classes
        only (the server never holds an image of a validation or test class)."""
        xs, ys = self.images
        pool = np.flatnonzero(np.isin(ys, self.classes()[0]))
        return xs[np.random.default_rng([self.seed, 1]).choice(pool, n, replace=False)]

    @property
    def n_heldout(self) -> int:
        return self.heldout

    def _make(self, stream: int, i: int, classes: np.ndarray) -> DeviceData:
        xs, ys = self.images
        rng = np.random.default_rng([self.seed, stream, i])
        chosen = rng.choice(classes, self.n_way, replace=False)
        parts: dict[str, list[np.ndarray]] = {k: [] for k in ("px", "py", "sx", "sy", "qx", "qy")}
        for label, c in enumerate(chosen):
            idx = rng.permutation(np.flatnonzero(ys == c))
            pool, sup = idx[:self.pool_per_class], idx[self.pool_per_class:self.pool_per_class + self.k_shot]
            query = idx[self.pool_per_class + self.k_shot:self.pool_per_class + self.k_shot + self.query_per_class]
            for key, sel in (("p", pool), ("s", sup), ("q", query)):
                parts[key + "x"].append(xs[sel])
                parts[key + "y"].append(np.full(len(sel), label, np.int64))
        cat = {k: np.concatenate(v) for k, v in parts.items()}
        return DeviceData((cat["px"], cat["py"]), (cat["sx"], cat["sy"]), (cat["qx"], cat["qy"]))

    def classes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The disjoint (training, validation, test) classes."""
        n = int(self.images[1].max()) + 1
        test = n - HELDOUT_CLASSES
        val = test - VALIDATION_CLASSES
        return np.arange(val), np.arange(val, test), np.arange(test, n)

    def device(self, i: int) -> DeviceData:
        return self._make(1, i, self.classes()[0])

    def heldout_device(self, j: int) -> DeviceData:
        return self._make(2, j, self.classes()[2])

    @property
    def n_validation(self) -> int:
        return self.validation

    def validation_device(self, j: int) -> DeviceData:
        return self._make(3, j, self.classes()[1])
