"""The model id and the generated checkpoint API (csrc/include/tte/checkpoint.h gives the format).

``model_id(graph, trained)`` names a compiled model by what a checkpoint's bytes mean: the
int8 graph (ops, attributes, tensors, quantization, constant data as compiled) and the names,
types and shapes of its trained tensors in plan order. Two compiles agree on it exactly when a
checkpoint of one is a checkpoint of the other; the host recomputes it from the source model
to refuse a checkpoint of another model (tte/export/checkpoint.py).

``checkpoint_api(...)`` adds to the generated files::

    #define TTE_MODEL_ID_HEX "<32 hex digits>"   the id, for logs
    #define TTE_CHECKPOINT_BYTES (32 + TTE_TRAINABLE_BYTES + 4)
    extern const uint8_t tte_model_id[16];
    uint32_t tte_checkpoint_write(uint8_t *dst, uint32_t cap);   the image, or 0 if cap is smaller
    void tte_checkpoint_print(void (*write)(const char *s, uint32_t n));   its printed form
    int32_t tte_checkpoint_load(const uint8_t *src, uint32_t n);   0, or TTE_CKPT_E_*: nothing set
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from tte.ir import Graph

ID_BYTES = 16
_ID_DOMAIN = b"tte-model-id/1\0"


def _canon(v: Any) -> bytes:
    """A byte string that two equal values (of the kinds graph attributes hold) share."""
    if isinstance(v, np.ndarray):
        a = np.ascontiguousarray(v)
        return b"A" + a.dtype.str.encode() + repr(a.shape).encode() + a.tobytes()
    if isinstance(v, dict):
        return b"D" + b"".join(_canon(k) + _canon(v[k]) for k in sorted(v, key=str))
    if isinstance(v, (list, tuple)):
        return b"L" + str(len(v)).encode() + b"".join(_canon(x) for x in v)
    if isinstance(v, np.generic):
        return _canon(v.item())
    return type(v).__name__.encode() + b":" + repr(v).encode() + b";"


def model_id(graph: Graph, trained: list[str]) -> bytes:
    """16 bytes of SHA-256 over the int8 graph and its trained tensors' layout (not its name
    or the file it came from: a renamed copy of the same model keeps its id)."""
    h = hashlib.sha256(_ID_DOMAIN)
    h.update(_canon([list(graph.inputs), list(graph.outputs)]))
    for n in graph.nodes:
        h.update(_canon([n.op, n.name, list(n.inputs), list(n.outputs), n.attrs]))
    for name in sorted(graph.tensors):
        t = graph.tensors[name]
        q = None if t.quant is None else [t.quant.scale, t.quant.zero_point, t.quant.axis]
        h.update(_canon([name, t.dtype, t.shape, q, t.data, t.source_perm]))
    h.update(b"trained" + _canon([[p, graph.tensors[p].dtype, graph.tensors[p].shape] for p in trained]))
    return h.digest()[:ID_BYTES]


def layout(graph: Graph, trained: list[str]) -> list[dict[str, Any]]:
    """The payload's tensors in order: name, dtype, shape, byte offset and size (report.json)."""
    out, off = [], 0
    for p in trained:
        t = graph.tensors[p]
        out.append({"name": p, "dtype": t.dtype, "shape": list(t.shape), "offset": off, "bytes": t.nbytes})
        off += t.nbytes
    return out


def checkpoint_api(mid: bytes, *, step_counter: str) -> tuple[list[str], list[str]]:
    """(header lines, source lines) of the checkpoint API; ``step_counter`` is the generated
    file's stochastic-rounding counter (an int32_t[1]), saved and restored with the weights."""
    hexid = mid.hex()
    header = [f'#define TTE_MODEL_ID_HEX "{hexid}"',
              "#define TTE_CHECKPOINT_BYTES (32u + TTE_TRAINABLE_BYTES + 4u)",
              "/* Weights checkpoints (format: csrc/include/tte/checkpoint.h; read by `tte weights pull`). */",
              "extern const uint8_t tte_model_id[16];",
              "/* The checkpoint into dst: TTE_CHECKPOINT_BYTES, or 0 (nothing written) when cap is smaller. */",
              "uint32_t tte_checkpoint_write(uint8_t *dst, uint32_t cap);",
              "/* Its printed form (\"tte-ckpt ...\" lines of hex) through write, e.g. a UART: no buffer needed. */",
              "void tte_checkpoint_print(void (*write)(const char *s, uint32_t n));",
              "/* Restores a checkpoint of this model: 0, or a TTE_CKPT_E_* code (tte/checkpoint.h), nothing set. */",
              "int32_t tte_checkpoint_load(const uint8_t *src, uint32_t n);", ""]
    id_bytes = ", ".join(f"0x{b:02x}" for b in mid)
    # tte/checkpoint.h comes with tte/kernels.h at the top: no #include down here, where it would
    # become the last include that other generated parts place their declarations after
    source = ["", f"const uint8_t tte_model_id[16] = {{{id_bytes}}};", "",
              "static void tte_checkpoint_source(tte_ckpt_source_t *s)", "{",
              "    s->model_id = tte_model_id;", "    s->payload_bytes = TTE_TRAINABLE_BYTES;",
              f"    s->steps = (uint32_t){step_counter}[0];", "    s->read = tte_get_weights_range;", "}", "",
              "uint32_t tte_checkpoint_write(uint8_t *dst, uint32_t cap)", "{", "    tte_ckpt_source_t s;",
              "    tte_checkpoint_source(&s);", "    return tte_ckpt_write(&s, dst, cap);", "}", "",
              "void tte_checkpoint_print(void (*write)(const char *s, uint32_t n))", "{", "    tte_ckpt_source_t s;",
              "    tte_checkpoint_source(&s);", "    tte_ckpt_print(&s, write);", "}", "",
              "int32_t tte_checkpoint_load(const uint8_t *src, uint32_t n)", "{", "    uint32_t steps = 0;",
              "    const int32_t r = tte_ckpt_check(src, n, tte_model_id, TTE_TRAINABLE_BYTES, &steps);",
              "    if (r != TTE_CKPT_OK) {", "        return r;", "    }",
              "    tte_set_weights_range(src + TTE_CKPT_HEADER_BYTES, 0, TTE_TRAINABLE_BYTES);",
              f"    {step_counter}[0] = (int32_t)steps;", "    return TTE_CKPT_OK;", "}", ""]
    return header, source


def checkpoint_report(graph: Graph, trained: list[str]) -> dict[str, Any]:
    """report.json's "checkpoint": what `tte weights pull` needs to read a checkpoint."""
    tensors = layout(graph, trained)
    payload = sum(t["bytes"] for t in tensors)
    return {"format_version": 1, "model_id": model_id(graph, trained).hex(), "payload_bytes": payload,
            "bytes": 32 + payload + 4, "tensors": tensors}
