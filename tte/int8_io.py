"""int8 I/O: a quantized graph without its float boundary, as a device reads and writes it.

A quantized model converted with float input and output (TFLite's default) starts with a
QUANTIZE of the float input and ends with a DEQUANTIZE of the int8 result. On a
microcontroller the sensor gives integers and the application wants a class: those two ops
only convert. ``int8_io`` takes them off, so the graph's input is the QUANTIZE's int8 tensor
and its output the DEQUANTIZE's int8 one, with their scales and zero points (what TFLite's
converter gives with ``inference_input_type`` and ``inference_output_type`` int8). Every
other op, weight and byte of the result stays the same.
"""

from __future__ import annotations

from tte.errors import TteError
from tte.ir import Graph


def int8_io(graph: Graph) -> Graph:
    """A copy of ``graph`` whose float inputs and outputs are int8: each float input that only
    a QUANTIZE to int8 reads becomes that QUANTIZE's output, each float output that a
    DEQUANTIZE of an int8 tensor makes becomes that int8 tensor. Inputs and outputs already
    int8 stay. Raises TteError naming the input or output that has no such boundary op."""
    g = graph.copy()
    dropped: set[str] = set()
    g.inputs = [_input_int8(g, name, dropped) for name in g.inputs]
    outputs = [_output_int8(g, name, dropped) for name in g.outputs]
    g.outputs = list(dict.fromkeys(outputs))
    g.nodes = [n for n in g.nodes if n.name not in dropped]
    used = set(g.inputs) | set(g.outputs) | {t for n in g.nodes for t in (*n.inputs, *n.outputs)}
    g.tensors = {k: t for k, t in g.tensors.items() if k in used or t.is_const}
    g.validate()
    return g


def _input_int8(g: Graph, name: str, dropped: set[str]) -> str:
    t = g.tensors[name]
    if t.dtype == "int8":
        return name
    readers = g.consumers(name)
    q = readers[0] if len(readers) == 1 else None
    if t.dtype != "float32" or q is None or q.op != "quantize" or g.tensors[q.outputs[0]].dtype != "int8":
        how = ", ".join(f"{n.name} ({n.op})" for n in readers) or "nothing"
        raise TteError(f"input '{name}' ({t.dtype}) is read by {how}; int8 I/O needs a float input that only "
                       "a QUANTIZE to int8 reads (a quantized model with float I/O)")
    out = g.tensors[q.outputs[0]]
    out.source_perm = t.source_perm
    dropped.add(q.name)
    return out.name


def _output_int8(g: Graph, name: str, dropped: set[str]) -> str:
    t = g.tensors[name]
    if t.dtype == "int8":
        return name
    d = g.producer(name)
    src = g.tensors[d.inputs[0]] if d is not None else None
    if t.dtype != "float32" or d is None or d.op != "dequantize" or src is None or src.dtype != "int8" \
            or g.consumers(name):
        how = f"{d.name} ({d.op})" if d is not None else "no op"
        raise TteError(f"output '{name}' ({t.dtype}) is made by {how}; int8 I/O needs a float output that a "
                       "DEQUANTIZE of an int8 tensor makes and no op reads")
    src.source_perm = t.source_perm
    dropped.add(d.name)
    return src.name
