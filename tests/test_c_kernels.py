"""C kernels (through their emitters) against tte.reference, the oracle.

* int8 forward ops, masks, data movement and the bit-exact float ops: byte for byte.
* float backward ops and losses: ``rtol = 2e-5`` plus ``atol = 2e-6 * scale`` where scale is
  the largest magnitude among the reference output and the float inputs (at least 1). The
  C kernels accumulate sums in float32 in a fixed order; numpy accumulates in a different
  (pairwise / BLAS) order, so results differ by a few ulp of the summed magnitudes, and a
  sum with cancellation (a loss near 0) has an absolute, not a relative, error.
* fused int8/int32 updates: identical, except elements whose exact (float64) step
  ``delta`` lies within ``BOUNDARY = 1e-4`` of a rounding boundary (|delta| near k + 1/2 for
  nearest, delta + u near an integer for stochastic): there the float32 gradient sums of C
  and numpy may fall on different sides. Such elements may differ by exactly one step; the
  total count is enforced below (at most 0.5% of the updated elements, typically zero).

Set TTE_C_SANITIZE=1 to build the kernels with ASan+UBSan (tests/test_c_sanitizers.py does,
in a subprocess with the sanitizer runtime preloaded).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
from c_cases import Case, Harness, all_cases

from tte.ir import Graph, Node
from tte.reference import execute
from tte.reference.grad_ops import uniform_hash

BOUNDARY = 1e-4
RTOL, ATOL = 2e-5, 2e-6
SANITIZE = os.environ.get("TTE_C_SANITIZE") == "1"

CASES = all_cases()
MISMATCHES: dict[str, tuple[int, int]] = {}


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Harness:
    return Harness(CASES, tmp_path_factory.mktemp("c"), sanitize=SANITIZE)


def _scale(case: Case, ref: np.ndarray) -> float:
    mags = [float(np.max(np.abs(ref))) if ref.size else 0.0, 1.0]
    mags += [float(np.max(np.abs(v))) for v in case.feeds.values() if v.dtype == np.float32 and v.size]
    return max(mags)


def _boundary_distance(case: Case) -> np.ndarray:
    assert case.delta is not None
    if case.u is not None:
        t = case.delta + case.u
        return np.abs(t - np.round(t))
    a = np.abs(case.delta)
    return np.abs(a - np.floor(a) - 0.5)


def _selected(case: Case, w: np.ndarray) -> np.ndarray:
    a = case.extra
    idx = [np.arange(d) for d in w.shape]
    if a.get("out_channels"):
        idx[0] = np.asarray(a["out_channels"])
    if a.get("in_channels") and w.ndim > 1:
        idx[-1] = np.asarray(a["in_channels"])
    return w[np.ix_(*idx)]


@pytest.mark.parametrize("i", range(len(CASES)), ids=[c.name for c in CASES])
def test_kernel_matches_reference(harness: Harness, i: int) -> None:
    case = CASES[i]
    ref = execute(case.graph, case.feeds)
    got = harness.run(i)
    for name in case.graph.outputs:
        r, c = np.asarray(ref[name]), got[name]
        assert c.dtype == r.dtype, f"{case.name}: {name} dtype {c.dtype} != {r.dtype}"
        assert c.shape == r.shape, f"{case.name}: {name} shape {c.shape} != {r.shape}"
        if case.kind == "pair":
            continue   # test_fused_backward_has_the_unfused_bits
        if case.kind == "exact":
            np.testing.assert_array_equal(c, r, err_msg=f"{case.name}: {name}")
        elif case.kind == "float":
            np.testing.assert_allclose(c, r, rtol=RTOL, atol=ATOL * _scale(case, r), err_msg=f"{case.name}: {name}")
        else:
            _check_update(case, r, c)


def _check_update(case: Case, r: np.ndarray, c: np.ndarray) -> None:
    w0 = case.graph.tensors[case.graph.nodes[0].inputs[0]].data
    assert w0 is not None
    differ = _selected(case, c.astype(np.int64) != r.astype(np.int64))
    # elements outside the selected channels are untouched
    outside = (c != r) & ~np.isin(np.arange(c.size).reshape(c.shape), _selected(case, np.arange(c.size).reshape(
        c.shape)))
    assert not outside.any(), f"{case.name}: unselected elements changed"
    assert np.array_equal(np.where(~np.isin(np.arange(c.size).reshape(c.shape),
                                            _selected(case, np.arange(c.size).reshape(c.shape))), c, 0),
                          np.where(~np.isin(np.arange(c.size).reshape(c.shape),
                                            _selected(case, np.arange(c.size).reshape(c.shape))), w0, 0))
    near = _boundary_distance(case) < BOUNDARY
    gap = np.abs(_selected(case, c.astype(np.int64)) - _selected(case, r.astype(np.int64)))
    assert not (differ & ~near).any(), (
        f"{case.name}: {int((differ & ~near).sum())} elements differ away from a rounding boundary")
    assert (gap[differ] == 1).all(), f"{case.name}: a near-boundary element differs by more than one step"
    MISMATCHES[case.name] = (int(differ.sum()), int(differ.size))
    # the update did something: some selected element moved (guards against a no-op kernel)
    moved = _selected(case, c.astype(np.int64)) != _selected(case, w0.astype(np.int64))
    assert moved.any() or not (np.abs(case.delta) >= 1).any(), f"{case.name}: nothing was updated"  # type: ignore[arg-type]


def test_boundary_mismatch_budget(harness: Harness) -> None:
    """Run after the per-case tests (file order): mismatches are rare near-boundary events."""
    for i, case in enumerate(CASES):
        if case.kind == "update" and case.name not in MISMATCHES:
            ref = execute(case.graph, case.feeds)
            _check_update(case, np.asarray(ref[case.graph.outputs[0]]), harness.run(i)[case.graph.outputs[0]])
    differ = sum(d for d, _ in MISMATCHES.values())
    total = sum(n for _, n in MISMATCHES.values())
    assert total > 1000
    assert differ <= 0.005 * total, f"{differ} of {total} updated elements differ"


# ---- kernel-level checks that no single-op graph reaches --------------------------------


def test_uniform_hash_matches_reference(harness: Harness) -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        seed, step = int(rng.integers(0, 2**32)), int(rng.integers(0, 2**31))
        n = 257
        want = np.round(uniform_hash(seed, step, (n,)) * 2.0**32).astype(np.uint64)
        got = np.array([harness.lib.tte_uniform_hash_u32(seed, step, i) for i in range(n)], np.uint64)
        np.testing.assert_array_equal(got, want)


def _update_run(harness: Harness, kind: str, u_fields: dict[str, Any], k: np.ndarray | None,
                live: float | None, seed: int, dy_given: np.ndarray | None = None) -> np.ndarray:
    """One tte_fc_weight_update_s8 (kind "w") or tte_bias_update_s32 ("b") on fixed random
    data of ``seed``, with the update parameters ``u_fields``, step factors ``k`` (None: NULL)
    and ``lr_live`` pointing at ``live`` (None: NULL); the updated parameter. ``dy_given``: one
    row of output gradients, the weights' gradients exactly (x's single row dequantizes to 1.0)."""
    ffi, lib = harness.ffi, harness.lib
    rng = np.random.default_rng(seed)
    rows, n_in, n_out = 3, 24, 40
    scales = np.asarray(u_fields["scales"], np.float32)
    x = rng.integers(-128, 128, (rows, n_in)).astype(np.int8)
    dy = (rng.standard_normal((rows, n_out)) * 10.0 ** rng.uniform(-4, 1, (rows, n_out))).astype(np.float32)
    x_scale, x_zp = 0.03, -5
    if dy_given is not None:
        rows, dy = 1, np.asarray(dy_given, np.float32).reshape(1, n_out)
        x, x_scale, x_zp = np.ones((1, n_in), np.int8), 1.0, 0
    keep = [ffi.new("float[]", scales.tolist()), ffi.new("double *", live if live is not None else 0.0)]
    u = ffi.new("tte_update_params_t *")
    u.lr, u.qas, u.stochastic, u.seed = u_fields["lr"], u_fields["qas"], u_fields["stochastic"], 77
    u.n_out, u.out_idx, u.n_in, u.in_idx = n_out, ffi.NULL, n_in if kind == "w" else 1, ffi.NULL
    u.n_scale, u.scale = scales.size, keep[0]
    u.lr_live = keep[1] if live is not None else ffi.NULL
    if k is not None:
        keep.append(ffi.new("float[]", np.asarray(k, np.float32).tolist()))
        u.k = keep[-1]
    else:
        u.k = ffi.NULL
    if kind == "w":
        w = rng.integers(-128, 128, (n_out, n_in)).astype(np.int8)
        lib.tte_fc_weight_update_s8(rows, n_in, n_out, u, ffi.cast("int8_t *", w.ctypes.data),
                                    ffi.cast("int8_t *", x.ctypes.data), ffi.NULL, x_scale, x_zp,
                                    ffi.cast("float *", dy.ctypes.data), 9)
        return w
    b = rng.integers(-(2**20), 2**20, n_out).astype(np.int32)
    lib.tte_bias_update_s32(rows, n_out, u, ffi.cast("int32_t *", b.ctypes.data),
                            ffi.cast("float *", dy.ctypes.data), 9)
    return b


def test_step_factor_tables_give_the_computed_updates(harness: Harness) -> None:
    """tte_update_params_t.k, as the compiler makes it (step_factors), gives an int8 weight's
    updates the bits of the factors formed at run time, over scales of many magnitudes; it is read
    while lr_live holds lr, and ignored when it holds another rate (and by a bias's update)."""
    from tte.compiler.emit.update import step_factors
    rng = np.random.default_rng(11)
    moved = 0
    for trial in range(24):
        kind = "w" if trial % 2 == 0 else "b"
        n_scale = 1 if trial % 6 == 0 else 40
        f = {"lr": float([0.05, 0.003, 0.5, 1e-5][trial % 4] * rng.uniform(0.5, 2.0)),
             "qas": int(trial % 5 != 4), "stochastic": int(trial % 3 != 2),
             "scales": (2.0 ** rng.uniform(-24, 2, n_scale)).astype(np.float32)}
        k = step_factors(f["scales"], f["lr"], bool(f["qas"]))
        assert k is not None
        plain = _update_run(harness, kind, f, None, None, trial)
        np.testing.assert_array_equal(_update_run(harness, kind, f, k, None, trial), plain)
        np.testing.assert_array_equal(_update_run(harness, kind, f, k, f["lr"], trial), plain)
        base = _update_run(harness, kind, {**f, "lr": 0.0}, None, None, trial)
        moved += int(np.count_nonzero(plain != base))
        # another live rate: the table (here a wrong one) is not read
        other = f["lr"] * 3.0
        np.testing.assert_array_equal(_update_run(harness, kind, f, k * 7.0, other, trial),
                                      _update_run(harness, kind, {**f, "lr": other}, None, None, trial))
    assert moved > 500
    # an int8 weight's factor to the bit: gradients g that put k * g on either side of a half
    # step, one ulp of g apart, so that a factor one ulp off moves where the step rounds up
    flips = 0
    for trial in range(12):
        f = {"lr": float(rng.uniform(1e-3, 0.5)), "qas": int(trial % 3 != 2), "stochastic": 0,
             "scales": (2.0 ** rng.uniform(-20, 0, 1)).astype(np.float32)}
        k = step_factors(f["scales"], f["lr"], bool(f["qas"]))
        assert k is not None
        g0 = np.float32((0.5 + int(rng.integers(0, 40))) / float(k[0]))
        dy = g0 + (np.arange(40) - 20).astype(np.float32) * np.spacing(g0)
        plain = _update_run(harness, "w", f, None, None, trial, dy)
        np.testing.assert_array_equal(_update_run(harness, "w", f, k, f["lr"], trial, dy), plain)
        off = _update_run(harness, "w", f, np.nextafter(k, np.float32(np.inf)), f["lr"], trial, dy)
        flips += int(np.any(off != plain))
    assert flips >= 6


def test_expf_logf_accuracy(harness: Harness) -> None:
    """tte's own exp/log: within 2 ulp-ish (relative 3e-7) of the float64 truth."""
    ffi, lib = harness.ffi, harness.lib
    xs = np.concatenate([np.linspace(-87, 88, 4001), np.linspace(-1e-3, 1e-3, 101), [0.0, -0.0, 1.0, -1.0]])
    xs = xs.astype(np.float32)
    got = np.array([lib.tte_expf(float(x)) for x in xs], np.float64)
    want = np.exp(xs.astype(np.float64))
    assert np.max(np.abs(got - want) / want) < 3e-7
    assert lib.tte_expf(-200.0) == 0.0 and np.isinf(lib.tte_expf(100.0))
    ys = np.concatenate([np.geomspace(1e-37, 3e38, 4001), np.linspace(0.5, 2.0, 1001)]).astype(np.float32)
    got = np.array([lib.tte_logf(float(y)) for y in ys], np.float64)
    want = np.log(ys.astype(np.float64))
    err = np.abs(got - want) / np.maximum(np.abs(want), 1e-30)
    assert np.max(np.where(np.abs(want) > 1e-3, err, 0)) < 3e-7
    assert np.max(np.abs(got - want)[np.abs(want) <= 1e-3]) < 1e-9
    assert lib.tte_logf(1.0) == 0.0
    del ffi


def test_rounding_helpers(harness: Harness) -> None:
    lib = harness.lib
    for x, r in [(0.5, 1.0), (-0.5, -1.0), (1.5, 2.0), (2.5, 3.0), (-2.5, -3.0), (0.49999997, 0.0),
                 (8388607.5, 8388608.0), (1e20, 1e20), (-0.0, -0.0)]:
        assert lib.tte_roundf(x) == np.float32(r), x
    for x, r in [(1.5, 1.0), (-1.5, -2.0), (-1.0, -1.0), (-0.25, -1.0), (3e9, 3e9)]:
        assert lib.tte_floorf(x) == np.float32(r), x


def test_conv_fast_paths_equal_generic_loop(harness: Harness) -> None:
    """The pointwise and depthwise paths give the bytes of the generic loop nest."""
    ffi, lib = harness.ffi, harness.lib
    rng = np.random.default_rng(3)
    for kind in ("pointwise", "depthwise"):
        for _ in range(5):
            h, w, cin = int(rng.integers(1, 7)), int(rng.integers(1, 7)), int(rng.integers(1, 9))
            mult = int(rng.integers(1, 3))
            cout = cin * mult if kind == "depthwise" else int(rng.integers(1, 9))
            k = 1 if kind == "pointwise" else 3
            pad = 0 if kind == "pointwise" else 1
            p = ffi.new("tte_conv2d_s8_params_t *")
            g = p.g
            g.batch, g.in_h, g.in_w, g.in_c, g.out_h, g.out_w, g.out_c = 1, h, w, cin, h, w, cout
            g.k_h = g.k_w = k
            g.stride_h = g.stride_w = g.dil_h = g.dil_w = 1
            g.pad_top = g.pad_left = pad
            g.groups = cin if kind == "depthwise" else 1
            p.in_zp, p.out_zp, p.act_min, p.act_max = int(rng.integers(-20, 20)), 3, -128, 127
            mult_a = ffi.new("int32_t[]", [int(m) for m in rng.integers(1 << 30, (1 << 31) - 1, cout)])
            shift_a = ffi.new("int32_t[]", [int(s) for s in rng.integers(-12, -6, cout)])
            p.mult, p.shift = mult_a, shift_a
            x = rng.integers(-128, 128, h * w * cin).astype(np.int8)
            wt = rng.integers(-127, 128, cout * k * k * (1 if kind == "depthwise" else cin)).astype(np.int8)
            bias = rng.integers(-1000, 1000, cout).astype(np.int32)
            y1, y2 = np.zeros(h * w * cout, np.int8), np.ones(h * w * cout, np.int8)
            args = [ffi.cast("int8_t *", x.ctypes.data), ffi.cast("int8_t *", wt.ctypes.data),
                    ffi.cast("int32_t *", bias.ctypes.data)]
            lib.tte_conv2d_s8(p, *args, ffi.cast("int8_t *", y1.ctypes.data))
            lib.tte_conv2d_s8_generic(p, *args, ffi.cast("int8_t *", y2.ctypes.data))
            np.testing.assert_array_equal(y1, y2)


@pytest.mark.parametrize("i", [i for i, c in enumerate(CASES) if c.name.startswith("depthwise_grad_input_inplace")],
                         ids=lambda i: CASES[i].name)
def test_in_place_depthwise_gradient_has_the_out_of_place_bits(harness: Harness, i: int) -> None:
    got = harness.run(i)
    assert not np.isnan(got["dx"]).any()
    np.testing.assert_array_equal(got["dx"], got["dx0"])


@pytest.mark.parametrize("i", [i for i, c in enumerate(CASES) if c.name.startswith("pointwise_grad_input_inplace")],
                         ids=lambda i: CASES[i].name)
def test_in_place_pointwise_gradient_has_the_out_of_place_bits(harness: Harness, i: int) -> None:
    """Cin < Cout (forwards), Cin == Cout, Cin > Cout (backwards): the same bits as the
    out-of-place kernel, whose result the reference checks (conv2d_grad_input cases)."""
    got = harness.run(i)
    assert not np.isnan(got["dx"]).any()
    np.testing.assert_array_equal(got["dx"], got["dx0"])


@pytest.mark.parametrize("i", [i for i, c in enumerate(CASES) if c.kind == "pair"], ids=lambda i: CASES[i].name)
def test_fused_backward_has_the_unfused_bits(harness: Harness, i: int) -> None:
    """dwpw_backward (channel by channel) gives the unfused C kernels' bits, in C and in the
    reference (which runs the original nodes)."""
    case = CASES[i]
    got = harness.run(i)
    ref = execute(case.graph, case.feeds)
    for fused, unfused in case.extra["pairs"]:
        assert not np.isnan(got[fused].astype(np.float64)).any()
        np.testing.assert_array_equal(got[fused], got[unfused], err_msg=f"{case.name}: {fused}")
        np.testing.assert_array_equal(ref[fused], ref[unfused], err_msg=f"{case.name}: {fused} (reference)")
    moved = [o for o, _ in case.extra["pairs"] if o != "dx2" and not np.array_equal(
        got[o], case.graph.tensors[o.replace("_new", "")].data)]
    assert moved or np.any(got.get("dx2", np.zeros(1)) != 0), f"{case.name}: the kernel did nothing"


SPLIT = [i for i, c in enumerate(CASES) if c.extra.get("split")]


def test_split_cases_call_the_split_kernels() -> None:
    """Split weights (tte.compiler.split): conv2d, streamed_block and dwpw_backward[_head] cases with a
    weight in two parts run the *_split kernels (checked above: bit-exact vs the reference,
    or bit-identical to the unfused kernels for dwpw pairs)."""
    from c_cases import emit_cases

    assert len(SPLIT) >= 30
    kinds = set()
    for i in SPLIT:
        src, _ = emit_cases([CASES[i]])
        calls = [k for k in ("tte_conv2d_s8_split(", "tte_block_s8_split(", "tte_dwpw_backward_split_s8(",
                             "tte_dwpw_backward_head_split_s8(") if k in src]
        assert calls, CASES[i].name
        kinds.update(calls)
    assert len(kinds) == 4, kinds


@pytest.mark.parametrize("i", SPLIT, ids=lambda i: CASES[i].name)
def test_split_frozen_part_is_untouched(harness: Harness, i: int) -> None:
    got = harness.run(i)
    for param in CASES[i].extra["split"]:
        np.testing.assert_array_equal(got[param + "@frz"], CASES[i].feeds[param + "@frz"])


def test_split_checkpoint_helpers(harness: Harness) -> None:
    """tte_split_s8_get gives the whole weight, tte_split_s8_crc32 its CRC-32 register,
    tte_split_s8_set writes the trained channels only."""
    import zlib

    from tte.compiler.split import SplitWeight

    ffi, lib = harness.ffi, harness.lib
    rng = np.random.default_rng(11)
    for _ in range(6):
        shape = (int(rng.integers(1, 6)), int(rng.integers(1, 3)), int(rng.integers(1, 3)), int(rng.integers(2, 12)))
        sel = tuple(int(c) for c in np.sort(rng.choice(shape[3], int(rng.integers(1, shape[3])), replace=False)))
        sp = SplitWeight("w", shape, sel)
        whole = rng.integers(-128, 128, shape).astype(np.int8)
        upd, frz = sp.parts(whole)
        idx = [ffi.new("int32_t[]", list(v) or [0]) for v in (sp.sel, sp.frz, sp.where)]
        upd_c, frz_c = ffi.new("int8_t[]", upd.ravel().tolist()), ffi.new("int8_t[]", frz.ravel().tolist() or [0])
        s = ffi.new("tte_split_s8_t *", [sp.rows, sp.in_c, len(sel), *idx, upd_c, frz_c])
        out = np.zeros(whole.size, np.int8)
        lib.tte_split_s8_get(s, ffi.cast("int8_t *", out.ctypes.data))
        np.testing.assert_array_equal(out, whole.ravel())
        assert (lib.tte_split_s8_crc32(s, 0xFFFFFFFF) ^ 0xFFFFFFFF) == zlib.crc32(whole.tobytes())
        new = rng.integers(-128, 128, shape).astype(np.int8)
        lib.tte_split_s8_set(s, ffi.cast("int8_t *", new.ctypes.data))
        lib.tte_split_s8_get(s, ffi.cast("int8_t *", out.ctypes.data))
        expect = whole.reshape(sp.rows, -1).copy()
        expect[:, list(sel)] = new.reshape(sp.rows, -1)[:, list(sel)]
        np.testing.assert_array_equal(out, expect.ravel())
        assert bytes(ffi.buffer(frz_c, frz.size)) == frz.tobytes()


def test_planned_conv_scratch_is_what_the_kernel_takes(harness: Harness) -> None:
    """The scratch the planner reserves for a conv (tte.compiler.emit.conv2d_scratch_bytes, also
    inside a streamed block's) is tte_conv2d_s8_scratch_bytes of its geometry, on every path, plus
    a plain 1x1's optional pixel buffer where the graph gives it one
    (tte_conv2d_s8_pointwise_buffer_bytes, which pointwise_buffer_bytes follows for every conv), and
    a depthwise run over its input its passes' copies (tte_conv2d_s8_depthwise_inplace_bytes)."""
    from tte.compiler.emit import conv2d_scratch_bytes
    from tte.compiler.emit.common import _chain_graph
    from tte.compiler.emit.conv import (
        PW_BUFFER8_META,
        PW_BUFFER_META,
        dw_in_place,
        dw_in_place_group,
        pointwise_buffer_bytes,
        pw_by_pixel,
    )

    figures, buffers, in_place = set(), set(), set()
    for case in CASES:
        for node in case.graph.nodes:
            chain = node.attrs.get("chain") if node.op == "streamed_block" else None
            g = _chain_graph(case.graph, chain) if chain is not None else case.graph
            for n in chain.nodes if chain is not None else (node,):
                if n.op != "conv2d":
                    continue
                (bn, h, w, c), (_, oh, ow, co) = g.tensors[n.inputs[0]].shape, g.tensors[n.outputs[0]].shape
                kh, kw = g.tensors[n.inputs[1]].shape[1:3]
                p = harness.ffi.new("tte_conv2d_s8_params_t *")
                a = n.attrs
                p.g = {"batch": bn, "in_h": h, "in_w": w, "in_c": c, "out_h": oh, "out_w": ow, "out_c": co,
                       "k_h": kh, "k_w": kw, "stride_h": a["strides"][0], "stride_w": a["strides"][1],
                       "dil_h": a["dilations"][0], "dil_w": a["dilations"][1], "pad_top": a["pads"][0],
                       "pad_left": a["pads"][1], "groups": a["groups"]}
                want = harness.lib.tte_conv2d_s8_scratch_bytes(p)
                if pw_by_pixel(n, g):   # pixel by pixel: no buffer, no scratch
                    assert conv2d_scratch_bytes(n, g) == pointwise_buffer_bytes(n, g) == want == 0, case.name
                    continue
                buf = harness.lib.tte_conv2d_s8_pointwise_buffer_bytes(p)
                assert pointwise_buffer_bytes(n, g) == buf, f"{case.name}: {n.name}"
                given = buf if n.name in g.meta.get(PW_BUFFER_META, ()) else 0
                if n.name in g.meta.get(PW_BUFFER8_META, ()):
                    # eight pixels' (tte_conv2d_s8_ws_sized): 16 in_c, from 32 input channels on
                    given = 16 * c if c % 8 == 0 and c >= 32 and want == 0 else 0
                if dw_in_place(n, g):
                    # the depthwise over its input: the copies of a pass of channels
                    given = harness.lib.tte_conv2d_s8_depthwise_inplace_bytes(
                        harness.ffi.addressof(p[0], "g"), dw_in_place_group(n, g))
                    in_place.add(given)
                assert conv2d_scratch_bytes(n, g) == want + given, f"{case.name}: {n.name}"
                figures.add(want)
                buffers.add(given if given else -1)
    assert len(figures) == 2   # cases on the window path and off it
    assert len(buffers - {-1, 0}) >= 6   # buffers given, of several sizes
    assert len(in_place) >= 4   # depthwise convs over their input, scratch of several sizes


def test_planned_add_scratch_is_what_the_kernel_takes(harness: Harness) -> None:
    """An ADD's planned table (tte.compiler.emit.add_scratch_bytes) is tte_add_s8_scratch_bytes."""
    from tte.compiler.emit import add_scratch_bytes

    figures = set()
    for case in CASES:
        for n in case.graph.nodes:
            if n.op == "add" and case.graph.tensors[n.outputs[0]].dtype == "int8":
                want = harness.lib.tte_add_s8_scratch_bytes(case.graph.tensors[n.outputs[0]].size)
                assert add_scratch_bytes(n, case.graph) == want, case.name
                figures.add(want)
    assert len(figures) == 2   # sums through the table and below its length


def test_block_rq_fast_is_what_the_kernels_find(harness: Harness) -> None:
    """The output stages' fast flags the compiler gives a streamed block
    (tte_block_s8_params_t.rq_fast, tte.compiler.emit.conv.rq_fast_ok) are what
    tte_conv2d_s8_fast_rq finds on the same multipliers, shifts, zero point and clamp, for every
    conv of every case's blocks, and for the same convs with a multiplier too small or a shift
    out of its range."""
    from tte.compiler.emit.block import _block_parts
    from tte.compiler.emit.common import _chain_graph, _q, _sz, _t
    from tte.compiler.emit.conv import rq_fast_ok, stage_fast_ok
    from tte.numerics import fixedpoint as fp

    def c_fast(n: Node, g: Graph, mult: np.ndarray, shift: np.ndarray) -> bool:
        s_out, zp_out = _sz(n, _t(g, n.outputs[0]))
        lo, hi = fp.activation_range_int8(n.attrs["activation"], s_out, zp_out)
        p = harness.ffi.new("tte_conv2d_s8_params_t *")
        keep = [harness.ffi.new("int32_t[]", [int(v) for v in mult]),
                harness.ffi.new("int32_t[]", [int(v) for v in shift])]
        p.g.out_c, p.out_zp, p.act_min, p.act_max = len(mult), zp_out, lo, hi
        p.mult, p.shift = keep
        fast = bool(harness.lib.tte_conv2d_s8_fast_rq(p))
        assert stage_fast_ok(mult, shift, zp_out, lo, hi) == fast
        return fast

    seen = 0
    for case in CASES:
        for node in case.graph.nodes:
            if node.op != "streamed_block":
                continue
            expand, dw, project, _, chain = _block_parts(node)
            g = _chain_graph(case.graph, chain)
            for n in (dw, project) if expand is None else (expand, dw, project):
                w = _t(g, n.inputs[1])
                ws = _q(n, w).scale.astype(np.float64)
                ws = np.broadcast_to(ws, (w.shape[0],)) if ws.size == 1 else ws
                mult, shift = (np.asarray(a, np.int64) for a in fp.quantize_multipliers(
                    _sz(n, _t(g, n.inputs[0]))[0] * ws / _sz(n, _t(g, n.outputs[0]))[0]))
                assert rq_fast_ok(n, g) == c_fast(n, g, mult, shift), (case.name, n.name)
                seen += 1
                # stages both refuse: a multiplier below 2**30, a shift of 0
                small, zero = mult.copy(), shift.copy()
                small[-1], zero[0] = (1 << 30) - 1, 0
                assert not c_fast(n, g, small, shift) and not c_fast(n, g, mult, zero)
    assert seen >= 60


def test_planned_block_scratch_is_what_the_block_takes(harness: Harness) -> None:
    """The scratch the planner reserves for a streamed block (tte.compiler.emit.block_scratch_bytes)
    is tte_block_s8_scratch_bytes of its parameters, with and without the depthwise's padded copy
    or its widened rows (dw_pad) and D's whole image (dw_all), on every case's block (the M7's
    paths use what the host's do not, so an excess there would go unseen by the sanitizers)."""
    from tte.compiler.emit import block_scratch_bytes
    from tte.compiler.emit.block import (
        _block_parts,
        dw3_wide_bytes,
        dw_all_given,
        dw_live_prepared,
        dw_pad_given,
        pw_prepared,
    )
    from tte.compiler.emit.common import _chain_graph

    def conv(n: Node, g: Graph) -> Any:
        (bn, h, w, c), (_, oh, ow, co) = g.tensors[n.inputs[0]].shape, g.tensors[n.outputs[0]].shape
        kh, kw = g.tensors[n.inputs[1]].shape[1:3]
        a, p = n.attrs, harness.ffi.new("tte_conv2d_s8_params_t *")
        p.g = {"batch": bn, "in_h": h, "in_w": w, "in_c": c, "out_h": oh, "out_w": ow, "out_c": co,
               "k_h": kh, "k_w": kw, "stride_h": a["strides"][0], "stride_w": a["strides"][1],
               "dil_h": a["dilations"][0], "dil_w": a["dilations"][1], "pad_top": a["pads"][0],
               "pad_left": a["pads"][1], "groups": a["groups"]}
        return p

    wide = whole = live = 0
    for case in CASES:
        for node in case.graph.nodes:
            if node.op != "streamed_block":
                continue
            expand, dw, project, add, chain = _block_parts(node)
            g = _chain_graph(case.graph, chain)
            keep = [conv(dw, g), conv(project, g)]
            b = harness.ffi.new("tte_block_s8_params_t *")
            b.dw, b.project = keep
            if expand is not None:
                keep.append(conv(expand, g))
                b.expand = keep[-1]
            if add is not None:
                keep.append(harness.ffi.new("tte_add_s8_params_t *"))
                b.add = keep[-1]
            b.dw_pad = int(dw_pad_given(node, case.graph))
            b.dw_all = int(dw_all_given(node, case.graph))
            if pw_prepared(node, case.graph) is not None:
                # the size reads only whether P has its layout, as the emitted block's pw_prep says
                keep.append(harness.ffi.new("uint32_t[1]"))
                b.pw_prep = keep[-1]
            if dw_live_prepared(node, case.graph) is not None:
                # a layout of biases 0: the widened rows' blocks hold the live biases too (the
                # size reads only dw3_live's bytes, tte_conv2d_s8_dw3_wide_live's)
                keep.append(harness.ffi.new("tte_dw3_wide_ops_t *"))
                keep[-1].bytes = harness.lib.tte_conv2d_s8_dw3_wide_b_bytes
                b.dw3_live = keep[-1]
                live += 1
            assert harness.lib.tte_block_s8_scratch_bytes(b) == block_scratch_bytes(node, case.graph), case.name
            wide += bool(b.dw_pad and expand is not None and dw3_wide_bytes(dw, g))
            whole += b.dw_all
    assert wide >= 20   # blocks given the widened rows among them
    assert whole >= 20  # and blocks given D's whole image
    assert live >= 20   # and blocks whose widened rows add a live depthwise bias
