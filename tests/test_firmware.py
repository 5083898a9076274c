"""Firmware build: linker script from the board file, cross-compile and link for every core,
size report, RAM overflow reported by the linker with its size, flash commands."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from fwtools import model_sources, needs_arm_gcc

from tte.cli import main
from tte.errors import TteError
from tte.targets.boards import get_board, list_boards
from tte.targets.firmware import build_firmware, linker_script, memory_origins


def test_linker_script_takes_budgets_from_the_board_file() -> None:
    b = get_board("stm32f746g-disco")
    ld = linker_script(b, min_stack=3000)
    assert "ORIGIN = 0x08000000, LENGTH = 1048576" in ld
    assert "ORIGIN = 0x20000000, LENGTH = 262144" in ld  # the 256 KB budget, not the 320 KB chip
    assert "_min_stack = 3000;" in ld
    assert "@" not in ld
    assert memory_origins(get_board("qemu-mps2-an500")) == (0, 0x20000000)
    assert memory_origins(get_board("rp2040"))[0] == 0x10000000
    assert memory_origins(get_board("arduino-nano-33-ble-sense")) == (0x10000, 0x20000000)  # behind the bootloader
    assert memory_origins(get_board("qemu-mps2-an505")) == (0x10000000, 0x38000000)  # secure aliases


@needs_arm_gcc
@pytest.mark.parametrize("board", [b.name for b in list_boards()])
def test_builds_and_links_for_every_board(board: str, tmp_path: Path) -> None:
    """Cortex-M0+ (rp2040), M4 (nano 33 BLE), M7 (an500, F746, H743), M33 (an505): compile and link."""
    b = get_board(board)
    fw = build_firmware(model_sources(), b, out_dir=tmp_path, stream=b"Q" + bytes(7))
    assert fw.elf.is_file() and fw.bin.is_file() and fw.hex.is_file()
    hdr = subprocess.run(["arm-none-eabi-readelf", "-h", "-A", str(fw.elf)], capture_output=True, text=True,
                         check=True).stdout
    assert "ARM" in hdr
    arch = {"cortex-m0plus": "v6S-M", "cortex-m4": "v7E-M", "cortex-m7": "v7E-M", "cortex-m33": "v8-M.mainline"}[b.core]
    assert f"Tag_CPU_arch: {arch}" in hdr
    if b.fpu:
        assert "Tag_ABI_VFP_args: VFP registers" in hdr
    else:
        assert "VFP registers" not in hdr
    # the vector table: initial SP = top of the board's RAM, reset handler in flash (Thumb)
    flash, ram = memory_origins(b)
    image = fw.bin.read_bytes()
    sp, reset = int.from_bytes(image[0:4], "little"), int.from_bytes(image[4:8], "little")
    assert sp == ram + b.sram_bytes
    assert reset & 1 and flash <= reset < flash + len(image)
    assert fw.sizes.flash_bytes == len(image)  # .text + .data load image, nothing else
    s = fw.sizes
    assert s.data >= 32 and s.bss >= 1024  # the test model's weights and arena
    report = json.loads((tmp_path / "size_report.json").read_text())
    assert report["ram_static_bytes"] == s.data + s.bss


@needs_arm_gcc
def test_ram_overflow_fails_at_link_with_its_size(tmp_path: Path) -> None:
    b = get_board("qemu-mps2-an500")
    small = build_firmware(model_sources(), b, out_dir=tmp_path / "ok")
    arena = 300_000
    expected = small.sizes.data + small.sizes.bss + (arena - 1024) + small.sizes.stack_reserve - b.sram_bytes
    with pytest.raises(TteError) as e:
        build_firmware(model_sources(f"TTE_ARENA_BYTES={arena}"), b, out_dir=tmp_path / "big")
    assert f"RAM overflowed by {expected:,} bytes" in str(e.value)
    assert "qemu-mps2-an500" in str(e.value)


@needs_arm_gcc
def test_stack_reserve_counts_against_ram(tmp_path: Path) -> None:
    b = get_board("qemu-mps2-an500")
    ok = build_firmware(model_sources(), b, out_dir=tmp_path / "ok")
    free = b.sram_bytes - ok.sizes.data - ok.sizes.bss
    build_firmware(model_sources(), b, out_dir=tmp_path / "edge", min_stack=free)
    with pytest.raises(TteError, match=r"RAM overflowed by 8 bytes"):
        build_firmware(model_sources(), b, out_dir=tmp_path / "over", min_stack=free + 8)


@needs_arm_gcc
def test_rebuild_only_when_inputs_change(tmp_path: Path) -> None:
    b = get_board("qemu-mps2-an500")
    fw = build_firmware(model_sources(), b, out_dir=tmp_path)
    t = fw.elf.stat().st_mtime_ns
    assert build_firmware(model_sources(), b, out_dir=tmp_path).elf.stat().st_mtime_ns == t
    fw2 = build_firmware(model_sources("TTE_ARENA_BYTES=2048"), b, out_dir=tmp_path)
    assert fw2.elf.stat().st_mtime_ns != t and fw2.sizes.bss == fw.sizes.bss + 1024


@needs_arm_gcc
def test_uart_drivers_compile_for_their_boards(tmp_path: Path) -> None:
    """Register-level drivers: each image addresses its own UART (base address in the code).
    The CMSDK driver of the QEMU board runs in tests/test_qemu.py."""
    for board, base in (("stm32f746g-disco", 0x40011000), ("arduino-nano-33-ble-sense", 0x40002000)):
        fw = build_firmware(model_sources(), board, out_dir=tmp_path / board, in_mode="uart", out_mode="uart")
        assert "tte_uart_getc" in fw.symbols, board
        assert base.to_bytes(4, "little") in fw.bin.read_bytes(), board
    with pytest.raises(TteError, match="no UART driver"):
        build_firmware(model_sources(), "rp2040", out_dir=tmp_path / "rp", in_mode="uart")


def test_build_without_a_model_is_a_user_error(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["build", str(tmp_path), "--board", "qemu-mps2-an500"])
    assert r.exit_code == 2 and "no generated model" in r.output
