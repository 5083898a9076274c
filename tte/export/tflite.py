"""Write an int8 IR graph as a .tflite flatbuffer that LiteRT and tflite-micro run.

The graph is first lowered to a flat list of TFLite operators and tensors (``_Lowering``),
then serialized with the ``tflite`` package's generated flatbuffer builders. Explicit IR
pads become SAME/VALID when TFLite would compute the very same pads, else an explicit
PAD/PADV2 operator. Ops that keep their input's quantization in TFLite but change it in
the IR get a trailing QUANTIZE.
"""

from __future__ import annotations

import importlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import flatbuffers
import numpy as np
import tflite

from tte.errors import TteError
from tte.fsutil import make_public
from tte.ir import Graph, Node, QuantParams, Tensor
from tte.reference.int8_ops import SOFTMAX_SCALE, SOFTMAX_ZP, pad_value_int8

__all__ = ["export_tflite"]

_OP = tflite.BuiltinOperator
_OPT = tflite.BuiltinOptions
_TT = tflite.TensorType
_ACT = {"none": tflite.ActivationFunctionType.NONE, "relu": tflite.ActivationFunctionType.RELU,
        "relu6": tflite.ActivationFunctionType.RELU6}
TFLITE_TYPES = {"float32": _TT.FLOAT32, "int8": _TT.INT8, "uint8": _TT.UINT8, "int16": _TT.INT16,
                "int32": _TT.INT32, "int64": _TT.INT64, "bool": _TT.BOOL}
# Operator versions high enough for int8 (and per-channel) kernels in both runtimes.
_VERSIONS = {_OP.CONV_2D: 3, _OP.DEPTHWISE_CONV_2D: 3, _OP.FULLY_CONNECTED: 4, _OP.ADD: 2,
             _OP.MUL: 2, _OP.AVERAGE_POOL_2D: 2, _OP.MAX_POOL_2D: 2, _OP.MEAN: 2, _OP.SOFTMAX: 2,
             _OP.PAD: 2, _OP.PADV2: 2, _OP.QUANTIZE: 2, _OP.DEQUANTIZE: 2, _OP.RELU: 2,
             _OP.RELU6: 2, _OP.TRANSPOSE: 2}
_VERSIONS.update({_OP.CONCATENATION: 2, _OP.STRIDED_SLICE: 2})
_SAME, _VALID = tflite.Padding.SAME, tflite.Padding.VALID

OptionsFn = Callable[[flatbuffers.Builder], int]


def _mod(name: str) -> Any:
    """A generated tflite module (the package re-exports the classes under the same names)."""
    return importlib.import_module(f"tflite.{name}")


# --------------------------------------------------------------------------------------
# lowered model


@dataclass
class _TfTensor:
    name: str
    shape: tuple[int, ...]
    ttype: int
    data: bytes | None = None
    quant: QuantParams | None = None
    signature: tuple[int, ...] | None = None     # shape_signature; only tests write -1s


@dataclass
class _TfOp:
    code: int
    inputs: list[int]
    outputs: list[int]
    options_type: int = 0
    options: OptionsFn | None = None


@dataclass
class _Lowering:
    graph: Graph
    tensors: list[_TfTensor] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    ops: list[_TfOp] = field(default_factory=list)
    pending: list[_TfOp] = field(default_factory=list)   # run right after the next op

    # ---- tensors -------------------------------------------------------------------
    def tensor(self, name: str) -> int:
        """Index of an IR tensor, created on first use."""
        if name == "":
            return -1
        if name not in self.index:
            t = self.graph.tensors[name]
            data = None if t.data is None else np.ascontiguousarray(t.data).tobytes()
            self.index[name] = self._append(_TfTensor(name, t.shape, _ttype(t), data, t.quant))
        return self.index[name]

    def const(self, base: str, arr: np.ndarray, quant: QuantParams | None = None, *,
              keep_name: bool = False) -> int:
        """A new constant; ``keep_name`` reuses an IR name not written yet (re-laid weights)."""
        arr = np.ascontiguousarray(arr)
        name = base if keep_name and base not in self.index else self._fresh(base)
        return self._append(_TfTensor(name, arr.shape, TFLITE_TYPES[str(arr.dtype)], arr.tobytes(), quant))

    def temp(self, base: str, like: Tensor, shape: tuple[int, ...] | None = None) -> int:
        """A fresh activation tensor with ``like``'s dtype and quantization."""
        return self._append(_TfTensor(self._fresh(base), like.shape if shape is None else shape,
                                      _ttype(like), None, like.quant))

    def _fresh(self, base: str) -> str:
        names = set(self.index) | set(self.graph.tensors)
        name, i = base, 1
        while name in names:
            name, i = f"{base}_{i}", i + 1
        self.index[name] = -2        # reserve; replaced by _append's caller
        return name

    def _append(self, t: _TfTensor) -> int:
        self.tensors.append(t)
        idx = len(self.tensors) - 1
        self.index[t.name] = idx
        return idx

    def op(self, code: int, inputs: list[int], outputs: list[int], options_type: int = 0,
           options: OptionsFn | None = None) -> None:
        self.ops.append(_TfOp(code, inputs, outputs, options_type, options))
        self.ops += self.pending
        self.pending = []


def _ttype(t: Tensor) -> int:
    return TFLITE_TYPES[t.dtype]


def _err(node: Node, msg: str) -> TteError:
    return TteError(f"cannot export {node.op} to TFLite: {msg}", node=node.name)


# --------------------------------------------------------------------------------------
# padding


def tflite_pads(padding: int, in_size: int, k: int, stride: int, dilation: int) -> tuple[int, int, int]:
    """(out_size, pad_before, pad_after) exactly as TFLite computes SAME/VALID."""
    eff = (k - 1) * dilation + 1
    out = (in_size + stride - 1) // stride if padding == _SAME else (in_size + stride - eff) // stride
    total = max((out - 1) * stride + eff - in_size, 0)
    return out, total // 2, total - total // 2


def _choose_padding(x: Tensor, out: Tensor, kernel: tuple[int, int], strides: tuple[int, int],
                    dilations: tuple[int, int], pads: tuple[int, ...]) -> int | None:
    """SAME or VALID if TFLite reproduces the IR pads (same origin, same output), else None."""
    pt, pl = int(pads[0]), int(pads[1])
    for padding in (_VALID, _SAME):
        ok = True
        for axis, before in ((0, pt), (1, pl)):
            o, b, _ = tflite_pads(padding, x.shape[1 + axis], kernel[axis], strides[axis], dilations[axis])
            ok = ok and o == out.shape[1 + axis] and b == before
        if ok:
            return padding
    return None


def _explicit_pad(low: _Lowering, node: Node, x: Tensor, pads: tuple[int, ...], value: int) -> int:
    """Insert PAD/PADV2 of the NHWC input with the int8 code ``value``; return the padded tensor."""
    pt, pl, pb, pr = (int(p) for p in pads)
    if min(pb, pr) < 0:
        raise _err(node, "negative padding")
    shape = (x.shape[0], x.shape[1] + pt + pb, x.shape[2] + pl + pr, x.shape[3])
    padded = low.temp(f"{node.name}/pad", x, shape)
    paddings = low.const(f"{node.name}/paddings", np.array([[0, 0], [pt, pb], [pl, pr], [0, 0]], np.int32))
    inputs = [low.tensor(x.name), paddings]
    assert x.quant is not None
    if value == int(x.quant.zero_point[0]):
        low.op(_OP.PAD, inputs, [padded], _OPT.PadOptions, _empty("PadOptions"))
    else:
        inputs.append(low.const(f"{node.name}/pad_value", np.array([value], np.int8), x.quant))
        low.op(_OP.PADV2, inputs, [padded], _OPT.PadV2Options, _empty("PadV2Options"))
    return padded


# --------------------------------------------------------------------------------------
# options tables


def _empty(table: str) -> OptionsFn:
    def build(b: flatbuffers.Builder) -> int:
        m = _mod(table)
        getattr(m, f"{table}Start")(b)
        return int(getattr(m, f"{table}End")(b))
    return build


def _table(table: str, **fields: int | float | bool) -> OptionsFn:
    """An options table with scalar fields, e.g. ``_table("AddOptions", FusedActivationFunction=1)``."""
    def build(b: flatbuffers.Builder) -> int:
        m = _mod(table)
        getattr(m, f"{table}Start")(b)
        for k, v in fields.items():
            getattr(m, f"{table}Add{k}")(b, v)
        return int(getattr(m, f"{table}End")(b))
    return build


def _reshape_options(shape: tuple[int, ...]) -> OptionsFn:
    def build(b: flatbuffers.Builder) -> int:
        m = _mod("ReshapeOptions")
        vec = _int32_vector(b, m.ReshapeOptionsStartNewShapeVector, shape)
        m.ReshapeOptionsStart(b)
        m.ReshapeOptionsAddNewShape(b, vec)
        return int(m.ReshapeOptionsEnd(b))
    return build


def _int32_vector(b: flatbuffers.Builder, start: Callable[..., Any], values: tuple[int, ...] | list[int]) -> int:
    start(b, len(values))
    for v in reversed(values):
        b.PrependInt32(int(v))
    return int(b.EndVector())


# --------------------------------------------------------------------------------------
# per-op lowering


def _requant_tail(low: _Lowering, node: Node, src: Tensor, dst: Tensor) -> int:
    """Output index for an op computing in ``src``'s quantization; a QUANTIZE to ``dst``
    follows the next emitted op when the parameters differ."""
    assert src.quant is not None and dst.quant is not None
    same = (np.float32(src.quant.scale[0]) == np.float32(dst.quant.scale[0])
            and int(src.quant.zero_point[0]) == int(dst.quant.zero_point[0]))
    if same:
        return low.tensor(dst.name)
    tmp = low.temp(f"{dst.name}/pre_requant", src, dst.shape)
    low.pending.append(_TfOp(_OP.QUANTIZE, [tmp], [low.tensor(dst.name)], _OPT.QuantizeOptions,
                             _empty("QuantizeOptions")))
    return tmp


def _bias_quant(x: Tensor, w: Tensor, n: int) -> QuantParams:
    """int32 bias quantization: TFLite checks its scale against float32(s_in * s_w)."""
    assert x.quant is not None and w.quant is not None
    scale = np.float32(x.quant.scale[0]) * w.quant.scale.astype(np.float32)
    if scale.size == 1:
        return QuantParams(scale, [0])
    return QuantParams(scale, np.zeros(n, np.int64), 0)


def _bias_index(low: _Lowering, node: Node, x: Tensor, w: Tensor, *, required: bool = False) -> int:
    """The bias tensor; a zero bias when absent but ``required`` (LiteRT's depthwise conv)."""
    n = w.shape[0]
    if len(node.inputs) < 3 or not node.inputs[2]:
        if not required:
            return -1
        return low.const(f"{node.name}/bias", np.zeros(n, np.int32), _bias_quant(x, w, n))
    b = low.graph.tensors[node.inputs[2]]
    idx = low.tensor(b.name)
    if b.quant is None:
        low.tensors[idx].quant = _bias_quant(x, w, n)
    return idx


def _lower_conv(low: _Lowering, node: Node) -> None:
    g = low.graph
    x, w, out = g.tensors[node.inputs[0]], g.tensors[node.inputs[1]], g.tensors[node.outputs[0]]
    a = node.attrs
    cout, kh, kw, cin_g = w.shape
    depthwise = a["groups"] == x.shape[3] and cin_g == 1 and a["groups"] > 1
    strides, dil = tuple(a["strides"]), tuple(a["dilations"])
    padding = _choose_padding(x, out, (kh, kw), strides, dil, a["pads"])  # type: ignore[arg-type]
    x_idx = low.tensor(x.name)
    if padding is None:
        assert x.quant is not None
        x_idx, padding = _explicit_pad(low, node, x, a["pads"], int(x.quant.zero_point[0])), _VALID
    bias = _bias_index(low, node, x, w, required=True)
    act = _ACT[a["activation"]]
    if depthwise:
        if w.data is None or w.quant is None:
            raise _err(node, "depthwise weights must be constant and quantized")
        wq = w.quant
        w_idx = low.const(w.name, np.transpose(w.data, (3, 1, 2, 0)),
                          QuantParams(wq.scale, wq.zero_point, 3 if wq.axis is not None else None),
                          keep_name=True)
        opts = _table("DepthwiseConv2DOptions", Padding=padding, StrideW=strides[1], StrideH=strides[0],
                      DepthMultiplier=cout // x.shape[3], FusedActivationFunction=act,
                      DilationWFactor=dil[1], DilationHFactor=dil[0])
        low.op(_OP.DEPTHWISE_CONV_2D, [x_idx, w_idx, bias], [low.tensor(out.name)],
               _OPT.DepthwiseConv2DOptions, opts)
        return
    opts = _table("Conv2DOptions", Padding=padding, StrideW=strides[1], StrideH=strides[0],
                  FusedActivationFunction=act, DilationWFactor=dil[1], DilationHFactor=dil[0])
    low.op(_OP.CONV_2D, [x_idx, low.tensor(w.name), bias], [low.tensor(out.name)], _OPT.Conv2DOptions, opts)


def _lower_fc(low: _Lowering, node: Node) -> None:
    g = low.graph
    x, w, out = g.tensors[node.inputs[0]], g.tensors[node.inputs[1]], g.tensors[node.outputs[0]]
    opts = _table("FullyConnectedOptions", FusedActivationFunction=_ACT[node.attrs["activation"]],
                  KeepNumDims=len(x.shape) != 2)
    low.op(_OP.FULLY_CONNECTED, [low.tensor(x.name), low.tensor(w.name), _bias_index(low, node, x, w)],
           [low.tensor(out.name)], _OPT.FullyConnectedOptions, opts)


def _lower_binary(low: _Lowering, node: Node) -> None:
    code, table = (_OP.ADD, "AddOptions") if node.op == "add" else (_OP.MUL, "MulOptions")
    opts = _table(table, FusedActivationFunction=_ACT[node.attrs["activation"]])
    low.op(code, [low.tensor(i) for i in node.inputs], [low.tensor(node.outputs[0])],
           getattr(_OPT, table), opts)


def _lower_pool(low: _Lowering, node: Node) -> None:
    g = low.graph
    x, out = g.tensors[node.inputs[0]], g.tensors[node.outputs[0]]
    a = node.attrs
    kernel, strides = tuple(int(k) for k in a["kernel"]), tuple(int(s) for s in a["strides"])
    assert x.quant is not None
    x_idx = low.tensor(x.name)
    include_pad = node.op == "avgpool2d" and a["count_include_pad"] and any(int(p) for p in a["pads"])
    padding = None if include_pad else _choose_padding(x, out, kernel, strides, (1, 1), a["pads"])  # type: ignore[arg-type]
    if padding is None:
        if node.op == "avgpool2d" and not a["count_include_pad"]:
            raise _err(node, f"pads {a['pads']} are neither TFLite SAME nor VALID, and an explicit "
                             "PAD would change the averaging count")
        value = int(x.quant.zero_point[0]) if node.op == "avgpool2d" else -128
        x_idx, padding = _explicit_pad(low, node, x, a["pads"], value), _VALID
    code = _OP.AVERAGE_POOL_2D if node.op == "avgpool2d" else _OP.MAX_POOL_2D
    opts = _table("Pool2DOptions", Padding=padding, StrideW=strides[1], StrideH=strides[0],
                  FilterWidth=kernel[1], FilterHeight=kernel[0],
                  FusedActivationFunction=_ACT[a["activation"]])
    low.op(code, [x_idx], [_requant_tail(low, node, x, out)], _OPT.Pool2DOptions, opts)


def _lower_mean(low: _Lowering, node: Node) -> None:
    x = low.graph.tensors[node.inputs[0]]
    axes = [int(ax) % len(x.shape) for ax in node.attrs["axes"]] or list(range(len(x.shape)))
    axis_idx = low.const(f"{node.name}/axes", np.array(axes, np.int32))
    low.op(_OP.MEAN, [low.tensor(x.name), axis_idx], [low.tensor(node.outputs[0])],
           _OPT.ReducerOptions, _table("ReducerOptions", KeepDims=bool(node.attrs["keepdims"])))


def _lower_reshape(low: _Lowering, node: Node) -> None:
    x, out = low.graph.tensors[node.inputs[0]], low.graph.tensors[node.outputs[0]]
    shape = tuple(int(d) for d in node.attrs["shape"])
    shape_idx = low.const(f"{node.name}/shape", np.array(shape, np.int32))
    low.op(_OP.RESHAPE, [low.tensor(x.name), shape_idx], [_requant_tail(low, node, x, out)],
           _OPT.ReshapeOptions, _reshape_options(shape))


def _lower_transpose(low: _Lowering, node: Node) -> None:
    x, out = low.graph.tensors[node.inputs[0]], low.graph.tensors[node.outputs[0]]
    perm_idx = low.const(f"{node.name}/perm", np.array(node.attrs["perm"], np.int32))
    low.op(_OP.TRANSPOSE, [low.tensor(x.name), perm_idx], [_requant_tail(low, node, x, out)],
           _OPT.TransposeOptions, _empty("TransposeOptions"))


def _lower_pad(low: _Lowering, node: Node) -> None:
    x, out = low.graph.tensors[node.inputs[0]], low.graph.tensors[node.outputs[0]]
    assert x.quant is not None
    pads = np.array([[int(a), int(b)] for a, b in node.attrs["pads"]], np.int32)
    if (pads < 0).any():
        raise _err(node, "negative padding")
    inputs = [low.tensor(x.name), low.const(f"{node.name}/paddings", pads)]
    value = pad_value_int8(node.attrs["value"], x)
    dst = _requant_tail(low, node, x, out)
    if value == int(x.quant.zero_point[0]):
        low.op(_OP.PAD, inputs, [dst], _OPT.PadOptions, _empty("PadOptions"))
    else:
        inputs.append(low.const(f"{node.name}/pad_value", np.array([value], np.int8), x.quant))
        low.op(_OP.PADV2, inputs, [dst], _OPT.PadV2Options, _empty("PadV2Options"))


def _lower_softmax(low: _Lowering, node: Node) -> None:
    x, out = low.graph.tensors[node.inputs[0]], low.graph.tensors[node.outputs[0]]
    if int(node.attrs["axis"]) % len(x.shape) != len(x.shape) - 1:
        raise _err(node, f"TFLite SOFTMAX works on the last axis only (axis={node.attrs['axis']})")
    fixed = Tensor("softmax", out.shape, "int8", quant=QuantParams(np.float32(SOFTMAX_SCALE), SOFTMAX_ZP))
    dst = _requant_tail(low, node, fixed, out)
    low.op(_OP.SOFTMAX, [low.tensor(x.name)], [dst], _OPT.SoftmaxOptions,
           _table("SoftmaxOptions", Beta=float(node.attrs["beta"])))


def _lower_activation(low: _Lowering, node: Node) -> None:
    if node.op == "relu":
        code = _OP.RELU
    else:
        bounds = (node.attrs["min"], node.attrs["max"])
        codes = {(0, None): _OP.RELU, (0, 6): _OP.RELU6, (-1, 1): _OP.RELU_N1_TO_1, (0, 1): _OP.RELU_0_TO_1}
        key = tuple(None if v is None else float(v) for v in bounds)
        match = [c for k, c in codes.items() if k == key]
        if not match:
            raise _err(node, f"clip({bounds[0]}, {bounds[1]}) has no TFLite int8 equivalent "
                             "(only RELU, RELU6, RELU_N1_TO_1, RELU_0_TO_1)")
        code = match[0]
    x, out = low.graph.tensors[node.inputs[0]], low.graph.tensors[node.outputs[0]]
    x_idx = low.tensor(x.name)
    if code != _OP.RELU:
        # tflite-micro's RELU6 family clamps without rescaling: requantize first. The
        # requantize-then-clamp result is identical to LiteRT's fused rescaling clamp.
        x_idx = _requant_head(low, x, out)
    low.op(code, [x_idx], [low.tensor(out.name)])


def _requant_head(low: _Lowering, src: Tensor, dst: Tensor) -> int:
    """``src`` requantized to ``dst``'s parameters by a QUANTIZE, unless they already agree."""
    assert src.quant is not None and dst.quant is not None
    if (np.float32(src.quant.scale[0]) == np.float32(dst.quant.scale[0])
            and int(src.quant.zero_point[0]) == int(dst.quant.zero_point[0])):
        return low.tensor(src.name)
    tmp = low.temp(f"{dst.name}/requant", dst, dst.shape)
    low.op(_OP.QUANTIZE, [low.tensor(src.name)], [tmp], _OPT.QuantizeOptions, _empty("QuantizeOptions"))
    return tmp


def _lower_quantize(low: _Lowering, node: Node) -> None:
    code, table = ((_OP.QUANTIZE, "QuantizeOptions") if node.op == "quantize"
                   else (_OP.DEQUANTIZE, "DequantizeOptions"))
    low.op(code, [low.tensor(node.inputs[0])], [low.tensor(node.outputs[0])],
           getattr(_OPT, table), _empty(table))


def _lower_concat(low: _Lowering, node: Node) -> None:
    """CONCATENATION needs every int8 input quantized like the output: QUANTIZE the others."""
    out = low.graph.tensors[node.outputs[0]]
    ins = []
    for name in node.inputs:
        x = low.graph.tensors[name]
        ins.append(low.tensor(name) if _same_params(x, out) else _requant_to(low, x, out))
    opts = _table("ConcatenationOptions", Axis=int(node.attrs["axis"]) % len(out.shape))
    low.op(_OP.CONCATENATION, ins, [low.tensor(out.name)], _OPT.ConcatenationOptions, opts)


def _same_params(a: Tensor, b: Tensor) -> bool:
    assert a.quant is not None and b.quant is not None
    return (np.float32(a.quant.scale[0]) == np.float32(b.quant.scale[0])
            and int(a.quant.zero_point[0]) == int(b.quant.zero_point[0]))


def _requant_to(low: _Lowering, src: Tensor, dst: Tensor) -> int:
    """A QUANTIZE of ``src`` (its own shape) to ``dst``'s parameters."""
    tmp = low._append(_TfTensor(low._fresh(f"{src.name}/requant"), src.shape, _ttype(src), None, dst.quant))
    low.op(_OP.QUANTIZE, [low.tensor(src.name)], [tmp], _OPT.QuantizeOptions, _empty("QuantizeOptions"))
    return tmp


def _lower_slice(low: _Lowering, node: Node) -> None:
    x, out = low.graph.tensors[node.inputs[0]], low.graph.tensors[node.outputs[0]]
    r = len(x.shape)
    strides = tuple(node.attrs["strides"]) or (1,) * r
    consts = [low.const(f"{node.name}/{k}", np.array(v, np.int32))
              for k, v in (("begin", node.attrs["begin"]), ("end", node.attrs["end"]), ("strides", strides))]
    low.op(_OP.STRIDED_SLICE, [low.tensor(x.name), *consts], [_requant_tail(low, node, x, out)],
           _OPT.StridedSliceOptions, _empty("StridedSliceOptions"))


_LOWER: dict[str, Callable[[_Lowering, Node], None]] = {
    "conv2d": _lower_conv, "fully_connected": _lower_fc, "add": _lower_binary, "mul": _lower_binary,
    "avgpool2d": _lower_pool, "maxpool2d": _lower_pool, "mean": _lower_mean,
    "reshape": _lower_reshape, "transpose": _lower_transpose, "pad": _lower_pad,
    "softmax": _lower_softmax, "relu": _lower_activation, "clip": _lower_activation,
    "quantize": _lower_quantize, "dequantize": _lower_quantize,
}
_LOWER.update({"concat": _lower_concat, "slice": _lower_slice})

from tte.export import activation as _activation  # noqa: E402  (needs the helpers above)

_LOWER.update(_activation.LOWER)
_VERSIONS.update(_activation.VERSIONS)


def _check_int8(graph: Graph) -> None:
    """Refuse float graphs and ops TFLite cannot express, naming every offender."""
    unknown = sorted({n.op for n in graph.nodes if n.op not in _LOWER})
    if unknown:
        raise TteError(f"cannot export to TFLite: no TFLite equivalent for op(s) {', '.join(unknown)}",
                       node=next(n.name for n in graph.nodes if n.op in unknown))
    for n in graph.nodes:
        if n.op in ("quantize", "dequantize"):
            continue
        bad = [graph.tensors[t] for t in [n.inputs[0], *n.outputs] if graph.tensors[t].dtype != "int8"]
        if bad:
            raise TteError(f"cannot export a float graph to TFLite: {n.op} works on "
                           f"{bad[0].dtype} tensor '{bad[0].name}'; quantize the graph to int8 first",
                           node=n.name)


def lower(graph: Graph) -> _Lowering:
    graph.validate()
    _check_int8(graph)
    low = _Lowering(graph)
    for name in graph.inputs:
        low.tensor(name)
    for node in graph.nodes:
        _LOWER[node.op](low, node)
    for name in graph.outputs:
        low.tensor(name)
    return low


# --------------------------------------------------------------------------------------
# serialization


def _build_quant(b: flatbuffers.Builder, q: QuantParams) -> int:
    m = _mod("QuantizationParameters")
    m.QuantizationParametersStartScaleVector(b, len(q.scale))
    for s in reversed(q.scale.astype(np.float32).tolist()):
        b.PrependFloat32(s)
    scale = b.EndVector()
    m.QuantizationParametersStartZeroPointVector(b, len(q.zero_point))
    for z in reversed(q.zero_point.tolist()):
        b.PrependInt64(int(z))
    zp = b.EndVector()
    m.QuantizationParametersStart(b)
    m.QuantizationParametersAddScale(b, scale)
    m.QuantizationParametersAddZeroPoint(b, zp)
    m.QuantizationParametersAddQuantizedDimension(b, q.axis or 0)
    return int(m.QuantizationParametersEnd(b))


def _build_tensor(b: flatbuffers.Builder, t: _TfTensor, buffer: int) -> int:
    m = _mod("Tensor")
    name = b.CreateString(t.name)
    shape = _int32_vector(b, m.TensorStartShapeVector, t.shape)
    quant = _build_quant(b, t.quant) if t.quant is not None else None
    sig = None if t.signature is None else _int32_vector(b, m.TensorStartShapeSignatureVector, t.signature)
    m.TensorStart(b)
    m.TensorAddShape(b, shape)
    if sig is not None:
        m.TensorAddShapeSignature(b, sig)
    m.TensorAddType(b, t.ttype)
    m.TensorAddBuffer(b, buffer)
    m.TensorAddName(b, name)
    if quant is not None:
        m.TensorAddQuantization(b, quant)
    return int(m.TensorEnd(b))


def _build_operator(b: flatbuffers.Builder, op: _TfOp, opcode_index: int) -> int:
    m = _mod("Operator")
    ins = _int32_vector(b, m.OperatorStartInputsVector, op.inputs)
    outs = _int32_vector(b, m.OperatorStartOutputsVector, op.outputs)
    opts = op.options(b) if op.options is not None else None
    m.OperatorStart(b)
    m.OperatorAddOpcodeIndex(b, opcode_index)
    m.OperatorAddInputs(b, ins)
    m.OperatorAddOutputs(b, outs)
    if opts is not None:
        m.OperatorAddBuiltinOptionsType(b, op.options_type)
        m.OperatorAddBuiltinOptions(b, opts)
    return int(m.OperatorEnd(b))


def _build_buffer(b: flatbuffers.Builder, data: bytes | None) -> int:
    m = _mod("Buffer")
    vec = None
    if data:
        b.StartVector(1, len(data), 16)    # 16-byte aligned constants for the MCU kernels
        b.head = b.head - len(data)
        b.Bytes[b.head:b.head + len(data)] = data
        vec = b.EndVector()
    m.BufferStart(b)
    if vec is not None:
        m.BufferAddData(b, vec)
    return int(m.BufferEnd(b))


def _vector_of_offsets(b: flatbuffers.Builder, start: Callable[..., Any], offsets: list[int]) -> int:
    start(b, len(offsets))
    for o in reversed(offsets):
        b.PrependUOffsetTRelative(o)
    return int(b.EndVector())


def serialize(low: _Lowering) -> bytes:
    b = flatbuffers.Builder(1024)
    codes = sorted({op.code for op in low.ops})
    code_index = {c: i for i, c in enumerate(codes)}
    # buffer 0 is the conventional empty buffer
    buffer_of: list[int] = []
    datas: list[bytes | None] = [None]
    for t in low.tensors:
        if t.data:
            datas.append(t.data)
            buffer_of.append(len(datas) - 1)
        else:
            buffer_of.append(0)
    buffers = [_build_buffer(b, d) for d in datas]
    tensors = [_build_tensor(b, t, buf) for t, buf in zip(low.tensors, buffer_of)]
    operators = [_build_operator(b, op, code_index[op.code]) for op in low.ops]

    sg = _mod("SubGraph")
    tvec = _vector_of_offsets(b, sg.SubGraphStartTensorsVector, tensors)
    ivec = _int32_vector(b, sg.SubGraphStartInputsVector, [low.index[n] for n in low.graph.inputs])
    ovec = _int32_vector(b, sg.SubGraphStartOutputsVector, [low.index[n] for n in low.graph.outputs])
    opvec = _vector_of_offsets(b, sg.SubGraphStartOperatorsVector, operators)
    sg_name = b.CreateString(low.graph.name)
    sg.SubGraphStart(b)
    sg.SubGraphAddTensors(b, tvec)
    sg.SubGraphAddInputs(b, ivec)
    sg.SubGraphAddOutputs(b, ovec)
    sg.SubGraphAddOperators(b, opvec)
    sg.SubGraphAddName(b, sg_name)
    subgraph = sg.SubGraphEnd(b)

    oc = _mod("OperatorCode")
    opcodes = []
    for c in codes:
        oc.OperatorCodeStart(b)
        oc.OperatorCodeAddDeprecatedBuiltinCode(b, min(c, _OP.PLACEHOLDER_FOR_GREATER_OP_CODES))
        oc.OperatorCodeAddBuiltinCode(b, c)
        oc.OperatorCodeAddVersion(b, _VERSIONS.get(c, 1))
        opcodes.append(oc.OperatorCodeEnd(b))

    m = _mod("Model")
    sgvec = _vector_of_offsets(b, m.ModelStartSubgraphsVector, [subgraph])
    ocvec = _vector_of_offsets(b, m.ModelStartOperatorCodesVector, opcodes)
    bufvec = _vector_of_offsets(b, m.ModelStartBuffersVector, buffers)
    desc = b.CreateString("tte")
    m.ModelStart(b)
    m.ModelAddVersion(b, 3)
    m.ModelAddOperatorCodes(b, ocvec)
    m.ModelAddSubgraphs(b, sgvec)
    m.ModelAddDescription(b, desc)
    m.ModelAddBuffers(b, bufvec)
    b.Finish(m.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tte-", suffix=".tflite.tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        make_public(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def export_tflite(graph: Graph, path: str | os.PathLike[str] | None = None) -> bytes:
    """Serialize an int8 ``graph`` as TFLite; also write it to ``path`` (atomically) if given."""
    try:
        data = serialize(lower(graph))
    except TteError as e:
        raise e.at(file=None if path is None else os.fspath(path)) from None
    if path is not None:
        _write_atomic(path, data)
    return data


def model_description(data: bytes) -> str:
    """The description string of a TFLite flatbuffer ("tte" for the files tte writes)."""
    desc = _mod("Model").Model.GetRootAsModel(data, 0).Description()
    return desc.decode("utf-8", "replace") if desc else ""
