"""The interface every emitter shares (``Emitted``, ``Ref``, ``Emitter``, the ``EMITTERS``
registry and its ``_emitter`` decorator) and the helpers the kernel families use: C
literals and arrays, tensor and quantization look-ups, requantization, conv geometry."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from tte.errors import TteError, UnsupportedOpError
from tte.ir import FusedChain, Graph, Node, QuantParams, Tensor
from tte.numerics import fixedpoint as fp


@dataclass
class Emitted:
    """C code for one node: file-scope declarations and statements inside a step function."""

    decls: list[str] = field(default_factory=list)
    call: list[str] = field(default_factory=list)


# ref(tensor_name) -> a C expression that points at the tensor's storage, typed for its
# dtype (e.g. "(int8_t *)(tte_arena + 1024)", "w_blocks_2_project_weight", "in").
Ref = Callable[[str], str]
Emitter = Callable[[Node, Graph, Ref, str], Emitted]   # node, graph, ref, C-safe prefix for names
EMITTERS: dict[str, Emitter] = {}

HEADER = "tte/kernels.h"


def split_ref(ref: Ref, tensor: str) -> str | None:
    """A split weight (tte.compiler.split, csrc/include/tte/split.h): the C expression of its
    ``const tte_split_s8_t *``, or None when the tensor is one array. The generator marks
    split weights by giving ``ref`` a ``split`` dict (tensor -> expression)."""
    split = getattr(ref, "split", None)
    if not isinstance(split, dict):
        return None
    found = split.get(tensor)
    return found if isinstance(found, str) else None


def constant_refs(ref: Ref) -> bool:
    """Whether ``ref``'s expressions of constants are address constants (array names, arena
    offsets: the generated model's), which a static initializer may hold; a ref may say not by a
    false ``constant_refs`` (a test harness passing buffers at run time)."""
    return bool(getattr(ref, "constant_refs", True))


def lr_live(ref: Ref, node: Node) -> str:
    """The C expression of the ``const double *`` through which an update reads its learning rate
    at run time (the generated ``tte_set_lr``), or NULL (the compile-time lr only). The generator
    gives ``ref`` ``lr_live`` (the expression) and ``lr_default`` (the lr the variable starts at);
    an update compiled with another lr cannot follow that one variable."""
    live, default = getattr(ref, "lr_live", None), getattr(ref, "lr_default", None)
    if not isinstance(live, str):
        return "NULL"
    if float(node.attrs["lr"]) != default:
        raise _err(node, f"learning rate {node.attrs['lr']} differs from the model's {default} "
                         "(tte_set_lr sets one for all updates)")
    return live


def c_nbytes(t: Tensor) -> int:
    """Bytes a tensor takes in generated C (bool masks are bit-packed)."""
    if t.dtype == "bool":
        return (t.size + 7) // 8
    return t.nbytes


def _emitter(*ops: str) -> Callable[[Emitter], Emitter]:
    def deco(fn: Emitter) -> Emitter:
        for op in ops:
            EMITTERS[op] = fn
        return fn
    return deco


def _err(node: Node, msg: str) -> TteError:
    return TteError(f"{node.op}: {msg}", node=node.name)


def _unsupported(node: Node, detail: str) -> UnsupportedOpError:
    return UnsupportedOpError(node.op, node=node.name, detail=detail)


def f32(x: float) -> str:
    """An exact C float literal."""
    v = float(np.float32(x))
    if not math.isfinite(v):
        raise ValueError(f"non-finite float constant {x}")
    return f"{v.hex()}f"


def f64(x: float) -> str:
    """An exact C double literal."""
    if not math.isfinite(x):
        raise ValueError(f"non-finite double constant {x}")
    return float(x).hex()


def _array(ctype: str, name: str, values: Sequence[float] | Sequence[int] | np.ndarray) -> str:
    vals = list(np.asarray(values).ravel())
    if ctype == "float":
        body = ", ".join(f32(float(v)) for v in vals)
    else:
        body = ", ".join(str(int(v)) for v in vals)
    return f"static const {ctype} {name}[{max(len(vals), 1)}] = {{{body or '0'}}};"


def _t(g: Graph, name: str) -> Tensor:
    return g.tensors[name]


def _q(node: Node, t: Tensor) -> QuantParams:
    if t.quant is None:
        raise _err(node, f"int8 tensor '{t.name}' has no quantization parameters")
    return t.quant


def _sz(node: Node, t: Tensor) -> tuple[float, int]:
    """Per-tensor (scale as the double of the float32, zero point)."""
    q = _q(node, t)
    if q.per_channel and len(q.scale) > 1:
        raise _err(node, f"tensor '{t.name}' must be quantized per tensor")
    return float(q.scale[0]), int(q.zero_point[0])


def _same_quant(node: Node, a: Tensor, b: Tensor) -> bool:
    sa, za = _sz(node, a)
    sb, zb = _sz(node, b)
    return np.float32(sa) == np.float32(sb) and za == zb


def _requant_init(in_zp: int, real: float, out_zp: int, lo: int, hi: int) -> str:
    mult, shift = fp.quantize_multiplier(real)
    return f"{{{in_zp}, {mult}, {shift}, {out_zp}, {lo}, {hi}}}"


def _requant_call(node: Node, prefix: str, src_scale: float, src_zp: int, dst: Tensor, x: str, y: str,
                  n: int) -> Emitted:
    """y = requantize(x) from (src_scale, src_zp) to dst's int8 parameters, full int8 range."""
    if dst.dtype != "int8":
        raise _unsupported(node, f"output dtype {dst.dtype} (only int8 is generated)")
    so, zo = _sz(node, dst)
    return Emitted([f"static const tte_requant_t {prefix}_rq = "
                    f"{_requant_init(src_zp, src_scale / so, zo, -128, 127)};"],
                   [f"tte_requantize_s8(&{prefix}_rq, {x}, {y}, {n});"])


def _merge(*parts: Emitted) -> Emitted:
    out = Emitted()
    for p in parts:
        out.decls += p.decls
        out.call += p.call
    return out


def _opt(node: Node, i: int) -> str:
    return node.inputs[i] if len(node.inputs) > i else ""


def _dtype_in(node: Node, g: Graph, i: int = 0) -> str:
    return _t(g, node.inputs[i]).dtype


def _need_dtype(node: Node, g: Graph, allowed: Sequence[str], i: int = 0) -> str:
    d = _dtype_in(node, g, i)
    if d not in allowed:
        raise _unsupported(node, f"input dtype {d}; C kernels exist for {', '.join(allowed)}")
    return d


def _nonneg_pads(node: Node, pads: Sequence[int]) -> None:
    if any(int(p) < 0 for p in pads):
        raise _unsupported(node, f"negative padding {tuple(pads)}")


def _geom_init(node: Node, g: Graph, x_shape: Sequence[int], y_shape: Sequence[int],
               w_shape: Sequence[int]) -> str:
    a = node.attrs
    _nonneg_pads(node, a["pads"])
    n, h, w, c = x_shape
    _, oh, ow, co = y_shape
    kh, kw = int(w_shape[1]), int(w_shape[2])
    (sh, sw), (dh, dw) = a["strides"], a["dilations"]
    pt, pl = int(a["pads"][0]), int(a["pads"][1])
    return (f"{{{n}, {h}, {w}, {c}, {oh}, {ow}, {co}, {kh}, {kw}, {int(sh)}, {int(sw)}, "
            f"{int(dh)}, {int(dw)}, {pt}, {pl}, {int(a['groups'])}}}")


def _weight_zero_points_zero(node: Node, w: Tensor) -> None:
    q = _q(node, w)
    if np.any(q.zero_point != 0):
        raise _unsupported(node, f"weights '{w.name}' have a non-zero zero point")


def _chain_graph(g: Graph, chain: FusedChain) -> Graph:
    """A view of g that also knows the chain's inner tensors (for the unfused emitters)."""
    view = Graph(g.name)
    view.tensors = {**g.tensors, **{t.name: t for t in chain.intermediates}, chain.output.name: chain.output}
    return view
