"""ONNX -> tte IR: float models (opsets 13-21, older ones where the op is unchanged) and
int8 QDQ / QLinear models.

ONNX activations are NCHW, the IR is NHWC. Every ONNX value is held by one IR tensor plus
the permutation that turns that tensor back into ONNX order (see ``layout``); 4-D
activations live in NHWC and transposes are inserted only where an op needs the source
order. Constants are folded at import and laid out for their consumer.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import numpy_helper

from tte.errors import GraphError, ModelFormatError, TteError, UnsupportedOpError
from tte.frontend import layout as L
from tte.frontend.layout import NCHW_FROM_NHWC, Perm
from tte.ir import Graph, Node, QuantParams, Tensor

MIN_OPSET = 11

_ELEM_TYPES: dict[int, str] = {
    onnx.TensorProto.FLOAT: "float32", onnx.TensorProto.INT8: "int8",
    onnx.TensorProto.UINT8: "uint8", onnx.TensorProto.INT32: "int32",
    onnx.TensorProto.INT64: "int64", onnx.TensorProto.INT16: "int16",
    onnx.TensorProto.BOOL: "bool",
}


@dataclass
class _Val:
    """Where an ONNX value lives: an IR tensor, its perm, and whether the ONNX value is
    the dequantized (float) view of that int8 tensor."""

    ir: str
    perm: Perm = None
    deq: bool = False


@dataclass
class _QConst:
    """An integer constant and the DequantizeLinear parameters that give it meaning."""

    q: np.ndarray
    scale: np.ndarray
    zero_point: np.ndarray
    axis: int | None
    source: str = ""  # the integer initializer's name


@dataclass
class _QOut:
    """A node whose output is requantized: emit it as an int8 op named after the Q output."""

    name: str
    quant: QuantParams
    activation: str
    absorbed: list[onnx.NodeProto]


def load_onnx(source: str | os.PathLike[str] | bytes, *, name: str | None = None) -> Graph:
    """Import an ONNX model (path or serialized bytes) into a tte Graph."""
    label = "<bytes>" if isinstance(source, bytes | bytearray) else os.fspath(source)
    data = bytes(source) if isinstance(source, bytes | bytearray) else _read(label)
    model = _parse(data, label)
    try:
        return _Importer(model, label, name).run()
    except TteError as e:
        raise e.at(file=label) from None
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError,
            AssertionError, RuntimeError) as e:
        # A structurally valid protobuf with inconsistent contents (bit flips, bad dims).
        raise ModelFormatError(f"malformed ONNX model: {type(e).__name__}: {e}", file=label) from e


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise TteError(f"cannot read model: {e.strerror}", file=path) from None


def _parse(data: bytes, label: str) -> onnx.ModelProto:
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as e:
        raise ModelFormatError(f"not a valid ONNX protobuf (truncated or corrupt): {e}", file=label) from None
    if not model.HasField("graph") or not model.graph.output or not model.opset_import:
        raise ModelFormatError("not an ONNX model: no graph, outputs or opset", file=label)
    return model


# --------------------------------------------------------------------------------------
# Small helpers


def _attrs(node: onnx.NodeProto) -> dict[str, Any]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _ints(v: Any) -> tuple[int, ...]:
    return tuple(int(i) for i in v)


def _fmt(shape: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in shape)


def _same_pads(size: int, k: int, s: int, d: int, upper: bool) -> tuple[int, int]:
    """Padding of auto_pad SAME_UPPER / SAME_LOWER (extra pixel at the end / start)."""
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    small = total // 2
    return (small, total - small) if upper else (total - small, small)


def _spatial_pads(node: onnx.NodeProto, a: dict[str, Any], hw: tuple[int, int], k: tuple[int, int],
                  s: tuple[int, int], d: tuple[int, int]) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) from pads or auto_pad."""
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else str(auto)
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        (t, b), (lft, r) = (_same_pads(hw[i], k[i], s[i], d[i], auto == "SAME_UPPER") for i in range(2))
        return t, lft, b, r
    if auto == "VALID":
        return 0, 0, 0, 0
    if auto != "NOTSET":
        raise UnsupportedOpError(node.op_type, node=node.name, detail=f"auto_pad {auto}")
    pads = _ints(a.get("pads", (0, 0, 0, 0)))
    if len(pads) != 4:
        raise TteError(f"{node.op_type}: expected 4 pads for 2-D spatial data, got {pads}", node=node.name)
    return pads[0], pads[1], pads[2], pads[3]


_FLOAT_OPS = {
    "Conv", "Gemm", "MatMul", "Relu", "Clip", "Add", "Mul", "AveragePool", "GlobalAveragePool",
    "ReduceMean", "MaxPool", "Flatten", "Reshape", "Softmax", "BatchNormalization", "Pad",
    "Identity", "Dropout", "Transpose",
}
_QUANT_OPS = {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul"}
# ops an int8 QDQ group may be emitted as (the rest run in float between DQ and Q)
_INT8_OPS = {"Conv", "Gemm", "MatMul", "Add", "Mul", "AveragePool", "GlobalAveragePool",
             "MaxPool", "ReduceMean", "Reshape", "Flatten", "Transpose", "Pad"}
_FUSABLE = ("conv2d", "fully_connected", "add")


def _foldable(node: onnx.NodeProto, consts: set[str] | dict[str, np.ndarray]) -> bool:
    if node.op_type in ("Constant", "Shape", "Size"):
        return True
    present = [i for i in node.input if i]
    return bool(present) and all(i in consts for i in present)


class _Importer:
    def __init__(self, model: onnx.ModelProto, label: str, name: str | None) -> None:
        self.model = model
        self.label = label
        self.g = Graph(name or model.graph.name or os.path.splitext(os.path.basename(label))[0] or "onnx")
        self.opset = self._opset()
        self.vals: dict[str, _Val] = {}
        self.consts: dict[str, np.ndarray] = {}
        self.qconsts: dict[str, _QConst] = {}
        self.producer: dict[str, Node] = {}           # IR tensor -> IR node writing it
        self.uses: Counter[str] = Counter(i for n in model.graph.node for i in n.input if i)
        self.graph_outputs = {o.name for o in model.graph.output}
        self.absorbed: set[int] = set()               # ids of nodes folded into a neighbour
        self._cache: dict[tuple[Any, ...], str] = {}
        self._consumers: dict[str, list[onnx.NodeProto]] = {}
        for n in model.graph.node:
            for i in n.input:
                if i:
                    self._consumers.setdefault(i, []).append(n)

    # ---- driver ----------------------------------------------------------------------
    def run(self) -> Graph:
        graph = self.model.graph
        for init in graph.initializer:
            self.consts[init.name] = numpy_helper.to_array(init)
        self._check_nodes()
        self._add_inputs()
        for node in graph.node:
            if id(node) in self.absorbed:
                continue
            try:
                self._convert(node)
            except TteError as e:
                raise e.at(node=node.name or (node.output[0] if node.output else node.op_type)) from None
        self._add_outputs()
        for name in self.g.inputs + self.g.outputs:
            t = self.g.tensors[name]
            if t.dtype != "float32" and t.quant is None:
                raise UnsupportedOpError(f"{t.dtype} input", detail=f"graph input/output '{name}' is "
                                         f"{t.dtype} without quantization parameters (integer arithmetic)")
        self.g.meta["source"] = "onnx"
        self.g.meta["opset"] = self.opset
        try:
            self.g.validate()
        except GraphError as e:
            raise e.at(file=self.label) from None
        return self.g

    def _opset(self) -> int:
        versions = [o.version for o in self.model.opset_import if o.domain in ("", "ai.onnx")]
        if not versions:
            raise ModelFormatError("the model imports no default-domain opset")
        v = int(versions[0])
        if v < MIN_OPSET:
            raise UnsupportedOpError(f"opset {v}", detail=f"tte imports opset {MIN_OPSET} and newer")
        return v

    def _check_nodes(self) -> None:
        """Fail early: undefined inputs, then every unsupported op type at once."""
        known = set(self.consts) | {i.name for i in self.model.graph.input}
        const = set(self.consts)
        unsupported: dict[str, str] = {}
        for node in self.model.graph.node:
            where = node.name or (node.output[0] if node.output else node.op_type)
            for i in node.input:
                if i and i not in known:
                    raise TteError(f"input '{i}' is neither a graph input, an initializer nor "
                                   f"produced by an earlier node (missing initializer?)", node=where)
            op = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
            # constant subgraphs (exporters' shape arithmetic) are folded at import
            foldable = node.domain in ("", "ai.onnx") and _foldable(node, const)
            if foldable:
                const.update(o for o in node.output if o)
            elif node.domain not in ("", "ai.onnx") or op not in _FLOAT_OPS | _QUANT_OPS:
                unsupported.setdefault(op, where)
            known.update(o for o in node.output if o)
        for o in self.model.graph.output:
            if o.name not in known:
                raise TteError(f"graph output '{o.name}' is never produced")
        if unsupported:
            nodes = ", ".join(f"{op} (node '{n}')" for op, n in sorted(unsupported.items()))
            raise UnsupportedOpError(list(unsupported), detail=f"used by {nodes}")

    def _add_inputs(self) -> None:
        for vi in self.model.graph.input:
            if vi.name in self.consts:
                continue
            shape, dtype = self._value_info(vi)
            if dtype not in ("float32", "int8"):
                raise UnsupportedOpError(f"{dtype} input", node=None,
                                         detail=f"graph input '{vi.name}' has element type {dtype}")
            perm = NCHW_FROM_NHWC if len(shape) == 4 else None
            t = self.g.add_tensor(Tensor(vi.name, L.ir_shape(shape, perm), dtype))
            t.source_perm = perm
            self.g.inputs.append(vi.name)
            self.vals[vi.name] = _Val(vi.name, perm)

    def _value_info(self, vi: onnx.ValueInfoProto) -> tuple[tuple[int, ...], str]:
        tt = vi.type.tensor_type
        if not vi.type.HasField("tensor_type") or not tt.HasField("shape"):
            raise TteError(f"graph input '{vi.name}' has no static tensor shape")
        dims = []
        for k, d in enumerate(tt.shape.dim):
            if not d.HasField("dim_value") or d.dim_value <= 0:
                sym = d.dim_param or "?"
                raise TteError(f"graph input '{vi.name}' has a symbolic/unknown dimension "
                               f"'{sym}' at axis {k}; tte needs static shapes (export with a "
                               f"fixed input size)")
            dims.append(int(d.dim_value))
        if tt.elem_type not in _ELEM_TYPES:
            raise UnsupportedOpError(f"{onnx.TensorProto.DataType.Name(tt.elem_type).lower()} input",
                                     detail=f"graph input '{vi.name}'")
        return tuple(dims), _ELEM_TYPES[tt.elem_type]

    def _add_outputs(self) -> None:
        for o in self.model.graph.output:
            if o.name in self.consts and o.name not in self.vals:
                self.vals[o.name] = _Val(self._const_tensor(o.name, self.consts[o.name]))
            v = self.vals[o.name]
            name = v.ir
            fresh = (v.ir == o.name and v.ir not in self.g.inputs and not self.g.tensors[v.ir].is_const
                     and v.ir not in self.g.outputs)
            if v.deq:
                name = self._dequantized(v, o.name)
                perm = v.perm
            elif fresh:
                perm = v.perm
            elif v.perm is not None:
                name = self._emit("transpose", [v.ir], o.name, {"perm": v.perm})
                perm = None
            else:
                shape = self.g.tensors[v.ir].shape
                name = self._emit("reshape", [v.ir], o.name, {"shape": shape})
                perm = None
            self.g.tensors[name].source_perm = perm
            self.g.outputs.append(name)

    # ---- values --------------------------------------------------------------------
    def _rank(self, v: _Val) -> int:
        return len(self.g.tensors[v.ir].shape)

    def shape(self, name: str) -> tuple[int, ...]:
        """The ONNX shape of a value."""
        if name in self.consts:
            return tuple(self.consts[name].shape)
        v = self.vals[name]
        return L.source_shape(self.g.tensors[v.ir].shape, v.perm)

    def const(self, node: onnx.NodeProto, idx: int, what: str) -> np.ndarray | None:
        """A constant input (None when absent); reject a variable one by name."""
        if idx >= len(node.input) or not node.input[idx]:
            return None
        name = node.input[idx]
        if name not in self.consts:
            raise UnsupportedOpError(node.op_type, detail=f"{what} '{name}' must be a constant")
        return self.consts[name]

    def var(self, name: str, *, float_view: bool = True) -> _Val:
        """An input as an IR value; constants become IR constants in source order and
        dequantized int8 values get an explicit dequantize unless float_view is False."""
        if name in self.consts and name not in self.vals:
            self.vals[name] = _Val(self._const_tensor(name, self.consts[name]))
        v = self.vals[name]
        if v.deq and float_view:
            return _Val(self._dequantized(v, name), v.perm)
        return v

    def _const_tensor(self, base: str, data: np.ndarray, dtype: str | None = None,
                      quant: QuantParams | None = None) -> str:
        arr = np.asarray(data)
        if dtype is None:
            dtype = "float32" if arr.dtype.kind == "f" else str(arr.dtype)
        name = self.g.unique_name(base or "const")
        self.g.add_const(name, arr.astype(dtype), dtype, quant)
        return name

    def _dequantized(self, v: _Val, name: str) -> str:
        key = ("deq", v.ir)
        if key not in self._cache:
            self._cache[key] = self._emit("dequantize", [v.ir], name, dtype="float32")
        return self._cache[key]

    def in_layout(self, v: _Val, perm: Perm) -> str:
        """IR tensor holding v's value laid out with ``perm`` (a cached transpose if needed)."""
        perm = L.norm(perm)
        if v.perm == perm:
            return v.ir
        key = ("t", v.ir, perm)
        if key not in self._cache:
            q = L.convert(v.perm, perm, self._rank(v))
            t = self.g.tensors[v.ir]
            self._cache[key] = self._emit("transpose", [v.ir], f"{v.ir}_t", {"perm": q},
                                          dtype=t.dtype, quant=t.quant)
        return self._cache[key]

    def _emit(self, op: str, inputs: list[str], out: str, attrs: dict[str, Any] | None = None, *,
              dtype: str | None = None, quant: QuantParams | None = None, node: str | None = None) -> str:
        name = self.g.unique_name(out)
        ir_node = self.g.add_node(op, inputs, name, attrs, dtype=dtype, quant=quant,
                                  name=self.g.unique_name(node) if node else None)
        self.producer[name] = ir_node
        return name

    def set(self, onnx_name: str, ir: str, perm: Perm = None, *, deq: bool = False) -> None:
        self.vals[onnx_name] = _Val(ir, L.norm(perm), deq)

    def sole_consumer(self, name: str) -> onnx.NodeProto | None:
        """The only node reading ``name`` (once), if the value is not a graph output."""
        users = self._consumers.get(name, [])
        if len(users) != 1 or self.uses[name] != 1 or name in self.graph_outputs:
            return None
        return users[0]

    def rename(self, old: str, new: str) -> str:
        """Give an IR tensor (written by one node, read by none yet) a new name."""
        t = self.g.tensors.pop(old)
        t.name = self.g.unique_name(new)
        self.g.tensors[t.name] = t
        node = self.producer.pop(old)
        node.outputs = [t.name if o == old else o for o in node.outputs]
        self.producer[t.name] = node
        return t.name

    # ---- conversion ------------------------------------------------------------------
    def _convert(self, node: onnx.NodeProto) -> None:
        if node.domain not in ("", "ai.onnx"):
            raise UnsupportedOpError(f"{node.domain}.{node.op_type}")
        if node.op_type in ("Constant", "Shape", "Size") or (
                node.input and all(i in self.consts for i in node.input if i)
                and not (node.op_type == "DequantizeLinear" and not self._int_const(node.input[0]))):
            self._fold(node)
            return
        fn = _CONVERTERS[node.op_type]
        qout = self._match_qdq(node) if node.op_type in _INT8_OPS else None
        fn(self, node, qout)

    def _int_const(self, name: str) -> bool:
        return name in self.consts and self.consts[name].dtype.kind in "iu"

    def _fold(self, node: onnx.NodeProto) -> None:
        if node.op_type == "Shape":
            self._fold_shape(node)
            return
        if node.op_type == "Size":
            self.consts[node.output[0]] = np.array(math.prod(self.shape(node.input[0])), np.int64)
            return
        if node.op_type == "DequantizeLinear":
            self._fold_dequantize(node)
            return
        from onnx.reference import ReferenceEvaluator

        feeds = {i: self.consts[i] for i in node.input if i}
        try:
            outs = ReferenceEvaluator(node, opsets={"": self.opset}).run(None, feeds)
        except Exception as e:  # the evaluator raises arbitrary types on bad constants
            raise TteError(f"cannot fold constant {node.op_type}: {type(e).__name__}: {e}") from None
        for name, arr in zip(node.output, outs):
            if name:
                self.consts[name] = np.asarray(arr)

    def _fold_shape(self, node: onnx.NodeProto) -> None:
        shape = self.shape(node.input[0])
        a = _attrs(node)
        r = len(shape)
        start, end = int(a.get("start", 0)), int(a.get("end", r))
        start, end = (min(max(x + r if x < 0 else x, 0), r) for x in (start, end))
        self.consts[node.output[0]] = np.array(shape[start:end], np.int64)

    def _fold_dequantize(self, node: onnx.NodeProto) -> None:
        x = self.consts[node.input[0]]
        scale = np.asarray(self.const(node, 1, "scale"), np.float32)
        zp = self.const(node, 2, "zero point")
        zp = np.zeros_like(scale, dtype=np.int64) if zp is None else np.asarray(zp, np.int64)
        a = _attrs(node)
        if int(a.get("block_size", 0)):
            raise UnsupportedOpError(node.op_type, detail="blocked quantization")
        axis = None
        s, z = scale.reshape(()) if scale.size == 1 else scale, zp.reshape(()) if zp.size == 1 else zp
        if scale.size > 1:
            axis = int(a.get("axis", 1)) % x.ndim
            shape = [1] * x.ndim
            shape[axis] = -1
            s, z = scale.reshape(shape), zp.reshape(shape)
        self.consts[node.output[0]] = ((x.astype(np.int64) - z).astype(np.float32) * s).astype(np.float32)
        self.qconsts[node.output[0]] = _QConst(x, scale.ravel(), zp.ravel(), axis, node.input[0])

    # ---- QDQ matching ----------------------------------------------------------------
    def _quant_of(self, node: onnx.NodeProto) -> QuantParams | None:
        """Per-tensor int8 parameters of a QuantizeLinear node, or None if not int8."""
        scale = self.consts.get(node.input[1]) if len(node.input) > 1 else None
        zp = self.consts.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        out_type = int(_attrs(node).get("output_dtype", 0))
        is_int8 = (zp.dtype == np.int8) if zp is not None else out_type == onnx.TensorProto.INT8
        if scale is None or scale.size != 1 or not is_int8:
            return None
        return QuantParams(scale.reshape(1), np.zeros(1) if zp is None else zp.reshape(1).astype(np.int64))

    def _match_qdq(self, node: onnx.NodeProto) -> _QOut | None:
        """Does this node sit between DequantizeLinear inputs and one int8 QuantizeLinear?"""
        act_inputs = [i for i in node.input[:2] if i and i not in self.consts] if node.op_type in (
            "Add", "Mul") else [node.input[0]]
        if not all(i in self.vals and self.vals[i].deq for i in act_inputs) or not act_inputs:
            return None
        if node.op_type in ("Conv", "Gemm", "MatMul"):
            if len(node.input) < 2 or node.input[1] not in self.qconsts:
                return None
            if node.op_type == "MatMul" and self.consts[node.input[1]].ndim != 2:
                return None
            a = _attrs(node)
            if node.op_type == "Gemm" and (a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0
                                           or a.get("transA", 0)):
                return None
            if node.op_type == "Gemm" and len(node.input) > 2 and node.input[2]:
                b = self.consts[node.input[1]]
                n = b.shape[0] if a.get("transB", 0) else b.shape[1]
                if _gemm_bias(self.consts.get(node.input[2]), n) is None:
                    return None  # a matrix C stays in float
        if node.op_type in ("Add", "Mul"):
            consts = [i for i in node.input if i in self.consts]
            if any(i not in self.qconsts or self.qconsts[i].axis is not None for i in consts):
                return None
        nxt = self.sole_consumer(node.output[0])
        absorbed: list[onnx.NodeProto] = []
        activation = "none"
        if nxt is not None and node.op_type in ("Conv", "Gemm", "MatMul", "Add"):
            act = self._activation_of(nxt)
            if act is not None:
                activation = act
                absorbed.append(nxt)
                nxt = self.sole_consumer(nxt.output[0])
        if nxt is None or nxt.op_type != "QuantizeLinear":
            return None
        quant = self._quant_of(nxt)
        if quant is None:
            return None
        absorbed.append(nxt)
        return _QOut(nxt.output[0], quant, activation, absorbed)

    def _activation_of(self, node: onnx.NodeProto) -> str | None:
        if node.op_type == "Relu":
            return "relu"
        if node.op_type == "Clip":
            lo, hi = _clip_bounds(self, node)
            if lo == 0.0 and hi is None:
                return "relu"
            if lo == 0.0 and hi == 6.0:
                return "relu6"
        return None

    def absorb(self, qout: _QOut) -> None:
        self.absorbed.update(id(n) for n in qout.absorbed)

    def act_input(self, name: str, qout: _QOut | None) -> _Val:
        """An activation input: the int8 tensor itself in an int8 group, else float."""
        return self.var(name, float_view=qout is None)

    def emit_out(self, node: onnx.NodeProto, op: str, inputs: list[str], attrs: dict[str, Any],
                 perm: Perm, qout: _QOut | None) -> None:
        """Emit the node's IR op; in an int8 group it is named after (and quantized like)
        the QuantizeLinear output it absorbs."""
        if qout is None:
            ir = self._emit(op, inputs, node.output[0], attrs, node=node.name or None)
            self.set(node.output[0], ir, perm)
            return
        if "activation" in attrs or op in _FUSABLE:
            attrs = {**attrs, "activation": qout.activation}
        ir = self._emit(op, inputs, qout.name, attrs, dtype="int8", quant=qout.quant, node=node.name or None)
        self.set(qout.name, ir, perm)
        self.absorb(qout)

    def emit_passthrough(self, node: onnx.NodeProto, op: str, inputs: list[str], attrs: dict[str, Any],
                         perm: Perm, qout: _QOut | None) -> None:
        """Ops that move int8 values without arithmetic keep the input's parameters; a
        different output quantization becomes an explicit int8 rescale."""
        if qout is None:
            self.emit_out(node, op, inputs, attrs, perm, None)
            return
        src = self.g.tensors[inputs[0]]
        if src.quant == qout.quant:
            self.emit_out(node, op, inputs, attrs, perm, qout)
            return
        mid = self._emit(op, inputs, node.output[0], attrs, dtype="int8", quant=src.quant,
                         node=node.name or None)
        ir = self._emit("quantize", [mid], qout.name, dtype="int8", quant=qout.quant)
        self.set(qout.name, ir, perm)
        self.absorb(qout)


# --------------------------------------------------------------------------------------
# Converters: one per ONNX op type. Each reads ONNX inputs through the importer and emits
# IR nodes; ``qout`` is set when the node is emitted as an int8 op of a QDQ group.

Converter = Callable[[_Importer, onnx.NodeProto, "_QOut | None"], None]
_CONVERTERS: dict[str, Converter] = {}


def _converter(*ops: str) -> Callable[[Converter], Converter]:
    def deco(fn: Converter) -> Converter:
        for op in ops:
            _CONVERTERS[op] = fn
        return fn
    return deco


def _need_rank(im: _Importer, node: onnx.NodeProto, name: str, rank: int, what: str) -> None:
    r = len(im.shape(name))
    if r != rank:
        raise UnsupportedOpError(node.op_type, detail=f"{what} (input rank {r}, tte supports {rank})")


def _nhwc_input(im: _Importer, node: onnx.NodeProto, qout: _QOut | None) -> str:
    _need_rank(im, node, node.input[0], 4, f"{len(im.shape(node.input[0])) - 2}-D spatial data")
    return im.in_layout(im.act_input(node.input[0], qout), NCHW_FROM_NHWC)


def _conv_weights(im: _Importer, node: onnx.NodeProto, qout: _QOut | None,
                  x_ir: str) -> tuple[str, str]:
    """IR weight [Cout,kh,kw,Cin/g] and bias names (int8 / int32 in an int8 group)."""
    w = im.const(node, 1, "weight")
    assert w is not None
    b = im.const(node, 2, "bias")
    w_ir = np.transpose(w, (0, 2, 3, 1))
    if qout is None:
        wn = im._const_tensor(node.input[1], w_ir, "float32")
        bn = im._const_tensor(node.input[2], b, "float32") if b is not None else ""
        return wn, bn
    qc = im.qconsts[node.input[1]]
    return _int8_weights(im, node, qc, np.transpose(qc.q, (0, 2, 3, 1)), b, x_ir, per_channel=True)


def _int8_weights(im: _Importer, node: onnx.NodeProto, qc: _QConst, w_ir: np.ndarray,
                  b: np.ndarray | None, x_ir: str, *, per_channel: bool) -> tuple[str, str]:
    if w_ir.dtype != np.int8 or np.any(qc.zero_point != 0):
        raise UnsupportedOpError(node.op_type,
                                 detail="int8 QDQ weights must be int8 symmetric (zero point 0)")
    cout = w_ir.shape[0]
    scale = qc.scale.astype(np.float32)
    if per_channel or scale.size > 1:
        scale = np.broadcast_to(scale, (cout,)).copy()
        wq = QuantParams(scale, np.zeros(cout), axis=0)
    else:
        wq = QuantParams(scale.reshape(1), np.zeros(1))
    wn = im._const_tensor(qc.source or node.input[1], w_ir, "int8", wq)
    if b is None:
        return wn, ""
    x_q = im.g.tensors[x_ir].quant
    assert x_q is not None
    bias_scale = (np.float64(x_q.scale[0]) * scale.astype(np.float64))
    bq = im.qconsts.get(node.input[2])
    if bq is not None and bq.q.dtype == np.int32 and np.allclose(bq.scale, bias_scale, rtol=1e-6):
        ints = bq.q.astype(np.int64)
    else:
        ints = np.round(b.astype(np.float64) / bias_scale)
    ints = np.clip(ints, -(2 ** 31), 2 ** 31 - 1).astype(np.int32)
    bn = im._const_tensor(bq.source if bq is not None and bq.source else node.input[2], ints, "int32",
                          QuantParams(np.broadcast_to(bias_scale, ints.shape).astype(np.float32),
                                      np.zeros(ints.shape), axis=0 if ints.size > 1 else None))
    return wn, bn


@_converter("Conv")
def _conv(im: _Importer, node: onnx.NodeProto, qout: _QOut | None) -> None:
    x = _nhwc_input(im, node, qout)
    w = im.const(node, 1, "weight")
    assert w is not None
    if w.ndim != 4:
        raise UnsupportedOpError(node.op_type, detail=f"{w.ndim - 2}-D convolution")
    a = _attrs(node)
    k = (int(w.shape[2]), int(w.shape[3]))
    s = _ints(a.get("strides", (1, 1)))
    d = _ints(a.get("dilations", (1, 1)))
    _, _, h, wd = im.shape(node.input[0])
    pads = _spatial_pads(node, a, (h, wd), k, (s[0], s[1]), (d[0], d[1]))
    wn, bn = _conv_weights(im, node, qout, x)
    attrs = {"strides": s, "dilations": d, "pads": pads, "groups": int(a.get("group", 1))}
    im.emit_out(node, "conv2d", [x, wn] + ([bn] if bn else []), attrs, NCHW_FROM_NHWC, qout)


def _fc_weights(im: _Importer, node: onnx.NodeProto, w_nk: np.ndarray, bias: np.ndarray | None,
                qout: _QOut | None, x_ir: str, trans_b: bool) -> tuple[str, str]:
    if qout is None:
        wn = im._const_tensor(node.input[1], w_nk, "float32")
        bn = im._const_tensor(node.input[2] if len(node.input) > 2 else f"{node.input[1]}_bias",
                              bias, "float32") if bias is not None else ""
        return wn, bn
    qc = im.qconsts[node.input[1]]
    q = qc.q if trans_b else qc.q.T
    return _int8_weights(im, node, qc, np.ascontiguousarray(q), bias, x_ir, per_channel=False)


def _gemm_bias(c: np.ndarray | None, n: int) -> np.ndarray | None:
    """C as a per-output vector when it broadcasts like one, else None."""
    if c is None:
        return None
    if c.size == 1:
        return np.full(n, float(c.reshape(())), np.float32)
    if c.shape in ((n,), (1, n)):
        return c.reshape(n).astype(np.float32)
    return None


@_converter("Gemm")
def _gemm(im: _Importer, node: onnx.NodeProto, qout: _QOut | None) -> None:
    a = _attrs(node)
    alpha, beta = float(a.get("alpha", 1.0)), float(a.get("beta", 1.0))
    trans_a, trans_b = int(a.get("transA", 0)), int(a.get("transB", 0))
    x_val = im.act_input(node.input[0], qout)
    x = im.in_layout(x_val, (1, 0) if trans_a else None)
    if node.input[1] not in im.consts:
        _gemm_variable(im, node, x, alpha, beta, trans_b)
        return
    b = im.consts[node.input[1]]
    w = (b if trans_b else b.T).astype(np.float32) * np.float32(alpha)
    c = im.const(node, 2, "C")
    vec = _gemm_bias(c, w.shape[0])
    bias = None if vec is None else vec * np.float32(beta)
    wn, bn = _fc_weights(im, node, np.ascontiguousarray(w), bias, qout, x, bool(trans_b))
    if c is not None and vec is None:
        fc = im._emit("fully_connected", [x, wn], f"{node.output[0]}_fc")
        cn = im._const_tensor(node.input[2], c.astype(np.float32) * np.float32(beta))
        ir = im._emit("add", [fc, cn], node.output[0], node=node.name or None)
        im.set(node.output[0], ir)
        return
    im.emit_out(node, "fully_connected", [x, wn] + ([bn] if bn else []), {}, None, qout)


def _gemm_variable(im: _Importer, node: onnx.NodeProto, x: str, alpha: float, beta: float,
                   trans_b: int) -> None:
    bv = im.var(node.input[1])
    y = im._emit("matmul", [x, im.in_layout(bv, (1, 0) if trans_b else None)], f"{node.output[0]}_mm")
    if alpha != 1.0:
        alpha_c = im._const_tensor("alpha", np.array(alpha, np.float32))
        y = im._emit("mul", [y, alpha_c], f"{node.output[0]}_a")
    c = im.const(node, 2, "C")
    if c is not None:
        y = im._emit("add", [y, im._const_tensor(node.input[2], c * np.float32(beta))], node.output[0])
    im.set(node.output[0], y)


@_converter("MatMul")
def _matmul(im: _Importer, node: onnx.NodeProto, qout: _QOut | None) -> None:
    b = im.consts.get(node.input[1])
    if b is not None and b.ndim == 2 and len(im.shape(node.input[0])) >= 1:
        x = im.in_layout(im.act_input(node.input[0], qout), None)
        wn, _ = _fc_weights(im, node, np.ascontiguousarray(b.T.astype(np.float32)), None, qout, x, False)
        im.emit_out(node, "fully_connected", [x, wn], {}, None, qout)
        return
    xa = im.in_layout(im.var(node.input[0]), None)
    xb = im.in_layout(im.var(node.input[1]), None)
    im.emit_out(node, "matmul", [xa, xb], {}, None, None)


def _try_fuse(im: _Importer, node: onnx.NodeProto, activation: str) -> bool:
    """Fold a Relu/ReLU6 into the float conv / fully_connected / add that feeds only it."""
    src = node.input[0]
    v = im.vals.get(src)
    if v is None or v.deq or im.sole_consumer(src) is not node:
        return False
    producer = im.producer.get(v.ir)
    if producer is None or producer.op not in _FUSABLE or producer.attrs.get("activation") != "none":
        return False
    if im.g.tensors[v.ir].dtype != "float32" or im.g.consumers(v.ir) or v.ir in im.g.outputs:
        return False
    producer.attrs["activation"] = activation
    im.set(node.output[0], im.rename(v.ir, node.output[0]), v.perm)
    return True


@_converter("Relu")
def _relu(im: _Importer, node: onnx.NodeProto, qout: _QOut | None) -> None:
    if _try_fuse(im, node, "relu"):
        return
    v = im.var(node.input[0])
    im.set(node.output[0], im._emit("relu", [v.ir], node.output[0], node=node.name or None), v.perm)


def _clip_bounds(im: _Importer, node: onnx.NodeProto) -> tuple[float | None, float | None]:
    if im.opset < 11 or not node.input[1:]:
        a = _attrs(node)
        lo, hi = a.get("min"), a.get("max")
        return (None if lo is None else float(lo)), (None if hi is None else float(hi))
    lo_a, hi_a = im.const(node, 1, "min"), im.const(node, 2, "max")
    lo = None if lo_a is None else float(lo_a.reshape(()))
    return lo, (None if hi_a is None else float(hi_a.reshape(())))


@_converter("Clip")
def _clip(im: _Importer, node: onnx.NodeProto, qout: _QOut | None) -> None:
    lo, hi = _clip_bounds(im, node)
    act = {(0.0, None): "relu", (0.0, 6.0): "relu6"}.get((lo, hi))
    if act is not None and _try_fuse(im, node, act):
        return
    v = im.var(node.input[0])
    ir = im._emit("clip", [v.ir], node.output[0], {"min": lo, "max": hi}, node=node.name or None)
    im.set(node.output[0], ir, v.perm)


def _const_like(im: _Importer, name: str, c: np.ndarray, v: _Val, dtype: str,
                quant: QuantParams | None = None) -> str:
    """A source-order constant broadcast to v's rank and laid out like v."""
    r = im._rank(v)
    if c.ndim > r:
        raise UnsupportedOpError("Add/Mul", detail=f"constant of rank {c.ndim} broadcast over rank {r}")
    full = c.reshape((1,) * (r - c.ndim) + c.shape)
    return im._const_tensor(name, L.to_ir(full, v.perm), dtype, quant)


def _expand_rank(im: _Importer, v: _Val, rank: int, perm: Perm) -> str:
    """Reshape a lower-rank value to ``rank`` (leading ones) and lay it out with ``perm``."""
    src = im.in_layout(v, None)
    shape = im.g.tensors[src].shape
    t = im.g.tensors[src]
    ir = im._emit("reshape", [src], f"{src}_r", {"shape": (1,) * (rank - len(shape)) + shape},
                  dtype=t.dtype, quant=t.quant)
    return im.in_layout(_Val(ir), perm)


@_converter("Add", "Mul")
def _binary(im: _Importer, node: onnx.NodeProto, qout: _QOut | None) -> None:
    op = node.op_type.lower()
    names = list(node.input[:2])
    const_idx = [k for k, n in enumerate(names) if n in im.consts]
    if const_idx:
        k = const_idx[0]
        v = im.act_input(names[1 - k], qout)
        if qout is None:
            cn = _const_like(im, names[k], im.consts[names[k]].astype(np.float32), v, "float32")
        else:
            qc = im.qconsts[names[k]]
            cn = _const_like(im, names[k], qc.q, v, "int8", QuantParams(qc.scale, qc.zero_point))
        ins = [v.ir, cn] if k == 1 else [cn, v.ir]
        im.emit_out(node, op, ins, {}, v.perm, qout)
        return
    a, b = (im.act_input(n, qout) for n in names)
    ra, rb = im._rank(a), im._rank(b)
    if ra == rb:
        perm = a.perm
        ins = [a.ir, im.in_layout(b, perm)]
    elif ra > rb:
        perm = a.perm
        ins = [a.ir, _expand_rank(im, b, ra, perm)]
    else:
        perm = b.perm
        ins = [_expand_rank(im, a, rb, perm), b.ir]
    im.emit_out(node, op, ins, {}, perm, qout)


def _pool_geometry(im: _Importer, node: onnx.NodeProto, k: tuple[int, int]
                   ) -> tuple[tuple[int, int], tuple[int, int, int, int], bool]:
    a = _attrs(node)
    s = _ints(a.get("strides", (1, 1)))
    if any(int(d) != 1 for d in a.get("dilations", (1, 1))):
        raise UnsupportedOpError(node.op_type, detail="pooling with dilations")
    _, _, h, w = im.shape(node.input[0])
    pads = _spatial_pads(node, a, (h, w), k, (s[0], s[1]), (1, 1))
    extended = False
    if int(a.get("ceil_mode", 0)):
        pads, extended = _ceil_pads(node, (h, w), k, (s[0], s[1]), pads)
    return (s[0], s[1]), pads, extended


def _ceil_pads(node: onnx.NodeProto, hw: tuple[int, int], k: tuple[int, int], s: tuple[int, int],
               pads: tuple[int, int, int, int]) -> tuple[tuple[int, int, int, int], bool]:
    """ceil_mode as extra bottom/right padding; exact only while every window keeps at
    least one real pixel (ONNX drops windows that start inside the end padding)."""
    out = list(pads)
    extended = False
    for ax in range(2):
        p0, p1 = pads[ax], pads[ax + 2]
        span = hw[ax] + p0 + p1 - k[ax]
        n_floor = span // s[ax] + 1
        n_ceil = -(-span // s[ax]) + 1
        if (n_ceil - 1) * s[ax] >= hw[ax] + p0:
            n_ceil -= 1
        if n_ceil > n_floor:
            last_start = (n_ceil - 1) * s[ax]
            if last_start >= hw[ax] + p0:
                raise UnsupportedOpError(node.op_type, detail="ceil_mode window entirely in padding")
            out[ax + 2] = p1 + (n_ceil - 1) * s[ax] + k[ax] - (hw[ax] + p0 + p1)
            extended = True
    return (out[0], out[1], out[2], out[3]), extended


@_converter("AveragePool")
def _avgpool(im: _Importer, node: onnx.NodeProto, qout: _QOut | None) -> None:
    a = _attrs(node)
    k = _ints(a["kernel_shape"])
    if len(k) != 2:
        raise UnsupportedOpError(node.op_type, detail=f"{len(k)}-D pooling")
    x = _nhwc_input(im, node, qout)
    s, pads, extended = _pool_geometry(im, node, (k[0], k[1]))
    include = bool(int(a.get("count_include_pad", 0)))
    if extended and include:
        raise UnsupportedOpError(node.op_type, detail="ceil_mode with count_include_pad")
    attrs = {"kernel": k, "strides": s, "pads": pads, "count_include_pad": include}
    im.emit_out(node, "avgpool2d", [x], attrs, NCHW_FROM_NHWC, qout)


@_converter("GlobalAveragePool")
def _global_avgpool(im: _Importer, node: onnx.NodeProto, qout: _QOut | None) -> None:
    x = _nhwc_input(im, node, qout)
    _, _, h, w = im.shape(node.input[0])
    im.emit_out(node, "avgpool2d", [x], {"kernel": (h, w), "strides": (1, 1)}, NCHW_FROM_NHWC, qout)


@_converter("MaxPool")
def _maxpool(im: _Importer, node: onnx.NodeProto, qout: _QOut | None) -> None:
    a = _attrs(node)
    k = _ints(a["kernel_shape"])
    if len(k) != 2:
        raise UnsupportedOpError(node.op_type, detail=f"{len(k)}-D pooling")
    if len(node.output) > 1 and node.output[1]:
        raise UnsupportedOpError(node.op_type, detail="MaxPool Indices output")
    x = _nhwc_input(im, node, qout)
    s, pads, _ = _pool_geometry(im, node, (k[0], k[1]))
    im.emit_passthrough(node, "maxpool2d", [x], {"kernel": k, "strides": s, "pads": pads},
                        NCHW_FROM_NHWC, qout)


def _remove_axes(perm: Perm, rank: int, axes: set[int]) -> Perm:
    """Perm of a value after removing source axes ``axes`` (IR axes perm[a])."""
    p = L.full(perm, rank)
    kept_ir = sorted(p[a] for a in range(rank) if a not in axes)
    return L.norm(tuple(kept_ir.index(p[a]) for a in range(rank) if a not in axes))


@_converter("ReduceMean")
def _reduce_mean(im: _Importer, node: onnx.NodeProto, qout: _QOut | None) -> None:
    a = _attrs(node)
    v = im.act_input(node.input[0], qout)
    r = im._rank(v)
    axes_arr = im.const(node, 1, "axes") if im.opset >= 18 else None
    axes = _ints(axes_arr.ravel()) if axes_arr is not None else _ints(a.get("axes", ()))
    if not axes and int(a.get("noop_with_empty_axes", 0)):
        raise UnsupportedOpError(node.op_type, detail="ReduceMean with noop_with_empty_axes")
    src_axes = {ax % r for ax in axes} if axes else set(range(r))
    p = L.full(v.perm, r)
    keep = bool(int(a.get("keepdims", 1)))
    ir_axes = tuple(sorted(p[ax] for ax in src_axes))
    perm = v.perm if keep else _remove_axes(v.perm, r, src_axes)
    im.emit_out(node, "mean", [v.ir], {"axes": ir_axes, "keepdims": keep}, perm, qout)


def _reshape_to(im: _Importer, node: onnx.NodeProto, shape: tuple[int, ...], qout: _QOut | None) -> None:
    v = im.act_input(node.input[0], qout)
    src = v.ir if L.is_free(im.g.tensors[v.ir].shape, v.perm) else im.in_layout(v, None)
    im.emit_passthrough(node, "reshape", [src], {"shape": shape}, None, qout)


@_converter("Flatten")
def _flatten(im: _Importer, node: onnx.NodeProto, qout: _QOut | None) -> None:
    shape = im.shape(node.input[0])
    axis = int(_attrs(node).get("axis", 1))
    axis = axis + len(shape) if axis < 0 else axis
    _reshape_to(im, node, (math.prod(shape[:axis]), math.prod(shape[axis:])), qout)


@_converter("Reshape")
def _reshape(im: _Importer, node: onnx.NodeProto, qout: _QOut | None) -> None:
    target = im.const(node, 1, "shape")
    assert target is not None
    src = im.shape(node.input[0])
    allowzero = int(_attrs(node).get("allowzero", 0))
    dims = [int(d) for d in target.ravel()]
    if allowzero and 0 in dims:
        raise UnsupportedOpError(node.op_type, detail="Reshape to an empty tensor (allowzero)")
    dims = [src[k] if d == 0 else d for k, d in enumerate(dims)]
    if dims.count(-1) == 1:
        known = math.prod(d for d in dims if d != -1)
        dims[dims.index(-1)] = math.prod(src) // known if known else 0
    _reshape_to(im, node, tuple(dims), qout)


@_converter("Transpose")
def _transpose(im: _Importer, node: onnx.NodeProto, qout: _QOut | None) -> None:
    v = im.act_input(node.input[0], qout)
    r = im._rank(v)
    t = _ints(_attrs(node).get("perm", tuple(reversed(range(r)))))
    perm = L.compose(v.perm, t, r)
    if qout is None:
        im.set(node.output[0], v.ir, perm, deq=v.deq)
        return
    src = im.g.tensors[v.ir]
    if src.quant == qout.quant:
        im.set(qout.name, v.ir, perm)
    else:
        im.set(qout.name, im._emit("quantize", [v.ir], qout.name, dtype="int8", quant=qout.quant), perm)
    im.absorb(qout)


@_converter("Softmax")
def _softmax(im: _Importer, node: onnx.NodeProto, qout: _QOut | None) -> None:
    v = im.var(node.input[0])
    r = im._rank(v)
    axis = int(_attrs(node).get("axis", -1 if im.opset >= 13 else 1)) % r
    if im.opset >= 13 or axis == r - 1:
        ir = im._emit("softmax", [v.ir], node.output[0], {"axis": L.full(v.perm, r)[axis]},
                      node=node.name or None)
        im.set(node.output[0], ir, v.perm)
        return
    # opset < 13: softmax over the flattened trailing axes [axis:]
    shape = im.shape(node.input[0])
    flat = im._emit("reshape", [im.in_layout(v, None)], f"{node.output[0]}_2d",
                    {"shape": (math.prod(shape[:axis]), math.prod(shape[axis:]))})
    sm = im._emit("softmax", [flat], f"{node.output[0]}_sm", {"axis": 1}, node=node.name or None)
    im.set(node.output[0], im._emit("reshape", [sm], node.output[0], {"shape": shape}))


@_converter("BatchNormalization")
def _batchnorm(im: _Importer, node: onnx.NodeProto, qout: _QOut | None) -> None:
    a = _attrs(node)
    if int(a.get("training_mode", 0)) or any(o for o in node.output[1:]):
        raise UnsupportedOpError(node.op_type, detail="BatchNormalization in training mode")
    gamma, beta, mean, var = (im.const(node, k, n) for k, n in
                              ((1, "scale"), (2, "bias"), (3, "mean"), (4, "var")))
    assert gamma is not None and beta is not None and mean is not None and var is not None
    eps = np.float32(a.get("epsilon", 1e-5))
    scale = (gamma.astype(np.float32) / np.sqrt(var.astype(np.float32) + eps)).astype(np.float32)
    shift = (beta.astype(np.float32) - mean.astype(np.float32) * scale).astype(np.float32)
    if _fold_bn(im, node, scale, shift):
        return
    v = im.var(node.input[0])
    r = im._rank(v)
    bshape = (scale.size,) + (1,) * (r - 2)
    s_ir = _const_like(im, f"{node.output[0]}_scale", scale.reshape(bshape), v, "float32")
    t_ir = _const_like(im, f"{node.output[0]}_shift", shift.reshape(bshape), v, "float32")
    m = im._emit("mul", [v.ir, s_ir], f"{node.output[0]}_mul")
    im.set(node.output[0], im._emit("add", [m, t_ir], node.output[0], node=node.name or None), v.perm)


def _fold_bn(im: _Importer, node: onnx.NodeProto, scale: np.ndarray, shift: np.ndarray) -> bool:
    """Fold inference BN into the conv / fully_connected that feeds only it."""
    v = im.vals.get(node.input[0])
    if v is None or v.deq or im.sole_consumer(node.input[0]) is not node:
        return False
    prod = im.producer.get(v.ir)
    if prod is None or prod.op not in ("conv2d", "fully_connected") or prod.attrs["activation"] != "none":
        return False
    if im.g.tensors[v.ir].dtype != "float32" or im.g.consumers(v.ir) or len(im.shape(node.input[0])) < 2:
        return False
    w_name = prod.inputs[1]
    w = im.g.tensors[w_name]
    assert w.data is not None
    new_w = (w.data * scale.reshape((-1,) + (1,) * (w.data.ndim - 1))).astype(np.float32)
    b_old = im.g.tensors[prod.inputs[2]].data if len(prod.inputs) > 2 and prod.inputs[2] else None
    new_b = (shift if b_old is None else b_old * scale + shift).astype(np.float32)
    prod.inputs[1] = _replace_const(im, prod, w_name, new_w)
    if b_old is not None:
        prod.inputs[2] = _replace_const(im, prod, prod.inputs[2], new_b)
    else:
        prod.inputs.append(im._const_tensor(node.input[2], new_b, "float32"))
    im.set(node.output[0], im.rename(v.ir, node.output[0]), v.perm)
    return True


def _replace_const(im: _Importer, owner: Node, name: str, data: np.ndarray) -> str:
    """New data for a constant, in place (keeping its name) unless another node reads it."""
    if all(n is owner for n in im.g.consumers(name)):
        im.g.tensors[name].data = data.astype(im.g.tensors[name].dtype)
        return name
    return im._const_tensor(name, data, im.g.tensors[name].dtype)


@_converter("Pad")
def _pad(im: _Importer, node: onnx.NodeProto, qout: _QOut | None) -> None:
    a = _attrs(node)
    mode = a.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    if mode != "constant":
        raise UnsupportedOpError(node.op_type, detail=f"Pad mode '{mode}'")
    v = im.act_input(node.input[0], qout)
    r = im._rank(v)
    pads_a = im.const(node, 1, "pads")
    pads = _ints(pads_a.ravel()) if pads_a is not None else _ints(a.get("pads", ()))
    value_a = im.const(node, 2, "constant_value")
    value = float(value_a.reshape(())) if value_a is not None else float(a.get("value", 0.0))
    axes_a = im.const(node, 3, "axes")
    axes = [ax % r for ax in _ints(axes_a.ravel())] if axes_a is not None else list(range(r))
    if len(pads) != 2 * len(axes):
        raise TteError(f"Pad: {len(pads)} pads for {len(axes)} axes")
    per_src = [(0, 0)] * r
    for k, ax in enumerate(axes):
        per_src[ax] = (pads[k], pads[k + len(axes)])
    p = L.full(v.perm, r)
    per_ir = [(0, 0)] * r
    for ax in range(r):
        per_ir[p[ax]] = per_src[ax]
    if qout is not None and value != 0.0:
        qout = None  # the int8 pad fills with the zero point only
        v = im.var(node.input[0])
    im.emit_passthrough(node, "pad", [v.ir], {"pads": tuple(per_ir), "value": value}, v.perm, qout)


@_converter("Identity", "Dropout")
def _identity(im: _Importer, node: onnx.NodeProto, qout: _QOut | None) -> None:
    if node.op_type == "Dropout":
        if len(node.output) > 1 and node.output[1] and im.uses[node.output[1]] + (
                node.output[1] in im.graph_outputs):
            raise UnsupportedOpError(node.op_type, detail="Dropout mask output")
        train = im.const(node, 2, "training_mode")
        if train is not None and bool(train.reshape(())):
            raise UnsupportedOpError(node.op_type, detail="Dropout in training mode")
    v = im.var(node.input[0], float_view=False)
    im.set(node.output[0], v.ir, v.perm, deq=v.deq)


# ---- quantized ops ------------------------------------------------------------------


def _act_quant(im: _Importer, node: onnx.NodeProto, s_idx: int, z_idx: int) -> QuantParams:
    scale = im.const(node, s_idx, "scale")
    zp = im.const(node, z_idx, "zero point")
    assert scale is not None
    if zp is not None and zp.dtype != np.int8:
        raise UnsupportedOpError(f"{zp.dtype} QDQ", detail=f"{node.op_type} with {zp.dtype} zero point; "
                                 "tte supports int8 activations only")
    if zp is None and node.op_type == "QuantizeLinear" and \
            int(_attrs(node).get("output_dtype", 0)) != onnx.TensorProto.INT8:
        raise UnsupportedOpError("uint8 QDQ", detail="QuantizeLinear without an int8 zero point")
    if scale.size != 1:
        raise UnsupportedOpError(node.op_type, detail="per-channel quantization of activations")
    return QuantParams(scale.reshape(1), np.zeros(1) if zp is None else zp.reshape(1).astype(np.int64))


def _int8_value(im: _Importer, name: str, quant: QuantParams, node: onnx.NodeProto) -> _Val:
    """An int8 variable, adopting ``quant`` when it has none yet (an int8 graph input)."""
    v = im.var(name, float_view=False)
    t = im.g.tensors[v.ir]
    if t.dtype != "int8":
        raise UnsupportedOpError(f"{t.dtype} QDQ", detail=f"{node.op_type} of a {t.dtype} tensor")
    if t.quant is None:
        t.quant = quant
    elif t.quant != quant:
        raise UnsupportedOpError(node.op_type, detail=f"quantization of '{name}' differs from the "
                                 "parameters its producer wrote")
    return v


@_converter("QuantizeLinear")
def _quantize(im: _Importer, node: onnx.NodeProto, qout: _QOut | None) -> None:
    if int(_attrs(node).get("block_size", 0)):
        raise UnsupportedOpError(node.op_type, detail="blocked quantization")
    quant = _act_quant(im, node, 1, 2)
    v = im.var(node.input[0], float_view=False)
    if v.deq and im.g.tensors[v.ir].quant == quant:
        im.set(node.output[0], v.ir, v.perm)
        return
    ir = im._emit("quantize", [v.ir], node.output[0], dtype="int8", quant=quant, node=node.name or None)
    im.set(node.output[0], ir, v.perm)


@_converter("DequantizeLinear")
def _dequantize(im: _Importer, node: onnx.NodeProto, qout: _QOut | None) -> None:
    if int(_attrs(node).get("block_size", 0)):
        raise UnsupportedOpError(node.op_type, detail="blocked quantization")
    quant = _act_quant(im, node, 1, 2)
    v = _int8_value(im, node.input[0], quant, node)
    im.set(node.output[0], v.ir, v.perm, deq=True)


def _qlinear_out(im: _Importer, node: onnx.NodeProto, s_idx: int, z_idx: int) -> _QOut:
    return _QOut(node.output[0], _act_quant(im, node, s_idx, z_idx), "none", [])


def _qlinear_weight(im: _Importer, node: onnx.NodeProto, idx: int) -> None:
    """Expose a QLinear op's integer weight as a dequantized constant with parameters."""
    w = im.const(node, idx, "weight")
    scale, zp = im.const(node, idx + 1, "weight scale"), im.const(node, idx + 2, "weight zero point")
    assert w is not None and scale is not None
    if w.dtype != np.int8:
        raise UnsupportedOpError(f"{w.dtype} QDQ", detail=f"{node.op_type} with {w.dtype} weights")
    zp_a = np.zeros(scale.size, np.int64) if zp is None else np.asarray(zp, np.int64).ravel()
    axis = 0 if scale.size > 1 else None
    im.qconsts[node.input[idx]] = _QConst(w, np.asarray(scale, np.float32).ravel(), zp_a, axis,
                                          node.input[idx])


@_converter("QLinearConv")
def _qlinear_conv(im: _Importer, node: onnx.NodeProto, qout: _QOut | None) -> None:
    x_q = _act_quant(im, node, 1, 2)
    v = _int8_value(im, node.input[0], x_q, node)
    _qlinear_weight(im, node, 3)
    if len(node.input) > 8 and node.input[8]:
        b = im.const(node, 8, "bias")
        assert b is not None
        b_scale = x_q.scale[0] * im.qconsts[node.input[3]].scale
        im.qconsts[node.input[8]] = _QConst(b, np.broadcast_to(b_scale, b.shape).astype(np.float64),
                                            np.zeros(b.shape, np.int64), 0, node.input[8])
    # reorder to Conv's (x, w, b) and reuse the Conv converter on the int8 value
    conv = onnx.NodeProto()
    conv.CopyFrom(node)
    del conv.input[:]
    conv.input.extend([node.input[0], node.input[3], node.input[8] if len(node.input) > 8 else ""])
    im.vals[node.input[0]] = _Val(v.ir, v.perm, deq=True)
    try:
        _conv(im, conv, _qlinear_out(im, node, 6, 7))
    finally:
        im.vals[node.input[0]] = v


@_converter("QLinearMatMul")
def _qlinear_matmul(im: _Importer, node: onnx.NodeProto, qout: _QOut | None) -> None:
    a_q = _act_quant(im, node, 1, 2)
    v = _int8_value(im, node.input[0], a_q, node)
    b = im.const(node, 3, "B")
    assert b is not None
    if b.ndim != 2:
        raise UnsupportedOpError(node.op_type, detail="QLinearMatMul with a batched B")
    _qlinear_weight(im, node, 3)
    qc = im.qconsts[node.input[3]]
    if qc.axis is not None:
        qc.axis = 1
    mm = onnx.NodeProto()
    mm.CopyFrom(node)
    del mm.input[:]
    mm.input.extend([node.input[0], node.input[3]])
    im.vals[node.input[0]] = _Val(v.ir, v.perm, deq=True)
    try:
        _matmul(im, mm, _qlinear_out(im, node, 6, 7))
    finally:
        im.vals[node.input[0]] = v
