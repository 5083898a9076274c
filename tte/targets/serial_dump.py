"""Read a weights checkpoint dump from a serial device (a board's UART through a USB bridge).

The port is put in raw mode at the given baud rate (termios, no extra package). With
``request`` the tte firmware's 'D' record (firmware/src/main.c) is sent first, so the board
prints its checkpoint now; a user's own firmware that prints on its own (a button, a timer)
is read with ``request=False``. Reading stops at the first complete dump, or fails after
``timeout`` seconds with what arrived so far named in the error.
"""

from __future__ import annotations

import os
import select
import time

from tte.errors import TteError
from tte.export.checkpoint import LINE_TAG

_BAUDS = (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 1000000)


def _configure(fd: int, baud: int) -> None:
    from tte.targets.serial import configure_raw

    if not os.isatty(fd):
        return
    if baud not in _BAUDS:
        raise TteError(f"baud rate {baud} is not one of {', '.join(map(str, _BAUDS))}")
    configure_raw(fd, baud)


def read_dump(path: str, *, baud: int = 115200, timeout: float = 30.0, request: bool = True) -> str:
    """The text received from ``path`` up to and including the first '<tag> end' line after a
    '<tag> begin' line."""
    from tte.targets.qemu import record

    try:
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError as e:
        raise TteError(f"cannot open the serial device: {e.strerror}", file=path) from None
    text = ""
    try:
        _configure(fd, baud)
        if request:
            os.write(fd, record("D"))
        deadline = time.monotonic() + timeout
        buf = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                got = "nothing" if not buf else f"{len(buf)} bytes, last line '{text.splitlines()[-1][:60]}'"
                raise TteError(f"no complete checkpoint dump within {timeout:.0f} s (received {got})", file=path)
            ready, _, _ = select.select([fd], [], [], min(left, 0.2))
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except BlockingIOError:
                continue
            except OSError as e:  # EIO: the other end of a pty closed
                raise TteError(f"serial device closed before the dump ended: {e.strerror}", file=path) from None
            if not chunk:
                raise TteError("serial device closed before the dump ended", file=path)
            buf += chunk
            text = buf.decode("ascii", errors="replace")
            begin = text.rfind(f"{LINE_TAG} begin")
            if begin >= 0 and f"{LINE_TAG} end" in text[begin:]:
                end = text.index(f"{LINE_TAG} end", begin)
                return text[:text.find("\n", end) + 1 or len(text)]
    finally:
        os.close(fd)
