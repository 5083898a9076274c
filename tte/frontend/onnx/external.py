"""ONNX external data (torch's exporter writes large weights to `model.onnx.data`): read it from
the folder of the model file, never from anywhere else."""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx.external_data_helper import load_external_data_for_model, uses_external_data

from tte.errors import ModelFormatError, TteError


def load_external_data(model: onnx.ModelProto, base_dir: Path | None, label: str) -> None:
    """Fill in every initializer stored outside the model, in place."""
    tensors = [t for t in model.graph.initializer if uses_external_data(t)]
    if not tensors:
        return
    if base_dir is None:
        raise TteError("the model keeps its weights in an external data file; load it from its path, "
                       "not from bytes", file=label)
    root = base_dir.resolve()
    for t in tensors:
        location = next((e.value for e in t.external_data if e.key == "location"), "")
        target = (root / location).resolve()
        if not location or Path(location).is_absolute() or root not in target.parents:
            raise ModelFormatError(f"external data of '{t.name}' points outside the model's folder "
                                   f"('{location}')", file=label)
        if not target.is_file():
            raise TteError(f"external data file '{location}' of '{t.name}' not found next to the model",
                           file=label)
    try:
        load_external_data_for_model(model, str(root))
    except (OSError, ValueError) as e:
        raise ModelFormatError(f"cannot read external data: {e}", file=label) from None
