"""Spoken digits, one speaker per device (Free Spoken Digit Dataset: 6 speakers x 10 digits x 50).

Features are what a microcontroller would compute: tte.training.audio's log mel filterbank
(8 kHz, 30 ms Hann windows every 20 ms, 256-point FFT, 10 mel bins, 50 frames: 500 values per
clip), standardized with constants fixed from the training speakers. The archive is read in
place (``--data-dir``).

Speakers: one validation speaker, the same at every seed (hyper-parameters are chosen on
it); the test speaker is drawn by the seed from the other five (seeds cycle through them),
and the remaining four speakers are the training devices. A test device adapts to the
unseen speaker from ``k_shot`` recordings of each digit (index >= 5) and is scored on the
official test recordings (indices 0-4) of that speaker; devices j = 0, 1, 2 draw different
support sets.
"""

from __future__ import annotations

import time
from functools import cache, cached_property
from pathlib import Path

import numpy as np

from federated.model import ModelSpec
from federated.tasks.base import DeviceData, Protocol, Task, head_of, mlp
from federated.tasks.omniglot import data_dir
from tte.errors import TteError
from tte.ir import Graph
from tte.training.audio import FrontEnd
from tte.training.fsdd import read_fsdd

FRONT_END = FrontEnd(sample_rate=8000, fft_size=256)
VALIDATION_SPEAKER = "jackson"
SIZES = [500, 64, 64, 10]


@cache
def speaker_features(folder: Path) -> tuple[dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], float]:
    """speaker -> (features (n, 500), digits, indices); and host seconds per clip of the front end."""
    recs = read_fsdd(folder)
    t0 = time.perf_counter()
    feats = [FRONT_END(r.samples, r.rate).reshape(-1) for r in recs]
    per_clip = (time.perf_counter() - t0) / len(recs)
    out: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for spk in sorted({r.speaker for r in recs}):
        sel = [i for i, r in enumerate(recs) if r.speaker == spk]
        out[spk] = (np.stack([feats[i] for i in sel]).astype(np.float32),
                    np.array([recs[i].digit for i in sel], np.int64), np.array([recs[i].index for i in sel]))
    return out, per_clip


class FsddSpeakerTask(Task):
    name = "fsdd-speakers"
    metric = "accuracy"
    loss = "softmax_ce"
    k_shot = 2
    heldout = 3
    pretrain_keeps_head = True  # digits are the same classes on every device

    def __init__(self, n_devices: int, seed: int, protocol: Protocol | None = None) -> None:
        protocol = protocol or Protocol(inner_steps=30, lr=0.02, adapt_epochs=4, head_epochs=4)
        super().__init__(n_devices, seed, protocol)

    @cached_property
    def data(self) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        return speaker_features(data_dir() / "fsdd")[0]

    @property
    def front_end_seconds_per_clip(self) -> float:
        return speaker_features(data_dir() / "fsdd")[1]

    @cached_property
    def split(self) -> tuple[list[str], str, str]:
        """(training speakers, test speaker, validation speaker)."""
        speakers = sorted(self.data)
        if VALIDATION_SPEAKER not in speakers or len(speakers) < 3:
            raise TteError(f"FSDD: need speaker '{VALIDATION_SPEAKER}' and two others, found {speakers}")
        others = [s for s in speakers if s != VALIDATION_SPEAKER]
        test = others[self.seed % len(others)]
        train = [s for s in others if s != test]
        if self.n_devices > len(train):
            raise TteError(f"the FSDD task has {len(train)} training speakers; asked for {self.n_devices} devices")
        return train[:self.n_devices], test, VALIDATION_SPEAKER

    @cached_property
    def norm(self) -> tuple[np.ndarray, np.ndarray]:
        xs = np.concatenate([self.data[s][0] for s in self.split[0]])
        return xs.mean(0), xs.std(0) + 1e-6

    def _x(self, xs: np.ndarray) -> np.ndarray:
        mean, std = self.norm
        return ((xs - mean) / std).astype(np.float32)

    @cached_property
    def spec(self) -> ModelSpec:
        calib = np.concatenate([self._x(self.data[s][0]) for s in self.split[0]])
        calib = calib[np.random.default_rng([self.seed, 1]).choice(len(calib), 200, replace=False)]
        return ModelSpec(mlp("fsdd_mlp", SIZES, np.random.default_rng([self.seed, 0])), calib, (-8.0, 8.0),
                         head_of(SIZES))

    def pretrain_data(self) -> tuple[np.ndarray, np.ndarray, int]:
        xs = np.concatenate([self._x(self.data[s][0]) for s in self.split[0]])
        ys = np.concatenate([self.data[s][1] for s in self.split[0]])
        return xs, ys, 10

    def pretrain_graph(self, n_classes: int) -> Graph:
        return mlp("fsdd_mlp_pretrain", SIZES[:-1] + [n_classes], np.random.default_rng([self.seed, 0]))

    def _speaker(self, spk: str, stream: int, j: int) -> DeviceData:
        xs, ys, idx = self.data[spk]
        xs = self._x(xs)
        rng = np.random.default_rng([self.seed, stream, j])
        query = idx < 5
        sup = np.concatenate([rng.choice(np.flatnonzero((ys == d) & ~query), self.k_shot, replace=False)
                              for d in range(10)])
        return DeviceData((xs, ys), (xs[sup], ys[sup]), (xs[query], ys[query]))

    def device(self, i: int) -> DeviceData:
        return self._speaker(self.split[0][i], 1, i)

    @property
    def n_heldout(self) -> int:
        return self.heldout

    def heldout_device(self, j: int) -> DeviceData:
        return self._speaker(self.split[1], 2, j)

    @property
    def n_validation(self) -> int:
        return self.heldout

    def validation_device(self, j: int) -> DeviceData:
        return self._speaker(self.split[2], 3, j)
