"""Many device agents in one process, against a broker of our own or a given one.

`simulate(n)` starts a private broker (loopback, generated credentials) and a manager with an
in-memory knowledge graph, then n agents, and reports how long registration took until every
device is in the graph. Given a broker directory (from `tte fleet broker`) it uses that broker
and the manager serving it, whose retained status says how many devices the graph holds.

`python -m fleet.simulate CONFIG.json` runs the agents of a config (used by bench/fleet.py to
keep the devices out of the manager's process); it prints one JSON line per event.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from fleet.agent import Agent, AgentConfig
from fleet.broker import Broker, BrokerConfig, load_config, write_config
from fleet.pump import Pump

BOARDS = (("stm32f746g-disco", ["camera", "microphone"]), ("arduino-nano-33-ble-sense", ["accelerometer",
                                                                                          "microphone"]),
          ("rp2040", ["temperature"]))


def scratch_dir(prefix: str) -> tempfile.TemporaryDirectory[str]:
    """Where simulated devices keep their flash: in memory (/dev/shm) when there is one, since the
    simulation's figures should not be those of the host's disk."""
    shm = Path("/dev/shm")
    return tempfile.TemporaryDirectory(prefix=prefix, dir=shm if shm.is_dir() and os.access(shm, os.W_OK) else None)


def device_names(n: int) -> list[str]:
    return [f"sim-{i:05d}" for i in range(n)]


class SimulatedFleet:
    """n agents (boards and sensors in turn from BOARDS) with their state under `root`."""

    def __init__(self, cfg: BrokerConfig, devices: list[str], root: Path, **agent: Any) -> None:
        self.pump = Pump()
        self.agents = []
        for i, d in enumerate(devices):
            board, sensors = BOARDS[i % len(BOARDS)]
            kw = {"board": board, "sensors": sensors, "keepalive": 30, "telemetry_s": 30.0, **agent}
            self.agents.append(Agent(AgentConfig(device=d, broker=cfg.url, password=cfg.password(d),
                                                 state_dir=str(root / d), verify_key=str(cfg.verify_key),
                                                 fleet=cfg.fleet, ca_file=str(cfg.ca_file) if cfg.ca_file else None,
                                                 **kw), self.pump))

    def start(self) -> None:
        for a in self.agents:
            a.start()

    def stop(self) -> None:
        threads = [threading.Thread(target=a.stop) for a in self.agents]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.pump.stop()

    def connected(self) -> int:
        return sum(a.connected.is_set() for a in self.agents)


# Many threads pass each message along (paho's network threads, the manager's worker): with the default
# 5 ms GIL switch interval each hand-over can wait that long, which is the simulation's cost, not the
# fleet's. A shorter interval keeps the figures about the protocol.
SWITCH_INTERVAL_S = 0.0005


def simulate(n: int, broker_dir: str | Path | None = None, *, timeout: float = 120.0, publish_td: bool = True,
             keep_running: float = 0.0) -> dict[str, Any]:
    """Register n simulated devices; the figures of `tte fleet simulate --json`."""
    from fleet.manager import Manager
    from fleet.mqtt import Endpoint
    from semantic.store import LocalStore

    sys.setswitchinterval(SWITCH_INTERVAL_S)
    with tempfile.TemporaryDirectory(prefix="tte-fleet-sim-") as tmp, scratch_dir("tte-fleet-sim-") as flash:
        devices = device_names(n)
        private = broker_dir is None
        if private:
            cfg = write_config(Path(tmp) / "broker", fleet="sim", devices=devices)
        else:
            cfg = load_config(broker_dir)  # type: ignore[arg-type]
            missing = [d for d in devices if d not in cfg.credentials["devices"]]
            if missing:
                cfg = write_config(cfg.dir, fleet=cfg.fleet, devices=devices, tls=cfg.tls)
        broker = Broker(cfg) if private else None
        manager = None
        if broker is not None:
            broker.start()
        try:
            if private:
                manager = Manager(Endpoint.parse(cfg.url, cfg.ca_file), cfg.password("manager"), LocalStore(None),
                                  fleet=cfg.fleet)
                manager.start()
            watcher = None if manager else StatusWatcher(cfg)
            fleet = SimulatedFleet(cfg, devices, Path(flash), publish_td=publish_td)
            t0 = time.monotonic()
            fleet.start()
            result: dict[str, Any] = {"devices": n, "broker": cfg.url, "private_broker": private}

            def kg() -> int:
                if manager is not None:
                    return manager.kg_devices() if len(manager.registered) >= n else len(manager.registered)
                assert watcher is not None
                return int(watcher.status.get("kg_devices", 0))
            deadline = t0 + timeout
            while time.monotonic() < deadline and kg() < n:
                time.sleep(0.05)
            result["register_seconds"] = round(time.monotonic() - t0, 3)
            result["connected"] = fleet.connected()
            result["kg_devices"] = kg()
            if manager is not None:
                result["registered"] = len(manager.registered)
                if publish_td:
                    while time.monotonic() < deadline and len(manager.tds) < n:
                        time.sleep(0.05)
                    result["tds"] = len(manager.tds)
                    result["td_seconds"] = round(time.monotonic() - t0, 3)
                result["online"] = manager.status()["online"]
                result["errors"] = len(manager.errors())
            time.sleep(keep_running)
            fleet.stop()
            if watcher is not None:
                watcher.close()
            return result
        finally:
            if manager is not None:
                manager.stop()
            if broker is not None:
                broker.stop()


class StatusWatcher:
    """The manager's retained status, followed as it changes (read with the manager's credentials)."""

    def __init__(self, cfg: BrokerConfig) -> None:
        from fleet import protocol
        from fleet.broker import MANAGER
        from fleet.mqtt import Endpoint, make_client

        self.status: dict[str, Any] = {}
        self.client = make_client(Endpoint.parse(cfg.url, cfg.ca_file), f"tte-status-{time.monotonic_ns()}",
                                  MANAGER, cfg.password(MANAGER))
        self.got = threading.Event()

        def on_message(c: Any, ud: Any, msg: Any) -> None:
            try:
                self.status = json.loads(msg.payload)
                self.got.set()
            except ValueError:
                pass
        self.client.on_message = on_message
        self.client.on_connect = lambda c, *a: c.subscribe(protocol.status_topic(cfg.fleet), qos=1)
        ep = Endpoint.parse(cfg.url, cfg.ca_file)
        self.client.connect(ep.host, ep.port)
        self.client.loop_start()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def main(argv: list[str] | None = None) -> None:
    """Run the agents described by a JSON file: {"broker_dir", "devices": [...], "root", "agent": {...}}.
    Prints {"starting": unix time} and {"connected": n} when all are connected, then waits for 'stop'
    on stdin."""
    args = sys.argv[1:] if argv is None else argv
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    spec = json.loads(Path(args[0]).read_text())
    cfg = load_config(spec["broker_dir"])
    fleet = SimulatedFleet(cfg, spec["devices"], Path(spec["root"]), **spec.get("agent", {}))
    print(json.dumps({"starting": time.time()}), flush=True)
    fleet.start()
    while fleet.connected() < len(fleet.agents):
        time.sleep(0.05)
    print(json.dumps({"connected": fleet.connected()}), flush=True)
    for line in sys.stdin:
        if line.strip() == "stop":
            break
    fleet.stop()
    print(json.dumps({"stopped": len(fleet.agents)}), flush=True)


if __name__ == "__main__":
    main()
