"""C kernel cases of the activation family (tests/c_cases.py's harness runs them against
tte.reference): every int8 forward op on all 256 codes (the per-element path) and on more
than 256 elements (the tabulated path), and the backward ops, all byte for byte."""

from __future__ import annotations

from typing import Any

import numpy as np
from c_cases import Case, new_graph, q, rand_q, random_feeds

from tte.reference.activation_ops import FIXED_OUTPUT_QUANT

UNARY: list[tuple[str, dict[str, Any]]] = [
    ("logistic", {}), ("tanh", {}), ("hard_swish", {}), ("leaky_relu", {"alpha": 0.1}), ("rsqrt", {}),
    ("gelu", {"approximate": False}), ("gelu", {"approximate": True}), ("l2_normalize", {})]
GRAD_FNS = ["logistic", "tanh", "hard_swish", "leaky_relu", "gelu", "gelu_tanh"]


def _unary_case(op: str, attrs: dict[str, Any], seed: int) -> Case:
    rng = np.random.default_rng(700 + seed)
    wide = seed % 2 == 1
    shape = (1, 8, 8, 5) if wide else (1, 16, 16, 1)
    xq = q(float(np.exp(rng.uniform(np.log(0.01), np.log(0.2)))), int(rng.integers(-60, 60)))
    if op == "rsqrt":
        xq = q(float(rng.uniform(0.01, 0.3)), int(rng.integers(-128, -90)))
    if op == "l2_normalize":
        shape = (1, 3, 4, 7) if wide else (2, 16)
    fixed = op in FIXED_OUTPUT_QUANT and seed % 3 != 2
    yq = q(*FIXED_OUTPUT_QUANT[op]) if fixed else rand_q(rng)
    g = new_graph({"x": (shape, "int8", xq)})
    g.add_node(op, ["x"], "y", attrs, quant=yq)
    g.outputs = ["y"]
    feeds = random_feeds(g, rng)
    if not wide and op != "l2_normalize":
        feeds["x"] = np.arange(-128, 128).astype(np.int8).reshape(shape)
    tag = "_".join(f"{k}{v}" for k, v in attrs.items())
    return Case(f"{op}{tag}_{seed}", g, feeds)


BROADCASTS = [((1, 3, 4, 5), (1, 3, 4, 5)), ((1, 3, 4, 5), (1, 1, 1, 5)), ((1, 3, 1, 5), (2, 1, 4, 1)),
              ((4, 5), (5,)), ((3, 1), (1, 4)), ((2, 3, 4), (1,)), ((1, 1, 1, 6), (1, 2, 3, 6)),
              ((1, 8, 8, 6), (1, 8, 8, 6)), ((1, 8, 8, 5), (1, 8, 8, 5))]   # > 256: tabulated


def _binary_case(op: str, seed: int) -> Case:
    rng = np.random.default_rng(760 + seed)
    sa, sb = BROADCASTS[seed % len(BROADCASTS)]
    aq = rand_q(rng)
    same = op != "sub" and seed % 2 == 0
    g = new_graph({"a": (sa, "int8", aq), "b": (sb, "int8", aq if same else rand_q(rng))})
    attrs = {"activation": ["none", "relu", "relu6"][seed % 3]} if op == "sub" else {}
    g.add_node(op, ["a", "b"], "y", attrs, quant=aq if same else rand_q(rng))
    g.outputs = ["y"]
    return Case(f"{op}_{seed}", g, random_feeds(g, rng))


def _activation_grad_case(fn: str, seed: int) -> Case:
    rng = np.random.default_rng(780 + seed)
    shape = (1, 4, 5, 6)
    g = new_graph({"t": (shape, "int8", rand_q(rng)), "dy": (shape, "float32", None)})
    g.add_node("activation_grad", ["t", "dy"], "dx", {"fn": fn, "alpha": 0.2}, dtype="float32")
    g.outputs = ["dx"]
    return Case(f"activation_grad_{fn}_{seed}", g, random_feeds(g, rng))


def _minmax_grad_case(op: str, which: int, seed: int) -> Case:
    rng = np.random.default_rng(790 + seed)
    shape = (1, 3, 4, 8)
    aq = rand_q(rng)
    same = seed % 2 == 0
    b_shape = shape if seed < 2 else (1, 1, 1, 8)
    g = new_graph({"a": (shape, "int8", aq), "b": (b_shape, "int8", aq if same else rand_q(rng)),
                   "dy": (shape, "float32", None)})
    g.add_node("minmax_grad", ["a", "b", "dy"], "dx", {"op": op, "input": which}, dtype="float32")
    g.outputs = ["dx"]
    feeds = random_feeds(g, rng)
    if same and b_shape == shape:   # ties
        feeds["b"] = np.where(rng.random(shape) < 0.3, feeds["a"], feeds["b"]).astype(np.int8)
    return Case(f"minmax_grad_{op}_{which}_{seed}", g, feeds)


def _sum_to_shape_case(seed: int) -> Case:
    src, dst = [((2, 3, 4, 5), (1, 3, 1, 5)), ((1, 4, 4, 6), (6,)), ((3, 4), (3, 1)), ((2, 3, 4), (1, 1, 1))][seed]
    g = new_graph({"x": (src, "float32", None)})
    g.add_node("sum_to_shape", ["x"], "y", {"shape": dst})
    g.outputs = ["y"]
    return Case(f"sum_to_shape_{seed}", g, random_feeds(g, np.random.default_rng(798 - seed)), kind="float")


def _neg_case() -> Case:
    g = new_graph({"x": ((2, 9), "float32", None)})
    g.add_node("neg", ["x"], "y")
    g.outputs = ["y"]
    return Case("neg", g, random_feeds(g, np.random.default_rng(799)))


def activation_cases() -> list[Case]:
    cases = [_unary_case(op, attrs, s) for op, attrs in UNARY for s in range(4)]
    cases += [_binary_case(op, s) for op in ("sub", "maximum", "minimum") for s in range(len(BROADCASTS))]
    cases += [_activation_grad_case(fn, s) for fn in GRAD_FNS for s in range(2)]
    cases += [_minmax_grad_case(op, w, s) for op in ("maximum", "minimum") for w in (0, 1) for s in range(4)]
    cases += [_sum_to_shape_case(s) for s in range(4)]
    return cases + [_neg_case()]
