"""Training graphs: one SGD step equals PyTorch's, and pruning keeps only what the plan needs."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tte.errors import TteError
from tte.ir import Graph, Tensor
from tte.reference import execute
from tte.training.autodiff import ParamUpdate, derive_training_graph

torch.set_num_threads(1)


def residual_net(seed: int = 0) -> Graph:
    """conv3x3+relu6 -> dw3x3+relu6 -> pw1x1 -> +residual -> dw5x5 s2+relu6 -> avgpool -> fc."""
    rng = np.random.default_rng(seed)
    g = Graph("res")
    g.add_tensor(Tensor("x", (1, 8, 8, 3)))
    g.inputs = ["x"]

    def const(name: str, shape: tuple[int, ...], scale: float) -> str:
        g.add_const(name, (rng.standard_normal(shape) * scale).astype(np.float32))
        return name

    g.add_node("conv2d", ["x", const("c1.w", (8, 3, 3, 3), 0.5), const("c1.b", (8,), 0.2)], "a1",
               {"pads": (1, 1, 1, 1), "activation": "relu6"})
    g.add_node("conv2d", ["a1", const("dw1.w", (8, 3, 3, 1), 0.5), const("dw1.b", (8,), 0.2)], "a2",
               {"pads": (1, 1, 1, 1), "groups": 8, "activation": "relu6"})
    g.add_node("conv2d", ["a2", const("pw.w", (8, 1, 1, 8), 0.4), const("pw.b", (8,), 0.2)], "a3")
    g.add_node("add", ["a3", "a1"], "a4")
    g.add_node("conv2d", ["a4", const("dw2.w", (8, 5, 5, 1), 0.3), const("dw2.b", (8,), 0.2)], "a5",
               {"pads": (2, 2, 2, 2), "strides": (2, 2), "groups": 8, "activation": "relu6"})
    g.add_node("avgpool2d", ["a5"], "a6", {"kernel": (4, 4), "strides": (4, 4)})
    g.add_node("reshape", ["a6"], "a7", {"shape": (1, 8)})
    g.add_node("fully_connected", ["a7", const("fc.w", (4, 8), 0.5), const("fc.b", (4,), 0.1)], "y")
    g.outputs = ["y"]
    g.validate()
    return g


def torch_step(g: Graph, x: np.ndarray, label: np.ndarray, lr: float) -> dict[str, np.ndarray]:
    """The same network in PyTorch (NCHW), one SGD step on every parameter."""
    p = {k: torch.tensor(v.astype(np.float64), requires_grad=True) for k, v in g.weights().items()}
    grads = torch_step_grads(g, p, x, label)
    return {k: (v - lr * gr).detach().numpy() for (k, v), gr in zip(p.items(), grads)}


def run_step(tg, g: Graph, x: np.ndarray, label: np.ndarray) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    out = execute(tg.graph, {"x": x, tg.label: label})
    return {p: out[u] for p, u in tg.updates.items()}


def test_one_sgd_step_matches_pytorch() -> None:
    g = residual_net()
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (4, 8, 8, 3)).astype(np.float32)
    label = rng.integers(0, 4, 4).astype(np.int32)
    plan = {name: ParamUpdate() for name in g.weights()}
    tg = derive_training_graph(g, plan, lr=0.1)
    ours = run_step(tg, g, x, label)
    ref = torch_step(g, x, label, 0.1)
    for name in plan:
        np.testing.assert_allclose(ours[name], ref[name], rtol=1e-4, atol=1e-5, err_msg=name)


def op_counts(tg) -> Counter:  # type: ignore[no-untyped-def]
    return Counter(n.op for n in tg.graph.nodes[tg.forward_nodes:])


def test_classifier_only_builds_no_conv_backward() -> None:
    g = residual_net()
    tg = derive_training_graph(g, {"fc.w": ParamUpdate(), "fc.b": ParamUpdate()})
    ops = op_counts(tg)
    assert not any(op.startswith("conv2d_grad") for op in ops)
    assert "act_mask" not in Counter(n.op for n in tg.graph.nodes[:tg.forward_nodes])
    assert ops["fc_grad_weight"] == 1 and ops["fc_grad_input"] == 0
    assert tg.saved == ["a7"]


def test_bias_only_layer_saves_no_activation() -> None:
    g = residual_net()
    plan = {"dw2.b": ParamUpdate(), "fc.w": ParamUpdate(), "fc.b": ParamUpdate()}
    tg = derive_training_graph(g, plan)
    ops = op_counts(tg)
    assert ops["conv2d_grad_weight"] == 0 and ops["conv2d_grad_input"] == 0
    assert ops["bias_grad"] == 2 and ops["mask_grad"] == 1
    # the depthwise layer keeps its 1-bit mask, not its input a4 or output a5
    assert "a4" not in tg.saved and "a5" not in tg.saved and "a5@mask" in tg.saved


def test_partial_channels_update_only_those_channels() -> None:
    g = residual_net()
    sel = ParamUpdate(out_channels=(1, 5, 6), in_channels=(0, 2))
    tg = derive_training_graph(g, {"pw.w": sel}, lr=0.5)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (2, 8, 8, 3)).astype(np.float32)
    new = run_step(tg, g, x, np.array([0, 3], np.int32))["pw.w"]
    old = g.tensors["pw.w"].data
    changed = np.argwhere(np.any(new != old, axis=(1, 2)))
    assert set(map(tuple, changed)) <= {(o, i) for o in (1, 5, 6) for i in (0, 2)}
    assert len(changed) > 0
    full = derive_training_graph(g, {"pw.w": ParamUpdate()}, lr=0.5)
    ref = run_step(full, g, x, np.array([0, 3], np.int32))["pw.w"]
    np.testing.assert_allclose(new[np.ix_([1, 5, 6], [0], [0], [0, 2])],
                               ref[np.ix_([1, 5, 6], [0], [0], [0, 2])], rtol=1e-6)


def test_bad_plans_are_refused() -> None:
    g = residual_net()
    with pytest.raises(TteError, match="'nope' is not a parameter"):
        derive_training_graph(g, {"nope": ParamUpdate()})
    with pytest.raises(TteError, match="'a3' is not a parameter"):
        derive_training_graph(g, {"a3": ParamUpdate()})
    with pytest.raises(TteError, match="unknown loss"):
        derive_training_graph(g, {"fc.b": ParamUpdate()}, loss="hinge")
    with pytest.raises(Exception, match="out_channels subset"):
        derive_training_graph(g, {"fc.w": ParamUpdate(out_channels=(7,))})


def test_standalone_clip_and_relu_backprop_like_pytorch() -> None:
    rng = np.random.default_rng(5)
    g = Graph("clip")
    g.add_tensor(Tensor("x", (1, 5, 5, 2)))
    g.inputs = ["x"]
    g.add_const("c.w", (rng.standard_normal((4, 3, 3, 2)) * 0.6).astype(np.float32))
    g.add_const("fc.w", (rng.standard_normal((3, 4)) * 0.6).astype(np.float32))
    g.add_node("conv2d", ["x", "c.w"], "a1", {"pads": (1, 1, 1, 1)})
    g.add_node("clip", ["a1"], "a2", {"min": -0.5, "max": 0.7})
    g.add_node("relu", ["a2"], "a3")
    g.add_node("avgpool2d", ["a3"], "a4", {"kernel": (5, 5), "strides": (5, 5)})
    g.add_node("reshape", ["a4"], "a5", {"shape": (1, 4)})
    g.add_node("fully_connected", ["a5", "fc.w"], "y")
    g.outputs = ["y"]
    x = rng.uniform(-1, 1, (3, 5, 5, 2)).astype(np.float32)
    label = np.array([0, 2, 1], np.int32)
    tg = derive_training_graph(g, {"c.w": ParamUpdate(), "fc.w": ParamUpdate()}, lr=0.2)
    ours = run_step(tg, g, x, label)
    w = torch.tensor(g.tensors["c.w"].data.astype(np.float64), requires_grad=True)
    f = torch.tensor(g.tensors["fc.w"].data.astype(np.float64), requires_grad=True)
    a = torch.clamp(F.conv2d(torch.tensor(np.transpose(x, (0, 3, 1, 2)).astype(np.float64)),
                             w.permute(0, 3, 1, 2), padding=1), -0.5, 0.7).relu()
    loss = F.cross_entropy(F.linear(a.mean(dim=(2, 3)), f), torch.tensor(label.astype(np.int64)))
    gw, gf = torch.autograd.grad(loss, [w, f])
    np.testing.assert_allclose(ours["c.w"], (w - 0.2 * gw).detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours["fc.w"], (f - 0.2 * gf).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_momentum_matches_pytorch_sgd_over_three_steps() -> None:
    from tte.training.trainer import Trainer

    g = residual_net()
    rng = np.random.default_rng(7)
    batches = [(rng.uniform(-1, 1, (2, 8, 8, 3)).astype(np.float32), rng.integers(0, 4, 2)) for _ in range(3)]
    tr = Trainer(g, scheme="full", precision="fp32", lr=0.1, momentum=0.9)
    params = {k: torch.tensor(v.astype(np.float64), requires_grad=True) for k, v in g.weights().items()}
    opt = torch.optim.SGD(list(params.values()), lr=0.1, momentum=0.9)
    for x, y in batches:
        tr.step(np.transpose(x, (0, 3, 1, 2)) if g.tensors["x"].source_perm else x, y)
        ref = torch_step_grads(g, params, x, y)
        opt.zero_grad()
        for p, gr in zip(params.values(), ref):
            p.grad = gr
        opt.step()
    got = tr.graph.weights()
    for name, p in params.items():
        np.testing.assert_allclose(got[name], p.detach().numpy(), rtol=2e-4, atol=2e-5, err_msg=name)
    assert set(tr.training.state) == {f"{k}@velocity" for k in params}


def torch_step_grads(g: Graph, p: dict[str, torch.Tensor], x: np.ndarray, label: np.ndarray) -> list:
    """Gradients of the residual network's loss in PyTorch (NCHW), float64."""
    def conv_w(name: str) -> torch.Tensor:
        return p[name].permute(0, 3, 1, 2)

    xt = torch.tensor(np.transpose(x, (0, 3, 1, 2)).astype(np.float64))
    a1 = F.relu6(F.conv2d(xt, conv_w("c1.w"), p["c1.b"], padding=1))
    a2 = F.relu6(F.conv2d(a1, conv_w("dw1.w"), p["dw1.b"], padding=1, groups=8))
    a4 = F.conv2d(a2, conv_w("pw.w"), p["pw.b"]) + a1
    a5 = F.relu6(F.conv2d(a4, conv_w("dw2.w"), p["dw2.b"], padding=2, stride=2, groups=8))
    y = F.linear(F.avg_pool2d(a5, 4).flatten(1), p["fc.w"], p["fc.b"])
    loss = F.cross_entropy(y, torch.tensor(np.asarray(label, np.int64)))
    return list(torch.autograd.grad(loss, list(p.values())))
