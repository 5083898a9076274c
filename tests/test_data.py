"""Offline data loaders: shapes, dtypes, ranges, class balance and clear errors."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

import tte.training.data as data
from tte.errors import TteError
from tte.training.data import available_datasets, digits, fashion_mnist, load_dataset, read_idx

needs_fmnist = pytest.mark.skipif(not (data.FASHION_MNIST_DIR / "t10k-labels-idx1-ubyte.gz").is_file(),
                                  reason="Debian package dataset-fashion-mnist not installed")


def _check_images(x: np.ndarray, y: np.ndarray, n: int, hw: int) -> None:
    assert x.shape == (n, 1, hw, hw) and x.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.int64
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    assert set(np.unique(y)) == set(range(10))


@needs_fmnist
def test_fashion_mnist_test_split() -> None:
    x, y = fashion_mnist("test")
    _check_images(x, y, 10_000, 28)
    assert np.bincount(y).tolist() == [1000] * 10   # the published test set is balanced


@needs_fmnist
def test_fashion_mnist_train_split() -> None:
    x, y = load_dataset("fashion_mnist", "train")
    _check_images(x, y, 60_000, 28)
    assert np.bincount(y).tolist() == [6000] * 10
    assert x.flags.c_contiguous


def test_fashion_mnist_missing_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TTE_FASHION_MNIST_DIR", raising=False)
    monkeypatch.setattr(data, "FASHION_MNIST_DIR", tmp_path / "absent")
    with pytest.raises(TteError) as err:
        fashion_mnist("test")
    msg = str(err.value)
    assert str(tmp_path / "absent" / "t10k-images-idx3-ubyte.gz") in msg
    assert "apt-get install dataset-fashion-mnist" in msg


def test_fashion_mnist_env_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", 0x08, images)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", 0x08, np.array([3, 7], dtype=np.uint8))
    monkeypatch.setenv("TTE_FASHION_MNIST_DIR", str(tmp_path))
    x, y = fashion_mnist("test")
    assert x.shape == (2, 1, 28, 28) and y.tolist() == [3, 7]
    np.testing.assert_allclose(x[:, 0] * 255.0, images, atol=1e-4)


def _write_idx(path: Path, type_code: int, array: np.ndarray) -> None:
    header = bytes([0, 0, type_code, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())


def test_read_idx_rejects_bad_files(tmp_path: Path) -> None:
    bad_magic = tmp_path / "bad.gz"
    with gzip.open(bad_magic, "wb") as f:
        f.write(b"\x1f\x00\x08\x01\x00\x00\x00\x01\x00")
    with pytest.raises(TteError, match="bad magic"):
        read_idx(bad_magic)
    truncated = tmp_path / "short.gz"
    _write_idx(truncated, 0x08, np.zeros(4, dtype=np.uint8))
    with gzip.open(truncated, "rb") as f:
        raw = f.read()
    with gzip.open(truncated, "wb") as f:
        f.write(raw[:-1])
    with pytest.raises(TteError, match="payload"):
        read_idx(truncated)
    with pytest.raises(TteError, match="cannot read"):
        read_idx(tmp_path / "missing.gz")


def test_digits_splits() -> None:
    pytest.importorskip("sklearn")
    x_train, y_train = digits("train")
    x_test, y_test = load_dataset("digits", "test")
    _check_images(x_train, y_train, len(y_train), 8)
    _check_images(x_test, y_test, len(y_test), 8)
    assert len(y_train) + len(y_test) == 1797
    assert 350 <= len(y_test) <= 370
    x_again, _ = digits("train")
    assert np.array_equal(x_train, x_again)   # deterministic
    assert np.bincount(y_test).min() >= 34    # stratified: every class is in the test split


def test_stratified_split_is_a_partition() -> None:
    labels = np.repeat(np.arange(5), [10, 11, 12, 13, 14])
    train, test = data._stratified_split(labels, test_fraction=0.2, seed=0)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(len(labels)))
    assert np.bincount(labels[test]).tolist() == [2, 2, 2, 3, 3]


def test_dispatcher_errors() -> None:
    assert available_datasets() == ["digits", "fashion-mnist", "lfw-faces", "mnist"]
    with pytest.raises(TteError, match="unknown data set"):
        load_dataset("cifar10")
    with pytest.raises(TteError, match="unknown split"):
        load_dataset("digits", "validation")


@pytest.mark.parametrize("name, shape, per_class", [("mnist", (1, 28, 28), (400, 100)),
                                                    ("lfw-faces", (1, 25, 25), (80, 20))])
def test_wheel_data_sets(name: str, shape: tuple[int, ...], per_class: tuple[int, int]) -> None:
    for split, n in zip(("train", "test"), per_class):
        x, y = load_dataset(name, split)
        assert x.shape[1:] == shape and x.dtype == np.float32 and y.dtype == np.int64
        assert 0.0 <= x.min() and x.max() <= 1.0 and x.max() > 0.5
        assert set(np.bincount(y)) == {n}


def test_match_input_resizes_and_repeats_channels() -> None:
    from tte.training.data import match_input

    x, _ = load_dataset("digits", "test")
    m = match_input(x[:3], (1, 3, 28, 28))
    assert m.shape == (3, 3, 28, 28)
    np.testing.assert_array_equal(m[:, 0], m[:, 2])
    # bilinear resizing keeps the mean brightness of a smooth image
    assert abs(float(m.mean()) - float(x[:3].mean())) < 0.05
