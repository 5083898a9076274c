"""The generated model's run-time helpers: tte_quantize_input against LiteRT's QUANTIZE (reference
kernels) with the layout change done by numpy, and tte_set_lr against a model compiled with
that learning rate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from tflite_oracles import run_litert

import tte
from tte.compiler.analysis import analyze
from tte.compiler.codegen import generate
from tte.ir import Graph, QuantParams, Tensor
from tte.targets import cbuild

SHAPE = (1, 3, 5, 6)    # NCHW: three channels and H != W, so a wrong layout cannot pass
CDEF = """
typedef int8_t tte_input_t;
void tte_init(void);
tte_input_t *tte_input_buffer(void);
float tte_train_step(const tte_input_t *in, int32_t label);
uint32_t tte_trainable_crc32(void);
void tte_get_weights(uint8_t *dst);
void tte_set_weights(const uint8_t *src);
void tte_quantize_input(const float *x, tte_input_t *out);
void tte_set_lr(float lr);
float tte_get_lr(void);
"""


def _rgb_model() -> onnx.ModelProto:
    rng = np.random.default_rng(0)

    def init(name: str, a: np.ndarray) -> onnx.TensorProto:
        return numpy_helper.from_array(np.asarray(a, np.float32), name)

    inits = [init("conv.weight", rng.normal(0, 0.4, (4, 3, 3, 3))), init("conv.bias", rng.normal(0, 0.1, 4)),
             init("fc.weight", rng.normal(0, 0.2, (3, 4 * 5 * 6))), init("fc.bias", rng.normal(0, 0.1, 3))]
    nodes = [helper.make_node("Conv", ["x", "conv.weight", "conv.bias"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]), helper.make_node("Flatten", ["r"], ["f"]),
             helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["y"], transB=1)]
    g = helper.make_graph(nodes, "rgb", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(SHAPE))],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


@pytest.fixture(scope="module")
def quantized() -> tte.Graph:
    calib = np.random.default_rng(1).uniform(-1, 1, (16, *SHAPE[1:])).astype(np.float32)
    return tte.quantize(tte.load(_rgb_model().SerializeToString()), calibration=calib)


def _build(q: tte.Graph, out: Path, lr: float):  # type: ignore[no-untyped-def]
    """The generated C of ``q`` (compiled with ``lr``) as a host library."""
    a = analyze(q, board="stm32f746g-disco", scheme="last-k:2", lr=lr)
    out.mkdir()
    for fname, text in generate(a, "rgb").items():
        (out / fname).write_text(text)
    return cbuild.load([out / "rgb.c"], extra_cdef=CDEF, include_dirs=[out], name=f"rt_{out.name}")


def _quantize_oracle(x_nhwc: np.ndarray, scale: np.float32, zp: int, tmp: Path) -> np.ndarray:
    """LiteRT running one QUANTIZE op (float32 NHWC -> int8) with the model's input parameters."""
    g = Graph("quantize")
    g.add_tensor(Tensor("x", x_nhwc.shape, "float32"))
    g.add_tensor(Tensor("y", x_nhwc.shape, "int8",
                        quant=QuantParams(np.array([scale], np.float32), np.array([zp], np.int32))))
    g.add_node("quantize", ["x"], ["y"])
    g.inputs, g.outputs = ["x"], ["y"]
    tte.export(g, str(tmp / "quantize.tflite"))
    return run_litert((tmp / "quantize.tflite").read_bytes(), [x_nhwc])["y"]


def test_quantize_input_is_litert_quantize_in_ir_layout(quantized: tte.Graph, tmp_path: Path) -> None:
    ffi, lib = _build(quantized, tmp_path / "m", 0.05)
    t = quantized.tensors[quantized.inputs[0]]
    assert t.dtype == "int8" and t.quant is not None
    scale, zp = np.float32(t.quant.scale[0]), int(t.quant.zero_point[0])
    rng = np.random.default_rng(2)
    n = int(np.prod(SHAPE))
    # ordinary values, exact halfway points of the scale grid (the rounding rule shows there),
    # and values that saturate on both sides
    k = rng.integers(-140, 140, n).astype(np.float32)
    x = np.where(rng.random(n) < 0.5, (k + np.float32(0.5)) * scale, rng.normal(0, 1.5, n).astype(np.float32) * 0.5)
    x[:4] = [1e6, -1e6, 200 * scale, -200 * scale]
    x = x.astype(np.float32).reshape(SHAPE)
    out = ffi.new("int8_t[]", n)
    lib.tte_quantize_input(ffi.cast("const float *", ffi.from_buffer(x)), out)
    got = np.frombuffer(ffi.buffer(out), np.int8).reshape(1, 5, 6, 3)
    want = _quantize_oracle(np.ascontiguousarray(np.transpose(x, (0, 2, 3, 1))), scale, zp, tmp_path)
    np.testing.assert_array_equal(got, want)
    # the data tell the rounding rules apart: exact halves, where half-to-even would differ
    q = x.reshape(-1) / scale
    halves = np.abs(q - np.trunc(q)) == np.float32(0.5)
    to_even = np.clip(np.round(q) + zp, -128, 127)
    assert halves.sum() >= 10 and np.any(to_even != np.transpose(got, (0, 3, 1, 2)).reshape(-1))


def _train(ffi, lib, xs: np.ndarray, ys: np.ndarray, lr: float | None) -> int:  # type: ignore[no-untyped-def]
    lib.tte_init()
    if lr is not None:
        lib.tte_set_lr(lr)
    for x, y in zip(xs, ys):
        lib.tte_quantize_input(ffi.cast("const float *", ffi.from_buffer(x)), lib.tte_input_buffer())
        lib.tte_train_step(ffi.NULL, int(y))
    return int(lib.tte_trainable_crc32())


def test_set_lr_trains_as_the_model_compiled_with_that_lr(quantized: tte.Graph, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    xs = rng.uniform(-1, 1, (6, *SHAPE[1:])).astype(np.float32)
    ys = rng.integers(0, 3, 6)
    ffi, lib = _build(quantized, tmp_path / "a", 0.05)
    ffi_b, lib_b = _build(quantized, tmp_path / "b", 0.125)
    assert ffi.unpack(ffi.new("float *", lib.tte_get_lr()), 1)[0] == np.float32(0.05)
    initial = ffi.new("uint8_t[]", 1 << 16)     # more than the model's TTE_TRAINABLE_BYTES
    lib.tte_get_weights(initial)
    untrained = int(lib.tte_trainable_crc32())
    default = _train(ffi, lib, xs, ys, None)
    lib.tte_set_weights(initial)
    assert int(lib.tte_trainable_crc32()) == untrained
    changed = _train(ffi, lib, xs, ys, 0.125)          # 0.125 is exact in float and double
    compiled = _train(ffi_b, lib_b, xs, ys, None)
    assert changed == compiled != default != untrained
    assert lib.tte_get_lr() == 0.125


def test_quantize_input_of_a_float_input_model_only_reorders(tmp_path: Path) -> None:
    """A model that takes floats (onnxruntime's QDQ: QuantizeLinear first) quantizes in its step:
    tte_quantize_input only puts the NCHW sample into NHWC (numpy's transpose is the oracle)."""
    from test_onnx_import import ort_static_qdq

    rng = np.random.default_rng(4)
    calib = [{"x": rng.uniform(-1, 1, SHAPE).astype(np.float32)} for _ in range(8)]
    g = tte.load(ort_static_qdq(_rgb_model().SerializeToString(), calib, tmp_path))
    assert g.tensors[g.inputs[0]].dtype == "float32"
    a = analyze(g, board="stm32f746g-disco", scheme="last-k:2")
    out = tmp_path / "f"
    out.mkdir()
    for fname, text in generate(a, "rgbf").items():
        (out / fname).write_text(text)
    assert "#define TTE_INPUT_FLOAT 1" in (out / "rgbf.h").read_text()
    ffi, lib = cbuild.load([out / "rgbf.c"], extra_cdef="typedef float tte_input_t;\n"
                           "void tte_quantize_input(const float *x, tte_input_t *out);", include_dirs=[out],
                           name="rt_float")
    x = rng.normal(0, 1, SHAPE).astype(np.float32)
    got = ffi.new("float[]", x.size)
    lib.tte_quantize_input(ffi.cast("const float *", ffi.from_buffer(x)), got)
    np.testing.assert_array_equal(np.frombuffer(ffi.buffer(got), np.float32).reshape(1, 5, 6, 3),
                                  np.transpose(x, (0, 2, 3, 1)))
