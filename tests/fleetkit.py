"""Test helpers for fleet/: a real Mosquitto on a free loopback port, and a plain MQTT client that
collects what it receives."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from fleet.agent import AgentConfig
from fleet.broker import Broker, BrokerConfig, write_config
from fleet.manager import Manager
from fleet.mqtt import Endpoint, make_client
from semantic.store import LocalStore


@contextmanager
def running_broker(directory: Path, devices: list[str], tls: bool = False, fleet: str = "f1") -> Iterator[Broker]:
    cfg = write_config(directory, fleet=fleet, devices=devices, tls=tls)
    b = Broker(cfg)
    b.start()
    try:
        yield b
    finally:
        b.stop()


def endpoint(cfg: BrokerConfig) -> Endpoint:
    return Endpoint.parse(cfg.url, cfg.ca_file)


class Probe:
    """A connected client that records CONNACKs, SUBACKs, PUBACKs and messages."""

    def __init__(self, cfg: BrokerConfig, user: str | None, password: str | None = None, version: str = "5",
                 ep: Endpoint | None = None, client_id: str | None = None) -> None:
        if password is None and user is not None:
            password = cfg.password(user)
        self.ep = ep or endpoint(cfg)
        self.client = make_client(self.ep, client_id or f"probe-{user}-{time.monotonic_ns()}", user,
                                  password, version)
        self.connack: queue.Queue[Any] = queue.Queue()
        self.subacks: queue.Queue[list[Any]] = queue.Queue()
        self.pubacks: queue.Queue[Any] = queue.Queue()
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        c = self.client
        c.on_connect = lambda cl, ud, flags, rc, props=None: self.connack.put(rc)
        c.on_subscribe = lambda cl, ud, mid, rcs, props=None: self.subacks.put(list(rcs))
        c.on_publish = lambda cl, ud, mid, rc, props=None: self.pubacks.put(rc)
        c.on_message = lambda cl, ud, msg: self.messages.put(msg)

    def connect(self, timeout: float = 5.0) -> Any:
        """The CONNACK reason (success or the broker's refusal); None when no CONNACK came."""
        try:
            self.client.connect(self.ep.host, self.ep.port, keepalive=10)
        except OSError as e:
            return e
        self.client.loop_start()
        try:
            return self.connack.get(timeout=timeout)
        except queue.Empty:
            return None

    def subscribe(self, topic: str, qos: int = 1, timeout: float = 5.0) -> list[Any]:
        self.client.subscribe(topic, qos)
        return self.subacks.get(timeout=timeout)

    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False,
                timeout: float = 5.0) -> Any:
        self.client.publish(topic, payload, qos=qos, retain=retain)
        return self.pubacks.get(timeout=timeout) if qos else None

    def wait_for(self, pred: Callable[[mqtt.MQTTMessage], bool], timeout: float = 5.0) -> mqtt.MQTTMessage | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                m = self.messages.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                return None
            if pred(m):
                return m
        return None

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def wait_until(pred: Callable[[], Any], timeout: float, step: float = 0.02) -> Any:
    """pred()'s first truthy value within `timeout` seconds, else its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(step)



ROOT = Path(__file__).resolve().parent.parent


def agent_config(cfg: BrokerConfig, device: str, state_dir: Path, **kw: Any) -> AgentConfig:
    return AgentConfig(device=device, broker=cfg.url, password=cfg.password(device), state_dir=str(state_dir),
                       verify_key=str(cfg.verify_key), fleet=cfg.fleet, ca_file=str(cfg.ca_file or "") or None, **kw)


def start_manager(cfg: BrokerConfig, store: Any = None, **kw: Any) -> Manager:
    m = Manager(endpoint(cfg), cfg.password("manager"), store or LocalStore(None), fleet=cfg.fleet, **kw)
    m.start()
    return m


def agent_process(acfg: AgentConfig, directory: Path) -> subprocess.Popen[bytes]:
    """An agent in its own process (to kill or freeze it as a reset or a hang would)."""
    path = directory / f"{acfg.device}-agent.json"
    path.write_text(json.dumps(asdict(acfg)))
    return subprocess.Popen([sys.executable, "-m", "fleet.agent", str(path)], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def device_status(store: Any, device: str) -> str | None:
    rows = store.select(f"SELECT ?s WHERE {{ <urn:tte:device:{device}> <https://tte.invalid/ns#status> ?s }}")
    return rows[0]["s"] if rows else None


EXAMPLE = ROOT / "examples" / "fmnist_cnn_int8.tflite"


def package_dir(directory: Path, scheme: str = "last-k:2", board: str = "stm32f746g-disco") -> Path:
    """A deployable directory: the example int8 model and the report of its compiled training step."""
    import tte

    directory.mkdir(parents=True, exist_ok=True)
    report = tte.compile(tte.load(EXAMPLE), board=board, scheme=scheme, emit_c=False, name="fmnist_cnn")
    (directory / "report.json").write_text(json.dumps(report, default=lambda o: o.item() if hasattr(o, "item")
                                                      else str(o)))
    (directory / "fmnist_cnn.tflite").write_bytes(EXAMPLE.read_bytes())
    return directory
