"""Board files: the budgets the issue specifies, parsing errors, `tte boards`."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from tte.cli import main
from tte.errors import TteError
from tte.targets.boards import get_board, list_boards, parse_board

KB = 1024
# (core, SRAM budget, flash) as the boards' data sheets and the paper state them.
EXPECTED = {
    "stm32f746g-disco": ("cortex-m7", 256 * KB, 1024 * KB),
    "arduino-nano-33-ble-sense": ("cortex-m4", 256 * KB, 960 * KB),  # 1 MB less the 64 KB bootloader
    "rp2040": ("cortex-m0plus", 264 * KB, 2048 * KB),
    "stm32h743": ("cortex-m7", 512 * KB, 2048 * KB),
    "qemu-mps2-an500": ("cortex-m7", 256 * KB, 1024 * KB),
    "qemu-mps2-an505": ("cortex-m33", 256 * KB, 1024 * KB),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_board_budgets(name: str) -> None:
    b = get_board(name)
    assert (b.core, b.sram_bytes, b.flash_bytes) == EXPECTED[name]
    assert b.clock_hz > 0


def test_fpu_and_dsp_follow_the_core() -> None:
    for b in list_boards():
        if b.core == "cortex-m0plus":
            assert not b.has_fpu and not b.dsp
            assert "-mfloat-abi=soft" in b.gcc_flags()
        else:
            assert b.dsp
    assert get_board("qemu-mps2-an500").qemu_machine == "mps2-an500"
    assert get_board("stm32f746g-disco").sram_physical_bytes == 320 * KB


def test_unknown_board_lists_known_ones() -> None:
    with pytest.raises(TteError, match="unknown board 'nope'.*stm32f746g-disco"):
        get_board("nope")


def test_bad_board_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "b.toml"
    f.write_text('name = "x"\ncore = "cortex-m7"\nsram_bytes = -1\nflash_bytes = 1\nclock_hz = 1\n')
    with pytest.raises(TteError, match="sram_bytes must be a positive integer"):
        parse_board(f)
    f.write_text('name = "x"\ncore = "z80"\nsram_bytes = 1\nflash_bytes = 1\nclock_hz = 1\n')
    with pytest.raises(TteError, match="unknown core 'z80'"):
        parse_board(f)
    f.write_text("name = [")
    with pytest.raises(TteError, match="cannot read board file"):
        parse_board(f)


def test_boards_cli_json() -> None:
    res = CliRunner().invoke(main, ["boards", "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["name"]: r for r in json.loads(res.output)}
    assert set(EXPECTED) <= set(rows)
    for name, (core, sram, flash) in EXPECTED.items():
        r = rows[name]
        assert (r["core"], r["sram_bytes"], r["flash_bytes"]) == (core, sram, flash)
        assert {"fpu", "dsp", "clock_hz", "qemu_machine"} <= set(r)
    assert rows["rp2040"]["fpu"] is None


def test_boards_cli_table_runs_as_a_program() -> None:
    out = subprocess.run([sys.executable, "-m", "tte.cli", "boards"], capture_output=True, text=True,
                         check=True).stdout
    assert "qemu-mps2-an500" in out and "mps2-an500" in out
