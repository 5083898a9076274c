"""The audio front end against first principles: a hand-written DFT, the analytic mel scale, known
sines (where their energy must land), and WAVs written by the standard library's ``wave``."""

from __future__ import annotations

import io
import math
import tarfile
import wave
from pathlib import Path

import numpy as np
import pytest

from tte.errors import TteError
from tte.training.audio import FrontEnd, fit_length, frame_signal, hz_to_mel, power_spectrum, resample
from tte.training.fsdd import read_fsdd, split


def test_power_spectrum_is_the_windowed_dft_summed_by_hand() -> None:
    rng = np.random.default_rng(0)
    frame = rng.normal(size=48)
    n_fft = 64
    got = power_spectrum(frame[None, :], n_fft)[0]
    for k in range(n_fft // 2 + 1):
        re = im = 0.0
        for t in range(48):
            w = 0.5 - 0.5 * math.cos(2 * math.pi * t / 48)
            re += frame[t] * w * math.cos(2 * math.pi * k * t / n_fft)
            im -= frame[t] * w * math.sin(2 * math.pi * k * t / n_fft)
        assert got[k] == pytest.approx(re * re + im * im, rel=1e-9, abs=1e-9)


def test_htk_mel_scale_known_points() -> None:
    assert float(hz_to_mel(0.0)) == 0.0
    assert float(hz_to_mel(700.0)) == pytest.approx(2595 * math.log10(2))
    assert float(hz_to_mel(1000.0)) == pytest.approx(1000.0, abs=0.1)  # the scale's anchor


def test_upsampling_a_sine_gives_the_same_sine_at_the_new_rate() -> None:
    t8 = np.arange(8000) / 8000
    t16 = np.arange(16000) / 16000
    for f in (440.0, 1000.0, 3000.0):  # whole cycles in 1 s: periodic, so the FFT resampler is exact
        up = resample(np.sin(2 * np.pi * f * t8), 8000, 16000)
        np.testing.assert_allclose(up, np.sin(2 * np.pi * f * t16), atol=1e-9)


@pytest.mark.parametrize("freq", [300.0, 700.0, 1500.0, 3000.0])
def test_a_sines_energy_peaks_in_the_filter_centred_nearest_it(freq: float) -> None:
    fe = FrontEnd()
    t = np.arange(8000) / 8000
    feats = fe(0.5 * np.sin(2 * np.pi * freq * t), 8000)
    assert feats.shape == (50, 10)
    # filter centres from the mel scale's definition: 10 + 2 edges evenly spaced in mel
    m_lo, m_hi = (2595 * math.log10(1 + f / 700) for f in (fe.lower_hz, fe.upper_hz))
    centres = [700 * (10 ** ((m_lo + (j + 1) * (m_hi - m_lo) / 11) / 2595) - 1) for j in range(10)]
    nearest = int(np.argmin([abs(math.log(c / freq)) for c in centres]))
    mid = feats[10:40]  # frames fully inside the 1 s tone (the clip is centred in 1.01 s)
    assert (np.argmax(mid, axis=1) == nearest).all()
    # and twice the amplitude is ln 2 more in every filter that sees the tone
    loud = fe(1.0 * np.sin(2 * np.pi * freq * t), 8000)[10:40]
    np.testing.assert_allclose((loud - mid)[:, nearest], math.log(2), atol=1e-4)


def test_framing_and_length() -> None:
    fe = FrontEnd()
    assert (fe.window, fe.stride, fe.samples) == (480, 320, 480 + 49 * 320)
    x = np.arange(10.0)
    np.testing.assert_array_equal(fit_length(x, 14), [0, 0, *range(10), 0, 0])
    np.testing.assert_array_equal(fit_length(x, 4), [3, 4, 5, 6])
    f = frame_signal(np.arange(10.0), 4, 3)
    np.testing.assert_array_equal(f, [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]])
    with pytest.raises(TteError, match="shorter than one"):
        frame_signal(np.arange(3.0), 4, 3)


def _wav(samples: np.ndarray, rate: int = 8000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
    return buf.getvalue()


def _tar(path: Path, files: dict[str, bytes]) -> None:
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_fsdd_reader_reads_names_samples_and_the_official_split(tmp_path: Path) -> None:
    a = np.array([0, 16384, -32768, 32767], np.int16)
    _tar(tmp_path / "recordings.tar", {"recordings/3_theo_4.wav": _wav(a), "recordings/3_theo_12.wav": _wav(a[:2]),
                                       "recordings/README": b"x"})
    recs = read_fsdd(tmp_path)
    assert [(r.digit, r.speaker, r.index, r.rate) for r in recs] == [(3, "theo", 4, 8000), (3, "theo", 12, 8000)]
    np.testing.assert_array_equal(recs[0].samples, [0.0, 0.5, -1.0, 32767 / 32768])
    train, test = split(recs)
    assert [r.index for r in train] == [12] and [r.index for r in test] == [4]


def test_fsdd_reader_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(TteError, match="recordings.tar not found"):
        read_fsdd(tmp_path)
    _tar(tmp_path / "recordings.tar", {"recordings/1_x_0.wav": b"not a wav"})
    with pytest.raises(TteError, match="1_x_0.wav: not a readable WAV"):
        read_fsdd(tmp_path)


def test_fit_range_sends_the_references_percentiles_to_the_ends_and_clips() -> None:
    from tte.training.audio import fit_range

    ref = np.arange(101.0)  # its 1st and 99th percentiles are 1 and 99
    np.testing.assert_allclose(fit_range(np.array([-5.0, 1.0, 50.0, 99.0, 200.0]), ref, 0.0, 196.0),
                               [0.0, 0.0, 98.0, 196.0, 196.0], rtol=1e-6)
