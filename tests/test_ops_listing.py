"""`tte ops`: the listing comes from the registries, and the source-op -> IR-op mapping it
shows is what the importers really produce (recorded per import in meta["op_sources"])."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_onnx_import import TinyNet, export_torch
from test_onnx_structural import Conv1dNet

import tte
from tte.cli import main
from tte.frontend.onnx.registry import EMITS, GLUE_OPS
from tte.frontend.tflite import converter_emits
from tte.ir import OPS
from tte.opsinfo import op_support, rule_ops

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_cli_lists_every_forward_ir_op_as_json_and_text() -> None:
    r = CliRunner().invoke(main, ["ops", "--json"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.output)
    rows = {row["op"]: row for row in s["forward"]}
    assert {"conv2d", "concat", "slice", "maxpool2d"} <= set(rows)
    assert rows["concat"]["onnx"] == ["Concat"] and "CONCATENATION" in rows["concat"]["tflite"]
    assert rows["maxpool2d"]["gradient"] and rows["maxpool2d"]["gradient_c"]
    assert "maxpool2d_grad" in rows["maxpool2d"]["gradient_ops"]
    assert "Shape" in s["folded"]["onnx"] and "SHAPE" in s["folded"]["tflite"]
    text = CliRunner().invoke(main, ["ops"])
    assert text.exit_code == 0 and "STRIDED_SLICE" in text.output and "maxpool2d_grad" in text.output


def test_gradient_ops_are_what_autodiff_builds() -> None:
    """The probe of each rule names the ops a real training graph gets (concat -> slice)."""
    from test_structural_grads import structural_net

    from tte.training.autodiff import ParamUpdate, derive_training_graph

    g = structural_net()
    tg = derive_training_graph(g, {n: ParamUpdate() for n in g.weights()})
    built = {n.op for n in tg.graph.nodes[tg.forward_nodes:]}
    for op in ("maxpool2d", "concat", "slice", "pad"):
        assert rule_ops(op) <= built | {"add"}, op


def _check_sources(g: tte.Graph, declared: dict[str, tuple[str, ...]]) -> None:
    for src, ir_ops in g.meta["op_sources"].items():
        extra = set(ir_ops) - set(declared[src]) - set(GLUE_OPS)
        assert not extra, f"{src} produced {sorted(extra)} but declares {declared[src]}"


@pytest.mark.parametrize("model", ["tiny", "conv1d", "example"])
def test_onnx_imports_produce_only_declared_ops(model: str) -> None:
    data = {"tiny": lambda: export_torch(TinyNet(), (1, 3, 16, 16)),
            "conv1d": lambda: export_torch(Conv1dNet(), (1, 3, 24)),
            "example": lambda: (EXAMPLES / "fmnist_cnn.onnx").read_bytes()}[model]()
    g = tte.load(data)
    assert g.meta["op_sources"]
    _check_sources(g, EMITS)


def test_tflite_imports_produce_only_declared_ops() -> None:
    from test_tflite_structural import split_concat_model

    for g in (tte.load(EXAMPLES / "fmnist_cnn_int8.tflite"), tte.load(split_concat_model())):
        _check_sources(g, converter_emits())
    for row in op_support()["forward"]:
        assert row["op"] in OPS
