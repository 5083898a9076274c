"""A fused backward head under a global average pool (tte.compiler.pooled.pool_heads: the head
reads the pool's gradient, masked or not, and never stores the full-resolution one) trains on
the emulated Cortex-M7 as on the host: MLPerf Tiny's keyword spotting DS-CNN with the biases of
its last three layers trained (the gradient under the pool through the last 1x1 conv's ReLU
mask), the paper's models without a mask (tests/test_qemu_model.py)."""

from __future__ import annotations

from fwtools import needs_arm_gcc, needs_qemu
from mltk_models import fetch_or_skip, samples, target_for

import tte
from tte.training.sparse import UpdateScheme

pytestmark = [needs_arm_gcc, needs_qemu]
MODEL = "kws-dscnn"


def test_kws_pool_head_trains_on_qemu_as_on_the_host() -> None:
    g = tte.load(fetch_or_skip()[MODEL])
    scheme = UpdateScheme("bias-last-3", n_bias=3)
    host = tte.Trainer(g, scheme=scheme, engine="c", lr=1e-3, seed=0)
    board = tte.Trainer(g, scheme=scheme, engine="qemu", lr=1e-3, seed=0)
    try:
        a = board.sim.analysis  # type: ignore[union-attr]
        heads = [n for n in a.scheduled.graph.nodes if n.op == "dwpw_backward" and n.attrs.get("pool")]
        assert len(heads) == 1 and heads[0].inputs[10], "no head reads the masked pool gradient"
        untrained = host.weights_crc32()
        for i in range(2):
            x = samples(g, 1, seed=20 + i)
            y = target_for(g, MODEL, x)
            assert board.step(x, y) == host.step(x, y), f"step {i}"
        assert board.weights_crc32() == host.weights_crc32() != untrained
    finally:
        board.sim.close()  # type: ignore[union-attr]
