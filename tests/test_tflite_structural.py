"""TFLite CONCATENATION, SPLIT, SPLIT_V, SLICE, STRIDED_SLICE, SQUEEZE, EXPAND_DIMS and PACK
import and run bit-exact with LiteRT and tflite-micro; Keras' Flatten shape arithmetic
(SHAPE -> STRIDED_SLICE -> PACK) folds at import; stateful models are refused."""

from __future__ import annotations

import numpy as np
import pytest
import tflite
from tflite_oracles import run_litert, run_tflm

from tte.errors import UnsupportedOpError
from tte.export.tflite import _empty, _Lowering, _table, _TfTensor, serialize
from tte.frontend.tflite import load_tflite
from tte.ir import Graph, QuantParams
from tte.reference import execute

OP, OPT, TT = tflite.BuiltinOperator, tflite.BuiltinOptions, tflite.TensorType
Q = QuantParams(np.float32(0.05), 3)


class Model:
    """A TFLite model written operator by operator with tte's serializer."""

    def __init__(self) -> None:
        self.low = _Lowering(Graph("m"))

    def act(self, name: str, shape: tuple[int, ...], ttype: int = TT.INT8) -> int:
        return self.low._append(_TfTensor(name, shape, ttype, None, Q if ttype == TT.INT8 else None))

    def const(self, name: str, values: list[int] | np.ndarray) -> int:
        return self.low.const(name, np.asarray(values, np.int32))

    def scalar(self, name: str, value: int) -> int:
        return self.low._append(_TfTensor(name, (), TT.INT32, np.int32(value).tobytes()))

    def op(self, code: int, ins: list[int], outs: list[int], table: str | None = None, **fields: int) -> None:
        opts = None if table is None else (_table(table, **fields) if fields else _empty(table))
        self.low.op(code, ins, outs, getattr(OPT, table) if table else 0, opts)

    def bytes(self, inputs: list[str], outputs: list[str]) -> bytes:
        self.low.graph.inputs, self.low.graph.outputs = inputs, outputs
        return serialize(self.low)


def check(data: bytes, shapes: dict[str, tuple[int, ...]], *, tflm: bool = True) -> None:
    rng = np.random.default_rng(0)
    g = load_tflite(data)
    feeds = {n: rng.integers(-128, 128, shapes[n]).astype(np.int8) for n in g.inputs}
    ref = execute(g, feeds)
    lit = run_litert(data, feeds)
    for name in g.outputs:
        np.testing.assert_array_equal(ref[name], lit[name], err_msg=f"LiteRT {name}")
    if tflm:
        for name, got in zip(g.outputs, run_tflm(data, [feeds[n] for n in g.inputs])):
            np.testing.assert_array_equal(ref[name], got, err_msg=f"tflite-micro {name}")


def test_keras_flatten_shape_arithmetic_folds() -> None:
    m = Model()
    x = m.act("x", (1, 4, 4, 3))
    shape = m.act("shape", (4,), TT.INT32)
    batch = m.act("batch", (), TT.INT32)
    target = m.act("target", (2,), TT.INT32)
    y = m.act("y", (1, 48))
    m.op(OP.SHAPE, [x], [shape], "ShapeOptions", OutType=TT.INT32)
    m.op(OP.STRIDED_SLICE, [shape, m.const("b", [0]), m.const("e", [1]), m.const("s", [1])], [batch],
         "StridedSliceOptions", ShrinkAxisMask=1)
    m.op(OP.PACK, [batch, m.scalar("minus1", -1)], [target], "PackOptions", ValuesCount=2, Axis=0)
    m.op(OP.RESHAPE, [x, target], [y], "ReshapeOptions")
    data = m.bytes(["x"], ["y"])
    g = load_tflite(data)
    assert [n.op for n in g.nodes] == ["reshape"]
    check(data, {"x": (1, 4, 4, 3)})


def split_concat_model() -> bytes:
    m = Model()
    x = m.act("x", (1, 5, 6, 4))
    a, b = m.act("a", (1, 5, 6, 2)), m.act("b", (1, 5, 6, 2))
    m.op(OP.SPLIT, [m.scalar("axis", 3), x], [a, b], "SplitOptions", NumSplits=2)
    cat = m.act("cat", (1, 5, 6, 6))
    m.op(OP.CONCATENATION, [b, a, b], [cat], "ConcatenationOptions", Axis=3)
    ss = m.act("ss", (1, 3, 5))
    # begin mask on axis 2, end mask on axis 3, negative begin, stride 2, shrink axis 1
    m.op(OP.STRIDED_SLICE, [cat, m.const("sb", [0, -3, 9, 1]), m.const("se", [1, 0, -1, 0]),
                            m.const("st", [1, 1, 2, 1])], [ss], "StridedSliceOptions",
         BeginMask=4, EndMask=8, ShrinkAxisMask=2)
    sq = m.act("sq", (3, 5))
    m.op(OP.SQUEEZE, [ss], [sq], "SqueezeOptions")
    return m.bytes(["x"], ["cat", "sq"])


def test_split_concat_strided_slice_squeeze() -> None:
    data = split_concat_model()
    g = load_tflite(data)
    assert {"concat", "slice"} <= {n.op for n in g.nodes}
    check(data, {"x": (1, 5, 6, 4)})


def test_split_v_slice_expand_dims_pack() -> None:
    m = Model()
    x = m.act("x", (2, 7, 3))
    p, r = m.act("p", (2, 2, 3)), m.act("r", (2, 5, 3))
    m.op(OP.SPLIT_V, [x, m.const("sizes", [2, -1]), m.scalar("ax", 1)], [p, r], "SplitVOptions",
         NumSplits=2)
    sl = m.act("sl", (2, 2, 2))
    m.op(OP.SLICE, [r, m.const("begin", [0, 3, 1]), m.const("size", [-1, 2, -1])], [sl])
    e = m.act("e", (2, 2, 1, 3))
    m.op(OP.EXPAND_DIMS, [p, m.scalar("where", 2)], [e])
    pk = m.act("pk", (2, 2, 2, 3))
    m.op(OP.PACK, [p, p], [pk], "PackOptions", ValuesCount=2, Axis=1)
    data = m.bytes(["x"], ["sl", "e", "pk"])
    check(data, {"x": (2, 7, 3)})


def test_stateful_streaming_model_is_refused_with_the_reason() -> None:
    m = Model()
    m.act("x", (1, 4))
    h = m.act("h", (), TT.RESOURCE if hasattr(TT, "RESOURCE") else TT.INT32)
    m.op(OP.VAR_HANDLE, [], [h])
    y = m.act("y", (1, 4))
    m.op(OP.READ_VARIABLE, [h], [y])
    with pytest.raises(UnsupportedOpError, match="stateful streaming model") as e:
        load_tflite(m.bytes(["x"], ["y"]))
    assert e.value.ops == ["READ_VARIABLE", "VAR_HANDLE"]
