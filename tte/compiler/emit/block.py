"""Fused forward (tte.compiler.fuse): a streamed inverted-residual block, expand -> depthwise ->
project (-> add), the unfused ops' parameters in one streaming kernel (csrc/include/tte/block.h)."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

from tte.compiler.emit.common import (
    Emitted,
    Ref,
    _array,
    _chain_graph,
    _emitter,
    _err,
    _q,
    _sz,
    _t,
    _unsupported,
    constant_refs,
    split_ref,
)
from tte.compiler.emit.conv import (
    FC_PREPARED_META,
    _plain_pointwise,
    conv2d_scratch_bytes,
    emit_conv2d,
    fc_layout,
    kept_layout,
    rq_fast_ok,
    stage_fast_ok,
)
from tte.compiler.emit.elementwise import add_table_bytes, emit_add
from tte.ir import FusedChain, Graph, Node
from tte.numerics import fixedpoint as fp

BLOCK_MAX_KH = 16  # TTE_BLOCK_MAX_KH in csrc/src/block_s8.c
PW_PAIRS_MIN = 32  # P's input channels from which tte_block_s8 gives the 1x1 a pixel-pair buffer (block_s8.c)
DW_MAX_TAPS = 49  # TTE_DW_MAX_TAPS in csrc/src/depthwise_s8.c
LIVE_BIAS_MIN = 2 ** 16  # a live bias's layout only with room for the bias to move (else no gain)
PW_SUM_BITS = 23  # tte_conv2d_s8_pointwise_prep_px's sums: 256 times the int32 sum, mod 2**32
PE_MAX_IN = 24  # E's input channels up to which tte_conv2d_s8_pointwise_small_prep_px reads a layout
PE_SUM_BITS = 29  # its doubled sums: |bias| + in_c 255 128 below 2**29 (pointwise_s8.c's pws_fits)


def _block_parts(node: Node) -> tuple[Node | None, Node, Node, Node | None, FusedChain]:
    chain = node.attrs.get("chain")
    if not isinstance(chain, FusedChain):
        raise _err(node, "no fused chain")
    nodes = list(chain.nodes)
    add = nodes.pop() if nodes[-1].op == "add" else None
    expand = nodes.pop(0) if len(nodes) == 3 else None
    if len(nodes) != 2:
        raise _err(node, f"unexpected chain {chain}")
    return expand, nodes[0], nodes[1], add, chain


def block_scratch_bytes(node: Node, g: Graph, rows: bool | None = None) -> int:
    """tte_block_s8_scratch_bytes: E's kernel scratch + the add's table + P's pixel-pair buffer (from
    32 input channels on; without E and the add at least D's scratch, dw_ws_bytes) + ring of E's output rows + one pixel
    of D (two or four without E and the add) (+ one of P); reading the model's input row by row
    (reads_input_rows, or ``rows``: the second block of a streamed_pair), then from an 8-byte boundary
    the window of its rows (input_window_bytes)."""
    expand, dw, project, add, chain = _block_parts(node)
    view = _chain_graph(g, chain)
    x, d = _t(view, dw.inputs[0]), _t(view, dw.outputs[0])
    kh, dh = _t(view, dw.inputs[1]).shape[1], int(dw.attrs["dilations"][0])
    p_in = d.shape[-1]
    wide = dw3_wide_bytes(dw, view, dw_live(node, g)) if expand is not None and dw_pad_given(node, g) else 0
    d_ws = dw_ws_bytes(dw, view) if expand is None and add is None else 0
    d_ws = max(d_ws, dw_pad_bytes(dw, view) if dw_pad_given(node, g) and not wide else 0)
    n = wide + max(8 * p_in if p_in >= PW_PAIRS_MIN else 0, d_ws) + d.shape[-1]
    if expand is not None:
        n += conv2d_scratch_bytes(expand, view)
    if expand is None and add is None:
        # further pixels of D's output: three from 128 channels on, else one (flat_dbuf_pixels)
        n += (3 if d.shape[-1] >= 128 else 1) * d.shape[-1]
        if dw_all_given(node, g):
            all_wide = pw_all_wide_bytes(node, g)
            n += dw_all_bytes(node, g) + (7 + all_wide if all_wide else 0)
    if expand is not None:
        n += ((kh - 1) * dh + 1) * x.shape[2] * x.shape[3]
    if add is not None:
        y = _t(view, project.outputs[0])
        n += y.shape[-1] + add_table_bytes(y.size // y.shape[0])   # the table: for one image's sums
    if reads_input_rows(node, g) if rows is None else rows:
        n = (n + 7) // 8 * 8 + input_window_bytes(node, g)
    return n


INPUT_ROWS_META = "input_rows"   # Graph.meta key: the model's input, given row by row (tte.compiler.analysis)
INPUT_SOURCE = "tte_input_rows"  # the generated C's tte_block_rows_t of the input (tte.compiler.codegen)
INPUT_WINDOW_HEAD = 16  # sizeof(in_window_t) in csrc/src/block_s8.c


def reads_input_rows(node: Node, g: Graph) -> bool:
    """Whether streamed block ``node`` reads the model's input row by row (INPUT_ROWS_META names it):
    tte_block_s8_rows, its scratch ending with a window of E's kernel rows of the input."""
    return node.op == "streamed_block" and bool(node.inputs) and g.meta.get(INPUT_ROWS_META) == node.inputs[0]


def input_window_bytes(node: Node, g: Graph) -> int:
    """The window of the model's input rows in the scratch of block ``node`` (reads_input_rows): a
    16-byte head (block_s8.c in_window_t: the window's state, kept off the stack), then E's kernel
    rows, (k_h - 1) * dil_h + 1 rows of in_w * in_c bytes (window_rows)."""
    expand, _, _, _, chain = _block_parts(node)
    if expand is None:
        raise _err(node, "reads the input row by row without an expand conv")
    view = _chain_graph(g, chain)
    x = _t(view, expand.inputs[0])
    kh, dh = _t(view, expand.inputs[1]).shape[1], int(expand.attrs["dilations"][0])
    return INPUT_WINDOW_HEAD + ((kh - 1) * dh + 1) * x.shape[2] * x.shape[3]


def dw_ws_bytes(dw: Node, g: Graph) -> int:
    """tte_conv2d_s8_dw_ws_bytes: the scratch of a 3x3 stride-1 depthwise (multiplier 1, dilation 1,
    at least four channels), three rows of its output width + 2 columns of 8 bytes (16 from eight
    channels on: two channel groups a pass), which
    tte_block_s8 gives it in P's pixel-pair buffer (D runs before P on each chunk); a stride-2
    one's (dw3s2_fits) twice the columns."""
    w, x, d = _t(g, dw.inputs[1]), _t(g, dw.inputs[0]), _t(g, dw.outputs[0])
    if dw3s2_fits(dw, g):
        return (96 if d.shape[-1] >= 8 else 48) * (d.shape[2] + 2)
    ring = (tuple(w.shape[1:3]) == (3, 3) and tuple(int(s) for s in dw.attrs["strides"]) == (1, 1)
            and tuple(int(s) for s in dw.attrs["dilations"]) == (1, 1) and d.shape[-1] == x.shape[-1] >= 4)
    return (48 if d.shape[-1] >= 8 else 24) * (d.shape[2] + 2) if ring else 0


def dw3s2_paired(node: Node, g: Graph) -> bool:
    """Whether streamed block ``node``'s dw_layout holds the stride-2 pair words: no E, no add and a
    depthwise of dw3s2_fits (the block then names tte_conv2d_s8_dw3s2_ws, depthwise_s2_s8.c)."""
    expand, dw, _, add, chain = _block_parts(node)
    return expand is None and add is None and dw3s2_fits(dw, _chain_graph(g, chain))


DWS2_MIN_K = 4   # tte/internal/dwp.h's DWS2_MIN_K: the fewest output pixels a row dws2_ring takes


def dw3s2_fits(dw: Node, g: Graph) -> bool:
    """Whether depthwise ``dw`` has tte_conv2d_s8_dw3s2_ws's geometry (csrc/src/depthwise_s8.c
    dws2_fits): a 3x3 stride-2 window, multiplier 1, dilation 1, a multiple of four channels, at
    least DWS2_MIN_K output pixels a row (VWW's rows of three: the old path costs less). Then
    dw_ws_bytes is dws2_ring's three rows of output width + 2 pixel pairs (32 bytes a pair from
    eight channels on, else 16), in the pixel-pair layout: output pixel j's window columns are
    pair j and the first column of pair j + 1."""
    w, x, d = _t(g, dw.inputs[1]), _t(g, dw.inputs[0]), _t(g, dw.outputs[0])
    return (tuple(w.shape[1:3]) == (3, 3) and tuple(int(s) for s in dw.attrs["strides"]) == (2, 2)
            and tuple(int(s) for s in dw.attrs["dilations"]) == (1, 1) and d.shape[-1] == x.shape[-1] >= 4
            and d.shape[-1] % 4 == 0 and d.shape[2] >= DWS2_MIN_K)


def dw3_wide_bytes(dw: Node, g: Graph, live: bool = False) -> int:
    """tte_conv2d_s8_dw3_wide_bytes: a 3x3 stride-1 depthwise's (multiplier 1, dilation 1, a multiple
    of four channels) three window rows kept sign-extended (in the pixel-pair layout) and padded
    across its calls, its output width + 2 columns of 2 bytes a channel each (a block with E widens
    each row of E's output once: no copy per output row and call), after the rows the slots hold
    (16 bytes) and the assembly's block of 128 bytes per eight channels (DW3W_BLOCK_WORDS: the
    output stage's words made once per image); else 0. ``live`` (over a layout of biases 0,
    tte_conv2d_s8_dw3_wide_b_bytes): a multiple of eight channels, the same bytes (each block
    holds its channels' biases plus the live ones)."""
    w, x, d = _t(g, dw.inputs[1]), _t(g, dw.inputs[0]), _t(g, dw.outputs[0])
    c = d.shape[-1]
    fits = (tuple(w.shape[1:3]) == (3, 3) and tuple(int(s) for s in dw.attrs["strides"]) == (1, 1)
            and tuple(int(s) for s in dw.attrs["dilations"]) == (1, 1) and c == x.shape[-1] >= 4 and c % 4 == 0)
    fits = fits and (c % 8 == 0 or not live)
    return 16 + 128 * ((c + 4) // 8) + 6 * c * (d.shape[2] + 2) if fits else 0


DW_PAD_META = "dw_pad"   # Graph.meta key: the streamed blocks given dw_pad_bytes of D's scratch (tte.compiler.analysis)


def dw57_pad_bytes(dw: Node, g: Graph) -> int:
    """tte_conv2d_s8_dw57_pad_bytes: the optional scratch of a square 5x5 or 7x7 depthwise (stride 1:
    at stride 2 the copy costs what it saves; multiplier 1, dilation 1, at least four channels)
    over a padded, sign-extended copy of its window rows, k_h rows of a whole output row's
    columns, 8 bytes a column; else 0."""
    w, x, d = _t(g, dw.inputs[1]), _t(g, dw.inputs[0]), _t(g, dw.outputs[0])
    kh, kw = (int(s) for s in w.shape[1:3])
    sw = int(dw.attrs["strides"][1])
    fits = (kh == kw and kw in (5, 7) and sw == 1 and tuple(int(s) for s in dw.attrs["dilations"]) == (1, 1)
            and d.shape[-1] == x.shape[-1] >= 4)
    return 8 * kh * ((d.shape[2] - 1) * sw + kw) if fits else 0


DW3_PAD_MAX_WIDTH = 64   # widest 3x3 output given dw3_ring's ring as optional scratch (the widest measured)


def dw_pad_bytes(dw: Node, g: Graph) -> int:
    """The optional scratch of a depthwise over a padded, sign-extended copy of its window rows:
    dw3_ring's three rows for a 3x3 stride-1 window at most DW3_PAD_MAX_WIDTH wide (dw_ws_bytes;
    in a block with E the rows are copied again for each output row, three columns of copy a
    pixel and channel group against nine taps of 6 instructions, not dw3_fast's 8: measured
    in the paper models' first blocks, 64 wide, 16 channels, where only --speed-kb gives it (no
    pair buffer below 32 channels, so the ring grows the arena by its 3,168 bytes): MbV2 -146K
    instructions a step; at stride 2, twice the columns copied a pixel, a loss; where a block with
    E has a multiple of four channels, dw_pad_candidate gives it dw3_wide_bytes instead), dw57_pad's
    for a 5x5 or 7x7 (dw57_pad_bytes); else 0."""
    if (_t(g, dw.outputs[0]).shape[2] <= DW3_PAD_MAX_WIDTH and not dw3s2_fits(dw, g)
            and (ring := dw_ws_bytes(dw, g))):
        return ring
    return dw57_pad_bytes(dw, g)


def dw_pad_candidate(node: Node, g: Graph) -> int:
    """The bytes the copy of dw_pad_bytes would take in streamed block ``node``'s scratch (0: not one;
    nor a 3x3 ring that D has without it: without E and the add, or within P's pair buffer); with E,
    D's rows kept whole where dw3_wide_bytes takes D (each widened once, not once per output row and
    call: measured on MobileNetV2's stride-1 blocks)."""
    if node.op != "streamed_block":
        return 0
    expand, dw, _, add, chain = _block_parts(node)
    view = _chain_graph(g, chain)
    if expand is not None and (wide := dw3_wide_bytes(dw, view, dw_live(node, g))):
        return wide
    n = dw_pad_bytes(dw, view)
    if n and dw_ws_bytes(dw, view):
        p_in = _t(view, dw.outputs[0]).shape[-1]
        if (expand is None and add is None) or (p_in >= PW_PAIRS_MIN and 8 * p_in >= n):
            return 0
    return n


def dw_pad_work(node: Node, g: Graph) -> int:
    """Taps times output values of the depthwise of a streamed block that can take the copy of
    dw_pad_bytes (0: none): the work the copy speeds up."""
    if not dw_pad_candidate(node, g):
        return 0
    _, dw, _, _, chain = _block_parts(node)
    view = _chain_graph(g, chain)
    w = _t(view, dw.inputs[1])
    return int(w.shape[1] * w.shape[2]) * _t(view, dw.outputs[0]).size


def dw_pad_given(node: Node, g: Graph) -> bool:
    """Whether the graph's DW_PAD_META gives streamed block ``node`` the copy of dw_pad_bytes."""
    return node.name in g.meta.get(DW_PAD_META, ()) and dw_pad_candidate(node, g) > 0


DW_ALL_META = "dw_all"   # Graph.meta key: the streamed blocks given D's outputs of a whole image in scratch


def dw_all_bytes(node: Node, g: Graph) -> int:
    """The scratch block_run_all adds for D's outputs of one whole image (0: not a candidate): a
    streamed block without E and the add whose 1x1 reads its compile-time layout (pw_layout) over
    more than four pixels, which then reads each flash weight once per image, not once per chunk
    of pixels."""
    if node.op != "streamed_block":
        return 0
    expand, dw, _, add, chain = _block_parts(node)
    if expand is not None or add is not None or pw_prepared(node, g) is None:
        return 0
    d = _t(_chain_graph(g, chain), dw.outputs[0])
    return d.shape[1] * d.shape[2] * d.shape[3] if d.shape[1] * d.shape[2] > 4 else 0


PWP_PASS_BYTES = 3584   # pointwise_s8.c's TTE_PWP_PASS_BYTES: layout bytes a pass of channels reads


def pw_all_wide_bytes(node: Node, g: Graph) -> int:
    """block_run_all's buffer of P's widened pixels (tte_conv2d_s8_pointwise_prep_all_bytes): every
    pixel's 2 in_c int16 words where P reads pw_layout's form (from 32 input channels on) in more
    than one pass of channels (more than PWP_PASS_BYTES over more than four pixels), else 0."""
    _, dw, project, _, chain = _block_parts(node)
    view = _chain_graph(g, chain)
    d, p = _t(view, dw.outputs[0]), _t(view, project.outputs[0])
    n, m, npix = d.shape[-1], p.shape[-1], d.shape[1] * d.shape[2]
    if n < PW_PAIRS_MIN or npix <= 4 or 4 * (m // 2) * (8 + n // 2) <= PWP_PASS_BYTES:
        return 0
    return (npix + 3) // 4 * 8 * n


def dw_all_work(node: Node, g: Graph) -> int:
    """The bytes of P's layout of a candidate for dw_all_bytes (0: none): what each chunk of pixels
    after the first reads from flash again without it."""
    pw = pw_prepared(node, g) if dw_all_bytes(node, g) else None
    return int(pw[1].nbytes) if pw is not None else 0


def dw_all_given(node: Node, g: Graph) -> bool:
    """Whether the graph's DW_ALL_META gives streamed block ``node`` D's outputs of a whole image."""
    return node.name in g.meta.get(DW_ALL_META, ()) and dw_all_bytes(node, g) > 0


def dw_prepared(node: Node, g: Graph) -> tuple[str, np.ndarray] | None:
    """dw_layout where the flash policy keeps it (kept_layout); none for a depthwise whose bias is
    live (dw_live_prepared: a compile-time bias of 0 would give the same array)."""
    return None if dw_live_given(node, g) else kept_layout(dw_layout(node, g), g, PREPARED_META)


# Graph.meta key: the biases a step trains of convs whose weights it does not (live_biases), set
# before the memory plans (tte.compiler.analysis): a streamed block's depthwise among them reads
# a layout of biases 0 where it keeps its rows widened (dw_live), whose scratch is larger
DW_LIVE_META = "dw_live_bias"


def dw_live(node: Node, g: Graph) -> bool:
    """Whether streamed block ``node``'s depthwise has a bias a step trains (DW_LIVE_META, its
    weight frozen) and the geometry of dw3_wide after a 1x1 E over a multiple of eight channels,
    which adds the live biases to a layout of biases 0 (tte_conv2d_s8_dw3_wide_live) where
    DW_PAD_META gives the block the rows."""
    if node.op != "streamed_block":
        return False
    expand, dw, _, _, chain = _block_parts(node)
    bias = dw.inputs[2] if len(dw.inputs) > 2 else ""
    view = _chain_graph(g, chain)
    return (expand is not None and bool(bias) and bias in g.meta.get(DW_LIVE_META, ())
            and _t(view, dw.outputs[0]).shape[-1] % 8 == 0 and dw3_wide_bytes(dw, view) > 0)


def dw_live_given(node: Node, g: Graph) -> bool:
    """dw_live where the block keeps D's rows widened (dw_pad_given)."""
    return dw_live(node, g) and dw_pad_given(node, g)


def dw_live_prepared(node: Node, g: Graph) -> tuple[str, np.ndarray] | None:
    """dw_layout with biases 0 for a dw_live_given block, where the flash policy keeps it."""
    return kept_layout(dw_layout(node, g, live=True), g, PREPARED_META) if dw_live_given(node, g) else None


def mark_live_depthwise(graphs: Sequence[Graph], trained: Collection[str]) -> None:
    """Record in each graph (DW_LIVE_META) the biases a step trains of convs whose weights it
    does not, for the plans' block scratch (dw_live) and choose_prepared's candidates."""
    live = live_biases(graphs, trained)
    for g in graphs:
        g.meta[DW_LIVE_META] = live


PREPARED_META = "dw_prepared"   # Graph.meta key: the C array names choose_prepared keeps
PW_DOUBLED_META = "pw_doubled"   # Graph.meta key: the pw_layout names choose_prepared doubles (pwd_layout)
# Graph.meta key: the trained biases of 1x1 convs with frozen weights (choose_prepared's), which
# pw_conv_layout lays out with bias 0 for tte_conv2d_s8_pointwise_prep_bias_px to add live
LIVE_BIAS_META = "pw_live_bias"


@dataclass(frozen=True)
class PreparedChoice:
    """choose_prepared's decision: per C array, its bytes and its depthwise weight's name."""
    kept: dict[str, tuple[int, str]]
    dropped: dict[str, tuple[int, str]]
    doubled: dict[str, tuple[int, str]] = field(default_factory=dict)

    @property
    def kept_bytes(self) -> int:
        return sum(b for b, _ in self.kept.values())

    @property
    def dropped_bytes(self) -> int:
        return sum(b for b, _ in self.dropped.values())


def choose_prepared(graphs: Sequence[Graph], room: int, trained: Collection[str] = (),
                    doubling: bool = False) -> PreparedChoice:
    """Which compile-time weight layouts the emitters read, given ``room`` bytes of flash left
    by the other weight data; recorded in each graph for dw_prepared and fc_prepared
    (tte.compiler.emit.conv), so the emitters and the report (tte.compiler.analysis) follow this
    one decision. ``trained``: the parameters a training step updates (their layers keep the
    plain kernels).

    Depthwise layouts (dw_layout) come beside the weights; a fully connected layer's
    (fc_layout) replaces its weight and bias where nothing else reads them (its cost: the
    padding and the biases), else comes beside them. Every layout while they all fit; else the
    ones of least benefit per byte go first until the rest fits (the kernel then takes the
    plain path, the same bytes). Without its layout a depthwise kernel redoes it once per
    call, per output row of the depthwise in a streamed block, and a layout's bytes grow as
    that work does: the benefit per byte is about D's output rows (ties: the larger layout
    first); a fully connected layout that replaces its weight costs only its padding and goes
    last, one beside its weight first. No layout serves a depthwise a step may change (the
    inference graph streams its block too). A streamed block's 1x1 layout (pw_layout) is a candidate
    only where it replaces the weight (and the bias) because nothing else reads them (its cost:
    the output stage's multipliers and shifts, a few percent of the weight), and goes last; a
    copy beside the weight would double the flash of a model's largest layers. A streamed
    block's expand 1x1 over few input channels (pe_layout, about twice its weight) replaces its
    weight and bias where nothing else reads them, else comes beside them; ranked as the
    depthwise ones, by its output rows. A standalone frozen 1x1's (pw_conv_layout) replaces its
    weight and bias where nothing else reads them and goes last; else (a backward reads the
    weight) it comes beside the weight, ranked below every other layout but the blocks (dropped
    when the flash is short; among them, the fewest output pixels first), as does one whose bias a
    step trains while its weight is frozen (LIVE_BIAS_META: its layout leaves the bias out). A 3x3
    depthwise's blocks (dw3_blocks_layout, beside its dw_layout) rank below all of them, the
    fewest output rows first, and never serve a depthwise a step updates. Below those, the
    layout of biases 0 of a depthwise whose bias alone a step trains (dw_live_given: only the
    inference reads it), the fewest output rows first. With ``doubling`` (an
    inference-only image), the kept 1x1 layouts of the streamed blocks then take their doubled
    form (pwd_layout) in the flash left, the most pixels first (_choose_doubled); a training
    image keeps pw_layout."""
    cands: dict[str, tuple[int, str, float]] = {}
    doubles: dict[str, tuple[int, int]] = {}   # pw_layout name: pwd_layout's extra bytes, P's pixels
    _mark_live_biases(graphs, trained)
    for graph in graphs:
        for n, g in streamed_blocks(graph):
            # the inference graph streams every block, trained ones too: a depthwise a step
            # may change reads its live arrays (a layout would keep the compile-time values)
            if n.op == "streamed_block" and dw_live_given(n, g) and (pr := dw_layout(n, g, live=True)) is not None:
                # its biases 0, the live ones added per call: it serves only the inference, so below
                # every other layout (the first dropped; no step gives way for it), more rows first
                _, dw, _, _, chain = _block_parts(n)
                d = _t(_chain_graph(g, chain), dw.outputs[0])
                cands[pr[0]] = (pr[1].nbytes, dw.inputs[1], -4.0 - 1.0 / (1 + d.shape[0] * d.shape[1]))
            if (n.op == "streamed_block" and (pr := dw_layout(n, g)) is not None
                    and not _fc_trained(_block_parts(n)[1], graphs, trained)):
                _, dw, _, _, chain = _block_parts(n)
                d = _t(_chain_graph(g, chain), dw.outputs[0])
                cands[pr[0]] = (pr[1].nbytes, dw.inputs[1], d.shape[0] * d.shape[1])
                if (pb := dw3_blocks_layout(n, g)) is not None:
                    # below every other layout (the first dropped: it saves a part of what
                    # dw_layout saves, and no other layout gives way for it); more rows first
                    cands[pb[0]] = (pb[1].nbytes, dw.inputs[1], -2.0 - 1.0 / (1 + d.shape[0] * d.shape[1]))
            if (n.op == "streamed_block" and (pr := pe_layout(n, g)) is not None
                    and not _fc_trained(_block_parts(n)[0], graphs, trained)):
                expand, _, _, _, chain = _block_parts(n)
                replaced = _replaced_bytes(expand, graphs)
                rows = _t(_chain_graph(g, chain), expand.outputs[0]).shape
                cands[pr[0]] = (pr[1].nbytes - replaced, expand.inputs[1], rows[0] * rows[1])
            if (n.op == "streamed_block" and (pr := stem3_layout(n, g)) is not None
                    and not _fc_trained(_block_parts(n)[0], graphs, trained)):
                # the stem's weights stay beside it (the other paths read them): its bytes all
                # extra; ranked as pe_layout's, by the rows that make it once per call
                expand, _, _, _, chain = _block_parts(n)
                rows = _t(_chain_graph(g, chain), expand.outputs[0]).shape
                cands[pr[0]] = (pr[1].nbytes, expand.inputs[1], rows[0] * rows[1])
            if (n.op == "streamed_block" and (pr := pw_layout(n, g)) is not None
                    and not _fc_trained(_block_parts(n)[2], graphs, trained)):
                _, _, project, _, chain = _block_parts(n)
                replaced = _replaced_bytes(project, graphs)
                if replaced >= _t(g, project.inputs[1]).nbytes:
                    cands[pr[0]] = (pr[1].nbytes - replaced, project.inputs[1], float("inf"))
                    if (pd := pwd_layout(n, g)) is not None:
                        out = _t(_chain_graph(g, chain), project.outputs[0]).shape
                        doubles[pr[0]] = (pd[1].nbytes - pr[1].nbytes, int(np.prod(out[:-1])))
            elif n.op == "fully_connected" and not _fc_trained(n, graphs, trained) and (pr := fc_layout(n, g)):
                replaced = _fc_replaced_bytes(n, g, graphs)
                cands[pr[0]] = (pr[1].nbytes - replaced, n.inputs[1], float("inf") if replaced else 0.5)
            elif (n.op == "conv2d" and (not _fc_trained(n, graphs, trained) or live_bias(n, g))
                  and (pr := pw_conv_layout(n, g))):
                replaced = _replaced_bytes(n, graphs)
                pixels = _t(g, n.outputs[0]).size // _t(g, n.inputs[1]).shape[0]
                beside = -1.0 / pixels   # below every other rank: the fewest pixels (work per byte) first
                rank = float("inf") if replaced >= _t(g, n.inputs[1]).nbytes else beside
                # a block's 1x1 may read the same array (the inference graph's): its rank if higher
                rank = max(rank, cands[pr[0]][2]) if pr[0] in cands else rank
                cands[pr[0]] = (pr[1].nbytes - replaced, n.inputs[1], rank)
    order = sorted(cands, key=lambda k: (cands[k][2], -cands[k][0], k))
    total = sum(c[0] for c in cands.values())
    dropped: set[str] = set()
    for name in order:
        if total <= room:
            break
        dropped.add(name)
        total -= cands[name][0]
    kept = frozenset(cands) - dropped
    doubled = _choose_doubled({k: v for k, v in doubles.items() if k in kept and doubling}, room - total)
    for g in graphs:
        g.meta[PREPARED_META] = kept
        g.meta[FC_PREPARED_META] = kept
        g.meta[PW_DOUBLED_META] = doubled
    size = {k: cands[k][0] + (doubles[k][0] if k in doubled else 0) for k in kept}
    return PreparedChoice({k: (size[k], cands[k][1]) for k in sorted(kept)},
                          {k: cands[k][:2] for k in sorted(dropped)},
                          {k: (size[k], cands[k][1]) for k in sorted(doubled)})


def _choose_doubled(doubles: dict[str, tuple[int, int]], room: int) -> frozenset[str]:
    """The kept 1x1 layouts (pw_layout) that take their doubled form (pwd_layout) in the flash
    left after every kept layout (room): its saving per byte is about P's pixels (the weight
    bytes are the extra flash, the products the saving), so the most pixels first while they
    fit; none where they would not."""
    chosen: set[str] = set()
    for name in sorted(doubles, key=lambda k: (-doubles[k][1], doubles[k][0], k)):
        if doubles[name][0] <= room:
            chosen.add(name)
            room -= doubles[name][0]
    return frozenset(chosen)


def _mark_live_biases(graphs: Sequence[Graph], trained: Collection[str]) -> None:
    """Record in each graph (LIVE_BIAS_META) the biases a step updates of the convs whose weights
    it does not (live_biases)."""
    live = live_biases(graphs, trained)
    for g in graphs:
        g.meta[LIVE_BIAS_META] = live


def live_biases(graphs: Sequence[Graph], trained: Collection[str]) -> frozenset[str]:
    """The biases a step updates of the convs whose weights it does not (as _fc_trained tells
    trained parameters)."""
    updated = set(trained) | {i for g in graphs for n in g.nodes if "update" in n.op for i in n.inputs}
    return frozenset(n.inputs[2] for g in graphs for n in g.nodes
                     if n.op == "conv2d" and len(n.inputs) > 2 and n.inputs[2] in updated
                     and n.inputs[1] not in updated)


def live_bias(node: Node, g: Graph) -> bool:
    """Whether the conv's bias is trained while its weight is frozen (LIVE_BIAS_META): its
    layout (pw_conv_layout) leaves the bias out, the kernel adds it live."""
    bias = node.inputs[2] if len(node.inputs) > 2 else ""
    return bool(bias) and bias in g.meta.get(LIVE_BIAS_META, ())


def live_bias_limit(node: Node, g: Graph) -> int:
    """The largest |bias| for which tte_conv2d_s8_pointwise_prep_bias_px over the conv's live
    layout stays exact: every channel's |bias| + its weights' reach below 2**PW_SUM_BITS."""
    x, w = _t(g, node.inputs[0]), _t(g, node.inputs[1])
    _, zp = _sz(node, x)
    span = max(zp + 128, 127 - zp)   # the largest |x - zp|
    reach = span * np.abs(np.asarray(w.data, np.int64).reshape(w.shape[0], -1)).sum(axis=1)
    return int(2 ** PW_SUM_BITS - 1 - reach.max())


def _fc_trained(node: Node, graphs: Sequence[Graph], trained: Collection[str]) -> bool:
    """Whether a step may change the layer's weight or bias (an update reads it)."""
    params = set(node.inputs[1:3]) - {""}
    return bool(params & set(trained)) or any(
        "update" in n.op and params & set(n.inputs) for g in graphs for n in g.nodes)


def _reads_as(n: Node, name: str, role: str) -> bool:
    """Whether streamed block n reads constant `name` only as the weight or bias of its 1x1
    `role`: "project" (P) or "expand" (E)."""
    if n.op != "streamed_block":
        return False
    parts = _block_parts(n)[:4]
    conv = parts[{"expand": 0, "project": 2}[role]]
    if conv is None:
        return False
    others = {i for m in parts if m is not None and m is not conv for i in m.inputs} | {conv.inputs[0]}
    return name in conv.inputs[1:3] and name not in others


def _via_layout(n: Node, g: Graph, name: str, kept: bool = False) -> bool:
    """Whether node n reads constant `name` only as the weight or bias of a 1x1 that reads its
    compile-time layout instead: a streamed block's P (pw_layout) or E (pe_layout), or a
    standalone 1x1 (pw_conv_layout); ``kept``: one the flash policy keeps (pw_prepared,
    pe_prepared, pw_conv_prepared)."""
    if _reads_as(n, name, "project"):
        return (pw_prepared if kept else pw_layout)(n, g) is not None
    if _reads_as(n, name, "expand"):
        return (pe_prepared if kept else pe_layout)(n, g) is not None
    if n.op == "conv2d" and name in n.inputs[1:3] and n.inputs[0] != name:
        # a live bias's conv keeps its weight for the plain kernel past the layout's bound
        return not live_bias(n, g) and (pw_conv_prepared if kept else pw_conv_layout)(n, g) is not None
    return False


def _replaced_bytes(conv: Node, graphs: Sequence[Graph]) -> int:
    """The bytes of a 1x1's weight and bias that its layout replaces (every reader is a 1x1
    reading it with its layout: _via_layout)."""
    total = 0
    for name in set(conv.inputs[1:3]) - {""}:
        readers = [(n, v) for g in graphs for n, v in streamed_blocks(g) if name in n.inputs]
        if readers and all(_via_layout(n, g, name) for n, g in readers):
            total += next(_t(g, name).nbytes for _, g in readers)
    return total


def pw_replaced(name: str, graphs: Sequence[Graph]) -> bool:
    """Whether a constant is read only as the 1x1 weight or bias (P's, or E's) of streamed blocks,
    or of standalone 1x1 convs, that read their compile-time layout instead (pw_prepared,
    pe_prepared, pw_conv_prepared): then it is not emitted."""
    readers = [(n, v) for g in graphs for n, v in streamed_blocks(g) if name in n.inputs]
    return bool(readers) and all(_via_layout(n, g, name, kept=True) for n, g in readers)


def fc_replaced(name: str, graphs: Sequence[Graph]) -> bool:
    """Whether a constant is read only as the weight or bias of fully connected layers that
    read their compile-time layout instead (fc_prepared): then it is not emitted."""
    from tte.compiler.emit.conv import fc_prepared

    readers = [(n, g) for g in graphs for n in g.nodes if name in n.inputs]
    return bool(readers) and all(
        n.op == "fully_connected" and name in n.inputs[1:3] and n.inputs[0] != name and fc_prepared(n, g) is not None
        for n, g in readers)


def _fc_replaced_bytes(node: Node, g: Graph, graphs: Sequence[Graph]) -> int:
    """The bytes of the layer's weight and bias that its layout replaces (nothing else reads them)."""
    readers = [n for h in graphs for n in h.nodes]
    total = 0
    for name in set(node.inputs[1:3]) - {""}:
        if all(n.op == "fully_connected" and name in n.inputs[1:3] and n.inputs[0] != name
               for n in readers if name in n.inputs):
            total += _t(g, name).nbytes
    return total


def dw_layout(node: Node, g: Graph, live: bool = False) -> tuple[str, np.ndarray] | None:
    """The block's depthwise weights as tte_conv2d_s8_dw_row_prep reads them (csrc/include/tte/conv.h),
    with the C array's name (from the weight's name and bytes, so the inference and training
    graphs share one array): per four channels the int32 biases with the input zero point's
    share folded in, then per tap the int16 weights of channels (c, c + 2) and (c + 1, c + 3),
    one word each; for a 3x3 stride-1 window (dw3_ring's or dw3_wide's) or a 3x3 stride-2 one in a
    block without E and the add (dws2_ring's, dw3s2_fits), then _dw3_pair_words. None
    where the kernel reads none (a channel multiplier, a dilation, more than 49 taps, fewer than four channels). The
    training graph streams only frozen blocks (tte.compiler.fuse), but the inference graph every
    block: choose_prepared offers the layout only for a depthwise no step changes, or, ``live``,
    with biases 0 for one whose bias alone a step trains (dw_live_given: the kernel adds the live
    biases once per call)."""
    _, dw, _, _, chain = _block_parts(node)
    view = _chain_graph(g, chain)
    w = _t(view, dw.inputs[1])
    x = _t(view, dw.inputs[0])
    c, kh, kw = w.shape[0], w.shape[1], w.shape[2]
    if (w.data is None or c != x.shape[-1] or c < 4 or kh * kw > DW_MAX_TAPS
            or tuple(int(d) for d in dw.attrs["dilations"]) != (1, 1)):
        return None
    bias_name = dw.inputs[2] if len(dw.inputs) > 2 and dw.inputs[2] else None
    bias = (np.zeros(c, np.int64) if bias_name is None or live
            else np.asarray(_t(view, bias_name).data, np.int64).reshape(-1))
    if bias_name is not None and not live and _t(view, bias_name).data is None:
        return None
    _, zp = _sz(dw, x)
    c4 = c & ~3
    taps = np.asarray(w.data, np.int64).reshape(c, kh * kw)[:c4].reshape(c4 // 4, 4, kh * kw)
    folded = (bias[:c4] - zp * taps.sum(axis=2).reshape(-1)).reshape(c4 // 4, 4)
    if np.any(np.abs(folded) >= 2 ** 31):
        return None
    lo = taps & 0xFFFF   # the int16 weight in a halfword
    even = lo[:, 0, :] | lo[:, 2, :] << 16
    odd = lo[:, 1, :] | lo[:, 3, :] << 16
    words = np.stack([even, odd], axis=2).reshape(c4 // 4, -1)
    prep = np.concatenate([folded & 0xFFFFFFFF, words], axis=1).astype(np.uint32).reshape(-1)
    # the pixel-pair kernel's words (dw3_ring's, and dw3_wide's where the block keeps D's rows
    # whole; at stride 2 dws2_ring's, in a block without E and the add, block_s8.c's flat_dw_rows),
    # then whether they are doubled (the output stage of both on doubled sums): 0 no, 1 yes, 2 yes
    # with an output zero point of -128, where the output stage needs no [sum < 0]
    # (depthwise_s8.c's dwp_kernel: a sum below 0 clamps to out_zp either way)
    pairs_s2 = dw3s2_paired(node, g)
    if (kh, kw) == (3, 3) and (tuple(int(s) for s in dw.attrs["strides"]) == (1, 1) or pairs_s2):
        doubled = _dw3_pairs_doubled(dw, view, folded.reshape(-1))
        flag = 2 if doubled and _sz(dw, _t(view, dw.outputs[0]))[1] == -128 else int(doubled)
        prep = np.concatenate([prep, _dw3_pair_words(taps.reshape(c4, 9), folded.reshape(-1), doubled),
                               np.array([flag], np.uint32)])
    digest = hashlib.sha256(dw.inputs[1].encode() + b"\0" + prep.tobytes()).hexdigest()[:16]
    return f"tte_dwq_{digest}", prep


def _dw3_pairs_doubled(dw: Node, view: Graph, folded: np.ndarray) -> bool:
    """Whether _dw3_pair_words may be doubled for dwp_row's output stage on doubled sums
    (csrc/src/depthwise_s8.c dwp_k_words): for every channel of a nonzero multiplier (at least
    2**30, shift in [-31, -1]) each sum (its folded bias and nine products of int8 values, each
    within 128 * 128) stays below 2**30 in magnitude, so twice it is an int32, and the rounded
    product plus (2 out_zp + 1) << (-shift - 1) stays inside int32. A multiplier 0 gives out_zp
    for any sum."""
    w, x, y = _t(view, dw.inputs[1]), _t(view, dw.inputs[0]), _t(view, dw.outputs[0])
    (s_in, _), (s_out, zp_out) = _sz(dw, x), _sz(dw, y)
    ws = np.broadcast_to(_q(dw, w).scale.astype(np.float64), (w.shape[0],))
    mult, shift = fp.quantize_multipliers(s_in * ws / s_out)
    c4 = folded.shape[0]
    mult, shift = mult[:c4], shift[:c4]
    live = mult != 0
    if np.any(live & ((mult < 1 << 30) | (shift > -1) | (shift < -31))):
        return False
    span = np.abs(folded) + 9 * 128 * 128
    k = abs(2 * zp_out + 1) << np.where(live, -shift - 1, 0)
    fits = (span < 1 << 30) & ((span * mult >> 31) + 1 + k < (1 << 31) - 1)
    return bool(np.all(~live | fits))


def _dw3_pair_words(taps: np.ndarray, folded: np.ndarray, doubled: bool = False) -> np.ndarray:
    """The 3x3 stride-1 depthwise's words for its pixel-pair kernel (csrc/src/depthwise_s8.c
    dwp_row), after dw_layout's: per pair of channels (c, c + 1) their two folded biases, then
    per window row the words w0 + 65536 w1 of c and of c + 1, then w1 + 65536 w2 of c and of
    c + 1 (int16 lanes), so that one SMLAD multiplies a word of two neighbouring pixels of a
    channel by two of its taps. ``doubled`` (_dw3_pairs_doubled): biases and taps twice theirs,
    so that the sums come out doubled. dw_layout puts one word after them: 0 plain, 1 doubled, 2 doubled
    with an output zero point of -128 (the kernel's output stage without [sum < 0])."""
    if doubled:
        taps, folded = 2 * taps, 2 * folded
    lo = taps.reshape(-1, 3, 3) & 0xFFFF
    w01 = (lo[:, :, 0] | lo[:, :, 1] << 16).reshape(-1, 2, 3)   # [pair, channel, row]
    w12 = (lo[:, :, 1] | lo[:, :, 2] << 16).reshape(-1, 2, 3)
    rows = np.stack([w01, w12], axis=1).transpose(0, 3, 1, 2).reshape(-1, 12)  # [pair, row, w01/w12, ch]
    words = np.concatenate([(folded & 0xFFFFFFFF).reshape(-1, 2), rows], axis=1)
    return words.astype(np.uint32).reshape(-1)


DW3_BLOCK_WORDS = 41   # depthwise_s8.c's DW3B_WORDS: dw3_blocks_layout's words per four channels


def dw3_blocks_layout(node: Node, g: Graph) -> tuple[str, np.ndarray] | None:
    """The block's 3x3 depthwise (stride 1 or 2) as tte_conv2d_s8_dw_row_blk_ws reads it
    (csrc/include/tte/conv.h), with the C array's name: per four channels, in the order the
    assembly of dw3_fast_groups_b reads them, the tap words as int16 pairs (rows 0 and 1 of each
    column, then row 2's columns 0 and 1, then row 2's column 2 as dw_layout's tap words), the
    folded biases, the output stage's words (mult << 1 and ~shift per channel, 2 out_zp + 1), the
    biases of a pixel with its left window column in the padding and of one with its right one,
    and row 2's column 1 as dw_layout's words: no block packed per channel group and call. None
    where the kernel would not read it: no dw_layout, not a 3x3 of stride 1 or 2, an output
    range not all of int8 (not the output stage of mode 2), or D's rows taken by another path
    (stride 1 given the padded copy or dw3_wide's rows: dw_pad_given; a whole image at once)."""
    pr = dw_layout(node, g)
    if pr is None:
        return None
    _, dw, _, _, chain = _block_parts(node)
    view = _chain_graph(g, chain)
    w, x, y = _t(view, dw.inputs[1]), _t(view, dw.inputs[0]), _t(view, dw.outputs[0])
    c4 = w.shape[0] & ~3
    sh, sw = (int(s) for s in dw.attrs["strides"])
    s_out, zp_out = _sz(dw, y)
    if (w.shape[1], w.shape[2]) != (3, 3) or sw not in (1, 2) or dw_all_given(node, g) or fp.activation_range_int8(
            dw.attrs["activation"], s_out, zp_out) != (-128, 127):
        return None
    if sw == 1 and sh == 1 and dw_pad_given(node, g):
        return None
    s_in, zp = _sz(dw, x)
    ws = np.broadcast_to(_q(dw, w).scale.astype(np.float64), (w.shape[0],))
    mult, shift = fp.quantize_multipliers(s_in * ws / s_out)
    prep = pr[1][:c4 // 4 * 22].astype(np.int64).reshape(c4 // 4, 22)
    folded = prep[:, :4].astype(np.uint32).astype(np.int32).astype(np.int64)
    taps = np.asarray(w.data, np.int64).reshape(-1, 9)[:c4].reshape(c4 // 4, 4, 9)
    lo = taps & 0xFFFF

    def pair(a: int, b: int) -> np.ndarray:
        return lo[:, :, a] | lo[:, :, b] << 16

    mu, sf = mult[:c4].reshape(-1, 4), shift[:c4].reshape(-1, 4)
    rq = np.stack([mu << 1, np.where(mu != 0, ~sf, 31)], axis=2).reshape(-1, 8)
    words = np.concatenate([
        pair(0, 3), pair(1, 4), pair(2, 5), pair(6, 7), prep[:, 4 + 16:4 + 18], folded, rq,
        np.full((c4 // 4, 1), 2 * zp_out + 1, np.int64),
        folded + zp * taps[:, :, [0, 3, 6]].sum(axis=2), folded + zp * taps[:, :, [2, 5, 8]].sum(axis=2),
        prep[:, 4 + 14:4 + 16]], axis=1)
    assert words.shape[1] == DW3_BLOCK_WORDS
    blocks = (words & 0xFFFFFFFF).astype(np.uint32).reshape(-1)
    digest = hashlib.sha256(dw.inputs[1].encode() + b"\0" + blocks.tobytes()).hexdigest()[:16]
    return f"tte_dwb_{digest}", blocks


def dw3_blocks_prepared(node: Node, g: Graph) -> tuple[str, np.ndarray] | None:
    """dw3_blocks_layout where the flash policy keeps it (kept_layout; never for a depthwise whose
    weight or bias a step updates)."""
    return kept_layout(dw3_blocks_layout(node, g), g, PREPARED_META)


def pw_layout(node: Node, g: Graph) -> tuple[str, np.ndarray] | None:
    """The block's 1x1 weights and biases as tte_conv2d_s8_pointwise_prep_px reads them
    (csrc/src/pointwise_s8.c), with the C array's name (from the weight's name and bytes): per
    pair of output channels their prepared biases, 256 (bias - zp sum(w) + 127 sum(w at odd
    inputs)) mod 2**32, per four inputs the two channels' words, each the int16 lanes 256 w1 +
    w0, 256 w3 + w2, then per channel its multiplier, ~shift and (2 out_zp + 1) << ~shift.
    None where the kernel could not be exact or reads none: fewer than 32 input channels (no
    buffer in the block's scratch) or not a multiple of 8, an odd number of outputs, a lane
    outside int16 (w1 = -128 beside a negative w0), a sum that may leave 24 bits (unless the
    channel's output is one constant: then a stand-in), an output stage other than
    tte_rq_fast_s8's over [-128, 127] with shifts in [-23, -1] (any with a multiplier 0), or
    weights that are not constants. Up to 24 input channels pe_layout's form instead (where it
    can be exact), which tte_block_s8 gives tte_conv2d_s8_pointwise_small_prep_px."""
    _, _, project, _, chain = _block_parts(node)
    return _wide_layout(project, _chain_graph(g, chain))


def _wide_layout(project: Node, view: Graph, live: bool = False) -> tuple[str, np.ndarray] | None:
    """pw_layout of the 1x1 conv `project` (P's, or a standalone 1x1's: pw_conv_layout); ``live``:
    with bias 0 for tte_conv2d_s8_pointwise_prep_bias_px (from 32 inputs on, no stand-ins, a
    bound left for the bias: live_bias_limit)."""
    if not _pw_checks(project, view, live):
        return None
    if _t(view, project.inputs[1]).shape[3] <= PE_MAX_IN:
        return None if live else _small_layout(project, view)
    if live and live_bias_limit(project, view) < LIVE_BIAS_MIN:
        return None
    parts = _pw_parts(project, view, live)
    if parts is None:
        return None
    wd, bias, zp, words_out = parts
    m, n = wd.shape
    lanes = 256 * wd[:, 1::2] + wd[:, 0::2]
    if np.any(lanes < -2 ** 15) or np.any(lanes >= 2 ** 15):
        return None
    pbias = (256 * (bias - zp * wd.sum(axis=1) + 127 * wd[:, 1::2].sum(axis=1))) & 0xFFFFFFFF
    u = lanes & 0xFFFF
    words = (u[:, 0::2] | u[:, 1::2] << 16).reshape(m // 2, 2, n // 4).transpose(0, 2, 1).reshape(m // 2, -1)
    prep = np.concatenate([pbias.reshape(m // 2, 2), words, words_out], axis=1).astype(np.uint32).reshape(-1)
    digest = hashlib.sha256(project.inputs[1].encode() + b"\0" + prep.tobytes()).hexdigest()[:16]
    return f"tte_pwq_{digest}", prep


def pwd_layout(node: Node, g: Graph) -> tuple[str, np.ndarray] | None:
    """pw_layout's doubled form, as tte_conv2d_s8_pointwise_prepd_px reads it
    (csrc/src/pointwise_s8.c): per pair of output channels their doubled biases 2 (bias - zp
    sum(w)) mod 2**32, per four inputs the int16 lanes (2 w0, 2 w2) of both channels, then (2 w1,
    2 w3) of both, then pw_layout's output stage words. Twice pw_layout's weight bytes for no
    SXTB16 per weight word and no shift per output; None where pw_layout's form is pe_layout's
    (up to 24 input channels) or the kernel could not be exact (pw_layout's conditions but the
    lanes', which doubled int8 weights always meet). Up to 24 input channels, pe_layout's words
    in the same arrangement instead (_small_pairs: the same bytes as pe_layout, for
    tte_conv2d_s8_pointwise_small_prepd_px), over 8, 16 or 24 inputs and an even number of outputs."""
    _, _, project, _, chain = _block_parts(node)
    view = _chain_graph(g, chain)
    w = _t(view, project.inputs[1])
    if len(w.shape) != 4:
        return None
    if w.shape[3] <= PE_MAX_IN:
        return _small_pairs(project, view) if _pw_checks(project, view) else None
    parts = _pw_parts(project, view)
    if parts is None:
        return None
    wd, bias, zp, words_out = parts
    m, n = wd.shape
    pbias = (2 * (bias - zp * wd.sum(axis=1))) & 0xFFFFFFFF
    u = 2 * wd & 0xFFFF
    even = (u[:, 0::4] | u[:, 2::4] << 16).reshape(m // 2, 2, n // 4)
    odd = (u[:, 1::4] | u[:, 3::4] << 16).reshape(m // 2, 2, n // 4)
    words = np.stack([even[:, 0], even[:, 1], odd[:, 0], odd[:, 1]], axis=2).reshape(m // 2, n)
    prep = np.concatenate([pbias.reshape(m // 2, 2), words, words_out], axis=1).astype(np.uint32).reshape(-1)
    digest = hashlib.sha256(project.inputs[1].encode() + b"\0" + prep.tobytes()).hexdigest()[:16]
    return f"tte_pwd_{digest}", prep


def _small_pairs(project: Node, view: Graph) -> tuple[str, np.ndarray] | None:
    """pe_layout's words of the 1x1 conv `project` arranged as pwd_layout's, pair by pair of output
    channels: both doubled biases, per four inputs (2 w0, 2 w2) of both channels, then (2 w1, 2 w3)
    of both, then each channel's multiplier, e and K; None where pe_layout has none, the output
    channels are odd or the inputs not 8, 16 or 24 (the kernel's)."""
    pr = _small_layout(project, view)
    m, n = _t(view, project.inputs[1]).shape[0], _t(view, project.inputs[1]).shape[3]
    if pr is None or m % 2 or n % 8:
        return None
    per = pr[1].reshape(m, -1)
    words = per[:, 1:1 + n // 2].reshape(m // 2, 2, n // 4, 2).transpose(0, 2, 3, 1).reshape(m // 2, n)
    prep = np.concatenate([per[:, 0].reshape(m // 2, 2), words, per[:, 1 + n // 2:].reshape(m // 2, 6)], axis=1)
    prep = np.ascontiguousarray(prep, np.uint32).reshape(-1)
    digest = hashlib.sha256(project.inputs[1].encode() + b"\0" + prep.tobytes()).hexdigest()[:16]
    return f"tte_pwd_{digest}", prep


def _layout_bias(project: Node, live: bool) -> str | None:
    """The bias a 1x1's layout folds in: none for a live one (the kernel adds it) or none at all."""
    return None if live or len(project.inputs) <= 2 or not project.inputs[2] else project.inputs[2]


def _pw_checks(project: Node, view: Graph, live: bool = False) -> bool:
    """Whether a prepared layout can serve the 1x1 conv `project` at all: int8 constant weights
    of shape (m, 1, 1, n), an int8 input, one group, a constant bias if any (``live``: the bias
    left to the kernel)."""
    x, w = _t(view, project.inputs[0]), _t(view, project.inputs[1])
    bias_name = _layout_bias(project, live)
    return not (w.data is None or w.dtype != "int8" or x.dtype != "int8" or int(project.attrs["groups"]) != 1
                or len(w.shape) != 4 or w.shape[1] != 1 or w.shape[2] != 1
                or (bias_name is not None and _t(view, bias_name).data is None))


def _pw_parts(project: Node, view: Graph, live: bool = False) -> tuple[np.ndarray, np.ndarray, int, np.ndarray] | None:
    """What pw_layout and pwd_layout share: the 1x1's weights (m, n) and biases (a constant
    channel's stand-in in place; ``live``: bias 0), its input zero point and the output stage's
    words per pair of channels; None where neither kernel could be exact (pw_layout's conditions
    but the lanes')."""
    if not _pw_checks(project, view, live):
        return None
    x, w, y = _t(view, project.inputs[0]), _t(view, project.inputs[1]), _t(view, project.outputs[0])
    bias_name = _layout_bias(project, live)
    m, n = w.shape[0], w.shape[3]
    if n < PW_PAIRS_MIN or n % 8 or m % 2:
        return None
    wd = np.asarray(w.data, np.int64).reshape(m, n)
    bias = np.zeros(m, np.int64) if bias_name is None else np.asarray(_t(view, bias_name).data, np.int64).reshape(-1)
    s_in, zp = _sz(project, x)
    s_out, zp_out = _sz(project, y)
    ws = np.broadcast_to(_q(project, w).scale.astype(np.float64), (m,))
    mult, shift = fp.quantize_multipliers(s_in * ws / s_out)
    lo, hi = fp.activation_range_int8(project.attrs["activation"], s_out, zp_out)
    mult, shift = np.asarray(mult, np.int64), np.asarray(shift, np.int64)
    # (a multiplier 0 gives the output zero point for any shift)
    if ((lo, hi) != (-128, 127) or np.any((mult != 0) & ((shift < -31) | (shift > -1)))
            or np.any((mult != 0) & (mult < 2 ** 30))):
        return None
    span = max(zp + 128, 127 - zp)   # the largest |x - zp|
    reach = span * np.abs(wd).sum(axis=1)
    wide = np.abs(bias) + reach >= 2 ** PW_SUM_BITS
    if np.any(wide):
        # a channel whose output is one constant v for every input (a bias that dwarfs its
        # weights): as no weights, the bias B = 4 (v - out_zp) and the output stage 1/2 (mult
        # 2**30, shift -1), which gives v exactly
        def out(acc: np.ndarray) -> np.ndarray:
            return np.clip(fp.multiply_by_quantized_multiplier(acc, mult[wide], shift[wide]) + zp_out, lo, hi)

        v = out(bias[wide] - reach[wide])
        if np.any(v != out(bias[wide] + reach[wide])) or np.any(np.abs(bias[wide]) + reach[wide] >= 2 ** 31):
            return None
        wd, bias, mult, shift = wd.copy(), bias.copy(), mult.copy(), shift.copy()
        wd[wide], bias[wide], mult[wide], shift[wide] = 0, 4 * (v - zp_out), 2 ** 30, -1
    # the output stage's: mult, e - 1 = ~shift and K = zp2 << (e - 1), exact while |q| + |K| < 2**31
    # (|q| <= 2**23); a multiplier 0 gives out_zp with any shift, -1 here
    shift = np.where(mult == 0, -1, shift)
    if np.any(~shift > 22):
        return None
    out = np.stack([mult, ~shift, (2 * zp_out + 1) << ~shift], axis=1).reshape(m // 2, 6) & 0xFFFFFFFF
    return wd, bias, int(zp), out


def pw_prepared(node: Node, g: Graph) -> tuple[str, np.ndarray] | None:
    """pw_layout where the flash policy keeps it (kept_layout), in its doubled form (pwd_layout)
    where the policy also doubles it; none where a step trains P's bias (live_bias: the inference
    graph streams P's block, and the training graph's standalone P's layout with bias 0, kept by
    name, equals pw_layout where the compile-time bias is 0)."""
    if live_bias(_block_parts(node)[2], g):
        return None
    pr = kept_layout(pw_layout(node, g), g, PREPARED_META)
    if pr is not None and pr[0] in g.meta.get(PW_DOUBLED_META, ()):
        return pwd_layout(node, g)
    return pr


def pw_conv_layout(node: Node, g: Graph) -> tuple[str, np.ndarray] | None:
    """A standalone plain 1x1 conv's weights and biases in pw_layout's form: from 32 input
    channels on for tte_conv2d_s8_pointwise_prep_px, in the pixel buffer the planner gives the
    conv (tte.compiler.emit.conv.conv2d_scratch_bytes, at least 8 in_c bytes: so no arena
    grows), up to 24 pe_layout's for tte_conv2d_s8_pointwise_small_prep_px (no buffer); a conv
    whose bias a step trains (live_bias) from 32 inputs on only, with bias 0, for
    tte_conv2d_s8_pointwise_prep_bias_px. None where it has no such buffer in ``g``, or where
    pw_layout could not be exact."""
    if node.op != "conv2d" or not _plain_pointwise(node, g):
        return None
    cin = _t(g, node.inputs[1]).shape[3]
    if cin > PE_MAX_IN and conv2d_scratch_bytes(node, g) < 8 * cin:
        return None
    return _wide_layout(node, g, live_bias(node, g))


def pw_conv_prepared(node: Node, g: Graph) -> tuple[str, np.ndarray] | None:
    """pw_conv_layout where the flash policy keeps it (kept_layout); none in a graph it did not
    decide for (a kernel test's 1x1 takes the plain kernels)."""
    if PREPARED_META not in g.meta:
        return None
    return kept_layout(pw_conv_layout(node, g), g, PREPARED_META)


def pe_layout(node: Node, g: Graph) -> tuple[str, np.ndarray] | None:
    """The block's expand 1x1 weights and biases as tte_conv2d_s8_pointwise_small_prep_px reads
    them (csrc/src/pointwise_s8.c), with the C array's name (from the weight's name and bytes):
    per output channel (uint32) its doubled bias with the input zero point's share folded in,
    2 (bias - zp sum(w)), per four inputs the doubled weights' int16 lanes (2 w0, 2 w2) and (2 w1,
    2 w3), then its multiplier, e = ~shift (0 for a multiplier 0) and (2 out_zp + 1) << e.
    None where the kernel could not be exact or reads none: no expand, not a plain 1x1 (stride
    1, no padding, groups 1), input channels not a multiple of 4 from 4 to 24, an input zero
    point outside int8, a |bias| + in_c 255 128 of 2**29 or more, an output stage other than
    tte_rq_fast_s8's over [-128, 127] (shifts in [-21, -1] with multipliers from 2**30, or a
    multiplier 0), or weights that are not constants."""
    expand, _, _, _, chain = _block_parts(node)
    return _small_layout(expand, _chain_graph(g, chain)) if expand is not None else None


def _small_layout(expand: Node, view: Graph) -> tuple[str, np.ndarray] | None:
    """pe_layout of the 1x1 conv `expand` (E's, or P's below 32 input channels: pw_layout)."""
    x, w, y = _t(view, expand.inputs[0]), _t(view, expand.inputs[1]), _t(view, expand.outputs[0])
    bias_name = expand.inputs[2] if len(expand.inputs) > 2 and expand.inputs[2] else None
    if (w.data is None or w.dtype != "int8" or x.dtype != "int8" or int(expand.attrs["groups"]) != 1
            or len(w.shape) != 4 or w.shape[1] != 1 or w.shape[2] != 1
            or tuple(int(v) for v in expand.attrs["strides"]) != (1, 1)
            or any(int(v) for v in expand.attrs["pads"])
            or (bias_name is not None and _t(view, bias_name).data is None)):
        return None
    m, n = w.shape[0], w.shape[3]
    if n % 4 or not 4 <= n <= PE_MAX_IN:
        return None
    wd = np.asarray(w.data, np.int64).reshape(m, n)
    bias = np.zeros(m, np.int64) if bias_name is None else np.asarray(_t(view, bias_name).data, np.int64).reshape(-1)
    s_in, zp = _sz(expand, x)
    s_out, zp_out = _sz(expand, y)
    ws = _q(expand, w).scale.astype(np.float64)
    ws = np.broadcast_to(ws, (m,)) if ws.size == 1 else ws
    mult, shift = fp.quantize_multipliers(s_in * ws / s_out)
    lo, hi = fp.activation_range_int8(expand.attrs["activation"], s_out, zp_out)
    mult, shift = np.asarray(mult, np.int64), np.asarray(shift, np.int64)
    if ((lo, hi) != (-128, 127) or not -128 <= zp <= 127 or not -128 <= zp_out <= 127
            or np.any((mult != 0) & ((shift < -21) | (shift > -1) | (mult < 2 ** 30)))
            or np.any(np.abs(bias) + n * 255 * 128 >= 2 ** PE_SUM_BITS)):
        return None
    e = np.where(mult == 0, 0, ~shift)
    # the kernel sums x (2 w) on 2 bias - 2 zp sum(w): today's doubled sum 2 (bias + sum((x - zp) w)),
    # whose int32 reach the check above bounds; on the way, a partial sum is at most |2 bias| +
    # 2 |zp| sum|w| + 2 128 sum|w| <= 2 |bias| + in_c 2**16 < 2**30 + in_c 256 < 2**31: no
    # channel the check admits can overflow
    u = 2 * wd & 0xFFFF
    even = u[:, 0::4] | u[:, 2::4] << 16
    odd = u[:, 1::4] | u[:, 3::4] << 16
    words = np.stack([even, odd], axis=2).reshape(m, n // 2)
    tail = np.stack([mult, e, (2 * zp_out + 1) << e], axis=1)
    folded = 2 * (bias - zp * wd.sum(axis=1))
    prep = np.concatenate([folded.reshape(m, 1), words, tail], axis=1) & 0xFFFFFFFF
    prep = prep.astype(np.uint32).reshape(-1)
    digest = hashlib.sha256(expand.inputs[1].encode() + b"\0" + prep.tobytes()).hexdigest()[:16]
    return f"tte_pwq_{digest}", prep


def pe_prepared(node: Node, g: Graph) -> tuple[str, np.ndarray] | None:
    """pe_layout where the flash policy keeps it (kept_layout)."""
    return kept_layout(pe_layout(node, g), g, PREPARED_META)


STEM3_MAX_OC = 8   # TTE_STEM3_OC in csrc/src/conv_stem_s8.c
STEM3_SUM_BITS = 29   # stem3_fits: every |bias| + 27 255 128 below 2**29 (the doubled sums in int32)


def stem3_layout(node: Node, g: Graph) -> tuple[str, np.ndarray] | None:
    """The block's expand conv, an RGB stem, as tte_conv2d_s8_stem3_prep reads it
    (csrc/include/tte/conv.h), with the C array's name: per output channel (uint32) its doubled
    bias, the 27 weights (ky, kx, c) as the doubled int16 lanes (2 w0, 2 w2), (2 w1, 2 w3) of each
    four (the seventh word's fourth 0), its multiplier, e = ~shift (0 for a multiplier 0) and (2
    out_zp + 1) << e: what conv_stem_s8.c's stem3_layout builds per call. None where that kernel
    would not take the conv (stem3_fits): not a 3x3 over three channels with columns undilated,
    output channels not a multiple of four up to eight, an image below a window or rows under three
    outputs, no bias, an input zero point outside int8, a |bias| + 27 255 128 of 2**29 or more, an
    output stage other than tte_rq_fast_s8's over [-128, 127], or weights that are not constants."""
    expand, _, _, _, chain = _block_parts(node)
    if expand is None or expand.op != "conv2d":
        return None
    view = _chain_graph(g, chain)
    x, w, y = _t(view, expand.inputs[0]), _t(view, expand.inputs[1]), _t(view, expand.outputs[0])
    bias_name = expand.inputs[2] if len(expand.inputs) > 2 and expand.inputs[2] else None
    if (bias_name is None or w.data is None or _t(view, bias_name).data is None or w.dtype != "int8"
            or x.dtype != "int8" or int(expand.attrs["groups"]) != 1 or tuple(w.shape[1:]) != (3, 3, 3)):
        return None
    m = w.shape[0]
    dil_h, dil_w = (int(v) for v in expand.attrs["dilations"])
    if (m % 4 or m > STEM3_MAX_OC or dil_w != 1 or x.shape[1] < 1 + 2 * dil_h or x.shape[2] < 3
            or y.shape[2] < 3):
        return None
    bias = np.asarray(_t(view, bias_name).data, np.int64).reshape(-1)
    s_in, zp = _sz(expand, x)
    s_out, zp_out = _sz(expand, y)
    ws = _q(expand, w).scale.astype(np.float64)
    ws = np.broadcast_to(ws, (m,)) if ws.size == 1 else ws
    mult, shift = (np.asarray(a, np.int64) for a in fp.quantize_multipliers(s_in * ws / s_out))
    if (fp.activation_range_int8(expand.attrs["activation"], s_out, zp_out) != (-128, 127)
            or not -128 <= zp <= 127 or not stage_fast_ok(mult, shift, zp_out, -128, 127)
            or np.any(np.abs(bias) + 27 * 255 * 128 >= 2 ** STEM3_SUM_BITS)):
        return None
    e = np.where(mult == 0, 0, ~shift)
    wd = np.concatenate([np.asarray(w.data, np.int64).reshape(m, 27), np.zeros((m, 1), np.int64)], axis=1)
    u = 2 * wd & 0xFFFF
    even = u[:, 0::4] | u[:, 2::4] << 16
    odd = u[:, 1::4] | u[:, 3::4] << 16
    words = np.stack([even, odd], axis=2).reshape(m, 14)
    tail = np.stack([mult, e, (2 * zp_out + 1) << e], axis=1)
    lay = np.concatenate([(2 * bias).reshape(m, 1), words, tail], axis=1) & 0xFFFFFFFF
    lay = lay.astype(np.uint32).reshape(-1)
    digest = hashlib.sha256(expand.inputs[1].encode() + b"\0" + lay.tobytes()).hexdigest()[:16]
    return f"tte_st3_{digest}", lay


def stem3_prepared(node: Node, g: Graph) -> tuple[str, np.ndarray] | None:
    """stem3_layout where the flash policy keeps it (kept_layout)."""
    return kept_layout(stem3_layout(node, g), g, PREPARED_META)


BLOCK_RQ_KNOWN = 8   # TTE_BLOCK_RQ_KNOWN in csrc/include/tte/block.h (D, P, E: bits 1, 2, 4)


def _block_rq_fast(expand: Node | None, dw: Node, project: Node, view: Graph) -> int:
    """tte_block_s8_params_t.rq_fast: whether each conv's fast output stage is exact, found here
    once rather than per call over every channel."""
    bits = BLOCK_RQ_KNOWN | int(rq_fast_ok(dw, view)) | int(rq_fast_ok(project, view)) << 1
    return bits | (int(rq_fast_ok(expand, view)) << 2 if expand is not None else 0)


def _doubled_fns(project: Node, view: Graph) -> str:
    """The kernels of a doubled 1x1 layout (pwd_layout): prepz's, one instruction less an output,
    for an output zero point of -128 (a sum below 0 clamps to it either way), else prepd's."""
    z = _sz(project, _t(view, project.outputs[0]))[1] == -128
    kind = "prepz" if z else "prepd"
    return f"tte_conv2d_s8_pointwise_{kind}_px, tte_conv2d_s8_pointwise_{kind}_all_px"


def _block_decls(node: Node, g: Graph, ref: Ref, prefix: str, rows: bool,
                 hidden: Collection[str] = ()) -> tuple[Emitted, list[str], set[str]]:
    """The declarations of streamed block ``node`` (its ops' parameters, its layouts and
    ``{prefix}_params``; ``rows``: in_rows), the C arguments of its weights and biases (NULL where
    a layout replaces them) and the inputs it does not read. ``hidden``: tensors stored nowhere (a
    streamed_pair's band)."""
    expand, dw, project, add, chain = _block_parts(node)
    view = _chain_graph(g, chain)
    if _t(view, dw.inputs[1]).shape[1] > BLOCK_MAX_KH:
        raise _unsupported(node, f"depthwise kernel height above {BLOCK_MAX_KH}")
    inner = {t.name for t in chain.intermediates} | set(hidden)
    prep, pw, dwb = dw_prepared(node, g), pw_prepared(node, g), dw3_blocks_prepared(node, g)
    live = dw_live_prepared(node, g)
    pe = pe_prepared(node, g) if expand is not None and split_ref(ref, node.inputs[1]) is None else None
    st = stem3_prepared(node, g) if expand is not None and split_ref(ref, node.inputs[1]) is None else None
    # with its layout, P's (E's) weight and bias are not read (nor emitted where nothing else reads them)
    unread = set(project.inputs[1:3]) - {""} if pw is not None else set()
    if pe is not None and expand is not None:
        unread |= set(expand.inputs[1:3]) - {""}

    def sub_ref(t: str) -> str:
        # E's kernel scratch is part of the block's (tte_block_s8 passes it on)
        return ("NULL" if t in inner or t in unread or t == chain.output.name or t.endswith("@scratch")
                else ref(t))

    out = Emitted()
    names = {}
    for key, n in (("e", expand), ("d", dw), ("p", project)):
        if n is not None:
            out.decls += emit_conv2d(n, view, sub_ref, f"{prefix}_{key}").decls
            names[key] = f"&{prefix}_{key}_params"
    residual_first = 0
    if add is not None:
        out.decls += emit_add(add, view, sub_ref, f"{prefix}_a").decls
        names["a"] = f"&{prefix}_a_params"
        residual_first = int(add.inputs[0] == chain.nodes[0].inputs[0])
    for pr in (prep, pw, pe, dwb, live, st):
        if pr is not None:
            out.decls.append(_array("uint32_t", *pr))
    # D's row segments: through the stride-2 pixel-pair kernel where its words are laid out, else
    # through dw3_blocks_layout's kernel where that is
    s2 = prep is not None and dw3s2_paired(node, g)
    row_blk = ("tte_conv2d_s8_dw3s2_row_blk" if s2 else "tte_conv2d_s8_dw_row_blk_ws" if dwb is not None
               else "NULL")
    doubled_fns = "NULL, NULL"
    if pw is not None and pw[0].startswith("tte_pwd_"):
        doubled_fns = ("tte_conv2d_s8_pointwise_small_prepd_px, NULL"
                       if _t(view, project.inputs[1]).shape[3] <= PE_MAX_IN else _doubled_fns(project, view))
    out.decls.append(f"static const tte_block_s8_params_t {prefix}_params = {{{names.get('e', 'NULL')}, "
                     f"{names['d']}, {names['p']}, {names.get('a', 'NULL')}, {residual_first}, "
                     f"{prep[0] if prep is not None else 'NULL'}, {pw[0] if pw is not None else 'NULL'}, "
                     f"{pe[0] if pe is not None else 'NULL'}, {int(dw_pad_given(node, g))}, "
                     f"{int(dw_all_given(node, g))}, {doubled_fns}, "
                     f"{row_blk}, {dwb[0] if dwb is not None else 'NULL'}, "
                     f"{f'{live[0]}, &tte_conv2d_s8_dw3_wide_live' if live is not None else 'NULL, NULL'}"
                     f", {int(rows)}, {_block_rq_fast(expand, dw, project, view)}, "
                     f"{f'tte_conv2d_s8_stem3_prep, {st[0]}' if st is not None else 'NULL, NULL'}, "
                     f"{'tte_conv2d_s8_dw3s2_ws' if s2 else 'NULL'}}};")
    args = [ref(i) if i and i not in unread else "NULL" for i in node.inputs[1:]]
    return out, args, unread


@_emitter("streamed_block")
def emit_streamed_block(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    expand = _block_parts(node)[0]
    rows = reads_input_rows(node, g)
    out, weights, unread = _block_decls(node, g, ref, prefix, rows)
    args = [ref(node.inputs[0]) if node.inputs[0] not in unread else "NULL", *weights]
    kernel = "tte_block_s8"
    sw = split_ref(ref, node.inputs[1]) if expand is not None and node.inputs[1] else None
    if sw is not None:
        args[1], kernel = sw, "tte_block_s8_split"
    if rows:   # the input from the caller's image or its reader (tte.compiler.codegen)
        args[0], kernel = f"&{INPUT_SOURCE}", kernel + "_rows"
    out.call.append(f"{kernel}(&{prefix}_params, {', '.join(args)}, {ref(node.outputs[0])}, "
                    f"(int8_t *){ref(node.name + '@scratch')});")
    return out


# ---- two streamed blocks run together (tte.compiler.fuse.pair_blocks, tte_block_s8_pair) -----

PAIR_STATE_BYTES = 192   # PAIR_STATE_BYTES in csrc/src/block_s8.c: the pair's state in its scratch


def pair_parts(node: Node, g: Graph) -> tuple[Node, Node, Graph]:
    """The two streamed blocks of a streamed_pair and a view of g that knows the first's output
    (its meta g's own, so that the choices recorded there hold for both)."""
    chain = node.attrs.get("chain")
    if not isinstance(chain, FusedChain) or len(chain.nodes) != 2:
        raise _err(node, "a streamed_pair needs its chain of two streamed blocks")
    view = _chain_graph(g, chain)
    view.meta = g.meta
    return chain.nodes[0], chain.nodes[1], view


def streamed_blocks(g: Graph) -> list[tuple[Node, Graph]]:
    """Every node of g with the graph it reads, a streamed_pair as its two blocks (over pair_parts'
    view): what the choices of layouts and optional scratch look at."""
    out: list[tuple[Node, Graph]] = []
    for n in g.nodes:
        if n.op == "streamed_pair":
            a, b, view = pair_parts(n, g)
            out += [(a, view), (b, view)]
        else:
            out.append((n, g))
    return out


def _pair_geoms(node: Node, g: Graph) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(out_h, in_h, stride, pad_top, k_h, dil_h) of the second block's depthwise, then of its
    expand conv, of streamed_pair ``node``."""
    _, b, view = pair_parts(node, g)
    expand, dw, _, _, chain = _block_parts(b)
    assert expand is not None
    v = _chain_graph(view, chain)

    def geom(n: Node) -> tuple[int, ...]:
        return (_t(v, n.outputs[0]).shape[1], _t(v, n.inputs[0]).shape[1], int(n.attrs["strides"][0]),
                int(n.attrs["pads"][0]), _t(v, n.inputs[1]).shape[1], int(n.attrs["dilations"][0]))

    return geom(dw), geom(expand)


def pair_band_rows(node: Node, g: Graph) -> int:
    """pair_band_rows (block_s8.c): the most rows of the first block's output that one expand row of
    the second reads and none before it (the rows of the expand conv's output its depthwise reads,
    in order)."""
    (out_h, in_h, s, pad, k, dil), (_, e_in_h, es, epad, ek, edil) = _pair_geoms(node, g)
    made = most = nxt = 0
    for oy in range(out_h):
        top = oy * s - pad
        for r in range(max(nxt, top, 0), min(top + (k - 1) * dil, in_h - 1) + 1):
            last = min(r * es - epad + (ek - 1) * edil, e_in_h - 1)
            most, made = max(most, last + 1 - made), max(made, last + 1)
            nxt = r + 1
    return most


PAIR_BAND, PAIR_SLOTS, PAIR_OUTPUT = range(3)   # pair_where's answers (block_s8.c)


def pair_where(node: Node, g: Graph) -> int:
    """pair_where (block_s8.c): where the first block of streamed_pair ``node`` makes its rows. Where
    each expand row r of the second reads the first's row r alone (a 1x1 expand at stride 1, one
    new row each): PAIR_OUTPUT, in the second's output from the row it makes next on, where its
    last row holds one of the first's (the second then has no window of input rows), else
    PAIR_SLOTS, in the slot of the second's ring that expand row then writes, where a slot holds
    one; else PAIR_BAND, in the band."""
    a, b, view = pair_parts(node, g)
    _, dw, project, _, chain = _block_parts(b)
    v = _chain_graph(view, chain)
    d_in, y, a_out = _t(v, dw.inputs[0]), _t(v, project.outputs[0]), _t(view, a.outputs[0])
    _, (_, _, es, epad, ek, _) = _pair_geoms(node, g)
    row = a_out.shape[2] * a_out.shape[3]
    if (ek, es, epad) != (1, 1, 0) or pair_band_rows(node, g) != 1:
        return PAIR_BAND
    if y.shape[2] * y.shape[3] >= row:
        return PAIR_OUTPUT
    return PAIR_SLOTS if d_in.shape[2] * d_in.shape[3] >= row else PAIR_BAND


def pair_scratch_bytes(node: Node, g: Graph) -> int:
    """tte_block_s8_pair_scratch_bytes: the second block's scratch with its window of input rows
    (none where pair_where is PAIR_OUTPUT), from an 8-byte boundary the first's, from another the
    state (PAIR_STATE_BYTES), then, where pair_where is PAIR_BAND, the band: pair_band_rows rows of
    the first's output and one row of its depthwise's outputs (where its chunks park them)."""
    a, b, view = pair_parts(node, g)
    _, dw, _, _, chain = _block_parts(a)
    a_out, d = _t(view, a.outputs[0]), _t(_chain_graph(view, chain), dw.outputs[0])
    where = pair_where(node, g)

    def al(n: int) -> int:
        return (n + 7) // 8 * 8

    band = 0 if where != PAIR_BAND else (
        pair_band_rows(node, g) * a_out.shape[2] * a_out.shape[3] + d.shape[2] * d.shape[3])
    return (al(block_scratch_bytes(b, view, rows=where != PAIR_OUTPUT)) + al(block_scratch_bytes(a, view))
            + PAIR_STATE_BYTES + band)


@_emitter("streamed_pair")
def emit_streamed_pair(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    a, b, view = pair_parts(node, g)
    rows = reads_input_rows(a, view)
    out = Emitted()
    # the weights' pointers and the pair in flash (static const: no stack), where the weights'
    # expressions are address constants (else in a block of the call)
    static = constant_refs(ref)
    local: list[str] = []
    for key, blk, in_rows in (("a", a, rows), ("b", b, pair_where(node, g) != PAIR_OUTPUT)):
        em, args, _ = _block_decls(blk, view, ref, f"{prefix}{key}", in_rows, hidden=a.outputs)
        out.decls += em.decls
        (out.decls if static else local).append(
            f"{'static ' if static else ''}const tte_block_s8_weights_t {prefix}{key}_w = {{(const int8_t *){args[0]}, "
            f"(const int32_t *){args[1]}, (const int8_t *){args[2]}, (const int32_t *){args[3]}, "
            f"(const int8_t *){args[4]}, (const int32_t *){args[5]}}};")
    (out.decls if static else local).append(
        f"{'static ' if static else ''}const tte_block_s8_pair_t {prefix}pair = {{&{prefix}a_params, &{prefix}a_w, "
        f"&{prefix}b_params, &{prefix}b_w}};")
    src, x = (f"&{INPUT_SOURCE}", "NULL") if rows else ("NULL", ref(node.inputs[0]))
    call = (f"tte_block_s8_pair(&{prefix}pair, {src}, {x}, {ref(node.outputs[0])}, "
            f"(int8_t *){ref(node.name + '@scratch')});")
    out.call += ["{", *local, call, "}"] if local else [call]
    return out
