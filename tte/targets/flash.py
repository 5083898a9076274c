"""Write a built firmware image to a real board with the board file's tool, with a time limit.

    cmd = flash_command(board, fw_dir / "tte_firmware.elf")       # from boards/<name>.toml
    output = run_flash_tool(cmd, timeout=120)                      # TteError on any failure

Tools: pyocd and openocd (SWD through a debug probe), st-flash (ST-Link), bossac (the Arduino
bootloader over USB serial). A tool that finds no probe may wait for one forever (pyocd does),
so every run has a time limit; a missing tool, a timeout and a failure are one-line errors.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

from tte.errors import TteError
from tte.targets.boards import Board
from tte.targets.firmware import memory_origins

TOOLS = ("pyocd", "openocd", "st-flash", "bossac")
DEFAULT_TIMEOUT_S = 120.0

# What the tools print when no probe or board answers (lower case).
_NO_PROBE = ("no available debug probes", "waiting for a debug probe", "no connected debug probe",
             "unable to find a matching", "open failed", "couldn't find any st-link", "no device found",
             "no st-link", "no probe")


def flash_command(board: Board, image: Path, *, tool: str | None = None, port: str | None = None) -> list[str]:
    """The command that writes `image` (the .elf; .bin beside it where the tool wants raw bytes)."""
    tool = tool or board.flash_tool
    if not tool:
        raise TteError(f"board '{board.name}' has no flash_tool (it may be emulated only)", file=board.path or None)
    if tool not in TOOLS:
        raise TteError(f"unknown flash tool '{tool}' (known: {', '.join(TOOLS)})", file=board.path or None)
    if tool == "pyocd":
        target = board.extra.get("pyocd_target")
        if not target:
            raise TteError(f"board '{board.name}' gives no pyocd_target for pyocd", file=board.path)
        return ["pyocd", "flash", "--target", str(target), str(image)]
    if tool == "openocd":
        iface, target = board.extra.get("openocd_interface"), board.extra.get("openocd_target")
        if not iface or not target:
            raise TteError(f"board '{board.name}' lacks openocd_interface/openocd_target for openocd",
                           file=board.path)
        return ["openocd", "-f", str(iface), "-f", str(target), "-c", f"program {image} verify reset exit"]
    if tool == "st-flash":
        return ["st-flash", "--reset", "write", str(image.with_suffix(".bin")), f"0x{memory_origins(board)[0]:08x}"]
    if not port:
        raise TteError("bossac writes through the board's bootloader: give its USB serial port with --port "
                       "(e.g. /dev/ttyACM0; double-tap reset to enter the bootloader)")
    # The bootloader places the image at the application start (the board file's flash_origin).
    return ["bossac", f"--port={port}", "-U", "-i", "-e", "-w", str(image.with_suffix(".bin")), "-R"]


def run_flash_tool(cmd: list[str], timeout: float = DEFAULT_TIMEOUT_S) -> str:
    """Run the flash command; its output on success, else a TteError saying what went wrong."""
    if shutil.which(cmd[0]) is None:
        raise TteError(f"{cmd[0]} not found on PATH (install it, or pick another tool with --tool); "
                       f"the command would be: {' '.join(cmd)}")
    # A session of its own, so that a timeout ends the tool and anything it started.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        raise TteError(f"{cmd[0]} did not finish within {timeout:g} s{_why(out)}; is the board connected "
                       "and powered, and its probe plugged in?") from None
    if proc.returncode != 0:
        raise TteError(f"{cmd[0]} failed with status {proc.returncode}{_why(out)}")
    return out


def _why(output: str) -> str:
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    if any(p in output.lower() for p in _NO_PROBE):
        return ": no debug probe or board found" + (f" ({lines[-1]})" if lines else "")
    return f": {lines[-1]}" if lines else ""
