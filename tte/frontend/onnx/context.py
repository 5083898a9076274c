"""The import context: the state of one ONNX import and the helpers every converter uses.

Converters receive it as their first argument; they import this module, never the
importer that drives them.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import numpy as np
import onnx

from tte.errors import UnsupportedOpError
from tte.frontend import layout as L
from tte.frontend.layout import Perm
from tte.frontend.onnx.model import opset_version
from tte.frontend.onnx.values import _QConst, _QOut, _Val
from tte.ir import Graph, Node, QuantParams

# IR ops that take a fused activation
FUSABLE = ("conv2d", "fully_connected", "add")


class ImportContext:
    """The state of one ONNX import, passed to every converter: where each ONNX value lives
    (its IR tensor and layout), the constants, and the helpers that emit IR nodes."""

    def __init__(self, model: onnx.ModelProto, label: str, name: str | None) -> None:
        self.model = model
        self.label = label
        self.g = Graph(name or model.graph.name or os.path.splitext(os.path.basename(label))[0] or "onnx")
        self.opset = opset_version(model)
        self.vals: dict[str, _Val] = {}
        self.consts: dict[str, np.ndarray] = {}
        self.qconsts: dict[str, _QConst] = {}
        self.producer: dict[str, Node] = {}           # IR tensor -> IR node writing it
        self.uses: Counter[str] = Counter(i for n in model.graph.node for i in n.input if i)
        self.graph_outputs = {o.name for o in model.graph.output}
        self.absorbed: set[int] = set()               # ids of nodes folded into a neighbour
        self.notes: list[str] = []                    # what the import changed (graph.meta["notes"])
        self._cache: dict[tuple[Any, ...], str] = {}
        self._consumers: dict[str, list[onnx.NodeProto]] = {}
        for n in model.graph.node:
            for i in n.input:
                if i:
                    self._consumers.setdefault(i, []).append(n)

    # ---- values --------------------------------------------------------------------
    def rank(self, v: _Val) -> int:
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
            self.vals[name] = _Val(self.const_tensor(name, self.consts[name]))
        v = self.vals[name]
        if v.deq and float_view:
            return _Val(self.dequantized(v, name), v.perm)
        return v

    def const_tensor(self, base: str, data: np.ndarray, dtype: str | None = None,
                      quant: QuantParams | None = None) -> str:
        arr = np.asarray(data)
        if dtype is None:
            dtype = "float32" if arr.dtype.kind == "f" else str(arr.dtype)
        name = self.g.unique_name(base or "const")
        self.g.add_const(name, arr.astype(dtype), dtype, quant)
        return name

    def dequantized(self, v: _Val, name: str) -> str:
        key = ("deq", v.ir)
        if key not in self._cache:
            self._cache[key] = self.emit("dequantize", [v.ir], name, dtype="float32")
        return self._cache[key]

    def in_layout(self, v: _Val, perm: Perm) -> str:
        """IR tensor holding v's value laid out with ``perm`` (a cached transpose if needed)."""
        perm = L.norm(perm)
        if v.perm == perm:
            return v.ir
        key = ("t", v.ir, perm)
        if key not in self._cache:
            q = L.convert(v.perm, perm, self.rank(v))
            t = self.g.tensors[v.ir]
            self._cache[key] = self.emit("transpose", [v.ir], f"{v.ir}_t", {"perm": q},
                                          dtype=t.dtype, quant=t.quant)
        return self._cache[key]

    def emit(self, op: str, inputs: list[str], out: str, attrs: dict[str, Any] | None = None, *,
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

    def int_const(self, name: str) -> bool:
        return name in self.consts and self.consts[name].dtype.kind in "iu"

    # ---- emission (float, or int8 inside a QDQ group) --------------------------------
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
            ir = self.emit(op, inputs, node.output[0], attrs, node=node.name or None)
            self.set(node.output[0], ir, perm)
            return
        if "activation" in attrs or op in FUSABLE:
            attrs = {**attrs, "activation": qout.activation}
        ir = self.emit(op, inputs, qout.name, attrs, dtype="int8", quant=qout.quant, node=node.name or None)
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
        mid = self.emit(op, inputs, node.output[0], attrs, dtype="int8", quant=src.quant,
                         node=node.name or None)
        ir = self.emit("quantize", [mid], qout.name, dtype="int8", quant=qout.quant)
        self.set(qout.name, ir, perm)
        self.absorb(qout)
