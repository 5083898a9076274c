"""csrc/src/checkpoint.c alone, built with AddressSanitizer and UBSan, for payload sizes that
put the 32-byte print lines' edges everywhere (empty, inside the header's line, on and around
line edges): its image equals the format written out here with zlib's CRC-32, its printed form
holds the same bytes, and every damaged or foreign image gets its own error code."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from tte.targets import cbuild

ROOT = Path(__file__).resolve().parent.parent
CC = shutil.which("gcc") or shutil.which("cc")

pytestmark = pytest.mark.skipif(CC is None, reason="no host C compiler")


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    exe = tmp_path_factory.mktemp("ckpt") / "checkpoint_main"
    main = ROOT / "tests" / "cprobe" / "checkpoint_main.c"
    subprocess.run([str(CC), "-std=c99", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-fsanitize=address,undefined",
                    "-fno-sanitize-recover=all", f"-I{cbuild.INCLUDE}", str(main),
                    str(cbuild.CSRC / "src" / "checkpoint.c"), "-o", str(exe)], check=True)
    return exe


def _expected(n: int) -> bytes:
    payload = bytes((i * 7 + 3) & 0xFF for i in range(n))
    body = b"TTEC" + struct.pack("<HH", 1, 32) + bytes(range(16)) + struct.pack("<II", n, 5) + payload
    return body + struct.pack("<I", zlib.crc32(body))


@pytest.mark.parametrize("n", [0, 1, 27, 28, 29, 31, 32, 33, 64, 1000])
def test_image_printed_form_and_checks(probe: Path, n: int) -> None:
    out = subprocess.run([str(probe), str(n)], capture_output=True, text=True, check=True).stdout.splitlines()
    want = _expected(n)
    printed = [ln for ln in out if ln.startswith("tte-ckpt")]
    assert printed[0] == f"tte-ckpt begin 1 {len(want)}" and printed[-1] == "tte-ckpt end"
    rows = [ln.split() for ln in printed[1:-1]]
    assert [int(r[1], 16) for r in rows] == list(range(0, len(want), 32))
    assert all(len(r[2]) == 64 for r in rows[:-1])
    assert bytes.fromhex("".join(r[2] for r in rows)) == want
    results = dict(ln.split(" ", 1) for ln in out if not ln.startswith("tte-ckpt"))
    assert bytes.fromhex(results["img"]) == want
    assert results["small"] == "0"
    assert results["ok"] == "0 5"
    assert results["model"] == "-4" and results["payload"] in ("-1", "-4")
    assert results["size"] == "-1 -1" and results["crc"] == "-5"
    assert results["version"] == "-3" and results["magic"] == "-2"
