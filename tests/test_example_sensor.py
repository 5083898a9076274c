"""examples/sensor_learning: the README's steps on the host, end to end.

The example learns on-device from a simulated accelerometer worn differently from the
workstation recording: after its labelled windows it must classify held-out windows clearly
better than the same model without them, and the weights it prints must pull into a .tflite
that LiteRT's reference kernels run to the device's very output bytes."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tte.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "sensor_learning"

pytestmark = pytest.mark.skipif(shutil.which("make") is None or shutil.which("cc") is None,
                                reason="needs make and a host C compiler")


def _make(target: str, out: Path, *extra: str) -> None:
    r = subprocess.run(["make", "-C", str(EXAMPLE), f"TTE={ROOT}", f"OUT={out}", *extra, str(out / target)],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr


def _cli(*args: str) -> str:
    r = CliRunner().invoke(main, list(args))
    assert r.exit_code == 0, r.output
    return r.output


def _test_accuracy(log: str) -> float:
    m = re.search(r"test windows: accuracy (\d+)/(\d+)", log)
    assert m, log
    return int(m.group(1)) / int(m.group(2))


def test_sensor_example_learns_on_device_and_pulls_bit_exact(tmp_path: Path) -> None:
    from tflite_oracles import run_litert

    import tte

    bin_dir = tmp_path / "bin"
    _make("har_features", bin_dir)
    population = tmp_path / "population.csv"
    with open(population, "w") as f:
        subprocess.run([str(bin_dir / "har_features"), "600", "0", "1"], stdout=f, check=True)
    r = subprocess.run([sys.executable, str(EXAMPLE / "make_model.py"), str(population), str(tmp_path / "har.onnx")],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    _cli("quantize", str(tmp_path / "har.onnx"), "--calibration", str(population), "-o", str(tmp_path / "har.tflite"))
    _cli("compile", str(tmp_path / "har.tflite"), "--board", "arduino-nano-33-ble-sense", "--scheme", "full",
         "--name", "har", "-o", str(tmp_path / "model"))
    _make("sensor_learning", bin_dir, f"MODEL_DIR={tmp_path / 'model'}")

    def run(labelled: int) -> str:
        return subprocess.run([str(bin_dir / "sensor_learning"), str(labelled), "300", "1", "11"],
                              capture_output=True, text=True, check=True).stdout

    before, log = run(0), run(300)
    assert _test_accuracy(log) >= _test_accuracy(before) + 0.1
    assert _test_accuracy(log) >= 0.85
    assert "0 samples dropped" in log
    (tmp_path / "uart.log").write_text(log)
    _cli("weights", "pull", str(tmp_path / "model"), "--model", str(tmp_path / "har.tflite"), "--from",
         str(tmp_path / "uart.log"), "-o", str(tmp_path / "trained.tflite"))
    probe = next(ln for ln in log.splitlines() if ln.startswith("probe")).split()
    x = np.frombuffer(bytes.fromhex(probe[2]), np.int8).reshape(1, -1)
    device = np.frombuffer(bytes.fromhex(probe[4]), np.int8)
    trained = (tmp_path / "trained.tflite").read_bytes()
    np.testing.assert_array_equal(next(iter(run_litert(trained, [x]).values())).reshape(-1), device)
    assert not np.array_equal(tte.load(tmp_path / "trained.tflite").tensors["fc1.weight"].data,
                              tte.load(tmp_path / "har.tflite").tensors["fc1.weight"].data)
