"""The gateway for a board without a network: a device agent (fleet.agent) whose model runs on tte
firmware behind a serial line (tte.targets.serial) instead of on this host.

Everything on the MQTT side is the agent's own: presence with bdseq, the registration and the TD,
heartbeats, telemetry, the chunked resumable download, signature check and A/B slots (kept on the
gateway: the board's flash holds the firmware, its SRAM the weights being trained). What changes is
what "install" and "train" mean. The firmware was built for one model (`tte build --in uart
--out uart --weights-io`); a package fits the board only if its model has that model's sizes, and
installing it loads the package's trainable weights onto the board ('S'), checks the board's own
CRC-32 of them against the package's, and runs the self-test: one inference on a zero input that
must give the reference executor's output byte for byte. A failure puts the weights that were on
the board back (the rollback). Online training sends the data stream's samples as training steps
and mirrors the trained weights on the gateway after every step, persisted in the slot
(``board-weights.bin``): a board that was reset gets them back when the gateway next talks to it.
"""

from __future__ import annotations

import json
import logging
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from fleet.agent import Agent, AgentConfig
from fleet.engine import model_file
from fleet.pump import Pump
from tte.errors import TteError
from tte.targets.serial import SerialBoard, SerialEngine

log = logging.getLogger("fleet.bridge")

CHECKPOINT = "board-weights.bin"


class BoardModel:
    """An installed package whose model runs on the board (DeviceModel's interface)."""

    def __init__(self, slot: Path, board: SerialBoard) -> None:
        import tte
        from tte.training.trainer import Trainer

        self.slot, self.board = slot, board
        self.report: dict[str, Any] = json.loads((slot / "report.json").read_text())
        self.path = model_file(slot)
        scheme = self.report.get("scheme")
        scheme = scheme.get("name") if isinstance(scheme, dict) else scheme
        self.graph = tte.load(self.path)
        self.trainer = Trainer(self.graph, scheme=str(scheme), precision="int8", engine="ref")
        fwd, tg = self.trainer.forward, self.trainer.training
        self.params = list(tg.updates)
        self.package_weights = b"".join(np.ascontiguousarray(fwd.tensors[p].data).tobytes() for p in self.params)
        inp, out = fwd.tensors[fwd.inputs[0]], fwd.tensors[fwd.outputs[0]]
        want = (inp.nbytes, out.nbytes, len(self.package_weights))
        have = (board.input_bytes, board.output_bytes, board.trainable_bytes)
        if want != have:
            raise TteError(f"does not fit: the board's firmware was built for another model (input, output, "
                           f"trainable bytes {have}; the package's model: {want}); flash firmware built for it")
        self.engine = SerialEngine(board, fwd, self.params, tg.graph.tensors[tg.label].dtype == "float32")
        self.steps = 0
        self.restores: list[int] = []  # the step counts at which the board got its weights back
        self.last_loss: float | None = None
        self.last_accuracy: float | None = None

    def _load(self, weights: bytes) -> None:
        """Put `weights` on the board and check the board's CRC-32 of what it holds."""
        self.board.set_weights(weights)
        got, want = self.board.crc(), zlib.crc32(weights) & 0xFFFFFFFF
        if got != want:
            raise TteError(f"the board holds other weights than it was sent (CRC-32 {got:08x}, sent {want:08x})")

    def _mirror(self, weights: bytes) -> None:
        for name, w in self.engine.split(weights).items():
            self.trainer.training.graph.tensors[name].data = w
        self.trainer.attach(self.engine, "serial")

    def self_test(self) -> None:
        """Load the package's weights; the board's inference on a zero input must equal the reference
        executor's on the package's model. On failure the board gets back what it held."""
        from tte.reference import execute
        from tte.reference.boundary import quantize_array

        fwd = self.trainer.forward
        t = fwd.tensors[fwd.inputs[0]]
        x = np.zeros(t.shape, np.float32)
        if t.dtype == "int8":
            x = quantize_array(x, t.quant)
        want = np.ascontiguousarray(execute(fwd, {fwd.inputs[0]: x})[fwd.outputs[0]]).tobytes()
        with self.board.lock:
            self.board.poll()
            restarts = self.board.restarts
            before = self.board.get_weights()
            try:
                self._load(self.package_weights)
                got = self.board.infer(x.reshape(-1)).tobytes()
                if got != want:
                    raise TteError("self-test: the board's inference differs from the reference executor's")
                if self.board.restarts != restarts:
                    raise TteError("self-test: the board was reset meanwhile")
            except BaseException:
                try:
                    self._load(before)
                except TteError as e:
                    log.warning("%s: could not put the previous weights back: %s", self.board.port, e)
                raise
            self._mirror(self.package_weights)
            _write(self.slot / CHECKPOINT, self.package_weights)
            self.board.current = self

    def _take_board(self) -> None:
        """A gateway that starts with an installed package: the board keeps what it holds if that is
        the last mirrored state, else gets it back (it was reset, or another host changed it)."""
        ck = self.slot / CHECKPOINT
        weights = ck.read_bytes() if ck.is_file() else self.package_weights
        if self.board.crc() != zlib.crc32(weights) & 0xFFFFFFFF:
            log.warning("%s: the board lost its weights: loading the last ones mirrored", self.board.port)
            self._load(weights)
            self.restores.append(self.steps)
        self._mirror(weights)
        self.board.current = self

    def train(self, x: np.ndarray, y: np.ndarray) -> float:
        with self.board.lock:
            self.board.poll()  # a reset since the last step shows as its start-up line
            if self.board.current is None:
                self._take_board()
            elif self.board.current is not self:
                raise TteError("another package was installed on the board")
            restarts = self.board.restarts
            loss = float(self.trainer.step(x, y))
            if self.board.restarts != restarts:  # reset during the step: what it read back is not ours
                raise TteError("the board was reset during a training step")
            _write(self.slot / CHECKPOINT, b"".join(
                np.ascontiguousarray(self.trainer.training.graph.tensors[p].data).tobytes() for p in self.params))
        self.steps += 1
        self.last_loss = loss
        return loss

    def evaluate(self, xs: np.ndarray, ys: np.ndarray) -> float:
        """On the mirrored weights (the board's after its last step) with the reference executor,
        which the firmware's inference equals byte for byte."""
        return float(self.trainer.evaluate(xs, ys))


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class Bridge(Agent):
    """A device agent for the board on `board` (the device's id, credentials and board name are in `cfg`)."""

    def __init__(self, cfg: AgentConfig, board: SerialBoard, pump: Pump | None = None) -> None:
        super().__init__(cfg, pump)
        self.board = board

    def open_model(self, slot: Path) -> Any:
        return BoardModel(slot, self.board)

    def stop(self) -> None:
        super().stop()
        self.board.close()
