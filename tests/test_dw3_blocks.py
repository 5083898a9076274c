"""The compile-time blocks of a streamed block's 3x3 depthwise of stride 1 or 2
(tte.compiler.emit.block.dw3_blocks_layout, read by depthwise_s8.c's dw3_fast_groups_b): the
words are the taps, folded biases and output stage the kernel would pack per call; a frozen
depthwise gets them and infers the reference's bytes (on the emulated M7 too, where the
assembly reads them), a trained one keeps its plain kernel, and they give way first where the
flash is short."""

from __future__ import annotations

import dataclasses
import re
from functools import cache

import numpy as np
from blocknet import block_net
from fwtools import assert_infers_like_reference, needs_arm_gcc, needs_qemu

import tte
from tte.compiler.analysis import analyze
from tte.compiler.emit.block import DW3_BLOCK_WORDS, _block_parts, dw3_blocks_layout
from tte.compiler.emit.common import _chain_graph, _sz
from tte.targets.boards import get_board
from tte.training.sparse import LayerRule, UpdateScheme

BOARD = "qemu-mps2-an500"
SIDE, CLASSES = 34, 4
# stem 3 -> 8 (stride 2, 17x17), then two expand -> depthwise -> 1x1 blocks: stride 2 over 20
# channels (17 -> 9 columns, both border pixels), then stride 1 over 12 channels
BLOCKS = ((8, 20, 2, 12), (12, 12, 1, 8))


@cache
def _net() -> tte.Graph:
    return block_net(BLOCKS, SIDE, CLASSES, "dw3net")


def _blocks_arrays(c: str) -> list[str]:
    return re.findall(r"static const uint32_t (tte_dwb_[0-9a-f]+)\[", c)


def _block_params_blocks(c: str) -> list[str]:
    """The dw3_blocks field (before dw_prep_live, dw3_live, in_rows, rq_fast, stem3, stem_prep and
    dw3s2, the last) of every emitted tte_block_s8_params_t."""
    return re.findall(r"tte_block_s8_params_t \w+ = \{[^;]*, (\w+), [&\w]+, [&\w]+, \d, \d+, \w+, \w+, \w+\};", c)


def test_blocks_hold_the_words_the_kernel_packed() -> None:
    from tte.compiler.fuse import stream_blocks
    from tte.compiler.schedule import schedule_inference

    fused = stream_blocks(schedule_inference(_net())).graph
    node = next(n for n in fused.nodes if n.op == "streamed_block" and _block_parts(n)[1].inputs[1] == "b0d.w")
    _, blocks = dw3_blocks_layout(node, fused) or (None, None)  # noqa: RUF059
    assert blocks is not None
    dw, chain = _block_parts(node)[1], _block_parts(node)[4]
    g = _chain_graph(fused, chain)
    w = np.asarray(g.tensors[dw.inputs[1]].data, np.int64).reshape(-1, 3, 3)
    b = np.asarray(g.tensors[dw.inputs[2]].data, np.int64)
    _, zp = _sz(dw, g.tensors[dw.inputs[0]])
    _, out_zp = _sz(dw, g.tensors[dw.outputs[0]])
    words = blocks.reshape(-1, DW3_BLOCK_WORDS).astype(np.int64)
    assert len(words) == len(b) // 4

    def s32(v: np.ndarray) -> np.ndarray:
        return (v & 0xFFFFFFFF).astype(np.uint32).astype(np.int32)

    def lane(word: np.ndarray, hi: bool) -> np.ndarray:
        return ((word >> (16 if hi else 0)) & 0xFFFF).astype(np.uint16).astype(np.int16)

    for grp, wd in enumerate(words):
        ch = slice(4 * grp, 4 * grp + 4)
        # rows 0 and 1 of each column, one pair per channel (low: row 0)
        for col in range(3):
            pair = wd[4 * col:4 * col + 4]
            np.testing.assert_array_equal(lane(pair, False), w[ch, 0, col])
            np.testing.assert_array_equal(lane(pair, True), w[ch, 1, col])
        np.testing.assert_array_equal(lane(wd[12:16], False), w[ch, 2, 0])
        np.testing.assert_array_equal(lane(wd[12:16], True), w[ch, 2, 1])
        # the biases: whole window, left column in the padding, right one in it
        np.testing.assert_array_equal(s32(wd[18:22]), b[ch] - zp * w[ch].sum(axis=(1, 2)))
        np.testing.assert_array_equal(s32(wd[31:35]), b[ch] - zp * w[ch, :, 1:].sum(axis=(1, 2)))
        np.testing.assert_array_equal(s32(wd[35:39]), b[ch] - zp * w[ch, :, :2].sum(axis=(1, 2)))
        # row 2's columns 2 and 1 one tap a word pair: channels (c, c + 2), then (c + 1, c + 3)
        for at, col in ((16, 2), (39, 1)):
            np.testing.assert_array_equal(lane(wd[at:at + 2], False), w[ch, 2, col][:2])
            np.testing.assert_array_equal(lane(wd[at:at + 2], True), w[ch, 2, col][2:])
        assert s32(wd[30]) == 2 * out_zp + 1


def _stride2_blocks() -> str:
    """The C array name of the stride-2 depthwise's blocks (the stride-1 one's rows take the
    padded copy the planner gives it: no blocks)."""
    from tte.compiler.fuse import stream_blocks
    from tte.compiler.schedule import schedule_inference

    fused = stream_blocks(schedule_inference(_net())).graph
    node = next(n for n in fused.nodes if n.op == "streamed_block" and _block_parts(n)[1].inputs[1] == "b0d.w")
    pr = dw3_blocks_layout(node, fused)
    assert pr is not None
    return pr[0]


@needs_arm_gcc
@needs_qemu
def test_frozen_depthwise_reads_its_blocks() -> None:
    g = _net()
    a = analyze(g, board=BOARD, scheme="classifier-only")
    c = assert_infers_like_reference(g, a, True, BOARD)["m.c"]
    assert _blocks_arrays(c) == [_stride2_blocks()]
    # the inference's block and the step's forward block read them
    assert _block_params_blocks(c).count(_stride2_blocks()) == 2
    assert "b0d.w" in a.report["prepared_layers"]


def test_trained_depthwise_keeps_the_plain_kernel() -> None:
    g = _net()
    a = analyze(g, board=BOARD, scheme=UpdateScheme(layers=[LayerRule(name="b0d")]))
    c = assert_infers_like_reference(g, a, False, BOARD)["m.c"]
    assert not _blocks_arrays(c)


def test_blocks_give_way_first_to_fit_the_flash() -> None:
    g = _net()
    full = analyze(g, board=BOARD, scheme="classifier-only")
    tight = dataclasses.replace(get_board(BOARD), flash_bytes=full.report["flash_data_bytes"] - 1)
    a = analyze(g, board=tight, scheme="classifier-only")
    assert a.report["fits"] and a.report["prepared_dropped_layers"] == ["b0d.w"]
    c = assert_infers_like_reference(g, a, False, BOARD)["m.c"]
    assert not _blocks_arrays(c) and c.count("static const uint32_t tte_dwq_") == 2
