"""One network thread for many paho clients (paho's external event loop API).

A thousand simulated devices in one process with paho's own loop would be a thousand network
threads contending for the GIL: every message then waits for its thread's turn. Here one thread
selects over all the sockets and calls each client's loop_read / loop_write / loop_misc.
Clients tell the pump what they need through paho's socket callbacks, from any thread: those
become queued commands the pump applies (a selector is not thread-safe).
"""

from __future__ import annotations

import logging
import queue
import selectors
import socket
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt

log = logging.getLogger("fleet.pump")
MISC_PERIOD_S = 0.5  # keepalive pings and timeouts of every client


class Pump:
    def __init__(self) -> None:
        self.sel = selectors.DefaultSelector()
        self.commands: queue.SimpleQueue[tuple[str, mqtt.Client, Any]] = queue.SimpleQueue()
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self.wake_w.setblocking(False)
        self.sel.register(self.wake_r, selectors.EVENT_READ, None)
        self.clients: set[mqtt.Client] = set()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="mqtt-pump", daemon=True)
        self.thread.start()

    def attach(self, c: mqtt.Client) -> None:
        """Make `c` use this pump; call before c.connect()."""
        c.on_socket_open = lambda cl, ud, sock: self._cmd("open", cl, sock)
        c.on_socket_close = lambda cl, ud, sock: self._cmd("close", cl, sock)
        c.on_socket_register_write = lambda cl, ud, sock: self._cmd("write", cl, sock)
        c.on_socket_unregister_write = lambda cl, ud, sock: self._cmd("nowrite", cl, sock)

    def _cmd(self, what: str, c: mqtt.Client, sock: Any) -> None:
        self.commands.put((what, c, sock))
        if threading.current_thread() is not self.thread:
            try:
                self.wake_w.send(b"\0")
            except (BlockingIOError, OSError):
                pass

    def _apply(self) -> None:
        while True:
            try:
                what, c, sock = self.commands.get_nowait()
            except queue.Empty:
                return
            if sock is None:
                continue
            try:
                fd = sock.fileno()
            except OSError:
                fd = -1
            if what == "open" and fd >= 0:
                self.clients.add(c)
                self.sel.register(sock, selectors.EVENT_READ, c)
            elif what == "close":
                self.clients.discard(c)
                try:
                    self.sel.unregister(sock)
                except (KeyError, ValueError, OSError):
                    pass
            elif what in ("write", "nowrite") and fd >= 0:
                events = selectors.EVENT_READ | (selectors.EVENT_WRITE if what == "write" else 0)
                try:
                    self.sel.modify(sock, events, c)
                except (KeyError, ValueError, OSError):
                    continue

    def _run(self) -> None:
        next_misc = time.monotonic() + MISC_PERIOD_S
        while not self.stopping.is_set():
            self._apply()
            for key, mask in self.sel.select(timeout=0.1):
                if key.data is None:
                    try:
                        while self.wake_r.recv(4096):
                            pass
                    except (BlockingIOError, OSError):
                        pass
                    continue
                c: mqtt.Client = key.data
                try:
                    if mask & selectors.EVENT_READ:
                        c.loop_read()
                    if mask & selectors.EVENT_WRITE and c.socket() is not None:
                        c.loop_write()
                except Exception:  # one client's failure must not stop the others
                    log.exception("mqtt client %s", c._client_id)
                self._apply()
            now = time.monotonic()
            if now >= next_misc:
                next_misc = now + MISC_PERIOD_S
                for c in list(self.clients):
                    try:
                        c.loop_misc()
                    except Exception:
                        log.exception("mqtt client %s", c._client_id)

    def stop(self) -> None:
        self.stopping.set()
        self._cmd("noop", None, None)  # type: ignore[arg-type]
        self.thread.join(timeout=5)
        self.wake_r.close()
        self.wake_w.close()
