"""`tte demo` / `make demo`: the main job on embedded defaults, end to end.

1. Inspect the example CNN (pretrained on Fashion-MNIST) and quantize it to int8.
2. Compile its training step for the paper's board budget (256 KB SRAM, 1 MB flash).
3. Transfer it on-device style to MNIST digits: int8 + QAS, sparse update, batch 1.
4. Run the same training steps as C on the host and as firmware on an emulated
   Cortex-M7 (QEMU), and check that both end with the same trained weights.
5. A short fleet session over MQTT (fleet.demo): broker, manager, devices, one signed
   deploy of the compiled model, one federated round.
"""

from __future__ import annotations

import time
from pathlib import Path

import click
import numpy as np

import tte
from tte.errors import TteError
from tte.inspect import format_summary, summarize
from tte.targets.paths import resource_dir

EXAMPLE_MODEL = resource_dir("examples") / "fmnist_cnn.onnx"
CALIBRATION_SAMPLES = 500
BOARD = "stm32f746g-disco"
SCHEME = "last-k:2"
DEVICE_STEPS = 16


def accuracy(graph: tte.Graph, xs: np.ndarray, ys: np.ndarray) -> float:
    logits = tte.run(graph, xs)
    assert isinstance(logits, np.ndarray)
    return float(np.mean(np.argmax(logits.reshape(len(xs), -1), axis=1) == ys))


def _section(title: str) -> None:
    click.echo(f"\n== {title} " + "=" * max(0, 70 - len(title)))


class EngineMismatch(Exception):
    """The host C and the firmware ended with different trained weights: a bug, not a user error."""


def check_engines_agree(crcs: dict[str, int]) -> None:
    """Say whether every engine that ran ended with the same trained weights; raise if not."""
    if len(set(crcs.values())) > 1:
        detail = ", ".join(f"{e} {c:08x}" for e, c in crcs.items())
        raise EngineMismatch(f"MISMATCH between host C and firmware trained weights ({detail})")
    if len(crcs) > 1:
        click.echo("host C and firmware agree bit for bit")


def run_demo(model: str | None, out_dir: Path, test_samples: int) -> dict[str, float]:
    from tte.training.data import fashion_mnist, mnist
    from tte.training.trainer import Trainer

    path = Path(model) if model else EXAMPLE_MODEL
    if not path.exists():
        raise TteError("example model not found (run examples/train_fashion_mnist.py)", file=str(path))
    from tte.compiler.compile import earlier_compile_files
    from tte.outputs import check_output_dir, check_output_file, is_tte_tflite

    # The demo replaces what an earlier demo wrote, and refuses to touch anything else.
    int8_file, mnist_file = out_dir / f"{path.stem}_int8.tflite", out_dir / f"{path.stem}_mnist_int8.tflite"
    if out_dir.exists() and not out_dir.is_dir():
        raise TteError("output exists and is not a folder", file=str(out_dir))
    for f in (int8_file, mnist_file):
        if out_dir.is_dir():
            check_output_file(f, force=True, ours=is_tte_tflite)
    check_output_dir(out_dir / "compiled", force=True, adopt=earlier_compile_files)
    t0 = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)

    _section("1. the model, float and int8")
    g = tte.load(path)
    click.echo(format_summary(summarize(g)))
    x_train, _ = fashion_mnist("train")
    x_test, y_test = fashion_mnist("test")
    x_test, y_test = x_test[:test_samples], y_test[:test_samples]
    q = tte.quantize(g, calibration=x_train[:CALIBRATION_SAMPLES])
    tte.export(q, int8_file)
    acc_f, acc_q = accuracy(g, x_test, y_test), accuracy(q, x_test, y_test)
    click.echo(f"\nFashion-MNIST test accuracy ({len(x_test)} images): float32 {acc_f * 100:.2f} %, "
               f"int8 {acc_q * 100:.2f} % ({100 * (acc_q - acc_f):+.2f} points)")

    _section(f"2. compile the training step for {BOARD} ({SCHEME})")
    report = tte.compile(q, board=BOARD, scheme=SCHEME, out_dir=out_dir / "compiled", name="fmnist_cnn",
                         force=True)
    click.echo(f"peak SRAM {report['peak_sram_bytes'] / 1024:.1f} KB of {report['budget_bytes'] / 1024:.0f} KB "
               f"(arena {report['arena_bytes'] / 1024:.1f} KB, trainable {report['trainable_bytes'] / 1024:.1f} KB), "
               f"flash {report['flash_bytes'] / 1024:.1f} KB; {report['verdict']}")
    click.echo(f"C source, report.json and memory.png in {out_dir / 'compiled'}")

    _section("3. on-device transfer to MNIST digits (int8 + QAS, batch 1)")
    xm, ym = mnist("train")
    xmt, ymt = mnist("test")
    tr = Trainer(q, scheme=SCHEME, precision="int8", lr=0.05)
    before = tr.evaluate(xmt, ymt)
    order = np.random.default_rng(0).permutation(len(xm))
    with click.progressbar(order, label="training", show_pos=True) as bar:
        for i in bar:
            tr.step(xm[i:i + 1], ym[i:i + 1])
    after = tr.evaluate(xmt, ymt)
    click.echo(f"MNIST test accuracy: before {before * 100:.2f} %, after {after * 100:.2f} % "
               f"({tr.steps} steps, {tr.trainable_bytes:,} bytes trained)")
    tte.export(tr.graph, mnist_file)

    _section(f"4. the same {DEVICE_STEPS} steps as host C and on an emulated Cortex-M7")
    crcs = {}
    for engine in ("c", "qemu"):
        try:
            device = Trainer(q, scheme=SCHEME, precision="int8", lr=0.05, engine=engine)
        except TteError as e:
            click.echo(f"engine {engine}: skipped ({e})")
            continue
        for i in order[:DEVICE_STEPS]:
            device.step(xm[i:i + 1], ym[i:i + 1])
        crcs[engine] = device.weights_crc32()
        click.echo(f"engine {engine:<4} trained weights CRC-32 {crcs[engine]:08x}")
    check_engines_agree(crcs)

    _section("5. a fleet over MQTT: broker, manager, devices, one deploy, one federated round")
    from fleet.demo import run_fleet_demo

    try:
        run_fleet_demo(out_dir / "compiled" / "report.json", int8_file, echo=click.echo)
    except TteError as e:  # no mosquitto on this machine
        click.echo(f"fleet: skipped ({e})")
    click.echo(f"\ndone in {time.perf_counter() - t0:.1f} s; outputs in {out_dir}")
    return {"float_accuracy": acc_f, "int8_accuracy": acc_q, "transfer_before": before, "transfer_after": after}
