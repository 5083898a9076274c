"""Where the instructions of one training step go, on the emulated Cortex-M7.

    python bench/mcu_profile.py [--model mbv2-w0.35] [--top 25] [--json FILE] [--infer]

Compiles a paper model under its paper scheme (as bench/mcu.py does: weights pretrained on
real images, calibrated on real images), builds the QEMU firmware, runs one training step on
a real image (the first of bench/mcu.py's steps) with the counting plugin in profile mode
(firmware/qemu-plugin/tte_icount.c: prof/lo/hi) and prints two exact tables:
  * per op of the generated training step: instructions from the op's first block in
    tte_train_step to the next op's, callees included (sites mapped to the generated C's
    `/* i: OP name */` comments through the ELF's line table);
  * per function (exclusive), over the training step only when --step-only (the default
    subtracts nothing: it covers the whole run, so I/O and startup functions appear too).
Both tables also give, from the plugin's cost mode (tte/targets/cycles.py), the flash D-cache
misses and the cycle estimate of each row (instructions plus load/store-multiple beats,
divides, taken branches and misses, priced for the paper board), and a third table lists the
load instructions with the most flash misses, with their source lines. --no-cost skips the
cost mode (faster; the instruction tables only). --infer profiles tte_infer on a second image
after that step instead (the inference after training: its graph streams the trained blocks too).
"""

from __future__ import annotations

import argparse
import bisect
import dataclasses
import json
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mcu import MODELS, PAPER_BOARD, int8_input, quantized  # noqa: E402
from paper_pretrain import images  # noqa: E402

from tte.compiler.analysis import BudgetError, analyze  # noqa: E402
from tte.compiler.codegen import generate  # noqa: E402
from tte.compiler.compile import compile_model  # noqa: E402
from tte.targets.boards import get_board  # noqa: E402
from tte.targets.cycles import COST_KEYS, CortexM7CostModel  # noqa: E402
from tte.targets.firmware import NM, build_firmware  # noqa: E402
from tte.targets.qemu import Stream, run_firmware  # noqa: E402
from tte.training.data import fashion_mnist  # noqa: E402

ADDR2LINE = NM.replace("nm", "addr2line")
_OP_COMMENT = re.compile(r"^\s*/\* (\d+): (\S+) (.*) \*/\s*$")


def _functions(elf: Path) -> tuple[list[int], list[tuple[int, int, str]]]:
    out = subprocess.run([NM, "-S", "--defined-only", str(elf)], capture_output=True, text=True, check=True).stdout
    funcs: list[tuple[int, int, str]] = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tT":
            funcs.append((int(parts[0], 16) & ~1, int(parts[1], 16), parts[3]))
    funcs.sort()
    return [f[0] for f in funcs], funcs


def _function_of(addr: int, starts: list[int], funcs: list[tuple[int, int, str]]) -> str:
    i = bisect.bisect_right(starts, addr) - 1
    if i >= 0 and addr < funcs[i][0] + funcs[i][1]:
        return funcs[i][2]
    return f"?0x{addr:x}"


def _op_of_lines(elf: Path, addrs: list[int], src_dir: Path) -> dict[int, str]:
    if not addrs:
        return {}
    out = subprocess.run([ADDR2LINE, "-e", str(elf), *[f"0x{a:x}" for a in addrs]], capture_output=True,
                         text=True, check=True).stdout.splitlines()
    cache: dict[str, list[str]] = {}
    res: dict[int, str] = {}
    for a, loc in zip(addrs, out, strict=True):
        path, _, line = loc.rpartition(":")
        line_no = int(line.split()[0]) if line.split() and line.split()[0].isdigit() else 0
        p = Path(path)
        if not p.is_file():
            p = src_dir / p.name
        if not p.is_file() or line_no == 0:
            res[a] = "(step prologue/epilogue)"
            continue
        text = cache.setdefault(str(p), p.read_text().splitlines())
        label = "(step prologue)"
        for k in range(min(line_no, len(text)) - 1, -1, -1):
            m = _OP_COMMENT.match(text[k])
            if m:
                label = f"{int(m.group(1)):3d} {m.group(2)} {m.group(3)}"
                break
            if text[k].startswith(("float tte_train_step", "void tte_infer")):
                # the function's first block runs its prologue and the first op's call
                m = next((m for m in map(_OP_COMMENT.match, text[k:]) if m), None)
                if m:
                    label = f"{int(m.group(1)):3d} {m.group(2)} {m.group(3)}"
                break
        res[a] = label
    return res


@dataclasses.dataclass
class Profile:
    """The plugin's profile file: instructions per function (exclusive) and per op of the
    generated C (callees included); with the cost mode also their cost counts (COST_KEYS)
    and the flash reads and misses per load instruction."""

    by_func: dict[str, int]
    by_op: dict[str, int]
    func_costs: dict[str, dict[str, int]]
    op_costs: dict[str, dict[str, int]]
    flash_insns: dict[int, tuple[int, int]]
    by_block: dict[int, int] = dataclasses.field(default_factory=dict)
    block_costs: dict[int, dict[str, int]] = dataclasses.field(default_factory=dict)


def _zero_costs() -> dict[str, int]:
    return dict.fromkeys(COST_KEYS, 0)


def read_profile(prof: Path, elf: Path, src_dir: Path, starts: list[int],
                 funcs: list[tuple[int, int, str]]) -> Profile:
    by_func: dict[str, int] = defaultdict(int)
    sites: dict[int, int] = {}
    site_costs: dict[int, list[int]] = {}
    func_costs: dict[str, dict[str, int]] = defaultdict(_zero_costs)
    flash_insns: dict[int, tuple[int, int]] = {}
    by_block: dict[int, int] = defaultdict(int)
    block_costs: dict[int, dict[str, int]] = defaultdict(_zero_costs)
    loads: list[tuple[int, int, int]] = []
    for line in prof.read_text().splitlines():
        f = line.split()
        if f[0] == "tb":
            by_func[_function_of(int(f[1], 16), starts, funcs)] += int(f[2]) * int(f[3])
            by_block[int(f[1], 16)] += int(f[2]) * int(f[3])
        elif f[0] == "site":
            sites[int(f[1], 16)] = int(f[2])
        elif f[0] == "sitecost":
            site_costs[int(f[1], 16)] = [int(v) for v in f[2:]]
        elif f[0] == "tbcost":
            c = func_costs[_function_of(int(f[1], 16), starts, funcs)]
            b = block_costs[int(f[1], 16)]
            for k, v in zip(COST_KEYS[:7], f[2:], strict=True):
                c[k] += int(v)
                b[k] += int(v)
        elif f[0] == "flash":
            a, reads, misses = int(f[1], 16), int(f[2]), int(f[3])
            old = flash_insns.get(a, (0, 0))  # a block translated twice reports twice
            flash_insns[a] = (old[0] + reads, old[1] + misses)
            c = func_costs[_function_of(a, starts, funcs)]
            c["flash_reads"] += reads
            c["flash_misses"] += misses
            loads.append((a, reads, misses))
    block_starts = sorted(by_block)
    for a, reads, misses in loads:
        # a load's misses go to the block that holds it (the last one starting at or before it)
        k = bisect.bisect_right(block_starts, a) - 1
        if k >= 0:
            blk = block_costs[block_starts[k]]
            blk["flash_reads"] += reads
            blk["flash_misses"] += misses
    labels = _op_of_lines(elf, sorted(sites), src_dir)
    by_op: dict[str, int] = defaultdict(int)
    op_costs: dict[str, dict[str, int]] = defaultdict(_zero_costs)
    for a, n in sites.items():
        by_op[labels[a]] += n
        for k, v in zip(COST_KEYS, site_costs.get(a, ()), strict=False):
            op_costs[labels[a]][k] += v
    return Profile(dict(by_func), dict(by_op), dict(func_costs), dict(op_costs), flash_insns, dict(by_block),
                   dict(block_costs))


def source_lines(elf: Path, addrs: list[int]) -> dict[int, str]:
    """file:line of each address (addr2line), the file without its folder."""
    if not addrs:
        return {}
    out = subprocess.run([ADDR2LINE, "-e", str(elf), *[f"0x{a:x}" for a in addrs]], capture_output=True,
                         text=True, check=True).stdout.splitlines()
    return {a: Path(loc.split()[0]).name if loc.split() else "?" for a, loc in zip(addrs, out, strict=True)}


def cost_columns(p: Profile, cost: CortexM7CostModel | None, table: str, key: str, n: int) -> str:
    """The misses and cycle-estimate columns of one row ('' without the cost mode)."""
    if cost is None:
        return ""
    c = (p.op_costs if table == "op" else p.func_costs).get(key, _zero_costs())
    return f" {c['flash_misses']:>10,} {cost.estimate(n, c):>12,}"


COST_HEADER = f" {'misses':>10} {'est. cycles':>12}"


def print_flash_insns(p: Profile, elf: Path, starts: list[int], funcs: list[tuple[int, int, str]],
                      top: int) -> None:
    """The load instructions with the most flash D-cache misses (whole run)."""
    rows = sorted(p.flash_insns.items(), key=lambda kv: -kv[1][1])[:top]
    where = source_lines(elf, [a for a, _ in rows])
    print(f"\nflash loads by misses (whole run), top {top}:")
    print(f"  {'misses':>10} {'reads':>12}  address     function / source line")
    for a, (reads, misses) in rows:
        print(f"  {misses:>10,} {reads:>12,}  0x{a:08x}  {_function_of(a, starts, funcs)}  {where[a]}")


def print_lines(p: Profile, elf: Path, starts: list[int], funcs: list[tuple[int, int, str]],
                cost: CortexM7CostModel | None, top: int) -> None:
    """Instructions (and the estimate) per source line of the translated blocks' first
    instructions, whole run: where inside a function with inlined helpers the time goes."""
    where = source_lines_full(elf, sorted(p.by_block))
    by_line: dict[str, int] = defaultdict(int)
    line_costs: dict[str, dict[str, int]] = defaultdict(_zero_costs)
    for a, n in p.by_block.items():
        key = f"{_function_of(a, starts, funcs)}  {where[a]}"
        by_line[key] += n
        for k, v in p.block_costs.get(a, {}).items():
            line_costs[key][k] += v
    line_prof = Profile({}, {}, dict(line_costs), {}, {})
    total = sum(by_line.values())
    print(f"\nper source line of the blocks' first instructions (whole run), top {top}:")
    if cost is not None:
        print(f"  {'instructions':>12} {'':>6}{COST_HEADER}")
    for key, n in sorted(by_line.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {n:>12,} {100 * n / total:5.1f}%{cost_columns(line_prof, cost, 'func', key, n)}  {key}")


def source_lines_full(elf: Path, addrs: list[int]) -> dict[int, str]:
    """file:line of each address, inlined callers named (addr2line -i: the innermost line)."""
    out: dict[int, str] = {}
    for k in range(0, len(addrs), 2000):
        chunk = addrs[k:k + 2000]
        text = subprocess.run([ADDR2LINE, "-f", "-e", str(elf), *[f"0x{a:x}" for a in chunk]],
                              capture_output=True, text=True, check=True).stdout.splitlines()
        for a, fn, loc in zip(chunk, text[0::2], text[1::2], strict=True):
            out[a] = f"{fn} {Path(loc.split()[0]).name if loc.split() else '?'}"
    return out


def profile(model: str, work: Path, cost: CortexM7CostModel | None,
            speed_sram_bytes: int = 0, infer: bool = False) -> tuple[dict[str, Any], Profile, Any]:
    budget = next(b for m, b in MODELS if m == model)
    g, _ = quantized(model)
    scheme = f"paper:{model}:{budget}"
    board = get_board("qemu-mps2-an500")
    out = work / "model"
    name = model.replace("-", "_").replace(".", "_")
    try:
        report = compile_model(g, board=board, scheme=scheme, out_dir=out, name=name,
                               speed_sram_bytes=speed_sram_bytes)
    except BudgetError:
        a = analyze(g, board=board, scheme=scheme, budget_bytes=1 << 40, speed_sram_bytes=speed_sram_bytes)
        report = a.report
        out.mkdir(parents=True, exist_ok=True)
        for fname, text in generate(a, name).items():
            (out / fname).write_text(text)
        (out / "report.json").write_text(json.dumps({"stack_bytes": report["stack_bytes"]}))
        board = dataclasses.replace(board, sram_bytes=4 << 20)
    fw = build_firmware(out, board, in_mode="semihost")
    starts, funcs = _functions(fw.elf)
    # inference after training: tte_infer on a second image, after one step changed the trained
    # parameters (the inference graph streams every block, trained ones too)
    step = next(f for f in funcs if f[2] == ("tte_infer" if infer else "tte_train_step"))
    xt, yt = fashion_mnist("test")
    x = images(xt[:2])
    s = Stream().train(int8_input(g, x[0]), int(yt[0]))
    if infer:
        s.infer(int8_input(g, x[1]))
    prof = work / "prof.txt"
    res = run_firmware(fw, s, plugin_args=(f"prof={prof}", f"lo=0x{step[0]:x}", f"hi=0x{step[0] + step[1]:x}"),
                       cost_model=cost)
    p = read_profile(prof, fw.elf, out, starts, funcs)
    counts, estimates = ((res.infer_instructions, res.infer_cycles_estimate) if infer
                         else (res.train_instructions, res.train_cycles_estimate))
    summary: dict[str, Any] = {
        "model": model, "scheme": scheme, "region": "inference after one step" if infer else "training step",
        "instructions_per_train_step": counts[0],
        "by_op": dict(sorted(p.by_op.items(), key=lambda kv: -kv[1])),
        "by_function_whole_run": dict(sorted(p.by_func.items(), key=lambda kv: -kv[1]))}
    if cost is not None:
        summary["cycles_estimate_per_train_step"] = estimates[0]
        summary["costs_per_train_step"] = res.region_costs[-1 if infer else 0]
        summary["op_costs"] = p.op_costs
        summary["function_costs_whole_run"] = p.func_costs
    return summary, p, (fw.elf, starts, funcs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="mbv2-w0.35", choices=[m for m, _ in MODELS])
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--no-cost", action="store_true", help="instructions only (no misses / cycle estimate)")
    ap.add_argument("--lines", action="store_true", help="also a table per source line (inlined helpers apart)")
    ap.add_argument("--speed-kb", type=int, default=0, help="as tte compile --speed-kb")
    ap.add_argument("--infer", action="store_true",
                    help="profile tte_infer after one training step (the inference after training) instead of the step")
    args = ap.parse_args()
    cost = None if args.no_cost else CortexM7CostModel.for_board(get_board(PAPER_BOARD))
    with tempfile.TemporaryDirectory(prefix="tte-mcu-profile-") as tmp:
        p, prof, (elf, starts, funcs) = profile(args.model, Path(tmp), cost, 1024 * args.speed_kb, args.infer)
        total = p["instructions_per_train_step"]
        print(f"{p['model']} ({p['scheme']}): {total:,} instructions per {p['region']}")
        if cost is not None:
            c = p["costs_per_train_step"]
            print(f"cycle estimate {p['cycles_estimate_per_train_step']:,} ({PAPER_BOARD}); flash reads "
                  f"{c['flash_reads']:,}, misses {c['flash_misses']:,}, taken branches {c['taken']:,}")
        head = COST_HEADER if cost is not None else ""
        print(f"\nper op (callees included), top {args.top}:")
        if head:
            print(f"  {'instructions':>12} {'':>6}{head}")
        ops = p["by_op"]
        for k, (label, n) in enumerate(ops.items()):
            if k < args.top:
                print(f"  {n:>12,} {100 * n / total:5.1f}%{cost_columns(prof, cost, 'op', label, n)}  {label}")
        kinds: dict[str, int] = defaultdict(int)
        kind_costs: dict[str, dict[str, int]] = defaultdict(_zero_costs)
        for label, n in ops.items():
            parts = label.split()
            kind = parts[1] if len(parts) > 1 and parts[0].isdigit() else label
            kinds[kind] += n
            for key, v in prof.op_costs.get(label, {}).items():
                kind_costs[kind][key] += v
        kind_prof = Profile({}, {}, {}, dict(kind_costs), {})
        print("\nper op type:")
        if head:
            print(f"  {'instructions':>12} {'':>6}{head}")
        for kind, n in sorted(kinds.items(), key=lambda kv: -kv[1]):
            print(f"  {n:>12,} {100 * n / total:5.1f}%{cost_columns(kind_prof, cost, 'op', kind, n)}  {kind}")
        print(f"\nper function (exclusive, whole run incl. startup and I/O), top {args.top}:")
        if head:
            print(f"  {'instructions':>12} {'':>6}{head}")
        for k, (fn, n) in enumerate(p["by_function_whole_run"].items()):
            if k < args.top:
                print(f"  {n:>12,} {100 * n / total:5.1f}%{cost_columns(prof, cost, 'func', fn, n)}  {fn}")
        if cost is not None:
            print_flash_insns(prof, elf, starts, funcs, args.top)
        if args.lines:
            print_lines(prof, elf, starts, funcs, cost, args.top)
    if args.json:
        args.json.write_text(json.dumps(p, indent=2) + "\n")


if __name__ == "__main__":
    main()
