"""The shape of the paper's Table 1 on real data: does int8 training with QAS match fp32?

Task: the example CNN, pretrained on Fashion-MNIST, is transferred on-device to MNIST digits
(the 5,000-image subset: 4,000 train / 1,000 test). Methods (all start from the same int8
model; fp32 trains its dequantized twin):

  fp32 SGD            float weights, the baseline
  int8 SGD            int8 weights, no QAS (the gradient scale mismatch of the paper)
  int8 SGD + QAS      nearest rounding (updates below half an int8 step are lost)
  int8 SGD + QAS (sr) stochastic rounding (tte's default: small updates kept in expectation)
  sparse int8 + QAS   the best of the sparse candidates in bench/schemes/ (chosen on the
                      validation split), stochastic rounding

"Last blocks" is last-k:4 (the last inverted-residual block, the 1x1 mix conv and the
classifier). The learning rate of each method is searched on a validation split (500 of the
train images held out, seed 0); the chosen rate then runs with several seeds on the test set.
Mini-batches of 8 keep the seed-to-seed spread small enough to compare methods (batch 1, the
board's setting, is `--batch-size 1`).

Usage: python bench/qas.py [--seeds 5] [--epochs 2] [--batch-size 8] [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine_info  # noqa: E402

import tte  # noqa: E402
from tte.training.data import fashion_mnist, mnist  # noqa: E402
from tte.training.trainer import Trainer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LRS = [0.03, 0.1, 0.3, 1.0]
SPARSE_CANDIDATES = sorted(str(p) for p in (ROOT / "bench" / "schemes").glob("example-sparse-*.toml"))
METHODS = {
    # name: (precision, scheme, qas, rounding, learning rates searched)
    "fp32 SGD": ("fp32", "last-k:4", True, "nearest", LRS),
    "int8 SGD (no QAS)": ("int8", "last-k:4", False, "nearest", [10.0, 100.0, 1000.0, 10000.0]),
    "int8 SGD + QAS (nearest)": ("int8", "last-k:4", True, "nearest", LRS),
    "int8 SGD + QAS (stochastic)": ("int8", "last-k:4", True, "stochastic", LRS),
}
SPARSE_NAME = "sparse int8 + QAS (stochastic)"


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


def search_lr(q: tte.Graph, name: str, method: tuple, data: tuple, epochs: int, batch: int) -> dict[float, float]:
    xtr, ytr, xv, yv = data
    found = {}
    for lr in method[4]:
        found[lr], _ = train_once(q, method, lr, 0, xtr, ytr, xv, yv, epochs, batch)
        print(f"  search {name:<40} lr={lr:<6g} val acc {found[lr] * 100:6.2f} %", flush=True)
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--quick", action="store_true", help="1,000 training samples, for a smoke run")
    ap.add_argument("--fixed", metavar="METHOD=LR", action="append", default=[],
                    help="skip the search: run only these methods at these rates (results go to qas-fixed.json)")
    args = ap.parse_args()
    if args.fixed:
        run_fixed(args)
        return
    ep, bs = args.epochs, args.batch_size
    t_start = time.perf_counter()
    xf, _ = fashion_mnist("train")
    q = tte.quantize(tte.load(ROOT / "examples" / "fmnist_cnn.onnx"), calibration=xf[:500])
    x, y = mnist("train")
    xt, yt = mnist("test")
    if args.quick:
        x, y = x[:1000], y[:1000]
    val_idx = np.random.default_rng(0).permutation(len(x))
    split = (x[val_idx[500:]], y[val_idx[500:]], x[val_idx[:500]], y[val_idx[:500]])

    # the sparse scheme: the candidate with the best validation accuracy (each at its best rate)
    candidates = {}
    for path in SPARSE_CANDIDATES:
        method = ("int8", path, True, "stochastic", LRS)
        found = search_lr(q, f"{SPARSE_NAME} [{Path(path).stem}]", method, split, ep, bs)
        candidates[path] = found
    best_sparse = max(candidates, key=lambda p: max(candidates[p].values()))
    methods = {**METHODS, SPARSE_NAME: ("int8", best_sparse, True, "stochastic", LRS)}

    rows = []
    for name, method in methods.items():
        search = candidates[best_sparse] if name == SPARSE_NAME else search_lr(q, name, method, split, ep, bs)
        best = max(search, key=lambda k: search[k])
        accs, tr = [], None
        for seed in range(args.seeds):
            acc, tr = train_once(q, method, best, seed, x, y, xt, yt, ep, bs)
            accs.append(acc)
        assert tr is not None
        rows.append({"method": name, "precision": method[0], "scheme": Path(method[1]).stem, "qas": method[2],
                     "rounding": method[3], "lr": best, "lr_search": search, "test_accuracy": accs,
                     "mean": float(np.mean(accs)), "std": float(np.std(accs)),
                     "trainable_bytes": tr.trainable_bytes, "saved_activation_bytes": tr.saved_bytes})
        print(f"{name:<40} lr={best:<6g} test {np.mean(accs) * 100:6.2f} ± {np.std(accs) * 100:.2f} %", flush=True)

    before = Trainer(q, scheme="classifier-only").evaluate(xt, yt)
    fp32 = rows[0]["mean"]
    lastk = rows[3]
    print(f"\nMNIST transfer from the Fashion-MNIST example (before training: {before * 100:.2f} %), "
          f"{len(x)} samples, batch {bs}, {ep} epochs, {args.seeds} seeds")
    print(f"{'method':<40} {'scheme':<17} {'lr':>6} {'test acc %':>14} {'vs fp32':>8} {'trained B':>10} "
          f"{'saved B':>9}")
    for r in rows:
        print(f"{r['method']:<40} {r['scheme']:<17} {r['lr']:>6g} {r['mean'] * 100:>8.2f} ± {r['std'] * 100:4.2f} "
              f"{(r['mean'] - fp32) * 100:>+8.2f} {r['trainable_bytes']:>10,} {r['saved_activation_bytes']:>9,}")
    sparse = rows[-1]
    mem = (sparse["trainable_bytes"] + sparse["saved_activation_bytes"]) / (
        lastk["trainable_bytes"] + lastk["saved_activation_bytes"])
    print(f"sparse vs last blocks (int8 + QAS, stochastic): {(sparse['mean'] - lastk['mean']) * 100:+.2f} points "
          f"at {mem * 100:.0f} % of the training memory (trained + saved bytes)")
    out = {"benchmark": "qas", "task": "fashion-mnist example -> mnist (5k subset)", "train_samples": len(x),
           "test_samples": len(xt), "batch_size": bs, "epochs": ep, "seeds": args.seeds,
           "accuracy_before": before, "rows": rows,
           "sparse_candidates": {Path(p).stem: c for p, c in candidates.items()},
           "machine": machine_info(), "seconds": time.perf_counter() - t_start}
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
    for spec in args.fixed:
        name, lr_text = spec.rsplit("=", 1)
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
