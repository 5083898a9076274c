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


class FromPool(InProcessTransport):
    """In-process, selecting among a fixed pool of devices."""

    def __init__(self, factory: DeviceFactory, pool: list[int]) -> None:
        super().__init__(factory)
        self.pool = pool

    def available(self, n_devices: int) -> list[int] | None:
        return self.pool


def test_rounds_select_online_devices_from_the_knowledge_graph(tmp_path: Path) -> None:
    """The pool is what the manager's graph says: online there, and a sensor for the task's input (or
    none declared). Never selected: a device that went offline, one with a camera only, and one the
    broker sees online but whose registration the graph refused. The run equals the in-process run
    over the same pool, byte for byte."""
    from fleetkit import device_status, start_manager

    from fleet.select import online_in_graph

    devices = {"imu-0": ["accelerometer"], "imu-1": ["accelerometer", "gyroscope"], "bare-2": [],
               "cam-3": ["camera"], "gone-4": ["accelerometer"], "rogue-5": ["accelerometer"]}
    names = list(devices)
    task = make_task("sine", len(names), 0)
    factory = DeviceFactory("sine", len(names), 0)
    strategy = TinyMetaFed(clients_per_round=2)
    with running_broker(tmp_path / "broker", names) as b:
        m = start_manager(b.config)
        agents = {}
        for i, d in enumerate(names):
            a = Agent(agent_config(b.config, d, tmp_path / d, keepalive=30, sensors=devices[d],
                                   board="no-such-board" if d == "rogue-5" else "rp2040"))
            a.fed_handler = device_handler(lambda i=i: factory(i))
            a.start()
            agents[d] = a
        try:
            assert wait_until(lambda: len(m.registered) == 5 and any(
                e["device"] == "rogue-5" and "refused" in e["message"] for e in m.errors()), 20), m.errors()
            agents["gone-4"].stop()
            assert wait_until(lambda: device_status(m.store, "gone-4") == "offline", 10)
            assert m.presence["rogue-5"]["state"] == "online"  # the broker's view: it is there
            assert online_in_graph(m.store) == ["bare-2", "cam-3", "imu-0", "imu-1"]
            assert online_in_graph(m.store, modality="camera") == ["bare-2", "cam-3"]
            assert online_in_graph(m.store, model="fmnist_cnn") == []  # no device runs it
            transport = MqttTransport(endpoint(b.config), b.config.password("manager"), b.config.fleet,
                                      lambda i: names[i], timeout=60, store=m.store, modality="accelerometer")
            try:
                assert transport.available(len(names)) == [0, 1, 2]
                over_mqtt = train_federated(task, strategy, rounds=3, seed=0, transport=transport)
            finally:
                transport.close()
        finally:
            for a in agents.values():
                a.stop()
            m.stop()
    assert set(over_mqtt.bytes_down) <= {0, 1, 2} and over_mqtt.excluded == []
    local = train_federated(task, strategy, rounds=3, seed=0, transport=FromPool(factory, [0, 1, 2]))
    assert set(local.bytes_down) == set(over_mqtt.bytes_down)
    for k in local.params:
        assert over_mqtt.params[k].tobytes() == local.params[k].tobytes(), k


def test_a_device_that_drops_out_mid_round_is_not_waited_for(tmp_path: Path) -> None:
    """A device reset while it trains: its will (lost) ends the wait for it, long before the timeout."""
    import threading
    import time

    release = threading.Event()
    devices = ["steady", "flaky"]
    with running_broker(tmp_path / "broker", devices) as b:
        agents = {d: Agent(agent_config(b.config, d, tmp_path / d, keepalive=30)) for d in devices}
        agents["steady"].fed_handler = lambda task: {"round": task["round"], "update": {}, "metrics": {"loss": 1.0}}

        def stuck(task: dict) -> None:
            release.wait(20)
        agents["flaky"].fed_handler = stuck
        for a in agents.values():
            a.start()
        assert wait_until(lambda: all(a.connected.is_set() for a in agents.values()), 20)
        transport = MqttTransport(endpoint(b.config), b.config.password("manager"), b.config.fleet,
                                  lambda i: devices[i], timeout=30)
        reset = threading.Timer(0.5, agents["flaky"].crash)
        try:
            reset.start()
            t0 = time.monotonic()
            replies = {r.device: r for r in transport.train_round([Job(0, {}, {}), Job(1, {}, {})])}
            took = time.monotonic() - t0
        finally:
            release.set()
            reset.join()
            transport.close()
            agents["steady"].stop()
    assert replies[0].error is None
    assert "dropped out (lost)" in (replies[1].error or ""), replies[1]
    assert took < 10, took
