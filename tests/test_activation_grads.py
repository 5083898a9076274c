"""Gradient rules of the activation family against PyTorch autograd and finite differences
(float64), one SGD step through every op against PyTorch's, and the int8 path (a table of
f' at the dequantized codes)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from tte.ir import Graph, QuantParams, Tensor
from tte.reference import execute
from tte.reference.activation_grads import READS_OUTPUT, derivative, derivative_table, minmax_share
from tte.reference.registry import KERNELS
from tte.training.autodiff import ParamUpdate, derive_training_graph

torch.set_num_threads(1)

TORCH = {"logistic": torch.sigmoid, "tanh": torch.tanh, "hard_swish": F.hardswish,
         "leaky_relu": lambda x: F.leaky_relu(x, 0.2), "gelu": F.gelu,
         "gelu_tanh": lambda x: F.gelu(x, approximate="tanh")}
FORWARD = {"logistic": ("logistic", {}), "tanh": ("tanh", {}), "hard_swish": ("hard_swish", {}),
           "leaky_relu": ("leaky_relu", {"alpha": 0.2}), "gelu": ("gelu", {}),
           "gelu_tanh": ("gelu", {"approximate": True})}


def _forward(fn: str, x: np.ndarray) -> np.ndarray:
    op, attrs = FORWARD[fn]
    g = Graph("f")
    g.add_tensor(Tensor("x", x.shape))
    g.inputs = ["x"]
    g.add_node(op, ["x"], "y", attrs)
    g.outputs = ["y"]
    return execute(g, {"x": x})["y"]


@pytest.mark.parametrize("fn", sorted(TORCH))
@given(seed=st.integers(0, 2**31 - 1))
def test_unary_rule_matches_autograd_and_finite_differences(fn: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, 17)) * 4
    xt = torch.tensor(x, requires_grad=True)
    y = TORCH[fn](xt)
    dy = rng.standard_normal(x.shape)
    (gx,) = torch.autograd.grad(y, (xt,), torch.tensor(dy))
    t = y.detach().numpy() if READS_OUTPUT[fn] else x
    dx = dy * derivative(fn, t, 0.2)
    np.testing.assert_allclose(dx, gx.numpy(), rtol=1e-10, atol=1e-12)
    # finite differences of <f(x), dy> along a random direction (away from kinks)
    v = rng.standard_normal(x.shape)
    eps = 1e-6

    def f(z: np.ndarray) -> float:
        return float((TORCH[fn](torch.tensor(z)).numpy() * dy).sum())

    fd = (f(x + eps * v) - f(x - eps * v)) / (2 * eps)
    assert fd == pytest.approx(float((dx * v).sum()), rel=1e-5, abs=1e-5)
    # and the float forward kernel is PyTorch's function
    x32 = x.astype(np.float32)
    # torch in float64 on the same float32 inputs: its float32 GELU is off by up to 1e-6 in the erf tail
    want = TORCH[fn](torch.tensor(x32.astype(np.float64))).numpy().astype(np.float32)
    np.testing.assert_allclose(_forward(fn, x32), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("op", ["maximum", "minimum"])
@given(seed=st.integers(0, 2**31 - 1))
def test_minmax_rule_matches_autograd_with_ties(op: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.integers(-3, 4, (4, 6)).astype(np.float64)      # small integers: many ties
    b = rng.integers(-3, 4, (4, 6)).astype(np.float64)
    at, bt = (torch.tensor(v, requires_grad=True) for v in (a, b))
    y = (torch.maximum if op == "maximum" else torch.minimum)(at, bt)
    dy = rng.standard_normal(a.shape)
    ga, gb = torch.autograd.grad(y, (at, bt), torch.tensor(dy))
    np.testing.assert_allclose(dy * minmax_share(op, 0, a, b), ga.numpy(), rtol=1e-12)
    np.testing.assert_allclose(dy * minmax_share(op, 1, a, b), gb.numpy(), rtol=1e-12)


def act_net(seed: int = 0) -> Graph:
    """fc -> every activation -> sub / maximum / minimum -> fc, float."""
    rng = np.random.default_rng(seed)
    g = Graph("act")
    g.add_tensor(Tensor("x", (1, 6)))
    g.inputs = ["x"]

    def const(name: str, shape: tuple[int, ...]) -> str:
        g.add_const(name, (rng.standard_normal(shape) * 0.7).astype(np.float32))
        return name

    g.add_node("fully_connected", ["x", const("w1", (8, 6)), const("b1", (8,))], "h")
    g.add_node("logistic", ["h"], "s")
    g.add_node("tanh", ["h"], "t")
    g.add_node("sub", ["s", "t"], "d", {"activation": "relu"})
    g.add_node("hard_swish", ["h"], "hs")
    g.add_node("leaky_relu", ["hs"], "lr", {"alpha": 0.2})
    g.add_node("gelu", ["h"], "ge", {"approximate": True})
    g.add_node("maximum", ["lr", "ge"], "mx")
    g.add_node("minimum", ["mx", "d"], "mn")
    g.add_node("gelu", ["mn"], "g2")
    g.add_node("fully_connected", ["g2", const("w2", (3, 8)), const("b2", (3,))], "y")
    g.outputs = ["y"]
    return g


def torch_act_net(p: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    h = F.linear(x, p["w1"], p["b1"])
    d = F.relu(torch.sigmoid(h) - torch.tanh(h))
    lr = F.leaky_relu(F.hardswish(h), 0.2)
    mx = torch.maximum(lr, F.gelu(h, approximate="tanh"))
    return F.linear(F.gelu(torch.minimum(mx, d)), p["w2"], p["b2"])


def test_one_sgd_step_through_every_op_matches_pytorch() -> None:
    g = act_net()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 6)).astype(np.float32)
    label = rng.integers(0, 3, 4).astype(np.int32)
    plan = {name: ParamUpdate() for name in g.weights()}
    tg = derive_training_graph(g, plan, lr=0.1)
    out = execute(tg.graph, {"x": x, tg.label: label})
    p = {k: torch.tensor(v.astype(np.float64), requires_grad=True) for k, v in g.weights().items()}
    loss = F.cross_entropy(torch_act_net(p, torch.tensor(x, dtype=torch.float64)), torch.tensor(label).long())
    grads = torch.autograd.grad(loss, list(p.values()))
    for (name, v), gr in zip(p.items(), grads):
        want = (v - 0.1 * gr).detach().numpy()
        np.testing.assert_allclose(out[tg.updates[name]], want, rtol=1e-4, atol=1e-5, err_msg=name)
    ops = {n.op for n in tg.graph.nodes}
    assert {"activation_grad", "minmax_grad", "neg"} <= ops


def test_int8_saved_tensor_reads_the_derivative_at_its_code() -> None:
    rng = np.random.default_rng(0)
    q = QuantParams(np.float32(0.05), -7)
    t = Tensor("t", (2, 64), "int8", quant=q)
    codes = rng.integers(-128, 128, (2, 64)).astype(np.int8)
    dy = rng.standard_normal((2, 64)).astype(np.float32)
    from types import SimpleNamespace

    for fn in READS_OUTPUT:
        ctx = SimpleNamespace(attrs={"fn": fn, "alpha": 0.1}, inputs=[t, None])
        got = KERNELS[("activation_grad", "int8")](ctx, [codes, dy])[0]   # type: ignore[arg-type]
        real = ((codes.astype(np.int32) + 7).astype(np.float32) * np.float32(0.05)).astype(np.float64)
        want = dy * derivative(fn, real, 0.1)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7, err_msg=fn)
        assert derivative_table(fn, 0.1, t).dtype == np.float32
