"""The Free Spoken Digit Dataset (Zohar Jackson et al., CC BY-SA 4.0), read where it lies.

``recordings.tar`` holds 8 kHz mono 16-bit WAVs named ``{digit}_{speaker}_{index}.wav``; the
official test split is indices 0-4 of every (digit, speaker). Nothing is copied: the archive is
read in place (``/work/shared/data/fsdd`` by default, ``data_dir`` otherwise).
"""

from __future__ import annotations

import io
import re
import tarfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tte.errors import TteError

__all__ = ["DEFAULT_DIR", "Recording", "read_fsdd", "split"]

DEFAULT_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "fsdd"
WHERE = "github.com/Jakobovski/free-spoken-digit-dataset (recordings/ as recordings.tar)"
_NAME = re.compile(r"(?:.*/)?(\d)_([A-Za-z]+)_(\d+)\.wav$")
TEST_INDICES = range(5)


@dataclass(frozen=True)
class Recording:
    digit: int
    speaker: str
    index: int
    rate: int
    samples: np.ndarray  # float32 in [-1, 1)


def _decode(data: bytes, where: str) -> tuple[int, np.ndarray]:
    try:
        with wave.open(io.BytesIO(data)) as w:
            if w.getnchannels() != 1 or w.getsampwidth() != 2:
                raise TteError(f"{where}: expected mono 16-bit PCM, got {w.getnchannels()} channel(s) of "
                               f"{8 * w.getsampwidth()} bits")
            rate, frames = w.getframerate(), w.readframes(w.getnframes())
    except (wave.Error, EOFError) as e:
        raise TteError(f"{where}: not a readable WAV file ({e})") from e
    return rate, (np.frombuffer(frames, "<i2").astype(np.float32) / 32768.0)


def read_fsdd(data_dir: str | Path | None = None) -> list[Recording]:
    """Every recording in ``data_dir/recordings.tar``, sorted by (speaker, digit, index)."""
    path = Path(data_dir or DEFAULT_DIR) / "recordings.tar"
    if not path.is_file():
        raise TteError(f"FSDD: {path} not found; get recordings/ from {WHERE} and pass its folder as --data-dir")
    out = []
    try:
        with tarfile.open(path) as tar:
            for member in tar:
                m = _NAME.match(member.name)
                if not member.isfile() or m is None:
                    continue
                f = tar.extractfile(member)
                assert f is not None
                rate, samples = _decode(f.read(), f"{path}:{member.name}")
                out.append(Recording(int(m.group(1)), m.group(2), int(m.group(3)), rate, samples))
    except tarfile.TarError as e:
        raise TteError(f"FSDD: {path} is not a readable tar archive ({e})") from e
    if not out:
        raise TteError(f"FSDD: {path} holds no {{digit}}_{{speaker}}_{{index}}.wav recordings")
    return sorted(out, key=lambda r: (r.speaker, r.digit, r.index))


def split(recordings: list[Recording]) -> tuple[list[Recording], list[Recording]]:
    """(train, test) by the official rule: indices 0-4 are test."""
    test = [r for r in recordings if r.index in TEST_INDICES]
    return [r for r in recordings if r.index not in TEST_INDICES], test
