"""int8 activation and elementwise kernels vs tflite-micro and LiteRT's reference kernels.

Each case builds a one-op int8 graph, exports it with ``tte.export`` and compares
``tte.reference.execute`` with both runtimes byte for byte; the unary ops see every one of
the 256 input codes.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_int8_kernels import graph_with_input, q, rand_int8, rand_q
from tflite_oracles import run_litert, run_tflm

from tte.export.tflite import export_tflite
from tte.ir import Graph, Tensor
from tte.reference import execute
from tte.reference.activation_ops import FIXED_OUTPUT_QUANT

SEEDS = range(6)


def all_codes(shape: tuple[int, ...] = (2, 8, 16)) -> np.ndarray:
    return np.arange(-128, 128).astype(np.int8).reshape(shape)


def compare(g: Graph, feeds: dict[str, np.ndarray], *, litert: bool = True, tflm: bool = True) -> None:
    g.validate()
    data = export_tflite(g)
    ref = execute(g, feeds)
    if litert:
        lit = run_litert(data, feeds)
        for name in g.outputs:
            np.testing.assert_array_equal(ref[name], lit[name], err_msg=f"LiteRT, output {name}")
    if tflm:
        outs = run_tflm(data, [feeds[n] for n in g.inputs])
        for name, got in zip(g.outputs, outs):
            np.testing.assert_array_equal(ref[name], got, err_msg=f"tflite-micro, output {name}")


def unary(op: str, seed: int, attrs: dict | None = None, fixed_out: bool = True) -> Graph:
    rng = np.random.default_rng(seed)
    xq = q(float(np.exp(rng.uniform(np.log(0.01), np.log(0.2)))), int(rng.integers(-60, 60)))
    g = graph_with_input((2, 8, 16), xq)
    if op in FIXED_OUTPUT_QUANT and fixed_out:
        out_q = q(*FIXED_OUTPUT_QUANT[op])
    else:
        out_q = rand_q(rng)
    g.add_node(op, ["x"], "y", attrs or {}, quant=out_q)
    g.outputs = ["y"]
    return g


@pytest.mark.parametrize("op", ["logistic", "tanh"])
@pytest.mark.parametrize("seed", SEEDS)
def test_logistic_tanh(op: str, seed: int) -> None:
    compare(unary(op, seed, fixed_out=seed % 3 != 0), {"x": all_codes()})


@pytest.mark.parametrize("seed", SEEDS)
def test_hard_swish(seed: int) -> None:
    compare(unary("hard_swish", seed), {"x": all_codes()})


@pytest.mark.parametrize("seed", SEEDS)
def test_leaky_relu(seed: int) -> None:
    alpha = [0.01, 0.2, 0.1, 0.3, 1e-3, 0.5][seed]
    compare(unary("leaky_relu", seed, {"alpha": alpha}), {"x": all_codes()})


@pytest.mark.parametrize("approximate", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_gelu(seed: int, approximate: bool) -> None:
    compare(unary("gelu", seed, {"approximate": approximate}), {"x": all_codes()}, tflm=False)


@pytest.mark.parametrize("seed", SEEDS)
def test_rsqrt(seed: int) -> None:
    rng = np.random.default_rng(seed)
    xq = q(float(rng.uniform(0.005, 0.5)), int(rng.integers(-128, -100)))
    g = graph_with_input((1, 2, 64), xq)
    g.add_node("rsqrt", ["x"], "y", quant=rand_q(rng))
    g.outputs = ["y"]
    zp = int(xq.zero_point[0])
    x = np.linspace(zp + 1, 127, 128).astype(np.int8).reshape(1, 2, 64)   # TFLite refuses x <= 0
    compare(g, {"x": x})


@pytest.mark.parametrize("seed", SEEDS)
def test_l2_normalize(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = [(1, 16), (3, 7), (2, 3, 40), (1, 2, 3, 5), (4, 1), (1, 300)][seed]
    g = graph_with_input(shape, rand_q(rng))
    g.add_node("l2_normalize", ["x"], "y", quant=q(1 / 128, 0) if seed % 2 else rand_q(rng))
    g.outputs = ["y"]
    compare(g, {"x": rand_int8(rng, shape)})


BROADCASTS = [((2, 3, 4, 5), (2, 3, 4, 5)), ((2, 3, 4, 5), (1, 1, 1, 5)), ((1, 3, 1, 5), (2, 1, 4, 1)),
              ((4, 5), (5,)), ((3, 1), (1, 4)), ((64,), (64,))]


@pytest.mark.parametrize("op", ["sub", "maximum", "minimum"])
@pytest.mark.parametrize("seed", SEEDS)
def test_binary(op: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    sa, sb = BROADCASTS[seed % len(BROADCASTS)]
    g = graph_with_input(sa, rand_q(rng), "a")
    same = op != "sub" and seed % 2 == 0
    g.add_tensor(Tensor("b", sb, "int8", quant=g.tensors["a"].quant if same else rand_q(rng)))
    g.inputs = ["a", "b"]
    attrs = {"activation": ["none", "relu", "relu6"][seed % 3]} if op == "sub" else {}
    g.add_node(op, ["a", "b"], "y", attrs, quant=g.tensors["a"].quant if same else rand_q(rng))
    g.outputs = ["y"]
    compare(g, {"a": rand_int8(rng, sa), "b": rand_int8(rng, sb)})


def chain_graph() -> Graph:
    """Every op of the family in one int8 graph."""
    rng = np.random.default_rng(11)
    g = graph_with_input((1, 4, 4, 8), q(0.05, -10))
    g.add_tensor(Tensor("x2", (1, 4, 4, 8), "int8", quant=q(0.04, 5)))
    g.inputs = ["x", "x2"]
    g.add_node("logistic", ["x"], "sig", quant=q(1 / 256, -128))
    g.add_node("tanh", ["x2"], "th", quant=q(1 / 128, 0))
    g.add_node("sub", ["sig", "th"], "d", {"activation": "relu"}, quant=q(0.01, -128))
    g.add_node("hard_swish", ["x"], "hs", quant=q(0.03, -20))
    g.add_node("leaky_relu", ["hs"], "lr", {"alpha": 0.125}, quant=q(0.03, -20))
    g.add_node("gelu", ["x2"], "ge", {"approximate": True}, quant=q(0.02, -30))
    g.add_node("maximum", ["lr", "ge"], "mx", quant=q(0.03, -20))
    g.add_node("minimum", ["mx", "d"], "mn", quant=rand_q(rng))
    g.add_node("rsqrt", ["sig"], "rs", quant=q(0.1, -128))
    g.add_node("l2_normalize", ["mn"], "l2", quant=q(1 / 128, 0))
    g.outputs = ["l2", "rs"]
    return g


def test_tflite_import_round_trip() -> None:
    from tte.frontend.tflite import load_tflite

    g = chain_graph()
    data = export_tflite(g)
    g2 = load_tflite(data)
    ops = {n.op for n in g2.nodes}
    assert {"logistic", "tanh", "sub", "hard_swish", "leaky_relu", "gelu", "maximum", "minimum", "rsqrt",
            "l2_normalize"} <= ops
    assert next(n for n in g2.nodes if n.op == "leaky_relu").attrs["alpha"] == 0.125
    assert next(n for n in g2.nodes if n.op == "gelu").attrs["approximate"] is True
    assert next(n for n in g2.nodes if n.op == "sub").attrs["activation"] == "relu"
    from test_ops_listing import _check_sources

    from tte.frontend.tflite import converter_emits

    _check_sources(g2, converter_emits())
    rng = np.random.default_rng(2)
    feeds = {"x": rand_int8(rng, (1, 4, 4, 8)), "x2": rand_int8(rng, (1, 4, 4, 8))}
    lit = run_litert(data, feeds)
    got = execute(g2, feeds)
    for name in g.outputs:
        np.testing.assert_array_equal(got[name], lit[name])


def test_tflite_minmax_of_differently_quantized_operands_is_refused() -> None:
    """TFLite's MAXIMUM compares raw codes; tte's requantizes, so such a file is refused."""
    from tte.errors import UnsupportedOpError
    from tte.export.tflite import lower, serialize
    from tte.frontend.tflite import load_tflite

    g = graph_with_input((1, 8), q(0.05, 0), "a")
    g.add_tensor(Tensor("b", (1, 8), "int8", quant=q(0.05, 0)))
    g.inputs = ["a", "b"]
    g.add_node("maximum", ["a", "b"], "y", quant=q(0.05, 0))
    g.outputs = ["y"]
    low = lower(g)
    load_tflite(serialize(low))                      # same parameters: accepted
    low.tensors[low.index["b"]].quant = q(0.1, 3)
    with pytest.raises(UnsupportedOpError, match="MAXIMUM"):
        load_tflite(serialize(low))
