"""The three models of "On-Device Training Under 256KB Memory" as float ONNX graphs.

MCUNet-5FPS, MobileNetV2-w0.35 and ProxylessNAS-w0.3 are built layer by layer from the
architecture files in ``tte/data/arch/`` (read from the paper's released int8 models in
mit-han-lab/tiny-training, MIT licence; see that folder's README). The files carry no
weights, so the weights here come from a seeded generator with He-like scaling: the graphs
have the paper's exact shapes, MACs and parameter counts, and sane activation ranges, but
they classify nothing. They exist to exercise the compiler (import, BN folding, quantize,
memory planning, sparse-update schemes) on the networks the paper measured.

Names follow the ``conv_index`` numbering of the architecture files (the index space of the
paper's sparse-update schemes): conv ``i`` is the ONNX node ``conv_layer_names(model)[i]``,
e.g. ``blocks.3.depthwise``, with initializers ``blocks.3.depthwise.weight`` / ``.bias``
(and ``blocks.3.depthwise.bn.{scale,bias,mean,var}`` when built with BatchNorm).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from tte.errors import TteError

__all__ = ["build_paper_onnx", "conv_layer_names", "paper_arch", "paper_model_names", "paper_results",
           "paper_schemes"]

OPSET = 13
IR_VERSION = 8  # the IR version that goes with opset 13; keeps older runtimes happy
_ARCH_FILES = {
    "mcunet-5fps": "tte-mcunet-5fps.json",
    "mbv2-w0.35": "tte-mbv2-w0.35.json",
    "proxyless-w0.3": "tte-proxyless-w0.3.json",
}
_ALIASES = {"mcunet": "mcunet-5fps", "mbv2": "mbv2-w0.35", "mobilenetv2": "mbv2-w0.35",
            "proxyless": "proxyless-w0.3", "proxylessnas": "proxyless-w0.3"}
BN_EPS = 1e-5


# --------------------------------------------------------------------------------------
# Reference data (package data, never ../shared at run time).

@cache
def _read_json(filename: str) -> dict[str, Any]:
    text = resources.files("tte").joinpath("data", "arch", filename).read_text(encoding="utf-8")
    return json.loads(text)


def paper_model_names() -> list[str]:
    """Canonical names of the paper models, as used in the scheme and result files."""
    return list(_ARCH_FILES)


def _canonical(name: str) -> str:
    key = name.lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    if key not in _ARCH_FILES:
        raise TteError(f"unknown paper model '{name}' (available: {', '.join(_ARCH_FILES)})")
    return key


def paper_arch(name: str) -> dict[str, Any]:
    """The architecture description of one model (a deep copy; edit freely)."""
    return copy.deepcopy(_read_json(_ARCH_FILES[_canonical(name)]))


def paper_schemes(name: str | None = None) -> dict[str, Any]:
    """The paper's sparse-update schemes: all of them, or one model's ``{budget: scheme}``."""
    data = _read_json("tte-schemes.json")
    return copy.deepcopy(data if name is None else data[_canonical(name)])


def paper_results() -> dict[str, Any]:
    """The paper's headline numbers (peak memory, latency, accuracy) with their sources."""
    return copy.deepcopy(_read_json("tte-results.json"))


def conv_layer_names(name: str) -> list[str]:
    """Conv layer names in ``conv_index`` order (index i -> the ONNX Conv node named so)."""
    layers = _read_json(_ARCH_FILES[_canonical(name)])["conv_index"]["layers"]
    assert [layer["conv_idx"] for layer in layers] == list(range(len(layers)))
    return [layer["name"] for layer in layers]


# --------------------------------------------------------------------------------------
# Graph building.

class _Builder:
    """Accumulates nodes and initializers; one method per layer kind."""

    def __init__(self, seed: int, batchnorm: bool) -> None:
        self.seed = seed
        self.batchnorm = batchnorm
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[TensorProto] = []
        self.conv_count = 0
        self.add_init("relu6.min", np.array(0.0, dtype=np.float32))
        self.add_init("relu6.max", np.array(6.0, dtype=np.float32))

    def add_init(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(value.astype(np.float32), name))
        return name

    def conv(self, x: str, layer: str, cin: int, cout: int, k: int, stride: int, groups: int,
             relu6: bool, gain: float) -> str:
        """Conv (+BN) (+ReLU6) named ``layer``; returns the output tensor name."""
        # One generator per conv index, so a layer's weights depend only on (seed, index).
        rng = np.random.default_rng([self.seed, self.conv_count])
        self.conv_count += 1
        fan_in = (cin // groups) * k * k
        w = rng.normal(0.0, np.sqrt(gain / fan_in), size=(cout, cin // groups, k, k))
        inputs = [x, self.add_init(f"{layer}.weight", w)]
        if not self.batchnorm:  # with BN the BN shift is the bias, as in the PyTorch source
            inputs.append(self.add_init(f"{layer}.bias", rng.normal(0.0, 0.05, size=cout)))
        y = f"{layer}.conv"
        self.nodes.append(helper.make_node(
            "Conv", inputs, [y], name=layer, kernel_shape=[k, k], strides=[stride, stride],
            pads=[k // 2] * 4, group=groups))
        if self.batchnorm:
            y = self.bn(y, f"{layer}.bn", cout, rng)
        if relu6:
            self.nodes.append(helper.make_node("Clip", [y, "relu6.min", "relu6.max"], [f"{layer}.relu6"],
                                               name=f"{layer}.relu6"))
            y = f"{layer}.relu6"
        return y

    def bn(self, x: str, name: str, c: int, rng: np.random.Generator) -> str:
        """A BatchNormalization that roughly preserves scale, so folding is non-trivial but sane."""
        params = {
            "scale": rng.uniform(0.8, 1.2, size=c),
            "bias": rng.normal(0.0, 0.05, size=c),
            "mean": rng.normal(0.0, 0.05, size=c),
            "var": rng.uniform(0.8, 1.2, size=c),
        }
        inputs = [x] + [self.add_init(f"{name}.{key}", value) for key, value in params.items()]
        self.nodes.append(helper.make_node("BatchNormalization", inputs, [name], name=name, epsilon=BN_EPS))
        return name

    def block(self, x: str, b: dict[str, Any]) -> str:
        """One inverted-residual (MBConv) block: [expand 1x1] -> depthwise -> project 1x1 [+ x]."""
        prefix = f"blocks.{b['block_idx']}"
        y, c = x, b["in_channels"]
        if b["expand"] is not None:
            e = b["expand"]
            y = self.conv(y, f"{prefix}.pointwise1", c, e["out_channels"], 1, 1, 1,
                          relu6=e["activation"] == "ReLU6", gain=2.0)
            c = e["out_channels"]
        d = b["depthwise"]
        y = self.conv(y, f"{prefix}.depthwise", c, c, d["kernel"], d["stride"], c,
                      relu6=d["activation"] == "ReLU6", gain=2.0)
        p = b["project"]
        # The project conv is linear: unit gain keeps the residual stream from growing.
        y = self.conv(y, f"{prefix}.pointwise2", c, p["out_channels"], 1, 1, 1,
                      relu6=p["activation"] == "ReLU6", gain=1.0)
        if b["residual_add"]:
            self.nodes.append(helper.make_node("Add", [x, y], [f"{prefix}.add"], name=f"{prefix}.add"))
            y = f"{prefix}.add"
        return y

    def classifier(self, x: str, channels: int, num_classes: int) -> str:
        self.nodes.append(helper.make_node("GlobalAveragePool", [x], ["pool"], name="pool"))
        self.nodes.append(helper.make_node("Flatten", ["pool"], ["flatten"], name="flatten", axis=1))
        rng = np.random.default_rng([self.seed, self.conv_count])
        w = self.add_init("classifier.weight", rng.normal(0.0, np.sqrt(1.0 / channels),
                                                          size=(num_classes, channels)))
        bias = self.add_init("classifier.bias", np.zeros(num_classes))
        self.nodes.append(helper.make_node("Gemm", ["flatten", w, bias], ["logits"], name="classifier",
                                           transB=1))
        return "logits"


def build_paper_onnx(name: str, *, resolution: int = 128, num_classes: int = 10, seed: int = 0,
                     batchnorm: bool = False, weights: Mapping[str, np.ndarray] | None = None,
                     path: str | Path | None = None) -> onnx.ModelProto:
    """Build a paper model as a float ONNX model (opset 13), input ``[1, 3, R, R]`` NCHW.

    ``batchnorm=True`` puts a BatchNormalization after each (bias-free) conv, as in the
    training-time PyTorch model, so BN folding in the importer gets exercised; the default
    is the folded form (conv with bias), which is what the paper's int8 models hold.
    Weights are random (seeded), not trained, unless ``weights`` gives every parameter by
    its initializer name (e.g. ``blocks.3.depthwise.weight``, ``classifier.bias``), such as
    weights trained elsewhere. With ``path`` the model is also saved there.
    """
    key = _canonical(name)
    if resolution < 32:  # five stride-2 stages; below 32 the last feature map is under 1x1
        raise TteError(f"resolution must be at least 32, got {resolution}")
    if num_classes < 1:
        raise TteError(f"num_classes must be positive, got {num_classes}")
    arch = _read_json(_ARCH_FILES[key])
    g = _Builder(seed, batchnorm)
    fc = arch["first_conv"]
    x = g.conv("input", "first_conv", fc["in_channels"], fc["out_channels"], fc["kernel"], fc["stride"], 1,
               relu6=fc["activation"] == "ReLU6", gain=2.0)
    for block in arch["blocks"]:
        x = g.block(x, block)
    if arch.get("feature_mix") is not None:
        raise TteError(f"{key}: feature_mix layers are not supported by the builder")
    channels = arch["final_feature"]["shape_chw"][0]
    g.classifier(x, channels, num_classes)
    n_conv = arch["conv_index"]["n_conv"]
    if g.conv_count != n_conv:
        raise AssertionError(f"{key}: built {g.conv_count} convs, architecture says {n_conv}")
    if weights is not None:
        g.inits = _with_weights(key, g.inits, weights)

    source = arch["source"]
    origin = "given weights" if weights is not None else f"random weights (seed {seed})"
    graph = helper.make_graph(
        g.nodes, f"{key}-r{resolution}",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, resolution, resolution])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, num_classes])], g.inits)
    model = helper.make_model(
        graph, producer_name="tte.models.paper", opset_imports=[helper.make_opsetid("", OPSET)],
        doc_string=(f"{arch['display_name']} at {resolution}x{resolution}, {origin}; "
                    f"architecture from {source['repo']}@{source['commit'][:12]} ({source['license']})"))
    model.ir_version = IR_VERSION
    helper.set_model_props(model, {"tte.paper_model": key, "tte.seed": "given" if weights is not None else str(seed),
                                   "tte.batchnorm": str(batchnorm).lower()})
    if path is not None:
        onnx.save(model, str(path))
    return model


def _with_weights(key: str, inits: list[TensorProto], weights: Mapping[str, np.ndarray]) -> list[TensorProto]:
    """The initializers with every parameter replaced by ``weights[name]`` (all given, shapes equal)."""
    fixed = {"relu6.min", "relu6.max"}
    params = {t.name: tuple(t.dims) for t in inits if t.name not in fixed}
    missing = sorted(set(params) - set(weights))
    unknown = sorted(set(weights) - set(params))
    if missing or unknown:
        raise TteError(f"{key}: weights must name every parameter exactly "
                       f"(missing: {', '.join(missing[:3]) or 'none'}; unknown: {', '.join(unknown[:3]) or 'none'})")
    for name, shape in params.items():
        if tuple(np.shape(weights[name])) != shape:
            raise TteError(f"{key}: weight '{name}' has shape {tuple(np.shape(weights[name]))}, "
                           f"the architecture needs {shape}")
    return [t if t.name in fixed else numpy_helper.from_array(np.asarray(weights[t.name], np.float32), t.name)
            for t in inits]
