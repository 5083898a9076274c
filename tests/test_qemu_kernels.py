"""Every C kernel case of tests/c_cases.py gives the same bytes on the emulated Cortex-M7 as
on the host.

tests/test_c_kernels.py checks the host build against tte.reference; the M7 takes other
paths for the same cases (SMLAD/SSAT/QADD/SMMULR under ``__ARM_FEATURE_DSP``, hard single
float, soft double), which only this test runs case by case. A few generated programs (as many
as the M7 image's flash needs) hold the cases with their initial buffers (inputs, weights, and
garbage in the outputs so that a skipped element shows); each, built for the host and for the
M7 (QEMU mps2-an500), prints an FNV-1a digest of all buffers after each case, and the two
listings must be equal.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from c_cases import CTYPE, Case, _buffers, all_cases, below_offsets, emit_cases, slot_bytes

from tte.ir import Tensor
from tte.targets import cbuild

PROBE = Path(__file__).resolve().parent / "cprobe"
ARM_CC = "arm-none-eabi-gcc"
M7 = ["-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-sp-d16"]
# the firmware's numerics flags (tte/targets/firmware.py, tte/targets/cbuild.py)
FLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", "-fno-fast-math"]
LINKER = """MEMORY { FLASH (rx) : ORIGIN = 0x00000000, LENGTH = 4M
         RAM (rwx)  : ORIGIN = 0x20000000, LENGTH = 256K }
SECTIONS {
  .text : { KEEP(*(.vectors)) *(.text*) *(.rodata*) . = ALIGN(4); } > FLASH
  .ARM.exidx : { *(.ARM.exidx*) } > FLASH
  _sidata = LOADADDR(.data);
  .data : { . = ALIGN(4); _sdata = .; *(.data*) . = ALIGN(4); _edata = .; } > RAM AT > FLASH
  .bss (NOLOAD) : { . = ALIGN(4); _sbss = .; *(.bss*) *(COMMON) . = ALIGN(4); _ebss = .; } > RAM
  _estack = ORIGIN(RAM) + LENGTH(RAM);
}
"""

pytestmark = [
    pytest.mark.skipif(shutil.which(ARM_CC) is None, reason=f"{ARM_CC} not installed"),
    pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="qemu-system-arm not installed"),
]


def _initial(t: Tensor, src: np.ndarray | None, rng: np.random.Generator) -> bytes:
    """A buffer's bytes before the call, as tests/c_cases.Harness lays them out."""
    if t.dtype == "bool":
        if src is None:
            return rng.integers(0, 256, (t.size + 7) // 8).astype(np.uint8).tobytes()
        return np.packbits(np.asarray(src, bool).ravel(), bitorder="little").tobytes()
    if src is not None:
        return np.ascontiguousarray(np.array(src, dtype=t.dtype).reshape(t.shape)).tobytes()
    n = max(t.size, 1)
    if t.dtype == "float32":
        return np.full(n, np.nan, np.float32).tobytes()
    return rng.integers(-128, 128, n).astype(t.dtype).tobytes()


def _c_bytes(data: bytes) -> str:
    return ",".join(str(b) for b in data) or "0"


# the cases' tensors per program: the M7 image's FLASH region (4 MB) also holds the kernels and the cases' code
PROGRAM_DATA_BYTES = 2 << 20


def _chunks(cases: list[Case]) -> list[range]:
    """Consecutive runs of the cases whose tensors take at most PROGRAM_DATA_BYTES (an upper bound
    on their initial buffers), one program each."""
    runs: list[range] = []
    start, total = 0, 0
    for i, case in enumerate(cases):
        size = sum(max(t.size, 1) * np.dtype(t.dtype).itemsize for t in case.graph.tensors.values())
        if i > start and total + size > PROGRAM_DATA_BYTES:
            runs.append(range(start, i))
            start, total = i, 0
        total += size
    runs.append(range(start, len(cases)))
    return runs


def _program(cases: list[Case], first: int = 0) -> str:
    """The cases (tests/c_cases.emit_cases) plus a driver: tte_case_digest(i) loads case i's
    initial buffers into one arena, runs it, and hashes every buffer but kernel scratch.
    ``first``: the index of cases[0] among all cases (it seeds the garbage in its outputs)."""
    src, _ = emit_cases(cases)
    out = [src, "#include <string.h>", "uint32_t tte_cases_count(void);", "uint32_t tte_case_digest(uint32_t i);"]
    rows: list[str] = []
    arena = 8
    for i, case in enumerate(cases):
        g = case.graph
        index = _buffers(g)
        rng = np.random.default_rng(4321 + first + i)
        blob = bytearray()
        layout: dict[int, tuple[int, int]] = {}
        for name, t in g.tensors.items():
            slot = index[name]
            if slot in layout:
                continue
            assert t.dtype in CTYPE, t.dtype
            data = _initial(t, case.feeds.get(name, t.data), rng)
            if name in below_offsets(g):
                data = slot_bytes(g, name, data, rng.integers(0, 256, len(data) + below_offsets(g)[name]
                                                              + max(t.nbytes for t in g.tensors.values()))
                                  .astype(np.uint8).tobytes())
            layout[slot] = (len(blob), len(data))
            blob += data + bytes(-len(data) % 8)
        n_slots = max(index.values()) + 1
        # kernel scratch is not an output: its bytes after the call are the path's own (the
        # DSP paths keep more in it than the portable ones)
        scratch = {index[name] for name in g.tensors if name.endswith("@scratch")}
        offs = [layout.get(s, (0xFFFFFFFF, 0)) if s not in scratch else (layout[s][0], 0) for s in range(n_slots)]
        out.append(f"static const uint8_t c{i}_init[{max(len(blob), 1)}] = {{{_c_bytes(bytes(blob))}}};")
        out.append(f"static const uint32_t c{i}_off[{n_slots}] = {{{', '.join(f'{o}u' for o, _ in offs)}}};")
        out.append(f"static const uint32_t c{i}_len[{n_slots}] = {{{', '.join(f'{n}u' for _, n in offs)}}};")
        rows.append(f"{{tte_case_{i}, c{i}_init, {len(blob)}u, c{i}_off, c{i}_len, {n_slots}u}}")
        arena = max(arena, len(blob), n_slots)
    out.append(f"""
typedef struct {{
    void (*fn)(void **b);
    const uint8_t *init;
    uint32_t size;
    const uint32_t *off;
    const uint32_t *len;
    uint32_t n_slots;
}} case_t;
static const case_t cases[{len(cases)}] = {{
    {(',' + chr(10) + '    ').join(rows)}
}};
static uint64_t arena[{(arena + 7) // 8}];
static void *slots[{arena}];

uint32_t tte_cases_count(void)
{{
    return {len(cases)}u;
}}

uint32_t tte_case_digest(uint32_t i)
{{
    const case_t *c = &cases[i];
    uint8_t *base = (uint8_t *)arena;
    uint32_t d = 2166136261u, s, k;
    memcpy(base, c->init, c->size);
    for (s = 0; s < c->n_slots; ++s) {{
        slots[s] = c->off[s] == 0xFFFFFFFFu ? NULL : base + c->off[s];
    }}
    c->fn(slots);
    for (s = 0; s < c->n_slots; ++s) {{
        for (k = 0; k < c->len[s]; ++k) {{
            d = (d ^ base[c->off[s] + k]) * 16777619u;
        }}
    }}
    return d;
}}
""")
    return "\n".join(out)


def _listing(text: str) -> dict[int, str]:
    lines = [ln.split() for ln in text.splitlines() if ln.strip()]
    return {int(i, 16): d for i, d in lines}


def test_every_case_gives_host_bytes_on_the_m7(tmp_path: Path) -> None:
    cases = all_cases()
    for k, run in enumerate(_chunks(cases)):
        part = tmp_path / f"part{k}"
        part.mkdir()
        _check_on_the_m7([cases[i] for i in run], run.start, part)


def _check_on_the_m7(cases: list[Case], first: int, tmp_path: Path) -> None:
    prog = tmp_path / "cases.c"
    prog.write_text(_program(cases, first))
    kernels = [str(s) for s in cbuild.kernel_sources()]
    inc = f"-I{cbuild.INCLUDE}"

    host = tmp_path / "cases_host"
    proc = subprocess.run(["gcc", *FLAGS, "-Wno-unused-function", inc, "-o", str(host), str(prog),
                           str(PROBE / "cases_main.c"), *kernels], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-4000:]
    run = subprocess.run([str(host)], capture_output=True, text=True, timeout=300, check=True)
    want = _listing(run.stdout)

    ld = tmp_path / "cases.ld"
    ld.write_text(LINKER)
    elf = tmp_path / "cases.elf"
    proc = subprocess.run([ARM_CC, *M7, *FLAGS, "-Wno-unused-function", "-DTTE_BARE_METAL", inc, "-nostartfiles",
                           "-T", str(ld), "-Wl,--gc-sections", "-o", str(elf), str(prog),
                           str(PROBE / "cases_main.c"), *kernels, "-lc", "-lgcc"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-4000:]
    run = subprocess.run(["qemu-system-arm", "-M", "mps2-an500", "-nographic", "-monitor", "none", "-serial", "none",
                          "-semihosting", "-kernel", str(elf)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    got = _listing(run.stdout + run.stderr)

    assert len(want) == len(cases), "the host run did not list every case"
    missing = [cases[i].name for i in want if i not in got]
    assert not missing, f"the M7 run stopped before {missing[:3]}"
    differ = [cases[i].name for i in want if got[i] != want[i]]
    assert not differ, f"{len(differ)} of {len(cases)} cases differ on the M7 from the host: {differ}"


def test_overlapping_depthwise_gives_host_bytes_on_the_m7(tmp_path: Path) -> None:
    """The depthwise cases whose output starts its allowed distance below the input in one
    buffer (tests/c_cases.py _dw_overlap_case; host == reference in tests/test_c_kernels.py): the
    M7's DSP and assembly paths, which run channel groups over every row, give the host's bytes."""
    cases = [c for c in all_cases() if c.name.startswith("depthwise_overlap_")]
    assert len(cases) >= 30
    first = next(i for i, c in enumerate(all_cases()) if c.name == cases[0].name)
    _check_on_the_m7(cases, first, tmp_path)


def test_convs_over_their_input_give_host_bytes_on_the_m7(tmp_path: Path) -> None:
    """The depthwise cases run over their input and the 1x1 cases run pixel by pixel below it
    (tests/c_cases.py _dw_in_place_case, _pw_by_pixel_case; host == reference in
    tests/test_c_kernels.py): the M7's DSP paths of tte_conv2d_s8 give the host's bytes."""
    every = all_cases()
    for prefix in ("depthwise_in_place_", "pointwise_by_pixel_"):
        cases = [c for c in every if c.name.startswith(prefix)]
        assert len(cases) >= 16
        first = next(i for i, c in enumerate(every) if c.name == cases[0].name)
        for k, run in enumerate(_chunks(cases)):
            part = tmp_path / f"{prefix}{k}"
            part.mkdir()
            _check_on_the_m7([cases[i] for i in run], first + run.start, part)


def test_channel_packing_gives_host_bytes_on_the_m7(tmp_path: Path) -> None:
    """A split weight's trained input channels packed for the backward (over x's start or below it)
    and given back their shape (tests/c_cases.py _channels_case; host == reference in
    tests/test_c_kernels.py): the emulated M7 gives the host's bytes."""
    every = all_cases()
    cases = [c for c in every if c.name.startswith("channels_")]
    assert len(cases) >= 18
    first = next(i for i, c in enumerate(every) if c.name == cases[0].name)
    _check_on_the_m7(cases, first, tmp_path)
