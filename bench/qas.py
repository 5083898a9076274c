"""The shape of the paper's Table 1 on real data: does int8 training with QAS match fp32?

Task: the example CNN, pretrained on Fashion-MNIST, is transferred on-device to MNIST digits
(the 5,000-image subset: 4,000 train / 1,000 test). Methods (all start from the same int8
model; fp32 trains its dequantized twin):

  fp32 SGD            float weights, the baseline
  int8 SGD            int8 weights, no QAS (the gradient scale mismatch of the paper)
  int8 SGD + QAS      nearest rounding (updates below half an int8 step are lost)
  int8 SGD + QAS (sr) stochastic rounding (tte's default: small updates kept in expectation)
  sparse int8 + QAS   the best of the sparse candidates in bench/schemes/, stochastic rounding

"Last blocks" is last-k:4 (the last inverted-residual block, the 1x1 mix conv and the
classifier). Mini-batches of 8 keep the seed-to-seed spread small enough to compare methods
(batch 1, the board's setting, is `--batch-size 1`).

Learning rates come from a ladder 1, 3, 10, 30, ... (times powers of ten). Each method's
search starts at three neighbouring rungs and is scored on the mean validation accuracy
over 3 validation seeds (seed s: 500 training images held out by permutation s, training
order and rounding seed s). While the best mean sits on the lowest or highest rung tried,
the next rung past it is added; so the chosen rate always has a worse rung on each side.
The sparse candidate is picked on validation seed 0 (each candidate searched the same way on
that one seed), then searched like the others. The chosen rate then runs with seeds 0..N-1 on the test set, and
every method is compared with fp32 by paired per-seed differences (mean, 95 % t interval).

Each finished run is kept in build/qas-runs.jsonl (git-ignored), so an interrupted bench
resumes; `--fresh` ignores what is there. `--jobs N` runs N trainings in parallel.

Usage: python bench/qas.py [--seeds 5] [--epochs 2] [--batch-size 8] [--jobs 1] [--quick]
"""

from __future__ import annotations

import os

# One BLAS thread per process: a run is many small matrix products, and BLAS threads spin
# on a shared machine (three times the CPU time for the same run, measured).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine_info  # noqa: E402

import tte  # noqa: E402
from tte.training.data import fashion_mnist, mnist  # noqa: E402
from tte.training.trainer import Trainer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "build" / "qas-runs.jsonl"
LADDER = sorted(round(m * 10.0 ** k, 12) for k in range(-6, 9) for m in (1, 3))
VAL_SEEDS = (0, 1, 2)
VAL_SIZE = 500
MAX_WIDENINGS = 6
SPARSE_CANDIDATES = sorted(str(p) for p in (ROOT / "bench" / "schemes").glob("example-sparse-*.toml"))
METHODS = {
    # name: (precision, scheme, qas, rounding, starting rung (the middle of the first three))
    "fp32 SGD": ("fp32", "last-k:4", True, "nearest", 0.1),
    "int8 SGD (no QAS)": ("int8", "last-k:4", False, "nearest", 10000.0),
    "int8 SGD + QAS (nearest)": ("int8", "last-k:4", True, "nearest", 0.3),
    "int8 SGD + QAS (stochastic)": ("int8", "last-k:4", True, "stochastic", 0.03),
}
SPARSE_NAME = "sparse int8 + QAS (stochastic)"
SPARSE_START = 0.1
SPEC_FIELDS = ("precision", "scheme", "qas", "rounding", "lr", "seed", "phase", "epochs", "batch", "quick")


def rung(lr: float, step: int) -> float:
    """The ladder value ``step`` rungs above (below, if negative) ``lr``."""
    i = LADDER.index(lr) + step
    if not 0 <= i < len(LADDER):
        raise SystemExit(f"learning-rate ladder exhausted next to {lr:g}")
    return LADDER[i]


def train_once(q: tte.Graph, method: tuple, lr: float, seed: int, x: np.ndarray, y: np.ndarray,
               xe: np.ndarray, ye: np.ndarray, epochs: int, batch: int) -> tuple[float, Trainer]:
    precision, scheme, qas, rounding, _ = method
    tr = Trainer(q, scheme=scheme, precision=precision, lr=lr, qas=qas, rounding=rounding, seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            tr.step(x[idx], y[idx])
    return tr.evaluate(xe, ye), tr


# --------------------------------------------------------------------------------------
# One run, in a worker process (data and the int8 model loaded once per worker).

_DATA: dict[str, Any] = {}


def _load(quick: bool) -> dict[str, Any]:
    if not _DATA:
        xf, _ = fashion_mnist("train")
        x, y = mnist("train")
        if quick:
            x, y = x[:1000], y[:1000]
        xt, yt = mnist("test")
        _DATA.update(q=tte.quantize(tte.load(ROOT / "examples" / "fmnist_cnn.onnx"), calibration=xf[:500]),
                     x=x, y=y, xt=xt, yt=yt)
    return _DATA


def _run(spec: dict[str, Any]) -> dict[str, Any]:
    d = _load(spec["quick"])
    x, y, seed = d["x"], d["y"], spec["seed"]
    if spec["phase"] == "val":
        perm = np.random.default_rng(seed).permutation(len(x))
        xtr, ytr, xe, ye = x[perm[VAL_SIZE:]], y[perm[VAL_SIZE:]], x[perm[:VAL_SIZE]], y[perm[:VAL_SIZE]]
    else:
        xtr, ytr, xe, ye = x, y, d["xt"], d["yt"]
    method = (spec["precision"], spec["scheme"], spec["qas"], spec["rounding"], None)
    t0 = time.process_time()
    acc, tr = train_once(d["q"], method, spec["lr"], seed, xtr, ytr, xe, ye, spec["epochs"], spec["batch"])
    return {**spec, "accuracy": acc, "trainable_bytes": tr.trainable_bytes,
            "saved_activation_bytes": tr.saved_bytes, "cpu_seconds": time.process_time() - t0}


class Runs:
    """Finished runs, kept on disk so that the bench resumes where it stopped."""

    def __init__(self, path: Path, fresh: bool) -> None:
        self.path = path
        self.done: dict[str, dict[str, Any]] = {}
        if path.exists() and not fresh:
            for line in path.read_text().splitlines():
                r = json.loads(line)
                self.done[self.key(r)] = r
        path.parent.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def key(spec: dict[str, Any]) -> str:
        """What makes a run (not the display name, not its results)."""
        return json.dumps({k: spec[k] for k in SPEC_FIELDS})

    def accuracy(self, spec: dict[str, Any]) -> float | None:
        r = self.done.get(self.key(spec))
        return None if r is None else r["accuracy"]

    def get(self, spec: dict[str, Any]) -> dict[str, Any]:
        return self.done[self.key(spec)]

    def add(self, r: dict[str, Any]) -> None:
        r["key"] = self.key(r)
        self.done[r["key"]] = r
        with self.path.open("a") as f:
            f.write(json.dumps(r) + "\n")
        print(f"  {r['phase']:<4} {r['name']:<48} lr={r['lr']:<8g} seed {r['seed']}  "
              f"acc {r['accuracy'] * 100:6.2f} %  ({r['cpu_seconds']:.0f} CPU s)", flush=True)


def spec(name: str, method: tuple, lr: float, seed: int, phase: str, args: argparse.Namespace) -> dict[str, Any]:
    precision, scheme, qas, rounding, _ = method
    return {"name": name, "precision": precision, "scheme": scheme if scheme.startswith(("last-k", "full"))
            else str(Path(scheme).relative_to(ROOT)), "qas": qas, "rounding": rounding, "lr": lr, "seed": seed,
            "phase": phase, "epochs": args.epochs, "batch": args.batch_size, "quick": args.quick}


def search_state(runs: Runs, name: str, method: tuple, seeds: tuple[int, ...],
                 args: argparse.Namespace) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The runs a search still needs, or (when it needs none) its outcome.

    The rungs tried start at three around the method's starting rung; while every run of
    them is done and the best mean validation accuracy is on the lowest or highest, the next
    rung past it is added."""
    tried = [rung(method[4], -1), method[4], rung(method[4], 1)]
    for widening in range(MAX_WIDENINGS + 1):
        specs = {lr: [spec(name, method, lr, s, "val", args) for s in seeds] for lr in tried}
        missing = [sp for lr in tried for sp in specs[lr] if runs.accuracy(sp) is None]
        if missing:
            return missing, None
        per_lr = {lr: [runs.get(sp)["accuracy"] for sp in specs[lr]] for lr in tried}
        means = {lr: float(np.mean(v)) for lr, v in per_lr.items()}
        best = max(means, key=lambda lr: means[lr])
        edge = -1 if best == tried[0] else 1 if best == tried[-1] else 0
        if edge == 0 or widening == MAX_WIDENINGS:
            return [], {"lr": best, "on_edge": edge != 0, "mean": means[best],
                        "lr_search": {f"{lr:g}": {"mean": means[lr], "per_seed": per_lr[lr]} for lr in tried}}
        tried = sorted({*tried, rung(best, edge)})
    raise AssertionError("unreachable")


def plan(runs: Runs, args: argparse.Namespace) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Every run still needed, searches first; or, when none is, the searches' outcomes."""
    needed: list[dict[str, Any]] = []
    candidates = {f"{SPARSE_NAME} [{Path(p).stem}]": ("int8", p, True, "stochastic", SPARSE_START)
                  for p in SPARSE_CANDIDATES}
    picked = {}
    for n, m in candidates.items():  # the sparse candidates: validation seed 0 only
        missing, outcome = search_state(runs, n, m, (0,), args)
        needed += missing
        if outcome is not None:
            picked[n] = outcome
    methods = dict(METHODS)
    if len(picked) == len(candidates):
        best = max(picked, key=lambda n: picked[n]["mean"])
        methods[SPARSE_NAME] = ("int8", candidates[best][1], True, "stochastic", SPARSE_START)
    found = {}
    for n, m in methods.items():
        missing, outcome = search_state(runs, n, m, VAL_SEEDS, args)
        needed += missing
        if outcome is not None:
            found[n] = outcome
    # test runs of every settled method, seed by seed, so that a partial run holds complete pairs
    needed += [sp for s in range(args.seeds) for n in found
               if runs.accuracy(sp := spec(n, methods[n], found[n]["lr"], s, "test", args)) is None]
    if needed or SPARSE_NAME not in methods:
        return needed, None
    return [], {"methods": methods, "found": found, "candidates": picked}


def run_all(runs: Runs, args: argparse.Namespace) -> dict[str, Any]:
    """Run what the plan needs, `--jobs` at a time, replanning as each run finishes."""
    if args.from_runs:
        needed, outcome = plan(runs, args)
        if outcome is None:
            raise SystemExit(f"{len(needed)} runs still needed (first: {needed[0]['name']} lr={needed[0]['lr']:g} "
                             f"seed {needed[0]['seed']} {needed[0]['phase']}); run without --from-runs")
        return outcome
    running: dict[Future, str] = {}
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        while True:
            needed, outcome = plan(runs, args)
            if outcome is not None:
                return outcome
            for sp in needed:
                if len(running) >= args.jobs:
                    break
                if Runs.key(sp) not in running.values():
                    running[pool.submit(_run, sp)] = Runs.key(sp)
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for f in finished:
                del running[f]
                runs.add(f.result())


def paired(a: list[float], b: list[float]) -> dict[str, Any]:
    """Mean of the per-seed differences a - b with its 95 % t interval."""
    d = np.asarray(a) - np.asarray(b)
    n = len(d)
    half = float(stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    return {"n": n, "mean_difference": float(d.mean()), "ci95": [float(d.mean()) - half, float(d.mean()) + half]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--jobs", type=int, default=1, help="trainings run in parallel")
    ap.add_argument("--fresh", action="store_true", help="ignore the runs kept in build/qas-runs.jsonl")
    ap.add_argument("--from-runs", action="store_true", help="train nothing: write the table from the kept runs")
    ap.add_argument("--note", default="", help="recorded in the JSON (e.g. where the kept runs came from)")
    ap.add_argument("--quick", action="store_true", help="1,000 training samples, for a smoke run")
    ap.add_argument("--fixed", metavar="METHOD=LR", action="append", default=[],
                    help="skip the search: run only these methods at these rates (results go to qas-fixed.json)")
    args = ap.parse_args()
    if args.fixed:
        run_fixed(args)
        return
    t_start = time.perf_counter()
    runs = Runs(RUNS, args.fresh)
    outcome = run_all(runs, args)
    methods, found, picked = outcome["methods"], outcome["found"], outcome["candidates"]
    rows = []
    for name, method in methods.items():
        res = [runs.get(spec(name, method, found[name]["lr"], s, "test", args)) for s in range(args.seeds)]
        accs = [r["accuracy"] for r in res]
        rows.append({"method": name, "precision": method[0], "scheme": Path(method[1]).stem, "qas": method[2],
                     "rounding": method[3], "lr": found[name]["lr"], "lr_on_grid_edge": found[name]["on_edge"],
                     "lr_search": found[name]["lr_search"], "test_accuracy": accs,
                     "mean": float(np.mean(accs)), "std": float(np.std(accs)),
                     "trainable_bytes": res[0]["trainable_bytes"],
                     "saved_activation_bytes": res[0]["saved_activation_bytes"]})
    fp32 = rows[0]
    for r in rows[1:]:
        r["vs_fp32"] = paired(r["test_accuracy"], fp32["test_accuracy"])
    lastk, sparse = rows[3], rows[-1]
    sparse["vs_last_blocks_stochastic"] = paired(sparse["test_accuracy"], lastk["test_accuracy"])

    d = _load(args.quick)
    before = Trainer(d["q"], scheme="classifier-only").evaluate(d["xt"], d["yt"])
    print(f"\nMNIST transfer from the Fashion-MNIST example (before training: {before * 100:.2f} %), "
          f"{len(d['x'])} samples, batch {args.batch_size}, {args.epochs} epochs, {args.seeds} seeds; "
          f"rates chosen on the mean of {len(VAL_SEEDS)} validation seeds")
    print(f"{'method':<32} {'scheme':<17} {'lr':>6} {'rungs tried':>18} {'test acc %':>14} "
          f"{'vs fp32 (95 % CI), points':>27} {'trained B':>10} {'saved B':>8}")
    for r in rows:
        rungs = f"{min(map(float, r['lr_search'])):g}..{max(map(float, r['lr_search'])):g}"
        vs = r.get("vs_fp32")
        vs_text = (f"{vs['mean_difference'] * 100:+6.2f} [{vs['ci95'][0] * 100:+6.2f}, {vs['ci95'][1] * 100:+6.2f}]"
                   if vs else "")
        print(f"{r['method']:<32} {r['scheme']:<17} {r['lr']:>6g} {rungs:>18} "
              f"{r['mean'] * 100:>8.2f} ± {r['std'] * 100:4.2f} {vs_text:>27} {r['trainable_bytes']:>10,} "
              f"{r['saved_activation_bytes']:>8,}" + ("  WINNER ON AN EDGE" if r["lr_on_grid_edge"] else ""))
    mem = (sparse["trainable_bytes"] + sparse["saved_activation_bytes"]) / (
        lastk["trainable_bytes"] + lastk["saved_activation_bytes"])
    sv = sparse["vs_last_blocks_stochastic"]
    print(f"sparse vs last blocks (int8 + QAS, stochastic): {sv['mean_difference'] * 100:+.2f} points "
          f"(95 % CI {sv['ci95'][0] * 100:+.2f} to {sv['ci95'][1] * 100:+.2f}) at {mem * 100:.0f} % of the "
          "training memory (trained + saved bytes)")
    out = {"benchmark": "qas", "task": "fashion-mnist example -> mnist (5k subset)", "train_samples": len(d["x"]),
           "test_samples": len(d["xt"]), "batch_size": args.batch_size, "epochs": args.epochs,
           "seeds": args.seeds, "validation": {"seeds": list(VAL_SEEDS), "held_out": VAL_SIZE,
                                               "ladder": "1, 3 x 10^k", "chosen_on": "mean accuracy"},
           "accuracy_before": before, "rows": rows,
           "sparse_candidates": {n.split("[")[1].rstrip("]"): v for n, v in picked.items()},
           "sparse_candidate_selection": "best validation accuracy on validation seed 0, each candidate at its "
                                         "best rung",
           "machine": machine_info(), "seconds": time.perf_counter() - t_start,
           "written_from_kept_runs": args.from_runs, "note": args.note,
           "cpu_seconds_of_all_runs": sum(r["cpu_seconds"] for r in runs.done.values())}
    if not args.quick:
        path = ROOT / "bench" / "results" / "qas.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out, indent=2) + "\n")
        print(f"wrote {path}")


def run_fixed(args: argparse.Namespace) -> None:
    """Run chosen methods at given rates on the test set (all seeds), without the search."""
    xf, _ = fashion_mnist("train")
    q = tte.quantize(tte.load(ROOT / "examples" / "fmnist_cnn.onnx"), calibration=xf[:500])
    x, y = mnist("train")
    xt, yt = mnist("test")
    rows = []
    for item in args.fixed:
        name, lr_text = item.rsplit("=", 1)
        if name not in METHODS:
            raise SystemExit(f"unknown method '{name}' (known: {', '.join(METHODS)})")
        accs = [train_once(q, METHODS[name], float(lr_text), seed, x, y, xt, yt, args.epochs, args.batch_size)[0]
                for seed in range(args.seeds)]
        rows.append({"method": name, "lr": float(lr_text), "test_accuracy": accs, "mean": float(np.mean(accs)),
                     "std": float(np.std(accs))})
        print(f"{name:<40} lr={lr_text:<6} test {np.mean(accs) * 100:6.2f} ± {np.std(accs) * 100:.2f} %", flush=True)
    out = {"benchmark": "qas-fixed", "batch_size": args.batch_size, "epochs": args.epochs, "seeds": args.seeds,
           "rows": rows, "machine": machine_info()}
    path = ROOT / "bench" / "results" / "qas-fixed.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
