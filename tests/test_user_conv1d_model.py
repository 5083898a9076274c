"""A user's own float PyTorch model (Conv1d, MaxPool, Sigmoid gate, Concat), exported to
ONNX: quantize -> train -> compile -> build -> QEMU; the trained weights' CRC on QEMU
equals the host simulation's, and the host C agrees with the numpy reference."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from fwtools import assert_qemu_trains_like_host, needs_arm_gcc, needs_qemu

import tte
from tte.training.trainer import Trainer


class SensorNet(torch.nn.Module):
    """Two conv branches over a max-pooled 1-D feature map, joined by concat."""

    def __init__(self, gate: bool) -> None:
        super().__init__()
        self.gate = gate
        self.c1 = torch.nn.Conv1d(3, 8, 5, padding=2)
        self.c2 = torch.nn.Conv1d(8, 8, 3, padding=1)
        self.c3 = torch.nn.Conv1d(8, 4, 1)
        self.fc = torch.nn.Linear(12 * 16, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.nn.functional.max_pool1d(torch.relu(self.c1(x)), 2)
        a, b = torch.relu(self.c2(y)), self.c3(y)
        if self.gate:
            b = torch.sigmoid(b)
        z = torch.nn.functional.max_pool1d(torch.cat([a, b], dim=1), 2)
        return self.fc(z.flatten(1))


def exported(gate: bool) -> bytes:
    """The model as torch's default exporter writes it (dynamo, onnxscript)."""
    with warnings.catch_warnings(), torch.random.fork_rng():
        warnings.simplefilter("ignore")
        torch.manual_seed(0)
        program = torch.onnx.export(SensorNet(gate).eval(), (torch.randn(1, 3, 64),), dynamo=True, verbose=False)
    assert program is not None
    return program.model_proto.SerializeToString()


def quantized(gate: bool) -> tuple[tte.Graph, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((32, 3, 64)).astype(np.float32)
    ys = rng.integers(0, 5, 32)
    return tte.quantize(tte.load(exported(gate)), calibration=xs), xs, ys


@pytest.mark.parametrize("gate", [False, True], ids=["conv1d-maxpool-concat", "with-sigmoid"])
def test_host_c_training_matches_the_reference(gate: bool) -> None:
    q, xs, ys = quantized(gate)
    ops = {n.op for n in q.nodes}
    assert {"conv2d", "maxpool2d", "concat"} <= ops
    ref = Trainer(q, scheme="full", engine="ref", seed=0)
    host = Trainer(q, scheme="full", engine="c", seed=0)
    ref_losses, c_losses = [], []
    for i in range(3):
        ref_losses.append(ref.step(xs[i:i + 1], ys[i:i + 1]))
        c_losses.append(host.step(xs[i:i + 1], ys[i:i + 1]))
    np.testing.assert_allclose(c_losses, ref_losses, rtol=1e-5)
    # the first conv lies below both max pools and the concat, and it was trained
    w0 = q.tensors["c1.weight"].data
    assert not np.array_equal(host.graph.weights()["c1.weight"], w0)


@needs_arm_gcc
@needs_qemu
@pytest.mark.parametrize("gate", [False, True], ids=["conv1d-maxpool-concat", "with-sigmoid"])
def test_trained_weights_crc_on_qemu_equals_the_host(gate: bool) -> None:
    q, xs, ys = quantized(gate)
    from tte.compiler.compile import compile_model

    report = compile_model(q, board="qemu-mps2-an500", scheme="auto", emit_c=False)
    assert report["scheme"] == "full" and not report.get("auto_skipped")
    assert_qemu_trains_like_host(q, "full", xs[:2], ys[:2])
