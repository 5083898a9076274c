"""The commands that take a `tte compile --scheme none` folder: those that only infer run
inferences (tte run --qemu, tte build, tte flash), those that need a training step or trained
weights refuse it up front (exit 2, one line naming the folder, the folder unchanged, nothing
written), and the knowledge graph offers the model for inference, never for training."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fwtools import needs_arm_gcc, needs_qemu

from tte.cli import main
from tte.targets.boards import get_board
from tte.targets.paths import resource_dir

MODEL = resource_dir("examples") / "fmnist_cnn_int8.tflite"
BOARD = "stm32f746g-disco"


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def frozen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example CNN compiled with --scheme none (once for the module)."""
    out = tmp_path_factory.mktemp("frozen") / "out"
    r = cli("compile", MODEL, "--scheme", "none", "--board", BOARD, "-o", out)
    assert r.exit_code == 0, r.stderr
    assert json.loads((out / "report.json").read_text())["inference_only"] is True
    return out


def snapshot(root: Path) -> list[tuple[str, int, int]]:
    """Every file and folder under root with its size and mtime."""
    return sorted((str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*"))


def refusal_names_folder(r: Result, folder: Path) -> None:
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"tte: error: {folder}: "), r.stderr
    assert "compiled with --scheme none" in lines[0]


REFUSED = {
    "build --steps": lambda d, t: ["build", d, "--steps", "3"],
    "run --qemu --steps": lambda d, t: ["run", d, "--qemu", "--steps", "2"],
    "weights pull --qemu": lambda d, t: ["weights", "pull", d, "--model", MODEL, "--qemu", "-o", t / "w.tflite"],
    "weights pull --checkpoint": lambda d, t: ["weights", "pull", d, "--model", MODEL, "--checkpoint",
                                               t / "ck.bin", "-o", t / "w.tflite"],
    "package": lambda d, t: ["package", d, "-o", t / "pkg"],
    "fleet deploy": lambda d, t: ["fleet", "deploy", d, "--broker-dir", t / "broker"],
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_training_commands_refuse_up_front_and_write_nothing(frozen: Path, tmp_path: Path, name: str) -> None:
    before = snapshot(frozen)
    refusal_names_folder(cli(*REFUSED[name](frozen, tmp_path)), frozen)
    assert snapshot(frozen) == before
    assert list(tmp_path.iterdir()) == []


def test_fleet_demo_refuses_an_inference_only_report(frozen: Path) -> None:
    before = snapshot(frozen)
    report = frozen / "report.json"
    refusal_names_folder(cli("fleet", "demo", "--report", report, "--model", MODEL), report)
    assert snapshot(frozen) == before


def test_train_refuses_scheme_none_before_reading_data(tmp_path: Path) -> None:
    # the data set is not even there: the scheme is refused first, and -o is never written
    r = cli("train", MODEL, "--data", tmp_path / "missing.npz", "--scheme", "none", "-o", tmp_path / "t.tflite")
    assert r.exit_code == 2 and "scheme 'none' is inference only" in r.stderr, r.output
    assert list(tmp_path.iterdir()) == []


def records(stream_c: str) -> list[tuple[str, int]]:
    """(op, payload length) of each record of a tte_embedded_stream.c (main.c's format: op u8,
    length u24, label i32, payload padded to 4 bytes)."""
    body = stream_c.split("{", 1)[1].rsplit("}", 1)[0]
    data = bytes(int(v) for v in re.findall(r"\d+", body))
    out, i = [], 0
    while i < len(data):
        op, n = chr(data[i]), struct.unpack("<I", data[i + 1:i + 4] + b"\0")[0]
        out.append((op, n))
        i += 8 + n + (-n) % 4
    return out


@needs_arm_gcc
def test_build_embeds_inferences_and_flash_takes_the_image(frozen: Path) -> None:
    r = cli("build", frozen, "--json")
    assert r.exit_code == 0, r.output
    assert "runs 8 inferences" in r.stderr
    img = frozen / f"firmware-{BOARD}-embedded"
    n_in = 28 * 28  # the example CNN's int8 image
    assert records((img / "tte_embedded_stream.c").read_text()) == [("E", n_in)] * 8 + [("Q", 0)]
    r = cli("flash", frozen, "--board", BOARD, "--dry-run")
    assert r.exit_code == 0 and str(img / "tte_firmware.elf") in r.stdout, r.output
    # a UART image infers too (built without weights I/O, which an inference-only model lacks)
    r = cli("build", frozen, "--io", "uart")
    assert r.exit_code == 0 and "no weights I/O" in r.stderr, r.output
    assert (frozen / f"firmware-{BOARD}-uart" / "tte_firmware.elf").is_file()


@needs_arm_gcc
@needs_qemu
def test_run_on_qemu_infers_only(frozen: Path) -> None:
    r = cli("run", frozen, "--qemu", "--infer", "3", "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["inference_only"] and res["steps"] == 0 and res["losses"] == []
    assert len(res["inference_instructions"]) == 3 and res["weights_crc32"] is None
    assert res["train_step_instructions"] == []


def test_knowledge_graph_offers_it_for_inference_only(frozen: Path, tmp_path: Path) -> None:
    trained = tmp_path / "trained"
    assert cli("compile", MODEL, "--scheme", "bias-only", "--board", BOARD, "-o", trained).exit_code == 0
    kg = ["kg", "--store", tmp_path / "kg"]
    for args in (["add-board", BOARD], ["add-device", "--id", "d1", "--board", BOARD],
                 ["add-model", MODEL, "--report", frozen / "report.json", "--id", "m"],
                 ["add-model", MODEL, "--report", trained / "report.json", "--id", "m"]):
        r = cli(*kg, *args)
        assert r.exit_code == 0, r.output
    # both artifacts fit the board (the reports' own figures): only bias-only trains
    sram = get_board(BOARD).sram_bytes
    for d in (frozen, trained):
        rep = json.loads((d / "report.json").read_text())
        assert rep["peak_sram_bytes"] <= sram
    dev = json.loads(cli(*kg, "match", "--device", "d1", "--json").stdout)
    assert dev["inference"] == ["m"] and dev["training"] == [{"model": "m", "scheme": "bias-only"}]
    mod = json.loads(cli(*kg, "match", "--model", "m", "--json").stdout)
    assert mod["inference"] == ["d1"] and mod["training"] == [{"device": "d1", "scheme": "bias-only"}]
