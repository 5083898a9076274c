"""paho-mqtt clients for the fleet: one place for URLs, credentials, TLS and reconnect settings."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
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


def make_client(endpoint: Endpoint, client_id: str, username: str | None, password: str | None,
                version: str = "3.1.1") -> mqtt.Client:
    """A client that has not connected yet; reconnects back off from 0.2 s to 2 s."""
    if version not in PROTOCOLS:
        raise TteError(f"unknown MQTT version '{version}' (known: {', '.join(PROTOCOLS)})")
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=PROTOCOLS[version])
    if username is not None:
        c.username_pw_set(username, password)
    if endpoint.tls:
        c.tls_set(ca_certs=endpoint.ca_file, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    c.reconnect_delay_set(1, 2)
    c.max_queued_messages_set(0)
    c.max_inflight_messages_set(100)
    return c
