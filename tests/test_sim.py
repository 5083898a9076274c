"""Host C (generated code + csrc kernels, through cffi) against tte.reference.

* int8 forward: bit for bit.
* 100 int8 training steps (stochastic rounding): trained weights identical to the
  reference's, or within TOLERANCE: the backward pass is float32 and C sums in a
  different order than numpy, so an update that lands within float rounding of an integer
  boundary can round the other way (one int8 step), and later steps then see slightly
  different weights. The test enforces the bound below and reports the measured counts.
"""

from __future__ import annotations

import numpy as np
from models import example_int8, mbv2_int8

from tte.compiler.analysis import analyze
from tte.compiler.codegen import generate
from tte.ir import Graph
from tte.reference import execute
from tte.targets.sim import Simulator
from tte.training.data import fashion_mnist

# at most this fraction of trained int8 weights may differ, each by at most MAX_STEP_DIFF
MISMATCH_FRACTION = 0.01
MAX_STEP_DIFF = 2
BIAS_RELATIVE = 0.01  # int32 bias: |diff| <= 1% of the bias's range






def _sim(graph: Graph, scheme: str, name: str) -> Simulator:
    a = analyze(graph, scheme=scheme, budget_bytes=1 << 40, lr=0.05, rounding="stochastic", seed=0)
    return Simulator(a, generate(a, name), name)


def _inputs(graph: Graph, n: int, seed: int) -> list[np.ndarray]:
    shape = graph.tensors[graph.inputs[0]].shape
    rng = np.random.default_rng(seed)
    return [rng.integers(-128, 128, shape).astype(np.int8) for _ in range(n)]


def _fmnist_inputs(graph: Graph, n: int) -> tuple[list[np.ndarray], list[int]]:
    from tte.reference.boundary import quantize_array
    xs, ys = fashion_mnist("train")
    t = graph.tensors[graph.inputs[0]]
    assert t.quant is not None
    rng = np.random.default_rng(7)
    idx = rng.permutation(len(xs))[:n]
    out = []
    for i in idx:
        x = np.transpose(xs[i:i + 1], (0, 2, 3, 1)) if t.source_perm else xs[i:i + 1]
        out.append(quantize_array(x.astype(np.float32).reshape(t.shape), t.quant))
    return out, [int(ys[i]) for i in idx]


def test_forward_is_bit_exact_on_the_example() -> None:
    g = example_int8()
    sim = _sim(g, "last-k:2", "fm_fwd")
    xs, _ = _fmnist_inputs(g, 20)
    for x in xs + _inputs(g, 5, 1):
        want = execute(g, {g.inputs[0]: x})[g.outputs[0]]
        np.testing.assert_array_equal(sim.infer(x), want)


def test_input_written_into_the_arena_gives_the_same_results() -> None:
    """tte_input_buffer(): the caller writes the image into the arena and passes NULL."""
    g = example_int8()
    xs, ys = _fmnist_inputs(g, 3)
    sim = _sim(g, "last-k:2", "fm_inbuf")
    lib, ffi = sim.lib, sim.ffi
    start = sim.weights()
    want_out, want_loss = [], []
    for x, y in zip(xs, ys):
        want_out.append(sim.infer(x))
        want_loss.append(sim.train_step(x, y))
    want_crc = sim.crc32()
    lib.tte_init()                      # step counter back to 0
    sim.set_weights(start)
    for x, y, w_out, w_loss in zip(xs, ys, want_out, want_loss):
        raw = np.ascontiguousarray(x, np.int8).tobytes()
        ffi.memmove(lib.tte_input_buffer(), raw, len(raw))
        out = np.zeros(w_out.size, np.int8)
        lib.tte_infer(ffi.NULL, ffi.from_buffer("int8_t[]", out))
        np.testing.assert_array_equal(out.reshape(w_out.shape), w_out)
        ffi.memmove(lib.tte_input_buffer(), raw, len(raw))
        assert lib.tte_train_step(ffi.NULL, int(y)) == w_loss
    sim._release()
    assert sim.crc32() == want_crc


def _train_both(graph: Graph, scheme: str, xs: list[np.ndarray], ys: list[int], name: str
                ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], list[float], list[float]]:
    sim = _sim(graph, scheme, name)
    tg = sim.analysis.training
    ref = tg.graph.copy()
    c_loss, r_loss = [], []
    for k, (x, y) in enumerate(zip(xs, ys)):
        c_loss.append(sim.train_step(x, y))
        feeds = {ref.inputs[0]: x, tg.label: np.array([y], np.int32)}
        if "step" in ref.inputs:
            feeds["step"] = np.array([k], np.int32)
        out = execute(ref, feeds)
        r_loss.append(float(out[tg.loss]))
        for p, u in tg.updates.items():
            ref.tensors[p].data = out[u]
    return sim.weights(), {p: ref.tensors[p].data for p in tg.updates}, c_loss, r_loss


def _assert_within_tolerance(c: dict[str, np.ndarray], r: dict[str, np.ndarray]) -> dict[str, int]:
    counts = {}
    total = differing = 0
    for p in r:
        d = np.abs(c[p].astype(np.int64) - r[p].astype(np.int64))
        counts[p] = int((d > 0).sum())
        if r[p].dtype == np.int8:
            total += d.size
            differing += int((d > 0).sum())
            assert d.max() <= MAX_STEP_DIFF, (p, int(d.max()))
        else:
            span = max(int(np.abs(r[p].astype(np.int64)).max()), 1)
            assert d.max() <= BIAS_RELATIVE * span, (p, int(d.max()), span)
    assert differing <= MISMATCH_FRACTION * total, (differing, total)
    return counts


def test_100_training_steps_on_the_example_match_the_reference() -> None:
    g = example_int8()
    xs, ys = _fmnist_inputs(g, 100)
    c, r, c_loss, r_loss = _train_both(g, "last-k:2", xs, ys, "fm_train")
    assert any(not np.array_equal(r[p], g.tensors[p].data) for p in r)
    _assert_within_tolerance(c, r)
    np.testing.assert_allclose(c_loss[:5], r_loss[:5], rtol=1e-4, atol=1e-5)


def test_training_steps_on_mbv2_with_a_paper_scheme_match_the_reference() -> None:
    """Fewer steps (10) on MobileNetV2-w0.35 at 128x128 to keep CI time reasonable."""
    g = mbv2_int8()
    scheme = "paper:mbv2-w0.35:49kb"
    xs = _inputs(g, 10, 3)
    ys = [int(v) for v in np.random.default_rng(3).integers(0, 10, 10)]
    c, r, _, _ = _train_both(g, scheme, xs, ys, "mbv2_train")
    assert any(not np.array_equal(r[p], g.tensors[p].data) for p in r)
    sim_fwd = _sim(g, scheme, "mbv2_train")
    for x in xs[:2]:
        np.testing.assert_array_equal(sim_fwd.infer(x), execute(g, {g.inputs[0]: x})[g.outputs[0]])
    _assert_within_tolerance(c, r)



def test_split_weights_keep_checkpoints_and_crc_whole() -> None:
    """A paper scheme's partially trained 1x1 convs are split (tte.compiler.split): the frozen input
    channels are const arrays, the trained ones SRAM arrays; tte_get_weights and
    tte_trainable_crc32 still cover the whole tensors in plan order (what Trainer's
    weights_crc32 computes), and tte_set_weights writes the trained channels only."""
    import re
    import zlib

    from tte.compiler.split import split_weights

    g = mbv2_int8()
    sim = _sim(g, "paper:mbv2-w0.35:49kb", "mbv2_train")
    a = sim.analysis
    splits = split_weights(a.training, (a.scheduled.graph, a.inference.graph))
    assert splits and set(splits) == set(a.report["split_weights"])
    src = sim.sources["mbv2_train.c"]
    for p, sp in splits.items():
        arr = "tte_p_" + re.sub(r"[^0-9a-zA-Z_]", "_", p).strip("_")[:48]
        assert f"static const int8_t {arr}_frz[" in src and f"static int8_t {arr}_upd[{sp.sram_bytes}]" in src
        assert f"static const tte_split_s8_t {arr} = " in src
    whole = sum(a.forward.tensors[p].nbytes for p in a.training.updates)
    assert a.report["trainable_checkpoint_bytes"] == whole
    assert a.report["trainable_bytes"] == whole - sum(
        a.forward.tensors[p].nbytes - sp.sram_bytes for p, sp in splits.items())
    sim.train_step(_inputs(g, 1, 5)[0], 3)
    w = sim.weights()
    data = b"".join(np.ascontiguousarray(w[p]).tobytes() for p in a.training.updates)
    assert sim.crc32() == zlib.crc32(data) & 0xFFFFFFFF
    # set: the trained channels take the new values, the frozen ones stay
    p, sp = next(iter(splits.items()))
    changed = {**w, p: (w[p].astype(np.int16) // 2).astype(np.int8)}
    sim.set_weights(changed)
    got = sim.weights()[p]
    np.testing.assert_array_equal(got[..., list(sp.sel)], changed[p][..., list(sp.sel)])
    np.testing.assert_array_equal(got[..., list(sp.frz)], w[p][..., list(sp.frz)])
    # the ranges the firmware streams checkpoints through give the same bytes, in any chunking
    whole_len = len(sim._read())
    buf = sim.ffi.new("uint8_t[]", whole_len)
    for off in range(0, whole_len, 77):
        n = min(77, whole_len - off)
        sim.lib.tte_get_weights_range(buf + off, off, n)
    assert bytes(sim.ffi.buffer(buf, whole_len)) == sim._read()
    back = (np.frombuffer(sim._read(), np.int8).astype(np.int16) - 3).clip(-127, 127).astype(np.int8).tobytes()
    for off in range(0, whole_len, 100):
        n = min(100, whole_len - off)
        sim.lib.tte_set_weights_range(sim.ffi.from_buffer(back[off:off + n]), off, n)
    ranged = sim._read()
    sim.lib.tte_set_weights(sim.ffi.from_buffer(back))
    assert sim._read() == ranged != back   # frozen channels of split weights are not set
