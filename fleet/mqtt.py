"""paho-mqtt clients for the fleet: one place for URLs, credentials, TLS and reconnect settings."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tte.errors import TteError

PROTOCOLS = {"3.1.1": mqtt.MQTTv311, "5": mqtt.MQTTv5}


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    tls: bool
    ca_file: str | None = None

    @classmethod
    def parse(cls, url: str, ca_file: str | Path | None = None) -> Endpoint:
        u = urlparse(url if "://" in url else f"mqtt://{url}")
        if u.scheme not in ("mqtt", "mqtts") or not u.hostname:
            raise TteError(f"broker URL must look like mqtt://HOST:PORT or mqtts://HOST:PORT, got '{url}'")
        tls = u.scheme == "mqtts"
        return cls(u.hostname, u.port or (8883 if tls else 1883), tls, str(ca_file) if ca_file else None)


class BufferedClient(mqtt.Client):
    """paho reads each packet with three or four recv calls (its command byte, each length byte, then
    the rest). This client takes what the socket holds (up to RECV_BYTES) in one call and serves those
    reads from it: a 4 KB block then costs one system call instead of four, and a burst of small
    packets one in all. Each `loop_read` reads the socket once and then handles every whole packet
    it got (a select on the socket no longer sees bytes that are buffered here); reading again while
    the broker keeps sending would let one busy client hold a shared network thread (fleet.pump)."""

    RECV_BYTES = 1 << 16

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rbuf = b""
        self._rpos = 0
        self._rsock: Any = None  # the socket the buffered bytes came from
        self._may_recv = True  # this loop_read has not read the socket yet

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._rsock is not self._sock:  # a new connection: what the old one left is not its data
            self._rbuf, self._rpos, self._rsock = b"", 0, self._sock
        if self._rpos >= len(self._rbuf):
            if not self._may_recv:
                raise BlockingIOError  # paho keeps the partial packet and goes on at the next read event
            self._may_recv = False
            data = self._recv_socket(max(bufsize, self.RECV_BYTES))
            if len(data) <= bufsize:
                return data
            self._rbuf, self._rpos = data, 0
        end = self._rpos + bufsize
        out = self._rbuf[self._rpos:end]
        self._rpos = min(end, len(self._rbuf))
        return out

    def _recv_socket(self, bufsize: int) -> bytes:
        """One read of the socket (paho's, with its TLS and error handling)."""
        return super()._sock_recv(bufsize)

    @property
    def buffered(self) -> int:
        """Bytes received and not yet read by paho."""
        return len(self._rbuf) - self._rpos if self._rsock is self._sock else 0

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        self._may_recv = True
        rc = super().loop_read(max_packets)
        while rc == mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS and self.buffered:
            rc = super().loop_read(max_packets)
        self._may_recv = True
        return rc


def make_client(endpoint: Endpoint, client_id: str, username: str | None, password: str | None,
                version: str = "3.1.1") -> mqtt.Client:
    """A client that has not connected yet; reconnects back off from 0.2 s to 2 s."""
    if version not in PROTOCOLS:
        raise TteError(f"unknown MQTT version '{version}' (known: {', '.join(PROTOCOLS)})")
    c = BufferedClient(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=PROTOCOLS[version])
    if username is not None:
        c.username_pw_set(username, password)
    if endpoint.tls:
        c.tls_set(ca_certs=endpoint.ca_file, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    c.reconnect_delay_set(1, 2)
    c.max_queued_messages_set(0)
    c.max_inflight_messages_set(100)
    return c
