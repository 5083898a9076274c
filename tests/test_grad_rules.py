"""Each gradient rule against PyTorch autograd and central finite differences, in float64.

The forward used for both oracles is PyTorch's own (F.conv2d, F.avg_pool2d, ...), so the
rules are checked against an implementation that shares no code with tte.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from tte.reference import grad_ops as G

torch.set_num_threads(1)


def nchw(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(np.transpose(a, (0, 3, 1, 2)), dtype=torch.float64, requires_grad=True)


def nhwc(t: torch.Tensor) -> np.ndarray:
    return np.transpose(t.detach().numpy(), (0, 2, 3, 1))


def directional_fd(f, x: np.ndarray, v: np.ndarray, eps: float = 1e-6) -> float:  # type: ignore[no-untyped-def]
    return float((f(x + eps * v) - f(x - eps * v)) / (2 * eps))


@st.composite
def conv_case(draw):  # type: ignore[no-untyped-def]
    depthwise = draw(st.booleans())
    k = draw(st.sampled_from([3, 5, 7] if depthwise else [1, 3, 5]))
    stride = draw(st.sampled_from([1, 2]))
    cin = draw(st.integers(1, 4))
    if depthwise:
        groups, cout = cin, cin * draw(st.sampled_from([1, 2]))
    else:
        groups = draw(st.sampled_from([g for g in (1, 2) if cin % g == 0]))
        cout = groups * draw(st.integers(1, 3))
    pads = tuple(draw(st.integers(0, k // 2)) for _ in range(4))
    h = draw(st.integers(max(1, k - pads[0] - pads[2]), 9))
    w = draw(st.integers(max(1, k - pads[1] - pads[3]), 9))
    n = draw(st.integers(1, 2))
    seed = draw(st.integers(0, 2**31 - 1))
    return n, h, w, cin, cout, k, stride, pads, groups, seed


@given(conv_case())
def test_conv2d_rules(case) -> None:  # type: ignore[no-untyped-def]
    n, h, w, cin, cout, k, stride, pads, groups, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, h, w, cin))
    wt = rng.standard_normal((cout, k, k, cin // groups))
    bias = rng.standard_normal(cout)
    pt, pl, pb, pr = pads

    def fwd(xt: torch.Tensor, wtt: torch.Tensor, bt: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(xt, (pl, pr, pt, pb)), wtt, bt, stride=stride, groups=groups)

    xt, wtt = nchw(x), torch.tensor(np.transpose(wt, (0, 3, 1, 2)), requires_grad=True)
    bt = torch.tensor(bias, requires_grad=True)
    y = fwd(xt, wtt, bt)
    dy = rng.standard_normal(y.shape)
    gx, gw, gb = torch.autograd.grad(y, (xt, wtt, bt), torch.tensor(dy))
    dy_nhwc = np.transpose(dy, (0, 2, 3, 1))
    attrs = {"strides": (stride, stride), "pads": pads, "dilations": (1, 1), "groups": groups,
             "kernel": (k, k), "out_channels": (), "in_channels": ()}
    dx = G.conv2d_grad_input(dy_nhwc, wt, attrs, x.shape)
    dw = G.conv2d_grad_weight(x, dy_nhwc, attrs)
    db = dy_nhwc.reshape(-1, cout).sum(0)
    np.testing.assert_allclose(dx, nhwc(gx), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dw, np.transpose(gw.numpy(), (0, 2, 3, 1)), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(db, gb.numpy(), rtol=1e-10, atol=1e-10)

    # finite differences of L = <conv(x, w), dy> along random directions
    def loss_x(xv: np.ndarray) -> float:
        return float((fwd(nchw(xv), wtt, bt) * torch.tensor(dy)).sum().detach())

    def loss_w(wv: np.ndarray) -> float:
        return float((fwd(xt, torch.tensor(np.transpose(wv, (0, 3, 1, 2))), bt) * torch.tensor(dy)).sum().detach())

    vx, vw = rng.standard_normal(x.shape), rng.standard_normal(wt.shape)
    assert directional_fd(loss_x, x, vx) == pytest.approx(float((dx * vx).sum()), rel=1e-6, abs=1e-6)
    assert directional_fd(loss_w, wt, vw) == pytest.approx(float((dw * vw).sum()), rel=1e-6, abs=1e-6)


@given(st.integers(0, 2**31 - 1), st.integers(1, 4), st.integers(1, 5))
def test_partial_channel_weight_gradient_is_a_slice(seed: int, cout: int, cin: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 6, 6, cin))
    dy = rng.standard_normal((2, 6, 6, cout))
    base = {"strides": (1, 1), "pads": (1, 1, 1, 1), "dilations": (1, 1), "groups": 1, "kernel": (3, 3)}
    full = G.conv2d_grad_weight(x, dy, {**base, "out_channels": (), "in_channels": ()})
    oc = tuple(sorted(rng.choice(cout, size=max(1, cout // 2), replace=False).tolist()))
    ic = tuple(sorted(rng.choice(cin, size=max(1, cin // 2), replace=False).tolist()))
    part = G.conv2d_grad_weight(x, dy, {**base, "out_channels": oc, "in_channels": ic})
    np.testing.assert_array_equal(part, full[list(oc)][..., list(ic)])


@given(st.integers(0, 2**31 - 1), st.sampled_from([2, 3]), st.sampled_from([1, 2]), st.integers(0, 1),
       st.booleans())
def test_avgpool_rule(seed: int, k: int, s: int, p: int, include_pad: bool) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 7, 6, 3))
    xt = nchw(x)
    y = F.avg_pool2d(xt, k, s, p, count_include_pad=include_pad)
    dy = rng.standard_normal(y.shape)
    (gx,) = torch.autograd.grad(y, (xt,), torch.tensor(dy))
    attrs = {"kernel": (k, k), "strides": (s, s), "pads": (p, p, p, p), "count_include_pad": include_pad}
    dx = G.avgpool2d_grad(np.transpose(dy, (0, 2, 3, 1)), attrs, x.shape)
    np.testing.assert_allclose(dx, nhwc(gx), rtol=1e-10, atol=1e-12)


@given(st.integers(0, 2**31 - 1), st.integers(1, 3), st.integers(1, 6), st.integers(1, 5))
def test_fc_rules(seed: int, n: int, k: int, m: int) -> None:
    rng = np.random.default_rng(seed)
    x, w, bias = rng.standard_normal((n, k)), rng.standard_normal((m, k)), rng.standard_normal(m)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, bias))
    y = F.linear(xt, wt, bt)
    dy = rng.standard_normal(y.shape)
    gx, gw, gb = torch.autograd.grad(y, (xt, wt, bt), torch.tensor(dy))
    from tte.reference.registry import KERNELS

    ctx = SimpleNamespace(attrs={"out_channels": (), "in_channels": ()}, inputs=[None, None])
    np.testing.assert_allclose(KERNELS[("fc_grad_weight", "float32")](ctx, [x, dy])[0], gw.numpy(), rtol=1e-12)
    np.testing.assert_allclose(KERNELS[("bias_grad", "float32")](ctx, [dy])[0], gb.numpy(), rtol=1e-12)
    np.testing.assert_allclose(KERNELS[("fc_grad_input", "float32")](ctx, [dy, w])[0], gx.numpy(), rtol=1e-12)


@given(st.integers(0, 2**31 - 1), st.sampled_from(["relu", "relu6"]))
def test_activation_mask_rule(seed: int, act: str) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, 5)) * 5
    xt = torch.tensor(x, requires_grad=True)
    y = F.relu(xt) if act == "relu" else F.relu6(xt)
    dy = rng.standard_normal(x.shape)
    (gx,) = torch.autograd.grad(y, (xt,), torch.tensor(dy))
    mask = G.act_mask(y.detach().numpy(), {"activation": act, "min": None, "max": None})
    np.testing.assert_array_equal(np.where(mask, dy, 0.0), gx.numpy())


@given(st.integers(0, 2**31 - 1), st.integers(1, 4), st.integers(2, 7))
def test_softmax_cross_entropy_rule(seed: int, n: int, c: int) -> None:
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, c)) * 3
    label = rng.integers(0, c, n)
    zt = torch.tensor(z, requires_grad=True)
    loss = F.cross_entropy(zt, torch.tensor(label))
    (gz,) = torch.autograd.grad(loss, (zt,))
    assert float(G.softmax_ce_loss(z, label)) == pytest.approx(float(loss.detach()), rel=1e-12)
    np.testing.assert_allclose(G.softmax_ce_grad(z, label), gz.numpy(), rtol=1e-10, atol=1e-14)
    v = rng.standard_normal(z.shape)
    fd = directional_fd(lambda zz: float(G.softmax_ce_loss(zz, label)), z, v)
    assert fd == pytest.approx(float((G.softmax_ce_grad(z, label) * v).sum()), rel=1e-6, abs=1e-8)


@given(st.integers(0, 2**31 - 1))
def test_softmax_and_mean_rules(seed: int) -> None:
    from tte.reference.registry import KERNELS

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 3, 4, 5))
    xt = torch.tensor(x, requires_grad=True)
    y = torch.softmax(xt, dim=-1)
    dy = rng.standard_normal(x.shape)
    (gx,) = torch.autograd.grad(y, (xt,), torch.tensor(dy))
    ctx = SimpleNamespace(attrs={"axis": -1, "beta": 1.0}, inputs=[None, None])
    np.testing.assert_allclose(KERNELS[("softmax_grad", "float32")](ctx, [y.detach().numpy(), dy])[0],
                               gx.numpy(), rtol=1e-10, atol=1e-12)
    m = xt.mean(dim=(1, 2))
    dm = rng.standard_normal(m.shape)
    (gm,) = torch.autograd.grad(m, (xt,), torch.tensor(dm))
    np.testing.assert_allclose(G.mean_grad(dm, {"axes": (1, 2), "keepdims": False}, x.shape), gm.numpy(),
                               rtol=1e-12)
