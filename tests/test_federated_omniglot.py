"""Omniglot for federated meta-learning, on a tiny synthetic copy of its zips: PNG decoding
(against Pillow), the alphabet splits, the official runs' labels, the pretrained baseline,
prequential online scoring, and the board check that refuses a model that does not fit."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import tte
from federated import make_task
from federated.client import device_for
from federated.device_report import board_report
from federated.online import prequential
from federated.pretrain import pretrain
from federated.tasks.base import Protocol
from federated.tasks.omniglot import TEST_ALPHABETS, TRAIN_ALPHABETS, VALIDATION_ALPHABETS, OmniglotTask, to_input
from federated.tasks.sine import SineTask
from tte.cli import main
from tte.errors import TteError
from tte.training.images import decode_png

ALPHABETS = (*TRAIN_ALPHABETS, *VALIDATION_ALPHABETS, *TEST_ALPHABETS)
CHARS, DRAWINGS = 5, 4


def png_1bit(ink: np.ndarray) -> bytes:
    """A 1-bit PNG written by Pillow (white background, ink black, like Omniglot)."""
    buf = io.BytesIO()
    Image.fromarray(~ink).convert("1").save(buf, format="PNG")
    return buf.getvalue()


def glyph(alphabet: int, char: int, drawing: int) -> np.ndarray:
    """105x105 ink: the alphabet's column band, the character's row band, a drawing's jitter."""
    ink = np.zeros((105, 105), bool)
    top, left = 10 * char + drawing, 11 * alphabet
    ink[top:top + 8, left:left + 9] = True
    return ink


def alphabet_of(img: np.ndarray) -> int:
    """Which alphabet a 28x28 input shows (the column of its ink)."""
    cols = img[..., 0].sum(axis=0)
    return int(round((np.average(np.arange(28) + 0.5, weights=cols) * 105 / 28 - 4.5) / 11))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    folder = root / "omniglot"
    folder.mkdir()
    halves = {"images_background_small1.zip": ALPHABETS[:5], "images_background_small2.zip": ALPHABETS[4:]}
    halves["images_background_small2.zip"] += ("Greek",)  # in both zips, as in the real ones
    for zname, alphabets in halves.items():
        top = zname[:-4]
        with zipfile.ZipFile(folder / zname, "w") as z:
            for a in alphabets:
                for c in range(CHARS):
                    for d in range(DRAWINGS):
                        z.writestr(f"{top}/{a}/character{c + 1:02d}/{c:04d}_{d + 1:02d}.png",
                                   png_1bit(glyph(ALPHABETS.index(a), c, d)))
    with zipfile.ZipFile(folder / "all_runs.zip", "w") as z:
        for r in (1, 2):
            lines = []
            for k, c in enumerate((3, 0, 2, 1)):  # test item k shows training class c
                z.writestr(f"run{r:02d}/training/class{k + 1:02d}.png", png_1bit(glyph(r, k, 0)))
                z.writestr(f"run{r:02d}/test/item{k + 1:02d}.png", png_1bit(glyph(r, c, 0)))
                lines.append(f"run{r:02d}/test/item{k + 1:02d}.png run{r:02d}/training/class{c + 1:02d}.png")
            z.writestr(f"run{r:02d}/class_labels.txt", "\n".join(lines) + "\n")
    return root


@pytest.fixture
def omniglot_env(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TTE_DATA_DIR", str(data_dir))
    return data_dir


@pytest.mark.parametrize("shape", [(105, 105), (7, 13), (3, 17)])
def test_decode_png_reads_1_bit_grayscale_like_pillow(shape: tuple[int, int]) -> None:
    ink = np.random.default_rng(0).random(shape) < 0.3
    data = png_1bit(ink)
    want = np.asarray(Image.open(io.BytesIO(data)).convert("L"), np.float32) / 255.0
    assert np.array_equal(decode_png(data)[..., 0], want)


def test_downsampling_keeps_the_ink() -> None:
    ink = glyph(2, 3, 1)
    img = to_input(png_1bit(ink))
    assert img.shape == (28, 28, 1)
    assert img.sum() == pytest.approx(ink.sum() * (28 / 105) ** 2, rel=1e-5)
    assert np.allclose(to_input(png_1bit(np.ones((105, 105), bool))), 1.0)


def test_devices_draw_from_disjoint_alphabets(omniglot_env: Path) -> None:
    task = OmniglotTask(4, 0)
    assert task.alphabets["Greek"].shape == (CHARS, DRAWINGS, 28, 28, 1)  # read once, not from both zips
    groups = {"train": (task.device, TRAIN_ALPHABETS), "validation": (task.validation_device, VALIDATION_ALPHABETS),
              "test": (task.heldout_device, TEST_ALPHABETS)}
    for split, (device, alphabets) in groups.items():
        allowed = {ALPHABETS.index(a) for a in alphabets}
        for j in range(3):
            d = device(j)
            for xs, ys in (d.pool, d.support, d.query):
                assert {alphabet_of(x) for x in xs} <= allowed, split
                assert set(ys.tolist()) <= set(range(task.n_way))
            assert len(d.support[0]) == task.n_way * task.k_shot


def test_official_runs_label_each_test_item_with_its_training_class(omniglot_env: Path) -> None:
    task = OmniglotTask(4, 0, n_way=20, k_shot=1, official=True)
    assert task.n_heldout == 2
    for j in range(2):
        d = task.heldout_device(j)
        sx, sy = d.support
        qx, qy = d.query
        assert qy.tolist() == [3, 0, 2, 1]
        for x, y in zip(qx, qy):
            assert np.array_equal(x, sx[list(sy).index(y)])


def test_missing_data_is_a_clear_cli_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTE_DATA_DIR", "")  # restored afterwards: --data-dir sets it for Flower's workers
    res = CliRunner().invoke(main, ["fed", "run", "--task", "omniglot", "--data-dir", str(tmp_path), "--rounds", "1"])
    assert res.exit_code == 2
    assert "Omniglot files missing" in res.output and "brendenlake/omniglot" in res.output


def test_pretrained_baseline_trains_the_body_and_keeps_a_fresh_head(omniglot_env: Path) -> None:
    task = OmniglotTask(4, 0)
    init = task.spec.initial_params()
    params = pretrain(task, samples=40, lr=0.05, seed=0)
    for name in task.spec.head:
        assert np.array_equal(params[name], init[name])
    assert all(not np.array_equal(params[n], init[n]) for n in init if n.endswith(".w") and n not in task.spec.head)
    with pytest.raises(TteError, match="pretrain"):
        pretrain(make_task("sine", 2, 0), samples=4, lr=0.01, seed=0)


def test_prequential_scores_each_sample_before_learning_it() -> None:
    task = make_task("sine", 2, 0)
    params = task.spec.initial_params()
    scores = prequential(task, params, seed=0, n_devices=2, samples=30, lr=0.05)
    q = task.spec.device_graph(params)
    for j in range(2):
        xs, ys = device_for(task, j, split="test").data.stream(np.random.default_rng([0, j, 17]), 30)
        untrained = np.asarray(tte.run(q, xs[:1]), np.float32).reshape(-1)
        assert scores[j, 0] == pytest.approx(float(np.mean((untrained - ys[0]) ** 2)), rel=1e-6)
    assert scores[:, -10:].mean() < scores[:, :10].mean()  # it learns from the stream


def test_a_model_that_does_not_fit_the_board_is_refused() -> None:
    task = SineTask(2, 0, Protocol(memory_budget=1024))
    with pytest.raises(TteError, match="does not fit stm32f746g-disco"):
        board_report(task, code_size=())
    fits = board_report(SineTask(2, 0), ("rp2040",), code_size=())["rp2040"]
    assert 0 < fits["peak_sram_bytes"] <= fits["budget_bytes"]


def wav_bytes(freq: float, rate: int = 8000, seconds: float = 0.4) -> bytes:
    import wave
    t = np.arange(int(rate * seconds)) / rate
    pcm = (0.3 * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def test_fsdd_speakers_split_by_speaker_and_by_official_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tarfile

    from federated.tasks.fsdd_speakers import VALIDATION_SPEAKER, FsddSpeakerTask
    folder = tmp_path / "fsdd"
    folder.mkdir()
    speakers = ["anna", "bob", VALIDATION_SPEAKER, "carl"]
    with tarfile.open(folder / "recordings.tar", "w") as tar:
        for s, spk in enumerate(speakers):
            for digit in range(10):
                for index in range(7):
                    data = wav_bytes(200 + 100 * digit + 10 * s)
                    info = tarfile.TarInfo(f"recordings/{digit}_{spk}_{index}.wav")
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
    monkeypatch.setenv("TTE_DATA_DIR", str(tmp_path))
    tests = set()
    for seed in range(3):
        task = FsddSpeakerTask(2, seed)
        train, test, val = task.split
        assert val == VALIDATION_SPEAKER and test != val and test not in train
        tests.add(test)
        d = task.heldout_device(0)
        assert d.support[0].shape == (10 * task.k_shot, 500) and d.query[0].shape == (50, 500)
        assert sorted(d.support[1].tolist()) == sorted(list(range(10)) * task.k_shot)
    assert tests == {"anna", "bob", "carl"}  # the seeds cycle through the non-validation speakers
