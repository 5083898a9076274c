"""`tte flash`: the image `tte build` made is flashed as it is (its embedded data kept, never
rebuilt), a stale or missing image is refused, and a missing or hanging flash tool ends with a
one-line error (exit 2) within the time limit. The tools on PATH here are stand-ins: no board or
probe is attached to this machine."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from fwtools import TEST_MODEL_DIR, needs_arm_gcc

from tte.cli import main
from tte.targets.boards import get_board
from tte.targets.flash import flash_command

pytestmark = needs_arm_gcc
BOARD = "stm32f746g-disco"  # openocd


def run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.output


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model folder with an embedded-data image of 3 steps (not the default 8)."""
    m = tmp_path_factory.mktemp("flash") / "m"
    shutil.copytree(TEST_MODEL_DIR, m)
    code, out = run("build", str(m), "--board", BOARD, "--steps", "3")
    assert code == 0, out
    return m


def fake_tool(tmp_path: Path, name: str, script: str) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    tool = bin_dir / name
    tool.write_text("#!/bin/sh\n" + script)
    tool.chmod(0o755)
    return bin_dir


def test_flash_commands_come_from_the_board_file() -> None:
    f7 = flash_command(get_board(BOARD), Path("fw.elf"))
    assert f7 == ["openocd", "-f", "interface/stlink.cfg", "-f", "target/stm32f7x.cfg", "-c",
                  "program fw.elf verify reset exit"]
    assert flash_command(get_board("rp2040"), Path("fw.elf")) == ["pyocd", "flash", "--target", "rp2040", "fw.elf"]
    nano = get_board("arduino-nano-33-ble-sense")
    assert flash_command(nano, Path("fw.elf"), port="/dev/ttyACM0") == [
        "bossac", "--port=/dev/ttyACM0", "-U", "-i", "-e", "-w", "fw.bin", "-R"]
    assert flash_command(nano, Path("fw.elf"), tool="pyocd")[:4] == ["pyocd", "flash", "--target", "nrf52840"]
    assert flash_command(get_board(BOARD), Path("fw.elf"), tool="st-flash") == [
        "st-flash", "--reset", "write", "fw.bin", "0x08000000"]


def test_flash_keeps_the_built_image_and_its_data(built: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    fw = built / f"firmware-{BOARD}-embedded"
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in fw.iterdir()}
    code, out = run("flash", str(built), "--board", BOARD, "--dry-run")
    assert code == 0, out
    assert out.strip().endswith(f"program {fw / 'tte_firmware.elf'} verify reset exit'")
    args = tmp_path / "args"
    bin_dir = fake_tool(tmp_path, "openocd", f'printf "%s\\n" "$@" > {args}\necho "** Programming Finished **"\n')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    code, out = run("flash", str(built), "--board", BOARD)
    assert code == 0 and "Programming Finished" in out, out
    assert args.read_text().splitlines()[-1] == f"program {fw / 'tte_firmware.elf'} verify reset exit"
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in fw.iterdir()} == before


def test_a_stale_or_missing_image_is_refused(built: Path) -> None:
    code, out = run("flash", str(built), "--board", "rp2040", "--dry-run")
    assert code == 2 and "no firmware image for board 'rp2040'" in out and "tte build" in out
    fw = built / f"firmware-{BOARD}-embedded"
    data = (fw / "tte_embedded_stream.c").read_text()
    model = built / "tte_testmodel.c"
    source = model.read_text()
    model.write_text(source + "\n/* changed */\n")
    try:
        code, out = run("flash", str(built), "--board", BOARD, "--dry-run")
        assert code == 2 and "run `tte build` again" in out
        assert (fw / "tte_embedded_stream.c").read_text() == data
    finally:
        model.write_text(source)
    assert run("flash", str(built), "--board", BOARD, "--dry-run")[0] == 0


def test_a_missing_tool_is_a_one_line_error(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    code, out = run("flash", str(built), "--board", BOARD)
    assert code == 2 and "openocd not found on PATH" in out
    code, out = run("flash", str(built), "--board", BOARD, "--tool", "bossac")
    assert code == 2 and "--port" in out


def test_a_hanging_tool_is_stopped_at_the_time_limit(built: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    pid_file = tmp_path / "pid"
    bin_dir = fake_tool(tmp_path, "openocd", f"echo $$ > {pid_file}\n"
                        "echo 'Error: unable to find a matching CMSIS-DAP device'\nexec sleep 600\n")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    t0 = time.monotonic()
    code, out = run("flash", str(built), "--board", BOARD, "--timeout", "2")
    assert time.monotonic() - t0 < 30
    assert code == 2 and "did not finish within 2 s" in out and "no debug probe or board found" in out
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


def test_a_failing_tool_reports_its_last_line(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = fake_tool(tmp_path, "openocd", "echo 'Error: target voltage may be too low'\nexit 1\n")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    code, out = run("flash", str(built), "--board", BOARD)
    assert code == 2 and "openocd failed with status 1: Error: target voltage may be too low" in out
