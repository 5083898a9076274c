"""The generated model's run-time helpers beside the step itself (tte.compiler.codegen calls
``add_runtime_api`` on the finished lines):

    void tte_quantize_input(const float *x, tte_input_t *out);
        a float sample in the source model's layout (ONNX: NCHW) -> the step's input in IR
        layout (NHWC): int8 by TTE_INPUT_SCALE / TTE_INPUT_ZERO_POINT exactly as TFLite's
        QUANTIZE (x / scale in float32, rounded half away from zero, plus the zero point,
        saturated); for a float-input model (TTE_INPUT_FLOAT) only reordered, as the step
        quantizes itself. ``out`` may be tte_input_buffer().
    void tte_set_lr(float lr);   float tte_get_lr(void);
        the learning rate of every update from the next step on. It starts at the compile-time
        value as a double (TTE_DEFAULT_LR), so a model that never calls tte_set_lr trains
        exactly as before; tte_set_lr(x) trains as a model compiled with lr = (double)x.

The header also gets C++ linkage guards, so that an Arduino sketch (C++) can include it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from tte.errors import TteError
from tte.ir import Graph

if TYPE_CHECKING:
    from tte.compiler.analysis import Analysis


def model_lr(graph: Graph) -> float | None:
    """The learning rate of the training graph's updates (one for all; None without updates)."""
    lrs = [float(n.attrs["lr"]) for n in graph.nodes if "lr" in n.attrs]
    return lrs[0] if lrs else None


def add_runtime_api(a: Analysis, c: list[str], h: list[str]) -> None:
    """Add the helpers to the generated source ``c`` and header ``h`` (line lists, in place); an
    inference-only model (tte.compiler.analysis, scheme none) gets tte_quantize_input alone."""
    if a.inference_only:
        c += _quantize_input(a)
        _declare(h, None)
        return
    lr = model_lr(a.training.graph)
    lr_value = 0.0 if lr is None else lr
    if not math.isfinite(lr_value):
        raise TteError(f"codegen: learning rate {lr_value} is not finite")
    # after the file's leading #include lines (code appended later may include more)
    last_include = next(i for i, line in enumerate(c) if line.startswith("#include"))
    while last_include + 1 < len(c) and c[last_include + 1].startswith("#include"):
        last_include += 1
    c[last_include + 1:last_include + 1] = [
        "", "/* The learning rate every update reads (tte_set_lr); starts at the compile-time value. */",
        f"static double tte_lr = {float(lr_value).hex()};"]
    c += _lr_functions() + _quantize_input(a)
    _declare(h, lr_value)


def _lr_functions() -> list[str]:
    return ["void tte_set_lr(float lr)", "{", "    tte_lr = (double)lr;", "}", "",
            "float tte_get_lr(void)", "{", "    return (float)tte_lr;", "}", ""]


def _declare(h: list[str], lr: float | None) -> None:
    """The helpers' declarations; ``lr`` None: no learning rate (an inference-only model)."""
    end = max(i for i, line in enumerate(h) if line.startswith("#endif"))
    h[end:end] = [
        "#ifdef __cplusplus", "}", "#endif", ""]
    lr_lines = [] if lr is None else [
        "/* The learning rate of every update from the next step on. Without a call, the compile-time",
        "   TTE_DEFAULT_LR (a double) applies; tte_set_lr(x) trains as compiling with lr = (double)x. */",
        "void tte_set_lr(float lr);",
        "float tte_get_lr(void);"]
    h[end:end] = [
        *([] if lr is None
          else [f"#define TTE_DEFAULT_LR {float(lr).hex()} /* {lr!r}: the compile-time learning rate */"]),
        "/* Write one float sample, in the source model's layout, as the step's input `out` (IR layout,",
        "   NHWC; may be tte_input_buffer()): quantized with TTE_INPUT_SCALE and TTE_INPUT_ZERO_POINT",
        "   as TFLite's QUANTIZE does (x / scale in float, rounded half away from zero, saturated);",
        "   a float-input model (TTE_INPUT_FLOAT) is only reordered: its step quantizes. */",
        "void tte_quantize_input(const float *x, tte_input_t *out);",
        *lr_lines, ""]
    first = next(i for i, line in enumerate(h) if line.startswith("#include"))
    h[first + 1:first + 1] = ["#ifdef __cplusplus", 'extern "C" {', "#endif"]


def _quantize_input(a: Analysis) -> list[str]:
    """tte_quantize_input: one loop nest over the IR layout reading the source layout."""
    fwd = a.forward
    t = fwd.tensors[fwd.inputs[0]]
    shape = [int(d) for d in t.shape]
    perm = list(t.source_perm) if t.source_perm is not None else list(range(len(shape)))
    src_shape = [shape[p] for p in perm]
    src_strides = [int(np.prod(src_shape[k + 1:], dtype=np.int64)) for k in range(len(src_shape))]
    # IR axis perm[k] is source axis k
    stride_of_ir_axis = {perm[k]: src_strides[k] for k in range(len(perm))}
    floats = t.dtype == "float32"
    lines: list[str] = []
    if not floats:
        lines += ["/* TFLite's AffineQuantize: round(x / scale) half away from zero, in float32. */",
                  "static int8_t tte_quantize_value(float v)", "{",
                  "    float q = v / TTE_INPUT_SCALE;", "    int32_t r;",
                  "    if (q != q) {", "        return (int8_t)TTE_INPUT_ZERO_POINT;", "    }",
                  "    /* far outside the int8 range every value saturates: keeps the conversion defined */",
                  "    q = q > 1024.0f ? 1024.0f : (q < -1024.0f ? -1024.0f : q);",
                  "    r = (int32_t)q;   /* toward zero; q - r is exact */",
                  "    if (q - (float)r >= 0.5f) {", "        r += 1;",
                  "    } else if (q - (float)r <= -0.5f) {", "        r -= 1;", "    }",
                  "    r += TTE_INPUT_ZERO_POINT;",
                  "    return (int8_t)(r > 127 ? 127 : (r < -128 ? -128 : r));", "}", ""]
    lines += ["void tte_quantize_input(const float *x, tte_input_t *out)", "{",
              "    uint32_t o = 0;"]
    idx = [f"i{k}" for k in range(len(shape))]
    if idx:
        lines.append(f"    uint32_t {', '.join(idx)};")
    indent = "    "
    for k, d in enumerate(shape):
        lines.append(f"{indent}for ({idx[k]} = 0; {idx[k]} < {d}u; {idx[k]}++) {{")
        indent += "    "
    offset = " + ".join(f"{idx[k]} * {stride_of_ir_axis[k]}u" for k in range(len(shape))) or "0"
    value = f"x[{offset}]"
    lines.append(f"{indent}out[o++] = {value if floats else f'tte_quantize_value({value})'};")
    for _ in shape:
        indent = indent[:-4]
        lines.append(f"{indent}}}")
    lines += ["}", ""]
    return lines
