"""A Cortex-M7 cycle estimate from what QEMU counts exactly.

QEMU does not model time. Its counting plugin (firmware/qemu-plugin/tte_icount.c, cost mode)
reports per counted region the instructions executed and the events that a single-issue
count prices wrongly: load/store-multiple beats, divides, taken branches, and data reads from
flash with the misses of a simulated L1 D-cache. This module prices them with the assumptions
below and calls the result `cycles_estimate`: an estimate with stated assumptions, never a
measured cycle count, and never the instruction count itself.

Assumptions (a Cortex-M7 with its L1 caches on, as on the STM32F746 at 216 MHz):

- Every instruction issues in one cycle. Dual issue is NOT credited, so straight-line code
  that pairs well (a load beside an ALU op) runs faster on silicon than estimated; result
  latencies and interlocks are NOT charged, so dependent chains run slower. The two errors
  point in opposite directions; neither is measured here.
- LDM/STM/PUSH/POP and VLDM/VSTM/VPUSH/VPOP move two registers per cycle over the 64-bit
  data path: one issue cycle plus ceil(n / 2) beats.
- SDIV/UDIV take their worst case (12 cycles), VDIV/VSQRT 14 cycles.
- A taken branch costs one extra cycle (predicted, one fetch bubble); mispredictions are
  not modelled.
- Instructions are fetched without waiting (the inner loops fit the 4 KB I-cache and the
  ART accelerator). SRAM data reads do not wait (DTCM, or the D-cache).
- Data reads from flash (`const` weights and tables) go through a 4 KB 4-way L1 D-cache
  with 32-byte lines and LRU replacement; a miss waits the flash's wait states (7 at
  216 MHz) plus the line fill (4 beats of 64 bits).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# The plugin's cost line, in its order (tte_icount.c's k_names).
COST_KEYS = ("ldm", "ldm_beats", "vldm", "vldm_beats", "div", "vdiv", "taken", "flash_reads", "flash_misses")

ASSUMPTIONS = __doc__.split("Assumptions", 1)[1].split("\n", 1)[1].strip()


@dataclass(frozen=True)
class CortexM7CostModel:
    clock_hz: int = 216_000_000
    flash_wait_states: int = 7
    dcache_bytes: int = 4096
    dcache_ways: int = 4
    line_fill_beats: int = 4  # a 32-byte line over the 64-bit bus
    divide_cycles: int = 12
    vfp_divide_cycles: int = 14
    taken_branch_penalty: int = 1

    @classmethod
    def for_board(cls, board: Any) -> CortexM7CostModel:
        """The model at a board's clock and flash wait states (board file keys
        `flash_wait_states`, `dcache_bytes`, `dcache_ways`; the defaults are the F746's)."""
        if getattr(board, "core", "") != "cortex-m7":
            raise ValueError(f"the cycle model is for the Cortex-M7, board '{board.name}' is a {board.core}")
        extra = getattr(board, "extra", {}) or {}
        kw = {k: int(extra[k]) for k in ("flash_wait_states", "dcache_bytes", "dcache_ways") if k in extra}
        return cls(clock_hz=int(board.clock_hz), **kw)

    @property
    def miss_penalty(self) -> int:
        return self.flash_wait_states + self.line_fill_beats

    def plugin_args(self, flash_lo: int, flash_hi: int) -> tuple[str, ...]:
        return ("cost=1", f"flash_lo=0x{flash_lo:x}", f"flash_hi=0x{flash_hi:x}", f"dcache={self.dcache_bytes}",
                f"dways={self.dcache_ways}")

    def breakdown(self, instructions: int, counts: dict[str, int]) -> dict[str, int]:
        """Cycles by cause; their sum is the estimate."""
        missing = [k for k in COST_KEYS if k not in counts]
        if missing:
            raise ValueError(f"cost counts lack {', '.join(missing)}")
        return {
            "issue": instructions,
            "multiple_beats": counts["ldm_beats"] + counts["vldm_beats"],
            "divides": counts["div"] * (self.divide_cycles - 1) + counts["vdiv"] * (self.vfp_divide_cycles - 1),
            "taken_branches": counts["taken"] * self.taken_branch_penalty,
            "flash_misses": counts["flash_misses"] * self.miss_penalty,
        }

    def estimate(self, instructions: int, counts: dict[str, int]) -> int:
        return sum(self.breakdown(instructions, counts).values())

    def milliseconds(self, cycles: float) -> float:
        return cycles * 1e3 / self.clock_hz

    def describe(self) -> dict[str, Any]:
        return {**asdict(self), "miss_penalty": self.miss_penalty, "assumptions": ASSUMPTIONS}

