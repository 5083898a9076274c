"""Training through the structural ops in generated C. (Their single-op kernel cases live
in c_cases_structural.py and run with every other case in test_c_kernels.py.)"""

from __future__ import annotations

import numpy as np
import pytest


def test_training_through_structural_ops_in_c_matches_the_reference() -> None:
    """The int8 structural net (max pool, channel slices, concat, pad, crop) trained with
    every layer updated: the generated C gives the reference's losses step by step."""
    from test_structural_grads import structural_net

    import tte
    from tte.training.trainer import Trainer

    g = structural_net()
    rng = np.random.default_rng(2)
    xs = rng.uniform(-1, 1, (16, 8, 8, 2)).astype(np.float32)     # IR layout = source layout here
    q = tte.quantize(g, calibration=xs)
    ref = Trainer(q, scheme="full", engine="ref", seed=0)
    host = Trainer(q, scheme="full", engine="c", seed=0)
    backward = {n.op for n in host.training.graph.nodes[host.training.forward_nodes:]}
    assert {"maxpool2d_grad", "slice", "pad"} <= backward
    for i in range(3):
        label = np.array([i % 4])
        assert host.step(xs[i:i + 1], label) == pytest.approx(ref.step(xs[i:i + 1], label), rel=1e-5)
    w0 = q.tensors["c1.w"].data
    assert not np.array_equal(host.graph.weights()["c1.w"], w0)
