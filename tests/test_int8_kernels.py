"""int8 reference kernels vs LiteRT's reference kernels (and tflite-micro), byte for byte.

Each case builds a tiny random int8 IR graph, exports it with ``tte.export``, runs it
under LiteRT BUILTIN_REF and compares every output with ``tte.reference.execute``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from tflite_oracles import run_litert, run_tflm

from tte.export.tflite import export_tflite, tflite_pads
from tte.ir import Graph, QuantParams, Tensor
from tte.reference import execute

SEEDS = range(12)


def q(scale: float | np.ndarray, zp: int | np.ndarray = 0, axis: int | None = None) -> QuantParams:
    return QuantParams(np.asarray(scale, np.float32), np.asarray(zp), axis)


def rand_q(rng: np.random.Generator, zp_range: int = 40) -> QuantParams:
    return q(float(np.exp(rng.uniform(np.log(2e-3), np.log(0.3)))), int(rng.integers(-zp_range, zp_range + 1)))


def rand_int8(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(-128, 128, shape).astype(np.int8)


def graph_with_input(shape: tuple[int, ...], quant: QuantParams, name: str = "x") -> Graph:
    g = Graph("case")
    g.add_tensor(Tensor(name, shape, "int8", quant=quant))
    g.inputs = [name]
    return g


def check(g: Graph, rng: np.random.Generator, *, tflm: bool = False) -> None:
    g.validate()
    data = export_tflite(g)
    feeds = {n: rand_int8(rng, g.tensors[n].shape) for n in g.inputs}
    ref = execute(g, feeds)
    lit = run_litert(data, feeds)
    for name in g.outputs:
        assert lit[name].dtype == ref[name].dtype, name
        np.testing.assert_array_equal(ref[name], lit[name], err_msg=f"LiteRT, output {name}")
    if tflm:
        outs = run_tflm(data, [feeds[n] for n in g.inputs])
        for name, got in zip(g.outputs, outs):
            np.testing.assert_array_equal(ref[name], got, err_msg=f"tflite-micro, output {name}")


def pads_for(rng: np.random.Generator, mode: str, hw: tuple[int, int], k: tuple[int, int],
             s: tuple[int, int], d: tuple[int, int] = (1, 1)) -> tuple[int, int, int, int]:
    if mode == "explicit":
        return tuple(int(p) for p in rng.integers(0, 3, 4))  # type: ignore[return-value]
    padding = 0 if mode == "same" else 1     # tflite.Padding.SAME / VALID
    _, t, b = tflite_pads(padding, hw[0], k[0], s[0], d[0])
    _, left, r = tflite_pads(padding, hw[1], k[1], s[1], d[1])
    return t, left, b, r


# --------------------------------------------------------------------------------------


def _conv_case(seed: int, kind: str) -> tuple[Graph, np.random.Generator]:
    rng = np.random.default_rng(seed)
    n, h, w = int(rng.integers(1, 3)), int(rng.integers(3, 9)), int(rng.integers(3, 9))
    cin = int(rng.integers(1, 6)) * (2 if kind == "grouped" else 1)
    groups = {"regular": 1, "depthwise": cin, "grouped": 2}[kind]
    cout = groups * int(rng.integers(1, 4))
    k = (int(rng.integers(1, min(h, 3) + 1)), int(rng.integers(1, min(w, 3) + 1)))
    s = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    d = (1, 1) if rng.random() < 0.5 else (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    if (k[0] - 1) * d[0] >= h or (k[1] - 1) * d[1] >= w:
        d = (1, 1)
    mode = ["same", "valid", "explicit"][seed % 3]
    pads = pads_for(rng, mode, (h, w), k, s, d)
    g = graph_with_input((n, h, w, cin), rand_q(rng))
    wq = q(rng.uniform(1e-3, 2e-2, cout), np.zeros(cout, int), 0)
    g.add_const("weights", rng.integers(-127, 128, (cout, *k, cin // groups)).astype(np.int8), quant=wq)
    ins = ["x", "weights"]
    if rng.random() < 0.7:
        g.add_const("bias", rng.integers(-3000, 3000, cout).astype(np.int32))
        ins.append("bias")
    act = ["none", "relu", "relu6"][int(rng.integers(0, 3))]
    g.add_node("conv2d", ins, "y", {"strides": s, "dilations": d, "pads": pads, "groups": groups,
                                    "activation": act}, quant=rand_q(rng))
    g.outputs = ["y"]
    return g, rng


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kind", ["regular", "depthwise"])
def test_conv2d(seed: int, kind: str) -> None:
    g, rng = _conv_case(seed, kind)
    check(g, rng, tflm=seed % 3 == 0)


@pytest.mark.parametrize("seed", range(6))
def test_conv2d_grouped(seed: int) -> None:
    g, rng = _conv_case(seed, "grouped")
    check(g, rng)


@pytest.mark.parametrize("seed", SEEDS)
def test_fully_connected(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k, nout = int(rng.integers(1, 20)), int(rng.integers(1, 10))
    shape = [(int(rng.integers(1, 4)), k), (1, int(rng.integers(1, 4)), k), (2, 1, 3, k)][seed % 3]
    g = graph_with_input(tuple(shape), rand_q(rng))
    per_channel = seed % 2 == 1
    wq = (q(rng.uniform(1e-3, 2e-2, nout), np.zeros(nout, int), 0) if per_channel
          else q(float(rng.uniform(1e-3, 2e-2)), 0))
    g.add_const("fc_w", rng.integers(-127, 128, (nout, k)).astype(np.int8), quant=wq)
    ins = ["x", "fc_w"]
    if seed % 4 != 0:
        g.add_const("fc_b", rng.integers(-2000, 2000, nout).astype(np.int32))
        ins.append("fc_b")
    g.add_node("fully_connected", ins, "y", {"activation": ["none", "relu"][seed % 2]}, quant=rand_q(rng))
    g.outputs = ["y"]
    g.validate()
    data = export_tflite(g)
    x = rand_int8(rng, g.tensors["x"].shape)
    ref = execute(g, {"x": x})["y"]
    # The integer requantization (MultiplyByQuantizedMultiplier) is what tflite-micro,
    # CMSIS-NN and LiteRT's optimized kernels run, and what tte follows.
    np.testing.assert_array_equal(ref, run_tflm(data, [x])[0])
    # LiteRT's BUILTIN_REF fully-connected alone rescales in double precision
    # (round(acc * s_in * s_w / s_out)): check it against that formula independently.
    lit = run_litert(data, {"x": x})["y"]
    np.testing.assert_array_equal(lit, _fc_double_rescale(g, x))
    assert np.abs(lit.astype(int) - ref.astype(int)).max() <= 1


def _fc_double_rescale(g: Graph, x: np.ndarray) -> np.ndarray:
    node = g.nodes[0]
    xt, wt, yt = (g.tensors[n] for n in (node.inputs[0], node.inputs[1], node.outputs[0]))
    assert xt.quant is not None and wt.quant is not None and yt.quant is not None and wt.data is not None
    acc = (x.astype(np.int64) - int(xt.quant.zero_point[0])).reshape(-1, wt.shape[1]) @ wt.data.T.astype(np.int64)
    if len(node.inputs) > 2:
        acc = acc + g.tensors[node.inputs[2]].data
    scale = float(xt.quant.scale[0]) * wt.quant.scale.astype(np.float64) / float(yt.quant.scale[0])
    y = np.round(acc * scale)          # std::round: no .5 ties occur with these random scales
    y = y + int(yt.quant.zero_point[0])
    lo = int(yt.quant.zero_point[0]) if node.attrs["activation"] == "relu" else -128
    return np.clip(y, max(lo, -128), 127).astype(np.int8).reshape(yt.shape)


BROADCASTS = [((2, 3, 4, 5), (2, 3, 4, 5)), ((2, 3, 4, 5), (1, 1, 1, 5)), ((1, 3, 1, 5), (2, 1, 4, 1)),
              ((4, 5), (5,)), ((3, 1), (1, 4)), ((6,), (6,))]


@pytest.mark.parametrize("op", ["add", "mul"])
@pytest.mark.parametrize("seed", SEEDS)
def test_binary(op: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    sa, sb = BROADCASTS[seed % len(BROADCASTS)]
    g = graph_with_input(sa, rand_q(rng), "a")
    g.add_tensor(Tensor("b", sb, "int8", quant=rand_q(rng)))
    g.inputs = ["a", "b"]
    g.add_node(op, ["a", "b"], "y", {"activation": ["none", "relu", "relu6"][seed % 3]}, quant=rand_q(rng))
    g.outputs = ["y"]
    check(g, rng, tflm=seed % 4 == 0)


def _pool_case(op: str, seed: int) -> tuple[Graph, np.random.Generator]:
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(2, 10)), int(rng.integers(2, 10))
    k = (int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1)))
    s = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    mode = ["same", "valid", "explicit"][seed % 3]
    pads = pads_for(rng, mode, (h, w), k, s)
    xq = rand_q(rng)
    g = graph_with_input((int(rng.integers(1, 3)), h, w, int(rng.integers(1, 5))), xq)
    attrs = {"kernel": k, "strides": s, "pads": pads, "activation": ["none", "relu", "relu6"][seed % 3]}
    if op == "avgpool2d":
        attrs["count_include_pad"] = mode == "explicit"
    g.add_node(op, ["x"], "y", attrs, quant=xq if seed % 4 else rand_q(rng))
    g.outputs = ["y"]
    return g, rng


@pytest.mark.parametrize("op", ["avgpool2d", "maxpool2d"])
@pytest.mark.parametrize("seed", SEEDS)
def test_pool(op: str, seed: int) -> None:
    g, rng = _pool_case(op, seed)
    check(g, rng, tflm=seed % 3 == 0)


MEAN_CASES = [((1, 5, 6, 3), (1, 2), True), ((2, 4, 4, 3), (1, 2), False), ((2, 3, 7), (2,), True),
              ((3, 4, 5), (0, 2), False), ((2, 3, 4, 5), (3,), False), ((6, 7), (), True),
              ((1, 16, 17, 2), (1, 2), True), ((4, 130), (1,), True)]


@pytest.mark.parametrize("case", range(len(MEAN_CASES)))
@pytest.mark.parametrize("same_quant", [False, True])
def test_mean(case: int, same_quant: bool) -> None:
    rng = np.random.default_rng(case)
    shape, axes, keep = MEAN_CASES[case]
    xq = rand_q(rng)
    g = graph_with_input(shape, xq)
    g.add_node("mean", ["x"], "y", {"axes": axes, "keepdims": keep}, quant=xq if same_quant else rand_q(rng))
    g.outputs = ["y"]
    check(g, rng, tflm=case % 2 == 0)


@pytest.mark.parametrize("seed", SEEDS)
def test_softmax(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = [(1, 10), (3, 7), (2, 3, 4), (1, 2, 3, 40), (1, 1000)][seed % 5]
    g = graph_with_input(shape, q(float(rng.uniform(0.01, 0.5)), int(rng.integers(-50, 50))))
    out_q = q(1 / 256, -128) if seed % 4 else rand_q(rng)
    g.add_node("softmax", ["x"], "y", {"beta": [1.0, 0.5, 2.0][seed % 3]}, quant=out_q)
    g.outputs = ["y"]
    check(g, rng, tflm=seed % 2 == 0)


@pytest.mark.parametrize("bounds", [None, (0, 6), (-1, 1), (0, 1)])
@pytest.mark.parametrize("seed", range(6))
def test_relu_clip(bounds: tuple[int, int] | None, seed: int) -> None:
    rng = np.random.default_rng(seed)
    g = graph_with_input((2, 3, 5), rand_q(rng))
    out_q = g.tensors["x"].quant if seed % 3 == 0 else rand_q(rng)
    if bounds is None:
        g.add_node("relu", ["x"], "y", quant=out_q)
    else:
        g.add_node("clip", ["x"], "y", {"min": bounds[0], "max": bounds[1]}, quant=out_q)
    g.outputs = ["y"]
    check(g, rng, tflm=bounds in (None, (0, 6)))      # micro has no RELU_N1_TO_1 / RELU_0_TO_1


@pytest.mark.parametrize("dtype", ["int8", "uint8"])
@pytest.mark.parametrize("seed", range(8))
def test_requantize(dtype: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    g = graph_with_input((3, 17), rand_q(rng))
    out_q = rand_q(rng)
    if dtype == "uint8":
        out_q = q(out_q.scale, int(out_q.zero_point[0]) + 128)
    g.add_node("quantize", ["x"], "y", dtype=dtype, quant=out_q)
    g.outputs = ["y"]
    check(g, rng, tflm=dtype == "int8")


@pytest.mark.parametrize("seed", range(8))
def test_data_movement(seed: int) -> None:
    """reshape, transpose and pad, each with kept or changed quantization."""
    rng = np.random.default_rng(seed)
    shape = tuple(int(d) for d in rng.integers(1, 5, 4))
    xq = rand_q(rng)
    g = graph_with_input(shape, xq)
    def keep_or_new() -> QuantParams:
        return xq if rng.random() < 0.5 else rand_q(rng)
    g.add_node("reshape", ["x"], "r", {"shape": (shape[0], int(np.prod(shape[1:])))},
               quant=keep_or_new())
    perm = tuple(int(p) for p in rng.permutation(4))
    g.add_node("transpose", ["x"], "t", {"perm": perm}, quant=keep_or_new())
    pads = tuple((int(a), int(b)) for a, b in rng.integers(0, 3, (4, 2)))
    value = [0.0, float(rng.uniform(-1, 1))][seed % 2]
    g.add_node("pad", ["x"], "p", {"pads": pads, "value": value}, quant=keep_or_new())
    g.outputs = ["r", "t", "p"]
    check(g, rng, tflm=True)


def test_small_network_on_both_runtimes() -> None:
    """A tiny CNN (conv, depthwise, pool, mean, fc, softmax) through both oracles."""
    rng = np.random.default_rng(7)
    g = graph_with_input((1, 12, 12, 2), q(0.02, -3))
    g.add_const("c1_w", rng.integers(-127, 128, (6, 3, 3, 2)).astype(np.int8),
                quant=q(rng.uniform(2e-3, 1e-2, 6), np.zeros(6, int), 0))
    g.add_const("c1_b", rng.integers(-500, 500, 6).astype(np.int32))
    g.add_node("conv2d", ["x", "c1_w", "c1_b"], "c1", {"pads": (1, 1, 1, 1), "activation": "relu6"},
               quant=q(0.03, -128))
    g.add_const("dw_w", rng.integers(-127, 128, (12, 3, 3, 1)).astype(np.int8),
                quant=q(rng.uniform(2e-3, 1e-2, 12), np.zeros(12, int), 0))
    g.add_node("conv2d", ["c1", "dw_w"], "dw", {"groups": 6, "strides": (2, 2), "pads": (0, 0, 1, 1),
                                               "activation": "relu"}, quant=q(0.04, -128))
    g.add_node("maxpool2d", ["dw"], "mp", {"kernel": (2, 2), "strides": (2, 2)}, quant=q(0.04, -128))
    g.add_node("mean", ["mp"], "gap", {"axes": (1, 2), "keepdims": False}, quant=q(0.03, -100))
    g.add_const("fc_w", rng.integers(-127, 128, (4, 12)).astype(np.int8), quant=q(0.01, 0))
    g.add_const("fc_b", rng.integers(-500, 500, 4).astype(np.int32))
    g.add_node("fully_connected", ["gap", "fc_w", "fc_b"], "logits", quant=q(0.1, 3))
    g.add_node("softmax", ["logits"], "probs", quant=q(1 / 256, -128))
    g.outputs = ["probs", "logits"]
    check(g, rng, tflm=True)


def test_batch_differs_from_static_batch() -> None:
    """Kernels are batch-agnostic: a batch of 3 through a graph declared with batch 1."""
    rng = np.random.default_rng(3)
    g = graph_with_input((1, 4, 4, 2), q(0.05, 1))
    g.add_node("reshape", ["x"], "r", {"shape": (1, 32)}, quant=q(0.05, 1))
    g.add_const("w", rng.integers(-127, 128, (3, 32)).astype(np.int8), quant=q(0.01, 0))
    g.add_node("fully_connected", ["r", "w"], "y", quant=q(0.2, 0))
    g.outputs = ["y"]
    x = rand_int8(rng, (3, 4, 4, 2))
    batched = execute(g, {"x": x})["y"]
    single = np.concatenate([execute(g, {"x": x[i:i + 1]})["y"] for i in range(3)])
    np.testing.assert_array_equal(batched, single)


def test_every_int8_op_is_registered() -> None:
    from tte.reference.registry import KERNELS

    ops = ["conv2d", "fully_connected", "add", "mul", "avgpool2d", "maxpool2d", "mean", "reshape",
           "transpose", "pad", "softmax", "relu", "clip", "quantize"]
    assert [op for op in ops if (op, "int8") not in KERNELS] == []


@pytest.mark.parametrize("shape,pads", list(itertools.product([(5, 5), (6, 7)], [(0, 0, 0, 0), (1, 0, 1, 0)])))
def test_avgpool_include_pad_exports_as_pad(shape: tuple[int, int], pads: tuple[int, ...]) -> None:
    rng = np.random.default_rng(0)
    g = graph_with_input((1, *shape, 2), q(0.1, 5))
    g.add_node("avgpool2d", ["x"], "y", {"kernel": (2, 3), "strides": (1, 2), "pads": pads,
                                        "count_include_pad": True}, quant=q(0.1, 5))
    g.outputs = ["y"]
    check(g, rng, tflm=True)
