"""What converters write by default, beyond the six shipped models (test_mltk_models.py):
a float .tflite (imported like a float ONNX model, then quantized with calibration data),
a hybrid one (refused, with the reason), and a torch export with a dynamic batch."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import tflite
from click.testing import CliRunner
from test_tflite_import import small_cnn
from tflite_oracles import run_litert, run_tflm

import tte
from tte.cli import main
from tte.errors import TteError
from tte.export.tflite import _LOWER, _Lowering, serialize
from tte.reference import execute


def _lowered_cnn() -> _Lowering:
    g = small_cnn()
    g.outputs = ["probs"]
    low = _Lowering(g)
    for name in g.inputs:
        low.tensor(name)
    for n in g.nodes:
        _LOWER[n.op](low, n)
    assert all(op.code != tflite.BuiltinOperator.QUANTIZE for op in low.ops)
    return low


def _to_float(low: _Lowering, *, weights: bool = True) -> bytes:
    """The same network in float32: constants dequantized (or kept int8 when not
    ``weights``: a hybrid model), activations float without quantization."""
    for t in low.tensors:
        if t.quant is None:
            continue
        if t.data:
            if not weights and t.ttype == tflite.TensorType.INT8:
                continue
            dt = np.int8 if t.ttype == tflite.TensorType.INT8 else np.int32
            a = np.frombuffer(t.data, dt).reshape(t.shape).astype(np.float64)
            shape = [1] * len(t.shape)
            if t.quant.axis is not None:
                shape[t.quant.axis] = -1
            a = (a - t.quant.zero_point.reshape(shape)) * t.quant.scale.astype(np.float64).reshape(shape)
            t.data = a.astype(np.float32).tobytes()
        t.ttype, t.quant = tflite.TensorType.FLOAT32, None
    return serialize(low)


def test_float_tflite_matches_both_runtimes_then_quantizes_compiles_and_trains(tmp_path: Path) -> None:
    model = _to_float(_lowered_cnn())
    g = tte.load(model)
    assert not g.is_quantized and g.tensors["image"].dtype == "float32"
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 9, 9, 3)).astype(np.float32)
    ours = execute(g, {"image": x})["probs"]
    np.testing.assert_allclose(ours, run_litert(model, {"image": x})["probs"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours, run_tflm(model, [x])[0], rtol=1e-5, atol=1e-6)

    path, calib = tmp_path / "float_cnn.tflite", tmp_path / "calib.npy"
    path.write_bytes(model)
    np.save(calib, rng.standard_normal((16, 9, 9, 3)).astype(np.float32))
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["compile", str(path), "--calibration", str(calib), "--scheme", "last-k:2",
                                  "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert json.loads((out / "report.json").read_text())["scheme"] == "last-k:2"

    q = tte.quantize(g, calibration=np.load(calib))
    tr = tte.Trainer(q, scheme="last-k:2", engine="c", lr=0.05)
    y = np.argmin(np.asarray(tte.run(q, x)), axis=1)
    losses = [tr.step(x, y) for _ in range(3)]
    assert losses[2] < losses[0], losses


def test_hybrid_tflite_is_refused_with_the_reason() -> None:
    with pytest.raises(TteError, match=r"hybrid \(dynamic-range\) quantized model: operator 0 \(CONV_2D\)"):
        tte.load(_to_float(_lowered_cnn(), weights=False))


def _torch_export_dynamic_batch() -> bytes:
    torch = pytest.importorskip("torch")

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
            self.fc = torch.nn.Linear(4 * 8 * 8, 5)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = torch.relu(self.conv(x))
            return self.fc(y.view(y.size(0), -1))    # Shape -> Gather -> Concat -> Reshape

    torch.manual_seed(0)
    buf = io.BytesIO()
    torch.onnx.export(Net().eval(), (torch.randn(2, 3, 8, 8),), buf, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, dynamo=False)
    return buf.getvalue()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")   # torch's TorchScript exporter: dynamic_axes
def test_torch_export_with_a_dynamic_batch_imports_quantizes_and_trains() -> None:
    ort = pytest.importorskip("onnxruntime")
    data = _torch_export_dynamic_batch()
    g = tte.load(data)
    assert g.meta["notes"] == ["dynamic batch ('batch' on input 'x') fixed to 1"]
    rng = np.random.default_rng(1)
    xs = rng.standard_normal((4, 3, 8, 8)).astype(np.float32)
    want = ort.InferenceSession(data).run(None, {"x": xs})[0]
    np.testing.assert_allclose(tte.run(g, xs), want, rtol=1e-4, atol=1e-5)
    q = tte.quantize(g, calibration=xs)
    tr = tte.Trainer(q, scheme="last-k:2", engine="c", lr=0.05)
    y = np.argmin(np.asarray(tte.run(q, xs[:1])), axis=1)
    losses = [tr.step(xs[:1], y) for _ in range(3)]
    assert losses[2] < losses[0], losses


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_ort_qdq_model_with_float_io_compiles_and_trains(tmp_path: Path) -> None:
    """onnxruntime's static QDQ quantization keeps the float input and output (QuantizeLinear
    first, DequantizeLinear last) and the dynamic batch: the generated C takes and returns
    floats and computes what the reference does, byte for byte."""
    from test_onnx_import import ort_static_qdq

    from tte.targets.sim import Simulator

    rng = np.random.default_rng(2)
    calib = [{"x": rng.standard_normal((1, 3, 8, 8)).astype(np.float32)} for _ in range(8)]

    g = tte.load(ort_static_qdq(_torch_export_dynamic_batch(), calib, tmp_path))
    x_name, y_name = g.inputs[0], g.outputs[0]
    assert g.is_quantized and (g.tensors[x_name].dtype, g.tensors[y_name].dtype) == ("float32", "float32")
    sim = Simulator.from_graph(g, scheme="last-k:2")
    for x in rng.standard_normal((3, 1, 8, 8, 3)).astype(np.float32):
        want = execute(g, {x_name: x})[y_name]
        np.testing.assert_array_equal(sim.infer(x), want)
    x = calib[0]["x"]
    y = np.argmin(np.asarray(tte.run(g, x)), axis=1)
    tr = tte.Trainer(g, scheme="last-k:2", engine="c", lr=0.05)
    losses = [tr.step(x, y) for _ in range(3)]
    assert losses[2] < losses[0], losses
