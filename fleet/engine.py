"""What a device agent runs on an installed package: the self-test after a swap and training steps.

The one place where fleet/ calls the training engine (tte's public Trainer on the package's int8
model: engine 'c' = the generated C step on the host through cffi, 'qemu' = the same C as firmware
on an emulated Cortex-M7, 'ref' = the numpy reference). Engine 'none' checks the package's contents
only (a simulated device that does not train, for large simulated fleets).
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

import numpy as np

from tte.errors import TteError

ENGINES = ("none", "ref", "c", "qemu")


def model_file(slot: Path) -> Path:
    for name in ("model.tflite", "model.onnx"):
        if (slot / name).is_file():
            return slot / name
    raise TteError("installed package has no model file", file=str(slot))


_PARSED: set[str] = set()
_PARSE_LOCK = threading.Lock()  # agents install on several threads: one parse per model, not one each


def _check_parses(path: Path, package_sha256: str | None = None) -> None:
    """tte.load, once per distinct model bytes in a process (a simulated fleet installs one model in
    hundreds of agents; the verdict depends on the bytes only). Raises what tte.load raises.
    `package_sha256`: the verified hash of the package the model came out of, which names the
    model's bytes as well as their own hash does (and costs nothing more to compute)."""
    import tte

    if package_sha256 and f"package:{package_sha256}" in _PARSED:
        return
    data = path.read_bytes()
    digest = f"package:{package_sha256}" if package_sha256 else hashlib.sha256(data).hexdigest()
    with _PARSE_LOCK:
        if digest not in _PARSED:
            tte.load(data, name=path.stem)
            _PARSED.add(digest)


class DeviceModel:
    """The installed package's model with a trainer on the chosen engine."""

    def __init__(self, slot: Path, engine: str = "none") -> None:
        if engine not in ENGINES:
            raise TteError(f"unknown engine '{engine}' (known: {', '.join(ENGINES)})")
        self.slot = slot
        self.engine = engine
        self.report: dict[str, Any] = json.loads((slot / "report.json").read_text())
        self.path = model_file(slot)
        self.trainer: Any = None
        self.steps = 0
        self.last_loss: float | None = None
        self.last_accuracy: float | None = None
        if engine != "none":
            import tte
            from tte.training.trainer import Trainer

            scheme = self.report.get("scheme")
            scheme = scheme.get("name") if isinstance(scheme, dict) else scheme
            self.trainer = Trainer(tte.load(self.path), scheme=str(scheme), precision="int8", engine=engine)

    @property
    def input_shape(self) -> tuple[int, ...]:
        from tte.layout import source_shape

        t = self.trainer.forward.tensors[self.trainer.forward.inputs[0]]
        return tuple(int(d) for d in source_shape(t))

    def self_test(self, package_sha256: str | None = None) -> None:
        """One training step on a zero sample must give a finite loss (raises TteError if not);
        engine 'none': the model must parse (`package_sha256`: see _check_parses)."""
        if self.trainer is None:
            _check_parses(self.path, package_sha256)
            return
        x = np.zeros((1, *self.input_shape[1:]), np.float32)
        loss = self.train(x, np.zeros(1, np.int64))
        if not np.isfinite(loss):
            raise TteError(f"self-test: training step gave loss {loss}")

    def train(self, x: np.ndarray, y: np.ndarray) -> float:
        loss = float(self.trainer.step(x, y))
        self.steps += 1
        self.last_loss = loss
        return loss

    def evaluate(self, xs: np.ndarray, ys: np.ndarray) -> float:
        return float(self.trainer.evaluate(xs, ys))
