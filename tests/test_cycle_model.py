"""The QEMU plugin's cost counts on a hand-written Cortex-M7 program whose events are known
from its source: the assembler encodes the instructions (the plugin decodes its bytes), the
loop bounds give the taken branches, and the table's size and alignment give the D-cache's
misses. Then the cycle model prices the counts by its stated rules."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tte.targets.cycles import COST_KEYS, CortexM7CostModel
from tte.targets.qemu import QEMU, build_plugin, parse_plugin_output, qemu_supports_plugins

pytestmark = pytest.mark.skipif(not (shutil.which("arm-none-eabi-gcc") and qemu_supports_plugins()),
                                reason="needs arm-none-eabi-gcc and qemu-system-arm with plugins")

TABLE_BYTES = 1024   # 32 lines of 32 bytes: fits the 4 KB D-cache
EVICT_BYTES = 8192   # twice the D-cache: a second pass misses on every line again
STRADDLE_LOOP = 50   # passes of a loop whose 16-bit instruction ends a 1 KB page

PROGRAM = f"""
    .syntax unified
    .cpu cortex-m7
    .fpu fpv5-sp-d16
    .thumb
    .section .vectors, "a"
    .word 0x20010000
    .word reset

    .text
    .thumb_func
    .global reset
reset:
    ldr r0, =0xE000ED88          @ CPACR: enable the FPU
    ldr r1, [r0]
    orr r1, r1, #(0xF << 20)
    str r1, [r0]
    dsb
    isb
    bl region_begin              @ an empty region: the markers' own counts
    bl region_end
    bl region_begin
    bl body
    bl region_end
    bl region_begin
    bl evict
    bl region_end
    bl region_begin
    bl straddle
    bl region_end
    movs r0, #0x18               @ semihosting SYS_EXIT, ADP_Stopped_ApplicationExit
    ldr r1, =0x20026
    bkpt 0xab
    b .

    .balign 16
    .thumb_func
region_begin:
    bx lr
    .balign 16
    .thumb_func
region_end:
    bx lr

    .thumb_func
body:
    push {{r4-r7, lr}}           @ 5 registers: 3 beats
    vpush {{s16-s19}}            @ 4 words: 2 beats
    movs r2, #7
    movs r3, #2
    sdiv r4, r2, r3
    udiv r4, r2, r3
    vmov s0, r2
    vsqrt.f32 s1, s0
    vdiv.f32 s2, s1, s0
    vldr s3, [sp]                @ one register: not a multiple transfer
    vmov r5, r6, s2, s3          @ a 64-bit move: not a multiple transfer
    ldr r0, =table
    movs r1, #0
    .global pass1
pass1:
1:  ldr r2, [r0, r1, lsl #2]     @ pass 1: 256 reads, one miss per line
    adds r1, #1
    cmp r1, #{TABLE_BYTES // 4}
    bne 1b
    movs r1, #0
    .global pass2
pass2:
2:  ldr r2, [r0, r1, lsl #2]     @ pass 2: 256 reads, all hits
    adds r1, #1
    cmp r1, #{TABLE_BYTES // 4}
    bne 2b
    ldm r0!, {{r1, r2, r3}}      @ 3 registers: 2 beats, 3 reads that hit
    ldmia.w r0, {{r1, r2, r3, r5, r6}}  @ 5 registers: 3 beats, 5 reads that hit
    vpop {{s16-s19}}
    pop {{r4-r7, pc}}

    .thumb_func
evict:
    ldr r0, =big
    movs r3, #2
3:  movs r1, #0
    .global evict_load
evict_load:
4:  ldr r2, [r0, r1]             @ one read per line, twice over 8 KB: every read misses
    adds r1, #32
    cmp r1, #{EVICT_BYTES}
    bne 4b
    subs r3, #1
    bne 3b
    bx lr

    .thumb_func
straddle:
    movs r1, #0
    b 5f
    .balign 1024
    .space 1020
5:  adds r1, #1                  @ 16 bits, the page's last but one halfword
    add.w r2, r1, #3             @ 32 bits across the page boundary
    cmp r1, #{STRADDLE_LOOP}
    bne 5b
    bx lr

    .section .rodata
    .balign 32
    .global table
table:
    .fill {TABLE_BYTES // 4}, 4, 0x01020304
    .balign 32
    .global big
big:
    .fill {EVICT_BYTES // 4}, 4, 0x05060708
    .global table_end
table_end:
"""

LINK = """
MEMORY {{ FLASH (rx) : ORIGIN = 0x00000000, LENGTH = 1M  RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 64K }}
SECTIONS {{ .text : {{ KEEP(*(.vectors)) *(.text*) *(.rodata*) }} > FLASH }}
"""


def _symbols(elf: Path) -> dict[str, int]:
    out = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True, check=True).stdout
    return {f[2]: int(f[0], 16) for f in (ln.split() for ln in out.splitlines()) if len(f) == 3}


def _run(tmp_path_factory: pytest.TempPathFactory, profile: bool) -> tuple[list[dict[str, int]], dict[str, int], str]:
    """The per-region cost counts (less the empty region's), the symbols and, with profile,
    the profile file (sites: the blocks of body and evict)."""
    d = tmp_path_factory.mktemp("cycles")
    (d / "prog.S").write_text(PROGRAM)
    (d / "link.ld").write_text(LINK.format())
    elf = d / "prog.elf"
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-sp-d16", "-mfloat-abi=hard",
                    "-nostdlib", "-T", str(d / "link.ld"), "-o", str(elf), str(d / "prog.S")], check=True)
    sym = _symbols(elf)
    model = CortexM7CostModel()
    out, prof = d / "counts.txt", d / "prof.txt"
    args = [f"{build_plugin()}", f"begin=0x{sym['region_begin'] & ~1:x}", f"end=0x{sym['region_end'] & ~1:x}",
            f"out={out}", *model.plugin_args(sym["table"], sym["table_end"])]
    if profile:
        args += [f"prof={prof}", f"lo=0x{sym['body'] & ~1:x}", f"hi=0x{sym['table']:x}"]
    subprocess.run([QEMU, "-M", "mps2-an500", "-cpu", "cortex-m7", "-nographic", "-monitor", "none",
                    "-serial", "none", "-semihosting-config", "enable=on,target=native", "-kernel", str(elf),
                    "-plugin", ",".join(args)], check=True, timeout=60, capture_output=True)
    parsed = parse_plugin_output(out.read_text().splitlines())
    assert len(parsed.costs) == 4
    base = parsed.costs[0]
    return ([{k: c[k] - base[k] for k in COST_KEYS} for c in parsed.costs[1:]], sym,
            prof.read_text() if profile else "")


@pytest.fixture(scope="module")
def counts(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, int]]:
    return _run(tmp_path_factory, profile=False)[0]


def test_classes_counted_from_the_encodings(counts: list[dict[str, int]]) -> None:
    body = counts[0]
    # push, ldm r0!, ldmia.w, pop; vpush, vpop (vldr and the 64-bit vmov are not multiples)
    assert (body["ldm"], body["ldm_beats"]) == (4, 3 + 2 + 3 + 3)
    assert (body["vldm"], body["vldm_beats"]) == (2, 2 + 2)
    assert (body["div"], body["vdiv"]) == (2, 2)


def test_taken_branches_follow_the_control_flow(counts: list[dict[str, int]]) -> None:
    loop = TABLE_BYTES // 4
    # the call into body, each loop's back edges, the return
    assert counts[0]["taken"] == 1 + 2 * (loop - 1) + 1
    lines = EVICT_BYTES // 32
    assert counts[1]["taken"] == 1 + 2 * (lines - 1) + 1 + 1
    # the call, the jump into the loop, its back edges, the return: the block that ends at the
    # page boundary falls through to the next one (QEMU reports its last instruction as 4 bytes)
    assert counts[2]["taken"] == 1 + 1 + (STRADDLE_LOOP - 1) + 1


def test_flash_reads_through_the_simulated_dcache(counts: list[dict[str, int]]) -> None:
    body, evict = counts[:2]
    assert body["flash_reads"] == 2 * (TABLE_BYTES // 4) + 3 + 5
    assert body["flash_misses"] == TABLE_BYTES // 32
    assert evict["flash_reads"] == evict["flash_misses"] == 2 * (EVICT_BYTES // 32)


def test_the_estimate_prices_each_count_by_its_rule(counts: list[dict[str, int]]) -> None:
    m = CortexM7CostModel()
    body = counts[0]
    parts = m.breakdown(1000, body)
    assert parts["issue"] == 1000
    assert parts["multiple_beats"] == 11 + 4
    assert parts["divides"] == 2 * 11 + 2 * 13
    assert parts["taken_branches"] == body["taken"]
    assert parts["flash_misses"] == 32 * (7 + 4)
    assert m.estimate(1000, body) == sum(parts.values())


def test_the_f746_board_sets_clock_and_wait_states() -> None:
    from tte.targets.boards import get_board

    m = CortexM7CostModel.for_board(get_board("stm32f746g-disco"))
    assert (m.clock_hz, m.flash_wait_states, m.miss_penalty) == (216_000_000, 7, 11)
    with pytest.raises(ValueError, match="Cortex-M7"):
        CortexM7CostModel.for_board(get_board("rp2040"))


def test_the_profile_attributes_the_costs_to_instructions_blocks_and_sites(
        tmp_path_factory: pytest.TempPathFactory, counts: list[dict[str, int]]) -> None:
    with_prof, sym, text = _run(tmp_path_factory, profile=True)
    assert with_prof == counts  # the profile changes no count
    body, evict, end = sym["body"] & ~1, sym["evict"] & ~1, sym["straddle"] & ~1
    flash: dict[int, tuple[int, int]] = {}
    taken = {"body": 0, "evict": 0}
    block_taken: dict[int, int] = {}
    sites = {"body": dict.fromkeys(COST_KEYS, 0), "evict": dict.fromkeys(COST_KEYS, 0)}
    for f in (line.split() for line in text.splitlines()):
        a = int(f[1], 16)
        part = "body" if body <= a < evict else "evict" if evict <= a < end else None
        if f[0] == "flash":
            old = flash.get(a, (0, 0))
            flash[a] = (old[0] + int(f[2]), old[1] + int(f[3]))
        elif f[0] == "tbcost" and part:
            taken[part] += int(f[8])
            block_taken[a] = block_taken.get(a, 0) + int(f[8])
        elif f[0] == "sitecost" and part:
            for k, v in zip(COST_KEYS, f[2:], strict=True):
                sites[part][k] += int(v)
    loop, lines = TABLE_BYTES // 4, EVICT_BYTES // 32
    assert flash[sym["pass1"]] == (loop, TABLE_BYTES // 32)
    assert flash[sym["pass2"]] == (loop, 0)
    assert flash[sym["evict_load"]] == (2 * lines, 2 * lines)
    # taken out of each function's blocks: its back edges and its return (the calls into
    # them are taken out of reset's blocks)
    assert taken == {"body": 2 * (loop - 1) + 1, "evict": 2 * (lines - 1) + 1 + 1}
    # a loop's block starts at its label, entered by the back edge (its first iteration ran
    # in the block before): the back edge is taken out of it once less than into it
    assert block_taken[sym["pass1"]] == block_taken[sym["pass2"]] == loop - 2
    # every count of a region falls on the sites that ran in it
    assert sites == {"body": counts[0], "evict": counts[1]}
