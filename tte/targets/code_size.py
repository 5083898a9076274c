"""The flash code size of a compiled model: its generated C plus every kernel, as .text bytes
of arm-none-eabi-gcc objects built with the firmware's flags.

A kernel's size does not depend on the model: each is kept in the user cache
(``tte.training.contribution.cache_dir()/code-size``) under a key of everything it depends on.
What the cache lacks is compiled in the background, at most one compiler per core, from the
moment ``prefetch_code_size`` is called (``tte compile`` calls it before it loads the model), so
that a first compile on a fresh machine builds the kernels while the compiler plans;
``measure_code_size`` waits for what is still running. Compilers still running when Python
exits (a compile that failed on its budget) are killed; the sizes already known stay cached.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tte.errors import TteError
from tte.targets.boards import Board
from tte.targets.firmware import CFLAGS, CSRC_DIR

_INCLUDE = re.compile(r'#\s*include\s*[<"]([^>"]+)[>"]')
# a byte array of the generated C with its values in decimal (tte.compiler.codegen._c_array)
_BYTE_ARRAY = re.compile(r"^((?:static )?(?:const )?u?int8_t \w+\[(\d+)\] = )\{([-0-9,\s]*)\};$", re.MULTILINE)


def size_flags(board: Board) -> list[str]:
    """The firmware's flags (``CFLAGS``) without ``-g``: debug information changes no instruction
    (gcc generates the same code with and without it; tests/test_code_size.py checks the sizes
    against objects built with ``-g``) and costs about a quarter of a kernel's compile time."""
    return [*board.gcc_flags(), *(f for f in CFLAGS if f != "-g")]


def _section_bytes(size: str, obj: str, sections: tuple[str, ...] = (".text",)) -> int:
    """The bytes of one object file's sections whose names start with one of ``sections``
    (``arm-none-eabi-size -A``); .text* by default."""
    r = subprocess.run([size, "-A", obj], capture_output=True, text=True, check=True)
    total = 0
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(sections) and parts[1].isdigit():
            total += int(parts[1])
    return total


@functools.cache
def _tool_version(tool: str) -> str:
    r = subprocess.run([tool, "--version"], capture_output=True, text=True, check=False)
    return f"{tool}\n{r.stdout}"


def _kernels() -> list[Path]:
    return sorted((CSRC_DIR / "src").glob("*.c"))


def _included_names() -> set[str]:
    """Every file name a kernel source or csrc header includes."""
    return {m for p in [*_kernels(), *(CSRC_DIR / "include").rglob("*.h")] for m in _INCLUDE.findall(p.read_text())}


def _kernel_cache_keys(gcc: str, flags: list[str], shadowing: dict[str, str]) -> dict[Path, str]:
    """What each kernel object's .text size depends on: the compiler, the flags, the source, every
    csrc header, and any generated file a kernel could include in their place (a model named
    ``string`` writes ``string.h``, which ``#include <string.h>`` would find first)."""
    headers = hashlib.sha256()
    for p in sorted((CSRC_DIR / "include").rglob("*")):
        if p.is_file():
            headers.update(str(p.relative_to(CSRC_DIR)).encode() + b"\0" + p.read_bytes())
    keys = {}
    for src in _kernels():
        h = hashlib.sha256(json.dumps([_tool_version(gcc), flags, src.name, sorted(shadowing.items())]).encode())
        h.update(src.read_bytes())
        h.update(headers.digest())
        keys[src] = h.hexdigest()[:32]
    return keys


def _cache() -> Path | None:
    from tte.training.contribution import cache_dir

    try:
        return cache_dir() / "code-size"
    except RuntimeError:  # no home directory to find the cache in: build every kernel
        return None


def _read_cached(cache: Path | None, key: str) -> int | None:
    if cache is None:
        return None
    try:
        return int((cache / key).read_text())
    except (OSError, ValueError):
        return None


def _write_cached(cache: Path | None, key: str, n: int) -> None:
    if cache is None or _read_cached(cache, key) == n:
        return
    try:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = cache / f".{key}.{os.getpid()}.{threading.get_ident()}"
        tmp.write_text(str(n))
        tmp.replace(cache / key)
    except OSError:
        pass  # an unwritable cache only costs the next compile its time


@dataclass
class _Job:
    key: str
    cmd: list[str]
    obj: Path
    size_tool: str
    cost: int          # the source's bytes: the longest compiles start first
    cache: Path | None


class _Builds:
    """Kernel objects compiled in the background for their .text size, at most one compiler per
    core; each size is cached as soon as it is known. ``close`` (at exit) kills what still runs."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queue: list[_Job] = []
        self._pending: set[str] = set()                      # queued or running
        self._results: dict[str, tuple[int, str | None]] = {}  # key -> (.text bytes, compiler error)
        self._procs: set[subprocess.Popen[str]] = set()
        self._workers = 0
        self._dir: Path | None = None
        self._closed = False

    def submit(self, key: str, src: Path, gcc: str, size_tool: str, flags: list[str], includes: list[str],
               cache: Path | None) -> None:
        with self._cond:
            if self._closed or key in self._pending or key in self._results:
                return
            if self._dir is None:
                self._dir = Path(tempfile.mkdtemp(prefix="tte-code-size-"))
                atexit.register(self.close)
            obj = self._dir / f"{key}.o"
            cmd = [gcc, *flags, *(a for d in includes for a in ("-I", d)), "-c", str(src), "-o", str(obj)]
            self._queue.append(_Job(key, cmd, obj, size_tool, src.stat().st_size, cache))
            self._queue.sort(key=lambda j: -j.cost)
            self._pending.add(key)
            if self._workers < (os.cpu_count() or 1):
                self._workers += 1
                threading.Thread(target=self._work, name="tte-code-size", daemon=True).start()

    def result(self, key: str) -> tuple[int, str | None]:
        """(.text bytes, None) or (0, the compiler's error) of a submitted kernel, once built."""
        with self._cond:
            while key not in self._results:
                if self._closed or key not in self._pending:
                    raise RuntimeError(f"kernel object {key} was never built")
                self._cond.wait()
            return self._results[key]

    def _work(self) -> None:
        while (job := self._next()) is not None:
            result = self._build(job)
            with self._cond:
                self._pending.discard(job.key)
                self._results[job.key] = result
                self._cond.notify_all()

    def _next(self) -> _Job | None:
        with self._cond:
            if self._closed or not self._queue:
                self._workers -= 1
                return None
            return self._queue.pop(0)

    def _build(self, job: _Job) -> tuple[int, str | None]:
        with self._cond:  # started under the lock, so that close() sees every compiler it must kill
            if self._closed:
                return 0, "stopped"
            try:
                # a session of its own: close() kills cc1 and as with the driver
                proc = subprocess.Popen(job.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        start_new_session=os.name == "posix")
            except OSError as e:
                return 0, str(e)
            self._procs.add(proc)
        try:
            _, err = proc.communicate()
            if proc.returncode != 0:
                return 0, err.strip()[:2000] or f"exit status {proc.returncode}"
            n = _section_bytes(job.size_tool, str(job.obj))
        except (OSError, subprocess.CalledProcessError) as e:
            return 0, str(e)
        finally:
            with self._cond:
                self._procs.discard(proc)
            job.obj.unlink(missing_ok=True)
        _write_cached(job.cache, job.key, n)
        return n, None

    def close(self) -> None:
        """Stop: nothing queued starts, running compilers (with their cc1 and as) are killed."""
        with self._cond:
            self._closed = True
            self._queue.clear()
            procs = list(self._procs)
            self._cond.notify_all()
        for p in procs:
            try:
                if os.name == "posix":
                    os.killpg(p.pid, signal.SIGKILL)
                else:
                    p.kill()
            except OSError:
                pass
        for p in procs:
            p.wait()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)


_BUILDS = _Builds()


def _forget_builds_in_child() -> None:
    """A forked child has none of the parent's compilers: it must neither wait for their results
    nor kill them (or remove their folder) when it exits."""
    global _BUILDS
    atexit.unregister(_BUILDS.close)
    _BUILDS = _Builds()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_builds_in_child)


def byte_arrays_as_strings(c: str) -> str:
    """``c`` with every int8/uint8 array initialized by a string literal of its bytes (``\\xNN``
    each) in place of its list of values: the same object (tests/test_code_size.py compares
    them), which gcc parses in about half the time, as the weights are most of a model's C."""
    def literal(m: re.Match[str]) -> str:
        vals = np.fromstring(m.group(3), dtype=np.int64, sep=",")
        if vals.size != int(m.group(2)) or vals.size == 0 or vals.min() < -128 or vals.max() > 255:
            return m.group(0)
        chars = np.empty((vals.size, 4), np.uint8)
        chars[:, 0], chars[:, 1] = ord("\\"), ord("x")
        chars[:, 2:] = _HEX[(vals & 0xFF).astype(np.uint8)]
        return f'{m.group(1)}"{chars.tobytes().decode()}";'
    return _BYTE_ARRAY.sub(literal, c)


_HEX = np.array([[ord(c) for c in f"{v:02x}"] for v in range(256)], np.uint8)


def _tools() -> tuple[str, str] | None:
    gcc, size = shutil.which("arm-none-eabi-gcc"), shutil.which("arm-none-eabi-size")
    return (gcc, size) if gcc and size else None


def prefetch_code_size(board: Board, name: str) -> None:
    """Start building, in the background, the kernels whose sizes the cache lacks, for a model
    that will be generated as ``name``.c/.h; nothing when no ARM compiler is installed, or when
    those names shadow a file the kernels include (their sizes then depend on the generated text)."""
    tools = _tools()
    if tools is None or {f"{name}.c", f"{name}.h"} & _included_names():
        return
    gcc, size = tools
    flags = size_flags(board)
    cache = _cache()
    for src, key in _kernel_cache_keys(gcc, flags, {}).items():
        if _read_cached(cache, key) is None:
            _BUILDS.submit(key, src, gcc, size, flags, [str(CSRC_DIR / "include")], cache)


def measure_code_size(sources: dict[str, str], name: str, board: Board, data_bytes: int = 0) -> int | None:
    """Bytes of flash beside the weight data for the board's core, compiled with the firmware's
    flags (``size_flags``): every kernel's machine code (.text) and the generated C's object whole
    (its code, and its .rodata and .data less ``data_bytes``, the weight and layout data the
    compiler's report counts: what stays is the model's own tables, the output stages'
    multipliers and shifts, the update factors); None when no ARM compiler is installed. Every
    kernel counts, linked or not, so the figure errs high by the ones a model does not call.
    Kernel sizes come from the cache, from builds that ``prefetch_code_size`` started, or are
    built now, beside the model's own C."""
    tools = _tools()
    if tools is None:
        return None
    gcc, size = tools
    flags = size_flags(board)
    included = _included_names()
    shadowing = {k: hashlib.sha256(v.encode()).hexdigest() for k, v in sources.items() if k in included}
    cache = _cache()
    keys = _kernel_cache_keys(gcc, flags, shadowing)
    sizes = {src: n for src, key in keys.items() if (n := _read_cached(cache, key)) is not None}
    with tempfile.TemporaryDirectory() as d:
        for k, v in sources.items():
            Path(d, k).write_text(byte_arrays_as_strings(v) if k == f"{name}.c" else v)
        # the generated files are on the kernels' include path only where their keys cover them
        includes = [d, str(CSRC_DIR / "include")] if shadowing else [str(CSRC_DIR / "include")]
        missing = [src for src in keys if src not in sizes]
        for src in missing:
            _BUILDS.submit(keys[src], src, gcc, size, flags, includes, cache)
        obj = Path(d, "model.o")
        r = subprocess.run([gcc, *flags, "-I", d, "-I", str(CSRC_DIR / "include"), "-c", str(Path(d, f"{name}.c")),
                            "-o", str(obj)], capture_output=True, text=True, check=False)
        if r.returncode == 0:
            tables = _section_bytes(size, str(obj), (".rodata", ".data")) - data_bytes
            model: tuple[int, str | None] = (_section_bytes(size, str(obj)) + max(0, tables), None)
        else:
            model = (0, r.stderr.strip()[:2000])
        built = [(Path(d, f"{name}.c"), *model)] + [(src, *_BUILDS.result(keys[src])) for src in missing]
    for s, _, err in built:  # the first failure in source order, as a sequential build reports it
        if err is not None:
            raise TteError(f"arm-none-eabi-gcc failed on {s.name}: {err}")
    for s, n, _ in built[1:]:
        sizes[s] = n
        _write_cached(cache, keys[s], n)
    return model[0] + sum(sizes.values())
