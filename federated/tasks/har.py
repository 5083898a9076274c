"""Per-person human activity recognition from real smartwatch IMU data: each person is a device.

Data: the smartwatch study bundled with the ``seglearn`` wheel (BSD-3-Clause; Burns et al.,
"Shoulder physiotherapy exercise recognition: machine learning the inertial signals from a
smartwatch", 2018): 10 people, 7 shoulder exercises, a 6-axis IMU (accelerometer and
gyroscope) at 50 Hz, one recording per person, exercise and arm. The file is read directly
(``seglearn/data/watch_dataset.npy``), without importing seglearn.

Windows of 2 s (100 samples, hop 1 s) become 30 features (mean, standard deviation,
minimum, maximum and mean absolute first difference of each axis), standardized with
fixed constants (computed once from the training people, like firmware preprocessing).
A held-out person adapts on k windows per exercise from the first half of each recording
and is scored on the windows of the second half that share no sample with any window of
the first half (windows overlap by 50 %, so the one straddling the middle is dropped).
k = 3 windows per recording: 6 per exercise (each person recorded every exercise with each
arm).

People: six of the ten are tuning people, fixed for every seed: hyper-parameters are
chosen with 4 of them training and the other 2 validating (``make_task("har", 4, seed)``).
The 3 test people are drawn by the seed from the other four (seeds cycle through the four
possible draws), so no test person was ever used for tuning, at any seed; the remaining 7
people (tuning people included) are the training devices of the test runs.
"""

from __future__ import annotations

import importlib.util
from functools import cached_property
from pathlib import Path

import numpy as np

from federated.model import ModelSpec
from federated.tasks.base import DeviceData, Protocol, Task, head_of, mlp
from tte.errors import TteError

WINDOW, HOP = 100, 50
N_CLASSES = 7
HELDOUT_PEOPLE = 3
TUNING_PEOPLE = 6        # never test people, at any seed
TUNING_VALIDATION = 2    # of them, the validation people while tuning
PEOPLE_ORDER = 20181204  # fixes which people are tuning people (independent of the seed)


def watch_file() -> Path:
    spec = importlib.util.find_spec("seglearn")
    if spec is None or not spec.submodule_search_locations:
        raise TteError("the HAR task needs the smartwatch data of the 'seglearn' wheel: "
                       "pip install --no-deps seglearn==1.2.5 (make setup does this)")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "watch_dataset.npy"
    if not path.is_file():
        raise TteError("smartwatch data missing from the installed seglearn wheel", file=str(path))
    return path


def load_watch() -> dict[str, object]:
    """The study's recordings: X (list of (T, 6) arrays), y, subject, side."""
    # The file is a pickled dict of numpy arrays and lists (as shipped by seglearn).
    data = np.load(watch_file(), allow_pickle=True).item()
    if not isinstance(data, dict) or not {"X", "y", "subject"} <= set(data):
        raise TteError("unexpected content in the smartwatch data file", file=str(watch_file()))
    return data


def window_features(series: np.ndarray) -> np.ndarray:
    """(T, 6) IMU recording -> (n_windows, 30) features."""
    n = (len(series) - WINDOW) // HOP + 1
    feats = []
    for k in range(max(n, 0)):
        w = series[k * HOP:k * HOP + WINDOW]
        feats.append(np.concatenate([w.mean(0), w.std(0), w.min(0), w.max(0), np.abs(np.diff(w, axis=0)).mean(0)]))
    return np.asarray(feats, np.float32).reshape(-1, 30)


def support_query_windows(n_windows: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of one recording's windows: (support candidates: the first half, query: the
    second half minus the windows that share a sample with a support candidate)."""
    half = n_windows // 2
    gap = -(-WINDOW // HOP) - 1  # windows k and k + gap overlap; k and k + gap + 1 do not
    return np.arange(half), np.arange(min(half + gap, n_windows), n_windows)


def split_people(ids: list[int], n_devices: int, seed: int) -> tuple[list[int], list[int], list[int]]:
    """(training people, test people, validation people) for ``n_devices`` training devices.

    The tuning people are the same at every seed and never test people; the test people are
    drawn by the seed from the others. With at most ``TUNING_PEOPLE - TUNING_VALIDATION``
    devices, the training and validation people are all tuning people."""
    if len(ids) < TUNING_PEOPLE + HELDOUT_PEOPLE:
        raise TteError(f"the HAR task needs {TUNING_PEOPLE + HELDOUT_PEOPLE} people, the data has {len(ids)}")
    fixed = [ids[i] for i in np.random.default_rng(PEOPLE_ORDER).permutation(len(ids))]
    tuning, others = fixed[:TUNING_PEOPLE], fixed[TUNING_PEOPLE:]
    tune_train, tune_val = tuning[:-TUNING_VALIDATION], tuning[-TUNING_VALIDATION:]
    # seed s leaves out others[s % len(others)]: consecutive seeds cycle through every draw
    drawn = [(seed + i) % len(others) for i in range(len(others))]
    test = [others[i] for i in drawn[-HELDOUT_PEOPLE:]]
    order = tune_train + [others[i] for i in drawn[:-HELDOUT_PEOPLE]] + tune_val
    if n_devices > len(order):
        raise TteError(f"the HAR task has {len(order)} training people; asked for {n_devices} devices")
    train = order[:n_devices]
    return train, test, [p for p in tune_val if p not in train]


def tuning_people(ids: list[int]) -> list[int]:
    """The people hyper-parameters may be chosen on (the same at every seed)."""
    return [ids[i] for i in np.random.default_rng(PEOPLE_ORDER).permutation(len(ids))][:TUNING_PEOPLE]


class HarTask(Task):
    name = "har"
    metric = "accuracy"
    loss = "softmax_ce"
    k_shot = 3

    def __init__(self, n_devices: int, seed: int, protocol: Protocol | None = None) -> None:
        protocol = protocol or Protocol(inner_steps=30, lr=0.02, adapt_epochs=4, head_epochs=4)
        super().__init__(n_devices, seed, protocol)

    @cached_property
    def people(self) -> dict[int, list[tuple[np.ndarray, int]]]:
        """person -> [(window features of one recording, exercise)]"""
        data = load_watch()
        out: dict[int, list[tuple[np.ndarray, int]]] = {}
        for series, label, person in zip(data["X"], data["y"], data["subject"]):  # type: ignore[call-overload]
            out.setdefault(int(person), []).append((window_features(np.asarray(series, np.float64)), int(label)))
        return out

    @cached_property
    def split(self) -> tuple[list[int], list[int], list[int]]:
        """(training people, test people, validation people): see ``split_people``."""
        return split_people(sorted(self.people), self.n_devices, self.seed)

    @cached_property
    def norm(self) -> tuple[np.ndarray, np.ndarray]:
        feats = np.concatenate([f for p in self.split[0] for f, _ in self.people[p]])
        return feats.mean(0), feats.std(0) + 1e-6

    @cached_property
    def spec(self) -> ModelSpec:
        sizes = [30, 32, 32, N_CLASSES]
        calib = np.concatenate([self.device(i).pool[0] for i in range(len(self.split[0]))])[:300]
        return ModelSpec(mlp("har_mlp", sizes, np.random.default_rng([self.seed, 0])), calib, (-8.0, 8.0),
                         head_of(sizes))

    @property
    def n_heldout(self) -> int:
        return HELDOUT_PEOPLE

    def _person(self, person: int, stream: int) -> DeviceData:
        mean, std = self.norm
        rng = np.random.default_rng([self.seed, stream, person])
        parts: dict[str, list[np.ndarray]] = {k: [] for k in ("px", "py", "sx", "sy", "qx", "qy")}
        for feats, label in self.people[person]:
            f = (feats - mean) / std
            first, second = (f[idx] for idx in support_query_windows(len(f)))
            parts["px"].append(f)
            parts["py"].append(np.full(len(f), label, np.int64))
            sup = first[rng.choice(len(first), min(self.k_shot, len(first)), replace=False)]
            parts["sx"].append(sup)
            parts["sy"].append(np.full(len(sup), label, np.int64))
            parts["qx"].append(second)
            parts["qy"].append(np.full(len(second), label, np.int64))
        cat = {k: np.concatenate(v).astype(np.float32 if k.endswith("x") else np.int64) for k, v in parts.items()}
        return DeviceData((cat["px"], cat["py"]), (cat["sx"], cat["sy"]), (cat["qx"], cat["qy"]))

    def device(self, i: int) -> DeviceData:
        return self._person(self.split[0][i], 1)

    def heldout_device(self, j: int) -> DeviceData:
        return self._person(self.split[1][j], 2)

    @property
    def n_validation(self) -> int:
        return len(self.split[2])

    def validation_device(self, j: int) -> DeviceData:
        return self._person(self.split[2][j], 2)
