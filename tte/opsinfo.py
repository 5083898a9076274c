"""Which ops tte supports, computed from the registries the code runs on: the IR op table
(``tte.ir.OPS``), the reference kernels, the gradient rules, the C emitters and the ONNX
and TFLite converters (with the IR ops each declares). ``tte ops`` prints it."""

from __future__ import annotations

from collections import defaultdict
from typing import Any


def op_support() -> dict[str, Any]:
    """{"forward": rows per IR op, "training": rows per training op, "folded": source ops that
    vanish at import}, each row saying which source ops map to it and what runs it."""
    import tte.frontend.onnx.importer  # noqa: F401  (registers the ONNX converters)
    import tte.reference  # noqa: F401  (registers the reference kernels)
    from tte.compiler.emit import EMITTERS
    from tte.frontend.onnx.registry import EMITS as ONNX_EMITS
    from tte.frontend.onnx.registry import FOLDED_OPS
    from tte.frontend.tflite import converter_emits
    from tte.ir import FUSED_OPS, OPS, TRAINING_OPS
    from tte.reference.registry import KERNELS
    from tte.training.autodiff import RULES

    tflite_emits = converter_emits()

    def sources(table: dict[str, tuple[str, ...]], op: str) -> list[str]:
        return sorted(k for k, ir in table.items() if op in ir)

    def dtypes(op: str) -> list[str]:
        return sorted(d for (o, d) in KERNELS if o == op)

    from tte.compiler.schedule import FUSED

    def backward_c(op: str) -> bool:
        return op in RULES and all(o in EMITTERS or FUSED.get(o) in EMITTERS for o in rule_ops(op))

    forward = [{"op": op, "onnx": sources(ONNX_EMITS, op), "tflite": sources(tflite_emits, op),
                "reference": dtypes(op), "gradient": op in RULES, "c": op in EMITTERS,
                "gradient_ops": sorted(rule_ops(op)), "gradient_c": backward_c(op), "doc": spec.doc}
               for op, spec in OPS.items() if op not in TRAINING_OPS and op not in FUSED_OPS]
    training = [{"op": op, "reference": dtypes(op), "c": op in EMITTERS, "doc": spec.doc}
                for op, spec in TRAINING_OPS.items()]
    folded = {"onnx": sorted([*FOLDED_OPS, *(k for k, ir in ONNX_EMITS.items() if not ir)]),
              "tflite": sorted(k for k, ir in tflite_emits.items() if not ir)}
    return {"forward": forward, "training": training, "folded": folded}


class _Recorder:
    """A stand-in for autodiff's builder that records the ops a gradient rule emits."""

    def __init__(self) -> None:
        from tte.ir import Tensor

        self.ops: set[str] = set()
        self.g = type("G", (), {})()
        self.g.tensors = defaultdict(lambda: Tensor("t", (1, 4, 4, 4)))
        self.g.meta = {"_masks": {"y": "y@mask"}}

    def op(self, op: str, inputs: list[str], out: str, attrs: dict[str, Any] | None = None,
           dtype: str | None = None) -> str:
        self.ops.add(op)
        return out

    def accumulate(self, tensor: str, grad: str) -> None:
        """Several consumers' gradients are summed by an add."""


def rule_ops(op: str) -> set[str]:
    """The training ops the gradient rule of ``op`` emits (every input wanting a gradient, a
    fused activation, float tensors), found by running the rule on a recorder."""
    from tte.ir import OPS, Node
    from tte.training.autodiff import RULES, ParamUpdate

    if op not in RULES:
        return set()
    spec = OPS[op]
    attrs = dict(spec.attrs)
    if "activation" in attrs:
        attrs["activation"] = "relu"
    variadic = spec.optional > 1                       # concat: probe two inputs
    n_in = len(spec.inputs) - spec.optional + 1 if variadic else len(spec.inputs)
    node = Node("n", op, [f"x{i}" for i in range(n_in)], ["y"], attrs)
    rec = _Recorder()
    RULES[op](rec, node, "dy", [True] * len(node.inputs), defaultdict(ParamUpdate))  # type: ignore[arg-type]
    return rec.ops


def format_support(s: dict[str, Any]) -> str:
    def yes(v: bool) -> str:
        return "yes" if v else "-"

    lines = ["Forward ops (IR op <- source ops; reference kernels by input dtype; C forward kernel;",
             "gradient rule; C kernels for every op the rule emits):",
             f"  {'IR op':<16} {'reference':<15} {'C':<4} {'grad':<5} {'grad C':<7} {'ONNX':<34} TFLite"]
    for r in s["forward"]:
        lines.append(f"  {r['op']:<16} {' '.join(r['reference']) or '-':<15} {yes(r['c']):<4} "
                     f"{yes(r['gradient']):<5} {yes(r['gradient_c']):<7} {' '.join(r['onnx']) or '-':<34} "
                     f"{' '.join(r['tflite']) or '-'}")
    lines += ["", "Training ops (built by autodiff; a weight / bias gradient runs fused into its update):",
              f"  {'op':<22} {'reference':<20} C"]
    for r in s["training"]:
        lines.append(f"  {r['op']:<22} {' '.join(r['reference']) or '-':<20} {yes(r['c'])}")
    lines += ["", "Folded or aliased at import (no op at run time):",
              f"  ONNX:   {' '.join(s['folded']['onnx'])} (and any op whose inputs are all constant)",
              f"  TFLite: {' '.join(s['folded']['tflite']) or '-'} (and shape arithmetic on constants)"]
    return "\n".join(lines)
