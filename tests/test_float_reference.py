"""The float reference's matrix products are the correctly rounded float32 of the exact sum.

PTQ calibration reads activation ranges off these kernels. Summed in float32 by BLAS, the last
bits depend on the BLAS kernel picked for the CPU (blocking, FMA, vector width), so the same
commit quantized a model differently on another machine. Summed in float64 (float32 products
are exact there) and rounded once, they equal float32(math.fsum(...)), whatever the kernel.
"""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import tte
from tte.reference import execute


def _run(nodes: list[onnx.NodeProto], x: np.ndarray, y_shape: list[int], inits: dict[str, np.ndarray]) -> np.ndarray:
    g = helper.make_graph(nodes, "m", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)],
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    graph = tte.load(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    xt = graph.tensors[graph.inputs[0]]
    feed = x if xt.source_perm is None else np.ascontiguousarray(np.transpose(x, np.argsort(xt.source_perm)))
    out = execute(graph, {graph.inputs[0]: feed})[graph.outputs[0]]
    yt = graph.tensors[graph.outputs[0]]
    return out if yt.source_perm is None else np.transpose(out, yt.source_perm)


def _exact(terms: np.ndarray) -> np.float32:
    return np.float32(math.fsum(float(t) for t in terms))


def test_fully_connected_is_correctly_rounded() -> None:
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((3, 96)) * np.exp(rng.uniform(-4, 4, 96))).astype(np.float32)
    w = rng.standard_normal((7, 96)).astype(np.float32)
    b = rng.standard_normal(7).astype(np.float32)
    got = _run([helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)], x, [3, 7], {"w": w, "b": b})
    want = np.array([[_exact(np.append(x[i].astype(np.float64) * w[o], b[o])) for o in range(7)] for i in range(3)])
    np.testing.assert_array_equal(got, want)


def test_conv2d_is_correctly_rounded() -> None:
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((1, 8, 5, 5)) * np.exp(rng.uniform(-4, 4, (1, 8, 1, 1)))).astype(np.float32)
    w = rng.standard_normal((4, 8, 3, 3)).astype(np.float32)
    got = _run([helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3])], x, [1, 4, 3, 3], {"w": w})
    want = np.empty((1, 4, 3, 3), np.float32)
    for o in range(4):
        for r in range(3):
            for c in range(3):
                want[0, o, r, c] = _exact((x[0, :, r:r + 3, c:c + 3].astype(np.float64) * w[o]).ravel())
    np.testing.assert_array_equal(got, want)
