"""The C kernel tests once more, with the kernels built under AddressSanitizer and
UndefinedBehaviorSanitizer (``-fsanitize=address,undefined -fno-sanitize-recover=all``).

An instrumented shared library needs the ASan runtime loaded first, so the tests run in a
subprocess with ``tte.targets.cbuild.sanitizer_env()`` (LD_PRELOAD of libasan and libubsan).
A planted out-of-bounds write and a planted signed overflow check that the set-up really
aborts on an error.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tte.targets import cbuild

ROOT = Path(__file__).resolve().parent.parent


def _run_python(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "probe.py"
    script.write_text(textwrap.dedent(code))
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=ROOT,
                          env=cbuild.sanitizer_env(), timeout=600)


@pytest.mark.slow
def test_kernel_tests_pass_under_asan_and_ubsan() -> None:
    env = cbuild.sanitizer_env()
    env["TTE_C_SANITIZE"] = "1"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/test_c_kernels.py"], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=1200)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert "AddressSanitizer" not in out and "runtime error" not in out, out[-6000:]
    assert " passed" in out and "failed" not in out


@pytest.mark.parametrize("bug, needle", [
    ("int8_t a[4] = {0}; int8_t *volatile p = a; p[4] = 1; return a[0];", "AddressSanitizer"),
    ("volatile int32_t a = 2147483647; return (int)(a + 1);", "runtime error"),
])
def test_sanitizer_setup_catches_planted_bugs(tmp_path: Path, bug: str, needle: str) -> None:
    src = tmp_path / "bug.c"
    src.write_text(f"#include <stdint.h>\nint tte_bug(void);\nint tte_bug(void)\n{{\n    {bug}\n}}\n")
    lib = cbuild.build_library([src], sanitize=True, name="bug",
                               extra_cflags=["-Wno-array-bounds", "-Wno-stringop-overflow"])
    proc = _run_python(f"""
        from cffi import FFI
        ffi = FFI()
        ffi.cdef("int tte_bug(void);")
        print(ffi.dlopen({str(lib)!r}).tte_bug())
    """, tmp_path)
    assert proc.returncode != 0
    assert needle in proc.stderr, proc.stderr[-3000:]
