"""The fleet's MQTT client (fleet.mqtt.BufferedClient) on a real Mosquitto: a burst that lands in its
read buffer at once is delivered whole and in order, under the shared pump and paho's own loop."""

from __future__ import annotations

import select
import threading
import time
from pathlib import Path

import pytest
from fleetkit import endpoint, running_broker

from fleet.broker import MANAGER, BrokerConfig
from fleet.mqtt import BufferedClient, make_client
from fleet.pump import Pump

BURST = 400


def counted_client(cfg: BrokerConfig, client_id: str) -> tuple[BufferedClient, list[int]]:
    """The fleet's client, and a counter of the times it reads its socket."""
    sub = make_client(endpoint(cfg), client_id, MANAGER, cfg.password(MANAGER))
    assert isinstance(sub, BufferedClient)
    reads = [0]
    read_socket = sub._recv_socket

    def counting(bufsize: int) -> bytes:
        reads[0] += 1
        return read_socket(bufsize)
    sub._recv_socket = counting  # type: ignore[method-assign]
    return sub, reads


@pytest.mark.parametrize("driver", ["pump", "paho-loop"])
def test_burst_arrives_whole_and_in_order(tmp_path: Path, driver: str) -> None:
    with running_broker(tmp_path / "b", ["d1"]) as broker:
        cfg = broker.config
        got: list[bytes] = []
        done, ready = threading.Event(), threading.Event()
        sub, recvs = counted_client(cfg, "burst-sub")

        def on_message(c: object, ud: object, msg: object) -> None:
            got.append(msg.payload)  # type: ignore[attr-defined]
            if len(got) == BURST:
                done.set()
        sub.on_message = on_message
        sub.on_connect = lambda c, *a: c.subscribe("tte/v1/f1/burst", 0)
        sub.on_subscribe = lambda *a: ready.set()
        pump = Pump() if driver == "pump" else None
        if pump is not None:
            pump.attach(sub)
        sub.connect("127.0.0.1", cfg.port, 30)
        if pump is None:
            sub.loop_start()
        try:
            assert ready.wait(10)
            pub = make_client(endpoint(cfg), "burst-pub", MANAGER, cfg.password(MANAGER))
            pub.connect("127.0.0.1", cfg.port, 30)
            payloads = [f"{i:05d}".encode() * (1 + i % 50) for i in range(BURST)]
            for p in payloads:
                pub.publish("tte/v1/f1/burst", p, qos=0)
            pub.loop_start()
            # nothing else arrives after the burst: a packet left in the buffer would never be read
            assert done.wait(10), f"{len(got)} of {BURST} messages arrived"
            time.sleep(0.1)
            assert got == payloads
            assert recvs[0] < BURST, "each packet took its own system calls"
            pub.disconnect()
            pub.loop_stop()
        finally:
            sub.disconnect()
            if pump is not None:
                pump.stop()
            else:
                sub.loop_stop()


def test_one_socket_read_per_loop_read(tmp_path: Path) -> None:
    """With far more waiting than one read takes, a loop_read reads the socket once and hands on the
    whole packets it got: a busy client cannot hold a network thread shared with others."""
    with running_broker(tmp_path / "b", ["d1"]) as broker:
        cfg = broker.config
        got: list[bytes] = []
        sub, reads = counted_client(cfg, "fair-sub")
        sub.on_message = lambda c, ud, msg: got.append(msg.payload)
        sub.connect("127.0.0.1", cfg.port, 30)
        acked = threading.Event()
        sub.on_subscribe = lambda *a: acked.set()
        sub.subscribe("tte/v1/f1/fair", 0)
        deadline = time.monotonic() + 10
        while not acked.is_set() and time.monotonic() < deadline:
            sub.loop(0.05)
        assert acked.is_set()
        pub = make_client(endpoint(cfg), "fair-pub", MANAGER, cfg.password(MANAGER))
        pub.connect("127.0.0.1", cfg.port, 30)
        pub.loop_start()
        payloads = [bytes([i % 251]) * 2000 for i in range(300)]  # 600 KB, ten times one read
        for p in payloads:
            pub.publish("tte/v1/f1/fair", p, qos=0)
        assert select.select([sub.socket()], [], [], 10)[0]
        time.sleep(0.5)  # the broker goes on writing what the socket takes
        reads[0] = 0
        sub.loop_read()
        assert reads[0] == 1
        assert 0 < len(got) <= BufferedClient.RECV_BYTES // 2000
        while len(got) < len(payloads) and time.monotonic() < deadline:
            sub.loop(0.05)
        assert got == payloads
        pub.disconnect()
        pub.loop_stop()
        sub.disconnect()
