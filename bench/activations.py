"""What each activation / elementwise op costs on an emulated Cortex-M7.

    python bench/activations.py [--steps 2]   # writes bench/results/activations.json

One small int8 model per op: x[1,16,16,8] -> 1x1 conv (16 ch) -> OP -> mean -> fc(4), with
OP a unary activation, or a binary op of two 1x1 convs of x. Compiled for qemu-mps2-an500
with the `full` scheme (the op's backward runs) where the op has a gradient rule, else
`classifier-only`; built as firmware and run in QEMU with the exact instruction-counting
plugin. The table gives instructions per inference and per training step, and the extra
instructions per activation element against the same model without the op (unary; `none`)
or with ADD (binary), measured in the same run (counts of instructions, not cycles). RELU,
as its own op, is a row like the others.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine_info  # noqa: E402

import tte  # noqa: E402
from tte.compiler.compile import compile_model  # noqa: E402
from tte.ir import Graph, Tensor  # noqa: E402
from tte.targets.boards import get_board  # noqa: E402
from tte.targets.firmware import build_firmware  # noqa: E402
from tte.targets.qemu import Stream, run_firmware  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "activations.json"
SHAPE = (1, 16, 16, 8)
CH = 16
UNARY = [("none", {}), ("relu", {}), ("logistic", {}), ("tanh", {}), ("hard_swish", {}), ("leaky_relu", {"alpha": 0.1}),
         ("gelu", {"approximate": False}), ("rsqrt", {}), ("l2_normalize", {})]
BINARY = ["add", "sub", "maximum", "minimum"]
NO_GRADIENT = {"rsqrt", "l2_normalize"}


def model(op: str, attrs: dict[str, Any]) -> Graph:
    rng = np.random.default_rng(0)
    g = Graph(op)
    g.add_tensor(Tensor("x", SHAPE))
    g.inputs = ["x"]

    positive = op == "rsqrt"   # its input must stay above 0: positive weights, bias and data

    def conv(name: str) -> str:
        w = rng.standard_normal((CH, 1, 1, SHAPE[-1])) * 0.4
        b = rng.standard_normal(CH) * 0.1
        g.add_const(f"{name}.w", (np.abs(w) if positive else w).astype(np.float32))
        g.add_const(f"{name}.b", (np.abs(b) + 0.1 if positive else b).astype(np.float32))
        g.add_node("conv2d", ["x", f"{name}.w", f"{name}.b"], name)
        return name

    a = conv("c1")
    act = a
    if op in BINARY:
        act = "act"
        g.add_node(op, [a, conv("c2")], act)
    elif op != "none":
        act = "act"
        g.add_node(op, [a], act, attrs)
    g.add_node("mean", [act], "gap", {"axes": (1, 2), "keepdims": False})
    g.add_const("fc.w", (rng.standard_normal((4, CH)) * 0.5).astype(np.float32))
    g.add_const("fc.b", np.zeros(4, np.float32))
    g.add_node("fully_connected", ["gap", "fc.w", "fc.b"], "y")
    g.outputs = ["y"]
    calib = rng.standard_normal((16, *SHAPE[1:])).astype(np.float32)
    if positive:
        calib = np.abs(calib)
    return tte.quantize(g, calibration=calib)


def measure(op: str, attrs: dict[str, Any], steps: int, work: Path) -> dict[str, Any]:
    scheme = "classifier-only" if op in NO_GRADIENT else "full"
    out = work / op
    report = compile_model(model(op, attrs), board=get_board("qemu-mps2-an500"), scheme=scheme, out_dir=out,
                           name=op)
    fw = build_firmware(out, get_board("qemu-mps2-an500"), in_mode="semihost")
    rng = np.random.default_rng(0)
    n_in = report["input_bytes"]
    s = Stream()
    for _ in range(steps):
        s.train(rng.integers(-128, 128, n_in, dtype=np.int8), int(rng.integers(0, 4)))
    s.infer(rng.integers(-128, 128, n_in, dtype=np.int8)).crc()
    res = run_firmware(fw, s)
    return {"scheme": scheme, "instructions_per_inference": res.infer_instructions[0],
            "instructions_per_train_step": max(res.train_instructions), "flash_bytes": fw.sizes.flash_bytes,
            "peak_sram_bytes": report["peak_sram_bytes"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    args = ap.parse_args()
    elements = SHAPE[1] * SHAPE[2] * CH
    results: dict[str, Any] = {"board": "qemu-mps2-an500", "input_shape": list(SHAPE), "channels": CH,
                               "activation_elements": elements, "steps": args.steps, "machine": machine_info(),
                               "ops": {}}
    header = (f"{'op':<14} {'scheme':<16} {'instr/infer':>12} {'extra/elem':>10} {'instr/step':>12} "
              f"{'extra/elem':>10} {'flash':>9}")
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory(prefix="tte-bench-act-") as tmp:
        for op, attrs in [*UNARY, *((b, {}) for b in BINARY)]:
            e = measure(op, attrs, args.steps, Path(tmp))
            base = results["ops"].get("none" if op not in BINARY else "add")
            if base is not None and op not in ("none", "add"):
                e["extra_instructions_per_element_inference"] = (
                    e["instructions_per_inference"] - base["instructions_per_inference"]) / elements
                if e["scheme"] == base["scheme"]:
                    e["extra_instructions_per_element_train_step"] = (
                        e["instructions_per_train_step"] - base["instructions_per_train_step"]) / elements
            results["ops"][op] = e
            xi = e.get("extra_instructions_per_element_inference")
            xt = e.get("extra_instructions_per_element_train_step")
            print(f"{op:<14} {e['scheme']:<16} {e['instructions_per_inference']:>12,} "
                  f"{'' if xi is None else f'{xi:.1f}':>10} {e['instructions_per_train_step']:>12,} "
                  f"{'' if xt is None else f'{xt:.1f}':>10} {e['flash_bytes'] / 1024:>7.1f}KB")
    print(f"extra/elem: instructions per activation element ({elements}) beyond the model without the op "
          "(unary) or with ADD (binary), same run")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
