"""C code generation: one training step (and inference) of a compiled model as plain C99.

``generate(analysis, name)`` returns ``{"<name>.c": ..., "<name>.h": ...}``:

* one static arena (``tte_arena``, 8-byte aligned through a union), laid out by tte.compiler.memory;
* frozen weights as ``static const`` arrays (flash), trained parameters as initialized
  non-const arrays (SRAM), updated in place by the fused update kernels; a partially trained
  layer's weight is split (tte.compiler.split): its trained input channels in SRAM, the rest const;
* the API the firmware builds against::

      typedef int8_t tte_input_t;             the model's input and output element types:
      typedef int8_t tte_output_t;            float for float I/O around an int8 body
      void tte_init(void);
      tte_input_t *tte_input_buffer(void);    where the input lives: write it there, pass NULL
      void tte_infer(const tte_input_t *in, tte_output_t *out);
      float tte_train_step(const tte_input_t *in, int32_t label);   (softmax cross-entropy)
      float tte_train_step_regression(const tte_input_t *in, const float *target);   (mse)
      uint32_t tte_trainable_crc32(void);     CRC-32/ISO-HDLC of the trained tensors, whole, plan order
      void tte_get_weights(uint8_t *dst);     TTE_TRAINABLE_BYTES: the trained tensors whole, plan order
      void tte_set_weights(const uint8_t *src);   (a split weight's frozen channels are not set)
      void tte_get_weights_range(uint8_t *dst, uint32_t off, uint32_t n);   bytes [off, off + n)
      void tte_set_weights_range(const uint8_t *src, uint32_t off, uint32_t n);   of the above, so
          checkpoints stream through a small buffer instead of a TTE_TRAINABLE_BYTES one

  TTE_TRAINABLE_SRAM_BYTES is what the trained parameters take in SRAM.

  An inference-only compile (scheme ``none``) defines TTE_INFERENCE_ONLY and has tte_init,
  tte_input_buffer, tte_infer and tte_quantize_input only: no training step, no trained
  tensors (TTE_TRAINABLE_BYTES 0), so no CRC, weights access, checkpoints or learning rate.

  ``in`` is the input in IR layout (NHWC): NULL (or ``tte_input_buffer()``) when the
  application wrote it into the arena already (TinyEngine-style, no second input buffer),
  otherwise it is copied there first. The step overwrites the arena, input included (a
  float input is quantized in place). ``out`` receives TTE_OUTPUT_BYTES.
  TTE_INPUT_SCALE / TTE_INPUT_ZERO_POINT are the int8 input's parameters (for a float input:
  those of the QUANTIZE that reads it), TTE_OUTPUT_SCALE / TTE_OUTPUT_ZERO_POINT the int8
  output's (for a float output: those of the int8 tensor its DEQUANTIZE reads). A graph
  through tte.int8_io has int8 input and output: no float conversion on the device.

  Row-streamed input (compiled with ``input_rows``; ``#define TTE_INPUT_ROWS 1``): the input image
  is not in the arena and there is no ``tte_input_buffer()``. The first block reads the image's
  rows (TTE_INPUT_ROW_BYTES each, TTE_INPUT_HEIGHT of them) from ``in``, in place, or, with ``in``
  NULL, from the reader the application set::

      void tte_set_input_reader(void (*read_row)(void *ctx, int32_t row, tte_input_t *dst), void *ctx);

  which is asked for rows 0 .. TTE_INPUT_HEIGHT - 1 once each, in increasing order, within each
  tte_infer / tte_train_step (rows the model skips included), each written to ``dst``: the
  contract a camera delivering rows can meet. With ``in`` NULL and no reader, tte_infer writes
  nothing and tte_train_step returns -1 without a step.

How each op becomes a kernel call is the business of ``tte.compiler.emit.EMITTERS``; this
module decides where every tensor lives and hands the emitters a ``ref`` for it. The step
counter of stochastic rounding (``tte_step``) lives in the generated file. No malloc; only
``string.h`` from libc.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from tte.compiler.checkpoint import checkpoint_api, model_id
from tte.compiler.memory import ALIGN, MemoryPlan
from tte.compiler.runtime_api import add_runtime_api, model_lr
from tte.compiler.schedule import FLOAT_GRAD_OPS, ScheduledGraph
from tte.compiler.split import SplitWeight, split_weights
from tte.errors import TteError, UnsupportedOpError
from tte.ir import Graph, QuantParams
from tte.targets.cbuild import kernel_sources
from tte.targets.paths import resource_dir

if TYPE_CHECKING:
    from tte.compiler.analysis import Analysis

CSRC = resource_dir("csrc")
C_TYPES = {"int8": "int8_t", "int16": "int16_t", "int32": "int32_t", "int64": "int64_t", "uint8": "uint8_t",
           "float32": "float", "bool": "uint8_t"}


def kernel_headers() -> list[str]:
    inc = CSRC / "include" / "tte"
    if (inc / "kernels.h").is_file():
        return ["tte/kernels.h"]
    return sorted(f"tte/{p.name}" for p in inc.glob("*.h")) if inc.is_dir() else []


class _Names:
    def __init__(self) -> None:
        self.used: set[str] = set()
        self.by_tensor: dict[str, str] = {}

    def get(self, prefix: str, tensor: str) -> str:
        if tensor in self.by_tensor:
            return self.by_tensor[tensor]
        base = prefix + re.sub(r"[^0-9a-zA-Z_]", "_", tensor).strip("_")[:48]
        name, i = base, 1
        while name in self.used:
            name, i = f"{base}_{i}", i + 1
        self.used.add(name)
        self.by_tensor[tensor] = name
        return name


def _c_array(ctype: str, name: str, data: np.ndarray, const: bool) -> str:
    flat = data.reshape(-1)
    if data.dtype == np.float32:
        vals = [float(v).hex() + "f" if np.isfinite(v) else "0.0f" for v in flat.tolist()]
    else:
        vals = list(map(str, flat.astype(np.int64).tolist()))
    if data.dtype == np.int32:
        vals = ["(-2147483647 - 1)" if v == str(-(2 ** 31)) else v for v in vals]
    lines = [", ".join(vals[i:i + 24]) for i in range(0, len(vals), 24)] or ["0"]
    body = ",\n    ".join(lines)
    return f"static {'const ' if const else ''}{ctype} {name}[{max(flat.size, 1)}] = {{\n    {body}\n}};"


class _Ref:
    """emit.Ref: tensor -> C storage expression; ``split`` marks split weights
    (tensor -> ``const tte_split_s8_t *`` expression, tte.compiler.emit.split_ref); updates read
    their learning rate through ``lr_live`` (tte.compiler.emit.lr_live), which starts at ``lr_default``."""

    def __init__(self, fn: Callable[[str], str], split: dict[str, str], lr_default: float | None = None) -> None:
        self.fn = fn
        self.split = split
        self.lr_live = "&tte_lr" if lr_default is not None else None
        self.lr_default = lr_default

    def __call__(self, tensor: str) -> str:
        return self.fn(tensor)


def _storage_ctype(g: Graph, name: str) -> str:
    if name not in g.tensors and name.endswith("@scratch"):
        return "int8_t"   # kernel scratch planned by tte.compiler.memory (tte.compiler.emit.SCRATCH)
    t = g.tensors[name]
    prod = g.producer(name) if t.dtype != "float32" and t.dtype != "bool" else None
    if prod is not None and prod.op in FLOAT_GRAD_OPS:
        return "float"
    return C_TYPES[t.dtype]


def _direct_output(g: Graph, out: str) -> bool:
    """Whether the inference's last node may write the output into tte_infer's ``out`` itself (no
    copy from the arena): a DEQUANTIZE (its kernel reads only its input and writes each output
    once) producing the output, which no node reads."""
    last = g.nodes[-1] if g.nodes else None
    return (last is not None and last.op == "dequantize" and last.outputs == [out]
            and not any(out in n.inputs for n in g.nodes))


def _missing_emitters(*graphs: Graph) -> list[str]:
    from tte.compiler.emit import EMITTERS
    return sorted({n.op for g in graphs for n in g.nodes if n.op not in EMITTERS})


def _output_quant(fwd: Graph) -> QuantParams | None:
    """The int8 output's quantization: the output's, or for a float output that of the int8
    tensor its DEQUANTIZE reads (None where no DEQUANTIZE makes it)."""
    out = fwd.tensors[fwd.outputs[0]]
    if out.dtype == "int8":
        return out.quant
    d = fwd.producer(out.name)
    return fwd.tensors[d.inputs[0]].quant if d is not None and d.op == "dequantize" else None


def generate(a: Analysis, name: str) -> dict[str, str]:
    """The C source and header of a compiled model."""
    from tte.compiler.emit import EMITTERS
    from tte.compiler.emit.block import fc_replaced, pw_replaced

    sg, plan, inf, ip = a.scheduled, a.plan, a.inference, a.inference_plan
    tg = a.training
    missing = _missing_emitters(sg.graph, inf.graph)
    if missing:
        raise UnsupportedOpError(missing, detail="no C kernel emitter (tte.compiler.emit.EMITTERS) for this op")
    fwd = a.forward
    x_name = fwd.inputs[0]
    x_t = fwd.tensors[x_name]
    out_t = fwd.tensors[fwd.outputs[0]]
    logits_t = fwd.tensors[tg.logits]
    x_q = x_t.quant if x_t.dtype == "int8" else fwd.tensors[fwd.consumers(x_name)[0].outputs[0]].quant
    y_q = _output_quant(fwd)
    assert x_q is not None
    in_c, out_c = C_TYPES[x_t.dtype], C_TYPES[out_t.dtype]
    names = _Names()
    trainable = list(tg.updates)
    frozen = a.inference_only
    regression = not frozen and tg.graph.tensors[tg.label].dtype == "float32"
    arena_bytes = max(plan.arena_bytes, ip.arena_bytes, ALIGN)
    trainable_bytes = sum(fwd.tensors[p].nbytes for p in trainable)   # a checkpoint: whole tensors
    splits = split_weights(tg, (sg.graph, inf.graph))
    sram_bytes = sum(splits[p].sram_bytes if p in splits else fwd.tensors[p].nbytes for p in trainable)
    guard = f"TTE_{name.upper()}_H"
    rows = a.report.get("input_rows", False)
    # the input: the arena's tte_input_buffer(), or row by row from `in` or the reader (input_rows)
    input_api = (["#define TTE_INPUT_ROWS 1",
                  f"#define TTE_INPUT_HEIGHT {x_t.shape[1]}",
                  f"#define TTE_INPUT_ROW_BYTES {x_t.nbytes // x_t.shape[1]}",
                  "/* The input is given row by row, not kept in SRAM: `in` (the whole image, read in place) or,",
                  "   with `in` NULL, the reader set here, asked for rows 0 .. TTE_INPUT_HEIGHT - 1 once each,",
                  "   in order, in every step and inference (TTE_INPUT_ROW_BYTES to dst each). There is no",
                  "   tte_input_buffer(). With `in` NULL and no reader nothing runs (a step returns -1). */",
                  "void tte_set_input_reader(void (*read_row)(void *ctx, int32_t row, tte_input_t *dst), void *ctx);"]
                 if rows else
                 ["/* The input image lives in the arena: write TTE_INPUT_BYTES here, then pass NULL as `in`",
                  "   (any other pointer is copied here first). Each step or inference overwrites it. */",
                  "tte_input_t *tte_input_buffer(void);"])

    h = [f"/* Generated by tte: {name} ({a.report['scheme']} on {a.report['board']}). Do not edit. */",
         f"#ifndef {guard}", f"#define {guard}", "#include <stdint.h>", "",
         f"typedef {in_c} tte_input_t;", f"typedef {out_c} tte_output_t;",
         f"#define TTE_INPUT_FLOAT {int(x_t.dtype == 'float32')}",
         f"#define TTE_OUTPUT_FLOAT {int(out_t.dtype == 'float32')}",
         f"#define TTE_INPUT_BYTES {x_t.nbytes}",
         f"#define TTE_OUTPUT_BYTES {out_t.nbytes}",
         f"#define TTE_NUM_CLASSES {logits_t.shape[-1]}",
         f"#define TTE_ARENA_BYTES {arena_bytes}",
         f"#define TTE_TRAINABLE_BYTES {trainable_bytes}",
         f"#define TTE_TRAINABLE_SRAM_BYTES {sram_bytes}",
         f"#define TTE_INPUT_SCALE {float(np.float32(x_q.scale[0])).hex()}f",
         f"#define TTE_INPUT_ZERO_POINT {int(x_q.zero_point[0])}",
         *([f"#define TTE_OUTPUT_SCALE {float(np.float32(y_q.scale[0])).hex()}f",
            f"#define TTE_OUTPUT_ZERO_POINT {int(y_q.zero_point[0])}"] if y_q is not None else []),
         f"#define TTE_REGRESSION {1 if regression else 0}",
         f"#define TTE_TARGET_BYTES {tg.graph.tensors[tg.label].nbytes if regression else 0}", "",
         "void tte_init(void);",
         *input_api,
         "void tte_infer(const tte_input_t *in, tte_output_t *out);",
         *(["/* Inference only (scheme none): no training step, no trained weights. */",
            "#define TTE_INFERENCE_ONLY 1"] if frozen else [
             ("float tte_train_step_regression(const tte_input_t *in, const float *target);" if regression
              else "float tte_train_step(const tte_input_t *in, int32_t label);"),
             "uint32_t tte_trainable_crc32(void);",
             "void tte_get_weights(uint8_t *dst);",
             "void tte_set_weights(const uint8_t *src);",
             "void tte_get_weights_range(uint8_t *dst, uint32_t off, uint32_t n);",
             "void tte_set_weights_range(const uint8_t *src, uint32_t off, uint32_t n);"]),
         "", f"#endif /* {guard} */", ""]

    c = [f"/* Generated by tte: {name}. scheme {a.report['scheme']}, board {a.report['board']}.",
         f" * arena {arena_bytes} B (planner {plan.planner}), trainable {sram_bytes} B in SRAM "
         f"({trainable_bytes} B whole). Do not edit. */",
         f'#include "{name}.h"', "#include <string.h>"]
    c += [f'#include "{hdr}"' for hdr in kernel_headers()]
    c += ["", "/* One static arena, 8-byte aligned. */",
          f"static union {{ double align_; uint8_t bytes[{arena_bytes}]; }} tte_arena_u;",
          "#define tte_arena (tte_arena_u.bytes)", ""]
    if not frozen:
        c += ["/* Step counter of stochastic rounding. */", "static int32_t tte_step[1];", ""]

    consts = {k: t for k, t in fwd.tensors.items() if t.data is not None}
    c.append("/* Trained parameters: SRAM, updated in place. A split weight (tte/split.h): its trained")
    c.append("   input channels in SRAM, the frozen rest in flash. */")
    for p in trainable:
        t = consts[p]
        assert t.data is not None
        arr = names.get("tte_p_", p)
        if p not in splits:
            c.append(_c_array(C_TYPES[t.dtype], arr, t.data, const=False))
            continue
        sp = splits[p]
        upd, frz = sp.parts(t.data)
        c.append(_c_array("int8_t", f"{arr}_upd", upd, const=False))
        c.append(_c_array("int8_t", f"{arr}_frz", frz, const=True))
        for key, vals in (("sel", sp.sel), ("fidx", sp.frz), ("where", sp.where)):
            c.append(_c_array("int32_t", f"{arr}_{key}", np.asarray(vals, np.int32), const=True))
        c.append(f"static const tte_split_s8_t {arr} = {{{sp.rows}, {sp.in_c}, {len(sp.sel)}, {arr}_sel, "
                 f"{arr}_fidx, {arr}_where, {arr}_upd, {arr}_frz}};")
    c.append("")
    c.append("/* Frozen weights: flash. */")
    used = {i for g in (sg.graph, inf.graph) for n in g.nodes for i in n.inputs}
    graphs = (sg.graph, inf.graph)
    # constants only their compile-time layouts replace: not emitted, and NULL to any reference
    replaced = {k for k in consts if fc_replaced(k, graphs) or pw_replaced(k, graphs)}
    for k, t in consts.items():
        if k in tg.updates or k not in used or k in replaced:
            continue
        assert t.data is not None
        c.append(_c_array(C_TYPES[t.dtype], names.get("tte_w_", k), t.data, const=True))
    c.append("")

    split_refs = {p: f"(&{names.by_tensor[p]})" for p in splits}

    def make_ref(g: Graph, mp: MemoryPlan, extra: dict[str, str], direct: dict[str, str] | None = None) -> _Ref:
        def ref(tensor: str) -> str:
            if direct and tensor in direct:
                return direct[tensor]
            if tensor in mp.offsets:
                return f"(({_storage_ctype(g, tensor)} *)(tte_arena + {mp.offsets[tensor]}))"
            root = mp.external.get(tensor, tensor)
            if root in extra:
                return extra[root]
            if root in names.by_tensor:
                return names.by_tensor[root]
            if root in replaced:
                return "NULL"
            raise TteError(f"codegen: tensor '{tensor}' has no storage")
        return _Ref(ref, split_refs, model_lr(tg.graph))

    declared: set[str] = set()

    def body(sgr: ScheduledGraph, mp: MemoryPlan, extra: dict[str, str], prefix: str,
             direct: dict[str, str] | None = None) -> list[str]:
        ref = make_ref(sgr.graph, mp, extra, direct)
        lines: list[str] = []
        for i, node in enumerate(sgr.graph.nodes):
            em = EMITTERS[node.op](node, sgr.graph, ref, f"{prefix}{i}_")
            # a declaration both step functions make (a weight's compile-time layout) is made once
            c.extend(d for d in em.decls if d not in declared)
            declared.update(em.decls)
            lines.append(f"    /* {i}: {node.op} {node.name} */")
            lines.extend(("    " + s) if not s.startswith("    ") else s for s in em.call)
        return lines

    x_off = plan.offsets.get(x_name)
    if rows:
        x_off = None
    elif x_off is None or ip.offsets.get(x_name) != x_off:
        raise TteError("codegen: the input must be planned in the arena at one offset in both plans "
                       "(plan_memory arena_inputs)")
    out_name = fwd.outputs[0]
    # the output written straight into tte_infer's out where it can be, not copied from the arena
    direct = {out_name: f"(({out_c} *)out)"} if _direct_output(inf.graph, out_name) else {}
    # with input_rows the block reading the input takes it from INPUT_SOURCE (tte.compiler.emit.block)
    x_extra = {x_name: "((const int8_t *)in)"} if rows else {}
    infer_lines = body(inf, ip, x_extra, "tte_i", direct)
    if not frozen:
        train_extra = {tg.label: "target" if regression else "tte_label", "step": "tte_step", **x_extra}
        train_lines = body(sg, plan, train_extra, "tte_t")
        loss_ref = make_ref(sg.graph, plan, train_extra)(tg.loss)
    out_ref = make_ref(inf.graph, ip, {})(fwd.outputs[0])

    c += ["", "void tte_init(void)", "{", "    memset(tte_arena, 0, sizeof(tte_arena));",
          *([] if frozen else ["    tte_step[0] = 0;"]),
          "}", "", *(_input_rows_c() if rows else _input_buffer_c(x_off)),
          "void tte_infer(const tte_input_t *in, tte_output_t *out)", "{",
          *(["    if (!tte_load_input(in)) {", "        return;", "    }"] if rows else ["    tte_load_input(in);"]),
          *infer_lines,
          *([] if direct else [f"    memcpy(out, {out_ref}, TTE_OUTPUT_BYTES);"]), "}", ""]
    if frozen:
        add_runtime_api(a, c, h)
        return {f"{name}.c": "\n".join(c), f"{name}.h": "\n".join(h)}
    if regression:
        c += ["float tte_train_step_regression(const tte_input_t *in, const float *target)", "{"]
    else:
        c += ["float tte_train_step(const tte_input_t *in, int32_t label)", "{", "    int32_t tte_label[1];",
              "    tte_label[0] = label;"]
    load = ["    if (!tte_load_input(in)) {", "        return -1.0f;", "    }"] if rows else ["    tte_load_input(in);"]
    c += ["    float loss;", *load,
          *train_lines, f"    memcpy(&loss, {loss_ref}, sizeof(loss));",
          "    tte_step[0] += 1;", "    return loss;", "}", ""]
    # checkpoints and the CRC cover the whole tensors in plan order (tte.compiler.split)
    parts = [(names.by_tensor[p], fwd.tensors[p].nbytes, p in splits) for p in trainable]
    whole = [pt for pt in parts if not pt[2]]
    c += ["uint32_t tte_trainable_crc32(void)", "{", "    uint32_t crc = 0xFFFFFFFFu;"]
    if whole:
        c += ["    uint32_t i;", "    int k;"]
    for arr, n, split in parts:
        if split:
            c.append(f"    crc = tte_split_s8_crc32(&{arr}, crc);")
            continue
        c += [f"    for (i = 0; i < {n}u; i++) {{",
              f"        crc ^= (uint32_t)((const uint8_t *){arr})[i];",
              "        for (k = 0; k < 8; k++) {",
              "            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));",
              "        }", "    }"]
    c += ["    return crc ^ 0xFFFFFFFFu;", "}", "", "void tte_get_weights(uint8_t *dst)", "{"]
    off = 0
    for arr, n, split in parts:
        c.append(f"    tte_split_s8_get(&{arr}, (int8_t *)(dst + {off}));" if split
                 else f"    memcpy(dst + {off}, {arr}, {n});")
        off += n
    c += ["    (void)dst;", "}", "",
          "/* A split weight's frozen channels are constant: only its trained ones are set. */",
          "void tte_set_weights(const uint8_t *src)", "{"]
    off = 0
    for arr, n, split in parts:
        c.append(f"    tte_split_s8_set(&{arr}, (const int8_t *)(src + {off}));" if split
                 else f"    memcpy({arr}, src + {off}, {n});")
        off += n
    c += ["    (void)src;", "}", ""]
    c += _weights_range(parts, splits_by_arr={names.by_tensor[p]: splits[p] for p in trainable if p in splits})
    ckpt_h, ckpt_c = checkpoint_api(model_id(fwd, trainable), step_counter="tte_step")
    h[-2:-2] = ckpt_h   # before the include guard's #endif
    c += ckpt_c
    add_runtime_api(a, c, h)  # last: it wraps the whole header in C++ linkage guards
    return {f"{name}.c": "\n".join(c), f"{name}.h": "\n".join(h)}


def _input_buffer_c(x_off: int) -> list[str]:
    """tte_input_buffer and the copy of an input passed by pointer into the arena."""
    return ["tte_input_t *tte_input_buffer(void)", "{", f"    return (tte_input_t *)(tte_arena + {x_off});",
            "}", "",
            "static void tte_load_input(const tte_input_t *in)", "{",
            f"    if (in != NULL && in != (const tte_input_t *)(tte_arena + {x_off})) {{",
            f"        memcpy(tte_arena + {x_off}, in, TTE_INPUT_BYTES);", "    }", "}", ""]


def _input_rows_c() -> list[str]:
    """With input_rows: the input's source for the block that reads it (tte_block_rows_t), its
    reader set by tte_set_input_reader, its image by each step; 0 where neither gives rows."""
    from tte.compiler.emit.block import INPUT_SOURCE

    return [f"static tte_block_rows_t {INPUT_SOURCE};", "",
            "void tte_set_input_reader(void (*read_row)(void *ctx, int32_t row, tte_input_t *dst), void *ctx)",
            "{", f"    {INPUT_SOURCE}.read_row = read_row;", f"    {INPUT_SOURCE}.ctx = ctx;", "}", "",
            "static int tte_load_input(const tte_input_t *in)", "{",
            f"    {INPUT_SOURCE}.image = (const int8_t *)in;",
            f"    return in != NULL || {INPUT_SOURCE}.read_row != NULL;", "}", ""]


def _weights_range(parts: list[tuple[str, int, bool]], splits_by_arr: dict[str, SplitWeight]) -> list[str]:
    """tte_get_weights_range / tte_set_weights_range: byte k of the whole trained tensors (plan
    order) found by a chain of part bounds; a split weight's byte (row, c) through its where[]
    (frozen channels are read, never set)."""
    get = ["static uint8_t tte_weight_byte(uint32_t k)", "{"]
    put = ["static void tte_weight_byte_set(uint32_t k, uint8_t v)", "{"]
    off = 0
    for arr, n, split in parts:
        if split:
            in_c = splits_by_arr[arr].in_c
            get.append(f"    if (k < {off + n}u) {{ return (uint8_t)tte_split_s8_at(&{arr}, "
                       f"(int32_t)((k - {off}u) / {in_c}u), (int32_t)((k - {off}u) % {in_c}u)); }}")
            put += [f"    if (k < {off + n}u) {{",
                    f"        const int32_t c = (int32_t)((k - {off}u) % {in_c}u);",
                    f"        const int32_t j = {arr}.where[c];",
                    "        if (j >= 0) {",
                    f"            {arr}.upd[(size_t)((k - {off}u) / {in_c}u) * (size_t){arr}.n_sel + (size_t)j] "
                    "= (int8_t)v;",
                    "        }", "        return;", "    }"]
        else:
            get.append(f"    if (k < {off + n}u) {{ return ((const uint8_t *){arr})[k - {off}u]; }}")
            put.append(f"    if (k < {off + n}u) {{ ((uint8_t *){arr})[k - {off}u] = v; return; }}")
        off += n
    get += ["    (void)k;", "    return 0;", "}", ""]
    put += ["    (void)k;", "    (void)v;", "}", ""]
    return [*get, *put,
            "void tte_get_weights_range(uint8_t *dst, uint32_t off, uint32_t n)", "{", "    uint32_t i;",
            "    for (i = 0; i < n; i++) {", "        dst[i] = tte_weight_byte(off + i);", "    }", "}", "",
            "void tte_set_weights_range(const uint8_t *src, uint32_t off, uint32_t n)", "{", "    uint32_t i;",
            "    for (i = 0; i < n; i++) {", "        tte_weight_byte_set(off + i, src[i]);", "    }", "}", ""]


def source_digest(sources: dict[str, str]) -> str:
    """A digest of the generated files and the kernel sources (build cache key)."""
    hsh = hashlib.sha256()
    for k in sorted(sources):
        hsh.update(k.encode() + b"\0" + sources[k].encode())
    for p in kernel_sources() + sorted((CSRC / "include").rglob("*.h")):
        hsh.update(p.name.encode() + b"\0" + p.read_bytes())
    return hsh.hexdigest()[:20]
