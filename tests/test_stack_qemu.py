"""The report's stack figure holds on the emulated board for a model whose first conv takes
the KxK window kernel (MLPerf Tiny's keyword spotting DS-CNN, 10x4 over one channel, fused
into a streamed block): that kernel's widened inputs and sums live in planned scratch, so the
painted stack peak of a training step and an inference stays below ``stack_bytes``."""

from __future__ import annotations

from fwtools import needs_arm_gcc, needs_qemu
from mltk_models import LR, fetch_or_skip, samples, target_for

import tte

pytestmark = [needs_arm_gcc, needs_qemu]
MODEL, SCHEME = "kws-dscnn", "last-k:2"


def test_kws_painted_stack_peak_is_below_the_report() -> None:
    path = fetch_or_skip()[MODEL]
    g = tte.load(path)
    x = samples(g, 1, seed=7)
    tr = tte.Trainer(g, scheme=SCHEME, engine="qemu", lr=LR[(MODEL, SCHEME)])
    tr.step(x, target_for(g, MODEL, x))
    tr.predict(x)
    q = tr.sim
    report = q.analysis.report  # type: ignore[union-attr]
    stack = q.close()  # type: ignore[union-attr]
    assert 0 < stack < report["stack_bytes"], f"painted stack peak {stack} B"
    assert q.firmware.sizes.ram_static_bytes + stack <= report["peak_sram_bytes"]  # type: ignore[union-attr]
