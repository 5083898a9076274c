"""Gradient rules of max pool, concat, slice and pad against PyTorch autograd and finite
differences (float64), and one SGD step through all of them against PyTorch's."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from tte.errors import TteError
from tte.ir import Graph, Tensor
from tte.reference import execute
from tte.reference.structural_ops import maxpool2d_grad
from tte.training.autodiff import ParamUpdate, derive_training_graph

torch.set_num_threads(1)


def nchw(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(np.transpose(a, (0, 3, 1, 2)), dtype=torch.float64, requires_grad=True)


def nhwc(t: torch.Tensor) -> np.ndarray:
    return np.transpose(t.detach().numpy(), (0, 2, 3, 1))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from([(2, 2), (3, 3), (2, 3)]), st.sampled_from([1, 2, 3]),
       st.integers(0, 1))
def test_maxpool_rule_matches_pytorch_and_finite_differences(seed: int, k: tuple[int, int], s: int, p: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 7, 6, 3))
    xt = nchw(x)
    y = F.max_pool2d(xt, k, s, p)          # PyTorch pads with -inf: padding never wins
    dy = rng.standard_normal(y.shape)
    (gx,) = torch.autograd.grad(y, (xt,), torch.tensor(dy))
    attrs = {"kernel": k, "strides": (s, s), "pads": (p, p, p, p)}
    dx = maxpool2d_grad(np.transpose(dy, (0, 2, 3, 1)), x, attrs)
    np.testing.assert_allclose(dx, nhwc(gx), rtol=1e-12, atol=1e-12)
    v = rng.standard_normal(x.shape)
    eps = 1e-7

    def loss(xv: np.ndarray) -> float:
        return float((F.max_pool2d(nchw(xv), k, s, p) * torch.tensor(dy)).sum().detach())

    fd = (loss(x + eps * v) - loss(x - eps * v)) / (2 * eps)
    assert fd == pytest.approx(float((dx * v).sum()), rel=1e-5, abs=1e-6)


def test_maxpool_ties_go_to_the_first_window_position() -> None:
    """int8 values tie often: the first largest (row-major) wins, as in PyTorch."""
    x = np.zeros((1, 4, 4, 1))
    x[0, 1, 1, 0] = x[0, 0, 1, 0] = 1.0           # two maxima in the first 2x2 window
    dy = np.ones((1, 2, 2, 1))
    dx = maxpool2d_grad(dy, x, {"kernel": (2, 2), "strides": (2, 2), "pads": (0, 0, 0, 0)})
    xt = nchw(x)
    (gx,) = torch.autograd.grad(F.max_pool2d(xt, 2, 2), (xt,), torch.tensor(np.ones((1, 1, 2, 2))))
    np.testing.assert_array_equal(dx, nhwc(gx))
    assert dx[0, 0, 1, 0] == 1.0 and dx[0, 1, 1, 0] == 0.0


def structural_net(seed: int = 0) -> Graph:
    """conv+relu -> maxpool -> slice (two channel groups) -> concat (swapped, with a second
    conv branch) -> pad -> slice (crop) -> reshape -> fc."""
    rng = np.random.default_rng(seed)
    g = Graph("structural")
    g.add_tensor(Tensor("x", (1, 8, 8, 2)))
    g.inputs = ["x"]

    def const(name: str, shape: tuple[int, ...], scale: float) -> str:
        g.add_const(name, (rng.standard_normal(shape) * scale).astype(np.float32))
        return name

    g.add_node("conv2d", ["x", const("c1.w", (6, 3, 3, 2), 0.5), const("c1.b", (6,), 0.2)], "a1",
               {"pads": (1, 1, 1, 1), "activation": "relu"})
    g.add_node("maxpool2d", ["a1"], "m", {"kernel": (2, 2), "strides": (2, 2)})
    g.add_node("slice", ["m"], "lo", {"begin": (0, 0, 0, 0), "end": (1, 4, 4, 2), "strides": (1, 1, 1, 1)})
    g.add_node("slice", ["m"], "hi", {"begin": (0, 0, 0, 2), "end": (1, 4, 4, 6), "strides": (1, 1, 1, 1)})
    g.add_node("conv2d", ["m", const("c2.w", (3, 1, 1, 6), 0.5), const("c2.b", (3,), 0.2)], "b")
    g.add_node("concat", ["hi", "b", "lo"], "cat", {"axis": 3})
    g.add_node("pad", ["cat"], "pd", {"pads": ((0, 0), (1, 0), (0, 1), (0, 0))})
    g.add_node("slice", ["pd"], "cr", {"begin": (0, 0, 1, 0), "end": (1, 5, 5, 9), "strides": (1, 1, 1, 1)})
    g.add_node("reshape", ["cr"], "flat", {"shape": (1, 5 * 4 * 9)})
    g.add_node("fully_connected", ["flat", const("fc.w", (4, 180), 0.2), const("fc.b", (4,), 0.1)], "y")
    g.outputs = ["y"]
    g.validate()
    return g


def torch_grads(g: Graph, x: np.ndarray, label: np.ndarray) -> dict[str, np.ndarray]:
    p = {k: torch.tensor(v.astype(np.float64), requires_grad=True) for k, v in g.weights().items()}
    xt = torch.tensor(np.transpose(x, (0, 3, 1, 2)), dtype=torch.float64)

    def conv(t: torch.Tensor, name: str, pad: int) -> torch.Tensor:
        return F.conv2d(t, p[f"{name}.w"].permute(0, 3, 1, 2), p[f"{name}.b"], padding=pad)

    a1 = F.relu(conv(xt, "c1", 1))
    m = F.max_pool2d(a1, 2, 2)
    cat = torch.cat([m[:, 2:6], conv(m, "c2", 0), m[:, 0:2]], dim=1)
    pd = F.pad(cat, (0, 1, 1, 0))                       # (left, right, top, bottom) in NCHW
    cr = pd[:, :, 0:5, 1:5]
    flat = cr.permute(0, 2, 3, 1).reshape(len(x), -1)   # NHWC flattening, as the IR does
    y = F.linear(flat, p["fc.w"], p["fc.b"])
    loss = F.cross_entropy(y, torch.tensor(label, dtype=torch.long))
    grads = torch.autograd.grad(loss, list(p.values()))
    return {k: gr.numpy() for k, gr in zip(p, grads)}


def test_one_sgd_step_through_structural_ops_matches_pytorch() -> None:
    g = structural_net()
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, (3, 8, 8, 2)).astype(np.float32)
    label = rng.integers(0, 4, 3).astype(np.int32)
    lr = 0.5
    plan = {name: ParamUpdate() for name in g.weights()}
    tg = derive_training_graph(g, plan, lr=lr)
    ops = {n.op for n in tg.graph.nodes[tg.forward_nodes:]}
    assert {"maxpool2d_grad", "slice", "pad"} <= ops
    out = execute(tg.graph, {"x": x, tg.label: label})
    ref = torch_grads(g, x.astype(np.float64), label)
    for name in plan:
        grad = (g.tensors[name].data.astype(np.float64) - out[tg.updates[name]]) / lr
        np.testing.assert_allclose(grad, ref[name], rtol=2e-4, atol=2e-6, err_msg=name)


def test_strided_slice_on_the_backward_path_is_refused_by_name() -> None:
    g = Graph("s")
    g.add_tensor(Tensor("x", (1, 6)))
    g.inputs = ["x"]
    g.add_const("w", np.ones((4, 6), np.float32))
    g.add_node("fully_connected", ["x", "w"], "h")
    g.add_node("slice", ["h"], "s", {"begin": (0, 0), "end": (1, 4), "strides": (1, 2)})
    g.add_const("w2", np.ones((2, 2), np.float32))
    g.add_node("fully_connected", ["s", "w2"], "y")
    g.outputs = ["y"]
    with pytest.raises(TteError, match="strided slice"):
        derive_training_graph(g, {"w": ParamUpdate(), "w2": ParamUpdate()})


def test_every_op_without_a_gradient_rule_on_the_path_is_named() -> None:
    g = Graph("mm")
    g.add_tensor(Tensor("x", (1, 4)))
    g.inputs = ["x"]
    g.add_const("w", np.ones((4, 4), np.float32))
    g.add_node("fully_connected", ["x", "w"], "h")
    g.add_const("k", np.ones((4, 4), np.float32))
    g.add_tensor(Tensor("kv", (4, 4)))
    g.inputs.append("kv")
    g.add_node("matmul", ["h", "kv"], "m1")
    g.add_node("matmul", ["m1", "kv"], "m2")
    g.add_node("fully_connected", ["m2", "k"], "y")
    g.outputs = ["y"]
    with pytest.raises(TteError, match=r"no gradient rule for op matmul: they lie .*\(nodes m1, m2\)"):
        derive_training_graph(g, {"w": ParamUpdate(), "k": ParamUpdate()})
