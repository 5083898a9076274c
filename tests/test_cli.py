"""The CLI as a user meets it: real processes, exit status 2 and one line for bad input."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "fmnist_cnn.onnx"


def tte_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tte.cli", *args], capture_output=True, text=True,
                          timeout=120)


def assert_user_error(res: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr  # one line, no traceback
    assert lines[0].startswith("tte: error: ")
    for n in needles:
        assert n in lines[0], lines[0]


def test_missing_file() -> None:
    assert_user_error(tte_cli("inspect", "no/such/model.onnx"), "no/such/model.onnx", "no such model file")


@pytest.mark.parametrize("suffix", [".onnx", ".tflite"])
def test_garbage_file(tmp_path: Path, suffix: str) -> None:
    f = tmp_path / f"junk{suffix}"
    f.write_bytes(b"\x00\xffnot a model at all" * 7)
    assert_user_error(tte_cli("inspect", str(f)), str(f))


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9])
def test_truncated_example(tmp_path: Path, cut: float) -> None:
    data = EXAMPLE.read_bytes()
    f = tmp_path / "cut.onnx"
    f.write_bytes(data[: int(len(data) * cut)])
    assert_user_error(tte_cli("inspect", str(f)), str(f))


def test_inspect_example_json_counts_macs() -> None:
    res = tte_cli("inspect", str(EXAMPLE), "--json")
    assert res.returncode == 0, res.stderr
    s = json.loads(res.stdout)
    import onnx
    from onnx import numpy_helper, shape_inference

    # MACs and parameters counted independently from the ONNX file itself
    m = shape_inference.infer_shapes(onnx.load(str(EXAMPLE)))
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in list(m.graph.value_info) + list(m.graph.output)}
    macs = 0
    for n in m.graph.node:
        if n.op_type == "Conv":
            w = inits[n.input[1]]
            out = shapes[n.output[0]]
            macs += int(np.prod(out)) * int(np.prod(w.shape[1:]))
        elif n.op_type in ("Gemm", "MatMul"):
            macs += int(inits[n.input[1]].size)
    assert s["macs"] == macs
    assert s["inputs"][0]["shape"] == [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
    assert s["op_counts"].get("conv2d", 0) == sum(n.op_type == "Conv" for n in m.graph.node)


def test_quantize_command_writes_tflite(tmp_path: Path) -> None:
    calib = tmp_path / "calib.npy"
    np.save(calib, np.random.default_rng(0).uniform(0, 1, (16, 1, 28, 28)).astype(np.float32))
    out = tmp_path / "m.tflite"
    res = tte_cli("quantize", str(EXAMPLE), "--calibration", str(calib), "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert out.read_bytes()[4:8] == b"TFL3"
    bad = tte_cli("quantize", str(EXAMPLE), "--calibration", str(tmp_path / "none.npy"), "-o",
                  str(tmp_path / "n.tflite"))
    assert_user_error(bad, "none.npy")
    assert not (tmp_path / "n.tflite").exists()


