"""Wall time of `tte compile` on the paper's three models, end to end, as a user runs it.

    python bench/compile_time.py [--repeat 3]      # writes bench/results/compile_time.json

Per model (MCUNet-5FPS, MobileNetV2-w0.35, ProxylessNAS-w0.3 from tte/models/paper.py, float
ONNX at 128x128, 10 classes) the command is

    tte compile MODEL.onnx --calibration calib.npz --samples 8 --board stm32f746g-disco
                --scheme paper:<model>:<~100 KB budget> -o OUT

in a fresh Python process (imports included): quantization on the calibration images, the
training graph, memory plan, C generation, and the flash measurement with arm-none-eabi-gcc.
"cold" runs with an empty tte cache (the kernels' code sizes compiled and cached), "warm" with
the cache a user has after the first compile (the median of --repeat runs). Besides wall time,
the CPU seconds of the process and its compilers (less sensitive to other load on the machine),
and the load average. The SHA-256 of every file written is recorded, so that two runs (before
and after a change to the compiler) can be checked for byte-identical output; with
``--baseline SRC`` (a source tree of tte before the change, e.g. ``git archive main``) the same
commands run from it in the same session, interleaved, for a ratio and the byte-for-byte check.
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
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise SystemExit(f"tte compile failed on {model.name}: {r.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir()) if p.is_file()}
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "load_avg_1min": round(load, 2), "files": files}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--baseline", help="a tte source tree to time the same commands from, for a ratio")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "compile_time.json"))
    args = ap.parse_args()

    rows: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        calib = work / "calib.npz"
        np.savez(calib, x=np.random.default_rng(0).uniform(-1, 1, (8, 3, 128, 128)).astype(np.float32))
        cache = work / "cache"
        for i, (model, budget) in enumerate(MODELS):
            path = work / f"{model}.onnx"
            onnx.save(build_paper_onnx(model, resolution=128, num_classes=10, seed=0), path)
            scheme = f"paper:{model}:{budget}"
            cold = run_compile(path, calib, scheme, work / f"{model}-cold", work / f"cache-cold-{i}")
            warm = [run_compile(path, calib, scheme, work / f"{model}-warm{k}", cache) for k in range(args.repeat + 1)]
            warm = warm[1:]  # the first fills the shared cache
            assert all(w["files"] == cold["files"] for w in warm), f"{model}: output differs between runs"
            rows[model] = {
                "scheme": scheme, "cold": {k: cold[k] for k in ("wall_s", "cpu_s", "load_avg_1min")},
                "warm_wall_s": [w["wall_s"] for w in warm], "warm_cpu_s": [w["cpu_s"] for w in warm],
                "warm_load_avg_1min": [w["load_avg_1min"] for w in warm],
                "warm_median_wall_s": statistics.median(w["wall_s"] for w in warm),
                "warm_median_cpu_s": statistics.median(w["cpu_s"] for w in warm),
                "output_sha256": cold["files"],
            }
            r = rows[model]
            if args.baseline:
                base = [run_compile(path, calib, scheme, work / f"{model}-base{k}", work / f"cache-base-{i}-{k}",
                                    Path(args.baseline)) for k in range(args.repeat)]
                r["baseline_wall_s"] = [b["wall_s"] for b in base]
                r["baseline_cpu_s"] = [b["cpu_s"] for b in base]
                r["baseline_median_wall_s"] = statistics.median(r["baseline_wall_s"])
                r["baseline_median_cpu_s"] = statistics.median(r["baseline_cpu_s"])
                r["warm_vs_baseline_cpu"] = round(r["warm_median_cpu_s"] / r["baseline_median_cpu_s"], 3)
                r["output_identical_to_baseline"] = all(b["files"] == cold["files"] for b in base)
            print(f"{model:<16} cold {cold['wall_s']:6.2f} s (cpu {cold['cpu_s']:5.2f})   warm median "
                  f"{r['warm_median_wall_s']:6.2f} s (cpu {r['warm_median_cpu_s']:5.2f})   load "
                  f"{cold['load_avg_1min']:.1f}", flush=True)
    out = {"machine": machine_info(), "board": BOARD, "target_s": TARGET_S, "baseline": args.baseline,
           "command": "tte compile MODEL.onnx --calibration calib.npz --samples 8 --board "
                      f"{BOARD} --scheme paper:<model>:<budget> -o OUT (python -m tte.cli, a fresh process)",
           "models": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
