"""The report's MAC counts survive fusion: a fused node counts the original nodes it replaces."""

import numpy as np

import tte
from tte.compiler.analysis import analyze
from tte.compiler.schedule import graph_macs
from tte.models.paper import build_paper_onnx
from tte.training.autodiff import derive_training_graph
from tte.training.sparse import resolve_scheme


def test_backward_macs_equal_the_unfused_training_graph() -> None:
    g = tte.load(build_paper_onnx("mbv2-w0.35", resolution=128).SerializeToString())
    q = tte.quantize(g, calibration=np.random.default_rng(0).uniform(-1, 1, (2, 3, 128, 128)).astype(np.float32))
    scheme = resolve_scheme("paper:mbv2-w0.35:99kb")
    tg = derive_training_graph(q, scheme.to_plan(q))
    unfused = graph_macs(tg.graph, tg.graph.nodes[tg.forward_nodes:])
    report = analyze(q, board="stm32f746g-disco", scheme=scheme).report
    assert report["macs_forward"] == graph_macs(q)
    assert report["macs_backward"] == unfused
    # the backward pass runs through 24 convs: millions of MACs, less than the forward pass
    assert 1_000_000 < report["macs_backward"] < report["macs_forward"]
