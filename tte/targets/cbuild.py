"""Compile C sources (the csrc/ kernels, plus generated code) into a host shared library.

The library is built with the host gcc and the flags of the numerics contract
(``-std=c99 -Wall -Wextra -Werror -ffp-contract=off``, no ``-ffast-math``), cached under
``build/cbuild/<hash>/`` by a hash of the compiler, the flags and the content of every
source and header (each source's object file is cached too, so the kernels compile once),
and loaded with cffi in ABI mode. The cffi declarations come from the
headers themselves, preprocessed with ``-DTTE_CDEF`` (which hides includes and inline
helpers), so headers stay the single source of the kernel interface.

``sanitize=True`` adds AddressSanitizer and UndefinedBehaviorSanitizer. Such a library can
only be loaded into a process that has the ASan runtime preloaded: run it in a subprocess
with ``sanitizer_env()``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tte.errors import TteError
from tte.targets.paths import cache_dir, resource_dir

CSRC = resource_dir("csrc")
INCLUDE = CSRC / "include"
BUILD = cache_dir("cbuild")

CC = os.environ.get("TTE_CC", "gcc")
CFLAGS = ("-std=c99", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", "-fno-fast-math",
          "-O2", "-fPIC", "-shared")
SANITIZE_FLAGS = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer",
                  "-O1", "-g")


class BuildError(TteError):
    """The C compiler rejected the sources (message carries its diagnostics)."""


def kernel_sources() -> list[Path]:
    """Every kernel source file of csrc/, sorted."""
    return sorted((CSRC / "src").glob("*.c"))


def kernel_headers() -> list[Path]:
    """The public kernel headers (the cffi declarations); tte/internal/ (helpers shared by kernel
    files) stays out."""
    return sorted((INCLUDE / "tte").glob("*.h"))


def _run(cmd: Sequence[str], what: str) -> str:
    proc = subprocess.run(list(cmd), capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"{what} failed ({' '.join(cmd[:3])} ...):\n{proc.stderr.strip()[-4000:]}")
    return proc.stdout


def cdef_from_headers(headers: Iterable[Path], include_dirs: Sequence[Path] = ()) -> str:
    """cffi declarations of ``headers``: the preprocessed text with TTE_CDEF defined."""
    lines = [f'#include "{Path(h).resolve()}"' for h in headers]
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "cdef.h"
        src.write_text("\n".join(lines) + "\n")
        incs = [f"-I{d}" for d in (INCLUDE, *include_dirs)]
        return _run([CC, "-E", "-P", "-DTTE_CDEF", *incs, str(src)], "cdef preprocessing")


def kernel_cdef() -> str:
    return cdef_from_headers(kernel_headers())


def _compiler_id() -> str:
    return _run([CC, "--version"], "compiler probe").splitlines()[0]


def _atomic_output(out: Path, cmd: Callable[[str], list[str]], what: str) -> None:
    """Run ``cmd(tmp)`` writing a temporary file next to ``out``, then rename it into place
    (atomic: concurrent builders of the same key agree; a failed build leaves nothing)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=out.suffix, dir=out.parent)
    os.close(fd)
    try:
        _run(cmd(tmp), what)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _object(src: Path, flags: Sequence[str], incs: Sequence[Path], context: bytes) -> Path:
    """``src`` compiled to an object file, cached by its content and ``context`` (compiler,
    flags, headers): the kernels compile once and each generated model only adds its own file."""
    h = hashlib.sha256(context)
    h.update(str(src).encode() + b"\0" + src.read_bytes())
    obj = BUILD / "obj" / f"{src.stem}-{h.hexdigest()[:20]}.o"
    if not obj.exists():
        _atomic_output(obj, lambda tmp: [CC, *flags, *(f"-I{d}" for d in incs), "-c", str(src), "-o", tmp],
                       f"compiling {src.name}")
    return obj


def build_library(sources: Sequence[Path], *, include_dirs: Sequence[Path] = (),
                  extra_cflags: Sequence[str] = (), sanitize: bool = False, name: str = "tte") -> Path:
    """Compile ``sources`` into one shared library; return its (cached) path."""
    incs = [INCLUDE, *(Path(d) for d in include_dirs)]
    flags = [*CFLAGS, *(SANITIZE_FLAGS if sanitize else ()), *extra_cflags]
    def context(dirs: Sequence[Path]) -> bytes:
        ctx = hashlib.sha256()
        ctx.update(_compiler_id().encode())
        ctx.update("\0".join(flags).encode())
        for path in sorted({p.resolve() for d in dirs for p in Path(d).rglob("*.h")}):
            ctx.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
        return ctx.digest()

    full, kernels_only = context(incs), context([INCLUDE])
    srcs = sorted({Path(s).resolve() for s in sources})
    h = hashlib.sha256(full)
    for path in srcs:
        h.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    lib = BUILD / h.hexdigest()[:20] / f"lib{name}.so"
    if lib.exists():
        return lib

    def obj(src: Path) -> Path:
        # csrc/ kernels see only csrc/include: their objects are shared by every model
        kernel = src.is_relative_to(CSRC.resolve())
        return _object(src, flags, [INCLUDE] if kernel else incs, kernels_only if kernel else full)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        objs = list(pool.map(obj, srcs))
    _atomic_output(lib, lambda tmp: [CC, *flags, *(str(o) for o in objs), "-o", tmp], f"linking {name}")
    return lib


def load(extra_sources: Sequence[Path] = (), *, extra_cdef: str = "", include_dirs: Sequence[Path] = (),
         extra_cflags: Sequence[str] = (), sanitize: bool = False, name: str = "tte") -> tuple[Any, Any]:
    """Build csrc/ plus ``extra_sources`` and return ``(ffi, lib)`` for cffi ABI-mode calls."""
    from cffi import FFI

    lib_path = build_library([*kernel_sources(), *extra_sources], include_dirs=include_dirs,
                             extra_cflags=extra_cflags, sanitize=sanitize, name=name)
    ffi = FFI()
    ffi.cdef(kernel_cdef())
    if extra_cdef:
        ffi.cdef(extra_cdef)
    return ffi, ffi.dlopen(str(lib_path))


def sanitizer_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a subprocess that loads a ``sanitize=True`` library."""
    env = dict(os.environ if base is None else base)
    runtimes = []
    for rt in ("libasan.so", "libubsan.so"):
        p = _run([CC, f"-print-file-name={rt}"], "runtime lookup").strip()
        if not os.path.isabs(p):
            raise BuildError(f"{CC} has no {rt}; install the sanitizer runtimes")
        runtimes.append(p)
    env["LD_PRELOAD"] = ":".join(runtimes)
    env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=1:allocator_may_return_null=1"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    return env
