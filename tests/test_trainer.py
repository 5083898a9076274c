"""int8 training: the QAS update rule (paper Eq. 4) checked by hand, rounding, learning, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from models import EXAMPLE, example_int8

import tte
from tte.reference import execute
from tte.reference.boundary import dequantize_array, quantize_array
from tte.reference.grad_ops import uniform_hash
from tte.training.data import mnist
from tte.training.trainer import Trainer


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("qas", [True, False])
def test_classifier_step_follows_equation_4(qas: bool) -> None:
    """One step on the classifier: W_q -= round(lr * G_W / s) with QAS, round(lr * G_W * s) without."""
    q = example_int8()
    fc = [n for n in q.nodes if n.op == "fully_connected"][-1]
    x_name, w_name, b_name = fc.inputs
    xs, ys = mnist("train")
    x, y = xs[:4], ys[:4]
    lr = 0.5
    tr = Trainer(q, scheme="classifier-only", precision="int8", lr=lr, qas=qas, rounding="nearest")
    # the oracle: the int8 forward's own activations, then the gradient by hand in float64
    feeds = {q.inputs[0]: quantize_array(np.transpose(x, (0, 2, 3, 1)), q.tensors[q.inputs[0]].quant)}
    acts = execute(q, feeds, keep_all=True)
    feat = dequantize_array(acts[x_name], q.tensors[x_name].quant).astype(np.float64).reshape(4, -1)
    logits = dequantize_array(acts[fc.outputs[0]], q.tensors[fc.outputs[0]].quant).astype(np.float64)
    d = softmax(logits)
    d[np.arange(4), y] -= 1
    d /= 4
    g_w, g_b = d.T @ feat, d.sum(axis=0)
    s_w = q.tensors[w_name].quant.scale.astype(np.float64).reshape(-1, 1)
    s_b = q.tensors[b_name].quant.scale.astype(np.float64)
    if qas:
        step_w, step_b = lr * g_w / s_w, lr * g_b / s_b
    else:
        step_w, step_b = lr * g_w * s_w, lr * g_b * s_b

    def rnd(v: np.ndarray) -> np.ndarray:
        return np.sign(v) * np.floor(np.abs(v) + 0.5)

    want_w = np.clip(q.tensors[w_name].data - rnd(step_w), -127, 127)
    want_b = q.tensors[b_name].data - rnd(step_b)
    tr.step(x, y)
    got = tr.graph
    np.testing.assert_allclose(got.tensors[w_name].data, want_w, atol=1)  # float32 vs float64 ties
    assert np.mean(got.tensors[w_name].data == want_w) > 0.99
    np.testing.assert_allclose(got.tensors[b_name].data, want_b, atol=1)
    changed = np.count_nonzero(got.tensors[w_name].data != q.tensors[w_name].data)
    assert (changed > 0) if qas else (changed == 0)  # without QAS the step vanishes below one int8 unit


def test_stochastic_rounding_stream_is_uniform_and_changes_with_step() -> None:
    u0 = uniform_hash(0, 0, (100_000,))
    u1 = uniform_hash(0, 1, (100_000,))
    assert 0.0 <= u0.min() and u0.max() < 1.0
    assert abs(u0.mean() - 0.5) < 0.005 and abs(np.var(u0) - 1 / 12) < 0.002
    hist = np.histogram(u0, bins=10, range=(0, 1))[0]
    assert hist.min() > 9_000
    assert abs(np.corrcoef(u0, u1)[0, 1]) < 0.02
    # floor(delta + u) is unbiased: small updates survive in expectation
    assert abs(np.floor(0.3 + u0).mean() - 0.3) < 0.01


def test_int8_qas_learns_a_new_task() -> None:
    q = example_int8()
    xs, ys = mnist("train")
    xt, yt = mnist("test")
    tr = Trainer(q, scheme="last-k:2", precision="int8", lr=0.05)
    before = tr.evaluate(xt[:300], yt[:300])
    rng = np.random.default_rng(0)
    for i in rng.permutation(len(xs))[:600]:
        tr.step(xs[i:i + 1], ys[i:i + 1])
    after = tr.evaluate(xt[:300], yt[:300])
    assert before < 0.2 and after > 0.5


def test_trained_model_exports_and_litert_agrees(tmp_path: Path) -> None:
    from tflite_oracles import run_litert

    q = example_int8()
    tr = Trainer(q, scheme="last-k:1", precision="int8", lr=0.05)
    xs, ys = mnist("train")
    for i in range(20):
        tr.step(xs[i:i + 1], ys[i:i + 1])
    out = tte.export(tr.graph, tmp_path / "trained.tflite")
    x8 = quantize_array(np.transpose(xs[:1], (0, 2, 3, 1)), q.tensors[q.inputs[0]].quant)
    ours = execute(tr.graph, {q.inputs[0]: x8})[q.outputs[0]]
    (theirs,) = run_litert(out.read_bytes(), [x8]).values()
    np.testing.assert_array_equal(ours, theirs)


def test_train_cli_json() -> None:
    res = subprocess.run([sys.executable, "-m", "tte.cli", "train", str(EXAMPLE), "--data", "mnist",
                          "--samples", "64", "--scheme", "classifier-only", "--json"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    r = json.loads(res.stdout)
    assert r["steps"] == 64 and r["precision"] == "int8" and r["rounding"] == "stochastic"
    assert 0 <= r["accuracy_before"] <= 1 and 0 <= r["accuracy_after"] <= 1
    bad = subprocess.run([sys.executable, "-m", "tte.cli", "train", str(EXAMPLE), "--data", "mnist",
                          "--scheme", "paper:nope:1kb"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "no paper schemes" in bad.stderr
