"""A short fleet session for `tte fleet demo` (and the end of `make demo`): a private broker, the
manager with an in-memory knowledge graph, a handful of device agents, one signed deploy, one
federated round over MQTT. It prints what happened, one line per step."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fleet.agent import Agent, AgentConfig
from fleet.broker import Broker, write_config
from fleet.manager import Manager
from fleet.mqtt import Endpoint
from fleet.package import build, load_signing_key
from fleet.rollout import deploy
from semantic.store import LocalStore

BOARDS = ("stm32f746g-disco", "arduino-nano-33-ble-sense", "rp2040", "stm32h743")


def _wait(pred: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def run_fleet_demo(report: Path, model: Path, devices: int = 4, echo: Callable[[str], Any] = print) -> dict[str, Any]:
    """`report`: a compiled model's report.json; `model`: its int8 .tflite."""
    from federated import make_task, train_federated
    from federated.algorithms import TinyMetaFed
    from federated.client import DeviceFactory
    from federated.transports.mqtt import MqttTransport, device_handler

    names = [f"demo-{i}" for i in range(devices)]
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="tte-fleet-demo-") as tmp:
        root = Path(tmp)
        cfg = write_config(root / "broker", fleet="demo", devices=names)
        with Broker(cfg):
            echo(f"broker {cfg.url}: fleet 'demo', {devices} devices with their own credentials and topics")
            manager = Manager(Endpoint.parse(cfg.url), cfg.password("manager"), LocalStore(None), fleet="demo")
            manager.start()
            agents = []
            factory = DeviceFactory("sine", devices, 0)
            try:
                t0 = time.monotonic()
                for i, d in enumerate(names):
                    a = Agent(AgentConfig(device=d, broker=cfg.url, password=cfg.password(d),
                                          state_dir=str(root / d), verify_key=str(cfg.verify_key), fleet="demo",
                                          board=BOARDS[i % len(BOARDS)], engine="ref"))
                    a.fed_handler = device_handler(lambda i=i: factory(i))
                    a.start()
                    agents.append(a)
                _wait(lambda: manager.kg_devices() == devices and len(manager.tds) == devices, 60)
                out["registered"] = manager.kg_devices()
                echo(f"{out['registered']} devices registered in the knowledge graph (SHACL-checked) with their "
                     f"Thing Descriptions in {time.monotonic() - t0:.1f} s; all online")

                pkg_dir = root / "package"
                pkg_dir.mkdir()
                shutil.copy(report, pkg_dir / "report.json")
                shutil.copy(model, pkg_dir / model.name)
                pkg = build(pkg_dir, load_signing_key(cfg.signing_key))
                manager.add_package_to_graph(pkg)
                r = deploy(manager, pkg, names, stages="1,100%", job_id="demo")
                out["deploy"] = r.to_json()["counts"]
                echo(f"deploy {pkg.manifest['model']} build {pkg.build_id} ({len(pkg.data):,} B, signed): stages "
                     f"{[s['cumulative'] for s in r.stages]}, {json.dumps(out['deploy'])} in {r.seconds:.1f} s; "
                     f"each device checked SHA-256 and Ed25519, swapped A/B slots and passed its self-test")
                _wait(lambda: len(manager.store.select(
                    f"SELECT ?d WHERE {{ ?d <https://tte.invalid/ns#deployedModel> "
                    f"<urn:tte:model:{pkg.manifest['model']}> }}")) == devices, 20)

                task = make_task("sine", devices, 0)
                transport = MqttTransport(Endpoint.parse(cfg.url), cfg.password("manager"), "demo",
                                          lambda i: names[i], timeout=120, store=manager.store)
                try:
                    fed = train_federated(task, TinyMetaFed(clients_per_round=devices), rounds=1, seed=0,
                                          transport=transport)
                finally:
                    transport.close()
                h = fed.history[-1]
                out["federated"] = {"devices": int(h["devices"]), "loss": h["loss"],
                                    "bytes_up": sum(fed.bytes_up.values())}
                echo(f"one TinyMetaFed round over MQTT (sine task) on the devices the knowledge graph holds as "
                     f"online: {int(h['devices'])} devices trained, mean loss "
                     f"{h['loss']:.4f}, {sum(fed.bytes_up.values()):,} bytes up")
                agents[-1].crash()
                _wait(lambda: manager.presence.get(names[-1], {}).get("state") == "lost", 10)
                out["status"] = manager.status()
                echo(f"{names[-1]} reset without a goodbye: its will marked it lost; fleet now "
                     f"{out['status']['online']} online, {out['status']['lost']} lost, "
                     f"{out['status']['errors']} error events")
            finally:
                for a in agents:
                    a.stop()
                manager.stop()
    return out
