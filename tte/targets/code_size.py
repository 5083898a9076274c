"""The flash code size of a compiled model: its generated C plus the kernels it can link, as
.text bytes of arm-none-eabi-gcc objects built with the firmware's flags.

A kernel object's size and symbols do not depend on the model: each is kept in the user cache
(``tte.training.contribution.cache_dir()/code-size``) under a key of everything it depends on.
What the cache lacks is compiled in the background from the moment ``prefetch_code_size`` is
called (``tte compile`` calls it before it loads the model), so that a first compile on a fresh
machine builds the kernels while the compiler plans, one compiler per core but the compiler's
own until ``measure_code_size``, then one per core;
``measure_code_size`` waits for the ones the model links and drops the others from the queue.
Compilers still running when Python exits (a compile that failed on its budget, a kernel the model
does not link) are killed; the sizes already known stay cached.
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tte.errors import TteError
from tte.targets.boards import Board
from tte.targets.firmware import CFLAGS, CSRC_DIR

_INCLUDE = re.compile(r'#\s*include\s*[<"]([^>"]+)[>"]')
_WORD = re.compile(r"[A-Za-z_]\w*")
KERNEL_PREFIX = "tte_"   # of every global symbol a kernel defines
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


def _cores() -> int:
    return os.cpu_count() or 1


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
        h = hashlib.sha256(json.dumps([_tool_version(gcc), flags, src.name, sorted(shadowing.items()),
                                       "text+symbols"]).encode())
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


@dataclass(frozen=True)
class KernelObject:
    """What a kernel's object gives the code size: its .text bytes, the global symbols it defines
    and the ones it takes from elsewhere (``arm-none-eabi-nm -g``)."""
    text: int
    defined: frozenset[str]
    undefined: frozenset[str]

    def to_json(self) -> str:
        return json.dumps({"text": self.text, "defined": sorted(self.defined), "undefined": sorted(self.undefined)})

    @staticmethod
    def from_json(s: str) -> KernelObject:
        d = json.loads(s)
        return KernelObject(int(d["text"]), frozenset(d["defined"]), frozenset(d["undefined"]))


def _read_cached(cache: Path | None, key: str) -> KernelObject | None:
    if cache is None:
        return None
    try:
        return KernelObject.from_json((cache / key).read_text())
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _write_cached(cache: Path | None, key: str, obj: KernelObject) -> None:
    if cache is None or _read_cached(cache, key) == obj:
        return
    try:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = cache / f".{key}.{os.getpid()}.{threading.get_ident()}"
        tmp.write_text(obj.to_json())
        tmp.replace(cache / key)
    except OSError:
        pass  # an unwritable cache only costs the next compile its time


def _symbols(nm: str, obj: str) -> tuple[frozenset[str], frozenset[str]]:
    """The global symbols an object defines and the ones it leaves undefined."""
    r = subprocess.run([nm, "-g", "-P", obj], capture_output=True, text=True, check=True)
    defined, undefined = set(), set()
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            (undefined if parts[1] in ("U", "w", "v") else defined).add(parts[0])
    return frozenset(defined), frozenset(undefined)


@dataclass
class _Job:
    key: str
    cmd: list[str]
    obj: Path
    tools: tuple[str, str]   # arm-none-eabi-size, arm-none-eabi-nm
    cost: int          # the source's bytes: the longest compiles start first
    cache: Path | None


class _Builds:
    """Kernel objects compiled in the background for their .text size and symbols, at most one
    compiler per core; each is cached as soon as it is known. ``drop`` takes queued ones off the
    queue; ``close`` (at exit) kills what still runs."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queue: list[_Job] = []
        self._pending: set[str] = set()                      # queued or running
        self._results: dict[str, tuple[KernelObject | None, str | None]] = {}  # key -> (object, compiler error)
        self._procs: set[subprocess.Popen[str]] = set()
        self._dropped: set[str] = set()                      # taken off the queue: not queued again unless asked
        self._workers = 0
        self._limit = _cores()                               # compilers at most at once
        self._dir: Path | None = None
        self._closed = False

    def submit(self, key: str, src: Path, gcc: str, tools: tuple[str, str], flags: list[str], includes: list[str],
               cache: Path | None, again: bool = False) -> None:
        """Queues a build of ``src`` under ``key``, unless it is queued, running or done, or was
        dropped (then only ``again``)."""
        with self._cond:
            if (self._closed or key in self._pending or key in self._results
                    or (key in self._dropped and not again)):
                return
            if self._dir is None:
                self._dir = Path(tempfile.mkdtemp(prefix="tte-code-size-"))
                atexit.register(self.close)
            obj = self._dir / f"{key}.o"
            cmd = [gcc, *flags, *(a for d in includes for a in ("-I", d)), "-c", str(src), "-o", str(obj)]
            self._queue.append(_Job(key, cmd, obj, tools, src.stat().st_size, cache))
            self._queue.sort(key=lambda j: -j.cost)
            self._pending.add(key)
            self._start_workers()

    def limit(self, n: int) -> None:
        """At most ``n`` compilers at once from now on (running ones finish)."""
        with self._cond:
            self._limit = max(1, n)
            self._start_workers()

    def _start_workers(self) -> None:
        while self._workers < min(self._limit, len(self._queue)):
            self._workers += 1
            threading.Thread(target=self._work, name="tte-code-size", daemon=True).start()

    def drop(self, keys: set[str]) -> None:
        """Takes the queued builds of ``keys`` off the queue (running ones go on, to the cache)."""
        with self._cond:
            gone = {j.key for j in self._queue if j.key in keys}
            self._queue = [j for j in self._queue if j.key not in gone]
            self._pending -= gone
            self._dropped |= gone

    def first(self, keys: set[str]) -> None:
        """Moves the queued builds of ``keys`` ahead of the others (the longest first still)."""
        with self._cond:
            self._queue.sort(key=lambda j: (j.key not in keys, -j.cost))

    def done(self, key: str) -> bool:
        """Whether the build of ``key`` has ended."""
        with self._cond:
            return key in self._results

    def result(self, key: str) -> tuple[KernelObject | None, str | None]:
        """(the object, None) or (None, the compiler's error) of a submitted kernel, once built."""
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
            if self._closed or not self._queue or self._workers > self._limit:
                self._workers -= 1
                return None
            return self._queue.pop(0)

    def _build(self, job: _Job) -> tuple[KernelObject | None, str | None]:
        with self._cond:  # started under the lock, so that close() sees every compiler it must kill
            if self._closed:
                return None, "stopped"
            try:
                # a session of its own: close() kills cc1 and as with the driver
                proc = subprocess.Popen(job.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        start_new_session=os.name == "posix")
            except OSError as e:
                return None, str(e)
            self._procs.add(proc)
        try:
            _, err = proc.communicate()
            if proc.returncode != 0:
                return None, err.strip()[:2000] or f"exit status {proc.returncode}"
            o = KernelObject(_section_bytes(job.tools[0], str(job.obj)), *_symbols(job.tools[1], str(job.obj)))
        except (OSError, subprocess.CalledProcessError) as e:
            return None, str(e)
        finally:
            with self._cond:
                self._procs.discard(proc)
            job.obj.unlink(missing_ok=True)
        _write_cached(job.cache, job.key, o)
        return o, None

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


def _tools() -> tuple[str, tuple[str, str]] | None:
    """arm-none-eabi-gcc and (arm-none-eabi-size, arm-none-eabi-nm), or None."""
    gcc, size, nm = (shutil.which(f"arm-none-eabi-{t}") for t in ("gcc", "size", "nm"))
    return (gcc, (size, nm)) if gcc and size and nm else None


def prefetch_code_size(board: Board, name: str) -> None:
    """Start building, in the background, the kernels whose sizes the cache lacks, for a model
    that will be generated as ``name``.c/.h; nothing when no ARM compiler is installed, or when
    those names shadow a file the kernels include (their sizes then depend on the generated text)."""
    tools = _tools()
    if tools is None or {f"{name}.c", f"{name}.h"} & _included_names():
        return
    gcc, objtools = tools
    flags = size_flags(board)
    cache = _cache()
    # a core is the compiler's, which plans meanwhile (measure_code_size, which waits, takes it):
    # the builds that have not started when the model's calls are known can still be dropped
    _BUILDS.limit(_cores() - 1)
    for src, key in _kernel_cache_keys(gcc, flags, {}).items():
        if _read_cached(cache, key) is None:
            _BUILDS.submit(key, src, gcc, objtools, flags, [str(CSRC_DIR / "include")], cache)


def build_kernel_sizes(boards: Sequence[Board], seen: set[str] | None = None) -> dict[str, int]:
    """Compiles, for each of ``boards``' flags, every kernel whose size the cache lacks, as a
    toolchain builds its runtime library once at install (``make setup`` runs it through ``tte
    kernel-sizes``), so that a first ``tte compile`` finds them all; the cache's keys cover
    every byte a size depends on, so nothing goes stale. Kernels whose keys are in ``seen``
    (which gets this call's keys) are skipped: boards of one core and flags share them.
    Returns how many were built, found in the cache, and skipped as shared ({"built": n,
    "cached": m, "shared": k}); raises TteError when the ARM compiler is missing, the cache
    cannot be written, or a kernel does not compile."""
    tools = _tools()
    if tools is None:
        raise TteError("arm-none-eabi-gcc (with arm-none-eabi-size and -nm) is not installed: "
                       "there are no kernel sizes to build")
    cache = _cache()
    if cache is None:
        raise TteError("no cache folder for the kernel sizes: set TTE_CACHE_DIR or HOME")
    gcc, objtools = tools
    _BUILDS.limit(_cores())
    counts = {"built": 0, "cached": 0, "shared": 0}
    seen = set() if seen is None else seen
    for board in boards:
        flags = size_flags(board)
        todo: dict[str, Path] = {}
        for src, key in _kernel_cache_keys(gcc, flags, {}).items():
            if key in seen:
                counts["shared"] += 1
                continue
            seen.add(key)
            if _read_cached(cache, key) is not None:
                counts["cached"] += 1
                continue
            _BUILDS.submit(key, src, gcc, objtools, flags, [str(CSRC_DIR / "include")], cache, again=True)
            todo[key] = src
        for key, src in todo.items():
            o, err = _BUILDS.result(key)
            if o is None:
                raise TteError(f"arm-none-eabi-gcc failed on {src.name} for {board.name}: {err}")
            if _read_cached(cache, key) != o:
                raise TteError(f"could not write the size of {src.name} to the cache {cache}")
            counts["built"] += 1
    return counts


def measure_code_size(sources: dict[str, str], name: str, board: Board, data_bytes: int = 0) -> int | None:
    """Bytes of flash beside the weight data for the board's core, compiled with the firmware's
    flags (``size_flags``): the generated C's object whole (its code, and its .rodata and .data
    less ``data_bytes``, the weight and layout data the compiler's report counts: what stays is
    the model's own tables, the output stages' multipliers and shifts, the update factors) and
    the machine code (.text) of every kernel object its calls pull into a link, as from an
    archive (linked_kernels); None when no ARM compiler is installed. A linked object counts
    whole, so the figure errs high by the functions of those files that the model does not call
    (the firmware's link drops them). Kernel objects come from the cache, from builds that
    ``prefetch_code_size`` started, or are built now, beside the model's own C; the queued builds
    of kernels the model does not link are dropped."""
    tools = _tools()
    if tools is None:
        return None
    gcc, (size, nm) = tools
    _BUILDS.limit(_cores())
    flags = size_flags(board)
    included = _included_names()
    shadowing = {k: hashlib.sha256(v.encode()).hexdigest() for k, v in sources.items() if k in included}
    cache = _cache()
    keys = _kernel_cache_keys(gcc, flags, shadowing)
    known = {src: o for src, key in keys.items() if (o := _read_cached(cache, key)) is not None}
    with tempfile.TemporaryDirectory() as d:
        for k, v in sources.items():
            Path(d, k).write_text(byte_arrays_as_strings(v) if k == f"{name}.c" else v)
        # the generated files are on the kernels' include path only where their keys cover them
        includes = [d, str(CSRC_DIR / "include")] if shadowing else [str(CSRC_DIR / "include")]
        missing = [src for src in keys if src not in known]
        for src in missing:
            _BUILDS.submit(keys[src], src, gcc, (size, nm), flags, includes, cache)
        obj = Path(d, "model.o")
        r = subprocess.run([gcc, *flags, "-I", d, "-I", str(CSRC_DIR / "include"), "-c", str(Path(d, f"{name}.c")),
                            "-o", str(obj)], capture_output=True, text=True, check=False)
        if r.returncode != 0:
            raise TteError(f"arm-none-eabi-gcc failed on {name}.c: {r.stderr.strip()[:2000]}")
        tables = _section_bytes(size, str(obj), (".rodata", ".data")) - data_bytes
        model = _section_bytes(size, str(obj)) + max(0, tables)
        calls = _symbols(nm, str(obj))[1]

        def kernel(src: Path) -> KernelObject:
            if src not in known:
                _BUILDS.submit(keys[src], src, gcc, (size, nm), flags, includes, cache, again=True)
                o, err = _BUILDS.result(keys[src])
                if o is None:
                    raise TteError(f"arm-none-eabi-gcc failed on {src.name}: {err}")
                known[src] = o
                _write_cached(cache, keys[src], o)
            return known[src]

        # while the generated files are there for the kernels that include them
        linked = linked_kernels(calls, list(keys), kernel, lambda src: src in known or _BUILDS.done(keys[src]),
                                lambda srcs: _BUILDS.first({keys[src] for src in srcs}))
        _BUILDS.drop({keys[src] for src in missing if src not in linked})
    return model + sum(o.text for o in linked.values())


def _source_words(src: Path) -> frozenset[str]:
    """The identifiers a source names (read again when its time or size changes)."""
    st = src.stat()
    return _words(src, st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=256)
def _words(src: Path, mtime_ns: int, size: int) -> frozenset[str]:
    return frozenset(_WORD.findall(src.read_text()))


def linked_kernels(calls: frozenset[str], kernels: list[Path], kernel: Callable[[Path], KernelObject],
                   ready: Callable[[Path], bool] = lambda src: True,
                   want: Callable[[set[Path]], None] = lambda srcs: None) -> dict[Path, KernelObject]:
    """The kernel objects a link of an object that leaves ``calls`` undefined pulls in, as a
    linker takes the members of an archive: each object that defines a symbol still needed, with
    the symbols it needs in turn. ``kernel`` gives an object (waiting for its build if need be);
    it is asked only for the sources that name the symbol, the ``ready`` ones first, and ``want``
    hears of every source a round of symbols may ask for before the first is asked (so that their
    builds go first): every global symbol a kernel defines starts with ``tte_`` and is named in its
    source (tests/test_code_size.py checks it), so a symbol that does not (memcpy, the compiler's
    helpers) is no kernel's."""
    words = {src: _source_words(src) for src in kernels}
    linked: dict[Path, KernelObject] = {}
    todo, seen = sorted(calls), set(calls)
    while todo:
        names = {sym: [src for src in kernels if sym in words[src]] for sym in todo if sym.startswith(KERNEL_PREFIX)}
        want({src for srcs in names.values() for src in srcs if not ready(src)})
        todo = []
        for sym, srcs in names.items():
            for src in sorted(srcs, key=lambda src: not ready(src)):
                o = kernel(src)
                if sym in o.defined:
                    if src not in linked:
                        linked[src] = o
                        todo.extend(sorted(o.undefined - seen))
                        seen |= o.undefined
                    break
    return linked
