"""Converters of the structural ONNX ops: Concat, Split, Slice, Squeeze, Unsqueeze; 1-D
Conv / MaxPool / AveragePool / GlobalAveragePool (rank-3 input, mapped onto the 2-D ops);
BatchNormalization exported in training mode (folded with its running statistics, noted).

A 1-D op runs as its 2-D twin on an (N, C, 1, L) view of the (N, C, L) value; a
channels-last IR value (N, L, C) gets that view by a free reshape, so chains of 1-D ops
stay channels-last. A 1-D conv folds a BatchNormalization and a Relu / ReLU6 that follow it
(its only consumers), as the 2-D importer does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import onnx

from tte.errors import TteError, UnsupportedOpError
from tte.frontend import layout as L
from tte.frontend.layout import NCHW_FROM_NHWC
from tte.frontend.onnx import float_ops
from tte.frontend.onnx.context import ImportContext
from tte.frontend.onnx.folding import activation_of
from tte.frontend.onnx.registry import _converter
from tte.frontend.onnx.values import _attrs, _ints, _QConst, _QOut, _Val

NLC: tuple[int, ...] = (0, 2, 1)   # perm of a channels-last IR value (N, L, C) of source (N, C, L)


# ---- concat / split / slice / squeeze / unsqueeze ----------------------------------------------


@_converter("Concat", emits=("concat",))
def _concat(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    vals = [im.act_input(n, qout) for n in node.input]
    r = im.rank(vals[0])
    axis = int(_attrs(node)["axis"]) % r
    perm = vals[0].perm
    ins = [im.in_layout(v, perm) for v in vals]
    im.emit_out(node, "concat", ins, {"axis": L.full(perm, r)[axis]}, perm, qout)


def _emit_slice(im: ImportContext, v: _Val, out: str, begin: list[int], end: list[int], step: list[int],
                node: onnx.NodeProto, qout: _QOut | None = None) -> None:
    """x[begin:end:step] in source axes, on the IR tensor of v (same layout); int8 in a QDQ group."""
    r = len(begin)
    p = L.full(v.perm, r)
    ib, ie, st = [0] * r, [0] * r, [1] * r
    for ax in range(r):
        ib[p[ax]], ie[p[ax]], st[p[ax]] = begin[ax], end[ax], step[ax]
    attrs = {"begin": tuple(ib), "end": tuple(ie), "strides": tuple(st)}
    if qout is not None:
        im.emit_passthrough(node, "slice", [v.ir], attrs, v.perm, qout)
        return
    t = im.g.tensors[v.ir]
    ir = im.emit("slice", [v.ir], out, attrs, dtype=t.dtype, quant=t.quant, node=node.name or None)
    im.set(out, ir, v.perm)


def _split_qouts(im: ImportContext, node: onnx.NodeProto) -> list[_QOut | None]:
    """In a QDQ model, each output's int8 QuantizeLinear (all or none): the slices run in int8."""
    from tte.frontend.onnx.qdq import _quant_of

    src = im.vals.get(node.input[0])
    outs: list[_QOut | None] = [None] * len(node.output)
    if src is None or not src.deq:
        return outs
    for k, o in enumerate(node.output):
        q = im.sole_consumer(o) if o else None
        quant = _quant_of(im, q) if q is not None and q.op_type == "QuantizeLinear" else None
        if q is None or quant is None:
            return [None] * len(node.output)
        outs[k] = _QOut(q.output[0], quant, "none", [q])
    return outs


@_converter("Split", emits=("slice",))
def _split(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    a = _attrs(node)
    qouts = _split_qouts(im, node)
    v = im.act_input(node.input[0], qouts[0])
    shape = im.shape(node.input[0])
    axis = int(a.get("axis", 0)) % len(shape)
    sizes_a = im.const(node, 1, "split") if im.opset >= 13 else None
    sizes = _ints(sizes_a.ravel()) if sizes_a is not None else _ints(a.get("split", ()))
    outs = list(node.output)
    if not sizes:
        n, d = len(outs), shape[axis]
        each = -(-d // n)                      # equal parts, the last one smaller (opset 18)
        sizes = tuple(min(each, d - k * each) for k in range(n))
    if len(sizes) != len(outs) or sum(sizes) != shape[axis] or min(sizes) <= 0:
        raise TteError(f"Split: sizes {sizes} do not divide axis {axis} of {shape} into {len(outs)} parts")
    start = 0
    for out, size, qo in zip(outs, sizes, qouts):
        if out:
            begin = [start if k == axis else 0 for k in range(len(shape))]
            end = [start + size if k == axis else d for k, d in enumerate(shape)]
            part = onnx.NodeProto()
            part.CopyFrom(node)
            del part.output[:]
            part.output.append(out)
            _emit_slice(im, v, out, begin, end, [1] * len(shape), part, qo)
        start += size


@_converter("Slice", emits=("slice",))
def _slice(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    v = im.act_input(node.input[0], qout)
    shape = im.shape(node.input[0])
    r = len(shape)
    if im.opset < 10:
        a = _attrs(node)
        starts, ends = _ints(a["starts"]), _ints(a["ends"])
        axes, steps = _ints(a.get("axes", range(len(starts)))), (1,) * len(starts)
    else:
        starts_a, ends_a = im.const(node, 1, "starts"), im.const(node, 2, "ends")
        axes_a, steps_a = im.const(node, 3, "axes"), im.const(node, 4, "steps")
        assert starts_a is not None and ends_a is not None
        starts, ends = _ints(starts_a.ravel()), _ints(ends_a.ravel())
        axes = _ints(axes_a.ravel()) if axes_a is not None else tuple(range(len(starts)))
        steps = _ints(steps_a.ravel()) if steps_a is not None else (1,) * len(starts)
    begin, end, step = [0] * r, list(shape), [1] * r
    for s, e, ax, st in zip(starts, ends, axes, steps):
        ax %= r
        d = shape[ax]
        if st <= 0:
            raise UnsupportedOpError(node.op_type, detail=f"Slice with step {st} (tte slices forward)")
        s, e = s + d if s < 0 else s, e + d if e < 0 else e
        begin[ax], end[ax], step[ax] = min(max(s, 0), d), min(max(e, 0), d), st
        if begin[ax] >= end[ax]:
            raise UnsupportedOpError(node.op_type, detail=f"Slice [{s}:{e}] of an axis of {d} is empty")
    _emit_slice(im, v, node.output[0], begin, end, step, node, qout)


def _axes(im: ImportContext, node: onnx.NodeProto) -> tuple[int, ...] | None:
    a = im.const(node, 1, "axes") if im.opset >= 13 else None
    if a is not None:
        return _ints(a.ravel())
    return _ints(_attrs(node)["axes"]) if "axes" in _attrs(node) else None


@_converter("Squeeze", emits=("reshape",))
def _squeeze(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    shape = im.shape(node.input[0])
    axes = _axes(im, node)
    drop = {a % len(shape) for a in axes} if axes else {k for k, d in enumerate(shape) if d == 1}
    if any(shape[a] != 1 for a in drop):
        raise TteError(f"Squeeze: axes {sorted(drop)} of {shape} are not all of size 1")
    float_ops._reshape_to(im, node, tuple(d for k, d in enumerate(shape) if k not in drop), qout)


@_converter("Unsqueeze", emits=("reshape",))
def _unsqueeze(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    shape = list(im.shape(node.input[0]))
    axes = _axes(im, node) or ()
    r = len(shape) + len(axes)
    for a in sorted(x % r for x in axes):
        shape.insert(a, 1)
    float_ops._reshape_to(im, node, tuple(shape), qout)


# ---- 1-D conv and pooling on the 2-D ops --------------------------------------------------------


def _view_2d(im: ImportContext, name: str) -> _Val:
    """The (N, C, 1, L) view of a rank-3 value (int8 views keep their dequantized flag)."""
    v = im.var(name, float_view=False)
    n, c, length = im.shape(name)
    t = im.g.tensors[v.ir]
    perm = NCHW_FROM_NHWC if v.perm == NLC else None
    key = ("2d", v.ir)               # one view per value, however many 1-D ops read it
    if key not in im._cache:
        if perm is not None:
            ir = im.emit("reshape", [v.ir], f"{v.ir}_2d", {"shape": (n, 1, length, c)}, dtype=t.dtype,
                         quant=t.quant)
        else:
            ir = im.emit("reshape", [im.in_layout(v, None)], f"{v.ir}_2d", {"shape": (n, c, 1, length)},
                         dtype=t.dtype, quant=t.quant)
        im._cache[key] = ir
    return _Val(im._cache[key], perm, v.deq)


def _view_1d(im: ImportContext, v: _Val, out: str) -> None:
    """Set ONNX value ``out`` (N, C, L) from the 4-D value v (N, C, 1, L)."""
    t = im.g.tensors[v.ir]
    if v.perm == NCHW_FROM_NHWC:
        n, _, length, c = t.shape
        ir = im.emit("reshape", [v.ir], out, {"shape": (n, length, c)}, dtype=t.dtype, quant=t.quant)
        im.set(out, ir, NLC, deq=v.deq)
        return
    src = im.in_layout(v, None)
    n, c, _, length = im.g.tensors[src].shape
    ir = im.emit("reshape", [src], out, {"shape": (n, c, length)}, dtype=t.dtype, quant=t.quant)
    im.set(out, ir, None, deq=v.deq)


def _with_2d_attrs(node: onnx.NodeProto, names: dict[str, str]) -> onnx.NodeProto:
    """A copy of a 1-D node with 2-D attributes and renamed inputs / outputs."""
    a = _attrs(node)
    two = onnx.NodeProto()
    two.CopyFrom(node)
    del two.attribute[:]
    for key, val in a.items():
        if key in ("kernel_shape", "strides", "dilations"):
            val = [1, *_ints(val)]
        elif key == "pads":
            p = _ints(val)
            val = [0, p[0], 0, p[1]]
        two.attribute.append(onnx.helper.make_attribute(key, val))
    for k, i in enumerate(two.input):
        two.input[k] = names.get(i, i)
    for k, o in enumerate(two.output):
        two.output[k] = names.get(o, o)
    return two


@contextmanager
def _consts_2d(im: ImportContext, arrays: dict[str, np.ndarray]) -> Iterator[None]:
    """Constants seen with a 2-D shape (and their int8 twins) during one converter call."""
    saved = {k: im.consts.get(k) for k in arrays}
    saved_q = {k: im.qconsts.get(k) for k in arrays}
    for k, arr in arrays.items():
        im.consts[k] = arr
        qc = im.qconsts.get(k)
        if qc is not None and qc.q.ndim == 3:
            im.qconsts[k] = _QConst(qc.q[:, :, None, :], qc.scale, qc.zero_point, qc.axis, qc.source)
    try:
        yield
    finally:
        for k in arrays:
            if saved[k] is None:
                im.consts.pop(k, None)
            else:
                im.consts[k] = saved[k]   # type: ignore[assignment]
            if saved_q[k] is not None:
                im.qconsts[k] = saved_q[k]   # type: ignore[assignment]


def _run_2d(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None, consts: dict[str, np.ndarray],
            out: str) -> None:
    """Convert ``node`` (1-D) with its 2-D twin converter; ONNX value ``out`` gets the result."""
    x = node.input[0]
    view = _view_2d(im, x)
    x2, y2 = f"{x}@2d", f"{node.output[0]}@2d"
    im.vals[x2] = view
    two = _with_2d_attrs(node, {x: x2, node.output[0]: y2})
    q2 = None if qout is None else _QOut(f"{qout.name}@2d", qout.quant, qout.activation, qout.absorbed)
    with _consts_2d(im, consts):
        _CONVERTERS_2D[node.op_type](im, two, q2)
    _view_1d(im, im.vals[q2.name if q2 is not None else y2], out)


def _rank3(im: ImportContext, node: onnx.NodeProto) -> bool:
    return len(im.shape(node.input[0])) == 3


def _fold_following(im: ImportContext, node: onnx.NodeProto, w: np.ndarray, b: np.ndarray | None
                    ) -> tuple[np.ndarray, np.ndarray | None, str, str | None]:
    """Fold a BatchNormalization and then a Relu / ReLU6 that alone read a float conv's
    output: (weight, bias, ONNX name of the result, fused activation)."""
    out, act = node.output[0], None
    nxt = im.sole_consumer(out)
    if nxt is not None and nxt.op_type == "BatchNormalization" and _bn_foldable(im, nxt):
        scale, shift = _bn_affine(im, nxt)
        w = (w * scale.reshape(-1, 1, 1)).astype(np.float32)
        b = (shift if b is None else b.astype(np.float32) * scale + shift).astype(np.float32)
        im.absorbed.add(id(nxt))
        out = nxt.output[0]
        _note_training_bn(im, nxt)
        nxt = im.sole_consumer(out)
    if nxt is not None:
        act = activation_of(im, nxt)
        if act is not None:
            im.absorbed.add(id(nxt))
            out = nxt.output[0]
    return w, b, out, act


@_converter("Conv", emits=("conv2d",))
def _conv(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    if not _rank3(im, node):
        _CONVERTERS_2D["Conv"](im, node, qout)
        return
    w = im.const(node, 1, "weight")
    b = im.const(node, 2, "bias")
    assert w is not None
    out, act = (node.output[0], None) if qout is None else (qout.name, None)
    if qout is None:
        w, b, out, act = _fold_following(im, node, w.astype(np.float32), b)
    if b is not None and (len(node.input) < 3 or not node.input[2]):
        node = _with_input(node, 2, f"{node.input[1]}_bias")
    consts = {node.input[1]: w[:, :, None, :]}
    if b is not None:
        consts[node.input[2]] = b
    _run_2d(im, node, qout, consts, out)
    if act is not None:
        view = im.producer[im.vals[out].ir]          # the reshape to rank 3 ...
        conv = im.producer[view.inputs[0]]          # ... of the conv2d's NHWC output
        assert conv.op == "conv2d"
        conv.attrs["activation"] = act


def _with_input(node: onnx.NodeProto, idx: int, name: str) -> onnx.NodeProto:
    n = onnx.NodeProto()
    n.CopyFrom(node)
    while len(n.input) <= idx:
        n.input.append("")
    n.input[idx] = name
    return n


@_converter("MaxPool", emits=("maxpool2d",))
@_converter("AveragePool", "GlobalAveragePool", emits=("avgpool2d",))
def _pool(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    if not _rank3(im, node):
        _CONVERTERS_2D[node.op_type](im, node, qout)
        return
    _run_2d(im, node, qout, {}, qout.name if qout is not None else node.output[0])


# ---- BatchNormalization exported in training mode -------------------------------------------


def _bn_foldable(im: ImportContext, node: onnx.NodeProto) -> bool:
    """Inference semantics are available: no running-statistics output is read."""
    return not any(o and (im.uses[o] or o in im.graph_outputs) for o in node.output[1:])


def _bn_affine(im: ImportContext, node: onnx.NodeProto) -> tuple[np.ndarray, np.ndarray]:
    gamma, beta, mean, var = (im.const(node, k, n) for k, n in
                              ((1, "scale"), (2, "bias"), (3, "mean"), (4, "var")))
    assert gamma is not None and beta is not None and mean is not None and var is not None
    eps = np.float32(_attrs(node).get("epsilon", 1e-5))
    scale = (gamma.astype(np.float32) / np.sqrt(var.astype(np.float32) + eps)).astype(np.float32)
    return scale, (beta.astype(np.float32) - mean.astype(np.float32) * scale).astype(np.float32)


def _note_training_bn(im: ImportContext, node: onnx.NodeProto) -> None:
    if int(_attrs(node).get("training_mode", 0)):
        im.notes.append(f"BatchNormalization '{node.name or node.output[0]}' was exported in training mode: "
                         "folded with its running mean and variance (inference semantics)")


@_converter("BatchNormalization", emits=("mul", "add"))
def _batchnorm(im: ImportContext, node: onnx.NodeProto, qout: _QOut | None) -> None:
    if not int(_attrs(node).get("training_mode", 0)) and not any(node.output[1:]):
        _CONVERTERS_2D["BatchNormalization"](im, node, qout)
        return
    if not _bn_foldable(im, node):
        raise UnsupportedOpError(node.op_type, detail="BatchNormalization in training mode whose running "
                                 "statistics outputs are used")
    _note_training_bn(im, node)
    inference = onnx.NodeProto()
    inference.CopyFrom(node)
    del inference.output[1:]
    del inference.attribute[:]
    inference.attribute.extend(a for a in node.attribute if a.name != "training_mode")
    _CONVERTERS_2D["BatchNormalization"](im, inference, qout)


_CONVERTERS_2D = {op: float_ops.__dict__[fn] for op, fn in (
    ("Conv", "_conv"), ("MaxPool", "_maxpool"), ("AveragePool", "_avgpool"),
    ("GlobalAveragePool", "_global_avgpool"), ("BatchNormalization", "_batchnorm"))}
