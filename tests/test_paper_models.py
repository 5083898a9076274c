"""The paper architectures built as ONNX match the paper's shapes, MACs and parameters.

MACs and parameters are recomputed here from the ONNX initializers and inferred shapes,
independently of the builder, and compared with the ``compute_at_128`` figures of the
architecture files (which were read from the paper's released models).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from tte.errors import TteError
from tte.models.paper import (
    build_paper_onnx,
    conv_layer_names,
    paper_arch,
    paper_model_names,
    paper_results,
    paper_schemes,
)

NAMES = paper_model_names()


def _initializers(m: onnx.ModelProto) -> dict[str, np.ndarray]:
    return {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}


def _shapes(m: onnx.ModelProto) -> dict[str, tuple[int, ...]]:
    inferred = onnx.shape_inference.infer_shapes(m, strict_mode=True)
    values = list(inferred.graph.value_info) + list(inferred.graph.output) + list(inferred.graph.input)
    return {v.name: tuple(d.dim_value for d in v.type.tensor_type.shape.dim) for v in values}


def _conv_stats(m: onnx.ModelProto) -> list[dict[str, int]]:
    """Per Conv node, in graph order: MACs (out_h*out_w*weight size) and folded params."""
    inits, shapes = _initializers(m), _shapes(m)
    stats = []
    for node in m.graph.node:
        if node.op_type != "Conv":
            continue
        w = inits[node.input[1]]
        out_h, out_w = shapes[node.output[0]][2:]
        # Folded params = weights + one bias per output channel (conv bias or BN shift).
        stats.append({"macs": out_h * out_w * w.size, "params": w.size + w.shape[0],
                      "out_hw": out_h, "groups": next((a.i for a in node.attribute if a.name == "group"), 1)})
    return stats


@pytest.fixture(scope="module", params=NAMES)
def built(request: pytest.FixtureRequest) -> tuple[str, onnx.ModelProto]:
    return request.param, build_paper_onnx(request.param)


def _session(m: onnx.ModelProto) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def test_model_names() -> None:
    assert NAMES == ["mcunet-5fps", "mbv2-w0.35", "proxyless-w0.3"]
    assert paper_arch("mcunet")["model"] == "mcunet-5fps"   # aliases accepted
    with pytest.raises(TteError, match="unknown paper model"):
        build_paper_onnx("resnet50")


def test_checker_and_opset(built: tuple[str, onnx.ModelProto]) -> None:
    _, m = built
    onnx.checker.check_model(m, full_check=True)
    assert [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")] == [13]
    ops = {n.op_type for n in m.graph.node}
    assert ops == {"Conv", "Clip", "Add", "GlobalAveragePool", "Flatten", "Gemm"}
    assert [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim] == [1, 3, 128, 128]


def test_onnxruntime_runs_with_sane_activations(built: tuple[str, onnx.ModelProto]) -> None:
    _, m = built
    x = np.random.default_rng(0).uniform(-1, 1, size=(1, 3, 128, 128)).astype(np.float32)
    (logits,) = _session(m).run(None, {"input": x})
    assert logits.shape == (1, 10)
    assert np.all(np.isfinite(logits))
    assert 0.05 < float(logits.std()) < 20.0   # He-like init: neither vanished nor exploded


def test_macs_and_params_match_paper(built: tuple[str, onnx.ModelProto]) -> None:
    name, m = built
    ref = paper_arch(name)["compute_at_128"]
    stats = _conv_stats(m)
    assert sum(s["macs"] for s in stats) == ref["macs_backbone_convs"]
    assert sum(s["params"] for s in stats) == ref["params_backbone_folded_bn"]
    # Without BN every conv carries its bias, so the initializers hold exactly the folded count.
    inits = _initializers(m)
    conv_inits = sum(v.size for k, v in inits.items() if k.endswith((".weight", ".bias"))
                     and not k.startswith("classifier"))
    assert conv_inits == ref["params_backbone_folded_bn"]


def test_per_layer_figures_match_conv_index(built: tuple[str, onnx.ModelProto]) -> None:
    name, m = built
    layers = paper_arch(name)["conv_index"]["layers"]
    stats = _conv_stats(m)
    assert len(stats) == len(layers)
    for layer, s in zip(layers, stats, strict=True):
        assert (s["macs"], s["params"], s["out_hw"], s["groups"]) == (
            layer["macs"], layer["params"], layer["out_hw"], layer["groups"]), layer["name"]


def test_conv_names_follow_conv_index(built: tuple[str, onnx.ModelProto]) -> None:
    name, m = built
    names = conv_layer_names(name)
    arch = paper_arch(name)["conv_index"]
    assert names == [arch["map"][str(i)] for i in range(arch["n_conv"])]
    assert [n.name for n in m.graph.node if n.op_type == "Conv"] == names
    inits = _initializers(m)
    assert all(f"{n}.weight" in inits and f"{n}.bias" in inits for n in names)
    # The scheme files refer to layers by these same names.
    for scheme in paper_schemes(name).values():
        if isinstance(scheme, dict) and "weight_idx_layers" in scheme:
            for idx, info in scheme["weight_idx_layers"].items():
                assert names[int(idx)] == info["layer"]


def test_imagenet_head_matches_total(built: tuple[str, onnx.ModelProto]) -> None:
    name, _ = built
    ref = paper_arch(name)["compute_at_128"]
    inits = _initializers(build_paper_onnx(name, num_classes=1000))
    head = inits["classifier.weight"].size + inits["classifier.bias"].size
    assert inits["classifier.weight"].size == ref["macs_imagenet_classifier"]
    assert head == ref["params_imagenet_classifier"]


def test_batchnorm_variant(built: tuple[str, onnx.ModelProto]) -> None:
    name, plain = built
    m = build_paper_onnx(name, batchnorm=True)
    onnx.checker.check_model(m, full_check=True)
    ref = paper_arch(name)["compute_at_128"]
    inits = _initializers(m)
    names = conv_layer_names(name)
    assert [n.name for n in m.graph.node if n.op_type == "BatchNormalization"] == [f"{n}.bn" for n in names]
    weights = sum(inits[f"{n}.weight"].size for n in names)
    gamma_beta = sum(inits[f"{n}.bn.scale"].size + inits[f"{n}.bn.bias"].size for n in names)
    assert weights == ref["params_backbone_weights_only"]
    assert weights + gamma_beta == ref["params_backbone_if_bn_unfused_gamma_beta"]
    assert sum(s["macs"] for s in _conv_stats(m)) == ref["macs_backbone_convs"]
    # Same seed -> same conv weights whether or not BN follows.
    plain_inits = _initializers(plain)
    assert all(np.array_equal(inits[f"{n}.weight"], plain_inits[f"{n}.weight"]) for n in names)
    x = np.random.default_rng(1).uniform(-1, 1, size=(1, 3, 128, 128)).astype(np.float32)
    (logits,) = _session(m).run(None, {"input": x})
    assert np.all(np.isfinite(logits))


def test_seed_and_resolution(tmp_path: Path) -> None:
    a = build_paper_onnx("mbv2-w0.35", seed=3, resolution=96, num_classes=5, path=tmp_path / "m.onnx")
    b = onnx.load(str(tmp_path / "m.onnx"))
    assert a.SerializeToString() == b.SerializeToString()
    assert a.SerializeToString() == build_paper_onnx("mbv2-w0.35", seed=3, resolution=96,
                                                     num_classes=5).SerializeToString()
    assert a.SerializeToString() != build_paper_onnx("mbv2-w0.35", seed=4, resolution=96,
                                                     num_classes=5).SerializeToString()
    x = np.zeros((1, 3, 96, 96), dtype=np.float32)
    (logits,) = _session(a).run(None, {"input": x})
    assert logits.shape == (1, 5)
    with pytest.raises(TteError, match="resolution"):
        build_paper_onnx("mbv2-w0.35", resolution=16)


def test_reference_files_are_package_data() -> None:
    results = paper_results()
    assert "peak_memory_kb" in results
    assert set(paper_schemes()) >= set(NAMES)
    # Copies: callers may edit what they get without corrupting the cache.
    paper_arch("mcunet-5fps")["blocks"].clear()
    assert len(paper_arch("mcunet-5fps")["blocks"]) == 14


def test_given_weights_replace_the_random_ones() -> None:
    random = _initializers(build_paper_onnx("mbv2-w0.35", seed=3))
    given = {k: np.full(v.shape, 0.01 * (i + 1), np.float32) for i, (k, v) in enumerate(random.items())
             if not k.startswith("relu6.")}
    m = build_paper_onnx("mbv2-w0.35", seed=3, weights=given)
    got = _initializers(m)
    for k, v in given.items():
        np.testing.assert_array_equal(got[k], v)
    # onnxruntime runs the graph built from the given weights, not the seeded ones
    x = np.random.default_rng(0).uniform(0, 1, (1, 3, 128, 128)).astype(np.float32)
    y_given = _session(m).run(None, {"input": x})[0]
    y_random = _session(build_paper_onnx("mbv2-w0.35", seed=3)).run(None, {"input": x})[0]
    assert not np.allclose(y_given, y_random)
    with pytest.raises(TteError, match="missing: classifier.bias"):
        build_paper_onnx("mbv2-w0.35", weights={k: v for k, v in given.items() if k != "classifier.bias"})
    with pytest.raises(TteError, match="unknown: extra"):
        build_paper_onnx("mbv2-w0.35", weights={**given, "extra": np.zeros(1)})
    bad = {**given, "classifier.weight": np.zeros((3, 3), np.float32)}
    with pytest.raises(TteError, match=r"'classifier.weight' has shape \(3, 3\)"):
        build_paper_onnx("mbv2-w0.35", weights=bad)
