"""A small quantized net whose first op is a streamed block reading the input (the paper models'
shape: a stem conv as the block's expand conv, then a depthwise and a 1x1), for input_rows."""

from __future__ import annotations

import numpy as np
from blocknet import OnnxNet

import tte


def rows_net(side: int = 15, stem_k: int = 3, stem_stride: int = 2, classes: int = 4,
             name: str = "rowsnet") -> tte.Graph:
    """x (1, 3, side, side) -> stem (stem_k x stem_k, stride stem_stride, 3 -> 8) -> 3x3 depthwise ->
    1x1 (8 -> 8) -> 1x1 expand (8 -> 16) -> 3x3 depthwise, stride 2 -> 1x1 (16 -> 8) -> pool -> fc."""
    net = OnnxNet(np.random.default_rng(5))
    x = net.conv("x", "stem", 3, 8, stem_k, stem_stride, 1, True)
    x = net.conv(x, "b0d", 8, 8, 3, 1, 8, True)
    x = net.conv(x, "b0p", 8, 8, 1, 1, 1, False)
    x = net.conv(x, "b1e", 8, 16, 1, 1, 1, True)
    x = net.conv(x, "b1d", 16, 16, 3, 2, 16, True)
    x = net.conv(x, "b1p", 16, 8, 1, 1, 1, False)
    return net.quantized(x, 8, side, classes, name)


def pair_net(side: int = 32, stem_stride: int = 2, classes: int = 4, name: str = "pairnet") -> tte.Graph:
    """rows_net's two blocks, then a third (1x1 expand 8 -> 16, 3x3 depthwise, 1x1 16 -> 8) for a
    last-k scheme to train: the first two stay frozen, so they stream and can run as a pair."""
    net = OnnxNet(np.random.default_rng(6))
    x = net.conv("x", "stem", 3, 8, 3, stem_stride, 1, True)
    x = net.conv(x, "b0d", 8, 8, 3, 1, 8, True)
    x = net.conv(x, "b0p", 8, 8, 1, 1, 1, False)
    x = net.conv(x, "b1e", 8, 16, 1, 1, 1, True)
    x = net.conv(x, "b1d", 16, 16, 3, 2, 16, True)
    x = net.conv(x, "b1p", 16, 8, 1, 1, 1, False)
    x = net.conv(x, "b2e", 8, 16, 1, 1, 1, True)
    x = net.conv(x, "b2d", 16, 16, 3, 1, 16, True)
    x = net.conv(x, "b2p", 16, 8, 1, 1, 1, False)
    return net.quantized(x, 8, side, classes, name)
