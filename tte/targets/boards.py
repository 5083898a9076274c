"""Board descriptions (`boards/*.toml`): core, FPU, DSP, memory budgets, clock, QEMU machine.

The compiler reads budgets and compile flags from here, the firmware its linker script,
and the knowledge graph its device descriptions.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tte.errors import TteError
from tte.targets.paths import resource_dir

CORES = ("cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55")
_REQUIRED = ("name", "core", "sram_bytes", "flash_bytes", "clock_hz")


@dataclass(frozen=True)
class Board:
    name: str
    core: str
    sram_bytes: int
    flash_bytes: int
    clock_hz: int
    fpu: str = ""
    dsp: bool = False
    display_name: str = ""
    mcu: str = ""
    sram_physical_bytes: int = 0
    qemu_machine: str = ""
    sensors: tuple[str, ...] = ()
    flash_tool: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    path: str = ""

    @property
    def has_fpu(self) -> bool:
        return bool(self.fpu)

    def gcc_flags(self) -> list[str]:
        """arm-none-eabi-gcc flags for this core (hard float where there is an FPU)."""
        flags = [f"-mcpu={self.core}", "-mthumb"]
        if self.fpu:
            flags += [f"-mfpu={self.fpu}", "-mfloat-abi=hard"]
        else:
            flags += ["-mfloat-abi=soft"]
        return flags

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["fpu"] = self.fpu or None
        d["qemu_machine"] = self.qemu_machine or None
        d["sensors"] = list(self.sensors)
        d.pop("path")
        return d


def boards_dir() -> Path:
    """The board directory: $TTE_BOARDS_DIR, else the boards that ship with tte."""
    env = os.environ.get("TTE_BOARDS_DIR")
    return Path(env) if env else resource_dir("boards")


def parse_board(path: Path) -> Board:
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise TteError(f"cannot read board file: {e}", file=str(path)) from None
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise TteError(f"board file lacks {', '.join(missing)}", file=str(path))
    if raw["core"] not in CORES:
        raise TteError(f"unknown core '{raw['core']}' (known: {', '.join(CORES)})", file=str(path))
    for k in ("sram_bytes", "flash_bytes", "clock_hz"):
        if not isinstance(raw[k], int) or raw[k] <= 0:
            raise TteError(f"{k} must be a positive integer, got {raw[k]!r}", file=str(path))
    known = {f for f in Board.__dataclass_fields__ if f not in ("extra", "path")}
    kwargs = {k: v for k, v in raw.items() if k in known}
    kwargs["sensors"] = tuple(kwargs.get("sensors", ()))
    extra = {k: v for k, v in raw.items() if k not in known}
    return Board(**kwargs, extra=extra, path=str(path))


def list_boards() -> list[Board]:
    d = boards_dir()
    return [parse_board(p) for p in sorted(d.glob("*.toml"))]


def get_board(name_or_path: str) -> Board:
    """A board by name (from the board directory) or by the path of a .toml file."""
    p = Path(name_or_path)
    if p.suffix == ".toml" and p.exists():
        return parse_board(p)
    f = boards_dir() / f"{name_or_path}.toml"
    if not f.exists():
        names = ", ".join(b.name for b in list_boards())
        raise TteError(f"unknown board '{name_or_path}' (known: {names})")
    return parse_board(f)
