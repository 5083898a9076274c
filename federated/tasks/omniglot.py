"""N-way k-shot Omniglot: handwritten characters of many alphabets, 20 drawers each.

Data: the "background small" zips of Lake et al.'s Omniglot (``images_background_small1.zip``,
``images_background_small2.zip``; Greek and Latin appear in both as identical files and are
read once) and the 20 official 20-way 1-shot runs (``all_runs.zip``, on alphabets that are
in neither zip). The zips are read where they are (``--data-dir``), never copied.

Images are 105x105 1-bit PNGs; each is inverted (ink = 1) and downsampled to 28x28 by area
averaging, the resolution a 256 KB device trains at.

Alphabets are split three ways, fixed for every seed, so that validation and test measure
adaptation to characters, and alphabets, that meta-training never saw:

  meta-train   Balinese, Early_Aramaic, Greek, Japanese_(katakana), Latin  (163 characters)
  validation   Sanskrit                                                    (42)
  test         Korean, Tagalog                                             (57)

Each training device is one N-way task (N characters of the meta-train alphabets, its own
label order, all 20 drawings to stream from). A validation or test device is an N-way task
of its split's characters with k drawings per class to adapt on and ``query_per_class``
others to score. The task name is its registry key (``omniglot`` is ``omniglot-5w1s``).
``omniglot-20w1s`` tests on the 20 official runs instead (device j is run j + 1: 20
training images, one per class, and 20 test images labelled by ``class_labels.txt``).
"""

from __future__ import annotations

import os
import zipfile
from functools import cache, cached_property
from pathlib import Path

import numpy as np

from federated.model import ModelSpec
from federated.tasks.base import DeviceData, Protocol, Task
from tte.errors import TteError
from tte.ir import Graph, Tensor
from tte.training.images import decode_png

SIZE = 28
ZIPS = ("images_background_small1.zip", "images_background_small2.zip")
RUNS_ZIP = "all_runs.zip"
TRAIN_ALPHABETS = ("Balinese", "Early_Aramaic", "Greek", "Japanese_(katakana)", "Latin")
VALIDATION_ALPHABETS = ("Sanskrit",)
TEST_ALPHABETS = ("Korean", "Tagalog")
CHANNELS = (16, 32, 32)  # three 3x3 stride-2 convolutions: 28 -> 14 -> 7 -> 4, flattened


def data_dir() -> Path:
    """Where the data sets are: $TTE_DATA_DIR (what ``--data-dir`` sets), else ../shared/data."""
    env = os.environ.get("TTE_DATA_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "data"


def omniglot_dir() -> Path:
    folder = data_dir() / "omniglot"
    missing = [z for z in (*ZIPS, RUNS_ZIP) if not (folder / z).is_file()]
    if missing:
        raise TteError(f"Omniglot files missing: {', '.join(missing)} (get images_background_small1/2.zip and "
                       "all_runs.zip from github.com/brendenlake/omniglot, python/, and pass --data-dir "
                       "to the folder that holds omniglot/)", file=str(folder))
    return folder


def to_input(png: bytes) -> np.ndarray:
    """A 105x105 Omniglot PNG as a (28, 28, 1) float image, ink = 1."""
    ink = 1.0 - decode_png(png)[..., 0]
    h = ink.shape[0]
    edges = np.linspace(0, h, SIZE + 1)
    # area averaging: each output pixel is the mean of the input pixels it covers (fractions at the edges)
    w = np.zeros((SIZE, h), np.float32)
    for i in range(SIZE):
        lo, hi = edges[i], edges[i + 1]
        for p in range(int(np.floor(lo)), int(np.ceil(hi))):
            w[i, p] = min(hi, p + 1) - max(lo, p)
    w /= w.sum(axis=1, keepdims=True)
    return (w @ ink @ w.T).astype(np.float32)[..., None]


@cache
def load_alphabets(folder: Path) -> dict[str, np.ndarray]:
    """alphabet -> (characters, 20 drawings, 28, 28, 1); duplicate alphabets read once."""
    out: dict[str, dict[str, list[tuple[str, np.ndarray]]]] = {}
    for name in ZIPS:
        with zipfile.ZipFile(folder / name) as z:
            seen_here: set[str] = set()
            for entry in sorted(z.namelist()):
                parts = entry.split("/")
                if len(parts) != 4 or not parts[3].endswith(".png"):
                    continue
                alphabet, char = parts[1], parts[2]
                if alphabet in out and alphabet not in seen_here:
                    continue  # already read from the other zip (identical files)
                seen_here.add(alphabet)
                out.setdefault(alphabet, {}).setdefault(char, []).append((parts[3], to_input(z.read(entry))))
    result = {}
    for alphabet, chars in out.items():
        drawings = [np.stack([img for _, img in sorted(v, key=lambda t: t[0])]) for _, v in sorted(chars.items())]
        n = min(len(d) for d in drawings)
        result[alphabet] = np.stack([d[:n] for d in drawings])
    return result


@cache
def load_official_runs(folder: Path) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """The official 20-way 1-shot runs (20 in all_runs.zip): (support x, support y, query x, query y) each."""
    runs = []
    with zipfile.ZipFile(folder / RUNS_ZIP) as z:
        names = sorted(n for n in z.namelist() if n.endswith("/class_labels.txt"))
        if not names:
            raise TteError("no run*/class_labels.txt in the official runs", file=str(folder / RUNS_ZIP))
        for labels in names:
            pairs = [line.split() for line in z.read(labels).decode().splitlines() if line.strip()]
            classes = sorted({train for _, train in pairs})
            label = {c: i for i, c in enumerate(classes)}
            sx = np.stack([to_input(z.read(c)) for c in classes])
            qx = np.stack([to_input(z.read(test)) for test, _ in pairs])
            qy = np.array([label[train] for _, train in pairs], np.int64)
            runs.append((sx, np.arange(len(classes), dtype=np.int64), qx, qy))
    return runs


def cnn(name: str, n_out: int, rng: np.random.Generator, channels: tuple[int, ...] = CHANNELS) -> Graph:
    """3x3 stride-2 conv + ReLU layers, flattened into a fully-connected head (He init)."""
    g = Graph(name)
    g.add_tensor(Tensor("x", (1, SIZE, SIZE, 1)))
    g.inputs = ["x"]
    cur, cin = "x", 1
    for i, c in enumerate(channels):
        g.add_const(f"conv{i}.w", (rng.standard_normal((c, 3, 3, cin)) * np.sqrt(2.0 / (9 * cin))).astype(np.float32))
        g.add_const(f"conv{i}.b", np.zeros(c, np.float32))
        g.add_node("conv2d", [cur, f"conv{i}.w", f"conv{i}.b"], f"h{i}",
                   {"strides": (2, 2), "pads": (1, 1, 1, 1), "activation": "relu"})
        cur, cin = f"h{i}", c
    side = g.tensors[cur].shape[1]
    flat = side * side * cin
    g.add_node("reshape", [cur], "flat", {"shape": (1, flat)})
    g.add_const("head.w", (rng.standard_normal((n_out, flat)) * np.sqrt(1.0 / flat)).astype(np.float32))
    g.add_const("head.b", np.zeros(n_out, np.float32))
    g.add_node("fully_connected", ["flat", "head.w", "head.b"], "logits", {"activation": "none"})
    g.outputs = ["logits"]
    g.validate()
    return g


HEAD = ["head.w", "head.b"]


class OmniglotTask(Task):
    metric = "accuracy"
    loss = "softmax_ce"
    query_per_class = 10
    heldout = 20       # test tasks per seed (5-way 1-shot; 5-shot: 5, each adapts on 5x the samples)
    validation = 20

    def __init__(self, n_devices: int, seed: int, protocol: Protocol | None = None, *, n_way: int = 5,
                 k_shot: int = 1, official: bool = False) -> None:
        protocol = protocol or Protocol(inner_steps=20, lr=0.05, adapt_epochs=3, head_epochs=3)
        super().__init__(n_devices, seed, protocol)
        self.n_way, self.k_shot, self.official = n_way, k_shot, official
        self.name = f"omniglot-{n_way}w{k_shot}s"
        if official and (n_way, k_shot) != (20, 1):
            raise TteError("the official Omniglot runs are 20-way 1-shot")

    @cached_property
    def alphabets(self) -> dict[str, np.ndarray]:
        data = load_alphabets(omniglot_dir())
        want = (*TRAIN_ALPHABETS, *VALIDATION_ALPHABETS, *TEST_ALPHABETS)
        missing = [a for a in want if a not in data]
        if missing:
            raise TteError(f"Omniglot alphabets missing from the zips: {', '.join(missing)}",
                           file=str(omniglot_dir()))
        return data

    def characters(self, alphabets: tuple[str, ...]) -> np.ndarray:
        """(characters, drawings, 28, 28, 1) of the given alphabets, in a fixed order."""
        return np.concatenate([self.alphabets[a] for a in alphabets])

    @cached_property
    def splits(self) -> dict[str, np.ndarray]:
        return {"train": self.characters(TRAIN_ALPHABETS), "validation": self.characters(VALIDATION_ALPHABETS),
                "test": self.characters(TEST_ALPHABETS)}

    @cached_property
    def spec(self) -> ModelSpec:
        rng = np.random.default_rng([self.seed, 0])
        return ModelSpec(cnn(self.name.replace("-", "_"), self.n_way, rng), self.calibration(), (-8.0, 8.0),
                         list(HEAD))

    def calibration(self, n: int = 64) -> np.ndarray:
        """Quantization calibration inputs: meta-train characters only."""
        train = self.splits["train"]
        flat = train.reshape(-1, SIZE, SIZE, 1)
        return flat[np.random.default_rng([self.seed, 1]).choice(len(flat), n, replace=False)]

    def pretrain_data(self) -> tuple[np.ndarray, np.ndarray, int]:
        """Every drawing of every meta-train character, labelled by character (a joint classifier)."""
        train = self.splits["train"]
        ys = np.repeat(np.arange(len(train)), train.shape[1])
        return train.reshape(-1, SIZE, SIZE, 1), ys.astype(np.int64), len(train)

    def pretrain_graph(self, n_classes: int) -> Graph:
        """The device model with a joint head over ``n_classes`` (the same body initialization)."""
        return cnn(self.name.replace("-", "_") + "_pretrain", n_classes, np.random.default_rng([self.seed, 0]))

    def _task(self, stream: int, i: int, chars: np.ndarray, k: int) -> DeviceData:
        rng = np.random.default_rng([self.seed, stream, i])
        chosen = rng.choice(len(chars), self.n_way, replace=False)
        parts: dict[str, list[np.ndarray]] = {key: [] for key in ("px", "py", "sx", "sy", "qx", "qy")}
        for label, c in enumerate(chosen):
            order = rng.permutation(chars.shape[1])
            sup, query = order[:k], order[k:k + self.query_per_class]
            for key, sel in (("p", order), ("s", sup), ("q", query)):
                parts[key + "x"].append(chars[c][sel])
                parts[key + "y"].append(np.full(len(sel), label, np.int64))
        cat = {key: np.concatenate(v) for key, v in parts.items()}
        return DeviceData((cat["px"], cat["py"]), (cat["sx"], cat["sy"]), (cat["qx"], cat["qy"]))

    def device(self, i: int) -> DeviceData:
        return self._task(1, i, self.splits["train"], self.k_shot)

    @property
    def n_heldout(self) -> int:
        return len(load_official_runs(omniglot_dir())) if self.official else (self.heldout if self.k_shot == 1 else 5)

    def heldout_device(self, j: int) -> DeviceData:
        if self.official:
            sx, sy, qx, qy = load_official_runs(omniglot_dir())[j]
            return DeviceData((sx, sy), (sx, sy), (qx, qy))
        return self._task(2, j, self.splits["test"], self.k_shot)

    @property
    def n_validation(self) -> int:
        return self.validation

    def validation_device(self, j: int) -> DeviceData:
        return self._task(3, j, self.splits["validation"], self.k_shot)
