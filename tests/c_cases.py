"""Seeded single-op graphs for the C kernel tests, and the harness that runs them in C.

Each case is a tiny IR graph (usually one node) with its feeds. The harness emits every
case through ``tte.compiler.emit.EMITTERS`` (so emitters and kernels are tested together, the
way ``tte.compiler.codegen`` uses them) into one C file, builds it with ``tte.targets.cbuild`` together with
csrc/, and runs each case on numpy buffers. The oracle is ``tte.reference.execute``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from dataclasses import replace as dataclasses_replace
from typing import Any

import numpy as np

from tte.compiler.emit import EMITTERS
from tte.compiler.emit.conv import FC_PREPARED_META, PW_BUFFER8_META, PW_BUFFER_META, fc_layout
from tte.compiler.split import SplitWeight
from tte.ir import Graph, QuantParams, Tensor
from tte.reference.grad_ops import conv2d_grad_weight, uniform_hash
from tte.targets import cbuild

CTYPE = {"int8": "int8_t", "int32": "int32_t", "float32": "float", "bool": "uint8_t"}
UPDATE_OPS = ("conv2d_weight_update", "fc_weight_update", "bias_update", "sgd_update")


@dataclass
class Case:
    name: str
    graph: Graph
    feeds: dict[str, np.ndarray]
    kind: str = "exact"               # exact | float | update
    delta: np.ndarray | None = None   # updates: the float64 step in integer units (for boundaries)
    u: np.ndarray | None = None       # stochastic rounding: the uniform numbers
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # a conv's or an add's kernel scratch (tte.compiler.emit.SCRATCH): a buffer of its own,
        # garbage on entry like every output buffer, of exactly the planned size
        from tte.compiler.emit import SCRATCH
        for n in self.graph.nodes:
            nbytes = SCRATCH[n.op](n, self.graph) if n.op in ("conv2d", "add") else 0
            if nbytes and f"{n.name}@scratch" not in self.graph.tensors:
                self.graph.add_tensor(Tensor(f"{n.name}@scratch", (nbytes,), "int8"))


def q(scale: float | np.ndarray, zp: int | np.ndarray = 0, axis: int | None = None) -> QuantParams:
    return QuantParams(np.asarray(scale, np.float32), np.asarray(zp), axis)


def rand_q(rng: np.random.Generator, zp_range: int = 40) -> QuantParams:
    return q(float(np.exp(rng.uniform(np.log(2e-3), np.log(0.3)))), int(rng.integers(-zp_range, zp_range + 1)))


def rand_s8(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(-128, 128, shape).astype(np.int8)


def new_graph(inputs: dict[str, tuple[tuple[int, ...], str, QuantParams | None]]) -> Graph:
    g = Graph("case")
    for name, (shape, dtype, quant) in inputs.items():
        g.add_tensor(Tensor(name, shape, dtype, quant=quant))
    g.inputs = list(inputs)
    return g


def random_feeds(g: Graph, rng: np.random.Generator) -> dict[str, np.ndarray]:
    feeds: dict[str, np.ndarray] = {}
    for name in g.inputs:
        t = g.tensors[name]
        if t.dtype == "int8":
            feeds[name] = rand_s8(rng, t.shape)
        elif t.dtype == "float32":
            feeds[name] = rng.standard_normal(t.shape).astype(np.float32)
        elif t.dtype == "bool":
            feeds[name] = rng.random(t.shape) < 0.6
        elif t.dtype == "int32":
            feeds[name] = rng.integers(0, 100000, t.shape).astype(np.int32)
        else:
            raise ValueError(f"no random feed for {t.dtype}")
    return feeds


# --------------------------------------------------------------------------------------
# the C harness


def _buffers(g: Graph) -> dict[str, int]:
    """Tensor -> buffer index; an update writes into its parameter's buffer (in place)."""
    index: dict[str, int] = {}
    for name in g.tensors:
        index[name] = len(index)
    for n in g.nodes:
        if n.op in UPDATE_OPS:
            index[n.outputs[0]] = index[n.inputs[0]]
    for out, src in g.meta.get("alias", {}).items():   # in-place kernels (tte.compiler.schedule.choose_inplace)
        index[out] = index[src]
    for out, (src, _) in g.meta.get(BELOW, {}).items():
        index[out] = index[src]
    return index


# an output that starts a distance below its input in one buffer (the memory planner's allowed
# overlaps, tte.compiler.memory): {output: (input, distance)}; the buffer holds distance bytes
# of garbage, then the input, and the output is read from its start
BELOW = "below"


def below_offsets(g: Graph) -> dict[str, int]:
    """Tensor -> its byte offset in its buffer (the inputs that an output starts below)."""
    return {src: d for src, d in g.meta.get(BELOW, {}).values()}


def slot_bytes(g: Graph, name: str, data: bytes, garbage: bytes) -> bytes:
    """A buffer's initial bytes from its first tensor's: the distance's garbage in front of an
    input that an output starts below, and garbage up to the output's end."""
    d = below_offsets(g).get(name, 0)
    outs = [o for o, (src, _) in g.meta.get(BELOW, {}).items() if src == name]
    most = max([d + len(data), *(g.tensors[o].nbytes for o in outs)])
    return garbage[:d] + data + garbage[d:d + most - d - len(data)]


def emit_cases(cases: list[Case]) -> tuple[str, str]:
    """(C source, cdef) with one function ``tte_case_<i>(void **b)`` per case."""
    decls: list[str] = ['#include "tte/kernels.h"']
    declared: set[str] = set()
    funcs: list[str] = []
    cdef: list[str] = []
    for i, case in enumerate(cases):
        g = case.graph
        index = _buffers(g)

        def plain(name: str, g: Graph = g, index: dict[str, int] = index) -> str:
            at = below_offsets(g).get(name, 0)
            base = f"b[{index[name]}]" if not at else f"((uint8_t *)b[{index[name]}] + {at})"
            return f"(({CTYPE[g.tensors[name].dtype]} *){base})"

        body: list[str] = []
        ref = _SplitRef(plain)
        for j, (param, sel) in enumerate(case.extra.get("split", {}).items()):
            sp = SplitWeight(param, g.tensors[param].shape, tuple(sel))
            nm = f"c{i}_s{j}"
            for key, vals in (("sel", sp.sel), ("fidx", sp.frz), ("where", sp.where)):
                decls.append(f"static const int32_t {nm}_{key}[{max(len(vals), 1)}] = "
                             f"{{{', '.join(str(v) for v in vals) or '0'}}};")
            body.append(f"tte_split_s8_t {nm} = {{{sp.rows}, {sp.in_c}, {len(sp.sel)}, {nm}_sel, {nm}_fidx, "
                        f"{nm}_where, (int8_t *)b[{index[param + '@upd']}], "
                        f"(const int8_t *)b[{index[param + '@frz']}]}};")
            ref.split[param] = f"(&{nm})"
        for k, node in enumerate(g.nodes):
            em = EMITTERS[node.op](node, g, ref, f"c{i}_n{k}")
            decls += [d for d in em.decls if d not in declared]   # shared compile-time weight layouts once
            declared.update(em.decls)
            body += em.call
        funcs.append(f"void tte_case_{i}(void **b)\n{{\n    " + "\n    ".join(body or ["(void)b;"]) + "\n}")
        cdef.append(f"void tte_case_{i}(void **b);")
    return "\n".join(decls) + "\n\n" + "\n\n".join(funcs) + "\n", "\n".join(cdef)


class _SplitRef:
    """A Ref that marks split weights (tte.compiler.emit.split_ref)."""

    def __init__(self, fn: Callable[[str], str]) -> None:
        self.fn = fn
        self.split: dict[str, str] = {}
        self.constant_refs = False   # its buffers come at run time (b[i]): no static initializer takes them

    def __call__(self, name: str) -> str:
        return self.fn(name)


def with_split(case: Case, param: str, sel: tuple[int, ...]) -> Case:
    """The case with ``param`` (int8 [Cout, kh, kw, Cin]) split (tte.compiler.split): the kernels read
    ``param@upd`` (trained channels ``sel``) and ``param@frz``; the harness reassembles the
    whole weight into ``param``'s buffer after the call."""
    g = case.graph
    t = g.tensors[param]
    assert t.data is not None
    upd, frz = SplitWeight(param, t.shape, sel).parts(t.data)
    for sfx, arr in (("@upd", upd), ("@frz", frz)):
        g.add_tensor(Tensor(param + sfx, arr.shape, "int8"))
        g.inputs.append(param + sfx)
        case.feeds[param + sfx] = arr
    case.extra["split"] = {**case.extra.get("split", {}), param: sel}
    case.name += "_split"
    return case


class Harness:
    def __init__(self, cases: list[Case], tmp_dir: Any, sanitize: bool = False) -> None:
        src, cdef = emit_cases(cases)
        path = cbuild.BUILD / "test_cases"
        path.mkdir(parents=True, exist_ok=True)
        import hashlib
        f = path / f"cases_{hashlib.sha256(src.encode()).hexdigest()[:16]}.c"
        if not f.exists():
            tmp = f.with_suffix(f".{id(self)}.tmp")
            tmp.write_text(src)
            tmp.replace(f)
        self.ffi, self.lib = cbuild.load([f], extra_cdef=cdef, sanitize=sanitize, name="tte_cases")
        self.cases = cases

    def run(self, i: int) -> dict[str, np.ndarray]:
        """Run case i in C; return every tensor's buffer after the call (bool unpacked)."""
        case = self.cases[i]
        g = case.graph
        index = _buffers(g)
        arrays: dict[int, np.ndarray] = {}
        rng = np.random.default_rng(1234 + i)
        for name, t in g.tensors.items():
            slot = index[name]
            if slot in arrays:
                continue
            src = case.feeds.get(name, t.data)
            if t.dtype == "bool":
                n = (t.size + 7) // 8
                if src is not None:
                    arr = np.packbits(np.asarray(src, bool).ravel(), bitorder="little")
                else:
                    arr = rng.integers(0, 256, n).astype(np.uint8)   # garbage: kernels must overwrite
            elif src is not None:
                arr = np.ascontiguousarray(np.array(src, dtype=t.dtype).reshape(t.shape))
            else:
                # output buffers start as garbage, so a kernel that skips elements is caught
                arr = (rng.integers(-128, 128, t.shape).astype(t.dtype) if t.dtype != "float32"
                       else np.full(t.shape, np.nan, np.float32))
                if not t.shape:
                    arr = np.ascontiguousarray(arr.reshape(1))
            # an in-place kernel whose output is larger than its input (a 1x1 conv's input
            # gradient with Cin > Cout) shares a buffer sized for the larger
            most = max(g.tensors[k].size for k, v in index.items() if v == slot)
            if t.dtype == "float32" and most > arr.size:
                arr = np.concatenate([arr.ravel(), np.full(most - arr.size, np.nan, np.float32)])
            if name in below_offsets(g):
                garbage = rng.integers(0, 256, below_offsets(g)[name] + max(t.nbytes for t in g.tensors.values()))
                arr = np.frombuffer(slot_bytes(g, name, arr.tobytes(), garbage.astype(np.uint8).tobytes()), np.uint8)
            arrays[slot] = np.ascontiguousarray(arr)
        ptrs = self.ffi.new("void *[]", max(len(index), 1))
        for slot, arr in arrays.items():
            ptrs[slot] = self.ffi.cast("void *", arr.ctypes.data)
        getattr(self.lib, f"tte_case_{i}")(ptrs)
        for param, sel in case.extra.get("split", {}).items():
            # the whole weight (and its in-place update) from the two parts
            sp = SplitWeight(param, g.tensors[param].shape, tuple(sel))
            whole = np.empty((sp.rows, sp.in_c), np.int8)
            whole[:, list(sp.sel)] = arrays[index[param + "@upd"]].reshape(sp.rows, -1)
            whole[:, list(sp.frz)] = arrays[index[param + "@frz"]].reshape(sp.rows, -1)
            arrays[index[param]][...] = whole.reshape(arrays[index[param]].shape)
        out: dict[str, np.ndarray] = {}
        for name, t in g.tensors.items():
            arr = arrays[index[name]]
            if index[name] in {index[src] for src in below_offsets(g)}:
                at = below_offsets(g).get(name, 0)
                arr = arr.view(np.uint8)[at:at + t.nbytes].view(t.dtype)
            if t.dtype == "bool":
                arr = np.unpackbits(arr, bitorder="little")[:t.size].astype(bool).reshape(t.shape)
            if t.dtype != "bool" and arr.size != t.size:
                arr = arr.ravel()[:t.size]
            out[name] = arr.reshape(t.shape) if t.shape else arr.reshape(())
        return out


# --------------------------------------------------------------------------------------
# forward int8 cases


def _conv_case(seed: int, kind: str) -> Case:
    rng = np.random.default_rng(seed)
    n, h, w = 1 if seed % 3 else 2, int(rng.integers(3, 10)), int(rng.integers(3, 10))
    cin = int(rng.integers(1, 6)) * (2 if kind == "grouped" else 1)
    if kind == "depthwise":
        cin = max(cin, 2)
    groups = {"regular": 1, "pointwise": 1, "depthwise": cin, "grouped": 2}[kind]
    cout = groups * int(rng.integers(1, 4))
    k = (1, 1) if kind == "pointwise" else (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    s = (1, 1) if kind == "pointwise" else (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    d = (1, 1) if rng.random() < 0.6 or kind == "pointwise" else (2, 1)
    if (k[0] - 1) * d[0] >= h:
        d = (1, 1)
    pads = (0, 0, 0, 0) if kind == "pointwise" else tuple(int(p) for p in rng.integers(0, 2, 4))
    xq, yq = rand_q(rng), rand_q(rng)
    g = new_graph({"x": ((n, h, w, cin), "int8", xq)})
    ws = np.exp(rng.uniform(np.log(2e-3), np.log(5e-2), cout)).astype(np.float32)
    g.add_const("w", rand_s8(rng, (cout, k[0], k[1], cin // groups)), "int8", q(ws, np.zeros(cout, int), 0))
    ins = ["x", "w"]
    if seed % 4:
        bs = (np.float32(xq.scale[0]) * ws).astype(np.float32)
        g.add_const("b", rng.integers(-3000, 3000, cout).astype(np.int32), "int32", q(bs, np.zeros(cout, int), 0))
        ins.append("b")
    g.add_node("conv2d", ins, "y", {"strides": s, "dilations": d, "pads": pads, "groups": groups,
                                    "activation": ["none", "relu", "relu6"][seed % 3]}, quant=yq)
    g.outputs = ["y"]
    return Case(f"conv2d_{kind}_{seed}", g, random_feeds(g, rng))


# (h, w, k, stride) of the depthwise overlap cases: the whole-image paths of depthwise_s8.c on
# the M7 (3x3 stride 1 through dw3_ring_image up to 18 wide, dw3_groups / dw_row_groups past it;
# 5x5 and 7x7 through dw_whole4 at 4x4, dw_small8 8 wide, dw_small up to 64 pixels, dw_row_groups
# beyond; stride 2; rows as wide as the unstreamed first blocks' rows), the pixel path on the host
DW_OVERLAP_SHAPES = ((8, 8, 3, 1), (4, 4, 3, 1), (6, 18, 3, 1), (5, 20, 3, 1), (3, 24, 3, 1), (4, 4, 5, 1),
                     (8, 8, 5, 1), (6, 10, 5, 1), (9, 12, 5, 1), (4, 4, 7, 1), (8, 8, 7, 1), (10, 9, 7, 1),
                     (16, 16, 3, 2), (9, 24, 3, 2), (8, 8, 5, 2), (12, 12, 5, 2), (8, 8, 7, 2), (14, 14, 7, 2),
                     (10, 64, 3, 1), (12, 64, 3, 2), (6, 40, 5, 1), (9, 36, 7, 2))


def _depthwise_consts(rng: np.random.Generator, seed: int, h: int, w: int, k: int, c: int) -> tuple[Graph, Any]:
    """A graph with the int8 input x (1, h, w, c) and a k x k depthwise's weights w and biases b,
    and the output's quantization: odd seeds the paper-like output stage (the assembly's fast
    stage), even ones random scales."""
    if seed % 2:
        xq, yq = q(0.02, int(rng.integers(-128, -100))), q(0.025, -128)
        ws = np.exp(rng.uniform(np.log(5e-3), np.log(2e-2), c)).astype(np.float32)
        bias = rng.integers(-300, 300, c)
    else:
        xq, yq = rand_q(rng), rand_q(rng)
        ws = np.exp(rng.uniform(np.log(2e-3), np.log(5e-2), c)).astype(np.float32)
        bias = rng.integers(-3000, 3000, c)
    g = new_graph({"x": ((1, h, w, c), "int8", xq)})
    g.add_const("w", rand_s8(rng, (c, k, k, 1)), "int8", q(ws, np.zeros(c, int), 0))
    bs = (np.float32(xq.scale[0]) * ws).astype(np.float32)
    g.add_const("b", bias.astype(np.int32), "int32", q(bs, np.zeros(c, int), 0))
    return g, yq


def _dw_overlap_case(seed: int) -> Case:
    """A depthwise conv whose output starts tte.compiler.fuse.depthwise_overlap's distance below
    its input in one buffer (a further step below for every third), as the memory planner
    may place them: the bytes of the reference on separate buffers. Odd seeds take a paper-like
    output stage (small multipliers, biases near zero: the assembly's fast stage, mode 2), even
    ones random scales."""
    from tte.compiler.fuse import depthwise_overlap

    rng = np.random.default_rng(9100 + seed)
    h, w, k, stride = DW_OVERLAP_SHAPES[(seed // 2) % len(DW_OVERLAP_SHAPES)]
    c = int(rng.choice([8, 12, 16, 20, 48]))
    g, yq = _depthwise_consts(rng, seed, h, w, k, c)
    g.add_node("conv2d", ["x", "w", "b"], "y", {"strides": (stride, stride), "dilations": (1, 1),
                                                "pads": (k // 2,) * 4, "groups": c,
                                                "activation": "relu6" if seed % 2 else ["none", "relu"][seed % 4 // 2]},
               quant=yq)
    g.outputs = ["y"]
    over = depthwise_overlap(g.nodes[0], g)
    assert over is not None
    d, step = over
    g.meta[BELOW] = {"y": ("x", d + (step if seed % 3 == 2 else 0))}
    return Case(f"depthwise_overlap_{seed}_{h}x{w}x{c}_k{k}s{stride}", g, random_feeds(g, rng))


# (h, w, k, stride, c) of the in-place depthwise cases: the paper models' late blocks (4x4 with
# 3x3 and 7x7, 8x8 with 5x5), a stride-2 one, and channel counts whose last pass is short
DW_IN_PLACE_SHAPES = ((4, 4, 7, 1, 24), (4, 4, 3, 1, 20), (8, 8, 5, 1, 12), (8, 8, 3, 2, 16), (5, 7, 3, 1, 36),
                      (4, 4, 5, 1, 52), (2, 2, 3, 1, 8), (6, 6, 7, 2, 28))


def _dw_in_place_case(seed: int) -> Case:
    """A depthwise conv run over its input (tte_conv2d_s8_depthwise_inplace, DW_IN_PLACE_META): its
    output at its input's offset in one buffer, or a channel step below it for every third seed
    (as the planner may place them), on garbage-filled scratch; the reference's bytes. Odd seeds
    take the paper-like output stage (the assembly's fast stage), even ones random scales."""
    from tte.compiler.emit.conv import DW_IN_PLACE_META, dw_in_place_group

    rng = np.random.default_rng(9400 + seed)
    h, w, k, stride, c = DW_IN_PLACE_SHAPES[(seed // 2) % len(DW_IN_PLACE_SHAPES)]
    g, yq = _depthwise_consts(rng, seed, h, w, k, c)
    act = "relu6" if seed % 2 else ["none", "relu"][seed % 4 // 2]
    node = g.add_node("conv2d", ["x", "w", "b"], "y", {"strides": (stride, stride), "dilations": (1, 1),
                                                       "pads": (k // 2,) * 4, "groups": c, "activation": act},
                      quant=yq)
    g.outputs = ["y"]
    assert dw_in_place_group(node, g) % 4 == 0 < dw_in_place_group(node, g)
    g.meta[DW_IN_PLACE_META] = frozenset({node.name})
    g.meta[BELOW] = {"y": ("x", c if seed % 3 == 2 else 0)}
    return Case(f"depthwise_in_place_{seed}_{h}x{w}x{c}_k{k}s{stride}", g, random_feeds(g, rng))


# (h, w, in_c, out_c) of the pixel-by-pixel 1x1 cases: output at the input's offset (out_c at most
# 512: the first pixels' outputs made aside, one to many at a time, out_c up to in_c), or out_c
# bytes below it; the paper models' late projections among them, odd pixel counts and channel
# counts off the word size
PW_BY_PIXEL_SHAPES = ((4, 4, 384, 96), (4, 4, 336, 112), (3, 5, 64, 32), (1, 1, 40, 20), (2, 3, 36, 24),
                      (4, 4, 192, 104), (3, 3, 20, 20), (5, 1, 200, 200), (2, 2, 160, 140), (1, 7, 17, 5),
                      (3, 3, 48, 40))


def _pw_by_pixel_case(seed: int) -> Case:
    """A plain 1x1 conv run pixel by pixel (tte_conv2d_s8_pointwise_by_pixel, PW_BY_PIXEL_META): its
    output starts tte.compiler.emit.conv.pw_by_pixel_distance below its input in one buffer (or
    8 bytes further, or out_c bytes below), with and without a bias; the reference's bytes.
    Odd seeds take a paper-like output stage (the fast stage), even ones random scales."""
    from tte.compiler.emit.conv import PW_BY_PIXEL_META, pw_by_pixel_distance

    rng = np.random.default_rng(9500 + seed)
    h, w, cin, cout = PW_BY_PIXEL_SHAPES[(seed // 2) % len(PW_BY_PIXEL_SHAPES)]
    if seed % 2:
        xq, yq = q(0.02, int(rng.integers(-128, -100))), q(0.05, int(rng.integers(-10, 10)))
        ws = np.exp(rng.uniform(np.log(5e-3), np.log(2e-2), cout)).astype(np.float32)
    else:
        xq, yq = rand_q(rng), rand_q(rng)
        ws = np.exp(rng.uniform(np.log(1e-3), np.log(2e-2), cout)).astype(np.float32)
    g = new_graph({"x": ((1, h, w, cin), "int8", xq)})
    g.add_const("w", rand_s8(rng, (cout, 1, 1, cin)), "int8", q(ws, np.zeros(cout, int), 0))
    ins = ["x", "w"]
    if seed % 5 != 4:
        bs = (np.float32(xq.scale[0]) * ws).astype(np.float32)
        g.add_const("b", rng.integers(-3000, 3000, cout).astype(np.int32), "int32", q(bs, np.zeros(cout, int), 0))
        ins.append("b")
    node = g.add_node("conv2d", ins, "y", {"strides": (1, 1), "dilations": (1, 1), "pads": (0, 0, 0, 0),
                                           "groups": 1, "activation": ["none", "relu", "relu6"][seed % 3]},
                      quant=yq)
    g.outputs = ["y"]
    d = pw_by_pixel_distance(node, g)
    assert d == (0 if cout <= 512 else -(-cout // 8) * 8)
    g.meta[PW_BY_PIXEL_META] = frozenset({node.name})
    # the distance, 8 bytes more, or the output's channels (as where they exceed the stack's buffer)
    g.meta[BELOW] = {"y": ("x", [d, d + 8, -(-cout // 8) * 8][seed % 3])}
    return Case(f"pointwise_by_pixel_{seed}_{h}x{w}x{cin}_to{cout}", g, random_feeds(g, rng))


CHANNELS_SHAPES = ((1, 4, 4, 32, 16), (1, 4, 4, 64, 16), (1, 3, 5, 64, 32), (1, 1, 1, 8, 1), (1, 2, 3, 12, 11),
                   (2, 2, 2, 24, 5))


def _channels_case(seed: int) -> Case:
    """A split weight's trained input channels of x packed for the backward (channels_gather,
    tte.compiler.keep_channels), its output at x's start or 8 bytes below it in one buffer (the
    plan lets it write over x), or given back their shape (channels_scatter, the other channels
    x's zero point); ascending channels, contiguous or not; the reference's bytes."""
    rng = np.random.default_rng(9700 + seed)
    n, h, w, c, k = CHANNELS_SHAPES[(seed // 3) % len(CHANNELS_SHAPES)]
    sel = tuple(range(k)) if seed % 2 else tuple(sorted(int(v) for v in rng.choice(c, k, replace=False)))
    xq = rand_q(rng)
    if seed % 3 < 2:
        g = new_graph({"x": ((n, h, w, c), "int8", xq)})
        g.add_node("channels_gather", ["x"], "y", {"channels": sel}, quant=xq)
        g.meta[BELOW] = {"y": ("x", 8 * (seed % 3))}
        kind = "gather"
    else:
        g = new_graph({"x": ((n, h, w, k), "int8", xq)})
        g.add_node("channels_scatter", ["x"], "y", {"channels": sel, "in_c": c}, quant=xq)
        kind = "scatter"
    g.outputs = ["y"]
    return Case(f"channels_{kind}_{seed}_{n}x{h}x{w}x{c}_{k}", g, random_feeds(g, rng))


def _wide_conv_case(seed: int, kind: str) -> Case:
    """Layer shapes of the paper models (the stem, wide 1x1, depthwise 3/5/7 with interior
    pixels), which take the kernels' specialized paths that the small cases above miss."""
    rng = np.random.default_rng(5000 + seed)
    n = 2 if seed % 4 == 3 else 1
    if kind == "stem":
        h = w = int(rng.integers(9, 17))
        cin, cout, k, s, groups = 3, int(rng.choice([8, 16])), 3, 2, 1
    elif kind == "pointwise":
        h, w = int(rng.integers(2, 9)), int(rng.integers(2, 9))
        cin, cout = int(rng.choice([8, 16, 24, 40])), int(rng.integers(3, 25))
        k, s, groups = 1, 1, 1
    else:
        h, w = int(rng.integers(7, 15)), int(rng.integers(7, 15))
        cin = int(rng.choice([4, 8, 12, 16, 20]))
        cout, k, s, groups = cin, int(rng.choice([3, 5, 7])), int(rng.integers(1, 3)), cin
    pads = (k // 2,) * 4 if kind != "pointwise" else (0, 0, 0, 0)
    xq, yq = rand_q(rng), rand_q(rng)
    g = new_graph({"x": ((n, h, w, cin), "int8", xq)})
    ws = np.exp(rng.uniform(np.log(2e-3), np.log(5e-2), cout)).astype(np.float32)
    g.add_const("w", rand_s8(rng, (cout, k, k, cin // groups)), "int8", q(ws, np.zeros(cout, int), 0))
    bs = (np.float32(xq.scale[0]) * ws).astype(np.float32)
    g.add_const("b", rng.integers(-3000, 3000, cout).astype(np.int32), "int32", q(bs, np.zeros(cout, int), 0))
    g.add_node("conv2d", ["x", "w", "b"], "y", {"strides": (s, s), "dilations": (1, 1), "pads": pads,
                                                "groups": groups, "activation": ["none", "relu", "relu6"][seed % 3]},
               quant=yq)
    g.outputs = ["y"]
    return Case(f"conv2d_wide_{kind}_{seed}", g, random_feeds(g, rng))


def _dw_window_case(seed: int) -> Case:
    """Depthwise 3x3, 5x5 and 7x7 at stride 1 and 2 over images wider than their window, on
    4 to 36 channels (some not a multiple of four), symmetric or one-sided padding: the
    assembly of depthwise_s8.c (the 3x3 interior with its output stage over all of int8, the
    5- and 7-wide interior rows, the border pixels' rows with x - zp)."""
    rng = np.random.default_rng(5600 + seed)
    k, s = (3, 5, 7)[seed % 3], 1 + (seed // 3) % 2
    h, w = int(rng.integers(k + 1, k + 9)), int(rng.integers(k + 1, k + 9))
    cin = int(rng.choice([4, 8, 20, 22, 36]))
    pads = (k // 2,) * 4 if seed % 4 != 3 else (k // 2, k // 2, 0, k // 2 - 1)
    xq = rand_q(rng)
    # an output scale that keeps every multiplier below 1/2 (the fast output stage's range)
    yq = q(float(xq.scale[0]) * 2 * k, int(rng.integers(-40, 41)))
    g = new_graph({"x": ((1, h, w, cin), "int8", xq)})
    ws = np.exp(rng.uniform(np.log(2e-3), np.log(5e-2), cin)).astype(np.float32)
    g.add_const("w", rand_s8(rng, (cin, k, k, 1)), "int8", q(ws, np.zeros(cin, int), 0))
    bs = (np.float32(xq.scale[0]) * ws).astype(np.float32)
    g.add_const("b", rng.integers(-3000, 3000, cin).astype(np.int32), "int32", q(bs, np.zeros(cin, int), 0))
    g.add_node("conv2d", ["x", "w", "b"], "y", {"strides": (s, s), "dilations": (1, 1), "pads": pads,
                                                "groups": cin, "activation": "relu" if seed % 5 == 4 else "none"},
               quant=yq)
    g.outputs = ["y"]
    return Case(f"conv2d_dw_window_{k}x{k}_s{s}_{seed}", g, random_feeds(g, rng))


def _dw_small_case(seed: int) -> Case:
    """A depthwise conv over a whole image of at most 64 pixels with a window up to 7x7 but not
    3x3 (depthwise_s8.c's dw_small: a channel group's image copied once as x - zp, each pixel
    summing only its taps inside the image): the paper models' 8x8 and 4x4 late layers (5x5,
    7x7, stride 1 and 2) and other windows, 1x1 to 8x8 images, paddings symmetric, none,
    one-sided and wide, 4 to 36 channels (some not a multiple of four), one or two images, the
    output stage of mode 2 (some below tte_rq_fast_ok's shifts) and the exact one, with and
    without a bias."""
    rng = np.random.default_rng(9100 + seed)
    kh, kw = ((5, 5), (7, 7), (5, 5), (7, 7), (5, 7), (3, 5), (1, 1), (2, 4))[seed % 8]
    h, w = int(rng.integers(1, 9)), int(rng.integers(1, 9))
    if seed % 6 == 0:
        h = w = 8 if seed % 12 == 0 else 4
    s = ((1, 1), (2, 2), (1, 2))[seed % 3]
    pads = ((kh // 2, kw // 2, kh // 2, kw // 2), (0, 0, 0, 0), (kh // 2, kw // 2, 0, 0),
            (kh - 1, kw - 1, kh - 1, kw - 1), (0, kw // 2, kh // 2, kw - 1))[seed % 5]
    if (h + pads[0] + pads[2] - kh) < 0 or (w + pads[1] + pads[3] - kw) < 0:
        pads = (kh - 1, kw - 1, kh - 1, kw - 1)
    c = (4, 8, 20, 22, 36, 7, 12, 16)[(seed + seed // 8) % 8]
    xq = rand_q(rng)
    g = new_graph({"x": ((2 if seed % 7 == 6 else 1, h, w, c), "int8", xq)})
    ws = np.exp(rng.uniform(np.log(2e-3), np.log(5e-2), c)).astype(np.float32)
    g.add_const("w", rand_s8(rng, (c, kh, kw, 1)), "int8", q(ws, np.zeros(c, int), 0))
    ins = ["x", "w"]
    # every eighth seed with multipliers below 2**-22 (shifts past tte_rq_fast_ok's -21:
    # dw3_fast_exact) and biases near 2**29 that reach the output
    tiny = seed % 8 == 5
    if seed % 5 != 2:
        bs = (np.float32(xq.scale[0]) * ws).astype(np.float32)
        b = rng.integers(-600_000_000, 600_000_000, c) if tiny else rng.integers(-3000, 3000, c)
        g.add_const("b", b.astype(np.int32), "int32", q(bs, np.zeros(c, int), 0))
        ins.append("b")
    # most seeds keep every multiplier below 1/2 (the output stage of mode 2), every fourth not
    ys = float(xq.scale[0]) * (float(ws.max()) * 2 ** 23 if tiny else 0.02 if seed % 4 == 3 else 2 * kh)
    g.add_node("conv2d", ins, "y", {"strides": s, "dilations": (1, 1), "pads": pads, "groups": c,
                                    "activation": "relu" if seed % 5 == 4 else "none"},
               quant=q(ys, int(rng.integers(-40, 41))))
    g.outputs = ["y"]
    return Case(f"conv2d_dw_small_{kh}x{kw}_s{s[0]}{s[1]}_{c}ch_h{h}w{w}_{seed}", g, random_feeds(g, rng))


def _window_conv_case(seed: int) -> Case:
    """Regular convs whose window holds more than 32 values (the DSP path of
    conv_window_s8.c; over 1 or 7 input channels conv_stem_s8.c's GEMM): ResNet-like 3x3 over
    many channels with padding and stride 2, DS-CNN's 10x4 over one channel, dilation, odd
    pixel and channel counts, windows of more than one pass and not a multiple of eight or
    sixteen."""
    rng = np.random.default_rng(5900 + seed)
    n = 2 if seed % 5 == 4 else 1
    kh, kw, cin = [(3, 3, 16), (10, 4, 1), (3, 3, 20), (2, 3, 7), (3, 3, 33), (5, 2, 4)][seed % 6]
    d = (1, 2) if seed in (3, 12) else (1, 1)
    h, w = int(rng.integers(kh, kh + 5)), int(rng.integers(2 * kw, 2 * kw + 5))
    cout = int(rng.integers(1, 24)) if seed % 3 else 64
    s = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    pads = (kh // 2, (kw - 1) // 2, (kh - 1) // 2, kw // 2) if seed % 2 == 0 else (0, 1, 1, 0)
    xq, yq = rand_q(rng), rand_q(rng)
    g = new_graph({"x": ((n, h, w, cin), "int8", xq)})
    ws = np.exp(rng.uniform(np.log(1e-3), np.log(2e-2), cout)).astype(np.float32)
    g.add_const("w", rand_s8(rng, (cout, kh, kw, cin)), "int8", q(ws, np.zeros(cout, int), 0))
    ins = ["x", "w"]
    if seed % 4:
        bs = (np.float32(xq.scale[0]) * ws).astype(np.float32)
        g.add_const("b", rng.integers(-3000, 3000, cout).astype(np.int32), "int32", q(bs, np.zeros(cout, int), 0))
        ins.append("b")
    g.add_node("conv2d", ins, "y", {"strides": s, "dilations": d, "pads": pads, "groups": 1,
                                    "activation": ["none", "relu", "relu6"][seed % 3]}, quant=yq)
    g.outputs = ["y"]
    return Case(f"conv2d_window_{seed}", g, random_feeds(g, rng))


def _window_rows_case(seed: int) -> Case:
    """ResNet-8's 3x3 convs over 32 and 64 channels (conv_window_s8.c's eight-pixel pass whose
    48-value chunks lie inside one row of taps, here half or a quarter of one): stride 1 and 2,
    'same' padding and none, windows in the padding on every side."""
    rng = np.random.default_rng(6100 + seed)
    cin = (32, 64)[seed % 2]
    s = 1 + (seed // 2) % 2
    h, w = int(rng.integers(4, 9)), int(rng.integers(4, 9))
    cout = int(rng.integers(1, 20))
    pads = (1, 1, 1, 1) if seed < 4 else (0, 0, 1, 1)
    xq, yq = rand_q(rng), rand_q(rng)
    g = new_graph({"x": ((1, h, w, cin), "int8", xq)})
    ws = np.exp(rng.uniform(np.log(1e-3), np.log(2e-2), cout)).astype(np.float32)
    g.add_const("w", rand_s8(rng, (cout, 3, 3, cin)), "int8", q(ws, np.zeros(cout, int), 0))
    bs = (np.float32(xq.scale[0]) * ws).astype(np.float32)
    g.add_const("b", rng.integers(-3000, 3000, cout).astype(np.int32), "int32", q(bs, np.zeros(cout, int), 0))
    g.add_node("conv2d", ["x", "w", "b"], "y", {"strides": (s, s), "dilations": (1, 1), "pads": pads, "groups": 1,
                                               "activation": "relu"}, quant=yq)
    g.outputs = ["y"]
    return Case(f"conv2d_window_rows_{seed}", g, random_feeds(g, rng))


def _strided_pointwise_case(seed: int) -> Case:
    """ResNet-8's shortcut: a 1x1 conv of stride 2 over 16 or 32 channels (in the DSP build
    the eight-pixel pass of conv_window_s8.c), odd sizes whose last pixels repeat."""
    rng = np.random.default_rng(6200 + seed)
    cin = (16, 32)[seed % 2]
    h, w = int(rng.integers(3, 12)), int(rng.integers(3, 12))
    cout = int(rng.integers(1, 40))
    xq, yq = rand_q(rng), rand_q(rng)
    g = new_graph({"x": ((1, h, w, cin), "int8", xq)})
    ws = np.exp(rng.uniform(np.log(1e-3), np.log(2e-2), cout)).astype(np.float32)
    g.add_const("w", rand_s8(rng, (cout, 1, 1, cin)), "int8", q(ws, np.zeros(cout, int), 0))
    bs = (np.float32(xq.scale[0]) * ws).astype(np.float32)
    g.add_const("b", rng.integers(-3000, 3000, cout).astype(np.int32), "int32", q(bs, np.zeros(cout, int), 0))
    g.add_node("conv2d", ["x", "w", "b"], "y", {"strides": (2, 2), "dilations": (1, 1), "pads": (0, 0, 0, 0),
                                               "groups": 1, "activation": "none"}, quant=yq)
    g.outputs = ["y"]
    return Case(f"conv2d_strided_pointwise_{seed}", g, random_feeds(g, rng))


def _small_window_case(seed: int) -> Case:
    """Regular convs whose window holds at most 32 values (conv_stem_s8.c: up to eight pixels a
    pass in the DSP build): the RGB stem with stride 1 and 2, windows ending inside a word or not,
    of fewer than 16 values, dilation, pixel counts not a multiple of 8."""
    rng = np.random.default_rng(6300 + seed)
    kh, kw, cin = [(3, 3, 3), (3, 3, 3), (2, 2, 2), (1, 1, 12), (5, 5, 1), (2, 4, 4), (3, 3, 3), (1, 3, 10)][seed]
    d = (2, 2) if seed == 6 else (1, 1)
    s = (1 + seed % 2, 1 + (seed // 2) % 2)
    h, w = int(rng.integers(kh + 2, kh + 12)), int(rng.integers(kw + 2, kw + 12))
    cout = int(rng.integers(1, 40))
    pads = (kh // 2, kw // 2, kh // 2, kw // 2) if seed % 3 else (0, 0, 1, 1)
    xq, yq = rand_q(rng), rand_q(rng)
    g = new_graph({"x": ((1 + seed % 2, h, w, cin), "int8", xq)})
    ws = np.exp(rng.uniform(np.log(1e-3), np.log(2e-2), cout)).astype(np.float32)
    g.add_const("w", rand_s8(rng, (cout, kh, kw, cin)), "int8", q(ws, np.zeros(cout, int), 0))
    bs = (np.float32(xq.scale[0]) * ws).astype(np.float32)
    g.add_const("b", rng.integers(-3000, 3000, cout).astype(np.int32), "int32", q(bs, np.zeros(cout, int), 0))
    g.add_node("conv2d", ["x", "w", "b"], "y", {"strides": s, "dilations": d, "pads": pads, "groups": 1,
                                               "activation": ["none", "relu", "relu6"][seed % 3]}, quant=yq)
    g.outputs = ["y"]
    return Case(f"conv2d_small_window_{seed}", g, random_feeds(g, rng))


def _gemm_case(seed: int) -> Case:
    """Regular convs over one to seven input channels (conv_stem_s8.c's im2col GEMM in the DSP
    build): DS-CNN's 10x4 stride-2 first layer over one channel, RGB windows of 27 to 48 values,
    windows of 3 to 7 values (the last channels' weights from a padded copy), 'same', one-sided
    and no padding, strides 1 to 3, dilation, output rows of 1 to 13 pixels (every pass width),
    out_c not a multiple of 8, batch 2."""
    rng = np.random.default_rng(6400 + seed)
    kh, kw, cin = [(10, 4, 1), (10, 4, 1), (4, 4, 3), (3, 5, 3), (2, 3, 7), (6, 6, 1), (5, 7, 1), (3, 3, 3),
                   (1, 1, 3), (1, 2, 3), (3, 1, 1), (4, 3, 3), (3, 3, 5), (7, 5, 1)][seed]
    d = (2, 1) if seed in (5, 11) else (1, 1)
    s = [(2, 2), (1, 2), (2, 2), (1, 1), (3, 2), (2, 1), (1, 3), (2, 2), (2, 2), (1, 2), (2, 1), (1, 1), (2, 2),
         (2, 2)][seed]
    h = int(rng.integers(kh * d[0], kh * d[0] + 6)) if seed else 49
    w = int(rng.integers(kw, kw + 2 * s[1] * 7)) if seed else 10
    cout = 64 if seed < 2 else int(rng.integers(1, 40))
    pads = [((kh - 1) // 2, (kw - 1) // 2, kh // 2, kw // 2), (0, 0, 0, 0), (kh // 2, 0, 0, kw // 2)][seed % 3]
    xq, yq = rand_q(rng), rand_q(rng)
    g = new_graph({"x": ((1 + seed % 4 // 3, h, w, cin), "int8", xq)})
    ws = np.exp(rng.uniform(np.log(1e-3), np.log(2e-2), cout)).astype(np.float32)
    g.add_const("w", rand_s8(rng, (cout, kh, kw, cin)), "int8", q(ws, np.zeros(cout, int), 0))
    ins = ["x", "w"]
    if seed % 5:
        bs = (np.float32(xq.scale[0]) * ws).astype(np.float32)
        g.add_const("b", rng.integers(-3000, 3000, cout).astype(np.int32), "int32", q(bs, np.zeros(cout, int), 0))
        ins.append("b")
    g.add_node("conv2d", ins, "y", {"strides": s, "dilations": d, "pads": pads, "groups": 1,
                                    "activation": ["none", "relu", "relu6"][seed % 3]}, quant=yq)
    g.outputs = ["y"]
    return Case(f"conv2d_gemm_{seed}", g, random_feeds(g, rng))


def _strip_case(seed: int) -> Case:
    """3x3 convs of stride 1 over 16, 32 and 64 channels and the RGB stem (ResNet-8's stride-1
    convs; conv_strip_s8.c in the DSP build): 'same', no and one-sided padding, rows of 8
    outputs or more, not a multiple of 8 (the last eight overlap), up to 70 output channels,
    two images."""
    rng = np.random.default_rng(6400 + seed)
    cin = (16, 32, 64, 3)[(seed // 2) % 4]
    pads = [(1, 1, 1, 1), (0, 0, 0, 0), (0, 1, 1, 0), (1, 0, 0, 1)][seed % 4]
    h, w = int(rng.integers(3, 7)), int(rng.integers(10 - pads[1] - pads[3], 16))
    cout = {16: int(rng.integers(1, 71)), 3: int(rng.integers(1, 17))}.get(cin, int(rng.integers(1, 36))) \
        if seed % 3 else 16
    xq, yq = rand_q(rng), rand_q(rng)
    g = new_graph({"x": ((1 + seed % 2, h, w, cin), "int8", xq)})
    ws = np.exp(rng.uniform(np.log(1e-3), np.log(2e-2), cout)).astype(np.float32)
    g.add_const("w", rand_s8(rng, (cout, 3, 3, cin)), "int8", q(ws, np.zeros(cout, int), 0))
    ins = ["x", "w"]
    if seed % 5:
        bs = (np.float32(xq.scale[0]) * ws).astype(np.float32)
        g.add_const("b", rng.integers(-3000, 3000, cout).astype(np.int32), "int32", q(bs, np.zeros(cout, int), 0))
        ins.append("b")
    g.add_node("conv2d", ins, "y", {"strides": (1, 1), "dilations": (1, 1), "pads": pads, "groups": 1,
                                    "activation": ["none", "relu", "relu6"][seed % 3]}, quant=yq)
    g.outputs = ["y"]
    return Case(f"conv2d_strip_{seed}", g, random_feeds(g, rng))


def _pointwise_case(name: str, rng: np.random.Generator, shape: tuple[int, int, int, int], cout: int,
                    scales: tuple[float, float], bias: bool, act: int, y_over_x: float | None = None) -> Case:
    """A 1x1 conv over input `shape` (NHWC) with per-channel weight scales drawn log-uniform in
    `scales`, a bias when `bias`, activation none / relu / relu6 by `act`; the output scale
    random, or `y_over_x` times the input's."""
    xq, yq = rand_q(rng), rand_q(rng)
    if y_over_x is not None:
        yq = q(float(xq.scale[0]) * y_over_x, int(yq.zero_point[0]))
    cin = shape[-1]
    g = new_graph({"x": (shape, "int8", xq)})
    ws = np.exp(rng.uniform(np.log(scales[0]), np.log(scales[1]), cout)).astype(np.float32)
    g.add_const("w", rand_s8(rng, (cout, 1, 1, cin)), "int8", q(ws, np.zeros(cout, int), 0))
    ins = ["x", "w"]
    if bias:
        bs = (np.float32(xq.scale[0]) * ws).astype(np.float32)
        g.add_const("b", rng.integers(-3000, 3000, cout).astype(np.int32), "int32", q(bs, np.zeros(cout, int), 0))
        ins.append("b")
    g.add_node("conv2d", ins, "y", {"strides": (1, 1), "dilations": (1, 1), "pads": (0, 0, 0, 0), "groups": 1,
                                    "activation": ["none", "relu", "relu6"][act]}, quant=yq)
    g.outputs = ["y"]
    return Case(name, g, random_feeds(g, rng))


def _small_pointwise_case(seed: int) -> Case:
    """1x1 convs with 4-16 input channels (the expand layers' four-pixel path): every word
    count, with and without a bias, every activation, pixel counts not a multiple of four."""
    rng = np.random.default_rng(5500 + seed)
    n = 2 if seed % 5 == 4 else 1
    h, w = int(rng.integers(1, 6)), int(rng.integers(2, 8))
    cin, cout = (4, 8, 12, 16)[seed % 4], int(rng.integers(3, 30))
    return _pointwise_case(f"conv2d_small_pointwise_{seed}", rng, (n, h, w, cin), cout, (2e-3, 5e-2),
                           bias=seed % 3 != 0, act=(seed // 4) % 3)


def _small_pointwise_run_case(seed: int) -> Case:
    """1x1 convs with 4-24 input channels, a bias, the output stage over all of int8 and at
    least eight pixels (pointwise_s8.c's pw_small_run in assembly): every word count, output
    channels over one or more tables of 16, pixel counts with and without a tail of 1-3."""
    rng = np.random.default_rng(5800 + seed)
    h, w = int(rng.integers(2, 7)), int(rng.integers(4, 9))
    cin, cout = (4, 8, 12, 16, 20, 24)[seed % 6], (3, 16, 17, 33, 48)[seed % 5]
    return _pointwise_case(f"conv2d_small_pointwise_run_{seed}", rng, (1, h, w, cin), cout, (2e-3, 2e-2),
                           bias=True, act=0, y_over_x=4.0)


def _pairs_common_case(seed: int) -> Case:
    """1x1 convs with 32-64 input channels (a multiple of eight), an even number of output
    channels, a bias and the output stage over all of int8: pointwise_s8.c's
    pw_pairs_channels in assembly, over odd and even pixel counts."""
    rng = np.random.default_rng(5750 + seed)
    h, w = int(rng.integers(1, 4)), int(rng.integers(2, 6))
    cin, cout = (32, 40, 48, 64)[seed % 4], 2 * int(rng.integers(1, 21))
    return _pointwise_case(f"conv2d_pairs_common_{seed}", rng, (1, h, w, cin), cout, (1e-3, 1e-2),
                           bias=True, act=0, y_over_x=4.0)


def _quad_pointwise_case(seed: int) -> Case:
    """1x1 convs with 32 input channels, a bias and the output stage over all of int8:
    pointwise_s8.c's four-pixel pass (pw_quad_channels, its buffer on the stack), pixel counts
    with every remainder of four, odd and even output channel counts."""
    rng = np.random.default_rng(5780 + seed)
    h, w = 1 + seed % 3, 4 + seed % 4
    cout = int(rng.integers(1, 41))
    return _pointwise_case(f"conv2d_quad_pointwise_{seed}", rng, (1, h, w, 32), cout, (1e-3, 1e-2),
                           bias=True, act=0, y_over_x=4.0)


def _buffered_pointwise_case(seed: int) -> Case:
    """1x1 convs with 40-336 input channels (multiples of 8 and of 16) given their optional pixel
    buffer (PW_BUFFER_META: tte_conv2d_s8_ws's scratch, garbage on entry), a bias and the output
    stage over all of int8, every other one with shifts below -21 (the wide stage): pointwise_s8.c's
    four-pixel pass over the caller's buffer, pixel counts with every remainder of four, odd and
    even output channel counts."""
    rng = np.random.default_rng(5790 + seed)
    h, w = 1 + seed % 3, 4 + seed % 5
    cin, cout = (40, 48, 56, 144, 192, 336)[seed % 6], int(rng.integers(1, 41))
    if seed % 2:
        xq = rand_q(rng)
        g = new_graph({"x": ((1, h, w, cin), "int8", xq)})
        _add_wide_rq_pointwise(g, rng, "x", "y", cout, "none", sweep=False)
        g.outputs = ["y"]
        feeds = random_feeds(g, rng)
    else:
        c = _pointwise_case("", rng, (1, h, w, cin), cout, (1e-3, 1e-2), bias=True, act=0, y_over_x=4.0)
        g, feeds = c.graph, c.feeds
    g.meta[PW_BUFFER_META] = frozenset(n.name for n in g.nodes if n.op == "conv2d")
    return Case(f"conv2d_buffered_pointwise_{cin}_{seed}", g, feeds)


def _live_bias_pointwise_case(seed: int) -> Case:
    """A standalone 1x1 conv over 40-200 input channels (multiples of 16 and of 8 only) whose
    layout leaves its bias out for a live one (tte.compiler.emit.block.LIVE_BIAS_META,
    pointwise_s8.c's tte_conv2d_s8_pointwise_prep_bias_px), in its pixel buffer: 2-80 output
    channels, 1-23 pixels (every remainder of four; several passes of channels over more than
    3.5 KB of layout), the output stage over all of int8, biases from a few thousand up to the
    layout's bound (live_bias_limit) on every other seed, on every fifth one channel past it
    (the plain kernel over the plain weight)."""
    from tte.compiler.emit.block import LIVE_BIAS_META, PREPARED_META, live_bias_limit, pw_conv_layout

    rng = np.random.default_rng(13300 + seed)
    cin = (40, 48, 56, 64, 72, 96, 128, 144, 200)[seed % 9]
    npx = (1, 2, 3, 4, 5, 6, 7, 9, 14, 23)[seed % 10]
    cout = 2 * int(rng.integers(1, 41))
    case = _pointwise_case("", rng, (1, 1, npx, cin), cout, (1e-3, 1e-2), bias=True, act=0, y_over_x=4.0)
    g = case.graph
    # TFLite's weights in [-127, 127] (no lane below int16)
    w = rng.integers(-127, 128, g.tensors["w"].shape).astype(np.int8)
    g.tensors["w"] = dataclasses_replace(g.tensors["w"], data=w)
    conv = next(n for n in g.nodes if n.op == "conv2d")
    g.meta[PW_BUFFER_META] = frozenset({conv.name})
    g.meta[LIVE_BIAS_META] = frozenset({"b"})
    limit = live_bias_limit(conv, g)
    bias = rng.integers(-3000, 3000, cout)
    if seed % 2:
        bias = rng.integers(-limit, limit + 1, cout)
        bias[::4] = rng.choice([-limit, limit], bias[::4].size)
    if seed % 5 == 4:
        bias[int(rng.integers(0, cout))] = rng.choice([-1, 1]) * (limit + 1)
    g.tensors["b"] = dataclasses_replace(g.tensors["b"], data=bias.astype(np.int32))
    layout = pw_conv_layout(conv, g)
    assert layout is not None, seed
    g.meta[PREPARED_META] = frozenset({layout[0]})
    return Case(f"conv2d_pointwise_live_bias_{cin}x{cout}_{npx}px_{seed}", g, case.feeds)


def _quad_block_case(seed: int) -> Case:
    """A 3x3 depthwise -> 1x1 streamed block over 64-96 channels (its 1x1's buffer in the
    block's scratch), the 1x1's output stage over all of int8: the four-pixel pass
    (pw_quad_channels) with input channel counts a multiple of 16 and of 8 only."""
    rng = np.random.default_rng(7800 + seed)
    c = (72, 64, 88, 96)[seed % 4]
    h, w = int(rng.integers(2, 8)), int(rng.integers(4, 9))
    g = new_graph({"x": ((1, h, w, c), "int8", rand_q(rng))})
    add_random_conv(g, rng, "x", "d", c, 3, 1, (1, 1, 1, 1), c)
    add_random_conv(g, rng, "d", "p", int(rng.integers(1, 41)), 1, 1, (0, 0, 0, 0), 1, act="none")
    g.outputs = ["p"]
    return _streamed_case(f"streamed_block_quad_{c}ch_{seed}", g, rng)


def _pairs_pointwise_case(seed: int) -> Case:
    """1x1 convs with 32-128 input channels (the pixel-pair path of pointwise_s8.c up to 64,
    the 2x2 path above): input channels not a multiple of eight, odd pixel and output channel counts, no bias."""
    rng = np.random.default_rng(5700 + seed)
    h, w = int(rng.integers(1, 4)), int(rng.integers(2, 6))
    cin, cout = (32, 37, 64, 128, 45, 96)[seed % 6], int(rng.integers(1, 20))
    return _pointwise_case(f"conv2d_pairs_pointwise_{seed}", rng, (1, h, w, cin), cout, (1e-3, 2e-2),
                           bias=seed % 3 != 0, act=seed % 3)


def _add_wide_rq_pointwise(g: Graph, rng: np.random.Generator, x: str, y: str, cout: int, act: str,
                           sweep: bool, past: bool = False) -> None:
    """A 1x1 conv y = conv(x) whose requantization shifts mostly lie in [-31, -22] (the wide output
    stage of pointwise_s8.c; tte_rq_fast stops at -21): weights of tiny scale as in the MLPerf
    Tiny VWW model's dead channels, accumulators anywhere in int32. Channel kinds: all-zero
    weights with a bias near 2**30 (that model's), random weights with a bias near the int32
    ends, a single weight +-1 on input channel 0 with the bias at a tie of the double rounding
    (`sweep`: the caller sweeps input channel 0 across it), a few of ordinary scale, and dead ones
    (scale below 2**-31: multiplier 0) with a bias up to the bound the wide stage takes them to,
    or one past it on `past` (then the exact output stage)."""
    from tte.numerics import fixedpoint as fp

    xq = g.tensors[x].quant
    assert xq is not None
    cin = g.tensors[x].shape[-1]
    xs = float(xq.scale[0])
    yq = q(xs * float(rng.uniform(0.5, 2.0)), int(rng.integers(-40, 41)))
    ys = float(yq.scale[0])
    kinds = rng.choice(["zero", "ends", "tie", "plain", "dead"], cout, p=[0.2, 0.2, 0.35, 0.1, 0.15])
    if not sweep:
        kinds[kinds == "tie"] = "ends"
    shifts = rng.integers(-31, -21, cout)
    ws = (rng.uniform(0.5, 1.0, cout) * np.exp2(shifts.astype(np.float64)) * ys / xs).astype(np.float32)
    ws[kinds == "plain"] = np.exp(rng.uniform(np.log(1e-3), np.log(2e-2), int((kinds == "plain").sum())))
    ws[kinds == "dead"] = np.float32(2.0 ** -34 * ys / xs)
    reals = np.float64(np.float32(xs)) * ws.astype(np.float64) / np.float64(np.float32(ys))
    mult, shift = fp.quantize_multipliers(reals)
    w = rand_s8(rng, (cout, 1, 1, cin))
    b = np.zeros(cout, np.int64)
    room = (1 << 31) - 2 - cin * 255 * 128
    for oc, kind in enumerate(kinds):
        if kind == "dead":
            assert mult[oc] == 0, (mult[oc], shift[oc])
            if rng.random() < 0.5:
                w[oc] = 0
                b[oc] = int(rng.integers(-300, 300)) + (1 << 30) * int(rng.choice([-1, 1]))
            else:
                b[oc] = int(rng.choice([-1, 1])) * int(room - rng.integers(0, 2) * rng.integers(0, 1 << 20))
        if kind == "zero":
            w[oc] = 0
            b[oc] = int(rng.integers(-300, 300)) + (1 << 30) * int(rng.choice([-1, 1]))
        elif kind == "ends":
            b[oc] = int(rng.choice([-1, 1])) * int(room - rng.integers(0, 1 << 16))
        elif kind == "tie":
            # q = srdhm(acc, mult) at (j + 1/2) 2**e: acc near (j + 1/2) 2**(e + 31) / mult
            e, m = -int(shift[oc]), int(mult[oc])
            jmax = max(int(((1 << 31) - 600) * m / float(1 << (e + 31)) - 0.5), 0)
            j = int(rng.integers(-jmax - 1, jmax + 1))
            w[oc] = 0
            w[oc, 0, 0, 0] = int(rng.choice([-1, 1]))
            b[oc] = round((j + 0.5) * float(1 << (e + 31)) / m)
    if past:
        kinds[0] = "dead"
        ws[0] = np.float32(2.0 ** -34 * ys / xs)
        b[0] = room + 1
    bs = (np.float32(xs) * ws).astype(np.float32)
    g.add_const(f"{y}.w", w, "int8", q(ws, np.zeros(cout, int), 0))
    g.add_const(f"{y}.b", b.astype(np.int32), "int32", q(bs, np.zeros(cout, int), 0))
    g.add_node("conv2d", [x, f"{y}.w", f"{y}.b"], y, {"strides": (1, 1), "dilations": (1, 1), "pads": (0, 0, 0, 0),
                                                     "groups": 1, "activation": act}, quant=yq)


def _wide_rq_pointwise_case(seed: int) -> Case:
    """1x1 convs with shifts below -21 on every 1x1 path: few input channels (four pixels at a
    time), 20-24 (two channels x two pixels), 32-64 (pixel pairs, the assembly output stage with
    an even out_c and the clamp range all of int8), odd pixel counts (one pixel); input channel 0
    sweeps the ties of the double rounding."""
    rng = np.random.default_rng(9100 + seed)
    cin = (4, 8, 16, 20, 32, 64, 37, 24, 12, 64, 32, 96)[seed % 12]
    h, w = int(rng.integers(2, 5)), int(rng.integers(3, 8))
    cout = int(rng.integers(2, 12)) * 2 + (seed % 3 == 2)
    act = ("none", "relu", "none", "relu6")[seed % 4]
    xq = rand_q(rng)
    g = new_graph({"x": ((1, h, w, cin), "int8", xq)})
    _add_wide_rq_pointwise(g, rng, "x", "y", cout, act, sweep=True, past=seed % 12 == 11)
    g.outputs = ["y"]
    feeds = random_feeds(g, rng)
    zp = int(np.asarray(xq.zero_point).ravel()[0])
    # consecutive accumulators across the pixels for the tie channels
    feeds["x"][..., 0] = np.clip(zp + np.arange(h * w) - (h * w) // 2, -128, 127).reshape(1, h, w)
    return Case(f"conv2d_wide_rq_pointwise_{cin}_{seed}", g, feeds)


def _wide_rq_block_case(seed: int) -> Case:
    """A MobileNetV1 block (3x3 depthwise -> 1x1) whose 1x1 has shifts below -21, streamed: over
    64 input channels its pixel-pair buffer in the block's scratch, four pixels per pass."""
    rng = np.random.default_rng(9300 + seed)
    c = (64, 128, 96, 128)[seed % 4]
    h, w = int(rng.integers(3, 7)), int(rng.integers(3, 7))
    g = new_graph({"x": ((1, h, w, c), "int8", rand_q(rng))})
    add_random_conv(g, rng, "x", "d", c, 3, 1, (1, 1, 1, 1), c, act="relu")
    _add_wide_rq_pointwise(g, rng, "d", "p", (16, 64, 33, 80)[seed % 4], ("none", "none", "relu", "relu")[seed % 4],
                           sweep=False)
    g.outputs = ["p"]
    return _streamed_case(f"streamed_block_wide_rq_{c}ch_{seed}", g, rng)


def _wide_rq_quad_case(seed: int) -> Case:
    """1x1 convs with 32 input channels and shifts below -21 (dead channels of multiplier 0,
    biases near the int32 ends and the wide stage's bound, ties of the double rounding), the
    clamp range all of int8: pointwise_s8.c's four-pixel pass with the wide output stage
    (pw_quad_channels_wide, its buffer on the stack), pixel counts with every remainder of four,
    odd and even output channel counts."""
    rng = np.random.default_rng(9400 + seed)
    h, w = 1 + seed % 2, 4 + seed % 7
    cout = int(rng.integers(1, 24)) * 2 + seed % 2
    xq = rand_q(rng)
    g = new_graph({"x": ((1, h, w, 32), "int8", xq)})
    _add_wide_rq_pointwise(g, rng, "x", "y", cout, "none", sweep=True)
    g.outputs = ["y"]
    feeds = random_feeds(g, rng)
    zp = int(np.asarray(xq.zero_point).ravel()[0])
    feeds["x"][..., 0] = np.clip(zp + np.arange(h * w) - (h * w) // 2, -128, 127).reshape(1, h, w)
    return Case(f"conv2d_wide_rq_quad_{seed}", g, feeds)


def _wide_rq_quad_block_case(seed: int) -> Case:
    """A 3x3 depthwise -> 1x1 streamed block whose 1x1 (40-128 input channels, multiples of 8
    and of 16) has shifts below -21 and the clamp range all of int8: the four-pixel pass with the
    wide output stage over the block's buffer, the chunks' last pixels in pairs and one by one
    (as many output channels as input ones, about, so that the chunks reach four pixels)."""
    rng = np.random.default_rng(9500 + seed)
    c = (40, 48, 64, 128, 56, 96)[seed % 6]
    h, w = int(rng.integers(3, 7)), int(rng.integers(4, 9))
    g = new_graph({"x": ((1, h, w, c), "int8", rand_q(rng))})
    add_random_conv(g, rng, "x", "d", c, 3, 1, (1, 1, 1, 1), c, act="relu")
    _add_wide_rq_pointwise(g, rng, "d", "p", int(rng.integers(c // 2, c + 9)), "none", sweep=False)
    g.outputs = ["p"]
    return _streamed_case(f"streamed_block_wide_rq_quad_{c}ch_{seed}", g, rng)


def _fast_rq_edge_case(seed: int) -> Case:
    """1x1 convs with 4-24 or 32 input channels, a bias, the clamp range all of int8 and at least
    eight pixels (pointwise_s8.c's pw_small_run and pw_quad_channels, their output stage for
    tte_rq_fast_s8 one SMMLAR and a saturating zero point): per channel shifts -1 (multipliers in
    [0.25, 0.5)), -21 and between, biases near the int32 ends (sums beyond 2**30), channels of
    zero weights whose bias at an int32 end and multiplier just below 2**31 (shift -1) take the
    zero point past int32, pixel counts with and without a tail."""
    from tte.numerics import fixedpoint as fp

    rng = np.random.default_rng(9600 + seed)
    cin = (4, 8, 12, 16, 20, 24, 32, 32)[seed % 8]
    h, w = int(rng.integers(2, 6)), int(rng.integers(4, 9))
    cout = int(rng.integers(3, 40))
    xq = rand_q(rng)
    xs = float(xq.scale[0])
    side = 1 if seed % 2 == 0 else -1
    yq = q(xs, 127 - int(rng.integers(0, 8)) if side > 0 else -128 + int(rng.integers(0, 8)))
    kinds = rng.choice(["one", "deep", "plain", "edge"], cout, p=[0.3, 0.3, 0.25, 0.15])
    kinds[0] = "edge"
    ws = np.where(kinds == "edge", np.float32(0.5 - 2.0 ** -25), np.where(kinds == "one", rng.uniform(0.26, 0.49, cout),
                  np.where(kinds == "deep", rng.uniform(1.1, 1.9, cout) * 2.0 ** -22,
                           np.exp(rng.uniform(np.log(1e-3), np.log(2e-2), cout))))).astype(np.float32)
    reals = np.float64(np.float32(xs)) * ws.astype(np.float64) / np.float64(np.float32(xs))
    _, shift = fp.quantize_multipliers(reals)
    assert ((shift >= -21) & (shift <= -1)).all(), shift
    room = (1 << 31) - 1 - cin * 255 * 128
    b = rng.integers(-3000, 3000, cout)
    big = rng.random(cout) < 0.5
    b[big] = rng.choice([-1, 1], int(big.sum())) * (room - rng.integers(0, 1 << 24, int(big.sum())))
    wt = rand_s8(rng, (cout, 1, 1, cin))
    wt[kinds == "edge"] = 0
    b[kinds == "edge"] = side * ((1 << 31) - 1 - rng.integers(0, 16, int((kinds == "edge").sum())))
    g = new_graph({"x": ((1, h, w, cin), "int8", xq)})
    g.add_const("w", wt, "int8", q(ws, np.zeros(cout, int), 0))
    bs = (np.float32(xs) * ws).astype(np.float32)
    g.add_const("b", b.astype(np.int32), "int32", q(bs, np.zeros(cout, int), 0))
    g.add_node("conv2d", ["x", "w", "b"], "y", {"strides": (1, 1), "dilations": (1, 1), "pads": (0, 0, 0, 0),
                                                "groups": 1, "activation": "none"}, quant=yq)
    g.outputs = ["y"]
    return Case(f"conv2d_fast_rq_edge_{cin}_{seed}", g, random_feeds(g, rng))


def _small_run_bound_case(seed: int) -> Case:
    """1x1 convs with 4-24 input channels, a bias, the clamp range all of int8 and at least eight
    pixels, whose biases reach the bound of pointwise_s8.c's pw_small_run (doubled sums: |bias|
    + cin 255 128 below 2**29): biases just inside it, with shifts -1 and -21 and between, inputs
    over all of int8; odd seeds put one channel's bias on the bound (the layer takes pw_small)."""
    from tte.numerics import fixedpoint as fp

    rng = np.random.default_rng(9900 + seed)
    cin = (4, 8, 12, 16, 20, 24)[seed % 6]
    h, w = int(rng.integers(2, 6)), int(rng.integers(4, 9))
    cout = int(rng.integers(3, 40))
    xq = rand_q(rng)
    xs = float(xq.scale[0])
    yq = q(xs, int(rng.integers(-128, 128)))
    kinds = rng.choice(["one", "deep", "plain"], cout, p=[0.35, 0.35, 0.3])
    ws = np.where(kinds == "one", rng.uniform(0.26, 0.49, cout),
                  np.where(kinds == "deep", rng.uniform(1.1, 1.9, cout) * 2.0 ** -22,
                           np.exp(rng.uniform(np.log(1e-3), np.log(2e-2), cout)))).astype(np.float32)
    reals = np.float64(np.float32(xs)) * ws.astype(np.float64) / np.float64(np.float32(xs))
    _, shift = fp.quantize_multipliers(reals)
    assert ((shift >= -21) & (shift <= -1)).all(), shift
    lim = (1 << 29) - cin * 255 * 128
    b = rng.integers(-3000, 3000, cout)
    big = rng.random(cout) < 0.6
    b[big] = rng.choice([-1, 1], int(big.sum())) * (lim - 1 - rng.integers(0, 1 << 12, int(big.sum())))
    if seed % 2:
        b[int(rng.integers(0, cout))] = int(rng.choice([-1, 1])) * lim
    g = new_graph({"x": ((1, h, w, cin), "int8", xq)})
    g.add_const("w", rand_s8(rng, (cout, 1, 1, cin)), "int8", q(ws, np.zeros(cout, int), 0))
    bs = (np.float32(xs) * ws).astype(np.float32)
    g.add_const("b", b.astype(np.int32), "int32", q(bs, np.zeros(cout, int), 0))
    g.add_node("conv2d", ["x", "w", "b"], "y", {"strides": (1, 1), "dilations": (1, 1), "pads": (0, 0, 0, 0),
                                                "groups": 1, "activation": "none"}, quant=yq)
    g.outputs = ["y"]
    return Case(f"conv2d_small_run_bound_{cin}_{seed}", g, random_feeds(g, rng))


def _fc_case(seed: int) -> Case:
    rng = np.random.default_rng(100 + seed)
    rows, k, nout = int(rng.integers(1, 4)), int(rng.integers(1, 40)), int(rng.integers(1, 12))
    g = new_graph({"x": ((rows, k), "int8", rand_q(rng))})
    if seed % 2:
        wq = q(np.exp(rng.uniform(np.log(2e-3), np.log(5e-2), nout)).astype(np.float32), np.zeros(nout, int), 0)
    else:
        wq = q(0.02)
    g.add_const("w", rand_s8(rng, (nout, k)), "int8", wq)
    g.add_const("b", rng.integers(-2000, 2000, nout).astype(np.int32), "int32", q(1e-4))
    g.add_node("fully_connected", ["x", "w", "b"], "y", {"activation": ["none", "relu"][seed % 2]},
               quant=rand_q(rng))
    g.outputs = ["y"]
    return Case(f"fc_{seed}", g, random_feeds(g, rng))


def _wide_fc_case(seed: int) -> Case:
    """Fully connected layers long enough for the DSP path (x widened 128 inputs a pass; longer
    rows in several passes over blocks of 32 outputs, FC-AE's 640 inputs): input tails,
    output tails, several output blocks, every activation."""
    rng = np.random.default_rng(5800 + seed)
    rows = 2 if seed % 4 == 3 else 1
    k = (8, 29, 64, 131, 256, 300, 640, 136)[seed % 8] if seed < 8 else (640, 300, 136, 264)[seed % 4]
    nout = int(rng.integers(3, 19)) if seed < 8 else int(rng.integers(33, 72))
    g = new_graph({"x": ((rows, k), "int8", rand_q(rng))})
    if seed % 2:
        wq = q(np.exp(rng.uniform(np.log(2e-3), np.log(2e-2), nout)).astype(np.float32), np.zeros(nout, int), 0)
    else:
        wq = q(0.01)
    g.add_const("w", rand_s8(rng, (nout, k)), "int8", wq)
    ins = ["x", "w"]
    if seed % 3:
        g.add_const("b", rng.integers(-2000, 2000, nout).astype(np.int32), "int32", q(1e-4))
        ins.append("b")
    g.add_node("fully_connected", ins, "y", {"activation": ["none", "relu", "relu6"][seed % 3]}, quant=rand_q(rng))
    g.outputs = ["y"]
    return Case(f"fc_wide_{seed}", g, random_feeds(g, rng))


_PREP_FC_SHAPES = ((9, 5, 1), (13, 7, 3), (128, 37, 2), (20, 133, 1), (127, 9, 1), (129, 9, 2), (257, 9, 1),
                   (640, 12, 1), (144, 131, 1), (8, 6, 1), (131, 11, 3), (40, 257, 1))


def _fc_lanes_in_int16(w: np.ndarray) -> np.ndarray:
    """w with the even weight of each pair whose odd weight is -128 made non-negative (its
    magnitude, at most 127), so that fc_layout's int16 lanes w0 + 256 w1 hold every pair: such
    rows keep a -128 at an odd input and take the prepared kernel."""
    w = w.copy()
    pairs = w.shape[1] // 2 * 2
    even, odd = w[:, 0:pairs:2], w[:, 1:pairs:2]
    bad = (odd == -128) & (even < 0)
    even[bad] = np.minimum(-even[bad].astype(np.int32), 127).astype(np.int8)
    return w


def _prep_fc_case(seed: int) -> Case:
    """Fully connected layers with their weights laid out at compile time (fc_layout, read by
    tte_fully_connected_s8_prep): inputs not a multiple of 4, 16 or 128 (one pass and several),
    odd output counts (zero rows up to four, blocks of 128 outputs), one row or several, the
    weights of a trained layer (mostly small, with -128 and 127) and inputs over all of int8,
    the input zero point at -128, 127 or in between. Seeds from 12 on: the same layers with the
    layout left out by the flash policy (the plain kernel, the same bytes; rows of 128 inputs:
    fc_pass_k128)."""
    rng = np.random.default_rng(9100 + seed)
    k, nout, rows = _PREP_FC_SHAPES[seed % 12]
    zp = (-128, 127, int(rng.integers(-40, 41)))[seed % 3]
    g = new_graph({"x": ((rows, k), "int8", q(float(np.exp(rng.uniform(np.log(2e-3), np.log(0.1)))), zp))})
    if seed % 2:
        wq = q(np.exp(rng.uniform(np.log(2e-3), np.log(2e-2), nout)).astype(np.float32), np.zeros(nout, int), 0)
    else:
        wq = q(0.01)
    w = np.clip(np.round(rng.normal(0, 12, (nout, k))), -128, 127).astype(np.int8)
    w.flat[rng.choice(w.size, min(w.size, 4), replace=False)] = (-128, 127, -128, 127)[:min(w.size, 4)]
    g.add_const("w", _fc_lanes_in_int16(w), "int8", wq)
    ins = ["x", "w"]
    if seed % 3 != 1:
        g.add_const("b", rng.integers(-20000, 20000, nout).astype(np.int32), "int32", q(1e-4))
        ins.append("b")
    g.add_node("fully_connected", ins, "y", {"activation": ["none", "relu", "relu6"][seed % 3]}, quant=rand_q(rng))
    g.outputs = ["y"]
    assert fc_layout(g.nodes[0], g) is not None, "the case must take the prepared kernel"
    if seed >= 12:
        g.meta[FC_PREPARED_META] = frozenset()
    feeds = random_feeds(g, rng)
    feeds["x"].flat[:2] = (-128, 127)
    return Case(f"fc_prep_{k}x{nout}_{seed}", g, feeds)


def _prep_fc_bound_case(k: int) -> Case:
    """The prepared kernel's sums at the edge of its 24 bits (fc_layout lays out 259 inputs of
    +-127 with zero point -128 and the biases below, not 260): rows all 127, all -127,
    alternating and small, against inputs all 127 (the largest sums), all -128 (the bias alone)
    and random; the output scale keeps the largest sums inside int8."""
    rng = np.random.default_rng(9300 + k)
    g = new_graph({"x": ((3, k), "int8", q(0.01, -128))})
    w = np.stack([np.full(k, 127), np.full(k, -127), np.resize([127, -127], k),
                  rng.integers(-3, 4, k)]).astype(np.int8)
    g.add_const("w", w, "int8", q(0.01))
    g.add_const("b", np.array([890, -890, 3, -7], np.int32), "int32", q(1e-4))
    g.add_node("fully_connected", ["x", "w", "b"], "y", {"activation": "none"}, quant=q(8.0, 0))
    g.outputs = ["y"]
    assert (fc_layout(g.nodes[0], g) is None) == (k > 259), "the bound moved"
    x = np.stack([np.full(k, 127), np.full(k, -128), rng.integers(-128, 128, k)]).astype(np.int8)
    return Case(f"fc_prep_bound_{k}", g, {"x": x})


def _binary_case(op: str, seed: int) -> Case:
    rng = np.random.default_rng(200 + seed)
    shape = (1, int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(1, 9)))
    g = new_graph({"a": (shape, "int8", rand_q(rng)), "b": (shape, "int8", rand_q(rng))})
    g.add_node(op, ["a", "b"], "y", {"activation": ["none", "relu", "relu6"][seed % 3]}, quant=rand_q(rng))
    g.outputs = ["y"]
    return Case(f"{op}_{seed}", g, random_feeds(g, rng))


def _wide_add_case(seed: int) -> Case:
    """ADDs of at least 512 values (the table path of elementwise_s8.c): either input the one
    of the larger scale, every activation, one with equal scales (no table)."""
    rng = np.random.default_rng(250 + seed)
    shape = ((1, 8, 8, 16), (1, 16, 16, 4), (1, 4, 4, 37))[seed % 3]
    qa, qb = rand_q(rng), rand_q(rng)
    if seed == 5:
        qb = q(float(qa.scale[0]), int(rng.integers(-40, 41)))
    g = new_graph({"a": (shape, "int8", qa), "b": (shape, "int8", qb)})
    g.add_node("add", ["a", "b"], "y", {"activation": ["none", "relu", "relu6"][seed % 3]}, quant=rand_q(rng))
    g.outputs = ["y"]
    return Case(f"add_wide_{seed}", g, random_feeds(g, rng))


def _unary_case(op: str, seed: int) -> Case:
    rng = np.random.default_rng(300 + seed)
    shape = (1, int(rng.integers(1, 6)), int(rng.integers(1, 6)), int(rng.integers(1, 9)))
    xq = rand_q(rng)
    same = seed % 3 == 0 and op != "quantize"
    attrs: dict[str, Any] = {}
    if op == "clip":
        attrs = {"min": [None, -0.5, 0.0][seed % 3], "max": [6.0, None, 1.0][seed % 3]}
    g = new_graph({"x": (shape, "int8", xq)})
    g.add_node(op, ["x"], "y", attrs, quant=xq if same else rand_q(rng))
    g.outputs = ["y"]
    return Case(f"{op}_{seed}", g, random_feeds(g, rng))


def _quantize_f32_case(seed: int) -> Case:
    rng = np.random.default_rng(350 + seed)
    g = new_graph({"x": ((1, 7, 5), "float32", None)})
    g.add_node("quantize", ["x"], "y", {}, dtype="int8", quant=rand_q(rng))
    g.outputs = ["y"]
    feeds = {"x": (rng.standard_normal((1, 7, 5)) * 3).astype(np.float32)}
    # exact ties x / scale = k + 0.5 exercise round-half-away-from-zero
    s = np.float32(g.tensors["y"].quant.scale[0])  # type: ignore[union-attr]
    feeds["x"].reshape(-1)[:6] = (np.array([0.5, -0.5, 1.5, -2.5, 0.0, 100.5], np.float32) * s)
    return Case(f"quantize_f32_{seed}", g, feeds)


def _quantize_f32_edge_case(seed: int) -> Case:
    """QUANTIZE's ties and ends: x / scale at k + 1/2 and one float either side of it for every
    int8 k, near +-1000 (where the kernel clamps first) and past it (not past int64: the
    reference's cast), zeros and subnormals; scales a power of two (the kernel multiplies by
    the reciprocal: 1, 2**-7, the smallest and largest with a normal reciprocal) and not (the
    kernel divides)."""
    scale = (1.0, 2.0 ** -7, 2.0 ** -126, 2.0 ** 126, 2.0 ** 127, 1 / 255, 0.1, 3.0)[seed]
    zp = (-128, 0, 17, -5, 127, -128, 3, -60)[seed]
    s = np.float32(scale)
    k = np.arange(-140, 140, dtype=np.float32) + np.float32(0.5)
    r = np.concatenate([k, np.nextafter(k, np.float32(np.inf)), np.nextafter(k, np.float32(-np.inf)),
                        np.array([999.5, 1000, 1000.5, 1001, 3e9, 2e18], np.float32)])
    r = np.concatenate([r, -r, np.array([0.0, -0.0, 1e-45, -1e-45, 1.2e-38], np.float32)])
    with np.errstate(over="ignore", under="ignore"):
        x = (r * s).astype(np.float32)
    x = x[np.isfinite(x)]  # the reference's rounding takes no infinity
    g = new_graph({"x": ((1, x.size), "float32", None)})
    g.add_node("quantize", ["x"], "y", {}, dtype="int8", quant=q(scale, zp))
    g.outputs = ["y"]
    return Case(f"quantize_f32_edge_{seed}", g, {"x": x.reshape(1, -1)})


def _quantize_f32_window_case(seed: int) -> Case:
    """QUANTIZE by one product per value (elementwise_s8.c's quantize_windowed on the M7, for a
    scale not a power of two): x / scale at k + 1/2, one float either side of it, and at
    m / 2**16 either side for m around the kernel's window of 16 (inside it: the divide; outside:
    the product), for every int8 k and near the clamp (+-257.5), up to just below 2**15 (where
    the product's fixed-point conversion would saturate and send the whole buffer back to the
    bracketed path), zeros and subnormals; odd counts leave one value after the pairs."""
    scale = (1 / 255, 0.1, 3.0, 0.0037, 17.3, 1 / 3)[seed]
    zp = (-128, 3, 127, 0, -60, 45)[seed]
    s = np.float32(scale)
    k = np.concatenate([np.arange(-140, 140), [-258, -257, 256, 257]]).astype(np.float32) + np.float32(0.5)
    off = np.array([15, 16, 17, 18, 24], np.float32) / np.float32(2 ** 16)
    r = np.concatenate([k, np.nextafter(k, np.float32(np.inf)), np.nextafter(k, np.float32(-np.inf)),
                        *[k + o for o in off], *[k - o for o in off],
                        np.array([1000.5, 32000.5, 32767.0, 32767.25], np.float32)])
    r = np.concatenate([r, -r, np.array([0.0, -0.0, 1e-45, -1e-45, 1.2e-38], np.float32)])
    x = (r * s).astype(np.float32)
    x = x[: x.size - seed % 2]
    g = new_graph({"x": ((1, x.size), "float32", None)})
    g.add_node("quantize", ["x"], "y", {}, dtype="int8", quant=q(scale, zp))
    g.outputs = ["y"]
    return Case(f"quantize_f32_window_{seed}", g, {"x": x.reshape(1, -1)})


def _quantize_f32_pow2_case(seed: int) -> Case:
    """QUANTIZE by a power-of-two scale with every |x / scale| below 2**14 (elementwise_s8.c's
    quantize_pow2_fast on the M7 keeps its bytes: eight values a pass, no product for a scale
    of 1): x / scale at k + 1/2 and one float either side of it for every int8 k and near the
    clamp, up to just below 2**14 and at -2**14 exactly (the int16 conversion's lowest value),
    zeros and subnormals; counts that leave 0-7 values after the passes."""
    scale = (1.0, 2.0 ** -7, 8.0, 1.0)[seed]
    zp = (-128, 0, 17, 5)[seed]
    s = np.float32(scale)
    k = np.concatenate([np.arange(-140, 140), [-258, -257, 256, 257, 1000, 16382]]).astype(np.float32)
    k = k + np.float32(0.5)
    r = np.concatenate([k, np.nextafter(k, np.float32(np.inf)), np.nextafter(k, np.float32(-np.inf)),
                        np.array([16383.75, 0.25, 0.75, 2.0, 3.0], np.float32)])
    r = np.concatenate([r, -r, np.array([-16384.0, 0.0, -0.0, 1e-45, -1e-45, 1.2e-38], np.float32)])
    x = (r * s).astype(np.float32)
    x = x[: x.size - (3 * seed + 1) % 8]
    g = new_graph({"x": ((1, x.size), "float32", None)})
    g.add_node("quantize", ["x"], "y", {}, dtype="int8", quant=q(scale, zp))
    g.outputs = ["y"]
    return Case(f"quantize_f32_pow2_{seed}", g, {"x": x.reshape(1, -1)})


def _dequantize_pass8_case(seed: int) -> Case:
    """DEQUANTIZE eight values a pass on the M7 (SXTB16 lanes, VCVT from 16-bit fixed point), then
    four, then one: 8, 13 and 261 values (a four and a one after the eights) and 640, over int8
    codes from -128 to 127 (all 256 in the 640), the zero point at -128, 127 and in between
    (|x - zp| up to 255)."""
    rng = np.random.default_rng(370 + seed)
    n, zp = ((8, -128), (13, 127), (261, 0), (640, -7))[seed]
    g = new_graph({"x": ((1, n), "int8", q(float(np.exp(rng.uniform(np.log(2e-3), np.log(3.0)))), zp))})
    g.add_node("dequantize", ["x"], "y", {}, dtype="float32")
    g.outputs = ["y"]
    x = rng.permutation(np.resize(np.arange(-128, 128), max(n, 256)))[:n].astype(np.int8)
    x[:2] = (-128, 127)
    return Case(f"dequantize_pass8_{n}", g, {"x": x.reshape(1, n)})


def _dequantize_case(seed: int) -> Case:
    rng = np.random.default_rng(360 + seed)
    g = new_graph({"x": ((1, 10), "int8", rand_q(rng))})
    g.add_node("dequantize", ["x"], "y", {}, dtype="float32")
    g.outputs = ["y"]
    return Case(f"dequantize_{seed}", g, random_feeds(g, rng))


def _pool_case(op: str, seed: int) -> Case:
    rng = np.random.default_rng(400 + seed)
    h, w, c = int(rng.integers(2, 9)), int(rng.integers(2, 9)), int(rng.integers(1, 6))
    k = (int(rng.integers(1, min(h, 3) + 1)), int(rng.integers(1, min(w, 3) + 1)))
    s = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    pads = tuple(int(p) for p in rng.integers(0, 2, 4)) if seed % 2 else (0, 0, 0, 0)
    pads = tuple(min(p, kk - 1) for p, kk in zip(pads, (k[0], k[1], k[0], k[1])))
    xq = rand_q(rng)
    g = new_graph({"x": ((1, h, w, c), "int8", xq)})
    attrs: dict[str, Any] = {"kernel": k, "strides": s, "pads": pads,
                             "activation": ["none", "relu", "relu6"][seed % 3]}
    if op == "avgpool2d":
        attrs["count_include_pad"] = bool(seed % 4 == 1)
    g.add_node(op, ["x"], "y", attrs, quant=xq if seed % 4 else rand_q(rng))
    g.outputs = ["y"]
    return Case(f"{op}_{seed}", g, random_feeds(g, rng))


def _wide_avgpool_case(seed: int) -> Case:
    """Average pooling over many channels and large windows (the DSP path of pool_s8.c sums
    four channels a word in int16 lanes up to 256 window pixels): KWS's global 25x5 over 64
    channels, channel counts not a multiple of four, a window of exactly 256 pixels all at
    -128 or all at 127 (the int16 lanes' extremes), one of 272 (the loop), padding."""
    rng = np.random.default_rng(4700 + seed)
    none = (0, 0, 0, 0)
    (h, w, c), k, s, pads = [((25, 5, 64), (25, 5), (1, 1), none), ((6, 6, 38), (6, 6), (1, 1), none),
                             ((16, 16, 8), (16, 16), (1, 1), none), ((16, 16, 12), (16, 16), (1, 1), none),
                             ((17, 16, 5), (17, 16), (1, 1), none), ((9, 7, 23), (3, 3), (2, 2), (1, 1, 1, 1))][seed]
    xq = rand_q(rng)
    g = new_graph({"x": ((1, h, w, c), "int8", xq)})
    g.add_node("avgpool2d", ["x"], "y", {"kernel": k, "strides": s, "pads": pads, "count_include_pad": seed == 5,
                                         "activation": ["none", "relu", "relu6"][seed % 3]}, quant=xq)
    g.outputs = ["y"]
    feeds = random_feeds(g, rng)
    if seed in (2, 3):
        feeds["x"] = np.full((1, h, w, c), -128 if seed == 2 else 127, np.int8)
    return Case(f"avgpool2d_wide_{seed}", g, feeds)


def _mean_case(seed: int) -> Case:
    rng = np.random.default_rng(500 + seed)
    shape = (1, int(rng.integers(1, 8)), int(rng.integers(1, 8)), int(rng.integers(1, 9)))
    axes = [(1, 2), (-1,), (), (2,)][seed % 4]
    g = new_graph({"x": (shape, "int8", rand_q(rng))})
    g.add_node("mean", ["x"], "y", {"axes": axes, "keepdims": bool(seed % 2)}, quant=rand_q(rng))
    g.outputs = ["y"]
    return Case(f"mean_{seed}", g, random_feeds(g, rng))


def _movement_case(op: str, seed: int, dtype: str = "int8") -> Case:
    rng = np.random.default_rng(600 + seed)
    shape = (1, int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(1, 6)))
    xq = rand_q(rng) if dtype == "int8" else None
    yq = (xq if seed % 2 else rand_q(rng)) if dtype == "int8" else None
    g = new_graph({"x": (shape, dtype, xq)})
    if op == "pad":
        if dtype == "int8":
            pads = [(0, 0)] + [(int(a), int(b)) for a, b in rng.integers(0, 3, (3, 2))]
        else:   # float pads may crop (the gradient of a pad)
            pads = [(0, 0)] + [(int(rng.integers(-min(d - 1, 1), 3)), int(rng.integers(-min(d - 1, 1), 2)))
                               for d in shape[1:]]
        attrs: dict[str, Any] = {"pads": pads, "value": [0.0, 0.25][seed % 2]}
    elif op == "transpose":
        attrs = {"perm": tuple(int(p) for p in rng.permutation(4))}
    else:
        attrs = {"shape": (1, int(math.prod(shape)))}
    g.add_node(op, ["x"], "y", attrs, quant=yq)
    g.outputs = ["y"]
    return Case(f"{op}_{dtype}_{seed}", g, random_feeds(g, rng))


def _softmax_case(seed: int) -> Case:
    rng = np.random.default_rng(700 + seed)
    depth = [10, 3, 37, 1, 100, 5][seed % 6]
    rows = int(rng.integers(1, 4))
    xq = q(float(np.exp(rng.uniform(np.log(0.01), np.log(0.5)))), int(rng.integers(-20, 20)))
    g = new_graph({"x": ((rows, depth), "int8", xq)})
    yq = q(1.0 / 256.0, -128) if seed % 3 else rand_q(rng)
    g.add_node("softmax", ["x"], "y", {"beta": [1.0, 0.5, 2.0][seed % 3]}, quant=yq)
    g.outputs = ["y"]
    return Case(f"softmax_{seed}", g, random_feeds(g, rng))


def _act_mask_case(seed: int) -> Case:
    rng = np.random.default_rng(800 + seed)
    n = int(rng.integers(1, 40))          # odd sizes: the last mask byte is partial
    attrs = [{"activation": "relu"}, {"activation": "relu6"},
             {"activation": "none", "min": -0.5, "max": 0.75},
             {"activation": "none", "min": None, "max": 1.0}][seed % 4]
    g = new_graph({"y": ((1, n), "int8", rand_q(rng, 10))})
    g.add_node("act_mask", ["y"], "m", attrs, dtype="bool")
    g.outputs = ["m"]
    return Case(f"act_mask_{seed}", g, random_feeds(g, rng))


def _act_mask_bounds_case(name: str, rng: np.random.Generator, n: int, attrs: dict[str, Any]) -> Case:
    """An act_mask over a row of n int8 values, about two in five of them at the bounds (the
    int8 range's ends and the zero point's neighbours)."""
    q = rand_q(rng, 10)
    g = new_graph({"y": ((1, n), "int8", q)})
    g.add_node("act_mask", ["y"], "m", attrs, dtype="bool")
    g.outputs = ["m"]
    feeds = random_feeds(g, rng)
    y = feeds["y"].reshape(-1)
    at = rng.random(n) < 0.4
    zp = int(q.zero_point[0])
    edges = np.clip([-128, -127, 126, 127, zp - 1, zp, zp + 1], -128, 127)
    y[at] = rng.choice(edges.astype(np.int8), size=int(at.sum()))
    return Case(name, g, feeds)


def _act_mask_sixteen_case(seed: int) -> Case:
    """Sizes around the sixteen-element passes: none, one, several; with and without a pass of
    eight after them and a partial byte; values at the bounds."""
    n = [15, 16, 23, 24, 31, 48, 57, 200][seed]
    rng = np.random.default_rng(840 + seed)
    attrs = [{"activation": "relu"}, {"activation": "relu6"},
             {"activation": "none", "min": -0.5, "max": 0.75}][seed % 3]
    return _act_mask_bounds_case(f"act_mask_sixteen_{seed}", rng, n, attrs)


def _act_mask_thirtytwo_case(seed: int) -> Case:
    """Sizes around the thirty-two-element passes: one, several, each followed by none, one or
    both of the sixteen and eight passes and a partial byte; values at the bounds."""
    n = [32, 40, 63, 64, 88, 95, 120, 129][seed]
    rng = np.random.default_rng(860 + seed)
    attrs = [{"activation": "relu"}, {"activation": "relu6"},
             {"activation": "none", "min": -0.5, "max": 0.75}, {"activation": "relu6"}][seed % 4]
    return _act_mask_bounds_case(f"act_mask_thirtytwo_{seed}", rng, n, attrs)


def _act_mask_wide_case(seed: int) -> Case:
    """Long rows (the word-at-a-time path plus a partial tail) with values at the bounds."""
    rng = np.random.default_rng(820 + seed)
    n = int(rng.integers(64, 200))
    attrs = [{"activation": "relu"}, {"activation": "relu6"},
             {"activation": "none", "min": -0.5, "max": 0.75},
             {"activation": "none", "min": None, "max": None},
             {"activation": "none", "min": -2.0, "max": None}][seed % 5]
    return _act_mask_bounds_case(f"act_mask_wide_{seed}", rng, n, attrs)


def add_random_conv(g: Graph, rng: np.random.Generator, x: str, y: str, cout: int, kk: int, stride: int,
                    pads: tuple[int, ...], groups: int, d: int = 1, act: str | None = None) -> None:
    """A conv2d y = conv(x) with random int8 weights (per-channel scales), a bias on four draws in
    five and a random activation unless `act` names one."""
    xq = g.tensors[x].quant
    assert xq is not None
    cin = g.tensors[x].shape[-1]
    ws = np.exp(rng.uniform(np.log(2e-3), np.log(5e-2), cout)).astype(np.float32)
    g.add_const(f"{y}.w", rand_s8(rng, (cout, kk, kk, cin // groups)), "int8", q(ws, np.zeros(cout, int), 0))
    ins = [x, f"{y}.w"]
    if rng.random() < 0.8:
        bs = (np.float32(xq.scale[0]) * ws).astype(np.float32)
        g.add_const(f"{y}.b", rng.integers(-3000, 3000, cout).astype(np.int32), "int32",
                    q(bs, np.zeros(cout, int), 0))
        ins.append(f"{y}.b")
    act = act or ("none", "relu", "relu6")[int(rng.integers(0, 3))]
    g.add_node("conv2d", ins, y, {"strides": (stride, stride), "pads": pads, "groups": groups,
                                  "dilations": (d, d), "activation": act}, quant=rand_q(rng))


def _block_output(g: Graph, rng: np.random.Generator, residual: bool, act: str = "none") -> None:
    """The block's output: its 1x1 'p', or with `residual` x + p as 'y' (an add with activation
    `act`, its output stage drawn from rng)."""
    g.outputs = ["p"]
    if residual:
        g.add_node("add", ["x", "p"], "y", {"activation": act}, quant=rand_q(rng))
        g.outputs = ["y"]


def _streamed_case(name: str, g: Graph, rng: np.random.Generator) -> Case:
    """The block graph `g` fused into one streamed_block, its scratch an input filled with random
    bytes (the kernel must not read what it did not write), `g` itself kept as the oracle."""
    from tte.compiler.emit import block_scratch_bytes
    from tte.compiler.fuse import stream_blocks
    from tte.compiler.schedule import schedule_inference

    feeds = random_feeds(g, rng)
    fused = stream_blocks(schedule_inference(g)).graph
    assert [nd.op for nd in fused.nodes] == ["streamed_block"], [nd.op for nd in fused.nodes]
    node = fused.nodes[0]
    scratch = f"{node.name}@scratch"
    nbytes = block_scratch_bytes(node, fused)
    fused.add_tensor(Tensor(scratch, (nbytes,), "int8"))
    fused.inputs.append(scratch)
    feeds[scratch] = rand_s8(rng, (nbytes,))
    return Case(name, fused, feeds, extra={"unfused": g})


def _block_case(seed: int, wide: bool = False) -> Case:
    """An unfused [E ->] depthwise -> 1x1 [-> add] chain, fused by tte.compiler.fuse into a
    streamed_block; the kernel's scratch is a garbage-filled input buffer of exactly the
    planned size (ASan catches a kernel that needs more). ``wide``: the paper models' channel
    counts (a 3-channel stem, 8/16-channel inputs), which take the kernels' specialized paths."""
    rng = np.random.default_rng((7000 if wide else 700) + seed)
    expand = ("none", "pointwise", "regular")[seed % 3]
    residual = seed % 4 in (1, 2) and expand != "regular"
    n, h, w, c0 = 1 if seed % 5 else 2, int(rng.integers(3, 11)), int(rng.integers(3, 11)), int(rng.integers(1, 6))
    if wide:
        h, w = int(rng.integers(6, 15)), int(rng.integers(6, 15))
        c0 = 3 if expand == "regular" else int(rng.choice([8, 16]))
    k = 1 + 2 * int(rng.integers(0, 3)) if not residual else 3
    g = new_graph({"x": ((n, h, w, c0), "int8", rand_q(rng))})

    def conv(x: str, y: str, cout: int, kk: int, stride: int, pads: tuple[int, ...], groups: int,
             d: int = 1) -> None:
        add_random_conv(g, rng, x, y, cout, kk, stride, pads, groups, d)

    x = "x"
    if expand == "pointwise":
        conv(x, "e", int(rng.choice([16, 24, 48])) if wide else int(rng.integers(2, 9)), 1, 1, (0, 0, 0, 0), 1)
        x = "e"
    elif expand == "regular":
        conv(x, "e", int(rng.choice([8, 16])) if wide else int(rng.integers(2, 9)), 3, int(rng.integers(1, 3)),
             (1, 1, 1, 1), 1)
        x = "e"
    cd, side = g.tensors[x].shape[-1], min(g.tensors[x].shape[1:3])
    while k > 1 and k > side:
        k -= 2
    dil = 2 if seed % 7 == 3 and 2 * (k - 1) < side else 1
    if residual:
        conv(x, "d", cd, 3, 1, (dil, dil, dil, dil), cd, dil)
    else:
        pads = tuple(int(p) for p in rng.integers(0, k // 2 + 1, 4))
        conv(x, "d", cd * int(rng.integers(1, 3)), k, int(rng.integers(1, 3)), pads, cd, dil)
    p_out = int(rng.choice([8, 16, 24])) if wide else int(rng.integers(1, 9))
    conv("d", "p", c0 if residual else p_out, 1, 1, (0, 0, 0, 0), 1)
    out = "p"
    if residual:
        g.add_node("add", ["x", "p"] if seed % 2 else ["p", "x"], "y", {"activation": ("none", "relu")[seed % 2]},
                   quant=rand_q(rng))
        out = "y"
    g.outputs = [out]
    name = f"streamed_block_{'wide_' if wide else ''}{expand}{'_residual' if residual else ''}_{seed}"
    return _streamed_case(name, g, rng)


def _block_add_table_case(seed: int) -> Case:
    """A residual block whose output image reaches TTE_ADD_TABLE_MIN, so that its add's table is
    built once per call and every chunk (of any length: odd channel counts leave tails of the
    four-element loop) adds on it: either input first, every activation (the full range, ReLU's
    low end, ReLU6's both ends); one with equal input scales, where no table applies (side 0)."""
    rng = np.random.default_rng(7900 + seed)
    c0 = (5, 8, 16, 3, 12, 8, 7, 16)[seed]
    h, w = int(rng.integers(8, 15)), int(rng.integers(8, 15))
    while h * w * c0 < 512:
        h += 2
    qx = rand_q(rng)
    g = new_graph({"x": ((1, h, w, c0), "int8", qx)})
    add_random_conv(g, rng, "x", "e", int(rng.choice([16, 24])), 1, 1, (0, 0, 0, 0), 1)
    add_random_conv(g, rng, "e", "d", g.tensors["e"].shape[-1], 3, 1, (1, 1, 1, 1), g.tensors["e"].shape[-1])
    add_random_conv(g, rng, "d", "p", c0, 1, 1, (0, 0, 0, 0), 1)
    if seed == 5:
        g.tensors["p"].quant = q(float(qx.scale[0]), int(rng.integers(-40, 41)))
    g.add_node("add", ["x", "p"] if seed % 2 else ["p", "x"], "y", {"activation": ("none", "relu", "relu6")[seed % 3]},
               quant=rand_q(rng))
    g.outputs = ["y"]
    return _streamed_case(f"streamed_block_add_table_{c0}ch_{h}x{w}_{seed}", g, rng)


def _dsconv_block_case(seed: int) -> Case:
    """A DS-CNN / MobileNetV1 style block: a 3x3 depthwise (stride 1 or 2, TF's SAME padding
    or a symmetric one) of 4 to 132 channels -> 1x1 to 16-80 channels, on small images (the
    MLPerf Tiny models' 25x5, 6x6, 3x3 tails). Its depthwise weights are laid out at compile
    time (tte.compiler.emit.block.dw_prepared); a 1x1 over more than 64 input channels takes
    the pixel-pair path with its buffer in the block's scratch; without an expand conv and an
    add, chunks run on across output rows. Some have a 1x1 expand conv, some an add."""
    rng = np.random.default_rng(7700 + seed)
    c = int(rng.choice([4, 36, 64, 68, 128, 132]))
    h, w = int(rng.integers(2, 8)), int(rng.integers(2, 8))
    kind = ("flat", "flat", "expand", "residual")[seed % 4]
    stride = 1 if kind == "residual" else int(rng.integers(1, 3))
    pads = (1, 1, 1, 1) if stride == 1 or seed % 3 == 0 else (0, 0, 1, 1)
    c0 = c if kind != "expand" else int(rng.choice([8, 16]))
    g = new_graph({"x": ((1, h, w, c0), "int8", rand_q(rng))})

    def conv(x: str, y: str, cout: int, kk: int, st: int, pd: tuple[int, ...], groups: int,
             act: str | None = None) -> None:
        add_random_conv(g, rng, x, y, cout, kk, st, pd, groups, act=act)

    x = "x"
    if kind == "expand":
        conv(x, "e", c, 1, 1, (0, 0, 0, 0), 1)
        x = "e"
    conv(x, "d", c, 3, stride, pads, c)
    # P over all of int8 on even seeds: the 1x1's output stage in assembly
    conv("d", "p", c0 if kind == "residual" else int(rng.choice([16, 64, 80])), 1, 1, (0, 0, 0, 0), 1,
         "none" if seed % 2 == 0 else None)
    _block_output(g, rng, kind == "residual", "relu")
    return _streamed_case(f"streamed_block_dsconv_{kind}_{c}ch_{seed}", g, rng)


def _prep_block_case(seed: int, channels: int | None = None, dead: bool | None = None) -> Case:
    """A 3x3 depthwise -> 1x1 streamed block whose 1x1 reads its compile-time layout
    (tte.compiler.emit.block.pw_layout, pointwise_s8.c's tte_conv2d_s8_pointwise_prep_px): 32-128
    input channels (multiples of 16 and of 8 only), 2-80 output channels, the output stage
    over all of int8 (no activation, or a ReLU from zero point -128), TFLite's weights in
    [-127, 127] with some -128 beside a non-negative weight (a lane at the edge of int16), on
    every third seed channels with a bias of 2**29 or more (one output for any input: the
    layout's stand-in); flat, with an expand conv or with an add, pixel counts with every
    remainder of four. `channels`: that many input channels instead; `dead`: whether some channels'
    bias dwarfs their weights (default: every third seed)."""
    rng = np.random.default_rng(7900 + seed)
    c = channels if channels is not None else (64, 40, 32, 96, 128, 56)[seed % 6]
    kind = ("flat", "expand", "residual")[seed % 3]
    h, w = int(rng.integers(2, 7)), int(rng.integers(2, 8))
    c0 = int(rng.choice([8, 16])) if kind == "expand" else c
    cout = c0 if kind == "residual" else 2 * int(rng.integers(1, 41))
    g = new_graph({"x": ((1, h, w, c0), "int8", rand_q(rng))})
    x = "x"
    if kind == "expand":
        add_random_conv(g, rng, x, "e", c, 1, 1, (0, 0, 0, 0), 1)
        x = "e"
    add_random_conv(g, rng, x, "d", c, 3, 1 if kind == "residual" else int(rng.integers(1, 3)), (1, 1, 1, 1), c)
    wq = rng.integers(-127, 128, (cout, 1, 1, c))
    edge = rng.random(wq.shape) < 0.05
    wq[..., 1::2][edge[..., 1::2]] = -128
    wq[..., 0::2] = np.where(wq[..., 1::2] == -128, np.abs(wq[..., 0::2]), wq[..., 0::2])
    _add_project(g, rng, wq, dead=seed % 3 == 0 if dead is None else dead, relu=seed % 2 == 1)
    _block_output(g, rng, kind == "residual")
    case = _streamed_case(f"streamed_block_prep_{kind}_{c}ch_{seed}", g, rng)
    from tte.compiler.emit.block import pw_layout
    assert pw_layout(case.graph.nodes[0], case.graph) is not None, case.name
    return case




def _doubled(case: Case) -> Case:
    """The case with its streamed block's 1x1 layout in the doubled form (tte.compiler.emit.block.
    pwd_layout, tte_conv2d_s8_pointwise_prepd_px / _prepd_all_px), as choose_prepared picks it
    where the flash has room."""
    from tte.compiler.emit.block import PW_DOUBLED_META, pw_layout, pw_prepared

    node = case.graph.nodes[0]
    pr = pw_layout(node, case.graph)
    assert pr is not None, case.name
    case.graph.meta[PW_DOUBLED_META] = frozenset({pr[0]})
    got = pw_prepared(node, case.graph)
    assert got is not None and got[0].startswith("tte_pwd_"), case.name
    case.name += "_doubled"
    return case


def _zfloor(case: Case) -> Case:
    """The case with its streamed block's 1x1 output zero point -128, so that its doubled layout
    takes tte_conv2d_s8_pointwise_prepz_px / _prepz_all_px (the output stage without [sum < 0]);
    about half its sums below 0."""
    node = case.graph.nodes[0]
    chain = node.attrs["chain"]
    out = [n for n in chain.nodes if n.op == "conv2d"][-1].outputs[0]
    for t in {id(t): t for t in (chain.tensor(out), case.graph.tensors.get(out)) if t is not None}.values():
        assert t.quant is not None
        t.quant = QuantParams(t.quant.scale, np.array([-128]))
    case.name += "_zfloor"
    return case


def _add_project(g: Graph, rng: np.random.Generator, wq: np.ndarray, dead: bool, relu: bool) -> None:
    """The 1x1 d -> p of a streamed block's case: int8 weights wq (cout, 1, 1, c), per-channel
    scales, int32 biases (dead: an eighth of the channels with a bias that dwarfs their weights,
    VWW's dead ones, one output for every input), a ReLU or none."""
    cout = wq.shape[0]
    ws = np.exp(rng.uniform(np.log(2e-3), np.log(2e-2), cout)).astype(np.float32)
    dq = g.tensors["d"].quant
    assert dq is not None
    g.add_const("p.w", wq.astype(np.int8), "int8", q(ws, np.zeros(cout, int), 0))
    bias = rng.integers(-3000, 3000, cout)
    if dead:
        chosen = rng.choice(cout, max(1, cout // 8), replace=False)
        bias[chosen] = rng.choice([-1, 1], chosen.size) * rng.integers(2 ** 29, 2 ** 30, chosen.size)
    g.add_const("p.b", bias.astype(np.int32), "int32",
                q((np.float32(dq.scale[0]) * ws).astype(np.float32), np.zeros(cout, int), 0))
    pq = q(float(dq.scale[0]) * float(rng.uniform(2.0, 6.0)), -128 if relu else int(rng.integers(-40, 41)))
    g.add_node("conv2d", ["d", "p.w", "p.b"], "p", {"strides": (1, 1), "pads": (0, 0, 0, 0), "groups": 1,
                                                  "dilations": (1, 1), "activation": "relu" if relu else "none"},
               quant=pq)


def _dw_all_case(seed: int) -> Case:
    """A 3x3 depthwise -> 1x1 streamed block without E and the add whose 1x1 reads its compile-time
    layout, given D's outputs of a whole image in its scratch (tte.compiler.emit.block.DW_ALL_META,
    block_s8.c's block_run_all: D over every row, then P once over every pixel, each pass of
    channels over all of them; where the layout takes more than one pass, every pixel widened once
    first, tte_conv2d_s8_pointwise_prep_all_px, a last pixel alone two channel pairs at a time):
    32 to 256 input channels (pw_layout) and 8 to 24 (pe_layout's form,
    tte_conv2d_s8_pointwise_small_prep_px), 2 to 80 output channels (78 from seed 27 on: passes
    of an odd number of channel pairs, over 9 or 25 pixels), 5 to 42
    pixels an image (every remainder of four, the last pass of one, two or three pixels),
    stride 1 or 2, one image or two, every third seed from 32 input channels on channels whose
    bias dwarfs their weights (pw_layout's stand-in; pe_layout takes none)."""
    from tte.compiler.emit.block import dw_all_given

    rng = np.random.default_rng(8800 + seed)
    c = (32, 64, 128, 40, 256, 96, 16, 24, 8)[seed % 9]
    s = 2 if seed % 4 == 3 else 1
    h, w = int(rng.integers(2, 8)), int(rng.integers(3, 8))
    if (c == 256 and seed % 2 == 1) or seed >= 27:
        h, w = (3, 3) if c >= 128 else (5, 5)   # VWW's last blocks: a last pass of one pixel
    if s == 2:
        h, w = 2 * h, 2 * w
    batch = 2 if seed % 5 == 1 else 1
    cout = 2 * int(rng.integers(1, 41))
    if seed >= 27:
        cout = 78   # 39 channel pairs: passes of an odd number of pairs
    while batch * h * w * c * (s * s + 4) // (s * s) + 2 * cout * c > 36000 and h > 2 * s:
        h -= s   # the M7 harness's buffers stay small
    g = new_graph({"x": ((batch, h, w, c), "int8", rand_q(rng))})
    add_random_conv(g, rng, "x", "d", c, 3, s, (1, 1, 1, 1), c)
    wq = rng.integers(-127, 128, (cout, 1, 1, c))
    _add_project(g, rng, wq, dead=seed % 3 == 0 and c >= 32, relu=seed % 2 == 1)
    g.outputs = ["p"]
    npix = g.tensors["d"].shape[1] * g.tensors["d"].shape[2]
    case = _given_dw_all(_streamed_case(f"streamed_block_dw_all_{c}ch_{cout}_s{s}_b{batch}_{npix}px_{seed}", g, rng),
                         rng)
    assert dw_all_given(case.graph.nodes[0], case.graph), case.name
    return case


def _given_scratch(case: Case, rng: np.random.Generator, meta: str) -> Case:
    """The case's streamed block given the optional scratch the graph's meta key names (DW_ALL_META,
    DW_PAD_META) and the larger block scratch that takes, garbage on entry."""
    from tte.compiler.emit import block_scratch_bytes

    node = case.graph.nodes[0]
    case.graph.meta[meta] = frozenset({node.name})
    scratch = f"{node.name}@scratch"
    nbytes = block_scratch_bytes(node, case.graph)
    case.graph.tensors[scratch] = Tensor(scratch, (nbytes,), "int8")
    case.feeds[scratch] = rand_s8(rng, (nbytes,))
    return case


def _given_dw_all(case: Case, rng: np.random.Generator) -> Case:
    """The case's streamed block given D's outputs of a whole image (DW_ALL_META)."""
    from tte.compiler.emit.block import DW_ALL_META

    return _given_scratch(case, rng, DW_ALL_META)


def _expand_w_scales(rng: np.random.Generator, cout: int, p_deep: float) -> np.ndarray:
    """The expand cases' per-channel weight scales: multipliers in (0.26, 0.49) (shift -1) on a
    fifth of the channels, ones whose shift reaches -21 on p_deep of them, ordinary ones else."""
    kinds = rng.choice(["one", "deep", "plain"], cout, p=[0.2, p_deep, 0.8 - p_deep])
    return np.where(kinds == "one", rng.uniform(0.26, 0.49, cout),
                    np.where(kinds == "deep", rng.uniform(1.1, 1.9, cout) * 2.0 ** -22,
                             np.exp(rng.uniform(np.log(1e-3), np.log(2e-2), cout)))).astype(np.float32)


def _prep_expand_block_case(seed: int, cin: int | None = None, cout: int | None = None,
                            width: int | None = None) -> Case:
    """An expand 1x1 -> 3x3 depthwise -> 1x1 [-> add] streamed block whose expand reads its
    compile-time layout (tte.compiler.emit.block.pe_layout, pointwise_s8.c's
    tte_conv2d_s8_pointwise_small_prep_px): 4-24 input channels (every word count), 3-150 output
    channels (odd counts, several passes of channels), widths 1-10 (tails of 1-3 pixels), the
    output stage over all of int8 (no activation, or a ReLU from zero point -128), shifts from -1
    to -21, on every third seed biases just inside the bound of the doubled sums (|bias| + cin 255
    128 below 2**29), on every fourth none. cin, cout and width, where given, replace the seed's."""
    from tte.compiler.emit.block import pe_layout
    from tte.numerics import fixedpoint as fp

    rng = np.random.default_rng(12100 + seed)
    cin = (4, 8, 12, 16, 20, 24)[seed % 6] if cin is None else cin
    cout = (3, 16, 48, 17, 150, 96, 33)[seed % 7] if cout is None else cout
    h, w = int(rng.integers(2, 6)), int(rng.integers(1, 11))
    w = w if width is None else width
    residual = seed % 5 == 2
    xq = rand_q(rng)
    xs = float(xq.scale[0])
    relu = seed % 2 == 1
    yq = q(xs, -128 if relu else int(rng.integers(-128, 128)))
    ws = _expand_w_scales(rng, cout, 0.2)
    reals = np.float64(np.float32(xs)) * ws.astype(np.float64) / np.float64(np.float32(xs))
    _, shift = fp.quantize_multipliers(reals)
    assert ((shift >= -21) & (shift <= -1)).all(), shift
    g = new_graph({"x": ((1, h, w, cin), "int8", xq)})
    g.add_const("e.w", rand_s8(rng, (cout, 1, 1, cin)), "int8", q(ws, np.zeros(cout, int), 0))
    ins = ["x", "e.w"]
    if seed % 4 != 3:
        b = rng.integers(-3000, 3000, cout)
        if seed % 3 == 0:
            lim = (1 << 29) - cin * 255 * 128
            big = rng.random(cout) < 0.5
            b[big] = rng.choice([-1, 1], int(big.sum())) * (lim - 1 - rng.integers(0, 1 << 12, int(big.sum())))
        g.add_const("e.b", b.astype(np.int32), "int32", q((np.float32(xs) * ws).astype(np.float32),
                                                          np.zeros(cout, int), 0))
        ins.append("e.b")
    g.add_node("conv2d", ins, "e", {"strides": (1, 1), "dilations": (1, 1), "pads": (0, 0, 0, 0), "groups": 1,
                                    "activation": "relu" if relu else "none"}, quant=yq)
    add_random_conv(g, rng, "e", "d", cout, 3, 1 if residual else int(rng.integers(1, 3)), (1, 1, 1, 1), cout)
    add_random_conv(g, rng, "d", "p", cin if residual else int(rng.choice([8, 16, 40])), 1, 1, (0, 0, 0, 0), 1)
    _block_output(g, rng, residual)
    case = _streamed_case(f"streamed_block_prep_expand_{cin}_{cout}_{seed}", g, rng)
    assert pe_layout(case.graph.nodes[0], case.graph) is not None, case.name
    return case


def _dw3_case(seed: int) -> Case:
    """A 3x3 depthwise conv (depthwise_s8.c's dw3_groups on the DSP path: every pixel on a
    folded bias, a column in the padding on a corrected one, other borders reading the zero
    point's bytes): any padding of 0 to 2 on each side, stride 1 or 2, images down to one
    pixel wide or high, channel counts with and without a remainder of four. Even seeds go
    through a streamed block without E and add (weights laid out at compile time, whole rows
    and row segments per call), odd ones through tte_conv2d_s8 itself."""
    rng = np.random.default_rng(7900 + seed)
    c = int(rng.choice([4, 8, 12, 36, 64])) if seed % 2 == 0 else int(rng.choice([4, 5, 8, 14, 36, 66]))
    h, w = int(rng.integers(1, 8)), int(rng.integers(1, 8))
    pads = tuple(int(p) for p in rng.integers(0, 3, 4))
    stride = int(rng.integers(1, 3))
    if (h + pads[0] + pads[2] - 3) // stride + 1 < 1 or (w + pads[1] + pads[3] - 3) // stride + 1 < 1:
        pads = (1, 1, 1, 1)
    g = new_graph({"x": ((1, h, w, c), "int8", rand_q(rng))})
    add_random_conv(g, rng, "x", "d", c, 3, stride, pads, c)
    if seed % 2:
        g.outputs = ["d"]
        return Case(f"conv2d_dw3_{c}ch_{seed}", g, random_feeds(g, rng))
    add_random_conv(g, rng, "d", "p", int(rng.choice([8, 16, 64])), 1, 1, (0, 0, 0, 0), 1)
    g.outputs = ["p"]
    return _streamed_case(f"streamed_block_dw3_{c}ch_{seed}", g, rng)


def _dw3_fast_case(seed: int, wide: bool = False) -> Case:
    """A 3x3 depthwise conv whose output stage spans all of int8 (depthwise_s8.c's dw3_fast: an
    output row of a channel group in one assembly block, its one border pixel a side on a
    folded bias): widths 1 to 9, heights 1 to 6, stride 1 or 2, paddings symmetric, none,
    TF's one-sided 'same' and wider, 4 to 36 channels (some not a multiple of four). Even
    seeds through tte_conv2d_s8 (the whole image a call), odd ones through a streamed block
    (weights laid out at compile time, whole rows and row segments a call). wide: widths 10
    to 22 (rows of 4 to 20 interior pixels, even and odd counts: TTE_DW3_ROW's two pixels a
    pass, entered at the second where the count is odd)."""
    rng = np.random.default_rng(8300 + seed + (1000 if wide else 0))
    c = (4, 8, 16, 5, 12, 36, 20, 7)[seed % 8]
    w = 10 + seed % 13 if wide else 1 + seed % 9
    h, s = int(rng.integers(1, 7)), 1 + (seed // (13 if wide else 9)) % 2
    pads = ((1, 1, 1, 1), (0, 0, 0, 0), (0, 0, 1, 1), (1, 2, 0, 1), (2, 1, 2, 0))[seed % 5]
    if (h + pads[0] + pads[2] - 3) // s + 1 < 1 or (w + pads[1] + pads[3] - 3) // s + 1 < 1:
        pads = (1, 1, 1, 1)
    xq = rand_q(rng)
    g = new_graph({"x": ((1, h, w, c), "int8", xq)})
    ws = np.exp(rng.uniform(np.log(2e-3), np.log(5e-2), c)).astype(np.float32)
    g.add_const("d.w", rand_s8(rng, (c, 3, 3, 1)), "int8", q(ws, np.zeros(c, int), 0))
    bs = (np.float32(xq.scale[0]) * ws).astype(np.float32)
    # an output scale that keeps every multiplier below 1/2 (the fast output stage's range);
    # a third of the seeds below 2**-22 (shifts past tte_rq_fast_ok's -21: depthwise_s8.c's
    # dw3_fast_exact), with biases near 2**29 that reach the output
    tiny = seed % 6 >= 4
    b = rng.integers(-600_000_000, 600_000_000, c) if tiny else rng.integers(-3000, 3000, c)
    g.add_const("d.b", b.astype(np.int32), "int32", q(bs, np.zeros(c, int), 0))
    ys = float(xq.scale[0]) * (float(ws.max()) * 2 ** 23 if tiny else 6)
    g.add_node("conv2d", ["x", "d.w", "d.b"], "d", {"strides": (s, s), "dilations": (1, 1), "pads": pads,
                                                    "groups": c, "activation": "none"},
               quant=q(ys, int(rng.integers(-40, 41))))
    if seed % 2 == 0:
        g.outputs = ["d"]
        return Case(f"conv2d_dw3_fast_{c}ch_w{w}_s{s}_{seed}{'_wide' if wide else ''}", g, random_feeds(g, rng))
    add_random_conv(g, rng, "d", "p", int(rng.choice([8, 16])), 1, 1, (0, 0, 0, 0), 1)
    g.outputs = ["p"]
    return _streamed_case(f"streamed_block_dw3_fast_{c}ch_w{w}_s{s}_{seed}{'_wide' if wide else ''}", g, rng)


def _dw3_blocks_case(seed: int) -> Case:
    """A streamed block whose 3x3 depthwise (stride 1 or 2, the output stage over all of int8)
    reads the compile-time blocks of tte.compiler.emit.block.dw3_blocks_layout
    (depthwise_s8.c's dw3_fast_groups_b): widths 63 to 65 and 31 to 33 (the paper models' 64-wide
    first block, odd and even counts of interior pixels), paddings symmetric, TF's one-sided
    'same' and none (a border pixel on the left, the right, both or neither), 4 to 22 channels
    (some with a tail of 1 to 3 channels after the groups of four), flat, with an expand conv
    or with an add; a third of the seeds with multipliers below 2**-22 (dw3_fast_exact's mode 2)
    and biases near 2**29."""
    rng = np.random.default_rng(8900 + seed)
    c = int(rng.choice([4, 8, 16, 6, 12, 21, 20, 7, 22]))
    w = (64, 63, 65, 32, 31, 33)[(seed // 6) % 6]
    s = 1 + seed % 2
    kind = ("flat", "expand", "residual")[(seed // 2) % 3]
    s = 1 if kind == "residual" else s
    pads = (1, 1, 1, 1) if kind == "residual" else ((1, 1, 1, 1), (0, 0, 1, 1), (0, 0, 0, 0), (1, 1, 0, 0))[
        int(rng.integers(0, 4))]
    h = int(rng.integers(3, 6))
    xq = rand_q(rng)
    c0 = int(rng.choice([8, 16])) if kind == "expand" else c
    g = new_graph({"x": ((1, h, w, c0), "int8", xq)})
    x = "x"
    if kind == "expand":
        add_random_conv(g, rng, x, "e", c, 1, 1, (0, 0, 0, 0), 1)
        x = "e"
    eq = g.tensors[x].quant
    assert eq is not None
    ws = np.exp(rng.uniform(np.log(2e-3), np.log(5e-2), c)).astype(np.float32)
    g.add_const("d.w", rand_s8(rng, (c, 3, 3, 1)), "int8", q(ws, np.zeros(c, int), 0))
    bs = (np.float32(eq.scale[0]) * ws).astype(np.float32)
    tiny = seed % 3 == 2
    b = rng.integers(-600_000_000, 600_000_000, c) if tiny else rng.integers(-3000, 3000, c)
    g.add_const("d.b", b.astype(np.int32), "int32", q(bs, np.zeros(c, int), 0))
    ys = float(eq.scale[0]) * (float(ws.max()) * 2 ** 23 if tiny else 6)
    g.add_node("conv2d", [x, "d.w", "d.b"], "d", {"strides": (s, s), "dilations": (1, 1), "pads": pads,
                                                  "groups": c, "activation": "none"},
               quant=q(ys, int(rng.integers(-40, 41))))
    add_random_conv(g, rng, "d", "p", c0 if kind == "residual" else int(rng.choice([8, 16])), 1, 1, (0, 0, 0, 0), 1)
    _block_output(g, rng, kind == "residual")
    return _streamed_case(f"streamed_block_dw3_blocks_{kind}_{c}ch_w{w}_s{s}_{seed}", g, rng)


def _depthwise_graph(rng: np.random.Generator, kind: str, c: int, kernel: tuple[int, int], stride: int,
                     pads: tuple[int, ...], h: int, w: int, images: int, out_factor: float) -> Graph:
    """x into a depthwise conv 'd' over c channels (no activation), as the depthwise cases below
    build it: kind 'expand' puts a 1x1 E from 8 or 16 channels before it; its output scale is
    out_factor times its input's (a large factor keeps every multiplier below 1/2, the output
    stage of mode 2; 0.02 does not)."""
    kh, kw = kernel
    xq = rand_q(rng)
    c0 = int(rng.choice([8, 16])) if kind == "expand" else c
    g = new_graph({"x": ((images, h, w, c0), "int8", xq)})
    x = "x"
    if kind == "expand":
        add_random_conv(g, rng, "x", "e", c, 1, 1, (0, 0, 0, 0), 1, act="none")
        x, xq = "e", g.tensors["e"].quant
    ws = np.exp(rng.uniform(np.log(2e-3), np.log(5e-2), c)).astype(np.float32)
    g.add_const("d.w", rand_s8(rng, (c, kh, kw, 1)), "int8", q(ws, np.zeros(c, int), 0))
    bs = (np.float32(xq.scale[0]) * ws).astype(np.float32)
    g.add_const("d.b", rng.integers(-3000, 3000, c).astype(np.int32), "int32", q(bs, np.zeros(c, int), 0))
    g.add_node("conv2d", [x, "d.w", "d.b"], "d", {"strides": (stride, stride), "dilations": (1, 1), "pads": pads,
                                                   "groups": c, "activation": "none"},
               quant=q(float(xq.scale[0]) * out_factor, int(rng.integers(-40, 41))))
    return g


def _projected_case(name: str, g: Graph, rng: np.random.Generator, kind: str, c: int) -> Case:
    """_depthwise_graph's 'd' into a 1x1 P (c outputs and the residual add for kind 'residual',
    else 8, 16 or 64), streamed (_streamed_case)."""
    add_random_conv(g, rng, "d", "p", c if kind == "residual" else int(rng.choice([8, 16, 64])), 1, 1,
                    (0, 0, 0, 0), 1)
    _block_output(g, rng, kind == "residual")
    return _streamed_case(name, g, rng)


def _dw3_ring_case(seed: int) -> Case:
    """A 3x3 stride-1 depthwise conv whose output stage spans all of int8, streamed into a 1x1
    (depthwise_s8.c's dw3_ring: three rows a channel group copied sign-extended with the zero
    point in the padding, in P's pair buffer, every pixel on the folded bias): widths 1 to 12,
    heights 1 to 9, paddings symmetric, none, TF's one-sided 'same' and wider, 4 to 68
    channels (some not a multiple of four: the rest pixel by pixel), one or two images. Without
    E and the add the buffer holds it always (whole rows and row segments a call); with a 1x1 E
    or the add only where the pair buffer is large enough (36 or more channels), else the other
    path."""
    rng = np.random.default_rng(8700 + seed)
    kind = ("flat", "flat", "expand", "residual")[seed % 4]
    c = (4, 8, 36, 64, 12, 68, 5, 40)[(seed + seed // 4) % 8] if kind == "flat" else (36, 64, 68, 8)[seed // 4 % 4]
    w, h = 1 + seed % 12, 1 + (seed * 5) % 9
    pads = ((1, 1, 1, 1), (0, 0, 0, 0), (0, 0, 1, 1), (1, 2, 0, 1), (2, 1, 2, 0))[seed % 5]
    if kind == "residual":
        pads = (1, 1, 1, 1)
    if h + pads[0] + pads[2] - 2 < 1 or w + pads[1] + pads[3] - 2 < 1:
        pads = (1, 1, 1, 1)
    g = _depthwise_graph(rng, kind, c, (3, 3), 1, pads, h, w, 2 if seed % 6 == 5 else 1, 6)
    return _projected_case(f"streamed_block_dw3_ring_{kind}_{c}ch_w{w}_h{h}_{seed}", g, rng, kind, c)


def _dw3_pair_case(seed: int) -> Case:
    """A 3x3 stride-1 depthwise conv streamed into a 1x1 without E (depthwise_s8.c's dw3_ring: whole
    rows in its pixel-pair layout, two neighbouring columns of a channel in one word; row
    segments on channel pairs, dw3_ring_chan), over odd and even output widths 13 to 30 (an odd
    row: its last pixel as the first of a pair whose second is dropped, over one more column),
    8 to 28 channels (eight a pass, a pass of four, a tail of one to three pixel by pixel), 2 to
    6 rows, paddings symmetric, none, one-sided and two wide, one or two images."""
    rng = np.random.default_rng(27270 + seed)
    c = (8, 12, 16, 20, 24, 28, 9, 22, 13)[seed % 9]
    w, h = 13 + (seed * 7) % 18, 2 + seed % 5
    pads = ((1, 1, 1, 1), (0, 0, 0, 0), (0, 0, 1, 1), (1, 2, 0, 1), (2, 2, 2, 2))[seed % 5]
    g = _depthwise_graph(rng, "flat", c, (3, 3), 1, pads, h, w, 2 if seed % 4 == 3 else 1, 6)
    return _projected_case(f"streamed_block_dw3_pair_{c}ch_w{w}_h{h}_p{''.join(map(str, pads))}_{seed}", g, rng,
                           "flat", c)


def _dw3_pair_rq_case(seed: int, image: bool = False, zfloor: bool = False, stride: int = 1) -> Case:
    """dw3_ring's output stage on doubled words (depthwise_s8.c's dwp_row8k, dwp_row4k and
    dwp_lone's, where tte/compiler/emit/block.py's _dw3_pairs_doubled lets the words laid out at
    compile time be doubled) and where it may not be: variant 0, a channel's
    folded bias at the doubled sums' bound (2**30 - 1 - 9 128 128 from 0) and one at minus it,
    taps at the int8 ends, and a channel of shift -21 whose outputs stay inside int8; 1, a folded
    bias one past the bound (the plain words); 2, a channel of multiplier 0 and a bias near an
    int32 end (any sum gives out_zp: doubled all the same) and one of shift -21; 3, a channel of
    shift -22 (doubled) or -30 ((2 out_zp + 1) << 29 mostly past int32: the plain words), both
    mode 2 only by dw3_fast_exact. Streamed into a 1x1 (compile-time words; widths 13 to 17 and 6
    to 7) or a whole image (``image``: words made per pass, never doubled: the plain stage on the
    same layers; widths 7 to 13), 8 to 20 channels (passes of eight and four). ``zfloor``: the
    depthwise's output zero point -128, so that its doubled words take dwp_row8z / dwp_row4z's
    output stage (no [sum < 0]), about half its sums below 0. ``stride`` 2: the streamed stride-2
    kernel on the same words (depthwise_s8.c's dws2_row8k, dws2_row4k, dws2_row8, dws2_row4), inputs
    twice as wide and high."""
    rng = np.random.default_rng((27600 if image else 27500) + seed + (1000 if stride == 2 else 0))
    variant = seed % 4
    c = (8, 12, 16, 20)[seed // 4 % 4]
    w = (7, 8, 9, 13)[seed % 4] if image else (13, 14, 15, 17, 6, 7)[seed % 6]
    h = 3 + seed % 3
    pads = ((1, 1, 1, 1), (0, 0, 0, 0), (1, 2, 0, 1))[seed % 3]
    out_factor = 6.0
    if stride == 2:
        w, h = 2 * w - seed % 2, 2 * h
    g = _depthwise_graph(rng, "flat", c, (3, 3), stride, pads, h, w, 1, out_factor)
    xzp = int(np.asarray(g.tensors["x"].quant.zero_point).reshape(-1)[0])
    taps = np.asarray(g.tensors["d.w"].data, np.int64).reshape(c, 9)
    bias = np.asarray(g.tensors["d.b"].data, np.int64).copy()
    ws = np.asarray(g.tensors["d.w"].quant.scale, np.float64).reshape(-1).copy()
    room = (1 << 30) - 1 - 9 * 128 * 128
    if variant == 0:
        taps[0], taps[1] = -128, 127
        bias[0] = room + xzp * taps[0].sum()
        bias[1] = -room + xzp * taps[1].sum()
        ws[2] = 0.7 * 2.0 ** -21 * out_factor
        bias[2] = int(rng.integers(-(1 << 27), 1 << 27))
    elif variant == 1:
        bias[c - 1] = room + 1 + xzp * taps[c - 1].sum()
    elif variant == 2:
        ws[0] = 2.0 ** -34 * out_factor
        bias[0] = (1 << 31) - 200000 if seed % 8 == 2 else -(1 << 31) + 200000
        ws[c - 1] = 0.6 * 2.0 ** -21 * out_factor
        bias[c - 1] = int(rng.integers(-(1 << 27), 1 << 27))
    else:
        ws[1] = 0.7 * 2.0 ** (-22 if seed % 8 == 3 else -30) * out_factor
        bias[1] = int(rng.integers(-(1 << 27), 1 << 27))
    xs = np.float32(g.tensors["x"].quant.scale.reshape(-1)[0])
    g.tensors["d.w"].data = taps.reshape(c, 3, 3, 1).astype(np.int8)
    g.tensors["d.w"].quant = q(ws.astype(np.float32), np.zeros(c, int), 0)
    g.tensors["d.b"].data = bias.astype(np.int32)
    g.tensors["d.b"].quant = q((xs * ws.astype(np.float32)).astype(np.float32), np.zeros(c, int), 0)
    if zfloor:
        g.tensors["d"].quant = q(float(g.tensors["d"].quant.scale[0]), -128)
    name = (f"dw3_pair_rq{variant}{'z' if zfloor else ''}_{'image' if image else 'streamed'}_{c}ch_w{w}_h{h}_"
            f"p{''.join(map(str, pads))}_{seed}")
    if stride == 2:
        name = name.replace("dw3_pair_rq", "dws2_pair_rq", 1)
    if image:
        g.outputs = ["d"]
        return Case(name, g, random_feeds(g, rng))
    return _projected_case(name, g, rng, "flat", c)


def _dws2_pair_case(seed: int) -> Case:
    """A 3x3 stride-2 depthwise conv streamed into a 1x1 without E and the add (depthwise_s8.c's
    dws2_ring: its window rows in dwp's pixel-pair layout, output pixel j over pair j and the first
    column of pair j + 1, two new rows an output row): input widths 3 to 30, odd and even (an odd
    output count: its last pixel as a pair's first, the second dropped), heights 2 to 13, paddings
    TF's one-sided 'same' (VWW's), symmetric, none, on the left and top only and two wide, 4 to 68
    channels (passes of eight and four; 9 and 22 not a multiple of four: the other path), one or
    two images; whole rows and row segments a call (block_run_flat), every fourth seed D's outputs
    of a whole image in scratch (dw_all, block_run_all, where P reads a layout)."""
    rng = np.random.default_rng(27900 + seed)
    c = (8, 16, 4, 32, 12, 64, 20, 9, 24, 28, 68, 22)[seed % 12]
    w, h = 3 + (seed * 7) % 28, 2 + (seed * 5) % 12
    pads = ((0, 0, 1, 1), (1, 1, 1, 1), (0, 0, 0, 0), (1, 1, 0, 0), (2, 2, 2, 2))[seed % 5]
    if h + pads[0] + pads[2] < 3 or w + pads[1] + pads[3] < 3:
        pads = (1, 1, 1, 1)
    batch = 2 if seed % 6 == 5 else 1
    while batch * h * w * c > 12000 and h > 2:
        h -= 1   # the M7 harness's buffers stay small
    g = _depthwise_graph(rng, "flat", c, (3, 3), 2, pads, h, w, batch, 6)
    cout = int(rng.choice([8, 16, 64])) if seed % 4 != 3 else int(rng.choice([32, 48]))
    add_random_conv(g, rng, "d", "p", cout, 1, 1, (0, 0, 0, 0), 1)
    _block_output(g, rng, False)
    name = f"streamed_block_dws2_pair_{c}ch_w{w}_h{h}_p{''.join(map(str, pads))}_b{batch}_{seed}"
    case = _streamed_case(name, g, rng)
    if seed % 4 == 3:
        from tte.compiler.emit.block import dw_all_bytes

        if dw_all_bytes(case.graph.nodes[0], case.graph):
            case = _given_dw_all(case, rng)
            case.name += "_all"
    return case


def _dw_copy_case(seed: int) -> Case:
    """A 5x5 or 7x7 depthwise (stride 1 or 2) over an input at most 8 wide, streamed into a 1x1
    (depthwise_s8.c's dw_copy: per channel group and output row the window rows' columns copied
    as x - zp into P's pair buffer, each pixel summing only its taps inside the image): flat,
    after a 1x1 E, or with the residual add; widths 1 to 8, heights 1 to 9, paddings symmetric,
    none, one-sided and wide; 8 to 96 channels (the pair buffer too small below about 40: the
    other path), one or two images."""
    rng = np.random.default_rng(9400 + seed)
    kind = ("flat", "expand", "residual")[seed % 3]
    k = ((5, 5), (7, 7), (5, 7))[seed // 3 % 3]
    c = (40, 64, 72, 96, 8, 56)[seed % 6]
    s = 1 if kind == "residual" else 1 + seed // 9 % 2
    w, h = 1 + (seed * 3) % 8, 1 + (seed * 5) % 9
    kh, kw = k
    pads = ((kh // 2, kw // 2, kh // 2, kw // 2), (0, 0, 0, 0), (kh // 2, kw // 2, kh // 2 - 1, kw // 2 - 1),
            (kh - 1, kw - 1, kh - 1, kw - 1))[seed % 4]
    if kind == "residual":
        pads = (kh // 2, kw // 2, kh // 2, kw // 2)
    if h + pads[0] + pads[2] - kh < 0 or w + pads[1] + pads[3] - kw < 0:
        pads = (kh - 1, kw - 1, kh - 1, kw - 1)
    # most seeds keep every multiplier below 1/2 (the output stage of mode 2), every fifth not
    g = _depthwise_graph(rng, kind, c, k, s, pads, h, w, 2 if seed % 7 == 6 else 1, 0.02 if seed % 5 == 4 else 2 * kh)
    return _projected_case(f"streamed_block_dw_copy_{kind}_{kh}x{kw}_s{s}_{c}ch_w{w}_h{h}_{seed}", g, rng, kind, c)


# --- dws (depthwise_s8.c's dws_out_row: dw_small's and dw_copy's pixels in runs of one tap count) ---
_DWS_SHAPES = ((1, 64), (64, 1), (8, 8), (4, 4), (1, 1), (2, 32), (3, 7), (7, 9), (5, 12), (16, 4), (1, 13), (6, 6))


def _dws_pads(k: int, h: int, w: int, seed: int) -> tuple[int, int, int, int]:
    """Paddings symmetric, one-sided, TF's 'same' at stride 2, the widest and none (where the
    window fits the image), so that runs start left of the edge, on it and right of it."""
    pads = ((k // 2, k // 2, k // 2, k // 2), (k // 2, k // 2, 0, 0), (k // 2 - 1, k // 2 - 1, k // 2, k // 2),
            (k - 1, k - 1, k - 1, k - 1), (0, 0, 0, 0), (0, k - 1, k // 2, 1))[seed % 6]
    if h + pads[0] + pads[2] - k < 0 or w + pads[1] + pads[3] - k < 0:
        pads = (k - 1, k - 1, k - 1, k - 1)
    return pads


def _dw_y_graph(rng: np.random.Generator, xq: QuantParams, shape: tuple[int, int, int, int], kernel: tuple[int, int],
                strides: tuple[int, int], pads: tuple[int, int, int, int], bias: bool, out_factor: float,
                act: str) -> Graph:
    """x (shape, xq) into a depthwise conv 'y' (weights 'w', a bias 'b' of +-3000 if asked), its
    output scale out_factor times its input's: the small-image depthwise cases' graph."""
    c = shape[3]
    g = new_graph({"x": (shape, "int8", xq)})
    ws = np.exp(rng.uniform(np.log(2e-3), np.log(5e-2), c)).astype(np.float32)
    g.add_const("w", rand_s8(rng, (c, *kernel, 1)), "int8", q(ws, np.zeros(c, int), 0))
    ins = ["x", "w"]
    if bias:
        bs = (np.float32(xq.scale[0]) * ws).astype(np.float32)
        g.add_const("b", rng.integers(-3000, 3000, c).astype(np.int32), "int32", q(bs, np.zeros(c, int), 0))
        ins.append("b")
    g.add_node("conv2d", ins, "y", {"strides": strides, "dilations": (1, 1), "pads": pads, "groups": c,
                                    "activation": act},
               quant=q(float(xq.scale[0]) * out_factor, int(rng.integers(-40, 41))))
    g.outputs = ["y"]
    return g


def _dws_small_run_case(seed: int) -> Case:
    """A 5x5 or 7x7 depthwise, stride 1 or 2, over a whole image of 1 to 64 pixels (1-wide,
    1-high, 8x8, 4x4, ...: depthwise_s8.c's dw_small, its pixels in runs of one tap count a
    window row on one side of the left edge, each run in one assembly loop in mode 2): 5 to 36
    channels (mostly not a multiple of four), the output stage of mode 2 and (every third seed)
    the exact one, with and without a bias, one or two images."""
    rng = np.random.default_rng(9700 + seed)
    k, s = (5, 7)[seed % 2], (1, 2)[seed // 2 % 2]
    h, w = _DWS_SHAPES[seed % len(_DWS_SHAPES)]
    pads = _dws_pads(k, h, w, seed // 4)
    c = (5, 7, 13, 22, 36, 12)[seed % 6]
    xq = rand_q(rng)
    g = _dw_y_graph(rng, xq, (2 if seed % 9 == 8 else 1, h, w, c), (k, k), (s, s), pads, seed % 5 != 3,
                    0.02 if seed % 3 == 2 else 2 * k, "none")
    return Case(f"dws_small_{k}x{k}_s{s}_{c}ch_h{h}w{w}_p{''.join(map(str, pads))}_{seed}", g, random_feeds(g, rng))


def _dws_copy_run_case(seed: int) -> Case:
    """The same windows over inputs 1 to 8 wide and 1 to 9 high, streamed into a 1x1
    (depthwise_s8.c's dw_copy, then the same runs): 42 to 98 channels (the pair buffer large
    enough; most not a multiple of four), both output stages, one or two images."""
    rng = np.random.default_rng(9800 + seed)
    k, s = (5, 7)[seed % 2], (1, 2)[seed // 2 % 2]
    w, h = (1, 8, 4, 3, 7, 2, 6, 5)[seed % 8], (9, 1, 4, 8, 2, 7, 3, 6)[seed // 2 % 8]
    pads = _dws_pads(k, h, w, seed // 3)
    c = (42, 64, 75, 98, 57)[seed % 5]
    g = _depthwise_graph(rng, "flat", c, (k, k), s, pads, h, w, 2 if seed % 7 == 6 else 1,
                         0.02 if seed % 3 == 1 else 2 * k)
    return _projected_case(f"dws_copy_{k}x{k}_s{s}_{c}ch_w{w}_h{h}_p{''.join(map(str, pads))}_{seed}", g, rng,
                           "flat", c)


# --- dw_whole4 (depthwise_s8.c): a depthwise over a 4x4 image as a 7x7 one, every window the whole image ---
def _dw_whole4_case(seed: int) -> Case:
    """A depthwise at stride 1 over a whole 4x4 image with 4x4 outputs whose window, with zero taps
    around it, is a 7x7 one at padding 3 that covers the whole image from every pixel
    (depthwise_s8.c's dw_whole4 under dw_small: the paper models' late 4x4 layers, 7x7 at padding
    3 and 5x5 at padding 2, each pixel's 16 taps in one straight path): windows 7x7, 5x5, 5x7,
    7x5, 6x4 and 2x3, each padding above and left it allows, 4 to 36 channels (some not a
    multiple of four), one or two images, with and without a bias, the output stage of mode 2
    and the exact one (every sixth seed, and with a ReLU every fifth); every seventh seed no
    padding above and left (a window that misses a row: dws_out_row's)."""
    rng = np.random.default_rng(9900 + seed)
    kh, kw = ((7, 7), (5, 5), (5, 7), (7, 5), (5, 5), (6, 4), (2, 3), (7, 7))[seed % 8]
    top = int(rng.integers(max(0, kh - 4), min(3, kh - 1) + 1))
    left = int(rng.integers(max(0, kw - 4), min(3, kw - 1) + 1))
    if seed % 7 == 6:
        top = left = 0
    pads = (top, left, kh - 1 - top, kw - 1 - left)
    c = (4, 8, 12, 20, 36, 7, 22, 16)[(seed + seed // 8) % 8]
    xq = rand_q(rng)
    g = _dw_y_graph(rng, xq, (2 if seed % 5 == 4 else 1, 4, 4, c), (kh, kw), (1, 1), pads, seed % 4 != 2,
                    0.02 if seed % 6 == 5 else 2.0 * kh, "relu" if seed % 5 == 1 else "none")
    return Case(f"dw_whole4_{kh}x{kw}_{c}ch_p{''.join(map(str, pads))}_{seed}", g, random_feeds(g, rng))


# --- dw_small8 (depthwise_s8.c): a 5x5 / 7x7 depthwise over an 8-wide image, each window row whole ---
def _dw_small8_case(seed: int) -> Case:
    """A square 5x5 or 7x7 depthwise over a whole image 8 wide and 1 to 8 high, padding k // 2 on
    the left (depthwise_s8.c's dw_small8 under dw_small: the image copied with zero columns
    beside it, each pixel its window rows inside the image whole, entered at the first one):
    stride 1 or 2 each way, padding above none, one, k // 2 or k - 1 and below none, k // 2 or
    k - 1, on the right k // 2 or less, 4 to 36 channels (some not a multiple of four), one or
    two images, with and without a bias, the output stage of mode 2 and (every sixth seed) the
    exact one; every eleventh seed padding k // 2 - 1 on the left and every thirteenth an image
    7 wide (dw_small8 does not take them)."""
    rng = np.random.default_rng(9950 + seed)
    k = (5, 7)[seed % 2]
    hk = k // 2
    s = ((1, 1), (2, 2), (1, 2), (2, 1))[seed // 2 % 4]
    h = int(rng.integers(1, 9))
    w = 7 if seed % 13 == 12 else 8
    top = (hk, 0, k - 1, 1)[seed % 4]
    bottom = (hk, 0, k - 1)[seed % 3]
    if h + top + bottom < k:
        bottom = k - 1
    left = hk - 1 if seed % 11 == 10 else hk
    right = (hk, hk - 1, 0)[seed // 3 % 3]
    if w + left + right < k:
        right = hk
    c = (4, 8, 12, 20, 36, 7, 22, 16)[(seed + seed // 8) % 8]
    xq = rand_q(rng)
    pads = (top, left, bottom, right)
    g = _dw_y_graph(rng, xq, (2 if seed % 5 == 4 else 1, h, w, c), (k, k), s, pads, seed % 4 != 1,
                    0.02 if seed % 6 == 5 else 2.0 * k, "none")
    return Case(f"dw_small8_{k}x{k}_s{s[0]}{s[1]}_{c}ch_h{h}w{w}_p{''.join(map(str, pads))}_{seed}", g,
                random_feeds(g, rng))


# --- dw57_run (depthwise_s8.c), the 5x5 / 7x7 pixels inside the input in one assembly loop ---
def _dw57_run_case(seed: int) -> Case:
    """A square 5x5 or 7x7 depthwise, stride 1 or 2, over an input wider than dw_copy takes (9 to
    21 columns): streamed into a 1x1 (flat, after a 1x1 E, or with the residual add), or alone as a
    whole-image conv2d (weights transposed per call, no compile-time layout) on every fourth seed.
    Runs of pixels inside starting and ending at every column (paddings symmetric, none,
    one-sided and wide; the run is a segment of the streamed rows' chunks); 6 to 46 channels, half
    not a multiple of four (the last channels on the portable loop); every fifth seed a multiplier
    above 1/2 (not the output stage of mode 2: the other path)."""
    rng = np.random.default_rng(16570 + seed)
    kind = ("flat", "expand", "residual", "whole")[seed % 4]
    kk = (5, 7)[seed // 4 % 2]
    c = (24, 46, 20, 13, 36, 6, 30, 40)[seed % 8]
    s = 1 if kind == "residual" else 1 + seed // 8 % 2
    w, h = 9 + (seed * 5) % 13, kk - 2 + (seed * 3) % 7
    pads = ((kk // 2,) * 4, (0, 0, 0, 0), (kk // 2, kk // 2, kk // 2 - 1, kk // 2 - 2), (kk // 2 - 1, 1, kk // 2, 0),
            (kk - 1,) * 4)[seed % 5]
    if kind == "residual":
        pads = (kk // 2,) * 4
    if h + pads[0] + pads[2] - kk < 0:
        pads = (kk - 1,) * 4
    g = _depthwise_graph(rng, kind, c, (kk, kk), s, pads, h, w, 2 if seed % 7 == 6 else 1,
                         0.02 if seed % 5 == 4 else 2 * kk)
    name = f"dw57_run_{kind}_{kk}x{kk}_s{s}_{c}ch_w{w}_h{h}_{seed}"
    if kind == "whole":
        g.outputs = ["d"]
        return Case(name, g, random_feeds(g, rng))
    return _projected_case(name, g, rng, kind, c)


# --- dw57_side (depthwise_s8.c), the 5x5 / 7x7 border pixels whose window is cut on one side ---
def _dw57_side_case(seed: int) -> Case:
    """A square 5x5 or 7x7 depthwise, stride 1 or 2, on 6 to 30 channels (most not a multiple of
    four; below 32 the streamed block has no pair buffer, so not dw_copy's path): border pixels
    cut on the left (forward runs entered at the first tap inside), on the right (backward runs),
    above and below only, and on both sides where the input is narrower than the window (5 to 16
    columns). Paddings symmetric, none, left or right only, TF's stride-2 'same' (bottom-right
    only) and wide; streamed after a 1x1 E or flat, or a whole-image conv2d (more than 64 pixels:
    not dw_small) on every third seed; every fifth seed a multiplier above 1/2 (not mode 2)."""
    rng = np.random.default_rng(23900 + seed)
    kind = ("expand", "flat", "whole")[seed % 3]
    kk = (5, 7)[seed // 3 % 2]
    s = 1 + seed // 6 % 2
    c = (13, 6, 30, 20, 7, 24, 9, 18)[seed % 8]
    w = 5 + (seed * 7) % 12
    h = max(kk - 1 + (seed * 5) % 6, 66 // w + 1) if kind == "whole" else kk - 1 + (seed * 5) % 6
    p = kk // 2
    pads = ((p, p, p, p), (0, 0, 0, 0), (p, p, p, 0), (p, 0, p, p), (0, 0, kk - 2, kk - 2), (kk - 1,) * 4,
            (1, p + 1, p - 1, 1))[seed % 7]
    if h + pads[0] + pads[2] - kk < 0 or w + pads[1] + pads[3] - kk < 0:
        pads = (kk - 1,) * 4
    g = _depthwise_graph(rng, "expand" if kind == "expand" else "flat", c, (kk, kk), s, pads, h, w,
                         2 if seed % 8 == 7 else 1, 0.02 if seed % 5 == 4 else 2 * kk)
    name = f"dw57_side_{kind}_{kk}x{kk}_s{s}_{c}ch_w{w}_h{h}_p{''.join(map(str, pads))}_{seed}"
    if kind == "whole":
        g.outputs = ["d"]
        return Case(name, g, random_feeds(g, rng))
    return _projected_case(name, g, rng, "flat", c)


# --- dw57_pad (depthwise_s8.c): a 5x5 / 7x7 depthwise over a padded copy of its rows (dw57pad) ---
def _dw57_pad_case(seed: int) -> Case:
    """A square 5x5 or 7x7 depthwise, stride 1 or 2, streamed into a 1x1 (flat: whole rows and row
    segments a call; after a 1x1 E; or with the residual add), its block given dw57_pad's copy of
    the window rows in its scratch (tte.compiler.emit.block.DW_PAD_META) on three seeds of four
    (at stride 1; stride 2 is not a candidate: the old path), the old path on the fourth: inputs
    1 to 12 columns wide (narrower than the window too) and 25 to 36, paddings symmetric, none,
    one-sided, TF's stride-2 'same' and wide; 4 to 45 channels, most not a multiple of four;
    every fifth seed a multiplier above 1/2 (not mode 2: the other path)."""

    rng = np.random.default_rng(57570 + seed)
    kind = ("flat", "expand", "residual", "flat", "expand")[seed % 5]
    kk = (5, 7)[seed // 2 % 2]
    s = 1 if kind == "residual" else 1 + seed // 4 % 2
    c = (13, 6, 30, 20, 45, 24, 9, 4, 18, 37)[seed % 10]
    w, h = 1 + (seed * 5) % 12 + (24 if seed % 6 == 5 else 0), 1 + (seed * 3) % 9
    p = kk // 2
    pads = ((p, p, p, p), (0, 0, 0, 0), (p, p, p, 0), (p, 0, p, p), (0, 0, kk - 2, kk - 2), (kk - 1,) * 4,
            (1, p + 1, p - 1, 1), (p, 1, p, kk - 1))[seed % 8]
    if kind == "residual":
        pads = (p, p, p, p)
    if h + pads[0] + pads[2] - kk < 0 or w + pads[1] + pads[3] - kk < 0:
        pads = (kk - 1,) * 4
    g = _depthwise_graph(rng, kind, c, (kk, kk), s, pads, h, w, 2 if seed % 9 == 8 else 1,
                         0.02 if seed % 5 == 4 else 2 * kk)
    given = seed % 4 != 3
    case = _projected_case(f"dw57_pad_{kind}_{kk}x{kk}_s{s}_{c}ch_w{w}_h{h}_p{''.join(map(str, pads))}"
                           f"{'' if given else '_nocopy'}_{seed}", g, rng, kind, c)
    return _given_dw_pad(case, rng) if given else case


def _given_dw_pad(case: Case, rng: np.random.Generator) -> Case:
    """The case's streamed block given its depthwise's padded copy or widened rows (DW_PAD_META)."""
    from tte.compiler.emit.block import DW_PAD_META

    return _given_scratch(case, rng, DW_PAD_META)


# --- dw3pad: a streamed 3x3 depthwise given dw3_ring's copy as optional block scratch (DW_PAD_META) ---
def _dw3_pad_case(seed: int) -> Case:
    """A 3x3 depthwise, stride 1 or 2, streamed into a 1x1 (flat; after a 1x1 E; or with the
    residual add), its block given the ring of three padded rows (tte.compiler.emit.block.
    dw_pad_bytes: dw3_ring's for its whole output row, which a 1x1 E or the add leave out of P's
    pair buffer otherwise) on three seeds of four (at stride 2, over DW3_PAD_MAX_WIDTH or where D
    has the ring anyway, flat or within the pair buffer, not a candidate), none on the fourth:
    widths 1 to 70 (most of the given ones at most 32; from 33 to 64 the ring's rows span as many
    columns as the first blocks' 64), heights 1 to 6, paddings symmetric, none,
    one-sided, TF's stride-2 'same' and two wide; 4 to 45 channels, most not a multiple of four
    (fewer than 32: no pair buffer at all); every seventh seed a multiplier above 1/2 (not mode 2)."""

    rng = np.random.default_rng(33330 + seed)
    kind = ("expand", "residual", "flat", "expand", "residual")[seed % 5]
    s = 1 if kind == "residual" else 1 + seed // 3 % 2
    c = (13, 6, 30, 20, 45, 24, 9, 4, 18, 37, 8, 42)[seed % 12]
    w, h = 1 + (seed * 11) % (70 if seed % 3 == 0 else 32), 1 + (seed * 5) % 6
    pads = ((1, 1, 1, 1), (0, 0, 0, 0), (1, 1, 1, 0), (1, 0, 1, 1), (0, 0, 1, 1), (2, 2, 2, 2), (0, 1, 2, 0))[seed % 7]
    if kind == "residual":
        pads = (1, 1, 1, 1)
    if h + pads[0] + pads[2] - 3 < 0 or w + pads[1] + pads[3] - 3 < 0:
        pads = (2, 2, 2, 2)
    g = _depthwise_graph(rng, kind, c, (3, 3), s, pads, h, w, 2 if seed % 8 == 7 else 1,
                         0.02 if seed % 7 == 6 else 6)
    given = seed % 4 != 3
    case = _projected_case(f"dw3_pad_{kind}_s{s}_{c}ch_w{w}_h{h}_p{''.join(map(str, pads))}"
                           f"{'' if given else '_nocopy'}_{seed}", g, rng, kind, c)
    return _given_dw_pad(case, rng) if given else case


# --- dw3wide: the paper models' first block (64 wide, 16 channels after a 1x1 E) given dw3_ring's ring ---
def _dw3_wide_case(seed: int) -> Case:
    """A 3x3 stride-1 depthwise after a 1x1 E (or with the residual add) streamed into a 1x1, its
    block given dw3_ring's ring for a whole output row 32 to 64 columns wide (one of 65: over
    DW3_PAD_MAX_WIDTH, dw3_groups), as the paper models' first block (64 wide, 16 channels, no pair
    buffer: --speed-kb gives it): 16, 24 or 20 channels (eight a pass, then a group of four),
    heights 1 to 4, paddings symmetric or TF's one-sided."""
    rng = np.random.default_rng(64640 + seed)
    kind = ("expand", "expand", "residual")[seed % 3]
    c = (16, 24, 20)[seed // 2 % 3]
    w, h = (64, 33, 48, 66, 57, 64)[seed % 6], 1 + seed % 4
    pads = (1, 1, 1, 1) if kind == "residual" or seed % 2 == 0 else (0, 0, 1, 1)
    g = _depthwise_graph(rng, kind, c, (3, 3), 1, pads, h, w, 1, 6)
    case = _projected_case(f"dw3_wide_{kind}_{c}ch_w{w}_h{h}_p{''.join(map(str, pads))}_{seed}", g, rng, kind, c)
    return _given_dw_pad(case, rng)



def _dw3_wide_plain_case(seed: int) -> Case:
    """_dw3_wide_case's block (a 1x1 E -> 3x3 stride-1 depthwise -> 1x1, given its depthwise's rows
    kept whole: dw3_wide) where the pixel-pair words may not be doubled (tte/compiler/emit/block.py
    _dw3_pairs_doubled): a channel's folded bias one past the doubled sums' bound, so that dw3_wide
    takes the plain output stage (dwp_row8, dwp_row4, dwp_odd's and dwp_lone's) while the other
    cases of dw3_wide take the doubled one: 16, 20 or 24 channels, 33 to 66 wide, 2 to 4 rows."""
    rng = np.random.default_rng(64650 + seed)
    kind = ("expand", "residual", "expand")[seed % 3]
    c = (16, 20, 24)[seed % 3]
    w, h = (64, 33, 66)[seed % 3], 2 + seed % 3
    pads = (1, 1, 1, 1) if kind == "residual" or seed % 2 == 0 else (0, 0, 1, 1)
    g = _depthwise_graph(rng, kind, c, (3, 3), 1, pads, h, w, 1, 6)
    xzp = int(np.asarray(g.tensors["x"].quant.zero_point).reshape(-1)[0])
    taps = np.asarray(g.tensors["d.w"].data, np.int64).reshape(c, 9)
    bias = np.asarray(g.tensors["d.b"].data, np.int64).copy()
    bias[seed % c] = (1 << 30) - 9 * 128 * 128 + xzp * taps[seed % c].sum()   # folded: one past the bound
    g.tensors["d.b"].data = bias.astype(np.int32)
    case = _projected_case(f"dw3_wide_plain_{kind}_{c}ch_w{w}_h{h}_p{''.join(map(str, pads))}_{seed}", g, rng,
                           kind, c)
    return _given_dw_pad(case, rng)

# --- dw3keep: a streamed block with E whose 3x3 stride-1 depthwise keeps its widened rows across calls ---
def _dw3_block_case(kind: str, seed: int, rng: np.random.Generator, c: int, w: int) -> Case:
    """dw3keep's and dw3live's streamed block, named dw3_<kind>_...: a 1x1 E -> 3x3 stride-1
    depthwise of c channels, w outputs wide -> 1x1 P, the residual add on odd seeds; the rows,
    paddings and multipliers from the seed (see _dw3_keep_case)."""
    residual = seed % 2 == 1
    h = 1 + (seed * 3) % 7
    pads = ((1, 1, 1, 1), (0, 0, 0, 0), (0, 0, 1, 1), (1, 1, 0, 0), (2, 2, 2, 2), (1, 0, 2, 1))[seed % 6]
    if residual:
        pads = (1, 1, 1, 1)
    if h + pads[0] + pads[2] < 3 or w + pads[1] + pads[3] < 3:
        pads = (2, 2, 2, 2)
    g = _depthwise_graph(rng, "expand", c, (3, 3), 1, pads, h, w, 2 if seed % 7 == 6 else 1,
                         0.02 if seed % 5 == 4 else 6)
    c0 = g.tensors["x"].shape[-1]
    add_random_conv(g, rng, "d", "p", c0 if residual else int(rng.choice([8, 16])), 1, 1, (0, 0, 0, 0), 1)
    _block_output(g, rng, residual)
    name = f"dw3_{kind}_{'residual' if residual else 'expand'}_{c}ch_w{w}_h{h}_p{''.join(map(str, pads))}_{seed}"
    return _streamed_case(name, g, rng)


def _dw3_keep_case(seed: int) -> Case:
    """A 1x1 E (from 8 or 16 channels) -> 3x3 stride-1 depthwise -> 1x1 P, with the residual add of
    the block input on every other seed (MobileNetV2's stride-1 blocks), streamed and given its
    depthwise's rows kept widened across calls (DW_PAD_META: depthwise_s8.c's dw3_wide, each row of
    E's output widened once into one of three slots, the padding's rows the zero point's): 4 to 96
    channels, all multiples of four (eight a pass, a last group of four where C % 8 is 4), outputs
    1 to 19 wide (odd and even), 1 to 7 rows (a row outside above and below, windows cut by the
    image's bottom), paddings symmetric, none, one-sided and two wide (rows -2 and in_h + 1
    reach slots); one or two images (the slots refilled per image); every fifth seed a multiplier
    above 1/2 (not mode 2's output stage: the int8 ring's path)."""
    rng = np.random.default_rng(41410 + seed)
    c = (4, 8, 12, 16, 20, 36, 48, 96, 44, 24)[seed % 10]
    return _given_dw_pad(_dw3_block_case("keep", seed, rng, c, 1 + (seed * 7) % 19), rng)


# --- dw3live: dw3keep's block whose depthwise bias a step trains (DW_LIVE_META): a layout of biases 0 ---
def _dw3_live_case(seed: int) -> Case:
    """dw3keep's block (1x1 E -> 3x3 stride-1 depthwise -> 1x1 P, the residual add on every other
    seed) given its depthwise's rows kept widened, its depthwise bias marked as one a step trains
    (DW_LIVE_META): the block reads dw_layout with biases 0 through tte_conv2d_s8_dw3_wide_live,
    which adds the bias array the call is given (so the reference's bias, which the layout does
    not hold, must come out) to each pass's block: 8 to 96 channels (a multiple of eight, eight a
    pass: dw_live), outputs 1 to 19 wide, 1 to 7 rows, paddings symmetric, none,
    one-sided and two wide; every fifth seed a multiplier above 1/2 (not mode 2: the plain path
    over the live arrays, no layout read)."""
    from tte.compiler.emit.block import DW_LIVE_META, _block_parts, dw_live_given

    rng = np.random.default_rng(52520 + seed)
    c = (8, 16, 24, 48, 96, 40, 64, 32, 56, 8)[seed % 10]
    case = _dw3_block_case("live", seed, rng, c, 1 + (seed * 5) % 19)
    node = case.graph.nodes[0]
    case.graph.meta[DW_LIVE_META] = frozenset({_block_parts(node)[1].inputs[2]})
    case = _given_dw_pad(case, rng)
    assert dw_live_given(node, case.graph), case.name
    return case


def _dw3_ring_image_case(seed: int) -> Case:
    """A whole-image 3x3 stride-1 depthwise conv2d (trained weights: no compile-time layout) that
    depthwise_s8.c's dw3_ring_image runs through dw3_ring with the ring on the stack: outputs 1 to 8
    wide (eight channels a pass where 48 bytes a column fit) and 9 to 18 (four a pass), 1 to 9 rows;
    paddings symmetric, none, one-sided and two wide; 4 to 44 channels (C % 8 of 4: a last group of
    four; some not a multiple of four: the portable loop after); one or two images; every fifth
    seed a multiplier above 1/2 (not mode 2's output stage: dw3_groups)."""
    rng = np.random.default_rng(17230 + seed)
    c = (8, 12, 20, 7, 44, 4, 30, 16)[seed % 8]
    w = 1 + (seed * 5) % 18
    h = 1 + (seed * 7) % 9
    pads = ((1, 1, 1, 1), (0, 0, 0, 0), (1, 0, 0, 1), (2, 2, 2, 2), (0, 1, 1, 0))[seed % 5]
    if h + pads[0] + pads[2] < 3 or w + pads[1] + pads[3] < 3:
        pads = (1, 1, 1, 1)
        h, w = max(h, 1), max(w, 1)
    g = _depthwise_graph(rng, "flat", c, (3, 3), 1, pads, h, w, 2 if seed % 6 == 5 else 1,
                         0.02 if seed % 5 == 4 else 6.0)
    g.outputs = ["d"]
    ow = w + pads[1] + pads[3] - 2
    return Case(f"dw3_ring_image_{c}ch_w{w}_ow{ow}_h{h}_p{''.join(map(str, pads))}_{seed}", g, random_feeds(g, rng))


def _dw3_ring_image_taps_case(seed: int) -> Case:
    """dw3_ring_image's words made per channel group (dwp_words: each channel's nine taps as two
    words and a byte, their sum by USAD8) on taps at the int8 ends: a channel all -128, all 127,
    alternating, one end with the other at the ninth tap, random; with a bias and without (NULL)."""
    rng = np.random.default_rng(17300 + seed)
    c = (8, 12, 16, 20)[seed % 4]
    g = _depthwise_graph(rng, "flat", c, (3, 3), 1, (1, 1, 1, 1), 3 + seed, 4 + 2 * seed, 1, 6.0)
    taps = rand_s8(rng, (c, 9))
    patterns = [np.full(9, -128), np.full(9, 127), np.tile([-128, 127], 5)[:9], np.r_[np.full(8, 127), -128],
                np.r_[np.full(8, -128), 127]]
    for i in range(c):
        if i % 6 < len(patterns):
            taps[i] = patterns[(i + seed) % len(patterns)]
    g.tensors["d.w"].data = taps.reshape(c, 3, 3, 1).astype(np.int8)
    if seed % 2:
        node = g.nodes[-1]
        node.inputs = node.inputs[:2]
        del g.tensors["d.b"]
    g.outputs = ["d"]
    return Case(f"dw3_ring_image_taps_{c}ch_{'bias' if seed % 2 == 0 else 'nobias'}_{seed}", g,
                random_feeds(g, rng))


# --- stem_pass8_rq (conv_stem_s8.c): the eight-pixel pass with its output stage fused ---
def _stem_rq_case(seed: int, wide: int = 0) -> Case:
    """Regular convs over few input channels (conv_stem_s8.c's eight-pixel passes): the RGB stem
    (3x3x3, whose pass stem_pass8_rq requantizes the eight pixels' sums in registers when the
    clamp range is all of int8) beside windows of 21 to 44 values, out_c 8 to 24 (not only
    multiples of 8), output pixel counts with every remainder of 8, rows of RGB windows wide enough
    for eight inside the image (gemm_stem_run), batch 2, 'same' and no padding, the clamp range all of
    int8 (mode 2) or a ReLU's (mode 1), no bias (the unfused pass), a channel of multiplier 0
    (scale below 2**-31: the exact output stage), and rows dilated. ``wide``: that many output
    channels instead (over 16: stem_pass8_rq's table of output stage constants in chunks of 16
    channels, the last channel's weights, from the padded copy, in the last chunk)."""
    rng = np.random.default_rng(9900 + seed)
    # 0 and 3: the clamp range all of int8 (3: the RGB stem); 1: a ReLU's, its zero point -128
    # (all of int8) or not; 2: a channel of multiplier 0, or no bias
    variant = seed // 8
    kh, kw, cin = [(3, 3, 3), (3, 3, 3), (3, 3, 3), (5, 5, 1), (3, 7, 1), (2, 4, 3), (10, 4, 1), (4, 11, 1)][
        0 if variant == 3 else seed % 8]
    s = (2, 2) if seed % 3 else (1, 2)
    pads = (kh // 2, kw // 2, (kh - 1) // 2, (kw - 1) // 2) if seed % 2 == 0 else (0, 0, 0, 0)
    # an odd output width: some height gives every remainder of the pixel count by 8
    ow = int(rng.choice([11, 13, 17, 19] if cin == 3 else [3, 5, 7, 9, 11]))
    oh = (seed + variant) % 8 * pow(ow, -1, 8) % 8
    oh += 8 if oh < 2 else 0
    dh = 2 if seed >= 30 else 1  # a dilated stem's rows
    h = (oh - 1) * s[0] + (kh - 1) * dh + 1 - pads[0] - pads[2]
    w = (ow - 1) * s[1] + kw - pads[1] - pads[3]
    cout = wide or [8, 16, 24, 9, 13, 17, 23, 16][(seed * 3 + variant) % 8]
    xq = rand_q(rng)
    act = "relu" if variant == 1 else "none"
    yq = q(float(rng.uniform(0.02, 0.08)), -128 if variant == 1 and seed % 2 else int(rng.integers(-40, 41)))
    g = new_graph({"x": ((2 if seed % 5 == 4 else 1, h, w, cin), "int8", xq)})
    ws = np.exp(rng.uniform(np.log(1e-3), np.log(2e-2), cout)).astype(np.float32)
    if variant == 2 and seed % 2 == 0:
        ws[int(rng.integers(0, cout))] = np.float32(2.0 ** -34 * float(yq.scale[0]) / float(xq.scale[0]))
    g.add_const("w", rand_s8(rng, (cout, kh, kw, cin)), "int8", q(ws, np.zeros(cout, int), 0))
    ins = ["x", "w"]
    if variant != 2 or seed % 2 == 0:
        bs = (np.float32(xq.scale[0]) * ws).astype(np.float32)
        g.add_const("b", rng.integers(-3000, 3000, cout).astype(np.int32), "int32", q(bs, np.zeros(cout, int), 0))
        ins.append("b")
    g.add_node("conv2d", ins, "y", {"strides": s, "dilations": (dh, 1), "pads": pads, "groups": 1,
                                    "activation": act}, quant=yq)
    g.outputs = ["y"]
    return Case(f"conv2d_stem_rq_{seed}" + (f"_oc{wide}" if wide else ""), g, random_feeds(g, rng))


# --- stem_pass8_rq's runs (conv_stem_s8.c): a row's passes inside the image in one call ---
def _stem_run_case(seed: int) -> Case:
    """The RGB stem (3x3x3, clamp range all of int8, a bias) over rows wide enough for runs of up to
    eight passes of eight windows inside the image (stem_pass8_rq widening each pass's windows
    itself), the row's last pass or two through the windows one by one: output channels 16 and 8
    (outputs at immediate offsets), 3, 5, 13 (any stride) and 24 (two chunks of constants, no runs),
    widths a multiple of 8 or not (a pass across two rows), stride 2 and 1, 'same' padding of
    TensorFlow (right and bottom only) or on both sides, batch 1 or 2."""
    rng = np.random.default_rng(9950 + seed)
    cout = [16, 8, 3, 16, 5, 24, 13, 8][seed % 8]
    s = (1, 1) if seed % 4 == 3 else (2, 2)
    oh, ow = [(3, 64), (4, 48), (2, 67), (3, 40), (5, 33), (2, 56), (3, 29), (2, 71)][seed % 8]
    pads = (0, 0, 1, 1) if seed % 2 == 0 else (1, 1, 1, 1)
    h = (oh - 1) * s[0] + 3 - pads[0] - pads[2]
    w = (ow - 1) * s[1] + 3 - pads[1] - pads[3]
    xq = rand_q(rng)
    yq = q(float(rng.uniform(0.02, 0.08)), int(rng.integers(-40, 41)))
    g = new_graph({"x": ((2 if seed % 3 == 1 else 1, h, w, 3), "int8", xq)})
    ws = np.exp(rng.uniform(np.log(1e-3), np.log(2e-2), cout)).astype(np.float32)
    g.add_const("w", rand_s8(rng, (cout, 3, 3, 3)), "int8", q(ws, np.zeros(cout, int), 0))
    bs = (np.float32(xq.scale[0]) * ws).astype(np.float32)
    g.add_const("b", rng.integers(-3000, 3000, cout).astype(np.int32), "int32", q(bs, np.zeros(cout, int), 0))
    g.add_node("conv2d", ["x", "w", "b"], "y", {"strides": s, "dilations": (1, 1), "pads": pads, "groups": 1,
                                                "activation": "none"}, quant=yq)
    g.outputs = ["y"]
    return Case(f"conv2d_stem_run_{seed}", g, random_feeds(g, rng))


# --- stem3 (conv_stem_s8.c): the RGB stem, three pixels by two output channels a step ---
def _stem3_case(seed: int) -> Case:
    """The RGB stem (3x3x3, a bias, clamp range all of int8) over 4 and 8 output channels (stem3:
    weights laid out per call, groups of three pixels): row widths of every remainder by 3 (a row's
    last group computing one or two pixels again) down to 3 and 4, rows with no group inside the
    image, stride 2 (VWW's 96x96 to 48x48 below; one case of stride 1, which the strip kernel
    takes where it can), 'same' padding of TensorFlow (right and bottom only) or on every side,
    rows dilated, batch 2, input zero points -128 and 127, a bias at stem3's bound and one past
    it (the GEMM instead)."""
    rng = np.random.default_rng(9980 + seed)
    cout = 8 if seed % 2 == 0 else 4
    s = (1, 1) if seed == 3 else (2, 2)
    oh, ow = [(3, 48), (2, 13), (4, 14), (3, 3), (2, 4), (5, 5), (2, 31), (3, 16), (48, 48), (2, 7)][seed % 10]
    pads = (0, 0, 1, 1) if seed % 3 != 1 else (1, 1, 1, 1)
    dh = 2 if seed in (5, 10) else 1
    h = (oh - 1) * s[0] + 2 * dh + 1 - pads[0] - pads[2]
    w = (ow - 1) * s[1] + 3 - pads[1] - pads[3]
    zp = [-128, 127][seed % 2] if seed in (2, 3, 11) else int(rng.integers(-60, 60))
    xq = q(float(rng.uniform(0.01, 0.05)), zp)
    yq = q(float(rng.uniform(0.02, 0.08)), int(rng.integers(-40, 41)))
    g = new_graph({"x": ((2 if seed % 5 == 4 else 1, h, w, 3), "int8", xq)})
    ws = np.exp(rng.uniform(np.log(1e-3), np.log(2e-2), cout)).astype(np.float32)
    g.add_const("w", rand_s8(rng, (cout, 3, 3, 3)), "int8", q(ws, np.zeros(cout, int), 0))
    b = rng.integers(-3000, 3000, cout).astype(np.int64)
    if seed in (7, 11):
        # the largest |bias| stem3 takes, or one past it
        b[int(rng.integers(0, cout))] = (2 ** 29 - 27 * 255 * 128 - (1 if seed == 7 else 0)) * (-1) ** seed
    bs = (np.float32(xq.scale[0]) * ws).astype(np.float32)
    g.add_const("b", b.astype(np.int32), "int32", q(bs, np.zeros(cout, int), 0))
    g.add_node("conv2d", ["x", "w", "b"], "y", {"strides": s, "dilations": (dh, 1), "pads": pads, "groups": 1,
                                                "activation": "none"}, quant=yq)
    g.outputs = ["y"]
    return Case(f"conv2d_stem3_{seed}", g, random_feeds(g, rng))


def _stem3_block_case(seed: int) -> Case:
    """A streamed block whose expand conv is an RGB stem laid out at compile time
    (tte.compiler.emit.block.stem3_layout, conv_stem_s8.c's tte_conv2d_s8_stem3_prep; VWW's first
    block): 4 and 8 output channels, stride 2 and 1, 'same' padding of TensorFlow (right and bottom
    only) or on every side, rows dilated, output rows of 3 to 13 pixels (every remainder by three),
    batch 2, input zero points -128 and 127, a bias at the kernel's bound, a ReLU from zero point -128
    (the clamp range still all of int8); then a 3x3 depthwise and a 1x1."""
    from tte.compiler.emit.block import stem3_layout

    rng = np.random.default_rng(9990 + seed)
    cout = 8 if seed % 2 == 0 else 4
    st = 1 if seed % 4 == 3 else 2
    oh, ow = [(3, 12), (2, 13), (4, 5), (3, 3), (2, 4), (5, 7), (3, 8), (4, 10)][seed % 8]
    pads = (0, 0, 1, 1) if seed % 3 != 1 else (1, 1, 1, 1)
    dh = 2 if seed in (5, 9) else 1
    h = (oh - 1) * st + 2 * dh + 1 - pads[0] - pads[2]
    w = (ow - 1) * st + 3 - pads[1] - pads[3]
    zp = [-128, 127][seed % 2] if seed in (2, 3, 10) else int(rng.integers(-60, 60))
    xq = q(float(rng.uniform(0.01, 0.05)), zp)
    relu = seed % 3 == 2
    yq = q(float(rng.uniform(0.02, 0.08)), -128 if relu else int(rng.integers(-40, 41)))
    g = new_graph({"x": ((2 if seed % 5 == 4 else 1, h, w, 3), "int8", xq)})
    ws = np.exp(rng.uniform(np.log(1e-3), np.log(2e-2), cout)).astype(np.float32)
    g.add_const("e.w", rand_s8(rng, (cout, 3, 3, 3)), "int8", q(ws, np.zeros(cout, int), 0))
    b = rng.integers(-3000, 3000, cout).astype(np.int64)
    if seed in (6, 7):
        # the largest |bias| the kernel takes (stem3_fits' bound)
        b[int(rng.integers(0, cout))] = (2 ** 29 - 27 * 255 * 128 - 1) * (-1) ** seed
    bs = (np.float32(xq.scale[0]) * ws).astype(np.float32)
    g.add_const("e.b", b.astype(np.int32), "int32", q(bs, np.zeros(cout, int), 0))
    g.add_node("conv2d", ["x", "e.w", "e.b"], "e", {"strides": (st, st), "dilations": (dh, 1), "pads": pads,
                                                    "groups": 1, "activation": "relu" if relu else "none"},
               quant=yq)
    add_random_conv(g, rng, "e", "d", cout, 3, 1, (1, 1, 1, 1), cout)
    add_random_conv(g, rng, "d", "p", 16, 1, 1, (0, 0, 0, 0), 1)
    _block_output(g, rng, False)
    case = _streamed_case(f"streamed_block_stem3_{cout}_{seed}", g, rng)
    assert stem3_layout(case.graph.nodes[0], case.graph) is not None, case.name
    return case


def forward_cases() -> list[Case]:
    cases: list[Case] = []
    for kind in ("regular", "pointwise", "depthwise", "grouped"):
        cases += [_conv_case(s, kind) for s in range(8)]
    for kind in ("stem", "pointwise", "depthwise"):
        cases += [_wide_conv_case(s, kind) for s in range(6)]
    cases += [_dw_window_case(s) for s in range(12)]
    cases += [_dw_small_case(s) for s in range(32)]
    cases += [_dw_overlap_case(s) for s in range(2 * len(DW_OVERLAP_SHAPES))]
    cases += [_dw_in_place_case(s) for s in range(2 * len(DW_IN_PLACE_SHAPES))]
    cases += [_pw_by_pixel_case(s) for s in range(2 * len(PW_BY_PIXEL_SHAPES))]
    cases += [_channels_case(s) for s in range(3 * len(CHANNELS_SHAPES))]
    cases += [_small_pointwise_case(s) for s in range(24)]
    cases += [_small_pointwise_run_case(s) for s in range(14)]
    cases += [_window_conv_case(s) for s in range(14)]
    cases += [_window_rows_case(s) for s in range(6)]
    cases += [_strided_pointwise_case(s) for s in range(4)]
    cases += [_small_window_case(s) for s in range(8)]
    cases += [_gemm_case(s) for s in range(14)]
    cases += [_strip_case(s) for s in range(16)]
    cases += [_pairs_pointwise_case(s) for s in range(6)]
    cases += [_pairs_common_case(s) for s in range(8)]
    cases += [_quad_pointwise_case(s) for s in range(6)]
    cases += quad_blocked_cases()
    cases += oct_pointwise_cases()
    cases += [_buffered_pointwise_case(s) for s in range(12)]
    cases += [_wide_rq_pointwise_case(s) for s in range(24)]
    cases += [_fc_case(s) for s in range(8)]
    cases += [_wide_fc_case(s) for s in range(12)]
    cases += [_prep_fc_case(s) for s in range(16)]
    cases += [_prep_fc_bound_case(k) for k in (259, 260)]
    cases += fcp_rq_cases()
    for op in ("add", "mul"):
        cases += [_binary_case(op, s) for s in range(6)]
    cases += [_wide_add_case(s) for s in range(6)]
    for op in ("relu", "clip", "quantize"):
        cases += [_unary_case(op, s) for s in range(6)]
    cases += [_quantize_f32_case(s) for s in range(3)]
    cases += [_quantize_f32_edge_case(s) for s in range(8)]
    cases += [_quantize_f32_window_case(s) for s in range(6)]
    cases += [_quantize_f32_pow2_case(s) for s in range(4)]
    cases += [_dequantize_case(s) for s in range(3)]
    cases += [_dequantize_pass8_case(s) for s in range(4)]
    cases += fcae2_cases()
    for op in ("avgpool2d", "maxpool2d"):
        cases += [_pool_case(op, s) for s in range(10)]
    cases += [_wide_avgpool_case(s) for s in range(6)]
    cases += [_mean_case(s) for s in range(8)]
    for op in ("pad", "transpose", "reshape"):
        cases += [_movement_case(op, s) for s in range(4)]
    cases += [_softmax_case(s) for s in range(12)]
    cases += [_act_mask_case(s) for s in range(8)]
    cases += [_act_mask_wide_case(s) for s in range(5)]
    cases += [_act_mask_sixteen_case(s) for s in range(8)]
    cases += [_act_mask_thirtytwo_case(s) for s in range(8)]
    cases += [_block_case(s) for s in range(24)]
    cases += [_block_case(s, wide=True) for s in range(9)]
    cases += [_block_add_table_case(s) for s in range(8)]
    cases += [_dsconv_block_case(s) for s in range(16)]
    cases += [_quad_block_case(s) for s in range(4)]
    cases += [_prep_block_case(s) for s in range(18)]
    cases += [_live_bias_pointwise_case(s) for s in range(30)]
    # past the first two groups of four inputs, pwp_channels' 16-group loop body entered partway:
    # parts of 10, 16 and 2 groups, then up to two whole passes (40, 56 and 96 above: 8, 12, 6)
    cases += [_prep_block_case(100 + s, c) for s, c in enumerate((48, 72, 80, 112, 144, 200))]
    cases += [_dw_all_case(s) for s in range(36)]
    # the doubled 1x1 layout: four, two and one pixels a pass, the 16-group body entered partway
    # (48 to 200 inputs), passes of channels over pixels widened once (dw_all) and widened per pass
    cases += [_doubled(_prep_block_case(s)) for s in range(18)]
    cases += [_doubled(_prep_block_case(100 + s, c)) for s, c in enumerate((48, 72, 80, 112, 144, 200))]
    cases += [_doubled(_dw_all_case(s)) for s in range(36) if (32, 64, 128, 40, 256, 96, 16, 24, 8)[s % 9] >= 32]
    # below 32 inputs (tte_conv2d_s8_pointwise_small_prepd_px): 8, 16 and 24 inputs, flat, with
    # E and with the add, ReLU outputs (out_zp -128: no sign term) and others, odd and even counts
    # of channel pairs, 4 to 42 pixels a call (every remainder of four: a run's last one to three
    # pixels as one group), several passes of channels (24 inputs, 58 outputs or more), whole
    # images (dw_all); no channels whose bias dwarfs their weights (pe_layout takes none)
    cases += [_doubled(_prep_block_case(200 + s, (8, 16, 24)[s // 3 % 3], dead=False)) for s in range(18)]
    cases += [_doubled(_dw_all_case(s)) for s in range(36) if (32, 64, 128, 40, 256, 96, 16, 24, 8)[s % 9] < 32]
    # 256 inputs and 10 to 35 channel pairs: two pairs a pass (what the D-cache holds, pwd_per_pass),
    # widened per pass, rows of 4, 5 and 7 pixels (whole groups of four in one call, pwd_groups,
    # then a last one or three)
    cases += [_doubled(_prep_block_case(s, 256)) for s in (111, 114, 124)]
    # the same with the 1x1's output zero point -128 (prepz: no [sum < 0] in the output stage)
    cases += [_doubled(_zfloor(_prep_block_case(s))) for s in range(0, 18, 2)]
    cases += [_doubled(_zfloor(_prep_block_case(s, 256))) for s in (111, 114)]
    cases += [_doubled(_zfloor(_dw_all_case(s))) for s in range(0, 36, 4)
              if (32, 64, 128, 40, 256, 96, 16, 24, 8)[s % 9] >= 32]
    cases += [_wide_rq_block_case(s) for s in range(4)]
    cases += [_dw3_case(s) for s in range(24)]
    cases += [_dw3_fast_case(s) for s in range(24)]
    cases += [_dw3_fast_case(s, wide=True) for s in range(52)]
    cases += [_dw3_blocks_case(s) for s in range(36)]
    cases += [_dw3_ring_case(s) for s in range(24)]
    cases += [_dw3_pair_case(s) for s in range(27)]
    cases += [_dw3_pair_rq_case(s) for s in range(16)]
    cases += [_dw3_pair_rq_case(s, image=True) for s in range(16)]
    cases += [_dw3_pair_rq_case(s, zfloor=True) for s in range(16)]
    cases += [_dws2_pair_case(s) for s in range(48)]
    cases += [_dw3_pair_rq_case(s, stride=2) for s in range(16)]
    cases += [_dw_copy_case(s) for s in range(24)]
    cases += [_dw57_run_case(s) for s in range(32)]
    cases += [_dw57_side_case(s) for s in range(28)]
    cases += [_dw57_pad_case(s) for s in range(40)]
    cases += [_dw3_pad_case(s) for s in range(42)]
    cases += [_dw3_wide_case(s) for s in range(6)]
    cases += [_dw3_wide_plain_case(s) for s in range(3)]
    cases += [_dw3_keep_case(s) for s in range(40)]
    cases += [_dw3_live_case(s) for s in range(30)]
    cases += [_dws_small_run_case(s) for s in range(36)]
    cases += [_dws_copy_run_case(s) for s in range(24)]
    cases += [_dw_whole4_case(s) for s in range(32)]
    cases += [_dw_small8_case(s) for s in range(40)]
    cases += [_dw3_ring_image_case(s) for s in range(30)]
    cases += [_dw3_ring_image_taps_case(s) for s in range(4)]
    cases += [_wide_rq_quad_case(s) for s in range(14)]
    cases += [_wide_rq_quad_block_case(s) for s in range(6)]
    cases += [_fast_rq_edge_case(s) for s in range(16)]
    cases += [_small_run_bound_case(s) for s in range(12)]
    cases += [_prep_expand_block_case(s) for s in range(24)]
    cases += pwe_cases()
    cases += pwe8_cases()
    cases += pw3_cases()
    cases += pwe_rows_cases()
    cases += pwez_cases()
    cases += [_stem_rq_case(s) for s in range(32)]
    # the RGB stem's fused pass over two and three chunks of constants (seeds 24-29: mode 2)
    cases += [_stem_rq_case(s, wide) for s, wide in ((24, 32), (26, 33), (27, 40), (29, 48))]
    cases += [_stem_run_case(s) for s in range(8)]
    cases += [_stem3_case(s) for s in range(12)]
    cases += [_stem3_block_case(s) for s in range(12)]
    cases += dwrq_cases()
    cases += split_forward_cases()
    cases += dw3_fill_cases()
    cases += pair_cases()
    return cases


# --- pair: two streamed blocks run together (tte_block_s8_pair), the first's output a band of rows ---
def _pair_case(seed: int) -> Case:
    """Block A ([E: a 3x3 conv over 3 channels at stride 1 or 2 (a stem), or a 1x1] -> depthwise ->
    1x1 [-> the residual add after a 1x1 E]) then block B (a 1x1 or 3x3 E -> depthwise 3x3 or 5x5,
    stride 1 or 2, paddings from none to two wide -> 1x1), fused by tte.compiler.fuse into one
    streamed_pair: B's E reads A's rows as A makes them (in B's ring slots after a 1x1 E whose
    ring rows hold A's, else from a band of 1 to 3 rows; A's rows no E row reads made last), one
    or two images, heights and widths 3 to 14 (odd and even), the paper models' channels on every
    third seed (3 -> 16 -> 8, 8 -> 48 -> 8), and on every fourth both given their depthwise's
    widened rows (DW_PAD_META: kept across B's output rows); the scratch garbage on entry."""
    from tte.compiler.emit import SCRATCH
    from tte.compiler.emit.block import DW_PAD_META
    from tte.compiler.fuse import pair_blocks, pair_candidates, stream_blocks
    from tte.compiler.schedule import schedule_inference

    rng = np.random.default_rng(61610 + seed)
    paper = seed % 3 == 0
    a_kind = ("stem", "pointwise", "residual")[seed % 3] if not paper else "stem"
    n = 2 if seed % 5 == 4 else 1
    h, w = int(rng.integers(3, 15)), int(rng.integers(3, 15))
    c0 = 3 if a_kind == "stem" else int(rng.choice([4, 8, 12]))
    g = new_graph({"x": ((n, h, w, c0), "int8", rand_q(rng))})

    def conv(x: str, y: str, cout: int, kk: int, stride: int, pads: tuple[int, ...], groups: int) -> None:
        add_random_conv(g, rng, x, y, cout, kk, stride, pads, groups)

    ca = 16 if paper else int(rng.choice([4, 8, 12, 16]))
    if a_kind == "stem":
        conv("x", "ae", ca, 3, 1 + seed % 2, (1, 1, 1, 1), 1)
    else:
        conv("x", "ae", ca, 1, 1, (0, 0, 0, 0), 1)
    conv("ae", "ad", ca, 3, 1, (1, 1, 1, 1), ca)
    conv("ad", "ap", c0 if a_kind == "residual" else (8 if paper else int(rng.integers(2, 13))), 1, 1, (0, 0, 0, 0), 1)
    a_out = "ap"
    if a_kind == "residual":
        g.add_node("add", ["x", "ap"], "ay", {"activation": "none"}, quant=rand_q(rng))
        a_out = "ay"
    cb = 48 if paper else int(rng.choice([4, 8, 16, 24]))
    if seed % 7 == 5:
        conv(a_out, "be", cb, 3, 1, (1, 1, 1, 1), 1)
    else:
        conv(a_out, "be", cb, 1, 1, (0, 0, 0, 0), 1)
    side = min(g.tensors["be"].shape[1:3])
    k = 5 if seed % 4 == 1 and side >= 5 else 3
    pads = ((1, 1, 1, 1), (0, 0, 0, 0), (1, 0, 1, 0), (2, 2, 2, 2), (0, 1, 1, 0))[seed % 5] if k == 3 else (2, 2, 2, 2)
    stride = 2 if paper or seed % 2 == 0 else 1
    if (side + pads[0] + pads[2] - k) < 0 or (min(g.tensors["be"].shape[1:3]) + pads[1] + pads[3] - k) < 0:
        pads = (k // 2,) * 4
    conv("be", "bd", cb, k, stride, pads, cb)
    conv("bd", "bp", 8 if paper else int(rng.integers(1, 13)), 1, 1, (0, 0, 0, 0), 1)
    g.outputs = ["bp"]
    feeds = random_feeds(g, rng)
    streamed = stream_blocks(schedule_inference(g))
    fused = pair_blocks(streamed, pair_candidates(streamed.graph)).graph
    assert [nd.op for nd in fused.nodes] == ["streamed_pair"], [nd.op for nd in fused.nodes]
    node = fused.nodes[0]
    if seed % 4 == 3:   # both blocks' (where a block takes them: a 3x3 stride-1 D after E)
        fused.meta[DW_PAD_META] = frozenset(n.name for n in node.attrs["chain"].nodes)
    scratch = f"{node.name}@scratch"
    nbytes = SCRATCH["streamed_pair"](node, fused)
    fused.add_tensor(Tensor(scratch, (nbytes,), "int8"))
    fused.inputs.append(scratch)
    feeds[scratch] = rand_s8(rng, (nbytes,))
    name = f"streamed_pair_{a_kind}_{'paper_' if paper else ''}k{k}s{stride}_n{n}_{h}x{w}_{seed}"
    return Case(name, fused, feeds, extra={"unfused": g})


def pair_cases() -> list[Case]:
    # and two whose first block makes rows the second's expand rows never read (the depthwise's
    # last window ends above its input's last row), made last: from a band (26), into the
    # second's output (296); seeds 6 and 16 make theirs from the ring slots
    return [_pair_case(s) for s in (*range(24), 26, 296)]


def _some_channels(rng: np.random.Generator, n: int) -> tuple[int, ...]:
    k = int(rng.integers(1, n))
    return tuple(int(i) for i in np.sort(rng.choice(n, k, replace=False)))


def split_forward_cases() -> list[Case]:
    """conv2d (groups 1) and streamed blocks with a conv first, their weights split."""
    cases: list[Case] = []
    for kind in ("pointwise", "regular"):
        for s in range(8):
            c = _conv_case(s, kind)
            cin = c.graph.tensors["w"].shape[-1]
            if cin > 1:
                cases.append(with_split(c, "w", _some_channels(np.random.default_rng(90 + s), cin)))
    for s in range(8):
        # parts of mostly whole eights of channels: pointwise_s8.c's pixel pairs
        rng = np.random.default_rng(5950 + s)
        cin = (16, 32, 48, 96)[s % 4]
        h, w = int(rng.integers(1, 4)), int(rng.integers(2, 6))
        c = _pointwise_case(f"conv2d_split_pairs_{s}", rng, (1, h, w, cin), int(rng.integers(3, 40)), (2e-3, 2e-2),
                            bias=s % 4 != 1, act=(0, 1, 0, 2)[s % 4], y_over_x=4.0 if s % 2 == 0 else None)
        k = 4 * int(rng.integers(1, cin // 4)) if s < 4 else int(rng.integers(1, cin // 2)) | 1
        cases.append(with_split(c, "w", tuple(int(i) for i in np.sort(rng.choice(cin, k, replace=False)))))
    for s in range(16):
        # both parts, rounded up to whole words, at most 96 channels: pointwise_s8.c's pw_gather_quad
        # (four pixels a pass; parts not a multiple of four read the next row's weights times
        # zero, the last channel a padded copy), pixel counts with every remainder of four
        rng = np.random.default_rng(12400 + s)
        cin = (56, 32, 64, 12, 60, 20, 92, 8)[s % 8]   # 92: 16 + 80 and 20 + 76 words, the bound
        h, w = int(rng.integers(1, 4)), int(rng.integers(2, 7))
        cout = (1, 3, 17, 40, 2, 33, 8, 5)[s % 8]
        c = _pointwise_case(f"conv2d_split_quad_{s}", rng, (1, h, w, cin), cout, (2e-3, 2e-2),
                            bias=s % 5 != 1, act=(0, 1, 0, 2)[s % 4], y_over_x=4.0 if s % 2 == 0 else None)
        k = (7, 16, 32, 4, 29, 1, 13, 7, 28, 16, 16, 9, 31, 19, 20, 3)[s]
        cases.append(with_split(c, "w", tuple(int(i) for i in np.sort(rng.choice(cin, min(k, cin - 1),
                                                                                  replace=False)))))
    for s in range(24):
        if s % 3 == 0:
            continue   # no expand conv
        c = _block_case(s)
        cin = c.graph.tensors["e.w"].shape[-1]
        if cin > 1:
            cases.append(with_split(c, "e.w", _some_channels(np.random.default_rng(190 + s), cin)))
    return cases


# --------------------------------------------------------------------------------------
# float backward cases


def _mask_grad_case(seed: int) -> Case:
    rng = np.random.default_rng(900 + seed)
    n = int(rng.integers(1, 50))
    g = new_graph({"dy": ((1, n), "float32", None), "m": ((1, n), "bool", None)})
    g.add_node("mask_grad", ["dy", "m"], "dx")
    g.outputs = ["dx"]
    return Case(f"mask_grad_{seed}", g, random_feeds(g, rng))


def _conv_grad_input_case(seed: int) -> Case:
    rng = np.random.default_rng(1000 + seed)
    kind = ["regular", "depthwise", "grouped", "pointwise"][seed % 4]
    h, w = int(rng.integers(3, 9)), int(rng.integers(3, 9))
    cin = {"regular": 3, "depthwise": 4, "grouped": 4, "pointwise": 5}[kind]
    groups = {"regular": 1, "depthwise": cin, "grouped": 2, "pointwise": 1}[kind]
    cout = groups * (2 if kind == "depthwise" and seed % 8 >= 4 else int(rng.integers(1, 3)))
    k = (1, 1) if kind == "pointwise" else (3, int(rng.integers(1, 4)))
    s = (1, 1) if kind == "pointwise" else (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    pads = (0, 0, 0, 0) if kind == "pointwise" else (1, int(k[1] > 1), 1, 0)
    oh, ow = (h + pads[0] + pads[2] - k[0]) // s[0] + 1, (w + pads[1] + pads[3] - k[1]) // s[1] + 1
    g = new_graph({"dy": ((1, oh, ow, cout), "float32", None)})
    wshape = (cout, k[0], k[1], cin // groups)
    if seed % 2:
        g.add_const("w", rand_s8(rng, wshape), "int8",
                    q(np.exp(rng.uniform(-6, -3, cout)).astype(np.float32), np.zeros(cout, int), 0))
    else:
        g.add_const("w", rng.standard_normal(wshape).astype(np.float32), "float32")
    g.add_node("conv2d_grad_input", ["dy", "w"], "dx", {"strides": s, "pads": pads, "groups": groups,
                                                        "input_shape": (1, h, w, cin)}, dtype="float32")
    g.outputs = ["dx"]
    return Case(f"conv2d_grad_input_{kind}_{seed}", g, random_feeds(g, rng), kind="float")


def _depthwise_inplace_case(seed: int) -> Case:
    """The same-size depthwise input gradient twice: out of place (dx0), then in place over
    dy (dx, sharing dy's buffer, with its one-channel scratch); the two must be identical."""
    rng = np.random.default_rng(1100 + seed)
    n, h, w, c = 1 + seed % 2, int(rng.integers(2, 9)), int(rng.integers(2, 9)), int(rng.integers(1, 6))
    kh, kw = 1 + 2 * int(rng.integers(0, 3)), 1 + 2 * int(rng.integers(0, 2))
    d = 2 if seed % 3 == 2 else 1
    pads = ((kh - 1) * d // 2, (kw - 1) * d // 2, (kh - 1) * d // 2, (kw - 1) * d // 2)
    g = new_graph({"dy": ((n, h, w, c), "float32", None), "dx@scratch": ((h * w,), "float32", None)})
    if seed % 2:
        g.add_const("w", rand_s8(rng, (c, kh, kw, 1)), "int8",
                    q(np.exp(rng.uniform(-6, -3, c)).astype(np.float32), np.zeros(c, int), 0))
    else:
        g.add_const("w", rng.standard_normal((c, kh, kw, 1)).astype(np.float32), "float32")
    attrs = {"pads": pads, "groups": c, "dilations": (d, d), "input_shape": (n, h, w, c)}
    g.add_node("conv2d_grad_input", ["dy", "w"], "dx0", attrs, dtype="float32")
    g.add_node("conv2d_grad_input", ["dy", "w"], "dx", attrs, dtype="float32")
    g.outputs = ["dx0", "dx"]
    g.meta["alias"] = {"dx": "dy"}
    feeds = random_feeds(g, rng)
    feeds["dy"] = np.where(rng.random((n, h, w, c)) < 0.3, 0.0, feeds["dy"]).astype(np.float32)
    return Case(f"depthwise_grad_input_inplace_{seed}", g, feeds, kind="float")


def _pointwise_inplace_case(seed: int) -> Case:
    """A 1x1 conv's input gradient twice: out of place (dx0), then in place over dy (dx,
    sharing dy's buffer, sized for the larger of the two, with its one-pixel scratch);
    Cin below, equal to and above Cout. The two must be identical."""
    rng = np.random.default_rng(1300 + seed)
    n, h, w = 1 + seed % 2, int(rng.integers(1, 7)), int(rng.integers(1, 7))
    cout = int(rng.integers(1, 9))
    cin = (int(rng.integers(1, cout + 1)), cout, cout + int(rng.integers(1, 9)))[seed % 3]
    g = new_graph({"dy": ((n, h, w, cout), "float32", None), "dx@scratch": ((cout,), "float32", None)})
    if seed % 2:
        g.add_const("w", rand_s8(rng, (cout, 1, 1, cin)), "int8",
                    q(np.exp(rng.uniform(-6, -3, cout)).astype(np.float32), np.zeros(cout, int), 0))
    else:
        g.add_const("w", rng.standard_normal((cout, 1, 1, cin)).astype(np.float32), "float32")
    attrs = {"pads": (0, 0, 0, 0), "groups": 1, "input_shape": (n, h, w, cin)}
    g.add_node("conv2d_grad_input", ["dy", "w"], "dx0", attrs, dtype="float32")
    g.add_node("conv2d_grad_input", ["dy", "w"], "dx", attrs, dtype="float32")
    g.outputs = ["dx0", "dx"]
    g.meta["alias"] = {"dx": "dy"}
    feeds = random_feeds(g, rng)
    feeds["dy"] = np.where(rng.random((n, h, w, cout)) < 0.3, 0.0, feeds["dy"]).astype(np.float32)
    return Case(f"pointwise_grad_input_inplace_{seed}", g, feeds, kind="float")


def _fc_grad_input_case(seed: int) -> Case:
    rng = np.random.default_rng(1100 + seed)
    rows, k, nout = int(rng.integers(1, 3)), int(rng.integers(1, 30)), int(rng.integers(1, 12))
    g = new_graph({"dy": ((rows, nout), "float32", None)})
    if seed % 3 == 0:
        g.add_const("w", rng.standard_normal((nout, k)).astype(np.float32), "float32")
    else:
        wq = q(0.01) if seed % 3 == 1 else q(np.exp(rng.uniform(-6, -3, nout)).astype(np.float32),
                                               np.zeros(nout, int), 0)
        g.add_const("w", rand_s8(rng, (nout, k)), "int8", wq)
    g.add_node("fc_grad_input", ["dy", "w"], "dx", dtype="float32")
    g.outputs = ["dx"]
    return Case(f"fc_grad_input_{seed}", g, random_feeds(g, rng), kind="float")


def _avgpool_grad_case(seed: int) -> Case:
    rng = np.random.default_rng(1200 + seed)
    h, w, c = int(rng.integers(2, 9)), int(rng.integers(2, 9)), int(rng.integers(1, 5))
    k = (int(rng.integers(1, min(h, 3) + 1)), int(rng.integers(1, min(w, 3) + 1)))
    s = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    pads = tuple(min(int(p), kk - 1) for p, kk in zip(rng.integers(0, 2, 4), (k[0], k[1], k[0], k[1])))
    oh, ow = (h + pads[0] + pads[2] - k[0]) // s[0] + 1, (w + pads[1] + pads[3] - k[1]) // s[1] + 1
    g = new_graph({"dy": ((1, oh, ow, c), "float32", None)})
    g.add_node("avgpool2d_grad", ["dy"], "dx", {"kernel": k, "strides": s, "pads": pads,
                                                "count_include_pad": bool(seed % 2),
                                                "input_shape": (1, h, w, c)})
    g.outputs = ["dx"]
    return Case(f"avgpool2d_grad_{seed}", g, random_feeds(g, rng))


def _global_avgpool_grad_case(seed: int) -> Case:
    """A global average pool's gradient (tte_avgpool2d_grad_f32's one share per element), batch 1
    or 2, with -0 and +0 among dy (each share is 0.0f + dy / count: +0 for both)."""
    rng = np.random.default_rng(1250 + seed)
    n, h, w, c = 1 + seed % 2, int(rng.integers(1, 9)), int(rng.integers(1, 9)), int(rng.integers(1, 21))
    g = new_graph({"dy": ((n, 1, 1, c), "float32", None)})
    g.add_node("avgpool2d_grad", ["dy"], "dx", {"kernel": (h, w), "strides": (1, 1), "pads": (0, 0, 0, 0),
                                                "count_include_pad": bool(seed % 3), "input_shape": (n, h, w, c)})
    g.outputs = ["dx"]
    feeds = random_feeds(g, rng)
    feeds["dy"].reshape(-1)[:2] = [-0.0, 0.0]
    return Case(f"avgpool2d_grad_global_{seed}", g, feeds)


def _mean_grad_case(seed: int) -> Case:
    rng = np.random.default_rng(1300 + seed)
    xs = (1, int(rng.integers(1, 7)), int(rng.integers(1, 7)), int(rng.integers(1, 9)))
    axes, keep = [((1, 2), True), ((1, 2), False), ((3,), True), ((), True)][seed % 4]
    ys = tuple(1 if i in (axes or range(4)) else d for i, d in enumerate(xs))
    if not keep:
        ys = tuple(d for i, d in enumerate(xs) if i not in axes)
    g = new_graph({"dy": (ys, "float32", None)})
    g.add_node("mean_grad", ["dy"], "dx", {"axes": axes, "keepdims": keep, "input_shape": xs})
    g.outputs = ["dx"]
    return Case(f"mean_grad_{seed}", g, random_feeds(g, rng))


def _float_binary_case(op: str, seed: int) -> Case:
    rng = np.random.default_rng(1400 + seed)
    shape = (1, int(rng.integers(1, 6)), int(rng.integers(1, 9)))
    g = new_graph({"a": (shape, "float32", None), "b": (shape, "float32", None)})
    g.add_node(op, ["a", "b"], "y")
    g.outputs = ["y"]
    return Case(f"{op}_f32_{seed}", g, random_feeds(g, rng))


def _float_add_wide_case(seed: int) -> Case:
    """A float ADD over sizes around the M4F/M7's eight-float passes (none, one, several, with
    and without a tail), into a fresh buffer or in place over either input."""
    n = [7, 8, 9, 16, 23, 69][seed % 6]
    rng = np.random.default_rng(1450 + seed)
    g = new_graph({"a": ((1, n), "float32", None), "b": ((1, n), "float32", None)})
    g.add_node("add", ["a", "b"], "y0")
    g.add_node("add", ["a", "b"], "y")
    g.outputs = ["y0", "y"]
    if seed % 3:
        g.meta["alias"] = {"y": "a" if seed % 3 == 1 else "b"}
    return Case(f"add_f32_wide_{seed}", g, random_feeds(g, rng), kind="float")


def _loss_case(loss: str, seed: int) -> Case:
    rng = np.random.default_rng(1500 + seed)
    batch, classes = [(1, 10), (1, 2), (3, 7), (1, 100)][seed % 4]
    g = new_graph({"z": ((batch, classes), "float32", None)})
    scale = [1.0, 10.0, 0.01, 30.0][seed % 4]
    if loss == "softmax_ce":
        g.add_tensor(Tensor("label", (batch,), "int32"))
        feeds = {"label": rng.integers(0, classes, batch).astype(np.int32)}
    else:
        g.add_tensor(Tensor("label", (batch, classes), "float32"))
        feeds = {"label": rng.standard_normal((batch, classes)).astype(np.float32)}
    g.inputs.append("label")
    g.add_node(f"{loss}_loss", ["z", "label"], "loss", dtype="float32")
    g.add_node(f"{loss}_grad", ["z", "label"], "dz", dtype="float32")
    g.outputs = ["loss", "dz"]
    feeds["z"] = (rng.standard_normal((batch, classes)) * scale).astype(np.float32)
    return Case(f"{loss}_{seed}", g, feeds, kind="float")


def backward_cases() -> list[Case]:
    cases: list[Case] = [_mask_grad_case(s) for s in range(6)]
    cases += [_conv_grad_input_case(s) for s in range(12)]
    cases += [_depthwise_inplace_case(s) for s in range(9)]
    cases += [_pointwise_inplace_case(s) for s in range(9)]
    cases += [_fc_grad_input_case(s) for s in range(6)]
    cases += [_avgpool_grad_case(s) for s in range(10)]
    cases += [_global_avgpool_grad_case(s) for s in range(6)]
    cases += [_mean_grad_case(s) for s in range(8)]
    cases += [_float_binary_case(op, s) for op in ("add", "mul") for s in range(3)]
    cases += [_float_add_wide_case(s) for s in range(9)]
    cases += [_movement_case(op, s, "float32") for op in ("pad", "transpose", "reshape") for s in range(4)]
    cases += [_loss_case(loss, s) for loss in ("softmax_ce", "mse") for s in range(8)]
    return cases


# --------------------------------------------------------------------------------------
# fused update cases


def _subset(rng: np.random.Generator, n: int, on: bool) -> tuple[int, ...]:
    if not on or n < 2:
        return ()
    k = int(rng.integers(1, n))
    return tuple(int(i) for i in np.sort(rng.choice(n, k, replace=False))[::-1 if rng.random() < 0.5 else 1])


def _update_attrs(rng: np.random.Generator, seed: int, quantized: bool) -> dict[str, Any]:
    return {"lr": float([0.05, 0.003, 0.5][seed % 3]), "qas": bool(seed % 5 != 4) if quantized else True,
            "rounding": "stochastic" if quantized and seed % 2 else "nearest", "seed": int(rng.integers(0, 2**31))}


def _with_step(g: Graph, attrs: dict[str, Any], rng: np.random.Generator) -> tuple[list[str], dict[str, np.ndarray]]:
    if attrs["rounding"] != "stochastic":
        return [], {}
    g.add_tensor(Tensor("step", (1,), "int32"))
    g.inputs.append("step")
    return ["step"], {"step": np.array([int(rng.integers(0, 100000))], np.int32)}


def _qdelta(grad: np.ndarray, scale: np.ndarray, a: dict[str, Any]) -> np.ndarray:
    shape = [1] * grad.ndim
    if scale.size > 1:
        shape[0] = -1
    s = scale.astype(np.float64).reshape(shape)
    return a["lr"] * (grad / s if a["qas"] else grad * s)


def _conv_update_case(seed: int) -> Case:
    rng = np.random.default_rng(1600 + seed)
    kind = ["regular", "depthwise", "pointwise", "grouped"][seed % 4]
    quantized = seed % 6 != 5
    h, w = int(rng.integers(3, 9)), int(rng.integers(3, 9))
    cin = {"regular": 3, "depthwise": 4, "grouped": 4, "pointwise": 6}[kind]
    groups = {"regular": 1, "depthwise": cin, "grouped": 2, "pointwise": 1}[kind]
    cout = groups * int(rng.integers(1, 3))
    k = (1, 1) if kind == "pointwise" else (3, 3)
    s = (1, 1) if kind == "pointwise" else (int(rng.integers(1, 3)),) * 2
    pads = (0, 0, 0, 0) if kind == "pointwise" else (1, 1, 1, 1)
    oh, ow = (h + pads[0] + pads[2] - k[0]) // s[0] + 1, (w + pads[1] + pads[3] - k[1]) // s[1] + 1
    xq = rand_q(rng) if seed % 3 != 2 else None
    g = new_graph({"x": ((1, h, w, cin), "int8" if xq else "float32", xq),
                   "dy": ((1, oh, ow, cout), "float32", None)})
    wshape = (cout, k[0], k[1], cin // groups)
    ws = np.exp(rng.uniform(np.log(2e-3), np.log(3e-2), cout)).astype(np.float32)
    if quantized:
        g.add_const("w", rand_s8(rng, wshape), "int8", q(ws, np.zeros(cout, int), 0))
        g.tensors["w"].data.reshape(-1)[:2] = [-128, 127]   # type: ignore[union-attr]  # clamps to [-127, 127]
    else:
        g.add_const("w", rng.standard_normal(wshape).astype(np.float32) * 0.1, "float32")
    a = _update_attrs(rng, seed, quantized)
    a.update(strides=s, pads=pads, groups=groups, kernel=k, out_channels=_subset(rng, cout, seed % 4 >= 2),
             in_channels=_subset(rng, cin // groups, seed % 3 == 1))
    step_in, step_feed = _with_step(g, a, rng)
    g.add_node("conv2d_weight_update", ["w", "x", "dy", *step_in], "w_new", a)
    g.outputs = ["w_new"]
    feeds = {**random_feeds(g, rng), **step_feed}
    if not quantized:
        return Case(f"conv2d_weight_update_f32_{kind}_{seed}", g, feeds, kind="float")
    x = feeds["x"].astype(np.float64)
    if xq is not None:
        x = (x - int(xq.zero_point[0])) * float(xq.scale[0])
    grad = conv2d_grad_weight(x, feeds["dy"].astype(np.float64), {**a, "dilations": (1, 1)})
    sel = ws[list(a["out_channels"])] if a["out_channels"] else ws
    return _finish_update(Case(f"conv2d_weight_update_{kind}_{seed}", g, feeds, kind="update"),
                          _qdelta(grad, sel, a), a, feeds)


def _finish_update(case: Case, delta: np.ndarray, a: dict[str, Any], feeds: dict[str, np.ndarray]) -> Case:
    case.delta = delta
    if a["rounding"] == "stochastic":
        case.u = uniform_hash(int(a["seed"]), int(feeds["step"][0]), delta.shape)
    case.extra = dict(a)
    return case


def _fc_update_case(seed: int, wide: bool = False) -> Case:
    """``wide``: 33-90 input features (rows of gradients in more than one of
    tte_fc_weight_update_s8's chunks of 32)."""
    rng = np.random.default_rng(1700 + seed)
    quantized = seed % 6 != 5
    rows, k, nout = int(rng.integers(1, 3)), int(rng.integers(2, 30)), int(rng.integers(2, 12))
    if wide:
        k = int(rng.integers(33, 91))
    xq = rand_q(rng) if seed % 3 != 2 else None
    g = new_graph({"x": ((rows, k), "int8" if xq else "float32", xq), "dy": ((rows, nout), "float32", None)})
    ws = (np.exp(rng.uniform(np.log(2e-3), np.log(3e-2), nout)).astype(np.float32) if seed % 2
          else np.array([0.01], np.float32))
    if quantized:
        g.add_const("w", rand_s8(rng, (nout, k)), "int8",
                    q(ws, np.zeros(ws.size, int), 0 if ws.size > 1 else None))
    else:
        g.add_const("w", rng.standard_normal((nout, k)).astype(np.float32), "float32")
    a = _update_attrs(rng, seed, quantized)
    a.update(out_channels=_subset(rng, nout, seed % 4 >= 2), in_channels=_subset(rng, k, seed % 3 == 1))
    step_in, step_feed = _with_step(g, a, rng)
    g.add_node("fc_weight_update", ["w", "x", "dy", *step_in], "w_new", a)
    g.outputs = ["w_new"]
    feeds = {**random_feeds(g, rng), **step_feed}
    if not quantized:
        return Case(f"fc_weight_update_f32_{seed}{'_wide' if wide else ''}", g, feeds, kind="float")
    x = feeds["x"].astype(np.float64)
    if xq is not None:
        x = (x - int(xq.zero_point[0])) * float(xq.scale[0])
    grad = feeds["dy"].astype(np.float64).T @ x
    if a["out_channels"]:
        grad = grad[list(a["out_channels"])]
    if a["in_channels"]:
        grad = grad[:, list(a["in_channels"])]
    sel = ws[list(a["out_channels"])] if a["out_channels"] and ws.size > 1 else ws
    return _finish_update(Case(f"fc_weight_update_{seed}{'_wide' if wide else ''}", g, feeds, kind="update"),
                          _qdelta(grad, sel, a), a, feeds)


def _bias_update_case(seed: int, wide: bool = False) -> Case:
    """``wide``: 17-40 channels (tte_bias_update_s32's passes of eight channels, then the rest)."""
    rng = np.random.default_rng(1800 + seed)
    quantized = seed % 4 != 3
    c = int(rng.integers(2, 16))
    if wide:
        c = int(rng.integers(17, 41))
    dshape = (1, int(rng.integers(1, 6)), int(rng.integers(1, 6)), c) if seed % 2 else (1, c)
    g = new_graph({"dy": (dshape, "float32", None)})
    bs = np.exp(rng.uniform(np.log(1e-5), np.log(1e-3), c)).astype(np.float32)
    if quantized:
        g.add_const("b", rng.integers(-5000, 5000, c).astype(np.int32), "int32", q(bs, np.zeros(c, int), 0))
        g.tensors["b"].data[0] = 2**31 - 1   # type: ignore[index]  # saturates instead of wrapping
    else:
        g.add_const("b", rng.standard_normal(c).astype(np.float32), "float32")
    a = _update_attrs(rng, seed, quantized)
    a["lr"] = a["lr"] * 1e-3
    a.update(out_channels=_subset(rng, c, seed % 3 == 1))
    step_in, step_feed = _with_step(g, a, rng)
    g.add_node("bias_update", ["b", "dy", *step_in], "b_new", a)
    g.outputs = ["b_new"]
    feeds = {**random_feeds(g, rng), **step_feed}
    if not quantized:
        return Case(f"bias_update_f32_{seed}{'_wide' if wide else ''}", g, feeds, kind="float")
    grad = feeds["dy"].astype(np.float64).reshape(-1, c).sum(axis=0)
    sel = bs[list(a["out_channels"])] if a["out_channels"] else bs
    if a["out_channels"]:
        grad = grad[list(a["out_channels"])]
    return _finish_update(Case(f"bias_update_{seed}{'_wide' if wide else ''}", g, feeds, kind="update"),
                          _qdelta(grad, sel, a), a, feeds)


def _sgd_case(seed: int) -> Case:
    rng = np.random.default_rng(1900 + seed)
    dtype = ["int8", "int32", "float32"][seed % 3]
    shape = [(4, 3, 3, 5), (6,), (5, 7)][seed % 3] if dtype != "int32" else (6,)
    g = new_graph({})
    scale = np.exp(rng.uniform(np.log(2e-3), np.log(3e-2), shape[0])).astype(np.float32)
    if dtype == "int8":
        g.add_const("w", rand_s8(rng, shape), "int8", q(scale, np.zeros(shape[0], int), 0))
    elif dtype == "int32":
        g.add_const("w", rng.integers(-999, 999, shape).astype(np.int32), "int32", q(scale, np.zeros(shape[0], int), 0))
    else:
        g.add_const("w", rng.standard_normal(shape).astype(np.float32), "float32")
    a = _update_attrs(rng, seed, dtype != "float32")
    a.update(out_channels=_subset(rng, shape[0], seed % 2 == 0),
             in_channels=_subset(rng, shape[-1], len(shape) > 1 and seed % 4 < 2))
    gshape = list(shape)
    if a["out_channels"]:
        gshape[0] = len(a["out_channels"])
    if a["in_channels"] and len(shape) > 1:
        gshape[-1] = len(a["in_channels"])
    g.add_tensor(Tensor("grad", tuple(gshape), "float32"))
    g.inputs.append("grad")
    step_in, step_feed = _with_step(g, a, rng)
    g.add_node("sgd_update", ["w", "grad", *step_in], "w_new", a)
    g.outputs = ["w_new"]
    feeds = {**random_feeds(g, rng), **step_feed}
    if dtype == "float32":
        return Case(f"sgd_update_f32_{seed}", g, feeds, kind="exact")
    sel = scale[list(a["out_channels"])] if a["out_channels"] else scale
    delta = _qdelta(feeds["grad"].astype(np.float64), sel, a)
    return _finish_update(Case(f"sgd_update_{dtype}_{seed}", g, feeds, kind="update"), delta, a, feeds)


def _ties_case(dtype: str) -> Case:
    """Steps of exactly k + 1/2 (exact in float32 and float64): half away from zero."""
    g = new_graph({})
    g.add_const("w", np.arange(-4, 4).astype(dtype), dtype, q(0.5))
    g.add_tensor(Tensor("grad", (8,), "float32"))
    g.inputs.append("grad")
    a = {"lr": 0.5, "qas": True, "rounding": "nearest", "seed": 0}
    g.add_node("sgd_update", ["w", "grad"], "w_new", a)
    g.outputs = ["w_new"]
    grad = np.array([0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.25, 0.0], np.float32)
    return Case(f"sgd_update_ties_{dtype}", g, {"grad": grad}, kind="exact")


def _dwpw_case(seed: int, head: bool = False, split: bool = False, wide: bool = False, dead: bool = False,
               xfloat: bool = False, qcols: int = 0, chans: tuple[int, int] | None = None,
               hw: tuple[int, int] = (2, 3), kernel: tuple[int, int, tuple[int, int]] | None = None,
               in_c: int | None = None, pool: str = "", q_trained: bool = False, unpadded: bool = False) -> Case:
    """One block's backward from a depthwise conv to the 1x1 conv before it, twice: unfused
    (conv2d_grad_input -> mask_grad -> bias_update, conv2d_grad_input, conv2d_weight_update on
    w, b) and as tte.compiler.fuse's dwpw_backward (on copies w2, b2, with its one-channel scratch);
    the C results must be identical, the fused reference equals the unfused one. ``head``:
    dz itself comes from a 1x1 conv's input gradient, a mask and the depthwise's bias update
    (tte.compiler.fuse._backward_head), fused too (tte_dwpw_backward_head_s8). ``wide``: 8 or 16
    channels (their mask bits a byte each) over 16-40 input channels and a head of 8-20 output
    channels (the M7's sixteen-channel list passes, odd and even pixel counts, and its
    eight-weight column conversion). ``dead``: channel 0 (whose 1x1 weights start with -128) and
    every third one masked out everywhere: their weight rows' gradients all zero (the update only
    clamps -128 to -127). ``xfloat``: the scratch also holds x as floats (X_FLOAT_META: the M4F/M7
    weight update's eight- and sixteen-channel passes read them), all of its pixels or the first
    two (the rest through the table). ``qcols``: Q's columns are read from copies of this many
    channels in the scratch (Q_COLS_META; after x's floats with ``xfloat``), the last one
    partial where the channels are not a multiple of it (wide with 32: 40 channels).
    ``chans``: (channels, head output channels) instead of the drawn ones, over ``hw`` pixels.
    ``kernel``: (k, stride, (pad before, pad after)) instead of the drawn ones. ``in_c``: the 1x1
    conv's input channels instead of the drawn ones. ``pool`` (with ``head``, one image): Q's
    output gradient is a global average pool's ("plain") or that through a mask ("mask"), also
    read by Q's bias update and, with ``q_trained``, Q's weight update; fused, the head reads the
    pool's gradient (tte.compiler.pooled.pool_heads) and the updates are one pooled_update.
    ``unpadded`` (with ``head``): D's input gradient on the unpadded plane (PADDED_META without
    the node: tte_dwpw_head_t.unpadded, a smaller scratch)."""
    from tte.compiler.emit import dwpw_scratch_bytes
    from tte.compiler.emit.dwpw import PADDED_META, Q_COLS_META, X_FLOAT_META
    from tte.compiler.fuse import _backward_group, _backward_head, fuse_backward_group
    from tte.compiler.pooled import _head_pool_group, fuse_head_pool

    rng = np.random.default_rng(2300 + seed + 100 * head)
    n, h, w, c, cin = 1 + (seed % 5 == 4), int(rng.integers(2, 9)), int(rng.integers(2, 9)), \
        int(rng.integers(1, 9)), int(rng.integers(1, 7))
    if wide:
        h, w, c, cin = int(rng.integers(3, 11)), int(rng.integers(3, 11)), 8 * (1 + seed % 2), int(rng.integers(16, 41))
    if wide and qcols == 32:   # a whole copy of 32 channels, then one of 8 (and its M7 paths), small planes
        h, w, c, cin = 3, 4, 40, 16
    if chans is not None:
        (h, w), c = hw, chans[0]
    if in_c is not None:
        cin = in_c
    if pool:
        n = 1
    k, st = (3, 5)[seed % 2], 1 + (seed % 3 == 1)
    pad = k // 2
    pb, pa = pad, pad
    if kernel is not None:
        k, st, (pb, pa) = kernel
    oh, ow = (h + pb + pa - k) // st + 1, (w + pb + pa - k) // st + 1
    parts = [("b", "gx", "u"), ("b", "gx", "u"), ("gx", "u"), ("b", "u"), ("b", "gx"), ("u",)][seed % 6]
    a = _update_attrs(rng, seed, True)
    g = new_graph({"dz": ((n, oh, ow, c), "float32", None), "mask": ((n, h, w, c), "bool", None),
                   "x": ((n, h, w, cin), "int8", rand_q(rng))})
    step_in, step_feed = _with_step(g, a, rng)
    wd = rand_s8(rng, (c, k, k, 1))
    wp = rand_s8(rng, (c, 1, 1, cin))
    wp.reshape(-1)[:1] = [-128]
    bias = rng.integers(-5000, 5000, c).astype(np.int32)
    g.add_const("wd", wd, "int8", q(np.exp(rng.uniform(-6, -3, c)).astype(np.float32), np.zeros(c, int), 0))
    ws = np.exp(rng.uniform(np.log(2e-3), np.log(3e-2), c)).astype(np.float32)
    bs = np.exp(rng.uniform(np.log(1e-5), np.log(1e-3), c)).astype(np.float32)
    ua = {**a, "kernel": (1, 1), "out_channels": _subset(rng, c, seed % 4 == 3),
          "in_channels": _subset(rng, cin, seed % 3 == 0)}
    if split:   # tte.compiler.split: the update's in_channels are the split's, ascending
        ua["in_channels"] = tuple(sorted(ua["in_channels"]))
    ba = {**a, "lr": a["lr"] * 1e-3, "out_channels": _subset(rng, c, seed % 4 == 1)}
    dattrs = {"strides": (st, st), "pads": (pb, pb, pa, pa), "groups": c, "input_shape": (n, h, w, c)}
    qc = int(rng.integers(8, 21)) if wide else int(rng.integers(1, 7))
    if chans is not None:
        qc = chans[1]
    head_bias = head and seed % 3 != 2
    if head:
        g.add_tensor(Tensor("gy", (n, oh, ow, qc), "float32"))
        g.add_tensor(Tensor("dmask", (n, oh, ow, c), "bool"))
        g.inputs += ["gy", "dmask"]
        g.add_const("wq", rand_s8(rng, (qc, 1, 1, c)), "int8",
                    q(np.exp(rng.uniform(np.log(2e-3), np.log(3e-2), qc)).astype(np.float32), np.zeros(qc, int), 0))
        dbs = np.exp(rng.uniform(np.log(1e-5), np.log(1e-3), c)).astype(np.float32)
        dbias = rng.integers(-5000, 5000, c).astype(np.int32)
        dba = {**a, "lr": a["lr"] * 1e-3, "out_channels": _subset(rng, c, seed % 2 == 1)}
    if pool:   # gy is made from the pool's gradient dyp (C floats) below
        g.inputs.remove("gy")
        del g.tensors["gy"]
        g.add_tensor(Tensor("dyp", (1, 1, 1, qc), "float32"))
        g.add_tensor(Tensor("gmask", (1, oh, ow, qc), "bool"))
        g.add_tensor(Tensor("xq", (1, oh, ow, c), "int8", quant=rand_q(rng)))
        g.inputs += ["dyp"] + ["gmask"] * (pool == "mask") + ["xq"] * q_trained
        qbs = np.exp(rng.uniform(np.log(1e-5), np.log(1e-3), qc)).astype(np.float32)
        qbias = rng.integers(-5000, 5000, qc).astype(np.int32)
        qba = {**a, "lr": a["lr"] * 1e-3, "out_channels": _subset(rng, qc, seed % 2 == 0)}
        qwa = {**a, "kernel": (1, 1), "out_channels": _subset(rng, qc, seed % 3 == 1),
               "in_channels": _subset(rng, c, seed % 3 == 2)}
        if q_trained:
            g.add_const("wq2", g.tensors["wq"].data.copy(), "int8", g.tensors["wq"].quant)
    for sfx in ("", "2"):
        dz = "dz"
        if head:
            dz = f"dz{sfx}"
            gy, wqn = "gy", "wq"
            if pool:
                gy, wqn = f"gp{sfx}", f"wq{sfx}" if q_trained else "wq"
                g.add_node("avgpool2d_grad", ["dyp"], gy, {"kernel": (oh, ow), "input_shape": (1, oh, ow, qc)},
                           dtype="float32")
                if pool == "mask":
                    g.add_node("mask_grad", [gy, "gmask"], f"gy{sfx}", {}, dtype="float32")
                    gy = f"gy{sfx}"
            g.add_node("conv2d_grad_input", [gy, wqn], f"e{sfx}", {"input_shape": (n, oh, ow, c)},
                       dtype="float32")
            g.add_node("mask_grad", [f"e{sfx}", "dmask"], dz, {}, dtype="float32")
            if head_bias:
                g.add_const(f"bd{sfx}", dbias.copy(), "int32", q(dbs, np.zeros(c, int), 0))
                g.add_node("bias_update", [f"bd{sfx}", dz, *step_in], f"bd{sfx}_new", dba)
        g.add_const(f"w{sfx}", wp.copy(), "int8", q(ws, np.zeros(c, int), 0))
        g.add_const(f"b{sfx}", bias.copy(), "int32", q(bs, np.zeros(c, int), 0))
        g.add_node("conv2d_grad_input", [dz, "wd"], f"d{sfx}", dattrs, dtype="float32")
        g.add_node("mask_grad", [f"d{sfx}", "mask"], f"g{sfx}", {}, dtype="float32")
        if "b" in parts:
            g.add_node("bias_update", [f"b{sfx}", f"g{sfx}", *step_in], f"b{sfx}_new", ba)
        if "gx" in parts:
            g.add_node("conv2d_grad_input", [f"g{sfx}", f"w{sfx}"], f"dx{sfx}", {"input_shape": (n, h, w, cin)},
                       dtype="float32")
        if "u" in parts:
            g.add_node("conv2d_weight_update", [f"w{sfx}", "x", f"g{sfx}", *step_in], f"w{sfx}_new", ua)
        if pool:   # Q's updates on its output gradient, after the head read Q's weights
            g.add_const(f"qb{sfx}", qbias.copy(), "int32", q(qbs, np.zeros(qc, int), 0))
            g.add_node("bias_update", [f"qb{sfx}", gy, *step_in], f"qb{sfx}_new", qba)
            if q_trained:
                g.add_node("conv2d_weight_update", [wqn, "xq", gy, *step_in], f"{wqn}_new", qwa)
    half = len(g.nodes) // 2
    readers: dict[str, list[int]] = {}
    for i, nd in enumerate(g.nodes):
        for name in set(nd.inputs):
            readers.setdefault(name, []).append(i)
    d_at = half + (2 + head_bias if head else 0) + (1 + (pool == "mask") if pool else 0)
    grp = _backward_group(g, d_at, readers)
    assert grp is not None and len(grp) == len(parts) + 2, grp
    if head:
        hd = _backward_head(g, grp, readers)
        assert hd is not None and len(hd) == 2 + head_bias, hd
        grp = {**grp, **hd}
    fused = fuse_backward_group(g, grp)
    if pool:
        first = min(grp.values())
        g.nodes = g.nodes[:half] + [fused if k == first else nd for k, nd in enumerate(g.nodes)
                                    if k >= half and (k == first or k not in grp.values())]
        prod = {o: k for k, nd in enumerate(g.nodes) for o in nd.outputs}
        readers = {}
        for i, nd in enumerate(g.nodes):
            for name in set(nd.inputs):
                readers.setdefault(name, []).append(i)
        pg = _head_pool_group(g, g.nodes.index(fused), readers, prod)
        assert pg is not None and ("m" in pg) == (pool == "mask") and ("u" in pg) == q_trained, pg
        fused, upd = fuse_head_pool(g, pg)
        assert upd is not None
        g.nodes = g.nodes[:half] + [fused, upd]
        for t in ("gp2",) + ("gy2",) * (pool == "mask"):
            del g.tensors[t]
    else:
        g.nodes = g.nodes[:half] + [fused]
    for t in ("d2", "g2") + (("e2", "dz2") if head else ()):
        del g.tensors[t]
    scratch = f"{fused.name}@scratch"
    if xfloat:   # all of x's pixels, or (every other case) its first two
        g.meta[X_FLOAT_META] = {fused.name: n * h * w if seed % 2 == 0 else 2}
    if qcols:
        g.meta[Q_COLS_META] = {fused.name: qcols}
    if unpadded:
        g.meta[PADDED_META] = frozenset()
    nbytes = dwpw_scratch_bytes(fused, g)
    g.add_tensor(Tensor(scratch, (nbytes // 4,), "float32"))
    g.inputs.append(scratch)
    g.meta["alias"] = {o: fused.inputs[{"w": 3, "b": 5, "db": 9}[r]]
                       for o, r in zip(fused.outputs, fused.attrs["roles"]) if r != "dx"}
    outs = list(fused.outputs)
    if pool:
        g.meta["alias"].update({o: upd.inputs[{"w": 3, "b": 2}[r]] for o, r in zip(upd.outputs, upd.attrs["roles"])})
        outs += upd.outputs
    g.outputs = [o for nd in g.nodes for o in nd.outputs if o not in ("d", "g", "e", "dz")]
    feeds = {**random_feeds(g, rng), **step_feed}
    zin = "dyp" if pool else "gy" if head else "dz"
    feeds[zin] = np.where(rng.random(feeds[zin].shape) < 0.2, 0.0, feeds[zin]).astype(np.float32)
    if dead:
        feeds["mask"][..., ::3] = False
    name = (f"dwpw_backward_{'head_' if head else ''}{'_'.join(parts)}_{seed}{'_wide' if wide else ''}"
            f"{'_dead' if dead else ''}{'_xfloat' if xfloat else ''}{f'_qcols{qcols}' if qcols else ''}"
            f"{f'_c{c}q{qc}' if chans else ''}{f'_cin{cin}' if in_c is not None else ''}"
            f"{f'_pool{pool}' if pool else ''}{'_qw' if q_trained else ''}{'_unpadded' if unpadded else ''}")
    case = Case(name, g, feeds, kind="pair", extra={"pairs": [(o, o.replace("2", "")) for o in outs]})
    if split:   # the fused copy's 1x1 weights split over the updated input channels
        assert not ua["out_channels"]
        if not ua["in_channels"]:
            return case
        case = with_split(case, "w2", tuple(sorted(int(c) for c in ua["in_channels"])))
    return case


# ---- dot2: dwpw_head_dz's rest of a pixel list (blocks of 8, then 4 and 1 or 2) ----

def dwpw_rest_cases() -> list[Case]:
    """Head variants whose channels have D's mask set on exactly 0, 1, ..., 19 pixels (in a
    random place), so that dwpw_head_dz's lists end in every rest mod 8, once under eight
    pixels and once over: a rest of seven padded to a block of 8, five or six as blocks of 4
    and 1 or 2, three padded to 4; heads of 13, 24 and 37 output channels (the M4F/M7 dot
    loops: eight by VLDM and a rest in C; one sixteen-channel pass and eight by VLDM; two
    sixteen-channel passes and a rest in C)."""
    cases = []
    for s, chq, hw in ((0, (20, 13), (4, 5)), (2, (20, 24), (5, 4)), (3, (20, 37), (4, 5))):
        case = _dwpw_case(s, head=True, chans=chq, hw=hw)
        dmask = case.feeds["dmask"]
        flat = np.zeros((dmask.size // chq[0], chq[0]), bool)
        rng = np.random.default_rng(4100 + s)
        for k in range(chq[0]):
            flat[rng.permutation(flat.shape[0])[:k], k] = True
        case.feeds["dmask"] = flat.reshape(dmask.shape)
        case.name += "_every_rest"
        cases.append(case)
    return cases


# ---- the M7's stochastic rounding of an int8 weight row (qas_apply_row_s8) --------


def _sr_edge_case(seed: int, p_big: float = 0.15) -> Case:
    """sgd_update on int8 rows twice: w through the whole row (tte_sgd_update_s8 applies it by
    qas_apply_row_s8, whose M7 assembly decides the stochastic steps in integers) and w2 through
    an explicit list of every column (C on every target); host and M7 must agree on both
    (tests/test_qemu_kernels.py), and the two must be equal. Steps delta = lr / s * grad = grad
    (lr = s = 0.5) sit on and beside the float32 decisions, made from the row's own hash values U
    (u = U / 2**24): positive deltas whose fraction + u is exactly 1 - 2**-25 (rounds up) or 2**-24
    below; negative deltas in (-0.5, 0) whose delta + 1 rounds to U's boundary (ties to even) or
    lands on it; integers, +-0, -0.5, subnormals, +-31.99 and steps of 32 or more (the assembly
    hands those pairs to C mid-row); weights at -128, -127 and 127 (saturation); odd and even
    row lengths (every length mod 4: the assembly takes four weights a pass, then a pair). ``p_big``:
    the share of the listed values (large steps stop the four-weight loop; rare ones let it run
    long). On the ties the float32 decision is not the reference's float64 one (no
    comparison with it here; tests/test_c_kernels.py bounds that on the random cases)."""
    rng = np.random.default_rng(3100 + seed)
    rows, n = 3, 41 + seed
    g = new_graph({})
    scale = np.full(rows, 0.5, np.float32)
    w0 = rand_s8(rng, (rows, n))
    w0.reshape(-1)[::7] = rng.choice([-128, -127, 127], w0.size // 7 + (w0.size % 7 > 0))
    a = {"lr": 0.5, "qas": True, "rounding": "stochastic", "seed": int(rng.integers(0, 2**31)),
         "out_channels": (), "in_channels": ()}
    g.add_tensor(Tensor("grad", (rows, n), "float32"))
    g.inputs.append("grad")
    step_in, step_feed = _with_step(g, a, rng)
    code = np.round(uniform_hash(a["seed"], int(step_feed["step"][0]), (rows * n,)) * 2.0**32).astype(np.int64)
    big = [0.0, -0.0, 1.0, -1.0, -3.0, 2.0, -0.5, 0.5, 31.999998, -31.999998, 32.0, -32.0, 40.5, -200.0, 1e-40,
           -1e-40, -2.0**-25, -3 * 2.0**-26, 2.0**-25]
    grad = np.empty(rows * n, np.float32)
    for i in range(rows * n):
        u, r = int(code[i] >> 8), float(rng.random())
        if r < p_big:
            grad[i] = np.float32(big[int(rng.integers(0, len(big)))])
        elif r < 0.3:   # small steps of either sign, some above 1
            grad[i] = np.float32(rng.choice([-1.0, 1.0]) * rng.uniform(0, 1) * 2.0 ** int(rng.integers(-30, 3)))
        elif u >= 1 << 23:   # fraction + u = 1 - 2**-25 exactly, or 2**-24 below
            grad[i] = np.float32(((1 << 25) - 1 - 2 * u - 2 * (r < 0.45)) * 2.0**-25)
        elif r < 0.8:   # -(m + 1/2) 2**-24, m = u or u - 1: delta + 1 ties (to even), on u's boundary
            grad[i] = np.float32(-(2 * (u - (r < 0.55)) + 1) * 2.0**-25)
        else:   # -m 2**-24, m = u or u + 1
            grad[i] = np.float32(-(u + (r < 0.9)) * 2.0**-24)
    for sfx, cols in (("", ()), ("2", tuple(range(n)))):
        g.add_const(f"w{sfx}", w0.copy(), "int8", q(scale, np.zeros(rows, int), 0))
        g.add_node("sgd_update", [f"w{sfx}", "grad", *step_in], f"w{sfx}_new", {**a, "in_channels": cols})
    g.outputs = ["w_new", "w2_new"]
    feeds = {"grad": grad.reshape(rows, n), **step_feed}
    name = f"sgd_update_sr_edges_{seed}" + ("" if p_big == 0.15 else f"_big{round(p_big * 100)}")
    return Case(name, g, feeds, kind="pair", extra={"pairs": [("w2_new", "w_new")]})

def update_cases() -> list[Case]:
    cases: list[Case] = [_ties_case("int8"), _ties_case("int32")]
    cases += [_conv_update_case(s) for s in range(24)]
    cases += [_fc_update_case(s) for s in range(18)]
    cases += [_fc_update_case(s, wide=True) for s in range(18, 24)]
    cases += [_bias_update_case(s) for s in range(12)]
    cases += [_bias_update_case(s, wide=True) for s in range(12, 18)]
    cases += [_sgd_case(s) for s in range(9)]
    cases += [_dwpw_case(s) for s in range(12)]
    cases += [_dwpw_case(s, head=True) for s in range(12)]
    cases += [_dwpw_case(s, head=True, wide=True) for s in range(6)]
    cases += [_dwpw_case(s, head=True, wide=s % 2 == 1, dead=True) for s in range(6)]
    cases += [_dwpw_case(s, head=True, wide=True, dead=s % 3 == 2, xfloat=True) for s in range(6)]
    cases += [_dwpw_case(s, head=True, wide=s % 3 != 2, xfloat=s % 2 == 0, qcols=(8, 32)[s % 2]) for s in range(6)]
    cases += [_dwpw_case(s, head=h, split=True) for h in (False, True) for s in range(12)
              if s % 3 == 0 and s % 4 != 3]
    # the M7's update over a selection of input channels from x's floats packed in the
    # selection's order (sixteen, eight, four and one channels at a time), split or not, batch 2
    cases += [_dwpw_case(s, head=True, wide=True, split=sp, xfloat=True) for sp in (False, True)
              for s in (36, 42, 66, 72, 84, 90)]
    cases += [_sr_edge_case(s) for s in range(4)]
    cases += [_sr_edge_case(s, p_big=0.02) for s in (4, 5, 6, 7)]
    # the M7's 3x3 depthwise gradient (two output pixels a pass) at stride 2 over 4-5 columns
    cases += [_dwpw_case(s, head=True, wide=w) for s, w in ((10, True), (22, True), (28, False), (34, True))]
    # the M7 reads the head's weight columns two channels at a time (dwpw_column_pairs:
    # 128 channels with 64 head outputs), forward and backward
    cases += [_dwpw_case(s, head=True, wide=True, chans=(128, 64)) for s in (0, 3)]
    # Q's columns from copies of 32 channels whose outputs are a multiple of 8: the M7 converts them
    # sixteen rows a pass (and eight: 24, 40), its copies by LDRD; over 3x3 stride 1 (seeds 0, 6,
    # 12) the gathered plane, 5x5 (seed 3) and stride 2 (seed 4) beside it
    cases += [_dwpw_case(s, head=True, wide=True, qcols=32, chans=ch, hw=hw)
              for s, ch, hw in ((0, (64, 24), (4, 4)), (6, (40, 16), (3, 8)), (12, (64, 40), (2, 8)),
                                (3, (40, 8), (3, 5)), (4, (40, 32), (4, 4)))]
    cases += dwpw_rest_cases()
    # Q's output gradient a global pool's, masked or not, Q's weight frozen or trained
    # (tte.compiler.pooled.pool_heads), over 1-6 or 8-20 of Q's channels
    cases += [_dwpw_case(s, head=True, wide=s % 3 == 1, pool=("plain", "mask")[s % 2], q_trained=s % 4 >= 2)
              for s in range(8)]
    # the M7's twenty-four-channel passes over the list (input channels 24, 40, 56: the last 24
    # in one pass; the weight update's where all of x is floats and no selection, seeds 2, 20 and 38),
    # with and without x as floats, odd and even list lengths
    cases += [_dwpw_case(s, head=True, wide=True, xfloat=s % 2 == 0, in_c=ic)
              for s, ic in ((0, 24), (1, 40), (2, 24), (4, 56), (6, 24), (7, 40), (20, 40), (38, 40))]
    cases += dwg_pair_cases()
    cases += dwpw_unpadded_cases()
    return cases


def dwpw_unpadded_cases() -> list[Case]:
    """Head variants with D's input gradient on the unpadded plane (tte_dwpw_head_t.unpadded: each
    window clipped to the image, dwpw_dw_grad): 3x3 and 5x5 at strides 1 and 2, batches of two,
    wide lists, x as floats with Q's column copies, split weights, a pool's masked gradient, and
    7x7 / 5x5 geometries whose padded plane is much larger than the image (none, uneven pads)."""
    cases = [_dwpw_case(s, head=True, wide=s % 2 == 0, unpadded=True) for s in range(10)]
    cases += [_dwpw_case(s, head=True, wide=True, xfloat=True, qcols=8, unpadded=True) for s in (1, 4)]
    cases += [_dwpw_case(s, head=True, split=True, unpadded=True) for s in (0, 6)]
    cases += [_dwpw_case(s, head=True, pool="mask", unpadded=True) for s in (1, 3)]
    geoms = ((7, 1, (3, 3), (4, 4)), (7, 2, (2, 3), (4, 12)), (7, 1, (0, 0), (8, 10)), (5, 1, (1, 3), (5, 6)),
             (5, 2, (0, 0), (7, 12)), (3, 1, (1, 1), (4, 4)), (7, 1, (3, 3), (2, 1)))
    for s, (k, st, pads, hw) in enumerate(geoms):
        case = _dwpw_case(s, head=True, chans=(6, 5), hw=hw, kernel=(k, st, pads), unpadded=True)
        case.name += f"_k{k}s{st}p{pads[0]}{pads[1]}_{hw[0]}x{hw[1]}"
        cases.append(case)
    return cases


def all_cases() -> list[Case]:
    from c_activation_cases import activation_cases
    from c_cases_structural import structural_cases

    return forward_cases() + backward_cases() + update_cases() + structural_cases() + activation_cases()


CaseFn = Callable[[], list[Case]]


# ---- the cache-blocked four-pixel pass of pointwise_s8.c (pw_quad_blocks) ----

def _quad_blocked_case(seed: int) -> Case:
    """1x1 convs whose weights, biases, multipliers and shifts exceed pw_quad_blocks' 3 KB
    (32-80 input channels, 70-260 output channels: two to six blocks of channels, odd and even
    block sizes) over 8-23 pixels, not a multiple of four but for one: blocks that run the
    groups of four pixels forwards and backwards, the last one short, then the pixels left.
    Over 32 input channels the buffer on the stack, above it the caller's (PW_BUFFER_META);
    every third one with shifts below -21 (the wide output stage)."""
    rng = np.random.default_rng(9900 + seed)
    cin = (32, 40, 48, 64, 80, 32, 56, 72)[seed % 8]
    cout = (70, 97, 130, 163, 200, 259, 88, 120)[seed % 8]
    h, w = ((3, 5), (2, 7), (1, 9), (3, 3), (2, 6), (1, 23), (2, 5), (1, 11))[seed % 8]
    if seed % 3 == 2:
        g = new_graph({"x": ((1, h, w, cin), "int8", rand_q(rng))})
        _add_wide_rq_pointwise(g, rng, "x", "y", cout, "none", sweep=False)
        g.outputs = ["y"]
        feeds = random_feeds(g, rng)
    else:
        c = _pointwise_case("", rng, (1, h, w, cin), cout, (1e-3, 1e-2), bias=True, act=0, y_over_x=4.0)
        g, feeds = c.graph, c.feeds
    if cin > 32:
        g.meta[PW_BUFFER_META] = frozenset(n.name for n in g.nodes if n.op == "conv2d")
    return Case(f"conv2d_quad_blocked_{cin}x{cout}_{h * w}px_{seed}", g, feeds)


def _quad_blocked_block_case(seed: int) -> Case:
    """A 3x3 depthwise -> 1x1 streamed block whose 1x1 (48-80 input channels, 60-150 output
    channels) exceeds pw_quad_blocks' 3 KB, rows of 9-13 pixels: the blocked four-pixel pass
    over the block's buffer, row by row."""
    rng = np.random.default_rng(9950 + seed)
    c = (48, 64, 80, 56)[seed % 4]
    h, w = 2 + seed % 2, (9, 13, 10, 11)[seed % 4]
    g = new_graph({"x": ((1, h, w, c), "int8", rand_q(rng))})
    add_random_conv(g, rng, "x", "d", c, 3, 1, (1, 1, 1, 1), c)
    add_random_conv(g, rng, "d", "p", (60, 101, 150, 77)[seed % 4], 1, 1, (0, 0, 0, 0), 1, act="none")
    g.outputs = ["p"]
    return _streamed_case(f"streamed_block_quad_blocked_{c}ch_{seed}", g, rng)


def quad_blocked_cases() -> list[Case]:
    return [_quad_blocked_case(s) for s in range(16)] + [_quad_blocked_block_case(s) for s in range(4)]


# ---- eight pixels a pass of pointwise_s8.c (pw_oct_channels, PW_BUFFER8_META's buffer) ----

def _oct_graph(rng: np.random.Generator, npx: int, cin: int, cout: int, wide: bool) -> tuple[Graph, dict]:
    """A 1x1 conv over npx pixels given eight pixels' buffer (tte_conv2d_s8_ws_sized), a bias and the
    output stage over all of int8; `wide`: shifts below -21 (the wide output stage)."""
    shape = (1, 1, npx, cin)
    if wide:
        g = new_graph({"x": (shape, "int8", rand_q(rng))})
        _add_wide_rq_pointwise(g, rng, "x", "y", cout, "none", sweep=False)
        g.outputs = ["y"]
        feeds = random_feeds(g, rng)
    else:
        c = _pointwise_case("", rng, shape, cout, (1e-3, 1e-2), bias=True, act=0, y_over_x=4.0)
        g, feeds = c.graph, c.feeds
    names = frozenset(n.name for n in g.nodes if n.op == "conv2d")
    if cin > 32:
        g.meta[PW_BUFFER_META] = names
    g.meta[PW_BUFFER8_META] = names
    return g, feeds


def _oct_pointwise_case(seed: int) -> Case:
    """Input channels odd multiples of 8 (40, 56, 72) and of 16 (48, 80, 144, 208), 96 and 32 (whose
    four pixels fit the stack's buffer: only the eight-pixel one planned); 8 to 31 pixels, every
    remainder 0-7 of eight (after the eight-pixel passes one of four, then pairs and one); output
    channel counts odd, even, not multiples of 4; every other one wide."""
    rng = np.random.default_rng(12800 + seed)
    cin = (40, 48, 56, 80, 144, 96, 72, 208, 32)[seed % 9]
    npx = 8 * (1 + seed % 3) + (seed * 3) % 8
    cout = int(rng.integers(1, 21)) * 2 + (seed // 2) % 2
    g, feeds = _oct_graph(rng, npx, cin, cout, wide=seed % 2 == 1)
    return Case(f"conv2d_oct_pointwise_{cin}x{cout}_{npx}px_{seed}", g, feeds)


def _oct_blocked_case(seed: int) -> Case:
    """Weights, biases, multipliers and shifts beyond pw_quad_blocks' 3.5 KB (40-128 input
    channels, 70-163 output channels) over 16-39 pixels: blocks of channels that run the groups of
    eight pixels forwards and backwards, then a group of four and the pixels left."""
    rng = np.random.default_rng(12900 + seed)
    cin = (40, 64, 96, 48, 128, 56)[seed % 6]
    cout = (97, 130, 70, 163, 75, 120)[seed % 6]
    npx = 16 + (seed * 5) % 24
    g, feeds = _oct_graph(rng, npx, cin, cout, wide=seed % 3 == 2)
    return Case(f"conv2d_oct_blocked_{cin}x{cout}_{npx}px_{seed}", g, feeds)


def _oct_body_case(seed: int) -> Case:
    """Input channels past the loop body of pw_oct_channels (16 words after the first two, entered
    partway for the rest): every part of a pass (4 to 16 words) and up to five whole passes (88, 104,
    120, 136, 152, 176, 264, 336 input channels), 8 to 23 pixels, every other one wide."""
    rng = np.random.default_rng(13000 + seed)
    cin = (88, 104, 120, 136, 152, 176, 264, 336)[seed % 8]
    npx = 8 + (seed * 5) % 16
    cout = int(rng.integers(1, 9)) * 2 + seed % 2
    g, feeds = _oct_graph(rng, npx, cin, cout, wide=seed % 2 == 1)
    return Case(f"conv2d_oct_body_{cin}x{cout}_{npx}px_{seed}", g, feeds)


def oct_pointwise_cases() -> list[Case]:
    return ([_oct_pointwise_case(s) for s in range(27)] + [_oct_blocked_case(s) for s in range(8)]
            + [_oct_body_case(s) for s in range(8)])


# ---- dwg: the M7's 3x3 / 5x5 / 7x7 depthwise input gradient of the fused head, pixels in pairs ----

def _dwg_pair_case(seed: int, k: int, st: int, pads: tuple[int, int], hw: tuple[int, int]) -> Case:
    """A fused backward head (tte_dwpw_backward_head_s8) over a k x k depthwise at stride st,
    pads (before, after), hw input pixels, six channels whose D gradients dz are zero in every
    pattern of a row's pixel pairs (dwpw_dw_plane_vfp's pair passes, its passes of one pixel of a
    pair and an odd row's last pixel): none, all, the first or the second of each pair, random."""
    case = _dwpw_case(seed, head=True, chans=(6, 5), hw=hw, kernel=(k, st, pads))
    dmask = case.feeds["dmask"]
    rng = np.random.default_rng(15100 + seed)
    ox = np.arange(dmask.shape[2])[None, None, :]
    m = np.ones_like(dmask)
    m[..., 0] = False
    m[..., 2] = np.broadcast_to(ox % 2 == 1, m.shape[:3])
    m[..., 3] = np.broadcast_to(ox % 2 == 0, m.shape[:3])
    m[..., 4] = rng.random(m.shape[:3]) < 0.5
    m[..., 5] = rng.random(m.shape[:3]) < 0.85
    case.feeds["dmask"] = m
    case.name += f"_k{k}s{st}p{pads[0]}{pads[1]}_{hw[0]}x{hw[1]}"
    return case


def dwg_pair_cases() -> list[Case]:
    """Output widths 1 to 10, odd and even, at strides 1 and 2, paddings none, k // 2 and uneven;
    3x3 at stride 1 over 4 and 8 columns (the gathered plane) and beside them (6 columns, one row)."""
    geoms = ((5, 1, (2, 2), (4, 7)), (5, 1, (2, 2), (3, 8)), (5, 1, (0, 0), (6, 9)), (5, 1, (1, 3), (5, 6)),
             (5, 2, (2, 2), (5, 9)), (5, 2, (1, 2), (4, 8)), (5, 2, (2, 2), (3, 12)), (5, 2, (0, 0), (7, 12)),
             (5, 1, (2, 2), (2, 1)), (5, 1, (2, 2), (3, 2)), (7, 1, (3, 3), (4, 7)), (7, 1, (3, 3), (3, 10)),
             (7, 1, (0, 0), (8, 10)), (7, 1, (2, 4), (3, 5)), (7, 2, (3, 3), (5, 9)), (7, 2, (2, 3), (4, 12)),
             (7, 2, (3, 3), (2, 3)), (7, 2, (0, 0), (8, 16)), (7, 1, (3, 3), (2, 1)),
             # 3x3, stride 1, pads 1 over 4 or 8 columns: the M7 gathers each element (dwpw_dw_gather3;
             # two rows, first and last row only; batches of two at seeds 19 and 24)
             (3, 1, (1, 1), (2, 4)), (3, 1, (1, 1), (4, 4)), (3, 1, (1, 1), (8, 8)), (3, 1, (1, 1), (3, 8)),
             (3, 1, (1, 1), (5, 4)), (3, 1, (1, 1), (2, 8)), (3, 1, (1, 1), (4, 6)), (3, 1, (1, 1), (1, 8)))
    return [_dwg_pair_case(s, k, st, p, hw) for s, (k, st, p, hw) in enumerate(geoms)]


# --- dwrq: the depthwise output stage (depthwise_s8.c's dw4_rq words, TTE_DW4_RQ and its copies) ---
# (kernel, stride, kind, channels, h, w, pads, dw57_pad's copy): one geometry per depthwise path
# that ends in the four-channel output stage: dw3_ring_image and dw3_fast (whole-image 3x3), the
# streamed dw3_ring (eight and four channels a pass) and dw3_fast, dw57_run and its border pixels
# (whole and streamed), dws over small images and over dw_copy's columns, dw57_pad; a 3x5 window
# (dw_row_groups_any's pixel loop) and windows wholly in the padding (the bias alone)
_DWRQ_PATHS: tuple[tuple[tuple[int, int], int, str, int, int, int, tuple[int, int, int, int], bool], ...] = (
    ((3, 3), 1, "whole", 13, 5, 7, (1, 1, 1, 1), False),
    ((3, 3), 1, "whole", 16, 3, 12, (1, 1, 1, 1), False),
    ((3, 3), 2, "whole", 20, 6, 9, (0, 0, 1, 1), False),
    ((3, 3), 1, "flat", 36, 4, 10, (1, 1, 1, 1), False),
    ((3, 3), 1, "expand", 7, 3, 6, (0, 0, 0, 0), False),
    ((3, 3), 2, "flat", 12, 5, 9, (1, 1, 1, 1), False),
    ((5, 5), 1, "whole", 13, 6, 13, (2, 2, 2, 2), False),
    ((7, 7), 2, "expand", 20, 8, 15, (3, 3, 3, 3), False),
    ((7, 7), 1, "whole", 9, 8, 8, (3, 3, 3, 3), False),
    ((5, 5), 2, "whole", 6, 4, 4, (1, 1, 2, 2), False),
    ((5, 5), 1, "flat", 45, 6, 7, (2, 2, 2, 2), False),
    ((5, 5), 1, "flat", 30, 6, 10, (2, 2, 2, 2), True),
    ((7, 7), 1, "flat", 13, 7, 12, (3, 0, 3, 3), True),
    ((3, 5), 1, "whole", 13, 6, 14, (1, 2, 1, 2), False),
    ((5, 5), 1, "whole", 8, 3, 4, (5, 5, 5, 5), False),
    ((7, 7), 2, "flat", 12, 5, 9, (7, 7, 7, 7), False),
)


def _dwrq_scales(rng: np.random.Generator, c: int, taps: int, variant: int) -> tuple[np.ndarray, np.ndarray]:
    """Per channel the requantization shift each variant aims at and the bias, cycling through
    channel kinds: 0 shifts -1 (outputs clamping at both ends), -21 (biases near 2**29 that reach
    the output) and -7; 1 the same with biases near the int32 ends on every other channel (sums of
    2**30 and more: tte_rq_fast_s8's doubling saturates, the stage's SMMLAR does not); 2 shifts
    -22 to -31 as well (depthwise_s8.c's dw3_fast_exact; biases within its room); 3 variant 0
    with one channel of multiplier 0 (the layer not on the fast stage: the fallback). Shift 0
    stands for multiplier 0."""
    kinds = np.arange(c) % (4 if variant == 2 else 3)
    sh = np.choose(kinds, [-1, -21, -7, -31] if variant == 2 else [-1, -21, -7]).astype(np.int64)
    if variant == 2:
        sh[kinds == 1] = rng.integers(-31, -21, int((kinds == 1).sum()))
    big = (1 << 31) - 4 * taps * 255 * 128 if variant == 1 else (1 << 30) - 1 - 2 * taps * 255 * 128
    reach = np.where(sh <= -21, rng.integers(1 << 27, 1 << 29, c), rng.integers(0, 3000, c))
    b = np.minimum(reach, big) * rng.choice([-1, 1], c)
    if variant == 1:
        b[1::2] = rng.choice([-1, 1], len(b[1::2])) * (big - rng.integers(0, 1 << 16, len(b[1::2])))
    if variant == 3:
        sh[int(rng.integers(0, c))] = 0
    return sh, b.astype(np.int64)


def _dwrq_case(seed: int) -> Case:
    """A depthwise conv of _DWRQ_PATHS' geometry (seed % 16) with the requantization of
    _dwrq_scales' variant (seed // 13): shifts at both ends of the fast output stage's range and
    past it, biases near the int32 ends, outputs clamping at -128 and 127, a channel of multiplier
    0, channel counts not multiples of four; whole-image conv2d or streamed into a 1x1."""
    from tte.numerics import fixedpoint as fp

    (kh, kw), s, kind, c, h, w, pads, pad_copy = _DWRQ_PATHS[seed % len(_DWRQ_PATHS)]
    variant = seed // len(_DWRQ_PATHS)
    rng = np.random.default_rng(31400 + seed)
    g = _depthwise_graph(rng, "expand" if kind == "expand" else "flat", c, (kh, kw), s, pads, h, w, 1, 1.0)
    x = g.nodes[-1].inputs[0]
    xs = np.float64(np.float32(g.tensors[x].quant.scale[0]))
    ys = np.float64(np.float32(g.tensors["d"].quant.scale[0]))
    sh, b = _dwrq_scales(rng, c, kh * kw, variant)
    real = rng.uniform(0.55, 0.95, c) * np.exp2(sh.astype(np.float64))
    real[sh == 0] = 2.0 ** -34
    ws = (real * ys / xs).astype(np.float32)
    mult, shift = fp.quantize_multipliers(xs * ws.astype(np.float64) / ys)
    assert np.array_equal(shift, sh) and np.all((mult == 0) == (sh == 0)), (shift, sh)
    g.tensors["d.w"].quant = q(ws, np.zeros(c, int), 0)
    g.tensors["d.b"].data = b.astype(np.int32)
    g.tensors["d.b"].quant = q((np.float32(xs) * ws).astype(np.float32), np.zeros(c, int), 0)
    name = f"dwrq_{kind}_{kh}x{kw}_s{s}_{c}ch_h{h}w{w}_v{variant}{'_pad' if pad_copy else ''}_{seed}"
    if kind == "whole":
        g.outputs = ["d"]
        return Case(name, g, random_feeds(g, rng))
    case = _projected_case(name, g, rng, "flat", c)
    return _given_dw_pad(case, rng) if pad_copy else case


def dwrq_cases() -> list[Case]:
    return [_dwrq_case(s) for s in range(4 * len(_DWRQ_PATHS))]


# ---- pwe (pointwise_s8.c's expand 1x1 over a compile-time layout): four channels a loop pass ----

def pwe_cases() -> list[Case]:
    """_prep_expand_block_case's other (input, output) channel pairs: with its first 24 seeds all
    42 of 4-24 inputs (one to six weight words) by 3-150 outputs, so that every word count meets
    every entry of pwe_channels' four-channel loop ((-count) mod 4, also per pass of channels
    where the layout is split) and the rows of 1-10 pixels their tails of 1-3 pixels."""
    return [_prep_expand_block_case(s) for s in range(24, 42)]


def pwe8_cases() -> list[Case]:
    """_prep_expand_block_case over 8 and 16 input channels (pwe_groups' eight-channel loop) with
    the output counts pwe_cases leaves out of its entries: (-count) mod 8 of 1, 3, 4 and 6 (7, 5,
    4, 2 outputs; 14 and 11: 2 and 5 past eight), and a layout split into passes whose last one
    enters late (121 outputs over 8 inputs: 112 + 9; 79 over 16: 72 + 7; rows of 9 and 6 pixels,
    more than four: the split applies)."""
    pairs = [(8, c, None) for c in (7, 5, 4, 2, 14)] + [(8, 121, 9)]
    pairs += [(16, c, None) for c in (7, 5, 4, 2, 11)] + [(16, 79, 6)]
    return [_prep_expand_block_case(42 + i, cin, cout, w) for i, (cin, cout, w) in enumerate(pairs)]



def pw3_cases() -> list[Case]:
    """_prep_expand_block_case over 16 and 24 input channels and a multiple of four outputs
    (pointwise_s8.c's pw3_run: three pixels by two channels a step, each row's last four or eight
    pixels by pwe_groups where its width is not a multiple of three): widths 1-14 (a multiple of
    three, one or two past it, and rows too short for any group of three), 4 to 40 outputs (one
    loop pass of two channel pairs and several), layouts split into passes (96 over 16: 72 + 24;
    144 over 24: 56 + 56 + 32), the doubled sums' bound on every third seed; P over a 16- or 24-channel
    D takes the path too (8, 16 or 40 outputs)."""
    pairs = [(16, 4, 1), (16, 8, 2), (16, 32, 3), (16, 12, 4), (16, 16, 5), (16, 40, 6), (16, 24, 7),
             (16, 96, 11), (16, 32, 13), (16, 16, 14), (24, 4, 3), (24, 8, 4), (24, 24, 5), (24, 16, 9),
             (24, 144, 10), (24, 40, 11), (24, 28, 12), (24, 20, 14)]
    return [_prep_expand_block_case(60 + i, cin, cout, w) for i, (cin, cout, w) in enumerate(pairs)]


# ---- pwerows: E over its compile-time layout several rows a call into the block's ring ----

def _pwe_rows_case(seed: int) -> Case:
    """A 1x1 E over its compile-time layout (pe_layout) -> depthwise D -> 1x1 P [-> add], streamed,
    E's rows into the block's ring several a call (block_s8.c's expand_rows, pointwise_s8.c's
    tte_conv2d_s8_pointwise_small_prep_ring): a 3x3 stride-1 D given its rows kept widened (E up to
    three rows ahead, into slots that wrap; the last call cut by the image's bottom), or a 3x3 or
    5x5 D at stride 2 (two rows a call, slots that wrap) or a 5x5 at stride 1 (the first rows in
    one call); 3 to 12 rows, widths 1 to 11 (tails of 1 to 3 pixels), 4 to 24 inputs, outputs with
    every entry of the channel loop and layouts split into passes (150 over 4, 144 over 24, 76
    over 16), one or two images, every fifth seed a D multiplier above 1/2 (the plain ring: E
    not ahead)."""
    from tte.compiler.emit.block import pe_layout
    from tte.numerics import fixedpoint as fp

    rng = np.random.default_rng(52520 + seed)
    kind = ("wide", "s2", "wide", "k5s2", "wide", "k5s1")[seed % 6]
    cin = (4, 8, 12, 16, 20, 24)[(seed * 5 + seed // 6) % 6]
    cout = (12, 48, 76, 21, 144, 36, 150, 8)[seed % 8]
    h, w, images = 3 + (seed * 7) % 10, 1 + (seed * 3) % 11, 2 if seed % 7 == 3 else 1
    residual = kind == "wide" and seed % 4 == 0
    kk, stride = (5, 2) if kind == "k5s2" else (5, 1) if kind == "k5s1" else (3, 2) if kind == "s2" else (3, 1)
    pads = (kk // 2,) * 4 if seed % 3 else (0, 0, kk // 2, kk // 2) if stride == 2 else (0, 0, 0, 0)
    if residual:
        pads = (1, 1, 1, 1)
    if h + pads[0] + pads[2] < kk or w + pads[1] + pads[3] < kk:
        pads = (kk - 1,) * 4
    xq = rand_q(rng)
    xs = float(xq.scale[0])
    yq = q(xs, -128 if seed % 2 else int(rng.integers(-128, 128)))
    ws = _expand_w_scales(rng, cout, 0.1)
    _, shift = fp.quantize_multipliers(np.float64(np.float32(xs)) * ws.astype(np.float64) / np.float64(np.float32(xs)))
    assert ((shift >= -21) & (shift <= -1)).all(), shift
    g = new_graph({"x": ((images, h, w, cin), "int8", xq)})
    g.add_const("e.w", rand_s8(rng, (cout, 1, 1, cin)), "int8", q(ws, np.zeros(cout, int), 0))
    g.add_const("e.b", rng.integers(-3000, 3000, cout).astype(np.int32), "int32",
                q((np.float32(xs) * ws).astype(np.float32), np.zeros(cout, int), 0))
    g.add_node("conv2d", ["x", "e.w", "e.b"], "e", {"strides": (1, 1), "dilations": (1, 1), "pads": (0, 0, 0, 0),
                                                  "groups": 1, "activation": "relu" if seed % 2 else "none"},
               quant=yq)
    wd = np.exp(rng.uniform(np.log(2e-3), np.log(5e-2), cout)).astype(np.float32)
    g.add_const("d.w", rand_s8(rng, (cout, kk, kk, 1)), "int8", q(wd, np.zeros(cout, int), 0))
    g.add_const("d.b", rng.integers(-3000, 3000, cout).astype(np.int32), "int32",
                q((np.float32(xs) * wd).astype(np.float32), np.zeros(cout, int), 0))
    g.add_node("conv2d", ["e", "d.w", "d.b"], "d", {"strides": (stride, stride), "dilations": (1, 1), "pads": pads,
                                                  "groups": cout, "activation": "none"},
               quant=q(xs * (0.02 if seed % 5 == 4 else 6), int(rng.integers(-40, 41))))
    add_random_conv(g, rng, "d", "p", cin if residual else int(rng.choice([8, 16, 40])), 1, 1, (0, 0, 0, 0), 1)
    _block_output(g, rng, residual)
    name = f"pwe_rows_{kind}_{cin}_{cout}_w{w}_h{h}_n{images}_{seed}"
    case = _streamed_case(name, g, rng)
    assert pe_layout(case.graph.nodes[0], case.graph) is not None, case.name
    return _given_dw_pad(case, rng) if kind == "wide" else case


def pwe_rows_cases() -> list[Case]:
    """_pwe_rows_case over 30 seeds: every kind of D meets several input widths and heights."""
    return [_pwe_rows_case(s) for s in range(30)]

# ---- fcae2: QUANTIZE without the divide (elementwise_s8.c's quantize_bracketed) and FC rows of
# few inputs and many outputs ----

_BRACKET_SCALES = (0.1, 1 / 255, 3.0, 0.0123, 2.0 ** -125 * 1.3, 2.0 ** 125 * 1.7, 0.7, 5e-4)


def _quantize_bracket_case(seed: int) -> Case:
    """QUANTIZE of a scale not a power of two (the M7 multiplies by the reciprocal less and plus
    one ulp and divides only where the two disagree): x / scale at every k + 1/2 the int8 range
    reaches and one to three floats either side of it, random values, near and past +-1000,
    zeros and subnormals; scales at the ends of the bracketed range (exponent field 2 and 252),
    zero points at both ends and in between."""
    rng = np.random.default_rng(47100 + seed)
    s = np.float32(_BRACKET_SCALES[seed % len(_BRACKET_SCALES)])
    zp = (-128, 127, 0, int(rng.integers(-100, 100)))[seed % 4]
    r = np.concatenate([rng.standard_normal(400) * 60, np.array([999.5, 1000, 1000.5, 1001, 3e9, 2e18])])
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        t = ((np.arange(-300, 300, dtype=np.float32) + np.float32(0.5)) * s).astype(np.float32)
        near = [t]
        up, down = t, t
        for _ in range(3):
            up, down = np.nextafter(up, np.float32(np.inf)), np.nextafter(down, np.float32(-np.inf))
            near += [up, down]
        far = (np.concatenate([r, -r]) * np.float64(s)).astype(np.float32)
    x = np.concatenate(near + [far, np.array([0.0, -0.0, 1e-45, -1e-45, 1.2e-38], np.float32)])
    x = x[np.isfinite(x)]
    g = new_graph({"x": ((1, x.size), "float32", None)})
    g.add_node("quantize", ["x"], "y", {}, dtype="int8", quant=q(float(s), zp))
    g.outputs = ["y"]
    return Case(f"quantize_bracket_{seed}", g, {"x": x.reshape(1, -1)})


_K128_OUTS = (4, 7, 260, 263, 130, 33, 8, 257)


def _fc_k128_case(seed: int) -> Case:
    """Fully connected rows of 128 inputs (FC-AE's output layer, fc_rows_k128_rq: the output
    stage on the sums in registers; up to 263 outputs, the M7 harness's arena being small):
    output counts a multiple of four and not (the tail in C), one row and two, weights and
    inputs at the int8 ends, biases of +-2**20 and small, an output scale that spreads the
    bytes over int8 and clamps some at both ends; seeds 3 and 7: sparse weights of +-1 and a
    multiplier near 1/4 (shift -1 or -2: many rounding ties). Seeds 8 on: no bias, ReLU and
    per-channel weights (the blocked path)."""
    rng = np.random.default_rng(47200 + seed)
    nout, rows = _K128_OUTS[seed % 8], 2 if seed % 3 == 1 else 1
    xs, ws = float(np.exp(rng.uniform(np.log(2e-3), np.log(0.1)))), 0.01
    g = new_graph({"x": ((rows, 128), "int8", q(xs, (-128, 127, int(rng.integers(-40, 41)))[seed % 3]))})
    per_channel = seed >= 8 and seed % 3 == 0
    if per_channel:
        wq = q(np.exp(rng.uniform(np.log(2e-3), np.log(2e-2), nout)).astype(np.float32), np.zeros(nout, int), 0)
    else:
        wq = q(ws)
    ties = seed in (3, 7)   # an output multiplier near 1/4 (shift -1, -2): many rounding ties
    spread = 30 if not ties else 0.3
    w = np.clip(np.round(rng.normal(0, spread, (nout, 128))), -128, 127).astype(np.int8)
    w[0, :] = 127
    w[-1, :] = -128
    g.add_const("w", w, "int8", wq)
    ins = ["x", "w"]
    if seed < 8 or seed % 3 == 2:
        b = rng.integers(-30000, 30000, nout) if not ties else rng.integers(-300, 300, nout)
        b[1:3] = (1 << 20, -(1 << 20))[:nout - 1]
        g.add_const("b", b.astype(np.int32), "int32", q(xs * ws))
        ins.append("b")
    act = "relu" if seed >= 8 and seed % 3 == 1 else "none"
    ys = xs * ws * float(rng.uniform(1500, 4000) if not ties else rng.uniform(2.2, 7.8))
    g.add_node("fully_connected", ins, "y", {"activation": act}, quant=q(ys, int(rng.integers(-20, 21))))
    g.outputs = ["y"]
    g.meta[FC_PREPARED_META] = frozenset()
    feeds = random_feeds(g, rng)
    feeds["x"].flat[:2] = (-128, 127)
    return Case(f"fc_k128_{nout}x{rows}_{seed}", g, feeds)


def _dequantize_wide_case(seed: int) -> Case:
    """DEQUANTIZE four values a pass (the M7's VMOV pairs and VSTM) and the tail: lengths not a
    multiple of four, every int8 value, zero points at both ends."""
    rng = np.random.default_rng(47300 + seed)
    n = (640, 643, 5, 258)[seed % 4]
    zp = (-128, 127, 0, int(rng.integers(-50, 50)))[seed % 4]
    g = new_graph({"x": ((1, n), "int8", q(float(np.exp(rng.uniform(np.log(1e-4), np.log(3.0)))), zp))})
    g.add_node("dequantize", ["x"], "y", {}, dtype="float32")
    g.outputs = ["y"]
    x = rng.integers(-128, 128, (1, n)).astype(np.int8)
    x.flat[:min(n, 256)] = np.arange(-128, 128)[:min(n, 256)]
    return Case(f"dequantize_wide_{n}_{seed}", g, {"x": x})


def fcae2_cases() -> list[Case]:
    return ([_quantize_bracket_case(s) for s in range(8)] + [_fc_k128_case(s) for s in range(12)]
            + [_dequantize_wide_case(s) for s in range(4)])


# --- dw3v: dw3_ring_fill (depthwise_s8.c), word-aligned columns of eight channels two a pass ---
def _dw3_fill_case(seed: int) -> Case:
    """A 3x3 stride-1 depthwise whose ring (dw3_ring) is filled two columns a pass, each column's
    eight channels in one LDRD where the input and C are word-aligned: streamed into a 1x1 (the
    ring in P's pair buffer) on even seeds, a whole image (dw3_ring_image, the ring on the stack)
    on odd ones; 8 to 40 channels (a multiple of eight; C % 8 of 4: a last group of four on the
    two-columns path of one group; C % 4 != 0: the column-a-pass path for unaligned words), the
    ring's columns inside odd and even in number (widths 1 to 13, paddings none, symmetric,
    one-sided and two wide), 1 to 5 rows."""
    rng = np.random.default_rng(41100 + seed)
    c = (8, 16, 24, 40, 12, 20, 10, 8)[seed // 2 % 8]
    w = (1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 13)[seed // 2 % 11] if seed % 2 == 0 else 1 + (seed // 2 * 5) % 9
    h = 1 + seed % 5
    pads = ((1, 1, 1, 1), (0, 0, 0, 0), (1, 0, 0, 1), (0, 1, 1, 0), (2, 2, 2, 2))[(seed // 2) % 5]
    if h + pads[0] + pads[2] < 3 or w + pads[1] + pads[3] < 3:
        pads = (1, 1, 1, 1)
    g = _depthwise_graph(rng, "flat", c, (3, 3), 1, pads, h, w, 1, 6.0)
    name = f"dw3_fill_{c}ch_w{w}_h{h}_p{''.join(map(str, pads))}_{seed}"
    if seed % 2 == 1:
        g.outputs = ["d"]
        return Case(f"{name}_image", g, random_feeds(g, rng))
    return _projected_case(f"{name}_streamed", g, rng, "flat", c)


def dw3_fill_cases() -> list[Case]:
    return [_dw3_fill_case(s) for s in range(32)]


# ---- pwez (pe_layout with the input zero point folded into the bias, the weights doubled) ----

def _pwez_bound_case(seed: int) -> Case:
    """An expand 1x1 -> 3x3 depthwise -> 1x1 streamed block whose expand reads pe_layout's form
    (2 (bias - zp sum(w)) and the doubled weights) at the edge of what it admits: the input zero
    point -128 or 127, every weight of a channel 127 or -128 of the sign that makes zp sum(w)
    grow the bias's magnitude, the biases just inside |bias| + cin 255 128 < 2**29, the pixels
    all 127 or all -128 per row (the partial sums at their reach) or each byte either, 4-24
    input channels; the
    output stage as _prep_expand_block_case's (kinds of shifts from -1 to -21)."""
    from tte.compiler.emit.block import pe_layout

    rng = np.random.default_rng(16400 + seed)
    cin = (4, 8, 12, 16, 20, 24)[seed % 6]
    cout = (5, 16, 33, 48)[seed % 4]
    h, w = int(rng.integers(2, 5)), int(rng.integers(1, 9))
    zp = -128 if seed // 6 % 2 == 0 else 127
    xs = float(np.exp(rng.uniform(np.log(2e-3), np.log(0.3))))
    relu = seed % 3 == 1
    yq = q(xs, -128 if relu else int(rng.integers(-128, 128)))
    ws = _expand_w_scales(rng, cout, 0.4)
    sign = rng.choice([-1, 1], cout)
    # -zp sum(w) of the bias's sign: weights of sign -sign zp
    wsign = -sign * np.sign(zp)
    wq = np.where(wsign[:, None] > 0, 127, -128) * np.ones((cout, cin), np.int64)
    mixed = rng.random(cout) < 0.25
    wq[mixed] = rng.integers(-128, 128, (int(mixed.sum()), cin))
    lim = (1 << 29) - cin * 255 * 128
    b = sign * (lim - 1 - rng.integers(0, 1 << 8, cout))
    g = new_graph({"x": ((1, h, w, cin), "int8", q(xs, zp))})
    g.add_const("e.w", wq.reshape(cout, 1, 1, cin).astype(np.int8), "int8", q(ws, np.zeros(cout, int), 0))
    g.add_const("e.b", b.astype(np.int32), "int32", q((np.float32(xs) * ws).astype(np.float32),
                                                      np.zeros(cout, int), 0))
    g.add_node("conv2d", ["x", "e.w", "e.b"], "e", {"strides": (1, 1), "dilations": (1, 1), "pads": (0, 0, 0, 0),
                                                    "groups": 1, "activation": "relu" if relu else "none"}, quant=yq)
    add_random_conv(g, rng, "e", "d", cout, 3, 1, (1, 1, 1, 1), cout)
    add_random_conv(g, rng, "d", "p", 8, 1, 1, (0, 0, 0, 0), 1)
    g.outputs = ["p"]
    case = _streamed_case(f"streamed_block_prep_expand_bound_{cin}_{cout}_zp{zp}_{seed}", g, rng)
    # per row: every pixel 127, every pixel -128, or each byte either
    mode = rng.integers(0, 3, (1, h, 1, 1))
    extremes = np.where(rng.random((1, h, w, cin)) < 0.5, 127, -128)
    case.feeds["x"] = np.where(mode == 0, 127, np.where(mode == 1, -128, extremes)).astype(np.int8)
    prep = pe_layout(case.graph.nodes[0], case.graph)
    assert prep is not None, case.name
    return case


def pwez_cases() -> list[Case]:
    """_pwez_bound_case over every input word count with both extreme zero points."""
    return [_pwez_bound_case(s) for s in range(12)]


# ---- fcae3: the prepared FC kernel's last pass with the output stage on its sums in registers ----

_FCP_RQ_SHAPES = ((128, 128, 1), (640, 12, 1), (16, 8, 2), (40, 24, 1), (144, 132, 1), (20, 130, 1), (9, 16, 1),
                  (128, 20, 2), (257, 36, 1), (128, 260, 1))


def _fcp_rq_case(seed: int) -> Case:
    """Prepared fully connected layers (fc_layout) whose output stage is tte_rq_fast_s8 with one
    multiplier (no activation, per-tensor weights), so that the last pass of each block of rows
    applies it to the sums in registers (fcp_pass8 and fcp_pass4_rq): one pass and several,
    groups of eight and of four, a last block of four real rows (132) and one with zero rows (130,
    the sums through fcp_out), the input zero point at -128, 127 or in between, inputs and
    weights at their extremes; the output scale keeps most bytes off the clamp."""
    rng = np.random.default_rng(9500 + seed)
    k, nout, rows = _FCP_RQ_SHAPES[seed % len(_FCP_RQ_SHAPES)]
    zp = (-128, 127, int(rng.integers(-40, 41)))[seed % 3]
    xs, ws = 0.02, 0.01
    g = new_graph({"x": ((rows, k), "int8", q(xs, zp))})
    w = np.clip(np.round(rng.normal(0, 20, (nout, k))), -128, 127).astype(np.int8)
    w.flat[rng.choice(w.size, min(w.size, 4), replace=False)] = (-128, 127, -128, 127)[:min(w.size, 4)]
    g.add_const("w", _fc_lanes_in_int16(w), "int8", q(ws))
    ins = ["x", "w"]
    if seed % 4 != 3:
        b = int(1600 * math.sqrt(k))   # about the sums' spread
        g.add_const("b", rng.integers(-b, b, nout).astype(np.int32), "int32", q(xs * ws))
        ins.append("b")
    ys = xs * ws * 20 * 80 * math.sqrt(k) / float(rng.uniform(30, 90))
    g.add_node("fully_connected", ins, "y", {"activation": "none"}, quant=q(ys, int(rng.integers(-20, 21))))
    g.outputs = ["y"]
    assert fc_layout(g.nodes[0], g) is not None, "the case must take the prepared kernel"
    feeds = random_feeds(g, rng)
    feeds["x"].flat[:2] = (-128, 127)
    return Case(f"fcp_rq_{k}x{nout}x{rows}_{seed}", g, feeds)


def fcp_rq_cases() -> list[Case]:
    return [_fcp_rq_case(s) for s in range(20)]


def quantize_nan_cases() -> list[Case]:
    """QUANTIZE over NaNs (at even and odd places of the pairs quantize_bracketed reads) among
    ordinary values, scales not a power of two: no reference takes a NaN, so these run only where
    the host's portable loop is the oracle (the M7's bytes against it)."""
    cases = []
    for seed, (scale, zp) in enumerate(((0.1, 3), (1 / 255, -128), (3.0, 127))):
        rng = np.random.default_rng(9600 + seed)
        x = (rng.standard_normal(24) * 40 * scale).astype(np.float32)
        x[[0, 3, 6, 8, 9, 12, 17]] = np.float32(np.nan)   # 6 and 12: beside an ordinary value
        x[[1, 4]] = (0.0, -0.0)
        g = new_graph({"x": ((1, x.size), "float32", None)})
        g.add_node("quantize", ["x"], "y", {}, dtype="int8", quant=q(scale, zp))
        g.outputs = ["y"]
        cases.append(Case(f"quantize_nan_{seed}", g, {"x": x.reshape(1, -1)}))
    return cases
