"""The user's own data, one format for every command: read it, check it, fit it to the model.

Accepted everywhere a command takes data (`train --data`, `--calibration`, `run/build --inputs`):

* ``.npz`` with ``x`` (float, in the source model's layout, as the user trained it: NCHW for
  an ONNX CNN, (N, features) for an MLP) and ``y`` (int class labels, or float targets for a
  regression model). A model tte exported as .tflite takes NHWC; NCHW ``x`` is transposed for it.
* a folder of class subfolders of images (``data/cat/*.png``, ``data/dog/*.png``): labels are
  the subfolders in sorted order; images are resized to the model's input, pixels in [0, 1].
* ``.csv``: one sample per row, the features in the model's layout order (row-major), the label
  in a column named ``label`` or ``y`` (else the last column); a header row is optional.
* ``.npy`` (calibration only): ``x`` alone.

``input_scale`` multiplies every input (255 for a model trained on 0..255 pixels). Everything
is checked before anything runs; a problem is one TteError naming the file: wrong shape or
per-sample size, labels outside the model's classes (or -1, or not integers), NaN/Inf.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tte.errors import TteError
from tte.ir import Graph
from tte.layout import source_shape


@dataclass(frozen=True)
class ModelInput:
    """What a model takes and gives, as far as data is concerned."""

    shape: tuple[int, ...]      # one sample, in the source model's layout (no batch axis)
    layout: str                 # "NCHW", "NHWC" or "flat" (anything that is not an image)
    classes: int | None         # number of classes; None for a regression model
    target_shape: tuple[int, ...] = ()  # one regression target

    @staticmethod
    def of_graph(graph: Graph, *, loss: str = "softmax_ce") -> ModelInput:
        if len(graph.inputs) != 1:
            raise TteError(f"tte reads data for single-input models; this one has {len(graph.inputs)}")
        t = graph.tensors[graph.inputs[0]]
        shape = source_shape(t)[1:]
        out = source_shape(graph.tensors[graph.outputs[0]])[1:]
        if loss == "softmax_ce":
            return ModelInput(shape, _layout(len(shape) + 1, t.source_perm), int(np.prod(out)))
        return ModelInput(shape, _layout(len(shape) + 1, t.source_perm), None, out)

    @staticmethod
    def of_report(input_info: dict[str, object], classes: int) -> ModelInput:
        shape = tuple(int(v) for v in input_info["source_shape"])[1:]  # type: ignore[attr-defined]
        perm = input_info.get("source_perm")
        return ModelInput(shape, _layout(len(shape) + 1, tuple(perm) if perm else None),  # type: ignore[arg-type]
                          classes)

    @property
    def image_hwc(self) -> tuple[int, int, int] | None:
        if self.layout == "NCHW":
            c, h, w = self.shape
            return h, w, c
        if self.layout == "NHWC":
            h, w, c = self.shape
            return h, w, c
        return None

    def describe(self) -> str:
        dims = f"({self.shape[0]},)" if len(self.shape) == 1 else f"({', '.join(map(str, self.shape))})"
        return dims + (f" {self.layout}" if self.layout != "flat" else "")


def _layout(rank: int, perm: tuple[int, ...] | None) -> str:
    if rank != 4:
        return "flat"
    return "NCHW" if perm == (0, 3, 1, 2) else "NHWC"


@dataclass
class Samples:
    x: np.ndarray            # float32, (N, *model input), source layout, input_scale applied
    y: np.ndarray | None     # int64 labels (N,) or float32 targets (N, *target)
    file: str


def read_samples(spec: str, model: ModelInput, *, labels: bool = True, input_scale: float = 1.0) -> Samples:
    """Read the user's data and check it against ``model``; see the module docstring."""
    p = Path(spec)
    if not p.exists():
        raise TteError("no such data file or folder", file=spec)
    if not (np.isfinite(input_scale) and input_scale > 0):
        raise TteError(f"--input-scale must be a positive number, got {input_scale}")
    suffix = p.suffix.lower()
    if p.is_dir():
        from tte.training.images import read_image_folder

        hwc = model.image_hwc
        if hwc is None:
            raise TteError(f"an image folder needs an image model; this model takes {model.describe()}", file=spec)
        x, y = read_image_folder(p, hwc)
        if model.layout == "NCHW":
            x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    elif suffix == ".npz":
        x, y = _read_npz(p, labels)
    elif suffix == ".npy":
        x, y = _read_npy(p), None
    elif suffix == ".csv":
        x, y = _read_csv(p, labels, int(np.prod(model.shape)))
    else:
        raise TteError("unknown data format (give an .npz with x and y, a .csv, or a folder of class "
                       "subfolders of images)", file=spec)
    x = _fit_shape(x, model, spec) * np.float32(input_scale)
    if not np.all(np.isfinite(x)):
        bad = int(np.argwhere(~np.isfinite(x.reshape(len(x), -1)))[0][0])
        raise TteError(f"x holds NaN or Inf (first in sample {bad})", file=spec)
    if labels:
        if y is None:
            raise TteError("no labels: an .npz needs an array y beside x", file=spec)
        y = check_targets(y, len(x), model, spec)
    return Samples(x, y if labels else None, spec)


def _read_npz(p: Path, labels: bool) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        with np.load(p, allow_pickle=False) as z:
            if "x" not in z.files:
                raise TteError(f"an .npz of data needs an array x (and y), found {', '.join(z.files) or 'none'}",
                               file=str(p))
            x = np.asarray(z["x"])
            y = np.asarray(z["y"]) if "y" in z.files else None
    except (OSError, ValueError, EOFError) as e:
        raise TteError(f"cannot read .npz: {e}", file=str(p)) from None
    return _float_x(x, p), y


def _read_npy(p: Path) -> np.ndarray:
    try:
        x = np.load(p, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise TteError(f"cannot read .npy: {e}", file=str(p)) from None
    return _float_x(np.asarray(x), p)


def _float_x(x: np.ndarray, p: Path) -> np.ndarray:
    if x.dtype.kind not in "fiub":
        raise TteError(f"x must hold numbers, got dtype {x.dtype}", file=str(p))
    if x.ndim < 1 or len(x) == 0:
        raise TteError("x holds no samples", file=str(p))
    return x.astype(np.float32)


def _read_csv(p: Path, labels: bool, features: int) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        with open(p, newline="") as f:
            rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise TteError(f"cannot read .csv: {e}", file=str(p)) from None
    if not rows:
        raise TteError("the .csv holds no rows", file=str(p))
    header = None
    if not all(_is_number(c) for c in rows[0]):
        header, rows = [c.strip().lower() for c in rows[0]], rows[1:]
    if not rows:
        raise TteError("the .csv holds a header and no samples", file=str(p))
    width = len(rows[0])
    for i, r in enumerate(rows):
        if len(r) != width:
            raise TteError(f"row {i + 1 + (header is not None)} has {len(r)} columns, the first has {width}",
                           file=str(p))
    try:
        table = np.array([[float(c) for c in r] for r in rows], np.float64)
    except ValueError as e:
        raise TteError(f"the .csv holds a value that is not a number ({e})", file=str(p)) from None
    label_col = None
    if header is not None:
        label_col = next((header.index(n) for n in ("label", "y") if n in header), None)
    if label_col is None and width == features + 1:
        label_col = width - 1
    if label_col is None:
        if labels or width != features:
            raise TteError(f"rows have {width} columns; the model takes {features} features "
                           f"{'plus a label' if labels else ''}".rstrip(), file=str(p))
        return table.astype(np.float32), None
    x = np.delete(table, label_col, axis=1).astype(np.float32)
    return x, table[:, label_col]


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _fit_shape(x: np.ndarray, model: ModelInput, spec: str) -> np.ndarray:
    """x in the model's source layout: as given, a flat row (CSV), or NCHW <-> NHWC for an image."""
    want = model.shape
    if x.shape[1:] == want:
        return x
    if x.ndim == 2 and x.shape[1] == int(np.prod(want)) and (model.layout == "flat" or spec.endswith(".csv")):
        return x.reshape((len(x), *want))
    if model.layout in ("NCHW", "NHWC") and x.ndim == 4:
        perm = (0, 3, 1, 2) if model.layout == "NCHW" else (0, 2, 3, 1)
        if tuple(x.shape[i] for i in perm)[1:] == want:
            return np.ascontiguousarray(x.transpose(perm))
    per = int(np.prod(x.shape[1:])) if x.ndim > 1 else 1
    what = "per-sample size" if per != int(np.prod(want)) else "shape"
    raise TteError(f"x has {what} {tuple(x.shape[1:])} ({per} values); the model takes {model.describe()} "
                   f"({int(np.prod(want))} values) per sample", file=spec)


def check_targets(y: np.ndarray, n: int, model: ModelInput, spec: str | None = None) -> np.ndarray:
    """Labels (int64, in the model's classes) or regression targets (float32); TteError otherwise."""
    if y.dtype.kind not in "fiub":
        raise TteError(f"y must hold numbers, got dtype {y.dtype}", file=spec)
    if len(y) != n:
        raise TteError(f"y has {len(y)} entries, x has {n} samples", file=spec)
    yf = y.astype(np.float64)
    if not np.all(np.isfinite(yf)):
        bad = int(np.argwhere(~np.isfinite(yf.reshape(n, -1)))[0][0])
        raise TteError(f"y holds NaN or Inf (first in sample {bad})", file=spec)
    if model.classes is None:
        want = model.target_shape
        if y.shape[1:] != want and int(np.prod(y.shape[1:])) != int(np.prod(want)):
            raise TteError(f"y has targets of shape {tuple(y.shape[1:])}, the model outputs {want}", file=spec)
        return yf.astype(np.float32).reshape((n, *want))
    if y.ndim != 1:
        raise TteError(f"y must be one class label per sample, got shape {y.shape}", file=spec)
    frac = yf != np.round(yf)
    if np.any(frac):
        i = int(np.argmax(frac))
        raise TteError(f"labels must be integers; sample {i} has {yf[i]:g}", file=spec)
    out = (yf < 0) | (yf >= model.classes)
    if np.any(out):
        i = int(np.argmax(out))
        raise TteError(f"label {int(yf[i])} (sample {i}) is outside the model's {model.classes} classes "
                       f"0..{model.classes - 1}" + ("; -1 is not a label (drop unlabeled samples)"
                                                      if yf[i] == -1 else ""), file=spec)
    return yf.astype(np.int64)


def is_builtin(spec: str) -> bool:
    from tte.training.data import available_datasets

    return spec.lower().replace("_", "-") in available_datasets() and not Path(spec).exists()


def load_data(spec: str, model: ModelInput, *, split: str = "train", labels: bool = True,
              input_scale: float = 1.0) -> Samples:
    """The user's data (see read_samples) or a built-in data set by name, fitted to ``model``."""
    if not is_builtin(spec):
        return read_samples(spec, model, labels=labels, input_scale=input_scale)
    from tte.training.data import load_dataset, match_input

    x, y = load_dataset(spec, split)
    hwc = model.image_hwc
    if hwc is None or min(hwc[:2]) == 1 or hwc[2] not in (1, 3):
        raise TteError(f"data set '{spec}' holds {x.shape[2]}x{x.shape[3]} images; the model takes "
                       f"{model.describe()}: give your own data (.npz with x and y, a .csv or an image folder)")
    h, w, c = hwc
    x = match_input(x, (1, c, h, w))
    if model.layout == "NHWC":
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    x = x * np.float32(input_scale)
    return Samples(x, check_targets(y, len(x), model, f"data set '{spec}'") if labels else None, spec)
