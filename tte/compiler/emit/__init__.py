"""How each IR op of a (scheduled) training graph becomes C: per-op emitters.

This is the interface between the kernels in ``csrc/`` and the generator in
``tte.compiler.codegen``. The generator decides *where* every tensor lives (arena offset, weight
array, input pointer) and hands that over as ``ref``; an emitter decides *how* to call the
kernel: it precomputes parameters at compile time (requantization multipliers and shifts,
activation ranges, scales) as static const data and returns the statements of the call.

Layout: ``common`` holds the interface (``Emitted``, ``Ref``, ``Emitter``, ``EMITTERS``, the
``_emitter`` decorator) and the shared helpers; the emitters live in one module per kernel
family, mirroring ``csrc/include/tte/*.h`` (``conv``, ``elementwise``, ``pool``, ``movement``,
``softmax``, ``mask``, ``grad``, ``loss``, ``update``, ``block``, ``structural``,
``activation``), plus ``dwpw`` for the fused depthwise -> 1x1 backward. Importing this package registers them all.

Conventions the generator relies on:

* Generated code includes ``HEADER`` ("tte/kernels.h"), compiles against ``csrc/include``
  and links every ``csrc/src/*.c`` (``tte.targets.cbuild.kernel_sources()``).
* ``bool`` tensors (activation masks) are bit-packed: 1 bit per element, LSB first within a
  byte, ``c_nbytes(tensor)`` bytes. Every other tensor takes ``Tensor.nbytes``.
* ``reshape`` is an alias: no call when ``ref(output) == ref(input)`` and the quantization
  is unchanged (otherwise a copy, or a requantize when the int8 parameters differ).
* Updates (``*_update``) are in place: they write through ``ref(output)``; when that differs
  from ``ref(input 0)`` the parameter is copied there first.
* The stochastic-rounding step counter is the graph input named by the node's last input
  (autodiff's "step", int32[1]); it is read as ``ref(step)[0]``.
* Floats are emitted as C99 hexadecimal literals, so the constants are exact.
* Split weights (tte.compiler.split): ``split_ref(ref, w)`` gives a ``const tte_split_s8_t *``
  expression; conv2d, streamed_block and dwpw_backward then call the ``*_split`` kernels
  (a dwpw_backward update's ``in_channels`` are then the split's trained channels).
"""

from __future__ import annotations

from collections.abc import Callable

# importing every family module registers its emitters in EMITTERS
from tte.compiler.emit import (
    activation,
    block,
    conv,
    dwpw,
    elementwise,
    grad,
    loss,
    mask,
    movement,
    pool,
    softmax,
    structural,
    update,
)
from tte.compiler.emit.block import (
    BLOCK_MAX_KH,
    block_scratch_bytes,
    emit_streamed_block,
    emit_streamed_pair,
    pair_scratch_bytes,
)
from tte.compiler.emit.common import EMITTERS, HEADER, Emitted, Emitter, Ref, c_nbytes, f32, f64, split_ref
from tte.compiler.emit.conv import conv2d_scratch_bytes, emit_conv2d, emit_fully_connected
from tte.compiler.emit.dwpw import _dwpw_parts, dwpw_scratch_bytes, emit_dwpw_backward
from tte.compiler.emit.elementwise import (
    add_scratch_bytes,
    emit_add,
    emit_dequantize,
    emit_mul,
    emit_quantize,
    emit_relu_clip,
)
from tte.compiler.emit.grad import _depthwise_grad_scratch, emit_conv2d_grad_input, emit_fc_grad_input
from tte.compiler.emit.loss import emit_mse, emit_softmax_ce
from tte.compiler.emit.mask import emit_act_mask, emit_mask_grad
from tte.compiler.emit.movement import emit_pad, emit_reshape, emit_transpose
from tte.compiler.emit.pool import emit_avgpool2d_grad, emit_mean, emit_mean_grad, emit_pool
from tte.compiler.emit.pooled import emit_pooled_update
from tte.compiler.emit.softmax import emit_softmax, softmax_params
from tte.compiler.emit.update import emit_bias_update, emit_conv2d_weight_update, emit_fc_weight_update, emit_sgd_update
from tte.ir import Graph, Node

# op -> bytes of kernel scratch (planned in the arena as "<node name>@scratch")
# (conv2d_grad_input: the one-channel buffer of the in-place depthwise gradient, reserved
# whenever the geometry allows it)
SCRATCH: dict[str, Callable[[Node, Graph], int]] = {"conv2d": conv2d_scratch_bytes, "add": add_scratch_bytes,
                                                    "streamed_block": block_scratch_bytes,
                                                    "streamed_pair": pair_scratch_bytes,
                                                    "dwpw_backward": dwpw_scratch_bytes,
                                                    "conv2d_grad_input": _depthwise_grad_scratch}

__all__ = [
    "BLOCK_MAX_KH", "EMITTERS", "HEADER", "SCRATCH", "Emitted", "Emitter", "Ref",
    "activation",
    "block", "conv", "dwpw", "elementwise", "grad", "loss", "mask", "movement", "pool", "pooled", "softmax",
    "structural",
    "update",
    "_depthwise_grad_scratch", "_dwpw_parts", "add_scratch_bytes", "block_scratch_bytes", "c_nbytes",
    "conv2d_scratch_bytes", "dwpw_scratch_bytes",
    "emit_act_mask", "emit_add", "emit_avgpool2d_grad", "emit_bias_update", "emit_conv2d",
    "emit_conv2d_grad_input", "emit_conv2d_weight_update", "emit_dequantize", "emit_dwpw_backward",
    "emit_fc_grad_input", "emit_fc_weight_update", "emit_fully_connected", "emit_mask_grad", "emit_mean",
    "emit_mean_grad", "emit_mse", "emit_mul", "emit_pad", "emit_pool", "emit_pooled_update", "emit_quantize",
    "emit_relu_clip",
    "emit_reshape", "emit_sgd_update", "emit_softmax", "emit_softmax_ce", "emit_streamed_block",
    "emit_streamed_pair",
    "emit_transpose", "f32", "f64", "softmax_params", "split_ref",
]
