"""Two streamed blocks run together (tte.compiler.fuse.pair_blocks, tte_block_s8_pair): in the
row-streamed input build the first block's output, whose only reader is the second, exists only
as a band of its rows. Oracles: tte.reference, the normal compile's C (two blocks, the first's
output whole) on the host and the emulated M7, the plans' own buffers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fwtools import needs_arm_gcc, needs_qemu
from rowsnet import check_rows_like_normal, pair_net, rows_sim

from tte.compiler.analysis import analyze
from tte.compiler.emit import SCRATCH
from tte.compiler.emit.block import (
    DW_PAD_META,
    PAIR_OUTPUT,
    PAIR_SLOTS,
    PAIR_STATE_BYTES,
    block_scratch_bytes,
    pair_parts,
    pair_where,
)
from tte.reference import execute
from tte.targets.sim import Simulator


def _sim(g: Any, rows: bool, scheme: str, tag: str) -> Simulator:
    return rows_sim(g, rows, scheme, f"pair{int(rows)}_{tag}")


@pytest.mark.parametrize("second_out, where", [(8, PAIR_SLOTS), (16, PAIR_OUTPUT)])
def test_the_rows_build_pairs_the_first_blocks_and_counts_their_scratch(second_out: int, where: int) -> None:
    """With the input given row by row the first two blocks run as one streamed_pair in both plans:
    the first block's output is no buffer, the pair's scratch (both blocks' scratch and the state;
    no band: after the second's 1x1 expand conv the first makes each row in the second's ring, or
    where a row of the second's output holds one, there, without the second's window of input
    rows) is, and the first step needs fewer bytes than the two blocks' steps did. With the input
    in the arena the pair's scratch would cost more than the output it saves: two blocks."""
    g = pair_net(32, name=f"pairnet_plan{second_out}", second_out=second_out)
    a = analyze(g, scheme="last-k:2", budget_bytes=1 << 40, input_rows=True)
    normal = analyze(g, scheme="last-k:2", budget_bytes=1 << 40)
    for sg, plan in ((a.scheduled, a.plan), (a.inference, a.inference_plan)):
        pair = sg.graph.nodes[0]
        assert pair.op == "streamed_pair"
        first, second, view = pair_parts(pair, sg.graph)
        assert first.outputs[0] not in plan.offsets and first.outputs[0] not in sg.graph.tensors
        scratch = next(b for b in plan.buffers if b.name == f"{pair.name}@scratch")
        own = block_scratch_bytes(first, view) + block_scratch_bytes(second, view, rows=where != PAIR_OUTPUT)
        band_row = view.tensors[first.outputs[0]].nbytes // view.tensors[first.outputs[0]].shape[1]
        assert scratch.size == (SCRATCH["streamed_pair"](pair, sg.graph) + 7) // 8 * 8
        assert pair_where(pair, sg.graph) == where
        # the state and up to three 8-byte alignments more, no row of the first block's output
        assert 0 <= scratch.size - own - PAIR_STATE_BYTES <= 21 < band_row
        pair_step = plan.floor_bytes()[0]
        out, out_whole = sg.graph.tensors[pair.outputs[0]].nbytes, view.tensors[first.outputs[0]].nbytes
        assert pair_step == scratch.size + out
        # without optional scratch (given after the pairing, where the shared arena has room), the
        # pair's step against the second block's step unpaired, the first's output whole
        given = sg.graph.meta.get(DW_PAD_META, frozenset())
        sg.graph.meta[DW_PAD_META] = frozenset()
        bare, second_alone = SCRATCH["streamed_pair"](pair, sg.graph), block_scratch_bytes(second, view)
        sg.graph.meta[DW_PAD_META] = given
        assert bare + out < out_whole + second_alone + out
    assert [n.op for n in normal.scheduled.graph.nodes[:2]] == ["streamed_block", "streamed_block"]
    assert [n.op for n in normal.inference.graph.nodes[:2]] == ["streamed_block", "streamed_block"]


@pytest.mark.parametrize("side, second_out", [(32, 8), (31, 8), (31, 16)])
def test_the_pair_gives_the_normal_compiles_bits_by_pointer_and_by_reader(side: int, second_out: int) -> None:
    """Inference and training steps of the paired rows build (the first block's rows made in the
    second's ring, or in its output): the reference's outputs, the normal compile's losses and
    trained weights; through the reader every input row asked for once, in order."""
    g = pair_net(side, name=f"pairnet{side}_{second_out}", second_out=second_out)
    x_name = g.inputs[0]
    rng = np.random.default_rng(side)
    xs = [rng.integers(-128, 128, g.tensors[x_name].shape).astype(np.int8) for _ in range(3)]
    normal, rows = _sim(g, False, "last-k:2", str(side)), _sim(g, True, "last-k:2", str(side))
    assert rows.analysis.scheduled.graph.nodes[0].op == "streamed_pair"
    check_rows_like_normal(g, normal, rows, xs)


def test_an_inference_only_pair_gives_the_reference_bits() -> None:
    """Scheme none: every block frozen, the pair in the inference image alone."""
    g = pair_net(31, name="pairnet_inf")
    sim = _sim(g, True, "none", "inf")
    assert sim.analysis.inference.graph.nodes[0].op == "streamed_pair"
    for seed in range(2):
        x = np.random.default_rng(seed).integers(-128, 128, g.tensors[g.inputs[0]].shape).astype(np.int8)
        np.testing.assert_array_equal(sim.infer(x), execute(g, {g.inputs[0]: x})[g.outputs[0]])


@needs_arm_gcc
@needs_qemu
@pytest.mark.parametrize("second_out", [8, 16])
def test_the_pair_on_the_emulated_m7_gives_the_host_bits(tmp_path: Path, second_out: int) -> None:
    """The M7 build of the paired rows compile (its DSP kernels and assembly in both blocks; the
    first block's rows made in the second's ring, or in its output): the losses, outputs and
    trained weights of the normal compile on the host."""
    from tte.compiler.compile import compile_model
    from tte.targets.firmware import build_firmware
    from tte.targets.qemu import Stream, run_firmware

    g = pair_net(31, name="pairnet_m7", second_out=second_out)
    rng = np.random.default_rng(9)
    xs = [rng.integers(-128, 128, g.tensors[g.inputs[0]].shape).astype(np.int8) for _ in range(3)]
    out = tmp_path / "m"
    compile_model(g, board="qemu-mps2-an500", scheme="last-k:2", out_dir=out, input_rows=True)
    assert "tte_block_s8_pair(" in (out / "pairnet_m7.c").read_text()
    s = Stream()
    for i, x in enumerate(xs[:2]):
        s.train(x, i)
    s.infer(xs[2]).crc().quit()
    fw = build_firmware(out, "qemu-mps2-an500", out_dir=tmp_path / "fw", in_mode="semihost")
    r = run_firmware(fw, s)
    host = _sim(g, False, "last-k:2", "m7")
    assert r.losses == [host.train_step(x, i) for i, x in enumerate(xs[:2])]
    np.testing.assert_array_equal(r.outputs[0].reshape(-1), host.infer(xs[2]).reshape(-1))
    assert r.crc32 == host.crc32()


SANITIZED_RUN = """
import sys
sys.path.insert(0, "tests")
from rowsnet import pair_net, run_rows_sanitized

for second_out in (8, 16):
    g = pair_net(31, name=f"pair_asan{second_out}", second_out=second_out)
    print("pair ok", run_rows_sanitized(g, f"pair_asan{second_out}", sys.argv[1], first_op="streamed_pair"))
"""


@pytest.mark.slow
def test_the_pair_under_asan_and_ubsan(tmp_path: Path) -> None:
    """The paired rows build (by pointer and by reader, inference and steps) with the kernels and
    the generated C under AddressSanitizer and UndefinedBehaviorSanitizer."""
    import subprocess
    import sys

    from tte.targets import cbuild

    script = tmp_path / "pair_asan.py"
    script.write_text(SANITIZED_RUN)
    proc = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent, env=cbuild.sanitizer_env(), timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "pair ok" in out and "AddressSanitizer" not in out and "runtime error" not in out, out[-4000:]
