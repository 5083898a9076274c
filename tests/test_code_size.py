"""The flash code size in report.json: kernels' sizes come from the user cache after the first
compile (built in the background from prefetch_code_size on, or in measure_code_size), and
equal what arm-none-eabi-gcc and arm-none-eabi-size give for the objects built one by one with
the firmware's flags, -g included, that the linker takes from an archive of them all for the
model's object (`ld -t -t`)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import tte
from tte.compiler.analysis import analyze
from tte.compiler.codegen import generate
from tte.targets import code_size
from tte.targets.boards import get_board
from tte.targets.code_size import measure_code_size, prefetch_code_size
from tte.targets.firmware import CFLAGS, CSRC_DIR
from tte.training.data import fashion_mnist

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "fmnist_cnn.onnx"

pytestmark = [pytest.mark.skipif(not shutil.which("arm-none-eabi-gcc"), reason="needs arm-none-eabi-gcc"),
              pytest.mark.slow]  # every kernel compiled twice (~10 s of CPU)


def flash_bytes_one_by_one(sources: dict[str, str], name: str, flags: list[str], work: Path) -> int:
    """The generated C's object whole (code, tables, weights) plus the code of every kernel object
    that a link of it with an archive of them all takes (as ld reports it); each kernel object
    defines only global symbols that start with tte_ and that its source names (what
    measure_code_size's search relies on)."""
    for k, v in sources.items():
        (work / k).write_text(v)
    objects = []
    for src in [work / f"{name}.c", *sorted((CSRC_DIR / "src").glob("*.c"))]:
        objects.append(work / f"{src.stem}.o")
        subprocess.run(["arm-none-eabi-gcc", *flags, "-I", str(work), "-I", str(CSRC_DIR / "include"), "-c",
                        str(src), "-o", str(objects[-1])], check=True)
        if src.parent != work:
            words = set(re.findall(r"[A-Za-z_]\w*", src.read_text()))
            nm = subprocess.run(["arm-none-eabi-nm", "-g", "--defined-only", "-P", str(objects[-1])],
                                capture_output=True, text=True, check=True).stdout
            defined = {line.split()[0] for line in nm.splitlines()}
            assert defined <= words and all(d.startswith(code_size.KERNEL_PREFIX) for d in defined), src.name
    subprocess.run(["arm-none-eabi-ar", "rcs", str(work / "kernels.a"), *map(str, objects[1:])], check=True)
    trace = subprocess.run(["arm-none-eabi-ld", "-r", "-t", "-t", "-o", str(work / "linked.o"), str(objects[0]),
                            str(work / "kernels.a")], capture_output=True, text=True, check=True).stdout
    taken = set(re.findall(r"kernels\.a\)(\w+\.o)", trace))
    assert taken and taken <= {o.name for o in objects[1:]}
    total = 0
    for obj in objects:
        if obj == objects[0] or obj.name in taken:
            out = subprocess.run(["arm-none-eabi-size", "-A", str(obj)], capture_output=True, text=True, check=True)
            kept = (".text", ".rodata", ".data") if obj == objects[0] else (".text",)
            total += sum(int(p[1]) for p in (line.split() for line in out.stdout.splitlines())
                         if len(p) >= 2 and p[0].startswith(kept))
    return total


def test_cached_kernel_sizes_equal_a_fresh_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTE_CACHE_DIR", str(tmp_path / "cache"))
    xs, _ = fashion_mnist("train")
    q = tte.quantize(tte.load(EXAMPLE), calibration=xs[:50])
    board = get_board("stm32f746g-disco")
    sources = generate(analyze(q, board=board, scheme="last-k:2"), "fm")
    (tmp_path / "w").mkdir()
    want = flash_bytes_one_by_one(sources, "fm", [*board.gcc_flags(), *CFLAGS], tmp_path / "w")
    monkeypatch.setattr(code_size, "_BUILDS", code_size._Builds())
    prefetch_code_size(board, "fm")
    cold = measure_code_size(sources, "fm", board)
    cached = {p.name: p.read_text() for p in (tmp_path / "cache" / "code-size").iterdir()}
    assert 0 < len(cached) <= len(list((CSRC_DIR / "src").glob("*.c")))
    warm = measure_code_size(sources, "fm", board)
    # half the kernels missing from the cache and no prefetch: built by measure_code_size itself
    for name in sorted(cached)[::2]:
        (tmp_path / "cache" / "code-size" / name).unlink()
    monkeypatch.setattr(code_size, "_BUILDS", code_size._Builds())
    rebuilt = measure_code_size(sources, "fm", board)
    again = {p.name: p.read_text() for p in (tmp_path / "cache" / "code-size").iterdir()}
    assert all(again[k] == v for k, v in cached.items() if k in again)
    assert cold == warm == rebuilt == want > 0

    # what make setup leaves (`tte kernel-sizes`, the command line itself): a first compile then
    # starts no compiler for a kernel, and measures the same bytes
    env = {**os.environ, "TTE_CACHE_DIR": str(tmp_path / "installed"), "PYTHONPATH": str(Path(tte.__file__).parents[1])}
    cmd = [sys.executable, "-m", "tte.cli", "kernel-sizes", "--board", "stm32f746g-disco", "--board", "qemu-mps2-an500"]
    first = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    n_kernels = len(list((CSRC_DIR / "src").glob("*.c")))
    assert f"{n_kernels} built, 0 cached" in first and f"{n_kernels} as an earlier board's" in first, first
    assert f"0 built, {n_kernels} cached" in subprocess.run(cmd, capture_output=True, text=True, env=env,
                                                             check=True).stdout
    installed = {p.name: p.read_text() for p in (tmp_path / "installed" / "code-size").iterdir()}
    assert all(installed[k] == v for k, v in cached.items())
    monkeypatch.setenv("TTE_CACHE_DIR", str(tmp_path / "installed"))
    builds = code_size._Builds()
    submitted: list[str] = []
    monkeypatch.setattr(builds, "submit", lambda key, *a, **k: submitted.append(key))
    monkeypatch.setattr(code_size, "_BUILDS", builds)
    prefetch_code_size(board, "fm")
    assert measure_code_size(sources, "fm", board) == want and submitted == []


def test_byte_arrays_as_strings_compile_to_the_same_object(tmp_path: Path) -> None:
    """The copy of the model's C that measure_code_size compiles (its byte arrays as string
    literals) gives the object of the C itself, byte for byte."""
    xs, _ = fashion_mnist("train")
    q = tte.quantize(tte.load(EXAMPLE), calibration=xs[:50])
    board = get_board("stm32f746g-disco")
    sources = generate(analyze(q, board=board, scheme="last-k:2"), "fm")
    fast = code_size.byte_arrays_as_strings(sources["fm.c"])
    assert fast.count('"\\x') > 5 and len(fast) < len(sources["fm.c"])
    objects = []
    for d, text in (("plain", sources["fm.c"]), ("strings", fast)):
        (tmp_path / d).mkdir()
        (tmp_path / d / "fm.c").write_text(text)
        (tmp_path / d / "fm.h").write_text(sources["fm.h"])
        subprocess.run(["arm-none-eabi-gcc", *code_size.size_flags(board), "-I", str(tmp_path / d), "-I",
                        str(CSRC_DIR / "include"), "-c", "fm.c", "-o", "fm.o"], cwd=tmp_path / d, check=True)
        objects.append((tmp_path / d / "fm.o").read_bytes())
    assert objects[0] == objects[1]
    small = "static const int8_t a[3] = {\n    -128, 0, 127\n};\nstatic uint8_t b[2] = {255, 16};\n"
    assert code_size.byte_arrays_as_strings(small) == ('static const int8_t a[3] = "\\x80\\x00\\x7f";\n'
                                                       'static uint8_t b[2] = "\\xff\\x10";\n')
    # a count that is not the array's, or a value out of a byte's range: left as it is
    odd = "static const int8_t a[4] = {1, 2, 3};\nstatic const uint8_t b[1] = {256};\n"
    assert code_size.byte_arrays_as_strings(odd) == odd


@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="reads the processes from /proc")
def test_closing_the_background_builds_kills_their_compilers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the prefetch still compiles when Python exits (a compile that failed on its budget)
    is killed, the compiler driver with its cc1 and as, and its objects removed."""
    monkeypatch.setenv("TTE_CACHE_DIR", str(tmp_path / "cache"))
    builds = code_size._Builds()
    monkeypatch.setattr(code_size, "_BUILDS", builds)
    prefetch_code_size(get_board("stm32f746g-disco"), "fm")
    with builds._cond:
        while not builds._procs:
            builds._cond.wait(0.01)
        procs = list(builds._procs)
        work = builds._dir
    assert work is not None and work.is_dir()
    builds.close()
    assert all(p.poll() is not None for p in procs) and not work.exists()
    # cc1 and as (each driver heads a session of its own; they are reparented when it dies) go
    # as soon as the kill is delivered, well before any kernel's compile would end
    sessions = {str(p.pid) for p in procs}
    deadline = time.monotonic() + 0.5
    while (left := [st for st in map(_stat, Path("/proc").glob("[0-9]*/stat")) if st[5:6] and st[5] in sessions
                    and st[2] != "Z"]):
        assert time.monotonic() < deadline, left
        time.sleep(0.05)
    with pytest.raises(RuntimeError):
        builds.result("never-submitted")


def _stat(path: Path) -> list[str]:
    """/proc/PID/stat's fields (pid, comm, state, ppid, pgrp, session, ...); [] once it is gone."""
    try:
        text = path.read_text()
    except OSError:
        return []
    pid, rest = text.split(" (", 1)
    comm, rest = rest.rsplit(") ", 1)
    return [pid, comm, *rest.split()]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_leaves_the_parents_compilers_alone(tmp_path: Path) -> None:
    """A child forked while kernels build (a multiprocessing worker) starts with no builds of its
    own, and its exit kills none of the parent's compilers: the parent's sizes all arrive."""
    script = textwrap.dedent("""
        import os, sys
        from tte.targets import code_size
        from tte.targets.boards import get_board
        # three small kernels are enough to have compilers running at the fork
        small = sorted(code_size._kernels(), key=lambda p: p.stat().st_size)[:3]
        code_size._kernels = lambda: sorted(small)
        parent = code_size._BUILDS
        code_size.prefetch_code_size(get_board("stm32f746g-disco"), "fm")
        assert parent._procs or parent._queue
        pid = os.fork()
        if pid == 0:
            fresh = code_size._BUILDS is not parent and not code_size._BUILDS._pending
            sys.exit(0 if fresh else 3)   # a normal exit: atexit handlers run
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, status
        results = [parent.result(k) for k in sorted(parent._pending | set(parent._results))]
        assert len(results) == 3 and all(err is None and o.text > 0 for o, err in results), results
    """)
    env = {**os.environ, "TTE_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(Path(tte.__file__).parents[1])}
    r = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
