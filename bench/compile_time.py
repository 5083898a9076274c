"""Wall time of `tte compile` on the paper's three models, end to end, as a user runs it.

    python bench/compile_time.py [--repeat 3] [--baseline SRC]   # writes bench/results/compile_time.json

Per model (MCUNet-5FPS, MobileNetV2-w0.35, ProxylessNAS-w0.3 from tte/models/paper.py, float
ONNX at 128x128, 10 classes) the command is

    tte compile MODEL.onnx --calibration calib.npz --samples 8 --board stm32f746g-disco
                --scheme paper:<model>:<~100 KB budget> -o OUT

in a fresh Python process (imports included): quantization on the calibration images, the
training graph, memory plan, C generation, and the flash measurement with arm-none-eabi-gcc.
Each model is compiled both ways, --repeat times each:

* installed: the first compile after `make setup`, whose `tte kernel-sizes` sized the kernel
  library for the board's flags (as a toolchain builds its runtime once at install); a cache of
  its own per run, filled by that command alone (not counted);
* cold: a first compile with an empty tte cache of its own (TTE_CACHE_DIR), as when the install
  step was skipped: every kernel the model links is compiled once for its code size (and cached);
* warm: with the cache a user has after the first compile (filled by one run not counted).

Besides wall time (median), the CPU seconds of the process and its compilers (less sensitive to
other load on the machine), and the load average. The SHA-256 of every file written is recorded,
so that two runs (before and after a change to the compiler) can be checked for byte-identical
output; with ``--baseline SRC`` (a source tree of tte before the change, e.g. ``git archive
main``) the same cold and warm commands run from it in the same session, interleaved run by run
with this tree's, for cold/cold and warm/warm ratios and the byte-for-byte check.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine_info  # noqa: E402

from tte.models.paper import build_paper_onnx  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MODELS = (("mcunet-5fps", "99kb"), ("mbv2-w0.35", "99kb"), ("proxyless-w0.3", "98kb"))
BOARD = "stm32f746g-disco"
TARGET_S = 5.0


def run_compile(model: Path, calib: Path, scheme: str, out: Path, cache: Path, root: Path = ROOT) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(root), "TTE_CACHE_DIR": str(cache)}
    cmd = [sys.executable, "-m", "tte.cli", "compile", str(model), "--calibration", str(calib), "--samples", "8",
           "--board", BOARD, "--scheme", scheme, "-o", str(out)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    t = time.perf_counter()
    # from the tree's own folder: `python -m` puts the working directory first on sys.path, so
    # from any other checkout a baseline run would import that checkout's tte
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=root, check=False)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise SystemExit(f"tte compile failed on {model.name}: {r.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir()) if p.is_file()}
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "load_avg_1min": round(load, 2), "files": files}


def fill_kernel_sizes(cache: Path, root: Path = ROOT) -> None:
    """What `make setup` leaves in a cache: the kernel library sized for the board's flags."""
    env = {**os.environ, "PYTHONPATH": str(root), "TTE_CACHE_DIR": str(cache)}
    r = subprocess.run([sys.executable, "-m", "tte.cli", "kernel-sizes", "--board", BOARD], capture_output=True,
                       text=True, env=env, cwd=root, check=False)
    if r.returncode != 0:
        raise SystemExit(f"tte kernel-sizes failed: {r.stderr.strip()}")


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"wall_s": [r["wall_s"] for r in runs], "cpu_s": [r["cpu_s"] for r in runs],
            "load_avg_1min": [r["load_avg_1min"] for r in runs],
            "median_wall_s": statistics.median(r["wall_s"] for r in runs),
            "median_cpu_s": statistics.median(r["cpu_s"] for r in runs)}


def time_model(work: Path, model: str, scheme: str, calib: Path, trees: dict[str, Path],
               repeat: int) -> dict[str, Any]:
    """Installed, cold and warm runs of one model from every tree, interleaved (tree by tree,
    ``repeat`` times), so that load from elsewhere on the machine falls on all alike; a baseline
    tree without `tte kernel-sizes` has no installed runs."""
    path = work / f"{model}.onnx"
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {t: {"installed": [], "cold": [], "warm": []} for t in trees}
    for tree, root in trees.items():  # fills the warm cache
        run_compile(path, calib, scheme, work / f"{model}-{tree}-fill", work / f"cache-{model}-{tree}", root)
    for k in range(repeat):
        for tree, root in trees.items():
            if tree == "tte":
                fill_kernel_sizes(work / f"cache-{model}-{tree}-installed{k}", root)
                runs[tree]["installed"].append(run_compile(path, calib, scheme, work / f"{model}-{tree}-installed{k}",
                                                           work / f"cache-{model}-{tree}-installed{k}", root))
            runs[tree]["cold"].append(run_compile(path, calib, scheme, work / f"{model}-{tree}-cold{k}",
                                                  work / f"cache-{model}-{tree}-cold{k}", root))
            runs[tree]["warm"].append(run_compile(path, calib, scheme, work / f"{model}-{tree}-warm{k}",
                                                  work / f"cache-{model}-{tree}", root))
    files = runs["tte"]["cold"][0]["files"]
    assert all(r["files"] == files for kind in runs["tte"].values() for r in kind), f"{model}: output differs"
    row: dict[str, Any] = {"scheme": scheme, "installed": _summary(runs["tte"]["installed"]),
                           "cold": _summary(runs["tte"]["cold"]),
                           "warm": _summary(runs["tte"]["warm"]), "output_sha256": files}
    if "baseline" in trees:
        base = {kind: _summary(rs) for kind, rs in runs["baseline"].items() if rs}
        row["baseline"] = base
        for kind in ("cold", "warm"):
            for what in ("wall", "cpu"):
                row[f"{kind}_{what}_vs_baseline"] = round(row[kind][f"median_{what}_s"]
                                                          / base[kind][f"median_{what}_s"], 3)
        row["output_identical_to_baseline"] = all(r["files"] == files for kind in runs["baseline"].values()
                                                  for r in kind)
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3, help="cold and warm runs per model (and per tree)")
    ap.add_argument("--baseline", help="a tte source tree to time the same commands from, for a ratio")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "compile_time.json"))
    args = ap.parse_args()

    trees = {"tte": ROOT, **({"baseline": Path(args.baseline)} if args.baseline else {})}
    rows: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        calib = work / "calib.npz"
        np.savez(calib, x=np.random.default_rng(0).uniform(-1, 1, (8, 3, 128, 128)).astype(np.float32))
        for model, budget in MODELS:
            onnx.save(build_paper_onnx(model, resolution=128, num_classes=10, seed=0), work / f"{model}.onnx")
            r = rows[model] = time_model(work, model, f"paper:{model}:{budget}", calib, trees, args.repeat)
            line = (f"{model:<16} installed {r['installed']['median_wall_s']:5.2f} s"
                    f"   cold {r['cold']['median_wall_s']:5.2f} s (cpu {r['cold']['median_cpu_s']:5.2f})"
                    f"   warm {r['warm']['median_wall_s']:5.2f} s (cpu {r['warm']['median_cpu_s']:5.2f})")
            if "baseline" in r:
                b = r["baseline"]
                line += (f"   baseline cold {b['cold']['median_wall_s']:5.2f} s, "
                         f"warm {b['warm']['median_wall_s']:5.2f} s"
                         f"   ratio cold {r['cold_wall_vs_baseline']:.2f}, warm {r['warm_wall_vs_baseline']:.2f}"
                         f"   same bytes: {r['output_identical_to_baseline']}")
            print(line + f"   load {statistics.median(r['cold']['load_avg_1min']):.1f}", flush=True)
    out = {"machine": machine_info(), "board": BOARD, "target_s": TARGET_S, "baseline": args.baseline,
           "repeat": args.repeat,
           "command": "tte compile MODEL.onnx --calibration calib.npz --samples 8 --board "
                      f"{BOARD} --scheme paper:<model>:<budget> -o OUT (python -m tte.cli, a fresh process)",
           "runs": "installed: the first compile after make setup (a cache per run holding only what `tte "
                   "kernel-sizes --board BOARD` wrote: the kernel library sized for the board's flags); cold: an "
                   "empty tte cache per run (every kernel the model links compiled for its code size); warm: "
                   "the cache after a first compile; medians over --repeat runs, this tree's and the baseline's "
                   "interleaved",
           "models": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
