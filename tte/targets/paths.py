"""Where tte finds the files it ships beside its Python code, and where it caches builds.

The C runtime (`csrc/`), the board files (`boards/`), the firmware templates (`firmware/`) and
the example models (`examples/`) live at the top of the git checkout; an installed wheel carries
copies of them in `tte/_data/` (setup.py puts them there). Every module asks `resource_dir`, so
the same code runs from a checkout (editable install, tests) and from a wheel.

Build outputs (host libraries, the QEMU plugin, firmware for the QEMU engine) go to the
checkout's `build/`; an installed tte, whose package folder may not be writable, uses a per-user
cache instead. $TTE_CACHE_DIR overrides both.
"""

from __future__ import annotations

import os
from pathlib import Path

SHIPPED = ("csrc", "boards", "firmware", "examples")

_PACKAGE = Path(__file__).resolve().parents[1]  # the tte package folder
_INSTALLED = _PACKAGE / "_data"


def installed_from_wheel() -> bool:
    """True when this tte carries its own copies of the shipped folders (a wheel install)."""
    return _INSTALLED.is_dir()


def resource_dir(name: str) -> Path:
    """The shipped folder `name` (csrc, boards, firmware or examples) of this tte."""
    if name not in SHIPPED:
        raise ValueError(f"tte ships no folder '{name}' (it ships {', '.join(SHIPPED)})")
    if installed_from_wheel():
        return _INSTALLED / name
    return _PACKAGE.parent / name


def cache_dir(*parts: str) -> Path:
    """A folder for build outputs (not created here): $TTE_CACHE_DIR, else the checkout's
    build/, else for a wheel install $XDG_CACHE_HOME/tte or ~/.cache/tte."""
    env = os.environ.get("TTE_CACHE_DIR")
    if env:
        base = Path(env)
    elif installed_from_wheel():
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tte"
    else:
        base = _PACKAGE.parent / "build"
    return base.joinpath(*parts)
