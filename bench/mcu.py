"""Instructions per training step on an emulated Cortex-M7, beside the paper's latencies.

    python bench/mcu.py [--steps 16] [--infer 16] [--models mbv2-w0.35,...] [--jobs 3] [--speed-kb 8]
        [--input-rows [--goal-budget]]
    # writes bench/results/mcu.json

For MCUNet-5FPS, MobileNetV2-w0.35 and ProxylessNAS-w0.3 (int8, 128x128, 10 classes) under
the paper's ~100 KB sparse-update schemes. The counts depend on the data (kernels skip
masked and zero pixels), so the models carry weights trained on real images
(bench/paper_pretrain.py: a few minutes of fp32 training on Fashion-MNIST resized to
128x128x3, cached under build/), are quantized with real images as calibration, and train
on real images: `--steps` held-out test images, one per step, then `--infer` scored
inferences on further test images.

Per model: `tte compile` for qemu-mps2-an500 and for stm32f746g-disco, the firmware linked
for both (sizes against 256 KB SRAM / 1 MB flash), and on QEMU: instructions per training
step and per inference counted exactly by our TCG plugin (min / median / max over the
steps), the painted stack peak, and measured RAM (.data + .bss + painted stack) next to the
compiler's peak_sram_bytes. The trained weights' CRC from QEMU must equal the host C
engine's after the same steps (asserted). With `--speed-kb N` (default 8), each model is also
built with its arena allowed to grow by N KB for the kernels' optional scratch (`tte compile
--speed-kb`), and measured the same way where that changes the C (`with_speed_sram`). With
`--input-rows`, each model is also built with `tte compile --input-rows` (the input image not in
SRAM: the first block reads its rows from the firmware's copy of the input, in place) and measured
the same way (`with_input_rows`); its trained weights' CRC must be the normal build's (asserted).
With `--goal-budget` too, that build is made under an SRAM budget of the goal (80 % of the paper's
sparse + reorder peak, bench/memory.py; `tte compile --sram-kb`): the optional speed scratch is
trimmed until its peak fits (`sram_budget_bytes` in with_input_rows).

The paper's latencies (tte/data/arch/tte-results.json, training_latency_ms: MobileNetV2,
ProxylessNAS, MCUNet on the STM32F746) times the board's clock (boards/stm32f746g-disco.toml)
give the paper's cycles. Instructions are not cycles: a Cortex-M7 retires up to two
instructions per cycle, but VLDM/VSTM/LDRD take several, and loads from flash wait; so the
ratio of our instructions to the paper's cycles is a count against a time, not a speed-up.
Beside each count stands `cycles_estimate`: the plugin's cost counts (multiple-transfer
beats, divides, taken branches, flash reads through a simulated 4 KB D-cache) priced for the
F746 at 216 MHz by tte/targets/cycles.py, whose assumptions the JSON records. It is an
estimate with stated assumptions, not a measured cycle count.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine_info  # noqa: E402
from memory import SPEED_KB, goal_budget_bytes  # noqa: E402
from paper_pretrain import Pretraining, images, pretrained_onnx  # noqa: E402

import tte  # noqa: E402
from tte.compiler.analysis import BudgetError, analyze  # noqa: E402
from tte.compiler.codegen import generate  # noqa: E402
from tte.compiler.compile import compile_model  # noqa: E402
from tte.layout import feeds_to_ir  # noqa: E402
from tte.models.paper import paper_results  # noqa: E402
from tte.reference.boundary import quantize_array  # noqa: E402
from tte.targets.boards import get_board  # noqa: E402
from tte.targets.cycles import CortexM7CostModel  # noqa: E402
from tte.targets.firmware import build_firmware  # noqa: E402
from tte.targets.qemu import Stream, run_firmware  # noqa: E402
from tte.training.data import fashion_mnist  # noqa: E402
from tte.training.trainer import Trainer  # noqa: E402

MODELS = (("mcunet-5fps", "99kb"), ("mbv2-w0.35", "99kb"), ("proxyless-w0.3", "98kb"))
PAPER_BOARD = "stm32f746g-disco"
BOARDS = ("qemu-mps2-an500", PAPER_BOARD)
CALIBRATION_IMAGES = 32
SCORE_IMAGES = 200  # int8 accuracy before and after the steps (host C, the same weights as QEMU)
# Batch-1 SGD on these pretrained models: at the library's default 0.05 single steps reach losses of
# ~18 and 16 steps take MCUNet from 74 % to 32 %; at 0.01 it goes to 79 % (the cycles do not depend on it).
LR = 0.01
RESULTS = Path(__file__).resolve().parent / "results" / "mcu.json"
COUNT_NOTE = ("instructions counted by QEMU are not cycles: a Cortex-M7 retires up to two per cycle, but "
              "VLDM/VSTM/LDRD take several and loads from flash wait, so instructions / paper cycles compares a "
              "count with a time and is not a speed-up")


def quantized(model: str) -> tuple[tte.Graph, dict[str, Any]]:
    """The pretrained paper model, int8, calibrated on real training images."""
    onnx_model, pretraining = pretrained_onnx(model)
    xc, _ = fashion_mnist("train")
    g = tte.load(onnx_model.SerializeToString())
    q = tte.quantize(g, calibration=images(xc[:CALIBRATION_IMAGES]))
    return q, pretraining


def int8_input(q: tte.Graph, x: np.ndarray) -> np.ndarray:
    """One float NCHW image as the firmware's int8 input bytes (IR layout, the input's quantization)."""
    name = q.inputs[0]
    quant = q.tensors[name].quant
    assert quant is not None
    return quantize_array(feeds_to_ir(q, x[None])[name], quant)


def host_accuracy(host: Trainer, q: tte.Graph, xs: np.ndarray, ys: np.ndarray) -> float:
    """int8 top-1 accuracy of the host C engine's current weights."""
    assert host.sim is not None
    right = sum(int(np.argmax(host.sim.infer(int8_input(q, x)))) == int(y) for x, y in zip(xs, ys, strict=True))
    return right / len(ys)


def spread(counts: list[int]) -> dict[str, float]:
    return {"min": min(counts), "median": float(np.median(counts)), "max": max(counts)}


def same_build(q: tte.Graph, scheme: str, speed_sram_bytes: int) -> bool:
    """Whether the arena allowed to grow by speed_sram_bytes gives the same C as the smallest one."""
    b = get_board("qemu-mps2-an500")
    c0, c1 = (generate(analyze(q, board=b, scheme=scheme, budget_bytes=1 << 40, lr=LR, speed_sram_bytes=s), "m")
              for s in (0, speed_sram_bytes))
    return c0 == c1


def measure(model: str, budget: str, steps: int, infer: int, work: Path, speed_sram_bytes: int = 0,
            input_rows: bool = False, sram_budget_bytes: int | None = None) -> dict[str, Any]:
    q, pretraining = quantized(model)
    scheme = f"paper:{model}:{budget}"
    entry: dict[str, Any] = {"scheme": scheme, "pretraining": pretraining, "speed_sram_bytes": speed_sram_bytes,
                             "input_rows": input_rows, "sram_budget_bytes": sram_budget_bytes}
    if speed_sram_bytes and same_build(q, scheme, speed_sram_bytes):
        return {**entry, "same_build_as_smallest_arena": True}
    work = work / f"speed-{speed_sram_bytes}{'-rows' if input_rows else ''}{'-budget' if sram_budget_bytes else ''}"
    work.mkdir(parents=True, exist_ok=True)
    xt, yt = fashion_mnist("test")
    train_x, train_y = images(xt[:steps]), yt[:steps]
    infer_x, infer_y = images(xt[steps:steps + infer]), yt[steps:steps + infer]
    scored = slice(steps + infer, steps + infer + SCORE_IMAGES)
    score_x, score_y = images(xt[scored]), yt[scored]
    for board in BOARDS:
        out = work / f"{model}-{board}"
        b = get_board(board)
        try:
            report = compile_model(q, board=b, scheme=scheme, out_dir=out, name=model.replace("-", "_"), lr=LR,
                                   speed_sram_bytes=speed_sram_bytes, input_rows=input_rows,
                                   sram_budget_bytes=sram_budget_bytes)
            fits = True
        except BudgetError as e:
            if board != "qemu-mps2-an500":
                entry[board] = {"fits": False, "verdict": e.report["verdict"],
                                "peak_sram_bytes": e.report["peak_sram_bytes"]}
                continue
            # Count the instructions anyway: the emulated machine has 4 MB of RAM, so lift the budget.
            a = analyze(q, board=b, scheme=scheme, budget_bytes=1 << 40, lr=LR, speed_sram_bytes=speed_sram_bytes,
                        input_rows=input_rows, sram_budget_bytes=sram_budget_bytes)
            report, fits = a.report, False
            out.mkdir(parents=True)
            for fname, text in generate(a, model.replace("-", "_")).items():
                (out / fname).write_text(text)
            (out / "report.json").write_text(json.dumps({"stack_bytes": report["stack_bytes"]}))
            b = dataclasses.replace(b, sram_bytes=4 << 20)
        fw = build_firmware(out, b, in_mode="semihost" if board == "qemu-mps2-an500" else "embedded",
                            stream=None if board == "qemu-mps2-an500" else b"Q" + bytes(7))
        entry[board] = {"fits": fits, "verdict": report["verdict"] if fits else
                        f"does not fit: needs {report['peak_sram_bytes']:,} B SRAM (counted with the RAM budget "
                        "lifted to the emulated machine's 4 MB)",
                        "peak_sram_bytes": report["peak_sram_bytes"], "stack_estimate_bytes": report["stack_bytes"],
                        "text_bytes": fw.sizes.text, "data_bytes": fw.sizes.data, "bss_bytes": fw.sizes.bss,
                        "flash_bytes": fw.sizes.flash_bytes, "ram_static_bytes": fw.sizes.ram_static_bytes}
        if board == "qemu-mps2-an500":
            s = Stream()
            for x, y in zip(train_x, train_y, strict=True):
                s.train(int8_input(q, x), int(y))
            for x, y in zip(infer_x, infer_y, strict=True):
                s.evaluate(int8_input(q, x), int(y))
            s.crc()
            t0 = time.perf_counter()
            cost = CortexM7CostModel.for_board(get_board(PAPER_BOARD))
            res = run_firmware(fw, s, cost_model=cost)
            qemu_seconds = time.perf_counter() - t0
            assert len(res.train_instructions) == steps and len(res.infer_instructions) == infer
            host = Trainer(q, scheme=scheme, engine="c", lr=LR)  # the same C, built for the host
            before = host_accuracy(host, q, score_x, score_y)
            for x, y in zip(train_x, train_y, strict=True):
                host.step(x[None], int(y))
            host_crc = host.weights_crc32()
            after = host_accuracy(host, q, score_x, score_y)
            if res.crc32 != host_crc:
                raise AssertionError(f"{model}: trained-weights CRC differs: QEMU {res.crc32:08x}, "
                                     f"host C {host_crc:08x}")
            n = len(res.train_instructions)
            mid = sorted(range(n), key=lambda i: res.train_cycles_estimate[i])[n // 2]
            entry[board].update(
                cycles_estimate_per_train_step=spread(res.train_cycles_estimate),
                train_step_cycles_estimate=res.train_cycles_estimate,
                median_step_cycles_breakdown=cost.breakdown(res.train_instructions[mid], res.region_costs[mid]),
                median_step_cost_counts=res.region_costs[mid],
                cycles_estimate_per_inference=spread(res.infer_cycles_estimate),
                instructions_per_train_step=spread(res.train_instructions),
                train_step_instructions=res.train_instructions,
                instructions_per_inference=spread(res.infer_instructions),
                inference_instructions=res.infer_instructions,
                inference_correct=f"{res.correct}/{res.scored}",
                int8_accuracy_before_steps=before, int8_accuracy_after_steps=after,
                accuracy_images=f"fashion-mnist test images {steps + infer}..{steps + infer + len(score_y) - 1}, "
                                "host C inference",
                stack_peak_bytes=res.stack_peak_bytes,
                measured_ram_bytes=fw.sizes.ram_static_bytes + res.stack_peak_bytes,
                weights_crc32=f"{res.crc32:08x}", host_c_weights_crc32=f"{host_crc:08x}",
                qemu_seconds=qemu_seconds)
    return entry


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=16, help="training steps, one real image each")
    ap.add_argument("--infer", type=int, default=16, help="scored inferences after the steps")
    ap.add_argument("--models", default=",".join(m for m, _ in MODELS))
    ap.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    ap.add_argument("--jobs", type=int, default=1, help="models measured in parallel")
    ap.add_argument("--speed-kb", type=float, default=SPEED_KB,
                    help="also measure each model with the arena allowed to grow by this many KB for faster kernels "
                         "(`tte compile --speed-kb`), where that changes the build; 0: not")
    ap.add_argument("--input-rows", action="store_true",
                    help="also measure each model built with `tte compile --input-rows` (the input image not in "
                         "SRAM, read row by row by the first block): with_input_rows in the JSON")
    ap.add_argument("--goal-budget", action="store_true",
                    help="with --input-rows: build that one under the goal's SRAM budget (80 %% of the paper's "
                         "sparse + reorder peak, `tte compile --sram-kb`)")
    args = ap.parse_args()
    if args.goal_budget and not args.input_rows:
        ap.error("--goal-budget needs --input-rows")
    peaks = paper_results()["peak_memory_kb"]
    goal = {m: goal_budget_bytes(peaks[m]) for m, _ in MODELS} if args.goal_budget else {}
    speed = int(args.speed_kb * 1024)
    wanted = set(args.models.split(","))
    paper = paper_results()["training_latency_ms"]
    clock_hz = get_board(PAPER_BOARD).clock_hz
    results: dict[str, Any] = {
        "boards": list(BOARDS), "resolution": 128, "num_classes": 10,
        "data": {"pretraining": dataclasses.asdict(Pretraining()),
                 "calibration": f"fashion-mnist train images 0..{CALIBRATION_IMAGES - 1}, resized to 128x128x3",
                 "training_steps": f"fashion-mnist test images 0..{args.steps - 1} (batch 1, their labels)",
                 "inference": f"fashion-mnist test images {args.steps}..{args.steps + args.infer - 1}, scored"},
        "steps": args.steps, "lr": LR, "inferences": args.infer,
        "paper_latency_source": f"tte/data/arch/tte-results.json training_latency_ms.*.tte_sparse ({paper['source']})",
        "paper_clock_hz": clock_hz, "paper_clock_source": f"boards/{PAPER_BOARD}.toml clock_hz",
        "instructions_are_not_cycles": COUNT_NOTE,
        "cycle_model": CortexM7CostModel.for_board(get_board(PAPER_BOARD)).describe(),
        "machine": machine_info(), "models": {}}
    header = (f"{'model':<16} {'instr/step min/median/max':>27} {'cycles est.':>11} {'paper cycles':>12} "
              f"{'ratio':>6} {'est/paper':>9} "
              f"{'instr/infer median':>18} {'RAM meas.':>10} {'peak_sram':>10} {'stack':>7} {'flash':>9}  "
              "F746 RAM/flash")
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory(prefix="tte-bench-mcu-") as tmp, ProcessPoolExecutor(args.jobs) as pool:
        builds = [(sp, False) for sp in dict.fromkeys((0, speed))] + ([(0, True)] if args.input_rows else [])
        futures = {(model, sp, rows): pool.submit(measure, model, budget, args.steps, args.infer, Path(tmp), sp, rows,
                                                            goal.get(model) if rows else None)
                   for model, budget in MODELS if model in wanted for sp, rows in builds}
        for (model, sp, rows), future in futures.items():
            e = future.result()
            if rows:
                results["models"][model]["with_input_rows"] = e
                base = results["models"][model]["qemu-mps2-an500"]
                crc = e["qemu-mps2-an500"]["weights_crc32"]
                if crc != base["weights_crc32"]:
                    raise AssertionError(f"{model}: trained-weights CRC with input rows {crc}, "
                                         f"normal build {base['weights_crc32']}")
            elif sp:
                results["models"][model]["with_speed_sram"] = e
                if e.get("same_build_as_smallest_arena"):
                    print(f"{'':<16} --speed-kb {args.speed_kb:g}: the same build (every optional scratch fits "
                          "the smallest arena)", flush=True)
                    continue
            paper_ms = paper[model]["tte_sparse"]
            cycles = paper_ms * clock_hz // 1000
            e["paper_latency_ms"], e["paper_cycles"] = paper_ms, cycles
            q, f7 = e["qemu-mps2-an500"], e[PAPER_BOARD]
            st = q["instructions_per_train_step"]
            e["median_instructions_vs_paper_cycles"] = st["median"] / cycles
            est = q["cycles_estimate_per_train_step"]["median"]
            e["median_cycles_estimate_vs_paper_cycles"] = est / cycles
            if not sp and not rows:
                results["models"][model] = e
            label = (model if not sp and not rows else f"  +{args.speed_kb:g} KB" if not rows
                     else "  rows, goal" if goal else "  input rows")
            print(f"{label:<16} {st['min'] / 1e6:>8.2f}/{st['median'] / 1e6:.2f}/{st['max'] / 1e6:.2f}M "
                  f"{est / 1e6:>10.2f}M {cycles / 1e6:>11.1f}M {e['median_instructions_vs_paper_cycles']:>6.2f} "
                  f"{e['median_cycles_estimate_vs_paper_cycles']:>9.2f} "
                  f"{q['instructions_per_inference']['median'] / 1e6:>17.2f}M "
                  f"{q['measured_ram_bytes'] / 1024:>8.1f}KB {q['peak_sram_bytes'] / 1024:>8.1f}KB "
                  f"{q['stack_peak_bytes']:>7,} {q['flash_bytes'] / 1024:>7.1f}KB  "
                  + (f"{f7['ram_static_bytes'] / 1024:.1f}KB+stack / {f7['flash_bytes'] / 1024:.1f}KB"
                     if f7["fits"] else "does not fit"), flush=True)
            print(f"{'':<16} pretrained: {e['pretraining']['fp32_test_accuracy'] * 100:.1f} % fp32 test accuracy; "
                  f"int8 accuracy before / after the steps {q['int8_accuracy_before_steps'] * 100:.1f} / "
                  f"{q['int8_accuracy_after_steps'] * 100:.1f} %; weights CRC "
                  f"{q['weights_crc32']} (QEMU = host C)", flush=True)
    print("RAM meas. = .data + .bss + painted stack (QEMU); peak_sram = the compiler's report (stack estimated)")
    print(f"ratio = median instructions per step / the paper's cycles; {COUNT_NOTE}")
    print("cycles est. = median cycle estimate per step (tte/targets/cycles.py: F746 at 216 MHz, single issue, "
          "flash reads through a simulated 4 KB D-cache); est/paper = that estimate / the paper's cycles")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
