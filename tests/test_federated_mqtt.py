"""Federated rounds over a real Mosquitto: TinyMetaFed with 20 fleet device agents gives the same
model, byte for byte, as the in-process transport for the same seed; a device that is not online
is excluded, not waited for."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from fleetkit import agent_config, endpoint, running_broker, wait_until

from federated import make_task, train_federated
from federated.algorithms import TinyMetaFed
from federated.client import DeviceFactory
from federated.transports import InProcessTransport, Job, Reply
from federated.transports.mqtt import MqttTransport, device_handler
from fleet.agent import Agent
from fleet.pump import Pump

N = 20


def name(i: int) -> str:
    return f"fed-{i:02d}"


class WithoutDevice(InProcessTransport):
    """In-process, with one device missing from every round it is picked for."""

    def __init__(self, factory: DeviceFactory, missing: int) -> None:
        super().__init__(factory)
        self.missing = missing

    def train_round(self, jobs: list[Job]) -> list[Reply]:
        return (super().train_round([j for j in jobs if j.device != self.missing])
                + [Reply(j.device, error="offline") for j in jobs if j.device == self.missing])


def test_tinymetafed_over_mqtt_matches_in_process(tmp_path: Path) -> None:
    task = make_task("sine", N, 0)
    factory = DeviceFactory("sine", N, 0, faults=((4, "dropout"),))
    strategy = TinyMetaFed(clients_per_round=5)
    rounds = 4
    with running_broker(tmp_path / "broker", [name(i) for i in range(N)]) as b:
        pump = Pump()
        agents = []
        for i in range(N - 1):  # the last device stays offline
            a = Agent(agent_config(b.config, name(i), tmp_path / name(i), keepalive=30), pump)
            a.fed_handler = device_handler(lambda i=i: factory(i))
            a.start()
            agents.append(a)
        assert wait_until(lambda: all(a.connected.is_set() for a in agents), 20)
        transport = MqttTransport(endpoint(b.config), b.config.password("manager"), b.config.fleet, name, timeout=60)
        try:
            over_mqtt = train_federated(task, strategy, rounds=rounds, seed=0, transport=transport)
        finally:
            transport.close()
            for a in agents:
                a.stop()
            pump.stop()
    reasons = {e["device"]: e["reason"] for e in over_mqtt.excluded}
    assert "dropped out" in reasons[4] and "not online" in reasons[N - 1], reasons  # both were picked
    local = train_federated(task, strategy, rounds=rounds, seed=0, transport=WithoutDevice(factory, N - 1))
    for k in local.params:
        assert over_mqtt.params[k].tobytes() == local.params[k].tobytes(), k
    assert over_mqtt.bytes_up == local.bytes_up and over_mqtt.bytes_down == local.bytes_down
    assert [(e["round"], e["device"]) for e in over_mqtt.excluded] == [(e["round"], e["device"])
                                                                       for e in local.excluded]
    init = task.spec.initial_params()
    assert any(not np.array_equal(local.params[n], init[n]) for n in init)


def test_malformed_and_late_updates_are_excluded(tmp_path: Path) -> None:
    """A device answering with arrays that do not decode, and one answering after the round closed:
    both are excluded from their round, the late answer is not taken into the next round."""
    import time

    from federated.transports.base import Job

    devices = ["good", "garbled", "slow"]
    with running_broker(tmp_path / "broker", devices) as b:
        agents = {d: Agent(agent_config(b.config, d, tmp_path / d, keepalive=30)) for d in devices}
        agents["good"].fed_handler = lambda task: {"round": task["round"], "update": {}, "metrics": {"loss": 1.0}}
        agents["garbled"].fed_handler = lambda task: {"round": task["round"], "metrics": {},
                                                      "update": {"w": {"dtype": "int8", "shape": [2], "data": "!!"}}}

        def slow(task: dict) -> dict:
            time.sleep(1.5)
            return {"round": task["round"], "update": {}, "metrics": {"loss": 2.0}}
        agents["slow"].fed_handler = slow
        for a in agents.values():
            a.start()
        assert wait_until(lambda: all(a.connected.is_set() for a in agents.values()), 20)
        transport = MqttTransport(endpoint(b.config), b.config.password("manager"), b.config.fleet,
                                  lambda i: devices[i], timeout=1.0)
        try:
            first = {r.device: r for r in transport.train_round([Job(i, {}, {}) for i in range(3)])}
            assert first[0].error is None and first[0].metrics == {"loss": 1.0}
            assert "malformed update" in (first[1].error or "")
            assert 2 not in first  # no reply within the round
            time.sleep(1.0)  # the slow device's answer to round 1 arrives now
            second = {r.device: r for r in transport.train_round([Job(0, {}, {})])}
            assert set(second) == {0}  # the late answer was dropped, not taken as round 2's
        finally:
            transport.close()
            for a in agents.values():
                a.stop()
