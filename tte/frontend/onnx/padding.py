"""Spatial padding of convolutions and pools: explicit pads, auto_pad and ceil_mode."""

from __future__ import annotations

from typing import Any

import onnx

from tte.errors import TteError, UnsupportedOpError
from tte.frontend.onnx.context import ImportContext
from tte.frontend.onnx.values import _attrs, _ints


def _same_pads(size: int, k: int, s: int, d: int, upper: bool) -> tuple[int, int]:
    """Padding of auto_pad SAME_UPPER / SAME_LOWER (extra pixel at the end / start)."""
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    small = total // 2
    return (small, total - small) if upper else (total - small, small)


def _spatial_pads(node: onnx.NodeProto, a: dict[str, Any], hw: tuple[int, int], k: tuple[int, int],
                  s: tuple[int, int], d: tuple[int, int]) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) from pads or auto_pad."""
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else str(auto)
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        (t, b), (lft, r) = (_same_pads(hw[i], k[i], s[i], d[i], auto == "SAME_UPPER") for i in range(2))
        return t, lft, b, r
    if auto == "VALID":
        return 0, 0, 0, 0
    if auto != "NOTSET":
        raise UnsupportedOpError(node.op_type, node=node.name, detail=f"auto_pad {auto}")
    pads = _ints(a.get("pads", (0, 0, 0, 0)))
    if len(pads) != 4:
        raise TteError(f"{node.op_type}: expected 4 pads for 2-D spatial data, got {pads}", node=node.name)
    return pads[0], pads[1], pads[2], pads[3]


def _pool_geometry(im: ImportContext, node: onnx.NodeProto, k: tuple[int, int]
                   ) -> tuple[tuple[int, int], tuple[int, int, int, int], bool]:
    a = _attrs(node)
    s = _ints(a.get("strides", (1, 1)))
    if any(int(d) != 1 for d in a.get("dilations", (1, 1))):
        raise UnsupportedOpError(node.op_type, detail="pooling with dilations")
    _, _, h, w = im.shape(node.input[0])
    pads = _spatial_pads(node, a, (h, w), k, (s[0], s[1]), (1, 1))
    extended = False
    if int(a.get("ceil_mode", 0)):
        pads, extended = _ceil_pads(node, (h, w), k, (s[0], s[1]), pads)
    return (s[0], s[1]), pads, extended


def _ceil_pads(node: onnx.NodeProto, hw: tuple[int, int], k: tuple[int, int], s: tuple[int, int],
               pads: tuple[int, int, int, int]) -> tuple[tuple[int, int, int, int], bool]:
    """ceil_mode as extra bottom/right padding; exact only while every window keeps at
    least one real pixel (ONNX drops windows that start inside the end padding)."""
    out = list(pads)
    extended = False
    for ax in range(2):
        p0, p1 = pads[ax], pads[ax + 2]
        span = hw[ax] + p0 + p1 - k[ax]
        n_floor = span // s[ax] + 1
        n_ceil = -(-span // s[ax]) + 1
        if (n_ceil - 1) * s[ax] >= hw[ax] + p0:
            n_ceil -= 1
        if n_ceil > n_floor:
            last_start = (n_ceil - 1) * s[ax]
            if last_start >= hw[ax] + p0:
                raise UnsupportedOpError(node.op_type, detail="ceil_mode window entirely in padding")
            out[ax + 2] = p1 + (n_ceil - 1) * s[ax] + k[ax] - (hw[ax] + p0 + p1)
            extended = True
    return (out[0], out[1], out[2], out[3]), extended
