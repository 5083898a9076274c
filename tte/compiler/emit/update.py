"""In-place parameter updates (csrc/include/tte/update.h): the shared update parameters,
the step counter, and the conv, fully connected, bias and plain SGD updates."""

from __future__ import annotations

import math

import numpy as np

from tte.compiler.emit.common import (
    Emitted,
    Ref,
    _array,
    _emitter,
    _err,
    _geom_init,
    _opt,
    _q,
    _sz,
    _t,
    _unsupported,
    c_nbytes,
    f32,
    f64,
    lr_live,
)
from tte.ir import Graph, Node, Tensor


def _update_params(node: Node, w: Tensor, prefix: str, n_out_all: int, n_in_all: int, ref: Ref,
                   has_in: bool = True) -> tuple[list[str], bool]:
    """Declarations of ``{prefix}_u`` (tte_update_params_t); returns (decls, quantized)."""
    a = node.attrs
    if a["rounding"] not in ("nearest", "stochastic"):
        raise _err(node, f"unknown rounding '{a['rounding']}'")
    out_sel = [int(i) for i in a["out_channels"]]
    in_sel = [int(i) for i in a["in_channels"]] if has_in else []
    decls: list[str] = []
    out_idx = in_idx = "NULL"
    if out_sel:
        decls.append(_array("int32_t", f"{prefix}_out_idx", out_sel))
        out_idx = f"{prefix}_out_idx"
    if in_sel:
        decls.append(_array("int32_t", f"{prefix}_in_idx", in_sel))
        in_idx = f"{prefix}_in_idx"
    n_out = len(out_sel) or n_out_all
    n_in = len(in_sel) or n_in_all
    quantized = w.dtype in ("int8", "int32")
    k_ref = "NULL"
    if quantized:
        scale = _q(node, w).scale
        if out_sel and scale.size > 1:
            scale = scale[out_sel]
        decls.append(_array("float", f"{prefix}_scale", scale))
        n_scale, scale_ref = int(scale.size), f"{prefix}_scale"
        k = step_factors(scale, float(a["lr"]), bool(a["qas"])) if w.dtype == "int8" else None
        if k is not None:
            decls.append(_array("float", f"{prefix}_k", k))
            k_ref = f"{prefix}_k"
    elif w.dtype == "float32":
        n_scale, scale_ref = 0, "NULL"
    else:
        raise _unsupported(node, f"parameter dtype {w.dtype}")
    seed = int(a["seed"]) & 0xFFFFFFFF
    decls.append(f"static const tte_update_params_t {prefix}_u = {{{f64(float(a['lr']))}, {int(bool(a['qas']))}, "
                 f"{int(a['rounding'] == 'stochastic')}, {seed}u, {n_out}, {out_idx}, {n_in}, {in_idx}, "
                 f"{n_scale}, {scale_ref}, {lr_live(ref, node)}, {k_ref}}};")
    return decls, quantized


def step_factors(scale: np.ndarray, lr: float, qas: bool) -> np.ndarray | None:
    """The step factors ``tte_update_params_t.k`` of an int8 weight with these scales (float32)
    at learning rate ``lr``: the floats qas_factor_s8 forms at run time
    (csrc/include/tte/internal/qas.h), lr / s (QAS) or lr * s in double rounded once to float32,
    correctly rounded IEEE operations both, so numpy gives the same bits. Only int8 weights take
    a table: their factor costs a double division (software on the M7) per output channel, a
    bias's one float division, not worth its flash. None where a factor is not finite (the C then
    forms them, as without a table)."""
    s64 = np.asarray(scale, dtype=np.float32).astype(np.float64)
    with np.errstate(all="ignore"):
        k = (np.float64(lr) / s64 if qas else np.float64(lr) * s64).astype(np.float32)
    if k.size == 0 or not bool(np.all(np.isfinite(k))):
        return None
    return k


def _step_arg(node: Node, ref: Ref, step_index: int) -> str:
    step = _opt(node, step_index)
    if step:
        return f"({ref(step)})[0]"
    if node.attrs["rounding"] == "stochastic":
        raise _err(node, "stochastic rounding needs the step counter input")
    return "0"


def _in_place(node: Node, g: Graph, ref: Ref) -> tuple[list[str], str]:
    w, out = node.inputs[0], node.outputs[0]
    if ref(w) == ref(out):
        return [], ref(out)
    return [f"tte_copy({ref(out)}, {ref(w)}, {c_nbytes(_t(g, w))});"], ref(out)


def _act_args(node: Node, g: Graph, ref: Ref, name: str) -> str:
    x = _t(g, name)
    if x.dtype == "int8":
        s, z = _sz(node, x)
        return f"{ref(name)}, NULL, {f32(s)}, {z}"
    if x.dtype == "float32":
        return f"NULL, {ref(name)}, 0.0f, 0"
    raise _unsupported(node, f"activation dtype {x.dtype}")


@_emitter("conv2d_weight_update")
def emit_conv2d_weight_update(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    w, x, dy = (_t(g, n) for n in node.inputs[:3])
    if dy.dtype != "float32":
        raise _unsupported(node, f"gradient dtype {dy.dtype}")
    if w.dtype not in ("int8", "float32"):
        raise _unsupported(node, f"weights of dtype {w.dtype}")
    decls, quantized = _update_params(node, w, prefix, w.shape[0], w.shape[3], ref)
    decls.append(f"static const tte_conv2d_geom_t {prefix}_geom = {_geom_init(node, g, x.shape, dy.shape, w.shape)};")
    if tuple(node.attrs["kernel"]) != tuple(w.shape[1:3]):
        raise _err(node, f"kernel {node.attrs['kernel']} does not match weights {w.shape}")
    pre, wp = _in_place(node, g, ref)
    xa = _act_args(node, g, ref, x.name)
    if quantized:
        call = (f"tte_conv2d_weight_update_s8(&{prefix}_geom, &{prefix}_u, {wp}, {xa}, {ref(dy.name)}, "
                f"{_step_arg(node, ref, 3)});")
    else:
        call = f"tte_conv2d_weight_update_f32(&{prefix}_geom, &{prefix}_u, {wp}, {xa}, {ref(dy.name)});"
    return Emitted(decls, [*pre, call])


@_emitter("fc_weight_update")
def emit_fc_weight_update(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    w, x, dy = (_t(g, n) for n in node.inputs[:3])
    if dy.dtype != "float32" or w.dtype not in ("int8", "float32"):
        raise _unsupported(node, f"weights {w.dtype} with gradient {dy.dtype}")
    decls, quantized = _update_params(node, w, prefix, w.shape[0], w.shape[1], ref)
    rows = int(math.prod(x.shape[:-1]))
    pre, wp = _in_place(node, g, ref)
    xa = _act_args(node, g, ref, x.name)
    dims = f"{rows}, {w.shape[1]}, {w.shape[0]}"
    if quantized:
        call = (f"tte_fc_weight_update_s8({dims}, &{prefix}_u, {wp}, {xa}, {ref(dy.name)}, "
                f"{_step_arg(node, ref, 3)});")
    else:
        call = f"tte_fc_weight_update_f32({dims}, &{prefix}_u, {wp}, {xa}, {ref(dy.name)});"
    return Emitted(decls, [*pre, call])


@_emitter("bias_update")
def emit_bias_update(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    b, dy = _t(g, node.inputs[0]), _t(g, node.inputs[1])
    if dy.dtype != "float32" or b.dtype not in ("int32", "float32"):
        raise _unsupported(node, f"bias {b.dtype} with gradient {dy.dtype}")
    decls, quantized = _update_params(node, b, prefix, b.shape[0], 1, ref, has_in=False)
    rows = int(math.prod(dy.shape[:-1]))
    pre, bp = _in_place(node, g, ref)
    if quantized:
        call = (f"tte_bias_update_s32({rows}, {dy.shape[-1]}, &{prefix}_u, {bp}, {ref(dy.name)}, "
                f"{_step_arg(node, ref, 2)});")
    else:
        call = f"tte_bias_update_f32({rows}, {dy.shape[-1]}, &{prefix}_u, {bp}, {ref(dy.name)});"
    return Emitted(decls, [*pre, call])


@_emitter("sgd_update")
def emit_sgd_update(node: Node, g: Graph, ref: Ref, prefix: str) -> Emitted:
    w, grad = _t(g, node.inputs[0]), _t(g, node.inputs[1])
    if grad.dtype != "float32":
        raise _unsupported(node, f"gradient dtype {grad.dtype}")
    nd = len(w.shape)
    d0 = w.shape[0] if nd else 1
    dlast = w.shape[-1] if nd > 1 else 1
    mid = int(math.prod(w.shape[1:-1])) if nd > 1 else 1
    decls, quantized = _update_params(node, w, prefix, d0, dlast, ref, has_in=nd > 1)
    pre, wp = _in_place(node, g, ref)
    dims = f"{wp}, {d0}, {mid}, {dlast}, {ref(grad.name)}"
    kernel = {"int8": "tte_sgd_update_s8", "int32": "tte_sgd_update_s32", "float32": "tte_sgd_update_f32"}[w.dtype]
    step = f", {_step_arg(node, ref, 2)}" if quantized else ""
    return Emitted(decls, [*pre, f"{kernel}(&{prefix}_u, {dims}{step});"])
