"""The flash code size in report.json: kernels' sizes come from the user cache after the first
compile, and equal what arm-none-eabi-gcc and arm-none-eabi-size give for every object built
one by one (the way before the cache)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import tte
from tte.compiler.analysis import analyze
from tte.compiler.codegen import generate
from tte.targets.boards import get_board
from tte.targets.firmware import CFLAGS, CSRC_DIR, measure_code_size
from tte.training.data import fashion_mnist

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "fmnist_cnn.onnx"

pytestmark = [pytest.mark.skipif(not shutil.which("arm-none-eabi-gcc"), reason="needs arm-none-eabi-gcc"),
              pytest.mark.slow]  # every kernel compiled twice (~10 s of CPU)


def text_bytes_one_by_one(sources: dict[str, str], name: str, flags: list[str], work: Path) -> int:
    for k, v in sources.items():
        (work / k).write_text(v)
    total = 0
    for i, src in enumerate([work / f"{name}.c", *sorted((CSRC_DIR / "src").glob("*.c"))]):
        obj = work / f"{i}.o"
        subprocess.run(["arm-none-eabi-gcc", *flags, "-I", str(work), "-I", str(CSRC_DIR / "include"), "-c",
                        str(src), "-o", str(obj)], check=True)
        out = subprocess.run(["arm-none-eabi-size", "-A", str(obj)], capture_output=True, text=True, check=True)
        total += sum(int(p[1]) for p in (line.split() for line in out.stdout.splitlines())
                     if len(p) >= 2 and p[0].startswith(".text"))
    return total


def test_cached_kernel_sizes_equal_a_fresh_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTE_CACHE_DIR", str(tmp_path / "cache"))
    xs, _ = fashion_mnist("train")
    q = tte.quantize(tte.load(EXAMPLE), calibration=xs[:50])
    board = get_board("stm32f746g-disco")
    sources = generate(analyze(q, board=board, scheme="last-k:2"), "fm")
    (tmp_path / "w").mkdir()
    want = text_bytes_one_by_one(sources, "fm", [*board.gcc_flags(), *CFLAGS], tmp_path / "w")
    cold = measure_code_size(sources, "fm", board)
    cached = sorted((tmp_path / "cache" / "code-size").iterdir())
    assert len(cached) == len(list((CSRC_DIR / "src").glob("*.c")))
    warm = measure_code_size(sources, "fm", board)
    assert cold == warm == want > 0
