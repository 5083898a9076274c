"""A small quantized net whose first op is a streamed block reading the input (the paper models'
shape: a stem conv as the block's expand conv, then a depthwise and a 1x1), for input_rows."""

from __future__ import annotations

from typing import Any

import numpy as np
from blocknet import OnnxNet

import tte
from tte.targets.sim import Simulator


def rows_net(side: int = 15, stem_k: int = 3, stem_stride: int = 2, classes: int = 4,
             name: str = "rowsnet") -> tte.Graph:
    """x (1, 3, side, side) -> stem (stem_k x stem_k, stride stem_stride, 3 -> 8) -> 3x3 depthwise ->
    1x1 (8 -> 8) -> 1x1 expand (8 -> 16) -> 3x3 depthwise, stride 2 -> 1x1 (16 -> 8) -> pool -> fc."""
    net = OnnxNet(np.random.default_rng(5))
    x = net.conv("x", "stem", 3, 8, stem_k, stem_stride, 1, True)
    x = net.conv(x, "b0d", 8, 8, 3, 1, 8, True)
    x = net.conv(x, "b0p", 8, 8, 1, 1, 1, False)
    x = net.conv(x, "b1e", 8, 16, 1, 1, 1, True)
    x = net.conv(x, "b1d", 16, 16, 3, 2, 16, True)
    x = net.conv(x, "b1p", 16, 8, 1, 1, 1, False)
    return net.quantized(x, 8, side, classes, name)


def pair_net(side: int = 32, stem_stride: int = 2, classes: int = 4, name: str = "pairnet",
             second_out: int = 8) -> tte.Graph:
    """rows_net's two blocks, then a third (1x1 expand -> 16, 3x3 depthwise, 1x1 16 -> 8) for a
    last-k scheme to train: the first two stay frozen, so they stream and can run as a pair.
    ``second_out``: the second block's output channels (8: a row of its output holds half a row of
    the first's, which the pair makes in the second's ring; 16: a whole one, made in its output)."""
    net = OnnxNet(np.random.default_rng(6))
    x = net.conv("x", "stem", 3, 8, 3, stem_stride, 1, True)
    x = net.conv(x, "b0d", 8, 8, 3, 1, 8, True)
    x = net.conv(x, "b0p", 8, 8, 1, 1, 1, False)
    x = net.conv(x, "b1e", 8, 16, 1, 1, 1, True)
    x = net.conv(x, "b1d", 16, 16, 3, 2, 16, True)
    x = net.conv(x, "b1p", 16, second_out, 1, 1, 1, False)
    x = net.conv(x, "b2e", second_out, 16, 1, 1, 1, True)
    x = net.conv(x, "b2d", 16, 16, 3, 1, 16, True)
    x = net.conv(x, "b2p", 16, 8, 1, 1, 1, False)
    return net.quantized(x, 8, side, classes, name)


def run_rows_sanitized(g: tte.Graph, name: str, out: str, first_op: str | None = None) -> list[float]:
    """``g``'s row-streamed build (analyze input_rows=True) compiled with its kernels under
    AddressSanitizer and UndefinedBehaviorSanitizer (run in a process started with
    cbuild.sanitizer_env()): inference by pointer and by reader equal tte.reference, the reader
    asked for rows 0..H-1 once each in order; returns the losses of two steps (reader, pointer)."""
    from pathlib import Path

    from tte.compiler.analysis import analyze
    from tte.compiler.codegen import generate
    from tte.reference import execute
    from tte.targets import cbuild

    a = analyze(g, scheme="last-k:2", budget_bytes=1 << 40, input_rows=True)
    assert first_op is None or a.scheduled.graph.nodes[0].op == first_op
    for k, v in generate(a, name).items():
        (Path(out) / k).write_text(v)
    cdef = ("typedef int8_t tte_input_t; typedef int8_t tte_output_t; void tte_init(void); "
            "void tte_set_input_reader(void (*)(void *, int32_t, int8_t *), void *); "
            "void tte_infer(const int8_t *, int8_t *); float tte_train_step(const int8_t *, int32_t);")
    ffi, lib = cbuild.load([Path(out) / f"{name}.c"], extra_cdef=cdef, include_dirs=[Path(out)], sanitize=True,
                           name=name)
    x = np.random.default_rng(3).integers(-128, 128, g.tensors[g.inputs[0]].shape).astype(np.int8)
    want = execute(g, {g.inputs[0]: x})[g.outputs[0]].reshape(-1)
    asked: list[int] = []

    @ffi.callback("void(void *, int32_t, int8_t *)")
    def read_row(ctx: object, row: int, dst: object) -> None:
        asked.append(row)
        ffi.memmove(dst, x[0, row].tobytes(), x[0, row].nbytes)

    lib.tte_init()
    got = np.zeros(want.size, np.int8)
    lib.tte_infer(ffi.from_buffer("int8_t[]", x), ffi.from_buffer("int8_t[]", got))
    assert np.array_equal(got, want)
    lib.tte_set_input_reader(read_row, ffi.NULL)
    lib.tte_infer(ffi.NULL, ffi.from_buffer("int8_t[]", got))
    assert np.array_equal(got, want) and asked == list(range(x.shape[1]))
    return [lib.tte_train_step(ffi.NULL, 1), lib.tte_train_step(ffi.from_buffer("int8_t[]", x), 2)]


def rows_sim(g: tte.Graph, rows: bool, scheme: str, name: str) -> Simulator:
    """``g`` compiled (input_rows ``rows``, no SRAM budget) and built on the host as ``name``."""
    from tte.compiler.analysis import analyze
    from tte.compiler.codegen import generate

    a = analyze(g, scheme=scheme, budget_bytes=1 << 40, input_rows=rows)
    return Simulator(a, generate(a, name), name)


def row_reader(sim: Simulator, x: np.ndarray, asked: list[int]) -> Any:
    """A reader of image x (NHWC, batch 1) that records the rows it is asked for."""
    img = np.ascontiguousarray(x)

    @sim.ffi.callback("void(void *, int32_t, int8_t *)")
    def read_row(ctx: Any, row: int, dst: Any) -> None:
        asked.append(int(row))
        sim.ffi.memmove(dst, img[0, row].tobytes(), img[0, row].nbytes)
    return read_row


def check_rows_like_normal(g: tte.Graph, normal: Simulator, rows: Simulator, xs: list[np.ndarray]) -> None:
    """The rows build ``rows`` against the normal build ``normal`` of ``g`` over images ``xs``:
    both infer tte.reference's outputs; steps by pointer give the same losses and trained weights
    (which moved); the same steps from the same start through the reader (in == NULL) too, every
    input row asked for once per step, in order."""
    from tte.reference import execute

    x_name = g.inputs[0]
    for x in xs:
        want = execute(g, {x_name: x})[g.outputs[0]]
        np.testing.assert_array_equal(normal.infer(x), want)
        np.testing.assert_array_equal(rows.infer(x), want)
    start = {p: w.copy() for p, w in rows.weights().items()}
    losses = [(normal.train_step(x, i % 4), rows.train_step(x, i % 4)) for i, x in enumerate(xs)]
    assert all(a == b for a, b in losses), losses
    assert normal.crc32() == rows.crc32()
    assert any(not np.array_equal(rows.weights()[p], start[p]) for p in start)
    ffi, lib = rows.ffi, rows.lib
    lib.tte_init()
    rows.set_weights(start)
    for i, x in enumerate(xs):
        asked: list[int] = []
        fn = row_reader(rows, x, asked)
        lib.tte_set_input_reader(fn, ffi.NULL)
        assert lib.tte_train_step(ffi.NULL, i % 4) == losses[i][1]
        assert asked == list(range(x.shape[1]))
    assert lib.tte_trainable_crc32() == normal.crc32()
