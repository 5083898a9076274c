"""No command deletes or overwrites a file it did not write: one test per writing command.

Each puts a foreign file where the command writes and checks that it survives byte for byte
(and that the command refuses with one line and exit status 2 where it would have to touch it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import user_models
from click.testing import CliRunner

import tte
from tte.cli import main
from tte.outputs import MANIFEST
from tte.targets.firmware import toolchain_available
from tte.targets.qemu import qemu_available

NOTE = b"my notes, not tte's\n"


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout, r.stderr


def one_line_error(code: int, err: str) -> str:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tte: error: "), err
    return lines[0]


@pytest.fixture(scope="module")
def user(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("user")
    onnx_path = Path(user_models.save(user_models.cnn(), str(d / "cnn.onnx")))
    calib = np.random.default_rng(0).uniform(0, 1, (16, 1, 8, 8)).astype(np.float32)
    np.save(d / "calib.npy", calib)
    tfl = d / "cnn_int8.tflite"
    tte.export(tte.quantize(tte.load(onnx_path), calibration=calib), tfl)
    return {"onnx": onnx_path, "calib": d / "calib.npy", "tflite": tfl}


@pytest.fixture(scope="module")
def compiled(user: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("c") / "m"
    code, _, err = run("compile", str(user["tflite"]), "--board", "qemu-mps2-an500", "--scheme", "last-k:2",
                       "-o", str(out))
    assert code == 0, err
    return out


def test_compile_refuses_a_folder_with_foreign_files(user: dict[str, Path], tmp_path: Path) -> None:
    # the reported case: `tte compile model -o .` in the folder that holds the model and notes
    proj = tmp_path / "proj"
    proj.mkdir()
    model = proj / "cnn_int8.tflite"
    model.write_bytes(user["tflite"].read_bytes())
    (proj / "notes.txt").write_bytes(NOTE)
    for extra in ([], ["--force"]):
        line = one_line_error(*run("compile", str(model), "-o", str(proj), *extra)[::2])
        assert "not empty and tte did not create it" in line
    assert sorted(p.name for p in proj.iterdir()) == ["cnn_int8.tflite", "notes.txt"]
    assert (proj / "notes.txt").read_bytes() == NOTE and model.read_bytes() == user["tflite"].read_bytes()


def test_compile_force_replaces_only_tte_files(user: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "m"
    assert run("compile", str(user["tflite"]), "--scheme", "bias-only", "-o", str(out))[0] == 0
    manifest = json.loads((out / MANIFEST).read_text())
    assert sorted(manifest["files"]) == ["cnn_int8.c", "cnn_int8.h", "memory.png", "report.json"]
    (out / "notes.txt").write_bytes(NOTE)
    (out / "firmware-x").mkdir()
    (out / "firmware-x" / "old.elf").write_bytes(NOTE)
    # again without --force: refused, nothing changes
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    line = one_line_error(*run("compile", str(user["tflite"]), "-o", str(out))[::2])
    assert "--force" in line
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    # with --force and another name: tte's old files go, the user's stay
    assert run("compile", str(user["tflite"]), "--scheme", "last-k:2", "--name", "net", "-o", str(out),
               "--force")[0] == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([MANIFEST, "firmware-x", "memory.png", "net.c", "net.h", "notes.txt", "report.json"])
    assert json.loads((out / "report.json").read_text())["scheme"] == "last-k:2"
    assert (out / "notes.txt").read_bytes() == NOTE and (out / "firmware-x" / "old.elf").read_bytes() == NOTE


def test_compile_force_never_overwrites_a_foreign_file_of_the_same_name(user: dict[str, Path],
                                                                        tmp_path: Path) -> None:
    out = tmp_path / "m"
    out.mkdir()  # an empty folder is fine
    assert run("compile", str(user["tflite"]), "--scheme", "bias-only", "-o", str(out))[0] == 0
    (out / "net.c").write_bytes(NOTE)  # the user's own file, named like the next output
    line = one_line_error(*run("compile", str(user["tflite"]), "--scheme", "bias-only", "--name", "net",
                               "-o", str(out), "--force")[::2])
    assert "net.c" in line and "tte did not write" in line
    assert (out / "net.c").read_bytes() == NOTE and (out / "cnn_int8.c").is_file()
    assert not [p for p in out.iterdir() if p.name.startswith(".m.tte-")]  # no staging left behind
    # a folder from before manifests: its generated files are recognised, anything else is not
    (out / MANIFEST).unlink()
    one_line_error(*run("compile", str(user["tflite"]), "-o", str(out), "--force")[::2])
    (out / "net.c").unlink()
    assert run("compile", str(user["tflite"]), "--scheme", "bias-only", "-o", str(out), "--force")[0] == 0
    assert json.loads((out / MANIFEST).read_text())["files"] == ["cnn_int8.c", "cnn_int8.h", "memory.png",
                                                                  "report.json"]


def test_quantize_does_not_overwrite_a_foreign_file(user: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "model.tflite"
    target.write_bytes(NOTE)
    for extra in ([], ["--force"]):
        line = one_line_error(*run("quantize", str(user["onnx"]), "--calibration", str(user["calib"]),
                                   "-o", str(target), *extra)[::2])
        assert "tte did not write it" in line
    assert target.read_bytes() == NOTE
    # a file tte wrote: refused without --force, replaced with it
    mine = tmp_path / "mine.tflite"
    mine.write_bytes(user["tflite"].read_bytes())
    assert "--force" in one_line_error(*run("quantize", str(user["onnx"]), "--calibration", str(user["calib"]),
                                            "-o", str(mine))[::2])
    assert run("quantize", str(user["onnx"]), "--calibration", str(user["calib"]), "-o", str(mine),
               "--force")[0] == 0
    assert tte.load(mine).is_quantized


def test_train_does_not_overwrite_a_foreign_file(user: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "trained.tflite"
    target.write_bytes(NOTE)
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 1, 8, 8), np.float32), y=np.arange(4))
    line = one_line_error(*run("train", str(user["tflite"]), "--data", str(tmp_path / "d.npz"), "-o", str(target),
                               "--force")[::2])
    assert "tte did not write it" in line and target.read_bytes() == NOTE


needs_arm = pytest.mark.skipif(not toolchain_available(), reason="arm-none-eabi-gcc not installed")


@needs_arm
def test_build_ignores_and_keeps_a_users_source_in_the_compile_folder(compiled: Path) -> None:
    own = compiled / "user_driver.c"
    own.write_text("this is not C and must not be compiled into the firmware\n")
    code, out, err = run("build", str(compiled), "--board", "stm32f746g-disco", "--json")
    assert code == 0, err
    fw_dir = compiled / "firmware-stm32f746g-disco-embedded"
    assert (fw_dir / "tte_firmware.elf").is_file() and MANIFEST in os.listdir(fw_dir)
    assert own.read_text().startswith("this is not C")
    own.unlink()


@needs_arm
def test_build_refuses_a_foreign_firmware_folder(compiled: Path) -> None:
    fw_dir = compiled / "firmware-rp2040-embedded"
    fw_dir.mkdir()
    (fw_dir / "tte_firmware.elf").write_bytes(NOTE)
    (fw_dir / "readme.txt").write_bytes(NOTE)
    line = one_line_error(*run("build", str(compiled), "--board", "rp2040")[::2])
    assert "tte did not create it" in line
    assert (fw_dir / "tte_firmware.elf").read_bytes() == NOTE and (fw_dir / "readme.txt").read_bytes() == NOTE


@needs_arm
@pytest.mark.skipif(not qemu_available(), reason="qemu-system-arm not installed")
def test_run_refuses_a_foreign_firmware_folder(compiled: Path) -> None:
    fw_dir = compiled / "firmware-qemu-mps2-an500-semihost"
    fw_dir.mkdir()
    (fw_dir / "data.bin").write_bytes(NOTE)
    one_line_error(*run("run", str(compiled), "--qemu", "--steps", "1", "--infer", "0")[::2])
    assert (fw_dir / "data.bin").read_bytes() == NOTE


def test_kg_first_use_creates_its_store_and_refuses_a_foreign_folder(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TTE_KG_STORE", raising=False)
    code, out, err = run("kg", "add-board", "stm32f746g-disco")
    assert code == 0, err
    assert (tmp_path / ".tte" / "kg" / "CURRENT").is_file()
    foreign = tmp_path / "docs"
    foreign.mkdir()
    (foreign / "notes.txt").write_bytes(NOTE)
    line = one_line_error(*run("kg", "--store", str(foreign), "add-board", "stm32f746g-disco")[::2])
    assert "not a knowledge graph store" in line
    assert os.listdir(foreign) == ["notes.txt"] and (foreign / "notes.txt").read_bytes() == NOTE


def test_kg_export_td_does_not_overwrite_a_foreign_file(tmp_path: Path) -> None:
    store = str(tmp_path / "kg")
    assert run("kg", "--store", store, "add-board", "stm32f746g-disco")[0] == 0
    assert run("kg", "--store", store, "add-device", "--id", "d1", "--board", "stm32f746g-disco")[0] == 0
    target = tmp_path / "td.json"
    target.write_bytes(NOTE)
    one_line_error(*run("kg", "--store", store, "export-td", "d1", "-o", str(target), "--force")[::2])
    assert target.read_bytes() == NOTE
    mine = tmp_path / "mine.json"
    assert run("kg", "--store", store, "export-td", "d1", "-o", str(mine))[0] == 0
    assert "--force" in one_line_error(*run("kg", "--store", store, "export-td", "d1", "-o", str(mine))[::2])
    assert run("kg", "--store", store, "export-td", "d1", "-o", str(mine), "--force")[0] == 0
    assert json.loads(mine.read_text())["title"]


def test_fed_writes_nothing_into_the_working_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_bytes(NOTE)
    code, _, err = run("fed", "run", "--task", "sine", "--devices", "2", "--rounds", "1", "--heldout", "1")
    assert code == 0, err
    assert os.listdir(tmp_path) == ["notes.txt"] and (tmp_path / "notes.txt").read_bytes() == NOTE


def test_demo_refuses_to_overwrite_foreign_files(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    out.mkdir()
    target = out / "fmnist_cnn_int8.tflite"
    target.write_bytes(NOTE)
    line = one_line_error(*run("demo", "--out", str(out))[::2])
    assert "tte did not write it" in line and target.read_bytes() == NOTE
    target.unlink()
    (out / "compiled").mkdir()
    (out / "compiled" / "main.c").write_bytes(NOTE)
    one_line_error(*run("demo", "--out", str(out))[::2])
    assert os.listdir(out) == ["compiled"] and (out / "compiled" / "main.c").read_bytes() == NOTE
