"""TFLite import: export -> import round trips and clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_int8_kernels import graph_with_input, q, rand_int8
from tflite_oracles import run_litert

from tte.errors import ModelFormatError, TteError, UnsupportedOpError
from tte.export.tflite import _Lowering, export_tflite, serialize
from tte.frontend.tflite import load_tflite
from tte.ir import Graph, Tensor
from tte.reference import execute


def small_cnn(seed: int = 0) -> Graph:
    rng = np.random.default_rng(seed)
    g = graph_with_input((1, 9, 9, 3), q(0.02, -3), "image")
    g.add_const("conv1/weights", rng.integers(-127, 128, (4, 3, 3, 3)).astype(np.int8),
                quant=q(rng.uniform(2e-3, 1e-2, 4), np.zeros(4, int), 0))
    g.add_const("conv1/bias", rng.integers(-500, 500, 4).astype(np.int32))
    g.add_node("conv2d", ["image", "conv1/weights", "conv1/bias"], "conv1", {"pads": (1, 1, 1, 1),
               "activation": "relu"}, quant=q(0.03, -128))
    g.add_const("dw/weights", rng.integers(-127, 128, (8, 3, 3, 1)).astype(np.int8),
                quant=q(rng.uniform(2e-3, 1e-2, 8), np.zeros(8, int), 0))
    g.add_node("conv2d", ["conv1", "dw/weights"], "dw", {"groups": 4, "strides": (2, 2), "pads": (1, 1, 1, 1)},
               quant=q(0.05, 3))
    g.add_node("avgpool2d", ["dw"], "pool", {"kernel": (2, 2), "strides": (2, 2)}, quant=q(0.05, 3))
    g.add_node("reshape", ["pool"], "flat", {"shape": (1, 32)}, quant=q(0.05, 3))
    g.add_const("fc/weights", rng.integers(-127, 128, (5, 32)).astype(np.int8), quant=q(0.01, 0))
    g.add_node("fully_connected", ["flat", "fc/weights"], "logits", quant=q(0.1, 2))
    g.add_node("softmax", ["logits"], "probs", quant=q(1 / 256, -128))
    g.outputs = ["probs", "dw"]
    return g


def test_round_trip_is_equivalent(tmp_path: Path) -> None:
    g = small_cnn()
    path = tmp_path / "cnn.tflite"
    export_tflite(g, path)
    g2 = load_tflite(path)
    assert g2.name == "cnn"
    assert g2.inputs == g.inputs and g2.outputs == g.outputs
    # weights keep their names and (IR-layout) values, depthwise included
    for name in ["conv1/weights", "conv1/bias", "dw/weights", "fc/weights"]:
        np.testing.assert_array_equal(g2.tensors[name].data, g.tensors[name].data)
    assert g2.tensors["dw/weights"].quant == g.tensors["dw/weights"].quant
    dw = next(n for n in g2.nodes if n.outputs == ["dw"])
    assert dw.op == "conv2d" and dw.attrs["groups"] == 4 and dw.attrs["pads"] == (1, 1, 1, 1)
    rng = np.random.default_rng(1)
    x = rand_int8(rng, (1, 9, 9, 3))
    r1, r2 = execute(g, {"image": x}), execute(g2, {"image": x})
    for name in g.outputs:
        np.testing.assert_array_equal(r1[name], r2[name])
    # and the re-exported import still runs identically under LiteRT
    lit = run_litert(export_tflite(g2), {"image": x})
    np.testing.assert_array_equal(lit["dw"], r1["dw"])


def test_same_padding_becomes_explicit_pads() -> None:
    g = graph_with_input((1, 7, 7, 2), q(0.1, 0))
    g.add_node("maxpool2d", ["x"], "y", {"kernel": (3, 3), "strides": (2, 2), "pads": (1, 1, 1, 1)}, quant=q(0.1, 0))
    g.outputs = ["y"]
    g2 = load_tflite(export_tflite(g))
    pool = [n for n in g2.nodes if n.op == "maxpool2d"]
    assert len(pool) == 1 and pool[0].attrs["pads"] == (1, 1, 1, 1)   # SAME for 7x7, k3, s2


def test_fully_connected_flattens_without_keep_num_dims() -> None:
    rng = np.random.default_rng(0)
    g = graph_with_input((2, 6), q(0.1, 1))
    g.add_const("w", rng.integers(-127, 128, (3, 6)).astype(np.int8), quant=q(0.01, 0))
    g.add_node("fully_connected", ["x", "w"], "y", quant=q(0.2, 0))
    g.outputs = ["y"]
    low = _lowering(g)
    # a rank-4 input to a keep_num_dims=False FC: the importer must flatten it
    low.tensors[low.index["x"]].shape = (2, 1, 2, 3)
    g2 = load_tflite(serialize(low))
    assert [n.op for n in g2.nodes] == ["reshape", "fully_connected"]
    x = rand_int8(rng, (2, 1, 2, 3))
    np.testing.assert_array_equal(execute(g2, {"x": x})["y"], execute(g, {"x": x.reshape(2, 6)})["y"])


def _lowering(g: Graph) -> _Lowering:
    from tte.export.tflite import lower
    return lower(g)


# ---- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize("cut", [0, 4, 8, 20, 100, -200, -1])
def test_truncated_file(tmp_path: Path, cut: int) -> None:
    data = export_tflite(small_cnn())
    path = tmp_path / "cut.tflite"
    path.write_bytes(data[:cut])
    with pytest.raises(ModelFormatError) as e:
        load_tflite(path)
    assert str(path) in str(e.value)


def test_garbage_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(ModelFormatError, match="not a TFLite flatbuffer"):
        load_tflite(b"\x00" * 64)
    with pytest.raises(ModelFormatError):
        load_tflite(b"PK\x03\x04" + bytes(range(256)))
    with pytest.raises(TteError, match="cannot read"):
        load_tflite(tmp_path / "missing.tflite")


def _float_add_model() -> bytes:
    g = Graph("f")
    g.add_tensor(Tensor("a", (1, 4), "float32"))
    g.add_tensor(Tensor("b", (1, 4), "float32"))
    g.inputs = ["a", "b"]
    g.add_node("add", ["a", "b"], "y")
    g.outputs = ["y"]
    from tte.export.tflite import _LOWER
    low = _Lowering(g)
    for name in g.inputs:
        low.tensor(name)
    for n in g.nodes:
        _LOWER[n.op](low, n)
    return serialize(low)


def test_unsupported_ops_are_listed_all_at_once() -> None:
    import tflite

    low = _lowering(small_cnn())
    # relabel three operators as ops tte does not implement
    for op, code in zip(low.ops, [tflite.BuiltinOperator.EXP, tflite.BuiltinOperator.LOG,
                                  tflite.BuiltinOperator.EXP, tflite.BuiltinOperator.SIN]):
        op.code = code
    with pytest.raises(UnsupportedOpError) as e:
        load_tflite(serialize(low))
    assert e.value.ops == ["EXP", "LOG", "SIN"]
    assert "EXP, LOG, SIN" in str(e.value)


def test_float_model_imports_as_a_float_graph() -> None:
    model = _float_add_model()
    g = load_tflite(model)
    assert not g.is_quantized and [n.op for n in g.nodes] == ["add"]
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((1, 4)).astype(np.float32) for _ in range(2))
    np.testing.assert_array_equal(execute(g, {"a": a, "b": b})["y"], run_litert(model, {"a": a, "b": b})["y"])


def test_dynamic_batch_is_fixed_to_one_other_dynamic_dims_are_refused() -> None:
    low = _lowering(small_cnn())
    t = low.tensors[low.index["image"]]
    t.signature = (-1,) + t.shape[1:]
    g = load_tflite(serialize(low))
    assert g.tensors["image"].shape == (1, 9, 9, 3)
    assert any("dynamic batch" in n and "'image'" in n for n in g.meta["notes"])
    t.signature = (1, -1) + t.shape[2:]
    with pytest.raises(TteError, match="'image' has a dynamic shape.*beyond the batch"):
        load_tflite(serialize(low))
