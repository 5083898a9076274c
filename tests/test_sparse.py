"""Sparse-update schemes: pruning counted against the architecture by hand, presets, files, errors."""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from pathlib import Path

import numpy as np
import pytest

import tte
from tte.errors import TteError
from tte.ir import Graph
from tte.models.paper import build_paper_onnx
from tte.training.autodiff import derive_training_graph
from tte.training.sparse import UpdateScheme, resolve_scheme
from tte.training.trainer import Trainer

ARCH = Path(__file__).resolve().parent.parent / "tte" / "data" / "arch"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "fmnist_cnn.onnx"


@cache
def mbv2() -> Graph:
    return tte.load(build_paper_onnx("mbv2-w0.35", resolution=128, num_classes=10, seed=0).SerializeToString())


def expected_from_architecture(budget: str) -> dict[str, object]:
    """What the backward pass must contain, derived from the architecture JSON alone."""
    arch = json.loads((ARCH / "tte-mbv2-w0.35.json").read_text())
    cfg = json.loads((ARCH / "tte-schemes.json").read_text())["mbv2-w0.35"][budget]
    n_conv = arch["conv_index"]["n_conv"]
    first = n_conv - cfg["n_bias_update"]
    relu6 = {0}  # first conv
    for blk in arch["blocks"]:
        if blk["expand"]:
            relu6.add(blk["expand"]["conv_idx"])
        relu6.add(blk["depthwise"]["conv_idx"])
    weights = {int(i): r for i, r in cfg["weight_idx"].items() if r > 0}
    residual_blocks_after = sum(1 for blk in arch["blocks"]
                                if blk["residual_add"] and min(blk["conv_indices"]) > first)
    masks = sorted(i for i in relu6 if i >= first)
    return {
        "bias_grad": cfg["n_bias_update"] + 1,                 # + classifier
        "conv2d_grad_weight": len(weights),
        "conv2d_grad_input": n_conv - 1 - first,               # every conv after the first updated one
        "fc_grad_weight": 1, "fc_grad_input": 1,
        "act_mask": len(masks), "mask_grad": len(masks),
        "add": residual_blocks_after,                          # gradient of a block input with two users
        "avgpool2d_grad": 1, "reshape": 1,
        "sgd_update": len(weights) + cfg["n_bias_update"] + 2,
        "saved": len(weights) + len(masks) + 1,                # inputs of weight-updated convs, masks, fc input
        "updated_in_channels": {int(i): v["updated_in_channels"] for i, v in cfg["weight_idx_layers"].items()
                                if v["updated_in_channels"]},
        "layers": {int(i): v["layer"] for i, v in cfg["weight_idx_layers"].items()},
    }


@pytest.mark.parametrize("budget", ["49kb", "73kb", "99kb", "123kb", "138kb"])
def test_paper_scheme_prunes_to_exactly_what_it_needs(budget: str) -> None:
    g = mbv2()
    scheme = resolve_scheme(f"paper:mbv2-w0.35:{budget}")
    tg = derive_training_graph(g, scheme.to_plan(g))
    want = expected_from_architecture(budget)
    backward = Counter(n.op for n in tg.graph.nodes[tg.forward_nodes:])
    forward = Counter(n.op for n in tg.graph.nodes[:tg.forward_nodes])
    for op in ("bias_grad", "conv2d_grad_weight", "conv2d_grad_input", "fc_grad_weight", "fc_grad_input",
               "mask_grad", "add", "avgpool2d_grad", "reshape", "sgd_update"):
        assert backward[op] == want[op], (op, backward[op], want[op])
    assert forward["act_mask"] == want["act_mask"]
    assert set(backward) <= {"bias_grad", "conv2d_grad_weight", "conv2d_grad_input", "fc_grad_weight",
                             "fc_grad_input", "mask_grad", "add", "avgpool2d_grad", "reshape", "sgd_update",
                             "softmax_ce_loss", "softmax_ce_grad"}
    assert len(tg.saved) == want["saved"]
    # partial layers compute only their channels, as many as the paper's ratio keeps
    convs = [n for n in g.nodes if n.op == "conv2d"]
    for node in tg.graph.nodes:
        if node.op == "conv2d_grad_weight":
            idx = next(i for i, c in enumerate(convs) if c.inputs[1] + "@grad" == node.outputs[0]
                       or node.outputs[0].startswith(c.inputs[1] + "@grad"))
            assert convs[idx].name == want["layers"][idx]
            n_sel = len(node.attrs["in_channels"] or node.attrs["out_channels"])
            expect = want["updated_in_channels"][idx]
            full = tg.graph.tensors[convs[idx].inputs[1]].shape
            assert n_sel == expect or (n_sel == 0 and expect in (full[3], full[0]))


def test_presets_on_the_example() -> None:
    g = tte.load(EXAMPLE)
    convs = [n for n in g.nodes if n.op == "conv2d"]
    fc = [n for n in g.nodes if n.op == "fully_connected"][-1]
    full = resolve_scheme("full").to_plan(g)
    assert set(full) == set(g.weights())
    assert set(resolve_scheme("classifier-only").to_plan(g)) == set(fc.inputs[1:3])
    bias = resolve_scheme("bias-only").to_plan(g)
    assert set(bias) == {n.inputs[2] for n in convs} | set(fc.inputs[1:3])
    last2 = resolve_scheme("last-k:2").to_plan(g)
    assert set(last2) == {p for n in convs[-2:] for p in n.inputs[1:3]} | set(fc.inputs[1:3])


def test_scheme_files_round_trip(tmp_path: Path) -> None:
    g = tte.load(EXAMPLE)
    toml = tmp_path / "s.toml"
    second = [n for n in g.nodes if n.op == "conv2d"][1].name
    toml.write_text('name = "mine"\nn_bias = 2\n[[layers]]\nconv = 3\nweight_ratio = 0.5\n'
                    f'[[layers]]\nname = "{second}"\nweight_ratio = 0.25\nover = "out"\n')
    s = resolve_scheme(str(toml))
    plan = s.to_plan(g)
    out = tmp_path / "s.json"
    s.save(out)
    assert resolve_scheme(str(out)).to_plan(g) == plan
    sel = [p for p in plan.values() if p.in_channels or p.out_channels]
    assert len(sel) == 2


@pytest.mark.parametrize("content, message", [
    ("[[layers]]\nconv = 99\nweight_ratio = 1.0\n", "conv 99"),
    ("[[layers]]\nname = \"nope\"\n", "layer 'nope'"),
    ("[[layers]]\nconv = 1\nweight_ratio = 1.5\n", "outside (0, 1]"),
    ("[[layers]]\nconv = 1\nweight_ratio = 0.0\n", "outside (0, 1]"),
    ("[[layers]]\nconv = 1\nover = \"sideways\"\nweight_ratio = 0.5\n", "'in' or 'out'"),
    ("colour = 3\n", "unknown scheme field"),
    ("[[layers\n", "cannot parse scheme"),
])
def test_bad_schemes_are_named(tmp_path: Path, content: str, message: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(content)
    g = tte.load(EXAMPLE)
    with pytest.raises(TteError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        resolve_scheme(str(f)).to_plan(g)


def test_bad_scheme_names() -> None:
    for spec, msg in [("last-k:x", "last-k:N"), ("paper:mbv2-w0.35:1kb", "no '1kb' scheme"),
                      ("paper:resnet:99kb", "no paper schemes"), ("sideways", "unknown scheme")]:
        with pytest.raises(TteError, match=msg):
            resolve_scheme(spec)
    with pytest.raises(TteError, match="updates nothing"):
        UpdateScheme(name="none", classifier=False).to_plan(tte.load(EXAMPLE))


def test_int8_training_needs_quantization_parameters() -> None:
    g = tte.load(EXAMPLE)
    with pytest.raises(TteError, match="needs an int8 graph"):
        Trainer(g, precision="int8")
    q = tte.quantize(g, calibration=np.random.default_rng(0).uniform(0, 1, (8, 1, 28, 28)).astype(np.float32))
    w = next(n for n in q.nodes if n.op == "conv2d").inputs[1]
    q.tensors[w].quant = None
    with pytest.raises(TteError, match=f"lacks quantization parameters for tensor '{w}'"):
        Trainer(q, precision="int8")


def test_full_scheme_covers_hidden_fully_connected_layers() -> None:
    from tte.ir import Tensor

    g = Graph("mlp")
    g.add_tensor(Tensor("x", (1, 1)))
    g.inputs = ["x"]
    rng = np.random.default_rng(0)
    prev = "x"
    for i, (n, k) in enumerate([(8, 1), (8, 8), (1, 8)]):
        g.add_const(f"l{i}.w", rng.standard_normal((n, k)).astype(np.float32))
        g.add_const(f"l{i}.b", np.zeros(n, np.float32))
        g.add_node("fully_connected", [prev, f"l{i}.w", f"l{i}.b"], f"h{i}",
                   {"activation": "relu" if i < 2 else "none"})
        prev = f"h{i}"
    g.outputs = [prev]
    assert set(resolve_scheme("full").to_plan(g)) == set(g.weights())
    assert set(resolve_scheme("last-k:1").to_plan(g)) == {"l1.w", "l1.b", "l2.w", "l2.b"}
