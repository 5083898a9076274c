"""A board that runs tte firmware with its command stream on a UART (`tte build --in uart`), reached
through a serial port: a USB-serial adapter on a real board, or QEMU's emulated UART on a pty
(`qemu-system-arm ... -serial pty`). The records and replies are the firmware's (firmware/src/main.c),
one command at a time; the port is opened raw with termios (no pyserial).

A host that joins a running board has missed the size line the firmware prints at start, so the
first command is 'R', which asks for it again: the answer shows that tte firmware is there and
which model it was built for (input, output, trainable and arena bytes).

    board = SerialBoard("/dev/ttyACM0"); board.trainable_bytes; board.crc()
"""

from __future__ import annotations

import os
import select
import struct
import termios
import threading
import time
import tty
from typing import Any

import numpy as np

from tte.errors import TteError
from tte.targets.qemu import Stream, record

DEFAULT_BAUD = 115200


def configure_raw(fd: int, baud: int) -> None:
    """Raw bytes at `baud` on a tty; modem lines ignored, and no hang-up on close (which resets boards
    whose USB bridge ties DTR to reset)."""
    speed = getattr(termios, f"B{baud}", None)
    if speed is None:
        raise TteError(f"unsupported baud rate {baud}")
    tty.setraw(fd)
    attrs = termios.tcgetattr(fd)
    attrs[4] = attrs[5] = speed  # ispeed, ospeed
    attrs[2] = (attrs[2] | termios.CLOCAL | termios.CREAD) & ~termios.HUPCL
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


def open_port(port: str, baud: int = DEFAULT_BAUD) -> int:
    """A raw, non-blocking file descriptor on a serial port (a tty: a UART adapter or a pty)."""
    if getattr(termios, f"B{baud}", None) is None:
        raise TteError(f"unsupported baud rate {baud}")
    try:
        fd = os.open(port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise TteError(f"serial port {port} does not exist") from None
    except OSError as e:
        raise TteError(f"cannot open serial port {port}: {e.strerror}") from None
    if not os.isatty(fd):
        os.close(fd)
        raise TteError(f"{port} is not a serial port (not a tty)")
    configure_raw(fd, baud)
    return fd


class SerialBoard:
    """tte firmware behind a serial port. Commands are serialized by `lock` (an RLock: hold it over
    a sequence of commands that must not interleave with another thread's)."""

    def __init__(self, port: str, *, baud: int = DEFAULT_BAUD, timeout: float = 5.0) -> None:
        self.port, self.timeout = port, timeout
        self.lock = threading.RLock()
        self.fd = open_port(port, baud)
        self._buf = b""
        self.current: Any = None  # what the host last loaded onto the board (fleet.bridge)
        self.restarts = 0  # resets seen (start-up lines that came unasked)
        try:
            self._drain()
            try:
                sizes = self._command(record("R"), "R")
            except TteError as e:
                raise TteError(f"no answer from tte firmware on {port} within {timeout:g} s "
                               f"(is a UART build running there? {e})") from None
            self.input_bytes, self.output_bytes, self.trainable_bytes, self.arena_bytes = map(int, sizes.split())
        except BaseException:
            os.close(self.fd)
            raise

    def _drain(self, quiet: float = 0.1) -> None:
        """Drop what the board sent before we came (a start-up line, half a reply)."""
        while select.select([self.fd], [], [], quiet)[0]:
            try:
                if not os.read(self.fd, 1 << 16):
                    return
            except BlockingIOError:
                return
        self._buf = b""

    def _send(self, data: bytes) -> None:
        view = memoryview(data)
        deadline = time.monotonic() + self.timeout
        while view:
            if not select.select([], [self.fd], [], 0.2)[1]:
                if time.monotonic() > deadline:
                    raise TteError(f"the board on {self.port} takes no input")
                continue
            try:
                view = view[os.write(self.fd, view):]
            except BlockingIOError:
                continue
            except OSError as e:
                raise TteError(f"serial port {self.port}: {e.strerror}") from None

    def _read(self, wait: float) -> bool:
        """Append what the port has (waiting up to `wait` s for it); False when nothing came."""
        if not select.select([self.fd], [], [], wait)[0]:
            return False
        try:
            got = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            return False
        except OSError as e:  # EIO: the other end of a pty went away
            raise TteError(f"serial port {self.port}: {e.strerror}") from None
        self._buf += got
        return bool(got)

    def _next_line(self) -> tuple[str, str] | None:
        """The next complete line as (tag, rest), None if there is none yet."""
        if b"\n" not in self._buf:
            return None
        raw, _, self._buf = self._buf.partition(b"\n")
        line = raw.decode(errors="replace").strip("\r")
        if line.startswith("F "):
            raise TteError(f"firmware on {self.port} failed: {line[2:]}")
        tag, _, rest = line.partition(" ")
        return tag, rest

    def _restarted(self) -> None:
        """A start-up line that came unasked: the board was reset, what the host loaded is gone."""
        self.current = None
        self.restarts += 1

    def _line(self, tag: str) -> str:
        """The reply `tag` to the command just sent. Other lines are skipped: a start-up line (a reset),
        or the late reply to a command that timed out (each command has its own reply tag)."""
        deadline = time.monotonic() + self.timeout
        while True:
            got = self._next_line()
            if got is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TteError(f"no reply from the board on {self.port} within {self.timeout:g} s")
                self._read(min(left, 0.2))
                continue
            if got[0] == tag:
                return got[1]
            if got[0] == "R":
                self._restarted()

    def poll(self) -> None:
        """Take in what the board sent unasked (a start-up line after a reset, late replies)."""
        with self.lock:
            while self._read(0):
                pass
            while (got := self._next_line()) is not None:
                if got[0] == "R":
                    self._restarted()

    def _command(self, data: bytes, tag: str) -> str:
        with self.lock:
            self._send(data)
            return self._line(tag)

    def crc(self) -> int:
        return int(self._command(record("C"), "C"), 16)

    def get_weights(self) -> bytes:
        return bytes.fromhex(self._command(record("G"), "W"))

    def set_weights(self, w: bytes) -> None:
        if len(w) != self.trainable_bytes:
            raise TteError(f"weights have {len(w)} bytes, the firmware on {self.port} trains {self.trainable_bytes}")
        self._command(Stream().set_weights(w).to_bytes(), "S")

    def train(self, x: np.ndarray | bytes, label: int, target: np.ndarray | None = None) -> float:
        bits = int(self._command(Stream().train(x, label, target).to_bytes(), "L"), 16)
        return float(struct.unpack("<f", struct.pack("<I", bits))[0])

    def infer(self, x: np.ndarray | bytes) -> np.ndarray:
        return np.frombuffer(bytes.fromhex(self._command(Stream().infer(x).to_bytes(), "O")), np.int8).copy()

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass


class SerialEngine:
    """The training step on the board, behind the interface tte.Trainer uses for its engines
    (train_step, weights, crc32; Trainer.attach), for a trainer of the model the firmware was built
    from: `params` are its trained tensors in the firmware's order."""

    def __init__(self, board: SerialBoard, forward: Any, params: list[str], regression: bool) -> None:
        self.board, self.forward, self.params, self.regression = board, forward, params, regression
        self._sizes = [forward.tensors[p].nbytes for p in params]

    def _input(self, x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(x, self.forward.tensors[self.forward.inputs[0]].dtype).reshape(-1)

    def train_step(self, x: np.ndarray, y: int | np.ndarray) -> float:
        if self.regression:
            return self.board.train(self._input(x), 0, np.asarray(y, np.float32).reshape(-1))
        return self.board.train(self._input(x), int(np.asarray(y).reshape(-1)[0]))

    def crc32(self) -> int:
        return self.board.crc()

    def split(self, raw: bytes) -> dict[str, np.ndarray]:
        """The firmware's trainable bytes as the trainer's tensors."""
        out, off = {}, 0
        for p, n in zip(self.params, self._sizes, strict=True):
            t = self.forward.tensors[p]
            out[p] = np.frombuffer(raw[off:off + n], dtype=t.dtype).reshape(t.shape).copy()
            off += n
        return out

    def weights(self) -> dict[str, np.ndarray]:
        return self.split(self.board.get_weights())
