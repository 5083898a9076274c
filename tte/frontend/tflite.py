"""Import a TFLite flatbuffer (int8, float, or int8 with float I/O) as an IR graph.

The flatbuffer is first read into plain Python records (``_Model``) inside one guarded
step, so a truncated or corrupted file surfaces as ``ModelFormatError`` and never as a
parser exception. Those records are then normalized (a dynamic batch is fixed to 1, the
shape arithmetic it feeds is folded: tte.frontend.tflite_fold), checked (unsupported ops all
at once, other dynamic dimensions, partially quantized models) and converted operator by
operator. What the import changed is listed in ``graph.meta["notes"]`` (`tte inspect`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tflite

from tte.errors import ModelFormatError, TteError, UnsupportedOpError
from tte.frontend.tflite_activation import CONVERTERS as ACTIVATION_CONVERTERS
from tte.frontend.tflite_fold import fold_shape_arithmetic
from tte.ir import Graph, QuantParams, Tensor

__all__ = ["load_tflite", "SUPPORTED_OPS"]

_OP_NAMES: dict[int, str] = {v: k for k, v in vars(tflite.BuiltinOperator).items()
                             if not k.startswith("_") and isinstance(v, int)}
_DTYPES = {tflite.TensorType.FLOAT32: "float32", tflite.TensorType.INT8: "int8",
           tflite.TensorType.UINT8: "uint8", tflite.TensorType.INT16: "int16",
           tflite.TensorType.INT32: "int32", tflite.TensorType.INT64: "int64",
           tflite.TensorType.BOOL: "bool"}
_ACTS = {tflite.ActivationFunctionType.NONE: "none", tflite.ActivationFunctionType.RELU: "relu",
         tflite.ActivationFunctionType.RELU6: "relu6"}
_QDQ = ("QUANTIZE", "DEQUANTIZE")


# --------------------------------------------------------------------------------------
# raw records read from the flatbuffer


@dataclass
class _RawTensor:
    name: str
    shape: tuple[int, ...]
    signature: tuple[int, ...]
    ttype: int
    data: bytes
    scale: np.ndarray
    zero_point: np.ndarray
    axis: int


@dataclass
class _RawOp:
    index: int
    name: str                    # builtin name, or CUSTOM(code)
    inputs: list[int]
    outputs: list[int]
    options: Any                 # the generated options table, already typed


@dataclass
class _Model:
    tensors: list[_RawTensor]
    ops: list[_RawOp]
    inputs: list[int]
    outputs: list[int]
    other_ops: list[str] = field(default_factory=list)   # ops in further subgraphs
    name: str = ""


def _options_class(op: Any) -> Any:
    """The generated options class for this operator, or None."""
    kind = op.BuiltinOptionsType()
    names = {v: k for k, v in vars(tflite.BuiltinOptions).items() if isinstance(v, int)}
    cls_name = names.get(kind)
    if not cls_name or cls_name == "NONE" or op.BuiltinOptions() is None:
        return None
    cls = getattr(tflite, cls_name, None)
    if cls is None:
        return None
    table = op.BuiltinOptions()
    obj = cls()
    obj.Init(table.Bytes, table.Pos)
    return obj


def _op_name(model: Any, op: Any) -> str:
    code = model.OperatorCodes(op.OpcodeIndex())
    builtin = max(int(code.BuiltinCode()), int(code.DeprecatedBuiltinCode()))
    name = _OP_NAMES.get(builtin, f"BUILTIN_{builtin}")
    if name == "CUSTOM":
        custom = code.CustomCode()
        name = f"CUSTOM({custom.decode(errors='replace') if custom else '?'})"
    return name


def _read_tensor(model: Any, t: Any, n_buffers: int) -> _RawTensor:
    name = (t.Name() or b"").decode(errors="replace")
    shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
    sig = tuple(int(d) for d in t.ShapeSignatureAsNumpy()) if t.ShapeSignatureLength() else ()
    buf = t.Buffer()
    if not 0 <= buf < n_buffers:
        raise ValueError(f"tensor '{name}' refers to buffer {buf} of {n_buffers}")
    b = model.Buffers(buf)
    data = b.DataAsNumpy().tobytes() if b is not None and b.DataLength() else b""
    if b is not None and not data and b.Offset() > 1:
        raise ValueError(f"tensor '{name}' keeps its data outside the flatbuffer (not supported)")
    q = t.Quantization()
    scale = q.ScaleAsNumpy() if q is not None and q.ScaleLength() else np.zeros(0, np.float32)
    zp = q.ZeroPointAsNumpy() if q is not None and q.ZeroPointLength() else np.zeros(0, np.int64)
    axis = int(q.QuantizedDimension()) if q is not None else 0
    return _RawTensor(name, shape, sig, int(t.Type()), data, np.array(scale, np.float32),
                      np.array(zp, np.int64), axis)


def _read_model(buf: bytes) -> _Model:
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ValueError("not a TFLite flatbuffer (no 'TFL3' identifier)")
    model = tflite.Model.GetRootAs(buf, 0)
    if model.SubgraphsLength() < 1:
        raise ValueError("the model has no subgraph")
    sg = model.Subgraphs(0)
    n_buffers = model.BuffersLength()
    tensors = [_read_tensor(model, sg.Tensors(i), n_buffers) for i in range(sg.TensorsLength())]
    ops = []
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        ins = [int(v) for v in op.InputsAsNumpy()] if op.InputsLength() else []
        outs = [int(v) for v in op.OutputsAsNumpy()] if op.OutputsLength() else []
        for v in ins + outs:
            if not -1 <= v < len(tensors):
                raise ValueError(f"operator {i} refers to tensor {v} of {len(tensors)}")
        ops.append(_RawOp(i, _op_name(model, op), ins, outs, _options_class(op)))
    inputs = [int(v) for v in sg.InputsAsNumpy()] if sg.InputsLength() else []
    outputs = [int(v) for v in sg.OutputsAsNumpy()] if sg.OutputsLength() else []
    if any(not 0 <= v < len(tensors) for v in inputs + outputs):
        raise ValueError("graph inputs/outputs refer to missing tensors")
    other = []
    for s in range(1, model.SubgraphsLength()):
        g = model.Subgraphs(s)
        other += [_op_name(model, g.Operators(i)) for i in range(g.OperatorsLength())]
    return _Model(tensors, ops, inputs, outputs, other, (sg.Name() or b"").decode(errors="replace"))


# --------------------------------------------------------------------------------------
# conversion


@dataclass
class _Ctx:
    model: _Model
    graph: Graph
    file: str
    names: dict[int, str] = field(default_factory=dict)
    folded: dict[int, np.ndarray] = field(default_factory=dict)   # shape arithmetic evaluated at import

    def raw(self, idx: int) -> _RawTensor:
        return self.model.tensors[idx]

    def name(self, idx: int) -> str:
        """IR name of a TFLite tensor (created on first use; constants get their data)."""
        if idx < 0:
            return ""
        if idx not in self.names:
            self.names[idx] = self._declare(idx)
        return self.names[idx]

    def _declare(self, idx: int) -> str:
        r = self.raw(idx)
        name = self.graph.unique_name(r.name or f"tensor_{idx}")
        dtype = _dtype(r, self)
        data = self.folded.get(idx)
        if r.data:
            data = np.frombuffer(r.data, dtype=dtype)
            if data.size != int(np.prod(r.shape, dtype=np.int64)):
                raise ModelFormatError(f"tensor '{r.name}' has {data.size} values for shape {r.shape}",
                                       file=self.file)
            data = data.reshape(r.shape).copy()
        self.graph.add_tensor(Tensor(name, r.shape, dtype, data, _quant(r, self)))
        return name

    def const_array(self, idx: int, what: str, op: _RawOp) -> np.ndarray:
        if idx in self.folded:
            return self.folded[idx]
        r = self.raw(idx)
        if not r.data:
            raise _op_error(self, op, f"{what} must be a constant tensor")
        return np.frombuffer(r.data, dtype=_dtype(r, self)).reshape(r.shape)

    def fresh(self, base: str) -> str:
        return self.graph.unique_name(base)


def _dtype(r: _RawTensor, ctx: _Ctx) -> str:
    if r.ttype not in _DTYPES:
        raise UnsupportedOpError([f"tensor type {r.ttype}"], file=ctx.file,
                                 detail=f"tensor '{r.name}'")
    return _DTYPES[r.ttype]


def _quant(r: _RawTensor, ctx: _Ctx) -> QuantParams | None:
    if r.scale.size == 0:
        return None
    zp = r.zero_point if r.zero_point.size == r.scale.size else np.zeros(r.scale.size, np.int64)
    try:
        return QuantParams(r.scale, zp, r.axis if r.scale.size > 1 else None)
    except TteError as e:
        raise ModelFormatError(f"tensor '{r.name}': {e.message}", file=ctx.file) from None


def _op_error(ctx: _Ctx, op: _RawOp, msg: str) -> TteError:
    return TteError(f"operator {op.index} ({op.name}): {msg}", file=ctx.file)


def _act(ctx: _Ctx, op: _RawOp, code: int) -> str:
    if code not in _ACTS:
        raise UnsupportedOpError([f"{op.name} with fused activation {code}"], file=ctx.file,
                                 detail=f"operator {op.index}")
    return _ACTS[code]


def _same_pads(padding: int, in_hw: tuple[int, int], k: tuple[int, int], s: tuple[int, int],
               d: tuple[int, int]) -> tuple[int, int, int, int]:
    """Explicit (top, left, bottom, right) pads TFLite uses for SAME/VALID."""
    from tte.export.tflite import tflite_pads

    _, t, b = tflite_pads(padding, in_hw[0], k[0], s[0], d[0])
    _, left, r = tflite_pads(padding, in_hw[1], k[1], s[1], d[1])
    return t, left, b, r


def _conv(ctx: _Ctx, op: _RawOp) -> None:
    o = op.options
    x, w = ctx.raw(op.inputs[0]), ctx.raw(op.inputs[1])
    kh, kw = w.shape[1], w.shape[2]
    s, d = (o.StrideH(), o.StrideW()), (o.DilationHFactor(), o.DilationWFactor())
    pads = _same_pads(o.Padding(), x.shape[1:3], (kh, kw), s, d)
    attrs = {"strides": s, "dilations": d, "pads": pads, "activation": _act(ctx, op, o.FusedActivationFunction())}
    bias = ctx.name(op.inputs[2]) if len(op.inputs) > 2 else ""
    if op.name == "DEPTHWISE_CONV_2D":
        attrs["groups"] = x.shape[3]
        w_name = _depthwise_weights(ctx, op)
    else:
        attrs["groups"] = x.shape[3] // w.shape[3]
        w_name = ctx.name(op.inputs[1])
    ctx.graph.add_node("conv2d", [ctx.name(op.inputs[0]), w_name, bias], [ctx.name(op.outputs[0])],
                       attrs, name=ctx.fresh(f"{ctx.raw(op.outputs[0]).name or 'conv'}/op"))


def _depthwise_weights(ctx: _Ctx, op: _RawOp) -> str:
    """[1, kh, kw, Cout] (quantized axis 3) -> IR [Cout, kh, kw, 1] (axis 0), same name."""
    idx = op.inputs[1]
    if idx in ctx.names:
        return ctx.names[idx]
    r = ctx.raw(idx)
    data = ctx.const_array(idx, "depthwise weights", op)
    q = _quant(r, ctx)
    if q is not None and q.axis is not None:
        q = QuantParams(q.scale, q.zero_point, 0)
    name = ctx.graph.unique_name(r.name or f"tensor_{idx}")
    ctx.graph.add_tensor(Tensor(name, (data.shape[3], data.shape[1], data.shape[2], 1), _dtype(r, ctx),
                                np.transpose(data, (3, 1, 2, 0)).copy(), q))
    ctx.names[idx] = name
    return name


def _fully_connected(ctx: _Ctx, op: _RawOp) -> None:
    o = op.options
    x, w, out = ctx.raw(op.inputs[0]), ctx.raw(op.inputs[1]), ctx.raw(op.outputs[0])
    keep = bool(o.KeepNumDims()) if o is not None else False
    act = _act(ctx, op, o.FusedActivationFunction() if o is not None else 0)
    x_name = ctx.name(op.inputs[0])
    if not keep and len(x.shape) != 2:
        k = w.shape[1]
        flat = ctx.fresh(f"{x_name}/flatten")
        ctx.graph.add_node("reshape", [x_name], flat, {"shape": (int(np.prod(x.shape)) // k, k)},
                           quant=ctx.graph.tensors[x_name].quant)
        x_name = flat
    bias = ctx.name(op.inputs[2]) if len(op.inputs) > 2 else ""
    ctx.graph.add_node("fully_connected", [x_name, ctx.name(op.inputs[1]), bias], [ctx.name(op.outputs[0])],
                       {"activation": act}, name=ctx.fresh(f"{out.name or 'fc'}/op"))


def _simple(ir_op: str, attrs_fn: Callable[[_Ctx, _RawOp], dict[str, Any]] | None = None,
            n_inputs: int = 1) -> Callable[[_Ctx, _RawOp], None]:
    def convert(ctx: _Ctx, op: _RawOp) -> None:
        attrs = attrs_fn(ctx, op) if attrs_fn else {}
        ins = [ctx.name(i) for i in op.inputs[:n_inputs]]
        out = ctx.raw(op.outputs[0])
        ctx.graph.add_node(ir_op, ins, [ctx.name(op.outputs[0])], attrs,
                           name=ctx.fresh(f"{out.name or ir_op}/op"))
    return _emits(convert, ir_op)


def _emits(fn: Callable[[_Ctx, _RawOp], None], *ir_ops: str) -> Callable[[_Ctx, _RawOp], None]:
    """Declare the IR ops a converter produces (``EMITS``, listed by ``tte ops``)."""
    fn.emits = ir_ops  # type: ignore[attr-defined]
    return fn


def _fused(ctx: _Ctx, op: _RawOp) -> dict[str, Any]:
    o = op.options
    return {"activation": _act(ctx, op, o.FusedActivationFunction() if o is not None else 0)}


def _pool_attrs(ctx: _Ctx, op: _RawOp) -> dict[str, Any]:
    o = op.options
    x = ctx.raw(op.inputs[0])
    k, s = (o.FilterHeight(), o.FilterWidth()), (o.StrideH(), o.StrideW())
    return {"kernel": k, "strides": s, "pads": _same_pads(o.Padding(), x.shape[1:3], k, s, (1, 1)),
            "activation": _act(ctx, op, o.FusedActivationFunction())}


def _mean_attrs(ctx: _Ctx, op: _RawOp) -> dict[str, Any]:
    axes = tuple(int(a) for a in ctx.const_array(op.inputs[1], "the axis", op).ravel())
    rank = len(ctx.raw(op.inputs[0]).shape)
    return {"axes": tuple(sorted({a % rank for a in axes})),
            "keepdims": bool(op.options.KeepDims()) if op.options is not None else False}


def _reshape_attrs(ctx: _Ctx, op: _RawOp) -> dict[str, Any]:
    return {"shape": ctx.raw(op.outputs[0]).shape}


def _softmax_attrs(ctx: _Ctx, op: _RawOp) -> dict[str, Any]:
    return {"axis": -1, "beta": float(op.options.Beta()) if op.options is not None else 1.0}


def _transpose_attrs(ctx: _Ctx, op: _RawOp) -> dict[str, Any]:
    return {"perm": tuple(int(p) for p in ctx.const_array(op.inputs[1], "the permutation", op))}


def _pad_attrs(ctx: _Ctx, op: _RawOp) -> dict[str, Any]:
    pads = ctx.const_array(op.inputs[1], "the paddings", op).reshape(-1, 2)
    value = 0.0
    if op.name == "PADV2" and len(op.inputs) > 2 and op.inputs[2] >= 0:
        c, x = ctx.raw(op.inputs[2]), ctx.raw(op.inputs[0])
        q = int(ctx.const_array(op.inputs[2], "the pad value", op).ravel()[0])
        if x.scale.size:
            value = (q - int(x.zero_point[0] if x.zero_point.size else 0)) * float(x.scale[0])
        else:
            value = float(q) if c.scale.size == 0 else (q - int(c.zero_point[0])) * float(c.scale[0])
    return {"pads": tuple((int(a), int(b)) for a, b in pads), "value": value}


def _relu6_attrs(ctx: _Ctx, op: _RawOp) -> dict[str, Any]:
    return {"RELU6": {"min": 0.0, "max": 6.0}, "RELU_N1_TO_1": {"min": -1.0, "max": 1.0},
            "RELU_0_TO_1": {"min": 0.0, "max": 1.0}}[op.name]


_CONVERTERS: dict[str, Callable[[_Ctx, _RawOp], None]] = {
    "CONV_2D": _conv, "DEPTHWISE_CONV_2D": _conv, "FULLY_CONNECTED": _fully_connected,
    "ADD": _simple("add", _fused, 2), "MUL": _simple("mul", _fused, 2),
    "AVERAGE_POOL_2D": _simple("avgpool2d", _pool_attrs), "MAX_POOL_2D": _simple("maxpool2d", _pool_attrs),
    "MEAN": _simple("mean", _mean_attrs), "RESHAPE": _simple("reshape", _reshape_attrs),
    "SOFTMAX": _simple("softmax", _softmax_attrs), "PAD": _simple("pad", _pad_attrs),
    "PADV2": _simple("pad", _pad_attrs), "QUANTIZE": _simple("quantize"),
    "DEQUANTIZE": _simple("dequantize"), "TRANSPOSE": _simple("transpose", _transpose_attrs),
    "RELU": _simple("relu"), "RELU6": _simple("clip", _relu6_attrs),
    "RELU_N1_TO_1": _simple("clip", _relu6_attrs), "RELU_0_TO_1": _simple("clip", _relu6_attrs),
}


# ---- structural ops: concat, split, slice, squeeze / expand_dims, pack; constant shape arithmetic


def _is_const(ctx: _Ctx, idx: int) -> bool:
    return idx in ctx.folded or bool(ctx.raw(idx).data)


def _fold(ctx: _Ctx, op: _RawOp, fn: Callable[[list[np.ndarray]], np.ndarray]) -> bool:
    """Evaluate an op whose inputs are all constant (Keras' Flatten computes its target
    shape with SHAPE -> STRIDED_SLICE -> PACK); True when folded."""
    if not all(_is_const(ctx, i) for i in op.inputs if i >= 0):
        return False
    ctx.folded[op.outputs[0]] = np.asarray(fn([ctx.const_array(i, "an input", op) for i in op.inputs if i >= 0]))
    return True


def _tf_shape(ctx: _Ctx, op: _RawOp) -> None:
    ctx.folded[op.outputs[0]] = np.array(ctx.raw(op.inputs[0]).shape, np.int32)


def _reshape_to_output(ctx: _Ctx, op: _RawOp, src: str | None = None) -> None:
    x = src or ctx.name(op.inputs[0])
    out = ctx.raw(op.outputs[0])
    ctx.graph.add_node("reshape", [x], [ctx.name(op.outputs[0])], {"shape": out.shape},
                       name=ctx.fresh(f"{out.name or 'reshape'}/op"))


def _tf_squeeze(ctx: _Ctx, op: _RawOp) -> None:
    if not _fold(ctx, op, lambda v: v[0].reshape(ctx.raw(op.outputs[0]).shape)):
        _reshape_to_output(ctx, op)


def _slice_node(ctx: _Ctx, op: _RawOp, x: str, begin: list[int], end: list[int], strides: list[int],
                out_shape: tuple[int, ...]) -> None:
    """slice, then a reshape when the output drops (shrinks) axes."""
    sliced = tuple((e - b + s - 1) // s for b, e, s in zip(begin, end, strides))
    out = ctx.name(op.outputs[0])
    dst = out if sliced == tuple(out_shape) else ctx.fresh(f"{out}/slice")
    ctx.graph.add_node("slice", [x], [dst], {"begin": tuple(begin), "end": tuple(end), "strides": tuple(strides)},
                       name=ctx.fresh(f"{out}/op"), quant=ctx.graph.tensors[x].quant)
    if dst != out:
        _reshape_to_output(ctx, op, dst)


def _strided_slice_bounds(ctx: _Ctx, op: _RawOp) -> tuple[list[int], list[int], list[int]]:
    shape = ctx.raw(op.inputs[0]).shape if op.inputs[0] not in ctx.folded else ctx.folded[op.inputs[0]].shape
    begin, end, strides = (ctx.const_array(i, w, op).ravel().tolist()
                           for i, w in zip(op.inputs[1:4], ("begin", "end", "strides")))
    o = op.options
    bm, em, shrink = (o.BeginMask(), o.EndMask(), o.ShrinkAxisMask()) if o is not None else (0, 0, 0)
    if o is not None and (o.EllipsisMask() or o.NewAxisMask()):
        raise UnsupportedOpError([f"{op.name} with ellipsis / new-axis masks"], file=ctx.file,
                                 detail=f"operator {op.index}")
    offset = bool(o.Offset()) if o is not None and hasattr(o, "Offset") else False
    b_out, e_out, s_out = [], [], []
    for ax, d in enumerate(shape):
        b, e, st = int(begin[ax]), int(end[ax]), int(strides[ax])
        if st <= 0:
            raise UnsupportedOpError([f"{op.name} with stride {st}"], file=ctx.file, detail=f"operator {op.index}")
        if offset:
            e = b + e
        b = 0 if bm >> ax & 1 else (b + d if b < 0 else b)
        e = d if em >> ax & 1 else (e + d if e < 0 else e)
        if shrink >> ax & 1:
            e, st = b + 1, 1
        b, e = min(max(b, 0), d), min(max(e, 0), d)
        if b >= e:
            raise _op_error(ctx, op, f"empty slice [{b}:{e}] of axis {ax}")
        b_out.append(b)
        e_out.append(e)
        s_out.append(st)
    return b_out, e_out, s_out


def _tf_strided_slice(ctx: _Ctx, op: _RawOp) -> None:
    b, e, st = _strided_slice_bounds(ctx, op)
    out_shape = ctx.raw(op.outputs[0]).shape
    if _fold(ctx, op, lambda v: v[0][tuple(slice(i, j, k) for i, j, k in zip(b, e, st))].reshape(out_shape)):
        return
    _slice_node(ctx, op, ctx.name(op.inputs[0]), b, e, st, out_shape)


def _tf_slice(ctx: _Ctx, op: _RawOp) -> None:
    shape = ctx.raw(op.inputs[0]).shape
    begin = [int(v) for v in ctx.const_array(op.inputs[1], "begin", op).ravel()]
    size = [int(v) for v in ctx.const_array(op.inputs[2], "size", op).ravel()]
    end = [d if n == -1 else b + n for b, n, d in zip(begin, size, shape)]
    if _fold(ctx, op, lambda v: v[0][tuple(slice(i, j) for i, j in zip(begin, end))]):
        return
    _slice_node(ctx, op, ctx.name(op.inputs[0]), begin, end, [1] * len(shape), ctx.raw(op.outputs[0]).shape)


def _split_outputs(ctx: _Ctx, op: _RawOp, x_idx: int, axis: int, sizes: list[int]) -> None:
    shape = ctx.raw(x_idx).shape
    axis %= len(shape)
    if -1 in sizes:
        sizes[sizes.index(-1)] = shape[axis] - (sum(sizes) + 1)
    x = ctx.name(x_idx)
    start = 0
    for out_idx, size in zip(op.outputs, sizes):
        begin = [start if k == axis else 0 for k in range(len(shape))]
        end = [start + size if k == axis else d for k, d in enumerate(shape)]
        sub = _RawOp(op.index, op.name, op.inputs, [out_idx], op.options)
        _slice_node(ctx, sub, x, begin, end, [1] * len(shape), ctx.raw(out_idx).shape)
        start += size


def _tf_split(ctx: _Ctx, op: _RawOp) -> None:
    axis = int(ctx.const_array(op.inputs[0], "the axis", op).ravel()[0])
    d = ctx.raw(op.inputs[1]).shape[axis]
    n = len(op.outputs)
    _split_outputs(ctx, op, op.inputs[1], axis, [d // n] * n)


def _tf_split_v(ctx: _Ctx, op: _RawOp) -> None:
    sizes = [int(v) for v in ctx.const_array(op.inputs[1], "the sizes", op).ravel()]
    axis = int(ctx.const_array(op.inputs[2], "the axis", op).ravel()[0])
    _split_outputs(ctx, op, op.inputs[0], axis, sizes)


def _tf_concat(ctx: _Ctx, op: _RawOp) -> None:
    o = op.options
    axis = o.Axis() if o is not None else 0
    if _act(ctx, op, o.FusedActivationFunction() if o is not None else 0) != "none":
        raise UnsupportedOpError([f"{op.name} with a fused activation"], file=ctx.file, detail=f"operator {op.index}")
    if _fold(ctx, op, lambda v: np.concatenate(v, axis=axis)):
        return
    out = ctx.raw(op.outputs[0])
    ctx.graph.add_node("concat", [ctx.name(i) for i in op.inputs], [ctx.name(op.outputs[0])], {"axis": axis},
                       name=ctx.fresh(f"{out.name or 'concat'}/op"))


def _tf_pack(ctx: _Ctx, op: _RawOp) -> None:
    axis = op.options.Axis() if op.options is not None else 0
    if _fold(ctx, op, lambda v: np.stack(v, axis=axis)):
        return
    out = ctx.raw(op.outputs[0])
    axis %= len(out.shape)
    parts = []
    for i in op.inputs:
        x = ctx.name(i)
        t = ctx.graph.tensors[x]
        shape = t.shape[:axis] + (1,) + t.shape[axis:]
        parts.append(ctx.fresh(f"{x}/expanded"))
        ctx.graph.add_node("reshape", [x], [parts[-1]], {"shape": shape}, quant=t.quant)
    ctx.graph.add_node("concat", parts, [ctx.name(op.outputs[0])], {"axis": axis},
                       name=ctx.fresh(f"{out.name or 'pack'}/op"))


for _fn, _ops in ((_conv, ("conv2d",)), (_fully_connected, ("fully_connected",)), (_tf_concat, ("concat",)),
                  (_tf_split, ("slice",)), (_tf_split_v, ("slice",)), (_tf_slice, ("slice",)),
                  (_tf_strided_slice, ("slice",)), (_tf_squeeze, ("reshape",)), (_tf_pack, ("concat",)),
                  (_tf_shape, ())):
    _emits(_fn, *_ops)
_CONVERTERS.update({
    "CONCATENATION": _tf_concat, "SPLIT": _tf_split, "SPLIT_V": _tf_split_v, "SLICE": _tf_slice,
    "STRIDED_SLICE": _tf_strided_slice, "SQUEEZE": _tf_squeeze, "EXPAND_DIMS": _tf_squeeze,
    "PACK": _tf_pack, "SHAPE": _tf_shape,
})
_CONVERTERS.update(ACTIVATION_CONVERTERS)
# Stateful streaming models keep tensors between invocations (resource variables).
_STATEFUL = ("VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE")

SUPPORTED_OPS = tuple(sorted(_CONVERTERS))


def converter_emits() -> dict[str, tuple[str, ...]]:
    """IR ops each TFLite op becomes (besides reshape / quantize glue); empty: folded at import."""
    return {k: getattr(fn, "emits", ()) for k, fn in _CONVERTERS.items()}


# --------------------------------------------------------------------------------------
# checks


def _check_supported(m: _Model, file: str) -> None:
    stateful = sorted({op.name for op in m.ops if op.name in _STATEFUL} | {n for n in m.other_ops if n in _STATEFUL})
    if stateful:
        raise UnsupportedOpError(stateful, file=file,
                                 detail="a stateful streaming model: its resource variables keep state between "
                                        "invocations; tte compiles stateless models (export the model without "
                                        "streaming state)")
    bad = {op.name for op in m.ops if op.name not in _CONVERTERS} | {
        n for n in m.other_ops if n not in _CONVERTERS}
    if bad:
        raise UnsupportedOpError(sorted(bad), file=file,
                                 detail=f"tte imports {', '.join(SUPPORTED_OPS)}")


def _fix_batch(m: _Model, file: str) -> list[str]:
    """A dynamic batch (``shape_signature[0] == -1``, the converter's default) becomes 1, as
    tflite-micro runs it; any other dynamic dimension is refused. Returns the notes."""
    used = sorted({i for op in m.ops for i in op.inputs + op.outputs if i >= 0} | set(m.inputs) | set(m.outputs))
    fixed = []
    for i in used:
        r = m.tensors[i]
        if not r.signature or all(d >= 0 for d in r.signature):
            continue
        if any(d < 0 for d in r.signature[1:]) or len(r.shape) != len(r.signature) or len(r.shape) < 2:
            raise TteError(f"tensor '{r.name}' has a dynamic shape {list(r.signature)} beyond the batch "
                           "dimension; tte needs static shapes (a dynamic batch alone is fixed to 1)", file=file)
        r.shape = (1,) + tuple(r.shape[1:])
        r.signature = r.shape
        fixed.append(i)
    if not fixed:
        return []
    io = [f"{kind} '{m.tensors[i].name}'" for kind, idx in (("input", m.inputs), ("output", m.outputs))
          for i in idx if i in fixed]
    return [f"dynamic batch (shape_signature -1 on {', '.join(io) or f'{len(fixed)} tensors'}) fixed to 1"]


def _check_precision(m: _Model, file: str) -> None:
    """Either an int8 body (float I/O through QUANTIZE/DEQUANTIZE allowed) or a float model;
    refused: hybrid ops (float activations, int8 weights) and int8/float mixes."""
    float_ops, int8_ops = [], []
    for op in m.ops:
        if op.name in _QDQ or not op.inputs:
            continue
        act = m.tensors[op.inputs[0]]
        if act.ttype != tflite.TensorType.FLOAT32:
            int8_ops.append(op)
            continue
        float_ops.append(op)
        for i in op.inputs[1:]:
            if i >= 0 and m.tensors[i].ttype in (tflite.TensorType.INT8, tflite.TensorType.UINT8):
                raise TteError(f"hybrid (dynamic-range) quantized model: operator {op.index} ({op.name}) "
                               f"applies int8 weights '{m.tensors[i].name}' to float32 activations; "
                               "convert with full-integer quantization, or export a float model", file=file)
    if float_ops and int8_ops:
        f, q = float_ops[0], int8_ops[0]
        raise TteError(f"partially quantized model: operator {f.index} ({f.name}) is float32, operator "
                       f"{q.index} ({q.name}) int8; tte imports int8 or float models", file=file)


# --------------------------------------------------------------------------------------


def _read_source(source: str | os.PathLike[str] | bytes) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), "<bytes>"
    path = os.fspath(source)
    try:
        with open(path, "rb") as f:
            return f.read(), path
    except OSError as e:
        raise TteError(f"cannot read model: {e.strerror}", file=path) from None


def load_tflite(source: str | os.PathLike[str] | bytes, *, name: str | None = None) -> Graph:
    """Load a TFLite model (path or bytes) as an IR graph: int8 (float I/O around an int8
    body included) or float (quantize it with tte.quantize before compiling)."""
    buf, file = _read_source(source)
    try:
        model = _read_model(buf)
    except TteError:
        raise
    except Exception as e:  # the generated parser raises anything on corrupt offsets
        raise ModelFormatError(f"not a readable TFLite model ({type(e).__name__}: {e})", file=file) from None
    notes = _fix_batch(model, file)
    notes += fold_shape_arithmetic(model, file)
    _check_supported(model, file)
    _check_precision(model, file)
    default = os.path.splitext(os.path.basename(file))[0] if file != "<bytes>" else model.name or "tflite"
    graph = Graph(name or default)
    ctx = _Ctx(model, graph, file)
    try:
        sources: dict[str, set[str]] = {}
        graph.inputs = [ctx.name(i) for i in model.inputs]
        for op in model.ops:
            if any(i < 0 for i in op.outputs) or not op.outputs or not op.inputs:
                raise _op_error(ctx, op, "missing inputs or outputs")
            before = len(graph.nodes)
            _CONVERTERS[op.name](ctx, op)
            sources.setdefault(op.name, set()).update(n.op for n in graph.nodes[before:])
        graph.outputs = [ctx.name(i) for i in model.outputs]
        graph.validate()
    except TteError as e:
        raise e.at(file=file) from None
    except Exception as e:  # structurally valid flatbuffer, inconsistent content
        raise ModelFormatError(f"inconsistent TFLite model ({type(e).__name__}: {e})", file=file) from None
    graph.meta["source"] = {"format": "tflite", "file": file}
    graph.meta["op_sources"] = {op: sorted(ir) for op, ir in sources.items()}
    if notes:
        graph.meta["notes"] = notes
    return graph
