"""The user's own data, one format everywhere: .npz (float x in the source model's layout, int y),
a .csv, a folder of class subfolders of images; bad data is refused with one line and exit 2
before anything runs or is written."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import onnx
import pytest
import user_models
from click.testing import CliRunner
from onnx import numpy_helper

import tte
from tte.cli import main
from tte.errors import TteError
from tte.targets.firmware import toolchain_available
from tte.targets.qemu import qemu_available
from tte.training.images import read_image_folder

CLASSES = 5


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout, r.stderr


def one_line_error(code: int, err: str, *needles: str) -> str:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tte: error: "), err
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def user_data(n: int = 24, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (n, 1, 8, 8)).astype(np.float32)
    y = (np.arange(n) % CLASSES).astype(np.int64)
    return x, y


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("data")
    onnx_path = Path(user_models.save(user_models.cnn(CLASSES), str(d / "cnn.onnx")))
    x, y = user_data()
    np.savez(d / "d.npz", x=x, y=y)
    tfl = d / "cnn_int8.tflite"
    tte.export(tte.quantize(tte.load(onnx_path), calibration=x), tfl)
    return {"onnx": onnx_path, "npz": d / "d.npz", "tflite": tfl, "dir": d}


def train_json(*args: str) -> dict:  # type: ignore[type-arg]
    code, out, err = run("train", *args, "--json", "--seed", "3")
    assert code == 0, err
    return json.loads(out)


# ---- bad data: one line, exit 2, the file named, nothing written --------------------------------

def _bad_sets() -> dict[str, tuple[dict[str, np.ndarray], str]]:
    x, y = user_data()
    nan = x.copy()
    nan[4, 0, 2, 2] = np.nan
    inf = x.copy()
    inf[2, 0, 0, 0] = np.inf
    return {
        "per-sample size": ({"x": x[:, :, :7, :], "y": y}, "per-sample size"),
        "shape": ({"x": x.reshape(len(x), 8, 8, 1)[:, :, :, :].reshape(len(x), 1, 64, 1), "y": y}, "shape"),
        "layout (flattened)": ({"x": x.reshape(len(x), 64), "y": y}, "shape"),
        "label 7 of 5": ({"x": x, "y": np.where(np.arange(len(y)) == 3, 7, y)}, "label 7"),
        "label -1": ({"x": x, "y": np.where(np.arange(len(y)) == 5, -1, y)}, "-1"),
        "non-integer labels": ({"x": x, "y": y + 0.5}, "integers"),
        "NaN": ({"x": nan, "y": y}, "NaN"),
        "Inf": ({"x": inf, "y": y}, "Inf"),
        "count": ({"x": x, "y": y[:-1]}, "entries"),
        "no y": ({"x": x}, "no labels"),
    }


@pytest.mark.parametrize("case", list(_bad_sets()))
def test_train_refuses_bad_data_before_anything_runs(files: dict[str, Path], tmp_path: Path, case: str) -> None:
    arrays, needle = _bad_sets()[case]
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    out = tmp_path / "trained.tflite"
    one_line_error(*run("train", str(files["tflite"]), "--data", str(bad), "-o", str(out))[::2], "bad.npz", needle)
    assert not out.exists()


@pytest.mark.parametrize("case", ["per-sample size", "NaN", "label 7 of 5"])
def test_quantize_and_compile_refuse_bad_calibration(files: dict[str, Path], tmp_path: Path, case: str) -> None:
    arrays, needle = _bad_sets()[case]
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    # calibration needs no labels: a bad label is fine there, bad x is not
    if case.startswith("label"):
        assert run("quantize", str(files["onnx"]), "--calibration", str(bad), "-o", str(tmp_path / "q.tflite"))[0] == 0
        return
    one_line_error(*run("quantize", str(files["onnx"]), "--calibration", str(bad),
                        "-o", str(tmp_path / "q.tflite"))[::2], "bad.npz", needle)
    one_line_error(*run("compile", str(files["onnx"]), "--calibration", str(bad),
                        "-o", str(tmp_path / "c"))[::2], "bad.npz", needle)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.npz"]


def test_trainer_validates_labels_and_values(files: dict[str, Path]) -> None:
    x, y = user_data(4)
    tr = tte.Trainer(tte.quantize(tte.load(files["onnx"]), calibration=x), scheme="last-k:2")
    for bad_y, needle in ((np.array([0, 1, 7, 2]), "label 7"), (np.array([0, -1, 1, 2]), "-1"),
                          (np.array([0.0, 1.5, 1.0, 2.0]), "integers")):
        with pytest.raises(TteError, match=needle):
            tr.step(x, bad_y)
        with pytest.raises(TteError, match=needle):
            tr.evaluate(x, bad_y)
    nan = x.copy()
    nan[0, 0, 0, 0] = np.nan
    with pytest.raises(TteError, match="NaN"):
        tr.step(nan, y)
    assert tr.steps == 0
    tr.step(x, y)
    assert tr.steps == 1


# ---- one format, converted by tte ------------------------------------------------------------

def test_layouts_csv_and_scale_give_the_same_training(files: dict[str, Path], tmp_path: Path) -> None:
    """The same samples as NCHW .npz, NHWC .npz (the .tflite's own layout), a CSV with a label
    column, and 0..255 values with --input-scale: every run trains to the same weights."""
    x, y = user_data()
    base = train_json(str(files["tflite"]), "--data", str(files["npz"]))
    nhwc = tmp_path / "nhwc.npz"
    np.savez(nhwc, x=x.transpose(0, 2, 3, 1), y=y)
    csv = tmp_path / "d.csv"
    flat_nhwc = x.transpose(0, 2, 3, 1).reshape(len(x), -1)  # the model's (NHWC) order, row-major
    rows = [",".join([f"f{i}" for i in range(64)] + ["label"])]
    rows += [",".join([repr(float(v)) for v in r] + [str(int(c))]) for r, c in zip(flat_nhwc, y)]
    csv.write_text("\n".join(rows) + "\n")
    scaled = tmp_path / "scaled.npz"
    np.savez(scaled, x=x / np.float32(255.0) , y=y)
    crcs = {"npz": base["weights_crc32"],
            "nhwc": train_json(str(files["tflite"]), "--data", str(nhwc))["weights_crc32"],
            "csv": train_json(str(files["tflite"]), "--data", str(csv))["weights_crc32"],
            "scaled": train_json(str(files["tflite"]), "--data", str(scaled), "--input-scale", "255")["weights_crc32"]}
    assert base["steps"] == len(x) and base["accuracy_on"] == "training"
    assert len(set(crcs.values())) == 1, crcs
    # and training moved the weights
    untrained = tte.Trainer(tte.load(files["tflite"]), scheme="last-k:2").weights_crc32()
    assert base["weights_crc32"] != f"{untrained:08x}"


def _png(pixels: np.ndarray, filters: list[int]) -> bytes:
    """A PNG written from the specification (8-bit, gray or RGB), one filter type per row."""
    h, w, c = pixels.shape
    bpp = c
    raw = b""
    prev = np.zeros(w * c, np.int32)
    for r in range(h):
        line = pixels[r].reshape(-1).astype(np.int32)
        left = np.concatenate([np.zeros(bpp, np.int32), line[:-bpp]])
        upleft = np.concatenate([np.zeros(bpp, np.int32), prev[:-bpp]])
        f = filters[r % len(filters)]
        if f == 0:
            enc = line
        elif f == 1:
            enc = line - left
        elif f == 2:
            enc = line - prev
        elif f == 3:
            enc = line - (left + prev) // 2
        else:
            p = left + prev - upleft
            pa, pb, pc = np.abs(p - left), np.abs(p - prev), np.abs(p - upleft)
            enc = line - np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, upleft))
        raw += bytes([f]) + bytes((enc % 256).astype(np.uint8))
        prev = line

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    color = {1: 0, 3: 2}[c]
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_image_folder_reads_png_and_pgm_exactly(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    imgs = rng.integers(0, 256, (6, 8, 8, 1), dtype=np.uint8)
    for i, img in enumerate(imgs):
        d = tmp_path / ("a_cat" if i < 3 else "b_dog")
        d.mkdir(exist_ok=True)
        if i % 3 == 2:
            (d / f"{i}.pgm").write_bytes(b"P5\n# a comment\n8 8\n255\n" + img.tobytes())
        else:
            (d / f"{i}.png").write_bytes(_png(img, [0, 1, 2, 3, 4]))
    rgb = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    (tmp_path / "b_dog" / "9.png").write_bytes(_png(rgb, [4, 3, 1]))
    x, y = read_image_folder(tmp_path, (8, 8, 1))
    np.testing.assert_array_equal(y, [0, 0, 0, 1, 1, 1, 1])
    want = np.concatenate([imgs[:3], imgs[3:], (rgb.astype(np.float32) @ np.float32([0.299, 0.587, 0.114]))
                           .reshape(1, 8, 8, 1)]).astype(np.float32)
    want[:6] /= 255.0
    want[6] /= 255.0
    np.testing.assert_allclose(x, want, rtol=0, atol=1e-6)
    x3, _ = read_image_folder(tmp_path, (4, 4, 3))  # resized, gray repeated to RGB
    assert x3.shape == (7, 4, 4, 3) and np.allclose(x3[0, ..., 0], x3[0, ..., 2])


def test_train_on_an_image_folder(files: dict[str, Path], tmp_path: Path) -> None:
    x, y = user_data(10)
    for i, (img, c) in enumerate(zip(x, y)):
        d = tmp_path / f"class{c}"
        d.mkdir(exist_ok=True)
        (d / f"{i}.png").write_bytes(_png(np.round(img[0] * 255).astype(np.uint8)[..., None], [i % 5]))
    r = train_json(str(files["onnx"]), "--data", str(tmp_path))
    assert r["steps"] == 10


# ---- the Python API ----------------------------------------------------------------------------

def test_quantize_takes_an_iterable_of_batches(files: dict[str, Path]) -> None:
    g = tte.load(files["onnx"])
    x, _ = user_data(8)
    whole = tte.quantize(g, calibration=x)
    for batches in ([x[i:i + 1] for i in range(8)], ([x[i]] for i in range(8)),
                    [(x[i:i + 2],) for i in range(0, 8, 2)]):
        q = tte.quantize(g, calibration=batches)
        for name, t in whole.tensors.items():
            if t.quant is not None:
                np.testing.assert_array_equal(q.tensors[name].quant.scale, t.quant.scale, err_msg=name)
                np.testing.assert_array_equal(q.tensors[name].quant.zero_point, t.quant.zero_point, err_msg=name)
    with pytest.raises(TteError, match="batch 1"):
        tte.quantize(g, calibration=[x[:1], x[:1, :, :4]])


def test_weights_come_back_in_the_source_layout(files: dict[str, Path]) -> None:
    onnx_w = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(files["onnx"])).graph.initializer}
    got = tte.load(files["onnx"]).weights()
    np.testing.assert_array_equal(got["conv.weight"], onnx_w["conv.weight"])  # OIHW, as PyTorch holds it
    np.testing.assert_array_equal(got["fc.weight"], onnx_w["fc.weight"])
    q = tte.quantize(tte.load(files["onnx"]), calibration=user_data(8)[0])
    qw = q.weights()["conv.weight"]
    scale = q.tensors["conv.weight"].quant.scale.reshape(-1, 1, 1, 1)
    np.testing.assert_allclose(qw * scale, onnx_w["conv.weight"], atol=float(scale.max()) / 2 + 1e-7)


# ---- section 5: one line, not a traceback ----------------------------------------------------

def test_float_onnx_mlp_compiles_with_calibration(tmp_path: Path) -> None:
    m = Path(user_models.save(user_models.mlp(), str(tmp_path / "mlp.onnx")))
    np.save(tmp_path / "calib.npy", np.random.default_rng(0).normal(0, 1, (16, 16)).astype(np.float32))
    code, _, err = run("compile", str(m), "--calibration", str(tmp_path / "calib.npy"), "--scheme", "last-k:2",
                       "-o", str(tmp_path / "out"))
    assert code == 0, err
    assert json.loads((tmp_path / "out" / "report.json").read_text())["input"]["source_shape"] == [1, 16]
    # a built-in image data set does not fit an MLP: refused, not reshaped
    one_line_error(*run("train", str(m), "--data", "digits")[::2], "digits", "(16,)")


def test_images_are_not_reshaped_into_a_time_series_model(tmp_path: Path) -> None:
    from onnx import TensorProto, helper

    w = numpy_helper.from_array(np.ones((4, 3, 1, 5), np.float32) * 0.1, "w")
    fc = numpy_helper.from_array(np.ones((2, 4 * 124), np.float32) * 0.01, "fc")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"]), helper.make_node("Flatten", ["c"], ["f"]),
             helper.make_node("Gemm", ["f", "fc"], ["y"], transB=1)]
    g = helper.make_graph(nodes, "imu", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 1, 128])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])], [w, fc])
    p = tmp_path / "imu.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), p)
    one_line_error(*run("train", str(p), "--data", "digits")[::2], "digits", "(3, 1, 128)")


def test_onnx_external_data_loads_relative_to_the_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    model = user_models.cnn(CLASSES)
    onnx.save_model(model, str(folder / "m.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="m.onnx.data", size_threshold=0)
    assert (folder / "m.onnx.data").is_file()
    monkeypatch.chdir(tmp_path)  # not the model's folder
    got = tte.load("export/m.onnx").weights()
    want = {t.name: numpy_helper.to_array(t) for t in user_models.cnn(CLASSES).graph.initializer}
    for name, arr in want.items():
        np.testing.assert_array_equal(got[name], arr, err_msg=name)
    (folder / "m.onnx.data").unlink()
    one_line_error(*run("inspect", "export/m.onnx")[::2], "m.onnx.data", "not found")


# ---- the board gets the same data: run/build --inputs -----------------------------------------

@pytest.mark.skipif(not (toolchain_available() and qemu_available()), reason="arm-none-eabi-gcc or QEMU missing")
def test_run_inputs_quantizes_the_users_data_like_the_host(files: dict[str, Path], tmp_path: Path) -> None:
    """`tte run --inputs d.npz` (float NCHW x) trains on QEMU to the weights that the host C
    engine reaches on the same samples; bad inputs are refused before anything is built."""
    out = tmp_path / "m"
    assert run("compile", str(files["tflite"]), "--board", "qemu-mps2-an500", "--scheme", "last-k:2",
               "-o", str(out))[0] == 0
    for case in ("per-sample size", "label 7 of 5", "NaN"):
        arrays, needle = _bad_sets()[case]
        np.savez(tmp_path / "bad.npz", **arrays)
        one_line_error(*run("build", str(out), "--io", "embedded", "--inputs", str(tmp_path / "bad.npz"))[::2],
                       "bad.npz", needle)
        one_line_error(*run("run", str(out), "--qemu", "--inputs", str(tmp_path / "bad.npz"))[::2],
                       "bad.npz", needle)
    assert not [p for p in out.iterdir() if p.name.startswith("firmware-")]
    code, stdout, err = run("run", str(out), "--qemu", "--inputs", str(files["npz"]), "--steps", "3", "--infer", "0",
                            "--json")
    assert code == 0, err
    x, y = user_data()
    host = tte.Trainer(tte.load(files["tflite"]), scheme="last-k:2", engine="c")
    for i in range(3):
        host.step(x[i:i + 1].transpose(0, 2, 3, 1), y[i:i + 1])
    assert json.loads(stdout)["weights_crc32"] == f"{host.weights_crc32():08x}"


# ---- Ctrl-C keeps what was trained -----------------------------------------------------------

def test_ctrl_c_stops_at_a_step_boundary_and_writes_the_trained_model(files: dict[str, Path],
                                                                       tmp_path: Path) -> None:
    import os
    import re
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "trained.tflite"
    log = tmp_path / "stderr.txt"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "tte.cli", "train", str(files["tflite"]), "--data",
                                 str(files["npz"]), "--epochs", "100000", "--seed", "3", "-o", str(out)],
                                stdout=subprocess.PIPE, stderr=err, env=env)
        deadline = time.monotonic() + 60
        while b"epoch 2/" not in log.read_bytes() and time.monotonic() < deadline:  # an epoch trained
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        stdout, _ = proc.communicate(timeout=60)
    message = log.read_text()
    assert proc.returncode == 130, message
    m = re.search(r"stopped after (\d+) of (\d+) steps; (\S+) holds the weights trained so far", message)
    assert m and m.group(3) == str(out), message
    steps = int(m.group(1))
    assert 24 <= steps < int(m.group(2)) and f"wrote {out}" in stdout.decode()
    # the file holds exactly the weights of `steps` steps: replay them in-process
    x, y = user_data()
    x = x.transpose(0, 2, 3, 1)  # the .tflite's layout
    replay = tte.Trainer(tte.load(files["tflite"]), scheme="last-k:2", seed=3)
    rng = np.random.default_rng(3)
    while replay.steps < steps:
        for i in rng.permutation(len(x))[:steps - replay.steps]:
            replay.step(x[i:i + 1], y[i:i + 1])
    kept = tte.Trainer(tte.load(out), scheme="last-k:2")
    assert kept.weights_crc32() == replay.weights_crc32()
    assert kept.weights_crc32() != tte.Trainer(tte.load(files["tflite"]), scheme="last-k:2").weights_crc32()
