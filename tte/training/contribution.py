"""Contribution analysis: how much accuracy each part of a sparse update buys, on the user's data.

The paper's recipe, measured by short fine-tuning runs that all start from the same model,
see the same training samples in the same order and are scored on the same held-out split:

* ``bias_acc[k]``: biases of the last ``k`` layers plus the classifier (``k = 0`` is the
  classifier alone); the bias contribution of ``k`` is ``bias_acc[k] - bias_acc[0]``;
* ``weight_acc[i][r]``: the bias-only update (every bias plus the classifier) and the weights
  of layer ``i`` at ratio ``r`` of its channels (chosen as tte.training.sparse does: largest
  L2 norm first); its contribution is ``weight_acc[i][r] - bias_acc[n]``.

Batch-1 SGD ends wherever its last samples left it, so one run's accuracy is noisy; with
``repeats`` > 1 every run is repeated on that many training orders (the same orders for every
run, so that a contribution stays a paired difference) and the accuracies are averaged.

A scheme's predicted gain is the sum of its parts (tte.training.scheme_search); since parts do
not add exactly, ``GainMeter`` measures a whole scheme's gain the same way (the search re-ranks
its best candidates with it). Results are cached on disk per (model, data, seed, settings),
since each analysis trains dozens of times.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from tte.errors import TteError
from tte.ir import Graph
from tte.training.sparse import LayerRule, UpdateScheme, trainable_layers
from tte.training.trainer import Trainer

RATIOS = (0.125, 0.25, 0.5, 1.0)
CACHE_VERSION = 1


@dataclass(frozen=True)
class ContributionSettings:
    """How each short fine-tuning run is done (all part of the cache key)."""

    steps: int = 2000
    batch_size: int = 1
    lr: float = 0.02
    val_samples: int = 250
    ratios: tuple[float, ...] = RATIOS
    engine: str = "c"  # the generated C on the host: the board's arithmetic, ~10x the reference's speed
    repeats: int = 1   # training orders each run is averaged over

    def check(self) -> None:
        if self.steps < 1 or self.batch_size < 1 or self.val_samples < 1 or self.repeats < 1:
            raise TteError("contribution analysis needs steps, batch size, validation samples and repeats >= 1")
        if self.engine not in ("ref", "c"):
            raise TteError(f"contribution analysis runs on engine 'ref' or 'c', not '{self.engine}'")
        if self.engine == "c" and self.batch_size != 1:
            raise TteError("engine 'c' trains one sample per step: use batch size 1")
        if not self.ratios or any(not 0 < r <= 1 for r in self.ratios):
            raise TteError(f"ratios must lie in (0, 1], got {self.ratios}")


@dataclass
class Contributions:
    """Validation accuracies of the analysis runs and the gains derived from them."""

    n_layers: int
    bias_acc: list[float]
    weight_acc: dict[int, dict[float, float]]
    settings: dict[str, Any] = field(default_factory=dict)
    runs: int = 0

    @property
    def baseline(self) -> float:
        """The bias-only accuracy the weight contributions are measured over."""
        return self.bias_acc[self.n_layers]

    def bias_gain(self, k: int) -> float:
        return self.bias_acc[k] - self.bias_acc[0]

    def weight_gain(self, layer: int, ratio: float) -> float:
        return self.weight_acc[layer][ratio] - self.baseline if ratio else 0.0

    def ratio_options(self, layer: int) -> list[float]:
        """0 (weights frozen) and the ratios this layer was analysed at."""
        return [0.0, *sorted(self.weight_acc.get(layer, {}))]

    def to_json(self) -> dict[str, Any]:
        return {"n_layers": self.n_layers, "bias_acc": self.bias_acc,
                "weight_acc": {str(i): {str(r): a for r, a in d.items()} for i, d in self.weight_acc.items()},
                "settings": self.settings, "runs": self.runs}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Contributions:
        return cls(n_layers=int(d["n_layers"]), bias_acc=[float(a) for a in d["bias_acc"]],
                   weight_acc={int(i): {float(r): float(a) for r, a in v.items()} for i, v in d["weight_acc"].items()},
                   settings=d.get("settings", {}), runs=int(d.get("runs", 0)))


def valid_ratios(graph: Graph, layer: int, ratios: tuple[float, ...]) -> list[float]:
    """The ratios that keep at least one channel of the layer (ratio 1 always does)."""
    convs, _ = trainable_layers(graph)
    node = convs[layer]
    w = graph.tensors[node.inputs[1]]
    depthwise = node.op == "conv2d" and node.attrs.get("groups", 1) > 1 and w.shape[3] == 1
    n = w.shape[0] if depthwise else w.shape[-1]
    return [r for r in ratios if r == 1.0 or int(n * r + 1e-9) >= 1]


def analysis_schemes(graph: Graph, ratios: tuple[float, ...]) -> Iterator[tuple[str, Any, UpdateScheme]]:
    """("bias", k, scheme) for k = 0..n, then ("weight", (layer, ratio), scheme)."""
    convs, classifier = trainable_layers(graph)
    if classifier is None:
        raise TteError(f"graph '{graph.name}' has no conv or fully-connected layer to analyse")
    n = len(convs)
    for k in range(n + 1):
        yield "bias", k, UpdateScheme(name=f"bias-last-{k}", n_bias=k)
    for i in range(n):
        for r in valid_ratios(graph, i, ratios):
            yield "weight", (i, r), UpdateScheme(name=f"weight-{i}-{r:g}", n_bias=n,
                                                 layers=[LayerRule(conv=i, weight_ratio=r)])


def split_data(x: np.ndarray, y: np.ndarray, val_samples: int, seed: int) -> tuple[np.ndarray, ...]:
    """Train / validation split of the user's training data (the test split stays unseen)."""
    if val_samples >= len(x):
        raise TteError(f"validation split of {val_samples} samples leaves nothing to train on "
                       f"({len(x)} samples)")
    order = np.random.default_rng(seed).permutation(len(x))
    va, tr = order[:val_samples], order[val_samples:]
    return x[tr], y[tr], x[va], y[va]


def fine_tune(graph: Graph, scheme: UpdateScheme, x: np.ndarray, y: np.ndarray, xv: np.ndarray, yv: np.ndarray,
              *, steps: int, batch_size: int, lr: float, seed: int, engine: str = "ref") -> float:
    """Validation accuracy after ``steps`` SGD steps on samples drawn in a seed-fixed order."""
    tr = Trainer(graph, scheme=scheme, lr=lr, seed=seed, engine=engine)
    try:
        order = np.random.default_rng(seed + 1).permutation(len(x))
        need = steps * batch_size
        if need > len(order):
            order = np.resize(order, need)
        for s in range(steps):
            idx = order[s * batch_size:(s + 1) * batch_size]
            tr.step(x[idx], y[idx])
        return accuracy(tr, xv, yv)
    finally:
        if tr.sim is not None and hasattr(tr.sim, "close"):
            tr.sim.close()


def accuracy(tr: Trainer, xv: np.ndarray, yv: np.ndarray) -> float:
    """Classification accuracy; engine 'c' scores with its own inference (bit-exact with the
    reference, and much faster than it)."""
    if tr.sim is None:
        return tr.evaluate(xv, yv)
    xq = tr._feeds(xv)[tr.forward.inputs[0]]
    pred = np.array([int(np.argmax(tr.sim.infer(xq[i:i + 1]))) for i in range(len(xq))])
    return float(np.mean(pred == np.asarray(yv).reshape(-1)))


REPEAT_SEED_STRIDE = 10007  # repeat r trains with seed + r * stride: orders far from other seeds' orders


@dataclass
class _FineTune:
    """``fine_tune`` averaged over ``repeats`` training orders, with everything but the scheme
    bound (picklable, for worker processes)."""

    graph: Graph
    x: np.ndarray
    y: np.ndarray
    xv: np.ndarray
    yv: np.ndarray
    kw: dict[str, Any]
    repeats: int = 1

    def __call__(self, scheme: UpdateScheme) -> float:
        kw = dict(self.kw)
        seed = kw.pop("seed")
        return float(np.mean([fine_tune(self.graph, scheme, self.x, self.y, self.xv, self.yv,
                                        seed=seed + r * REPEAT_SEED_STRIDE, **kw) for r in range(self.repeats)]))


def graph_digest(graph: Graph) -> str:
    """A hash of the model's structure and parameters (the cache key's model part)."""
    h = hashlib.sha256()
    for node in graph.nodes:
        h.update(f"{node.op}|{node.inputs}|{node.outputs}|{sorted(node.attrs.items())!r}".encode())
    for name in sorted(graph.tensors):
        t = graph.tensors[name]
        h.update(f"{name}|{t.shape}|{t.dtype}".encode())
        if t.data is not None:
            h.update(np.ascontiguousarray(t.data).tobytes())
        if t.quant is not None:
            h.update(np.ascontiguousarray(t.quant.scale).tobytes())
    return h.hexdigest()


def data_digest(x: np.ndarray, y: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in (x, y):
        h.update(f"{a.shape}|{a.dtype}".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def cache_dir() -> Path:
    """``$TTE_CACHE_DIR``, else ``$XDG_CACHE_HOME/tte``, else ``~/.cache/tte``."""
    if os.environ.get("TTE_CACHE_DIR"):
        return Path(os.environ["TTE_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tte"


def cache_key(graph: Graph, x: np.ndarray, y: np.ndarray, seed: int, settings: ContributionSettings) -> str:
    text = json.dumps({"v": CACHE_VERSION, "model": graph_digest(graph), "data": data_digest(x, y), "seed": seed,
                       "settings": asdict(settings)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def analyze_contributions(graph: Graph, x: np.ndarray, y: np.ndarray, *, seed: int = 0,
                          settings: ContributionSettings | None = None, cache: Path | None | bool = True,
                          progress: bool = True, jobs: int = 1) -> Contributions:
    """Run (or read from the cache) the contribution analysis of an int8 graph on data (x, y)
    in the model's input layout: ``settings.val_samples`` of it are held out for scoring.
    ``jobs`` > 1 runs that many fine-tuning runs at once in worker processes."""
    st = settings or ContributionSettings()
    st.check()
    path = None
    if cache is not False:
        root = cache_dir() if cache is True or cache is None else Path(cache)
        path = root / "contributions" / f"{cache_key(graph, x, y, seed, st)}.json"
        if path.is_file():
            try:
                return Contributions.from_json(json.loads(path.read_text()))
            except (ValueError, KeyError, TypeError):
                pass  # a damaged cache entry is recomputed and replaced
    xt, yt, xv, yv = split_data(x, y, st.val_samples, seed)
    runs = list(analysis_schemes(graph, st.ratios))
    n = len(trainable_layers(graph)[0])
    bias_acc = [0.0] * (n + 1)
    weight_acc: dict[int, dict[float, float]] = {}
    run = _FineTune(graph, xt, yt, xv, yv, _train_kw(st, seed), st.repeats)
    if jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(max_workers=jobs)
        accs = pool.map(run, [r[2] for r in runs])
    else:
        pool = None
        accs = (run(r[2]) for r in runs)
    try:
        results = list(tqdm(zip(runs, accs), total=len(runs), desc="contribution analysis", unit="run",
                            disable=not progress))
    finally:
        if pool is not None:
            pool.shutdown()
    for (kind, key, _), acc in results:
        if kind == "bias":
            bias_acc[key] = acc
        else:
            weight_acc.setdefault(key[0], {})[key[1]] = acc
    result = Contributions(n_layers=n, bias_acc=bias_acc, weight_acc=weight_acc,
                           settings={**asdict(st), "seed": seed, "train_samples": len(xt)}, runs=len(runs))
    if path is not None:
        _write_json(path, result.to_json())
    return result


def _train_kw(st: ContributionSettings, seed: int) -> dict[str, Any]:
    return {"steps": st.steps, "batch_size": st.batch_size, "lr": st.lr, "seed": seed, "engine": st.engine}


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    tmp.replace(path)


class GainMeter:
    """A whole scheme's measured gain over classifier-only: the validation accuracy of the
    analysis's own protocol (same split, orders and settings) minus ``bias_acc[0]``, so that it
    compares with the predicted (summed) gain. Cached on disk per (analysis, scheme)."""

    def __init__(self, graph: Graph, x: np.ndarray, y: np.ndarray, contributions: Contributions, *,
                 seed: int = 0, settings: ContributionSettings | None = None,
                 cache: Path | None | bool = True) -> None:
        self.st = settings or ContributionSettings()
        self.st.check()
        self.contrib = contributions
        xt, yt, xv, yv = split_data(x, y, self.st.val_samples, seed)
        self.run = _FineTune(graph, xt, yt, xv, yv, _train_kw(self.st, seed), self.st.repeats)
        self.root: Path | None = None
        if cache is not False:
            base = cache_dir() if cache is True or cache is None else Path(cache)
            self.root = base / "measured" / cache_key(graph, x, y, seed, self.st)
        self.runs = 0

    def accuracy(self, scheme: UpdateScheme) -> float:
        plan = json.dumps({k: v for k, v in scheme.to_dict().items() if k != "name"}, sort_keys=True)
        path = None
        if self.root is not None:
            path = self.root / f"{hashlib.sha256(plan.encode()).hexdigest()[:24]}.json"
            if path.is_file():
                try:
                    return float(json.loads(path.read_text())["accuracy"])
                except (ValueError, KeyError, TypeError):
                    pass  # recomputed and replaced
        acc = self.run(scheme)
        self.runs += 1
        if path is not None:
            _write_json(path, {"scheme": json.loads(plan), "accuracy": acc})
        return acc

    def gain(self, scheme: UpdateScheme) -> float:
        return self.accuracy(scheme) - self.contrib.bias_acc[0]
