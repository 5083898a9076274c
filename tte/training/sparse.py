"""Sparse-update schemes: which layers, which channels, biases only.

A scheme names layers by their *conv index* counted from the input (the classifier, the
last conv/fully-connected layer, excluded), as the paper does, or by node / weight name.
Hidden fully-connected layers (an MLP) count as layers in the same index space.
Presets:

* ``full``: every weight and bias.
* ``last-k:N``: weights and biases of the last N conv layers, plus the classifier.
* ``bias-only``: every bias, plus the classifier.
* ``classifier-only``: the classifier's weight and bias.
* ``none``: nothing: an inference-only compile (tte.compiler.analysis plans and emits the
  forward pass alone, every weight frozen in flash, no training step, no loss or label).
* ``paper:<model>:<budget>``: the paper's schemes (e.g. ``paper:mbv2-w0.35:99kb``):
  the biases of the last ``n_bias_update`` convs, the listed convs' weights with the given
  ratio of input channels (depthwise: of channels), and the classifier.

Partial channels are chosen, unless listed explicitly, as the paper does: the channels
whose weight slices have the largest L2 norm.
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tte.errors import TteError
from tte.ir import Graph, Node
from tte.training.autodiff import ParamUpdate

PRESETS = ("full", "last-k:N", "bias-only", "classifier-only", "none", "paper:<model>:<budget>")


@dataclass
class LayerRule:
    """The update of one layer. ``weight_ratio`` None means bias only."""

    conv: int | None = None
    name: str | None = None
    weight_ratio: float | None = None
    over: str = "in"
    bias: bool = True
    channels: tuple[int, ...] | None = None

    def where(self) -> str:
        return f"conv {self.conv}" if self.conv is not None else f"layer '{self.name}'"


@dataclass
class UpdateScheme:
    name: str = "custom"
    layers: list[LayerRule] = field(default_factory=list)
    n_bias: int = 0
    classifier: bool = True
    all_layers: bool = False

    @property
    def inference_only(self) -> bool:
        """Whether the scheme trains nothing by design (``none``): compiled for inference alone."""
        return False

    # ---- (de)serialization --------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["layers"] = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in layer.items() if v is not None}
                       for layer in d["layers"]]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, source: str = "scheme") -> UpdateScheme:
        known = {"name", "layers", "n_bias", "classifier", "all_layers"}
        extra = set(d) - known
        if extra:
            raise TteError(f"unknown scheme field(s): {', '.join(sorted(extra))}", file=source)
        layers = []
        for i, raw in enumerate(d.get("layers", [])):
            bad = set(raw) - set(LayerRule.__dataclass_fields__)
            if bad:
                raise TteError(f"layers[{i}]: unknown field(s) {', '.join(sorted(bad))}", file=source)
            rule = LayerRule(**{**raw, "channels": tuple(raw["channels"]) if raw.get("channels") else None})
            layers.append(rule)
        s = cls(name=d.get("name", Path(source).stem), layers=layers, n_bias=int(d.get("n_bias", 0)),
                classifier=bool(d.get("classifier", True)), all_layers=bool(d.get("all_layers", False)))
        s.check(source)
        return s

    def save(self, path: str | os.PathLike[str]) -> None:
        p = Path(path)
        if p.suffix != ".json":
            raise TteError("schemes are written as .json", file=str(p))
        p.write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    def check(self, source: str = "scheme") -> None:
        for rule in self.layers:
            if (rule.conv is None) == (rule.name is None):
                raise TteError("each layer needs exactly one of 'conv' (index) or 'name'", file=source)
            if rule.weight_ratio is not None and not 0.0 < rule.weight_ratio <= 1.0:
                raise TteError(f"{rule.where()}: weight_ratio {rule.weight_ratio} is outside (0, 1]",
                               file=source)
            if rule.over not in ("in", "out"):
                raise TteError(f"{rule.where()}: 'over' must be 'in' or 'out', got '{rule.over}'", file=source)
        if self.n_bias < 0:
            raise TteError(f"n_bias must be >= 0, got {self.n_bias}", file=source)

    # ---- resolution against a graph -------------------------------------------------
    def to_plan(self, graph: Graph) -> dict[str, ParamUpdate]:
        """Parameter name -> which channels to update, for this graph."""
        convs, classifier = trainable_layers(graph)
        plan: dict[str, ParamUpdate] = {}

        def add_layer(node: Node, weight: ParamUpdate | None, bias: bool) -> None:
            if weight is not None:
                plan[node.inputs[1]] = weight
            if bias and len(node.inputs) > 2 and node.inputs[2]:
                plan[node.inputs[2]] = ParamUpdate()  # a bias is small: always whole

        if self.all_layers:
            for node in convs:
                add_layer(node, ParamUpdate(), True)
        for node in convs[max(0, len(convs) - self.n_bias):] if self.n_bias else []:
            add_layer(node, None, True)
        for rule in self.layers:
            node = _find_layer(graph, convs, classifier, rule)
            weight = None
            if rule.weight_ratio is not None:
                weight = select_channels(graph, node, rule)
            add_layer(node, weight, rule.bias)
        if self.classifier and classifier is not None:
            add_layer(classifier, ParamUpdate(), True)
        if not plan:
            raise TteError(f"scheme '{self.name}' updates nothing in graph '{graph.name}'")
        return plan


def trainable_layers(graph: Graph) -> tuple[list[Node], Node | None]:
    """The layers (conv and hidden fully-connected) in input-to-output order, and the
    classifier (the last one). For the paper's CNNs these are exactly its conv indices."""
    layers = [n for n in graph.nodes if n.op in ("conv2d", "fully_connected")]
    if not layers:
        return [], None
    return layers[:-1], layers[-1]


def _is_depthwise(graph: Graph, node: Node) -> bool:
    w = graph.tensors[node.inputs[1]]
    return node.op == "conv2d" and node.attrs["groups"] > 1 and w.shape[3] == 1


def _find_layer(graph: Graph, convs: list[Node], classifier: Node | None, rule: LayerRule) -> Node:
    if rule.conv is not None:
        if not 0 <= rule.conv < len(convs):
            raise TteError(f"scheme names conv {rule.conv}, but graph '{graph.name}' has convs 0..{len(convs) - 1}")
        return convs[rule.conv]
    for node in convs + ([classifier] if classifier else []):
        if rule.name in (node.name, node.inputs[1]):
            return node
    raise TteError(f"scheme names layer '{rule.name}', which graph '{graph.name}' does not have "
                   f"(layers: {', '.join(n.name for n in convs[:4])}, ...)")


def _real_weight(graph: Graph, name: str) -> np.ndarray:
    t = graph.tensors[name]
    assert t.data is not None
    if t.quant is None:
        return t.data.astype(np.float64)
    return t.data.astype(np.float64) * t.quant.scale.astype(np.float64).reshape(t.quant.broadcast_shape(t.data.ndim))


def select_channels(graph: Graph, node: Node, rule: LayerRule) -> ParamUpdate:
    """The channel subset of one layer's weight: explicit, or largest L2 norm first."""
    assert rule.weight_ratio is not None
    w = _real_weight(graph, node.inputs[1])
    depthwise = _is_depthwise(graph, node)
    # IR weights are [Cout, kh, kw, Cin/groups] (FC: [N, K]); depthwise channels live on axis 0
    axis = 0 if depthwise or rule.over == "out" else w.ndim - 1
    n = w.shape[axis]
    if rule.channels is not None:
        chans = tuple(sorted(rule.channels))
        if any(not 0 <= c < n for c in chans):
            raise TteError(f"{rule.where()}: channels {chans} outside 0..{n - 1}")
    else:
        keep = int(n * rule.weight_ratio + 1e-9)
        if keep == 0:
            raise TteError(f"{rule.where()}: weight_ratio {rule.weight_ratio} of {n} channels keeps none")
        if keep == n:
            return ParamUpdate()
        norms = np.sqrt((np.moveaxis(w, axis, 0).reshape(n, -1) ** 2).sum(axis=1))
        chans = tuple(sorted(int(i) for i in np.argsort(-norms, kind="stable")[:keep]))
    return ParamUpdate(out_channels=chans) if axis == 0 else ParamUpdate(in_channels=chans)


# ---- presets and files ----------------------------------------------------------------

def paper_scheme(model: str, budget: str) -> UpdateScheme:
    from tte.models.paper import paper_schemes

    try:
        table = paper_schemes(model)
    except (KeyError, ValueError, TteError):
        raise TteError(f"no paper schemes for model '{model}'") from None
    if budget not in table:
        budgets = ", ".join(k for k in table if not k.startswith("_") and k != "n_conv")
        raise TteError(f"paper model '{model}' has no '{budget}' scheme (budgets: {budgets})")
    cfg = table[budget]
    layers = [LayerRule(conv=int(idx), weight_ratio=float(r), bias=True)
              for idx, r in cfg["weight_idx"].items() if float(r) > 0]
    return UpdateScheme(name=f"paper:{model}:{budget}", layers=layers, n_bias=int(cfg["n_bias_update"]))


def resolve_scheme(spec: str | UpdateScheme) -> UpdateScheme:
    """A scheme from a preset name, a paper scheme, or a .toml/.json file."""
    if isinstance(spec, UpdateScheme):
        spec.check(spec.name)
        return spec
    if spec == "full":
        return UpdateScheme(name="full", all_layers=True)
    if spec == "bias-only":
        return UpdateScheme(name="bias-only", n_bias=10**9)
    if spec == "classifier-only":
        return UpdateScheme(name="classifier-only")
    if spec == "none":
        return _InferenceOnly(name="none", classifier=False)
    if spec.startswith("last-k:"):
        try:
            k = int(spec.split(":", 1)[1])
        except ValueError:
            raise TteError(f"bad scheme '{spec}': expected last-k:N with N a whole number") from None
        if k < 0:
            raise TteError(f"bad scheme '{spec}': N must be >= 0")
        return _LastK(name=spec, k=k)
    if spec.startswith("paper:"):
        parts = spec.split(":")
        if len(parts) != 3:
            raise TteError(f"bad scheme '{spec}': expected paper:<model>:<budget>, e.g. paper:mbv2-w0.35:99kb")
        return paper_scheme(parts[1], parts[2])
    p = Path(spec)
    if p.suffix in (".toml", ".json"):
        if not p.is_file():
            raise TteError("no such scheme file", file=spec)
        try:
            raw = tomllib.loads(p.read_text()) if p.suffix == ".toml" else json.loads(p.read_text())
        except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as e:
            raise TteError(f"cannot parse scheme: {e}", file=spec) from None
        return UpdateScheme.from_dict(raw, source=spec)
    raise TteError(f"unknown scheme '{spec}' (presets: {', '.join(PRESETS)}, or a .toml/.json file)")


@dataclass
class _LastK(UpdateScheme):
    k: int = 0

    def to_plan(self, graph: Graph) -> dict[str, ParamUpdate]:
        convs, _ = trainable_layers(graph)
        start = max(0, len(convs) - self.k)
        self.layers = [LayerRule(conv=i, weight_ratio=1.0) for i in range(start, len(convs))]
        return super().to_plan(graph)


@dataclass
class _InferenceOnly(UpdateScheme):
    """``none``: no parameter is trained; the compiler builds no training step at all."""

    @property
    def inference_only(self) -> bool:
        return True

    def to_plan(self, graph: Graph) -> dict[str, ParamUpdate]:
        raise TteError(f"scheme '{self.name}' is inference-only: it trains nothing in graph '{graph.name}' "
                       "(compile it for inference with tte compile --scheme none; pick a training scheme "
                       "to train)")


def plan_bytes(graph: Graph, plan: dict[str, ParamUpdate]) -> int:
    """Bytes of the parameters a plan updates (they must live in SRAM)."""
    total = 0
    for name, sel in plan.items():
        t = graph.tensors[name]
        shape = list(t.shape)
        if sel.out_channels:
            shape[0] = len(sel.out_channels)
        if sel.in_channels and len(shape) > 1:
            shape[-1] = len(sel.in_channels)
        total += math.prod(shape) * np.dtype(t.dtype).itemsize
    return total
