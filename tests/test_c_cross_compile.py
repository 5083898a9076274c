"""Every csrc/ file cross-compiles with arm-none-eabi-gcc, warnings as errors, for a
Cortex-M7 (hard float, DSP extension) and a Cortex-M0+ (no FPU, no DSP), and the objects
need nothing from libc but string.h (memcpy/memmove/memset) and nothing from libm; the
compiler's own runtime (libgcc's __aeabi_* soft-float and 64-bit helpers) is allowed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tte.targets import cbuild

CC = "arm-none-eabi-gcc"
CPUS = {
    "cortex-m7": ["-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-sp-d16"],
    "cortex-m0plus": ["-mcpu=cortex-m0plus", "-mthumb"],
}
FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", "-O2", "-ffreestanding"]
ALLOWED = re.compile(r"^(memcpy|memmove|memset|__aeabi_\w+|__gnu_\w+|__\w+[sdl]i\d|__clz\w+|__ctz\w+)$")

pytestmark = pytest.mark.skipif(shutil.which(CC) is None, reason=f"{CC} not installed")


def _compile(src: Path, cpu: str, out: Path, extra: list[str] | None = None) -> None:
    proc = subprocess.run([CC, *CPUS[cpu], *FLAGS, *(extra or []), f"-I{cbuild.INCLUDE}", "-c", str(src),
                           "-o", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("cpu", sorted(CPUS))
@pytest.mark.parametrize("src", cbuild.kernel_sources(), ids=lambda p: p.name)
def test_cross_compiles_without_warnings(src: Path, cpu: str, tmp_path: Path) -> None:
    obj = tmp_path / "k.o"
    _compile(src, cpu, obj)
    nm = subprocess.run(["arm-none-eabi-nm", "-u", str(obj)], capture_output=True, text=True, check=True)
    undefined = [line.split()[-1] for line in nm.stdout.splitlines() if line.strip()]
    bad = [s for s in undefined if not ALLOWED.match(s) and not s.startswith("tte_")]
    assert not bad, f"{src.name} on {cpu} needs {bad}"


def test_dsp_path_is_compiled_for_m7_only(tmp_path: Path) -> None:
    """The SMLAD fast path is present on the M7 (DSP extension) and absent on the M0+."""
    src = cbuild.CSRC / "src" / "pointwise_s8.c"
    for cpu, want in (("cortex-m7", True), ("cortex-m0plus", False)):
        asm = tmp_path / f"{cpu}.s"
        proc = subprocess.run([CC, *CPUS[cpu], *FLAGS, f"-I{cbuild.INCLUDE}", "-S", str(src), "-o", str(asm)],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert ("smlad" in asm.read_text().lower()) == want, cpu


def test_headers_compile_standalone(tmp_path: Path) -> None:
    """Each public header includes what it needs (generated code includes tte/kernels.h)."""
    for header in cbuild.kernel_headers():
        src = tmp_path / "h.c"
        src.write_text(f'#include "tte/{header.name}"\nint tte_dummy;\n')
        _compile(src, "cortex-m0plus", tmp_path / "h.o")


@pytest.mark.parametrize("cpu", sorted(CPUS))
def test_internal_headers_compile_standalone(cpu: str, tmp_path: Path) -> None:
    """Each internal header (tte/internal/, shared by kernel files) includes what it needs and
    leaves no unused-function warning in a file that uses none of its helpers."""
    for header in sorted((cbuild.INCLUDE / "tte" / "internal").glob("*.h")):
        src = tmp_path / "h.c"
        src.write_text(f'#include "tte/internal/{header.name}"\nint tte_dummy;\n')
        _compile(src, cpu, tmp_path / "h.o")


# ---- the same bits on the microcontroller ----------------------------------------------

PROBE = Path(__file__).resolve().parent / "cprobe"
MACHINES = {"cortex-m7": "mps2-an500", "cortex-m0plus": "microbit"}   # microbit: a Cortex-M0 (ARMv6-M)
PROBE_FLASH = {"cortex-m7": ["-Wl,--defsym=tte_probe_flash=0x100000"], "cortex-m0plus": []}   # mcu.ld


@pytest.fixture(scope="module")
def host_digest() -> int:
    ffi, lib = cbuild.load([PROBE / "probe.c"], extra_cdef="uint32_t tte_probe(void);", name="probe")
    digest = int(lib.tte_probe())
    assert digest != 0, "the conv fast path differs from the generic loop on the host"
    return digest


@pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="qemu-system-arm not installed")
@pytest.mark.parametrize("cpu", sorted(MACHINES))
def test_kernels_give_host_bits_on_qemu(cpu: str, host_digest: int, tmp_path: Path) -> None:
    """int8 forward (the M7 through its SMLAD path), float backward, tte_expf/logf, losses and
    fused QAS updates (double in software on both cores): one digest, host and target."""
    elf = tmp_path / "probe.elf"
    hosted = [f for f in FLAGS if f != "-ffreestanding"]
    proc = subprocess.run([CC, *CPUS[cpu], *hosted, f"-I{cbuild.INCLUDE}", "-nostartfiles",
                           "-T", str(PROBE / "mcu.ld"), *PROBE_FLASH[cpu], "-Wl,--gc-sections", "-o", str(elf),
                           str(PROBE / "probe.c"),
                           str(PROBE / "mcu_main.c"), *(str(s) for s in cbuild.kernel_sources()), "-lc", "-lgcc"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    run = subprocess.run(["qemu-system-arm", "-M", MACHINES[cpu], "-nographic", "-monitor", "none", "-serial",
                          "none", "-semihosting", "-kernel", str(elf)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"{cpu}: {run.stdout}{run.stderr}"  # a fault, or the stack reached .bss
    printed = (run.stdout + run.stderr).strip().split()
    assert printed and int(printed[-1], 16) == host_digest, f"{cpu}: {printed} != {host_digest:08x}"
