"""A folder of class subfolders of images -> float images and labels, without an image library.

PNG (8 or 16 bits, gray, gray+alpha, RGB, RGBA, palette; not interlaced) and the netpbm
formats (PGM/PPM, P2/P3/P5/P6) are decoded here with zlib and numpy; other formats (JPEG, BMP)
go through Pillow when it is installed. Labels are the subfolders in sorted order.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from tte.errors import TteError

IMAGE_SUFFIXES = {".png", ".pgm", ".ppm", ".pnm", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def read_image_folder(folder: Path, hwc: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Images resized to ``hwc`` (height, width, channels), float32 NHWC in [0, 1], and labels."""
    classes = sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise TteError("an image folder needs one subfolder per class (e.g. data/cat/, data/dog/)", file=str(folder))
    xs, ys = [], []
    for label, d in enumerate(classes):
        files = sorted(f for f in d.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
        for f in files:
            xs.append(_fit(read_image(f), hwc))
            ys.append(label)
    if not xs:
        raise TteError(f"no images in the class subfolders ({', '.join(sorted(IMAGE_SUFFIXES))})", file=str(folder))
    return np.stack(xs).astype(np.float32), np.array(ys, np.int64)


def read_image(path: Path) -> np.ndarray:
    """One image as float32 (H, W, C) in [0, 1]; C is 1 (gray), 2, 3 (RGB) or 4."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise TteError(f"cannot read image: {e.strerror}", file=str(path)) from None
    try:
        if data.startswith(_PNG_SIGNATURE):
            return decode_png(data)
        if data[:2] in (b"P2", b"P3", b"P5", b"P6"):
            return decode_netpbm(data)
    except (ValueError, zlib.error, struct.error, IndexError) as e:
        raise TteError(f"cannot decode image: {e}", file=str(path)) from None
    return _read_with_pillow(path)


def _read_with_pillow(path: Path) -> np.ndarray:
    try:
        from PIL import Image
    except ImportError:
        raise TteError("tte reads PNG and PGM/PPM itself; other image formats need Pillow (pip install pillow)",
                       file=str(path)) from None
    try:
        with Image.open(path) as im:
            a = np.asarray(im.convert("RGBA" if "A" in im.getbands() else "RGB"))
    except OSError as e:
        raise TteError(f"cannot decode image: {e}", file=str(path)) from None
    return a.astype(np.float32) / 255.0


def decode_png(data: bytes) -> np.ndarray:
    pos, idat, palette, header = 8, [], None, None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = np.frombuffer(body, np.uint8).reshape(-1, 3)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if header is None:
        raise ValueError("PNG without IHDR")
    width, height, depth, color, _, _, interlace = header
    packed = color == 0 and depth in (1, 2, 4)  # grayscale below 8 bits (e.g. Omniglot's 1-bit strokes)
    if interlace or color not in _PNG_CHANNELS or (depth not in (8, 16) and not packed) or (color == 3 and depth != 8):
        raise ValueError(f"unsupported PNG (bit depth {depth}, color type {color}, interlace {interlace}); "
                         "save it as 8-bit non-interlaced")
    channels = _PNG_CHANNELS[color]
    bpp = max(1, channels * depth // 8)
    stride = -(-width * channels * depth // 8)
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8)
    if len(raw) != height * (stride + 1):
        raise ValueError("PNG image data has the wrong size")
    rows = raw.reshape(height, stride + 1)
    out = np.zeros((height, stride), np.uint8)
    prev = np.zeros(stride, np.int32)
    for r in range(height):
        kind, line = rows[r, 0], rows[r, 1:].astype(np.int32)
        cur = _unfilter(int(kind), line, prev, bpp)
        out[r] = cur
        prev = cur
    if packed:
        bits = np.unpackbits(out, axis=1).reshape(height, stride * 8 // depth, depth)[:, :width]
        level = (bits.astype(np.uint32) << np.arange(depth - 1, -1, -1, dtype=np.uint32)).sum(axis=-1)
        return (level.astype(np.float32) / float((1 << depth) - 1))[..., None]
    if depth == 16:
        img = out.reshape(height, width * channels, 2).astype(np.uint32)
        px = ((img[..., 0] << 8) | img[..., 1]).reshape(height, width, channels).astype(np.float32) / 65535.0
    else:
        px = out.reshape(height, width, channels).astype(np.float32) / 255.0
    if color == 3:
        if palette is None:
            raise ValueError("palette PNG without PLTE")
        px = palette[out.reshape(height, width)].astype(np.float32) / 255.0
    return px


def _unfilter(kind: int, line: np.ndarray, prev: np.ndarray, bpp: int) -> np.ndarray:
    if kind == 0:
        return line
    if kind == 2:
        return (line + prev) & 0xFF
    cur = np.zeros_like(line)
    for i in range(len(line)):  # Sub, Average, Paeth depend on the byte to the left: sequential
        a = int(cur[i - bpp]) if i >= bpp else 0
        b = int(prev[i])
        c = int(prev[i - bpp]) if i >= bpp else 0
        if kind == 1:
            pred = a
        elif kind == 3:
            pred = (a + b) // 2
        elif kind == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
        else:
            raise ValueError(f"PNG filter type {kind}")
        cur[i] = (int(line[i]) + pred) & 0xFF
    return cur


def decode_netpbm(data: bytes) -> np.ndarray:
    magic = data[:2]
    fields: list[bytes] = []
    pos = 2
    while len(fields) < 3:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        end = pos
        while end < len(data) and not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    width, height, maxval = (int(f) for f in fields)
    channels = 3 if magic in (b"P3", b"P6") else 1
    n = width * height * channels
    if magic in (b"P2", b"P3"):
        values = np.array(data[pos:].split()[:n], np.float32)
    else:
        pos += 1  # one whitespace byte after maxval
        dtype = np.dtype(">u2") if maxval > 255 else np.dtype(np.uint8)
        values = np.frombuffer(data[pos:pos + n * dtype.itemsize], dtype).astype(np.float32)
    if len(values) != n:
        raise ValueError(f"netpbm image has {len(values)} values, its header says {n}")
    return values.reshape(height, width, channels) / float(maxval)


def _fit(img: np.ndarray, hwc: tuple[int, int, int]) -> np.ndarray:
    """Drop alpha, match the channel count (gray <-> RGB), resize bilinearly."""
    from tte.training.data import fit_to

    h, w, c = hwc
    if img.shape[2] in (2, 4):
        img = img[..., :-1]
    if img.shape[2] != c:
        if c == 1:
            img = (img @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]  # ITU-R BT.601 luma
        elif img.shape[2] == 1:
            img = np.repeat(img, c, axis=2)
        else:
            raise TteError(f"cannot feed {img.shape[2]}-channel images to a model that takes {c} channels")
    if img.shape[:2] != (h, w):
        img = fit_to(img.transpose(2, 0, 1)[None], h, w)[0].transpose(1, 2, 0)
    return img.astype(np.float32)
