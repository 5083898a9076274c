"""A compiled model as a self-contained C library folder (`tte package DIR -o PKG`).

    write_package("build/m", "build/m-lib")    # a `tte compile` output folder -> a C package

The package builds on its own, outside the tte checkout:

    PKG/README.md  Makefile  CMakeLists.txt     plain make (host, or CROSS=arm-none-eabi- CPU=...), CMake
    PKG/library.properties  library.json       Arduino library (1.5 format) and PlatformIO library
    PKG/src/<name>.c  <name>.h                 the generated model (the public header, at src/'s top)
    PKG/src/tte/**.h                           the kernel headers (internal ones included)
    PKG/src/tte_kernels/*.c                    exactly the csrc/ kernel files the model calls
    PKG/examples/<name>/<name>.ino             an Arduino sketch; its C part tte_app.c/.h is
    PKG/examples/<name>/tte_app.c  tte_app.h   plain C shared with the host program
    PKG/extras/host_main.c                     the host program: train on samples read from stdin
    PKG/zephyr/module.yml  CMakeLists.txt  Kconfig   a Zephyr module

The kernel files are found from the calls in the generated source: every csrc/src file that
defines a called ``tte_*`` function, then the files those call (their own text and the
internal headers they include), until nothing new is called. The package is written
through tte.outputs: a new folder, or tte's own (``force``); files of others in it are kept.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tte.errors import TteError
from tte.outputs import output_dir
from tte.targets import cbuild
from tte.targets.boards import Board, get_board

TEMPLATES = Path(__file__).resolve().parents[1] / "data" / "cpackage"
KERNEL_DIR = "tte_kernels"
# Numerics contract of every build (tte.targets.cbuild, tte.targets.firmware): no FMA contraction,
# no fast-math, so host and board train bit-identically.
NUMERICS_FLAGS = "-ffp-contract=off -fno-fast-math"
# The FPU of each core when its board is not the one compiled for (the Makefile's defaults).
CORE_FPU = {"cortex-m0plus": "", "cortex-m0": "", "cortex-m3": "", "cortex-m4": "fpv4-sp-d16",
            "cortex-m7": "fpv5-d16", "cortex-m33": "fpv5-sp-d16", "cortex-m55": "auto"}
ARDUINO_CATEGORY = "Data Processing"

_CALL = re.compile(r"\b(tte_[A-Za-z0-9_]+)\s*\(")
_DEF = re.compile(r"^(?!static\b)[A-Za-z_][\w \t\*]*?\b(tte_[A-Za-z0-9_]+)\s*\(", re.M)
_INCLUDE = re.compile(r'^\s*#\s*include\s+"(tte/[^"]+)"', re.M)
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)


def csrc_dir() -> Path:
    """Where the runtime C sources are (tte.targets.cbuild's CSRC)."""
    return cbuild.CSRC


@dataclass(frozen=True)
class CompiledModel:
    """What a package is made from: a `tte compile` output folder's files."""

    name: str
    source: str
    header: str
    report: dict[str, Any]

    @classmethod
    def from_dir(cls, folder: str | Path) -> CompiledModel:
        d = Path(folder)
        rp = d / "report.json"
        if not rp.is_file():
            raise TteError("not a tte compile output (no report.json)", file=str(d))
        try:
            report = json.loads(rp.read_text())
            name = str(report["name"])
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise TteError(f"report.json does not describe a compiled model ({e})", file=str(rp)) from None
        c, h = d / f"{name}.c", d / f"{name}.h"
        for p in (c, h):
            if not p.is_file():
                raise TteError(f"the compiled model's {p.name} is missing (compiled without C?)", file=str(d))
        return cls(name, c.read_text(), h.read_text(), report)


def _kernel_text(path: Path, include: Path) -> str:
    """A kernel file's text with the tte/internal headers it includes (their helpers call too)."""
    text = _COMMENT.sub(" ", path.read_text())   # a function named in a comment is not a call
    seen: set[str] = set()
    todo = _INCLUDE.findall(text)
    while todo:
        inc = todo.pop()
        if inc in seen or not inc.startswith("tte/internal/"):
            continue
        seen.add(inc)
        body = _COMMENT.sub(" ", (include / inc).read_text())
        text += "\n" + body
        todo += _INCLUDE.findall(body)
    return text


def kernels_used(source: str, csrc: Path | None = None) -> list[Path]:
    """The csrc/src files that ``source`` (generated C) needs: those defining the ``tte_*``
    functions it calls, closed over the calls of the files taken."""
    root = csrc or csrc_dir()
    files = sorted((root / "src").glob("*.c"))
    texts = {f: _kernel_text(f, root / "include") for f in files}
    definer: dict[str, Path] = {}
    for f in files:
        text = f.read_text()
        for m in _DEF.finditer(text):
            # a definition's parameter list is followed by its body, a declaration's by ";"
            end = min((i for i in (text.find("{", m.end()), text.find(";", m.end())) if i >= 0), default=-1)
            if end >= 0 and text[end] == "{":
                definer.setdefault(m.group(1), f)
    taken: set[Path] = set()
    todo = set(_CALL.findall(source))
    seen: set[str] = set()
    while todo:
        fn = todo.pop()
        seen.add(fn)
        f = definer.get(fn)
        if f is None or f in taken:
            continue
        taken.add(f)
        todo |= set(_CALL.findall(texts[f])) - seen
    return sorted(taken)


def _fill(template: str, values: dict[str, str]) -> str:
    text = (TEMPLATES / template).read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    left = re.findall(r"@[A-Z_]+@", text)
    if left:
        raise TteError(f"package template {template} has unfilled {', '.join(sorted(set(left)))}")
    return text


def arduino_name(name: str) -> str:
    """The library name (Arduino: letters, digits, space _ . -; starts with a letter or digit;
    at most 63 characters; "Arduino..." is reserved for Arduino's own)."""
    out = re.sub(r"[^A-Za-z0-9_.\-]", "_", name).lstrip("_.-") or "model"
    if out.lower().startswith("arduino"):
        out = "tte_" + out
    return out[:63]


def _check_meta(version: str, author: str, url: str) -> None:
    if not re.fullmatch(r"(0|[1-9]\d*)\.(0|[1-9]\d*)(\.(0|[1-9]\d*))?", version):
        raise TteError(f"library version '{version}' is not MAJOR.MINOR.PATCH (semver, as Arduino requires)")
    for what, value in (("author", author), ("url", url)):
        if not value.strip() or any(ch in value for ch in "\r\n\"\\"):
            raise TteError(f"library {what} must be one line without quotes or backslashes, got {value!r}")


def package_files(model: CompiledModel, *, version: str = "1.0.0", author: str = "tte user",
                  url: str = "https://example.invalid/tte-model") -> dict[str, str]:
    """Relative path -> text of every file of the package."""
    _check_meta(version, author, url)
    csrc = csrc_dir()
    name = model.name
    kernels = kernels_used(model.source, csrc)
    board: Board | None
    try:
        board = get_board(str(model.report.get("board", "")))
    except TteError:
        board = None
    cpu = board.core if board is not None else "cortex-m4"
    fpu = (board.fpu if board is not None else CORE_FPU.get(cpu, "")) or ""
    kernel_list = " ".join(f"src/{KERNEL_DIR}/{k.name}" for k in kernels)
    values = {
        "NAME": name, "LIBNAME": arduino_name(name), "VERSION": version, "AUTHOR": author, "URL": url,
        "BOARD": str(model.report.get("board", "")), "SCHEME": str(model.report.get("scheme", "")),
        "CPU": cpu, "BOARD_FPU": fpu, "NUMERICS_FLAGS": NUMERICS_FLAGS, "KERNELS": kernel_list,
        "KERNEL_COUNT": str(len(kernels)), "CATEGORY": ARDUINO_CATEGORY,
        "PEAK_SRAM": f"{int(model.report.get('peak_sram_bytes', 0)):,}",
        "FLASH": f"{int(model.report.get('flash_bytes', 0)):,}",
        "NUMERICS_JSON": json.dumps(NUMERICS_FLAGS.split()),
    }
    files: dict[str, str] = {
        f"src/{name}.c": model.source,
        f"src/{name}.h": model.header,
        "README.md": _fill("README.md.in", values),
        "Makefile": _fill("Makefile.in", values),
        "CMakeLists.txt": _fill("CMakeLists.txt.in", values),
        "library.properties": _fill("library.properties.in", values),
        "library.json": _fill("library.json.in", values),
        f"examples/{name}/{name}.ino": _fill("sketch.ino.in", values),
        f"examples/{name}/tte_app.h": _fill("tte_app.h.in", values),
        f"examples/{name}/tte_app.c": _fill("tte_app.c.in", values),
        "extras/host_main.c": _fill("host_main.c.in", values),
        "zephyr/module.yml": _fill("zephyr_module.yml.in", values),
        "zephyr/CMakeLists.txt": _fill("zephyr_CMakeLists.txt.in", values),
        "zephyr/Kconfig": _fill("zephyr_Kconfig.in", values),
    }
    for k in kernels:
        files[f"src/{KERNEL_DIR}/{k.name}"] = k.read_text()
    include = csrc / "include"
    for h in sorted(include.rglob("*.h")):
        files[f"src/{h.relative_to(include).as_posix()}"] = h.read_text()
    json.loads(files["library.json"])   # a template error must not ship
    return files


def write_package(compile_dir: str | Path, out: str | Path, *, force: bool = False, **meta: str) -> list[str]:
    """Write the package of the model compiled into ``compile_dir`` to ``out``; return its files."""
    model = CompiledModel.from_dir(compile_dir)
    if model.report.get("inference_only"):
        # the package's host program and sketch train: they need tte_train_step
        raise TteError("an inference-only compile (scheme none) has no training step for the package's "
                       "examples; compile with a training scheme to package it", file=str(compile_dir))
    files = package_files(model, **meta)
    with output_dir(out, command="package", force=force, nested=True) as stage:
        for rel, text in files.items():
            path = stage / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    return sorted(files)
