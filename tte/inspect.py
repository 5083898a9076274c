"""Model summary for `tte inspect`: ops, tensors, parameters, MACs, activation sizes."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from tte.ir import Graph, Node
from tte.layout import source_shape


def node_macs(graph: Graph, node: Node) -> int:
    """Multiply-accumulates of one node (convolutions and matrix products only)."""
    t = graph.tensors
    if node.op == "conv2d":
        cout, kh, kw, cin_g = t[node.inputs[1]].shape
        return math.prod(t[node.outputs[0]].shape) * kh * kw * cin_g
    if node.op == "fully_connected":
        n, k = t[node.inputs[1]].shape
        return math.prod(t[node.inputs[0]].shape[:-1]) * n * k
    if node.op == "matmul":
        return math.prod(t[node.outputs[0]].shape) * t[node.inputs[0]].shape[-1]
    return 0


def summarize(graph: Graph) -> dict[str, Any]:
    tensors = graph.tensors
    consts = [x for x in tensors.values() if x.is_const]
    acts = [x for x in tensors.values() if not x.is_const]
    nodes = []
    peak = 0
    for n in graph.nodes:
        live = sum(tensors[i].nbytes for i in set(n.inputs + n.outputs) if i and not tensors[i].is_const)
        peak = max(peak, live)
        nodes.append({
            "name": n.name, "op": n.op,
            "inputs": [i for i in n.inputs if i], "outputs": n.outputs,
            "output_shape": list(tensors[n.outputs[0]].shape),
            "output_dtype": tensors[n.outputs[0]].dtype,
            "macs": node_macs(graph, n),
            "params": sum(tensors[i].size for i in n.inputs if i and tensors[i].is_const),
            "activation": n.attrs.get("activation", "none"),
        })

    def io(name: str) -> dict[str, Any]:
        x = tensors[name]
        d: dict[str, Any] = {"name": name, "dtype": x.dtype, "shape": list(source_shape(x))}
        if x.quant is not None:
            d["scale"] = float(x.quant.scale[0])
            d["zero_point"] = int(x.quant.zero_point[0])
        return d

    return {
        "name": graph.name,
        "source": graph.meta.get("source_file"),
        "quantized": graph.is_quantized,
        "notes": list(graph.meta.get("notes", [])) + _boundary_note(graph) + _constant_note(graph),
        "inputs": [io(i) for i in graph.inputs],
        "outputs": [io(o) for o in graph.outputs],
        "op_counts": dict(sorted(Counter(n.op for n in graph.nodes).items())),
        "nodes": nodes,
        "params": sum(x.size for x in consts),
        "param_bytes": sum(x.nbytes for x in consts),
        "macs": sum(d["macs"] for d in nodes),
        "activation_tensors": len(acts),
        "activation_bytes_total": sum(x.nbytes for x in acts),
        "largest_activation_bytes": max((x.nbytes for x in acts), default=0),
        "peak_op_activation_bytes": peak,
    }


def _boundary_note(graph: Graph) -> list[str]:
    """A note where the float input and output are only a QUANTIZE and a DEQUANTIZE away from int8."""
    from tte.errors import TteError
    from tte.int8_io import int8_io

    try:
        g8 = int8_io(graph)
    except TteError:
        return []
    if (g8.inputs, g8.outputs) == (graph.inputs, graph.outputs):
        return []
    return ["float I/O around an int8 body: `tte compile --int8-io` (tte.int8_io) takes the QUANTIZE / "
            "DEQUANTIZE off, so the device reads and writes int8"]


def _constant_note(graph: Graph) -> list[str]:
    """A note where convs have channels constant for every input (tte.compiler.constant_channels)."""
    from tte.compiler.constant_channels import drop_constant_channels
    from tte.errors import TteError

    if not graph.is_quantized:
        return []
    try:
        dropped = drop_constant_channels(graph)[1].report()
    except TteError:   # a graph the pass cannot read changes nothing in the summary
        return []
    if not dropped["channels"]:
        return []
    return [f"{dropped['channels']} conv channels give one byte for every input; an inference-only compile "
            f"(--scheme none) skips them: {dropped['macs']:,} multiply-accumulates of an inference"]


def format_summary(s: dict[str, Any]) -> str:
    """The human-readable table printed by `tte inspect`."""
    def fmt_io(d: dict[str, Any]) -> str:
        q = f" scale={d['scale']:.6g} zp={d['zero_point']}" if "scale" in d else ""
        return f"{d['name']} {d['dtype']}{d['shape']}{q}"

    lines = [f"model   {s['name']}  ({'int8' if s['quantized'] else 'float32'})"]
    lines += [f"input   {fmt_io(d)}" for d in s["inputs"]]
    lines += [f"output  {fmt_io(d)}" for d in s["outputs"]]
    lines += [f"note    {n}" for n in s.get("notes", [])]
    lines.append("")
    lines.append(f"{'#':>3}  {'op':<16} {'name':<34} {'output':<22} {'MACs':>11} {'params':>8}")
    for i, n in enumerate(s["nodes"]):
        op = n["op"] + ("+" + n["activation"] if n["activation"] != "none" else "")
        shape = "x".join(map(str, n["output_shape"]))
        lines.append(f"{i:>3}  {op:<16} {n['name'][:34]:<34} {shape:<22} {n['macs']:>11,} {n['params']:>8,}")
    lines.append("")
    ops = ", ".join(f"{k} x{v}" for k, v in s["op_counts"].items())
    lines.append(f"ops        {len(s['nodes'])} ({ops})")
    lines.append(f"params     {s['params']:,} ({s['param_bytes'] / 1024:.1f} KB)")
    lines.append(f"MACs       {s['macs']:,}")
    lines.append(f"activations {s['activation_tensors']} tensors, largest "
                 f"{s['largest_activation_bytes'] / 1024:.1f} KB, peak per op "
                 f"{s['peak_op_activation_bytes'] / 1024:.1f} KB")
    return "\n".join(lines)
