"""Train the starting model on the workstation: a small MLP (12 features -> 16 -> 3 activities)
on features of a simulated recording (`har_features`, the sensor worn as usual), written as a
float ONNX model for `tte quantize` and `tte compile`.

    python make_model.py population.csv har_mlp.onnx

numpy only (full-batch gradient descent with a fixed seed): the same CSV gives the same file.
"""

from __future__ import annotations

import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HIDDEN = 16
EPOCHS = 400
LR = 0.5


def read_csv(path: str) -> tuple[np.ndarray, np.ndarray]:
    table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64)
    return table[:, :-1].astype(np.float32), table[:, -1].astype(np.int64)


def train(x: np.ndarray, y: np.ndarray, classes: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    n, d = x.shape
    w1 = rng.normal(0, np.sqrt(2 / d), (HIDDEN, d))
    b1 = np.zeros(HIDDEN)
    w2 = rng.normal(0, np.sqrt(1 / HIDDEN), (classes, HIDDEN))
    b2 = np.zeros(classes)
    onehot = np.eye(classes)[y]
    for _ in range(EPOCHS):
        h = np.maximum(x @ w1.T + b1, 0)
        z = h @ w2.T + b2
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        g = (p - onehot) / n                       # softmax cross-entropy gradient
        gh = (g @ w2) * (h > 0)
        w2 -= LR * g.T @ h
        b2 -= LR * g.sum(0)
        w1 -= LR * gh.T @ x
        b1 -= LR * gh.sum(0)
    return [a.astype(np.float32) for a in (w1, b1, w2, b2)]


def accuracy(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
    w1, b1, w2, b2 = params
    return float(np.mean(np.argmax(np.maximum(x @ w1.T + b1, 0) @ w2.T + b2, 1) == y))


def to_onnx(params: list[np.ndarray]) -> onnx.ModelProto:
    w1, b1, w2, b2 = params
    nodes = [helper.make_node("Gemm", ["features", "fc1.weight", "fc1.bias"], ["h"], name="fc1", transB=1),
             helper.make_node("Relu", ["h"], ["h_relu"], name="relu"),
             helper.make_node("Gemm", ["h_relu", "fc2.weight", "fc2.bias"], ["logits"], name="fc2", transB=1)]
    inits = [numpy_helper.from_array(a, n) for a, n in zip(params, ("fc1.weight", "fc1.bias", "fc2.weight",
                                                                     "fc2.bias"), strict=True)]
    graph = helper.make_graph(nodes, "har_mlp",
                              [helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, w1.shape[1]])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, w2.shape[0]])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_model.py")
    onnx.checker.check_model(model, full_check=True)
    return model


def main(csv_path: str, out: str) -> None:
    x, y = read_csv(csv_path)
    params = train(x, y, int(y.max()) + 1)
    onnx.save(to_onnx(params), out)
    print(f"wrote {out}: training accuracy {accuracy(params, x, y):.3f} on {len(x)} windows")


if __name__ == "__main__":
    main(*sys.argv[1:3])
