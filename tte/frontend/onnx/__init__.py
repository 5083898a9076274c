"""ONNX -> tte IR: float models (opsets 13-21, older ones where the op is unchanged) and
int8 QDQ / QLinear models.

ONNX activations are NCHW, the IR is NHWC. Every ONNX value is held by one IR tensor plus
the permutation that turns that tensor back into ONNX order (see ``layout``); 4-D
activations live in NHWC and transposes are inserted only where an op needs the source
order. Constants are folded at import and laid out for their consumer.
"""

from __future__ import annotations

import os
from pathlib import Path

from tte.errors import ModelFormatError, TteError
from tte.frontend.onnx.external import load_external_data
from tte.frontend.onnx.importer import import_model
from tte.frontend.onnx.model import MIN_OPSET, parse, read
from tte.ir import Graph

__all__ = ["MIN_OPSET", "load_onnx"]


def load_onnx(source: str | os.PathLike[str] | bytes, *, name: str | None = None,
              base_dir: str | os.PathLike[str] | None = None) -> Graph:
    """Import an ONNX model (path or serialized bytes) into a tte Graph; external data files
    (``model.onnx.data``) are read from the model's folder (``base_dir`` for bytes)."""
    label = "<bytes>" if isinstance(source, bytes | bytearray) else os.fspath(source)
    data = bytes(source) if isinstance(source, bytes | bytearray) else read(label)
    if base_dir is None and not isinstance(source, bytes | bytearray):
        base_dir = Path(label).parent
    model = parse(data, label)
    load_external_data(model, None if base_dir is None else Path(base_dir), label)
    try:
        return import_model(model, label, name)
    except TteError as e:
        raise e.at(file=label) from None
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError,
            AssertionError, RuntimeError) as e:
        # A structurally valid protobuf with inconsistent contents (bit flips, bad dims).
        raise ModelFormatError(f"malformed ONNX model: {type(e).__name__}: {e}", file=label) from e
