"""`tte fleet ...`: a fleet of devices over MQTT (fleet/): broker, manager, deployments, device agents."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import click

from tte.cli.frozen import refuse_inference_only
from tte.cli.util import user_errors

DEFAULT_BROKER_DIR = ".tte/broker"


def _wait_for_signal() -> None:
    """Block until SIGINT or SIGTERM."""
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *a: done.set())
    while not done.wait(0.5):
        pass


def _config(broker_dir: str) -> Any:
    from fleet.broker import load_config

    return load_config(broker_dir)


def _endpoint(cfg: Any) -> Any:
    from fleet.mqtt import Endpoint

    return Endpoint.parse(cfg.url, cfg.ca_file)


broker_dir_option = click.option("--broker-dir", default=DEFAULT_BROKER_DIR, show_default=True,
                                 type=click.Path(file_okay=False),
                                 help="The directory `tte fleet broker` wrote (address, credentials, keys).")


mqtt_option = click.option("--mqtt", "mqtt_version", type=click.Choice(["3.1.1", "5"]), default="3.1.1",
                           show_default=True, help="MQTT protocol version of this client.")


@click.group()
def fleet() -> None:
    """Devices over MQTT: presence, the knowledge graph, signed staged deployments."""


@fleet.command()
@click.option("--dir", "directory", default=DEFAULT_BROKER_DIR, show_default=True, type=click.Path(file_okay=False))
@click.option("--fleet", "fleet_name", default=None, help="Fleet name, a topic level (default: kept, or 'default').")
@click.option("--device", "devices", multiple=True, help="A device id to give credentials (repeatable).")
@click.option("--port", type=int, default=None, help="Loopback port (default: kept, or a free one).")
@click.option("--tls/--no-tls", default=None, help="TLS with a generated CA (clients trust DIR/tls/ca.crt); "
              "default: kept.")
@click.option("--write-only", is_flag=True, help="Write the configuration, do not start mosquitto.")
@user_errors
def broker(directory: str, fleet_name: str | None, devices: tuple[str, ...], port: int | None, tls: bool | None,
           write_only: bool) -> None:
    """Write a Mosquitto configuration on loopback (credentials, ACL, optional TLS) and run it."""
    from fleet.broker import Broker, write_config
    from fleet.protocol import ProtocolError
    from tte.errors import TteError

    try:
        cfg = write_config(directory, fleet=fleet_name, devices=list(devices), port=port, tls=tls)
    except ProtocolError as e:
        raise TteError(str(e)) from None
    click.echo(f"broker {cfg.url} (fleet '{cfg.fleet}', {len(cfg.credentials['devices'])} devices); "
               f"credentials in {cfg.dir / 'credentials.json'}")
    if write_only:
        return
    b = Broker(cfg)
    b.start()
    click.echo("mosquitto running; Ctrl-C stops it")
    try:
        _wait_for_signal()
    finally:
        b.stop()


@fleet.command()
@broker_dir_option
@click.option("--store", "store_dir", default=None, type=click.Path(file_okay=False),
              help="Embedded Oxigraph store directory (default: $TTE_KG_STORE or .tte/kg).")
@click.option("--endpoint", default=None, help="SPARQL 1.1 endpoint URL instead of --store.")
@click.option("--json", "as_json", is_flag=True, help="Print events as JSON lines.")
@mqtt_option
@user_errors
def serve(broker_dir: str, store_dir: str | None, endpoint: str | None, as_json: bool, mqtt_version: str) -> None:
    """Keep the knowledge graph true: registrations, Thing Descriptions and presence of the fleet."""
    from fleet.manager import Manager
    from semantic.store import open_store

    cfg = _config(broker_dir)
    store = open_store(None, endpoint) if endpoint else open_store(store_dir or os.environ.get("TTE_KG_STORE",
                                                                                              ".tte/kg"))

    def show(ev: dict[str, Any]) -> None:
        if as_json:
            click.echo(json.dumps(ev, default=str))
        elif ev["type"] in ("error", "warning", "presence", "job", "rollout"):
            click.echo(f"{ev['type']:<8} {ev.get('device') or '-':<20} {ev['message']}")
    m = Manager(_endpoint(cfg), cfg.password("manager"), store, fleet=cfg.fleet, on_event=show, roles=("graph",),
                mqtt_version=mqtt_version)
    m.start()
    click.echo(f"serving fleet '{cfg.fleet}' on {cfg.url}; Ctrl-C stops", err=True)
    try:
        _wait_for_signal()
    finally:
        m.stop()


@fleet.command()
@click.argument("package_dir", type=click.Path(file_okay=False, exists=True))
@broker_dir_option
@click.option("--to", "to", default="all", show_default=True,
              help="'all' (every online device; with --modality and a graph, those whose sensors fit) or a "
                   "SPARQL SELECT whose first variable is the device.")
@click.option("--store", "store_dir", default=None, type=click.Path(file_okay=False),
              help="Knowledge graph for --to QUERY (opened read-only).")
@click.option("--endpoint", default=None, help="SPARQL endpoint for --to QUERY; the package's model is also "
              "described there, so the graph records which device runs it.")
@click.option("--stages", default="100%", show_default=True, help="Cumulative stages, e.g. 5,25%,100%.")
@click.option("--abort-failures", default="10%", show_default=True,
              help="Stop before the next stage when more than this share of finished jobs failed.")
@click.option("--min-executions", default=3, show_default=True, help="Finished jobs needed before aborting.")
@click.option("--block-size", default=4096, show_default=True, help="Bytes per block (256 B - 128 KB).")
@click.option("--timeout", "stage_timeout", default=300.0, show_default=True, help="Seconds to wait per stage.")
@click.option("--model-id", default=None, help="Model id (default: the report's name).")
@click.option("--modality", default=None,
              help="The sensor the model's input comes from (camera, microphone, accelerometer, ...): "
                   "devices that declare other sensors only refuse it.")
@click.option("--json", "as_json", is_flag=True, help="Print the rollout as JSON.")
@mqtt_option
@user_errors
def deploy(package_dir: str, broker_dir: str, to: str, store_dir: str | None, endpoint: str | None, stages: str,
           abort_failures: str, min_executions: int, block_size: int, stage_timeout: float, model_id: str | None,
           modality: str | None, as_json: bool, mqtt_version: str) -> None:
    """Sign PACKAGE_DIR (report.json + its int8 model) and roll it out in stages; exit 1 if not all applied."""
    from fleet import protocol
    from fleet.manager import Manager
    from fleet.package import build, load_signing_key
    from fleet.rollout import deploy as rollout
    from fleet.select import ReadOnlyStore, select_devices
    from semantic.store import open_store
    from tte.errors import TteError

    if not protocol.MIN_BLOCK <= block_size <= protocol.MAX_BLOCK:
        raise TteError(f"--block-size must be within {protocol.MIN_BLOCK}..{protocol.MAX_BLOCK}")
    # a device self-tests and trains the package it installs (fleet/engine.py's Trainer)
    refuse_inference_only(package_dir, "fleet devices train the packages they install; compile with a "
                                       "training scheme to deploy it")
    cfg = _config(broker_dir)
    try:
        pkg = build(package_dir, load_signing_key(cfg.signing_key), model_id, modality)
    except protocol.ProtocolError as e:
        raise TteError(str(e), file=package_dir) from None
    store = open_store(None, endpoint) if endpoint else ReadOnlyStore(store_dir) if store_dir else None
    if endpoint:
        from fleet.package import describe_package
        from semantic.kg import KnowledgeGraph

        KnowledgeGraph(store).add(describe_package(pkg))
    m = Manager(_endpoint(cfg), cfg.password("manager"), None, fleet=cfg.fleet, roles=("deploy",),
                mqtt_version=mqtt_version,
                client_id=f"tte-deploy-{cfg.fleet}-{os.getpid()}")
    m.start()
    try:
        seen = -1
        while len(m.presence) != seen:  # the retained states arrive in a burst after subscribing
            seen = len(m.presence)
            time.sleep(0.5)
        online = [d for d, p in m.presence.items() if p["state"] == "online"]
        devices = select_devices(to, online, store, modality)
        if not devices:
            raise TteError("no device to deploy to (none online, or the query selected none)")
        click.echo(f"deploying {pkg.manifest['model']} build {pkg.build_id} ({len(pkg.data):,} B) to "
                   f"{len(devices)} devices, stages {stages}", err=True)
        r = rollout(m, pkg, devices, stages=stages, abort_failures=abort_failures, min_executions=min_executions,
                    block_size=block_size, stage_timeout=stage_timeout)
    finally:
        m.stop()
    out = r.to_json()
    if as_json:
        click.echo(json.dumps(out, indent=2))
    else:
        for s in out["stages"]:
            click.echo(f"stage {s['stage']}: {s['devices']} devices (total {s['cumulative']}), "
                       f"{s['failures']} failures of {s['finished']} finished, at {s['seconds']:.1f} s")
        click.echo(", ".join(f"{k}: {v}" for k, v in sorted(out["counts"].items())))
        if r.aborted:
            click.echo(f"aborted: {r.reason}")
    if r.aborted or any(s != "applied" for s in r.states.values()):
        sys.exit(1)


@fleet.command()
@broker_dir_option
@click.option("--id", "device", required=True, help="Device id (it must have credentials in the broker dir).")
@click.option("--board", default="stm32f746g-disco", show_default=True)
@click.option("--sensor", "sensors", multiple=True, help="A sensor of the device (repeatable).")
@click.option("--engine", type=click.Choice(["none", "ref", "c", "qemu"]), default="c", show_default=True,
              help="What runs an installed package's self-test and training steps.")
@click.option("--state", "state_dir", default=None, type=click.Path(file_okay=False),
              help="The device's flash: slots, download, boot state (default .tte/devices/ID).")
@click.option("--keepalive", default=10, show_default=True)
@click.option("--data", default=None, type=click.Path(dir_okay=False, exists=True),
              help=".npz with arrays x, y: the sensor stream the device trains on, one sample at a time.")
@mqtt_option
@user_errors
def device(broker_dir: str, device: str, board: str, sensors: tuple[str, ...], engine: str, state_dir: str | None,
           keepalive: int, data: str | None, mqtt_version: str) -> None:
    """Run one device agent: presence, registration, telemetry, deployments."""
    from fleet.agent import Agent, AgentConfig
    from tte.errors import TteError

    cfg = _config(broker_dir)
    if device not in cfg.credentials["devices"]:
        raise TteError(f"device '{device}' has no credentials (tte fleet broker --device {device})",
                       file=str(cfg.dir))
    a = Agent(AgentConfig(device=device, broker=cfg.url, password=cfg.password(device),
                          state_dir=state_dir or str(Path(".tte/devices") / device), verify_key=str(cfg.verify_key),
                          fleet=cfg.fleet, board=board, sensors=list(sensors),
                          ca_file=str(cfg.ca_file) if cfg.ca_file else None, keepalive=keepalive, engine=engine,
                          data=data, mqtt_version=mqtt_version))
    a.start()
    click.echo(f"device {device} on {cfg.url}; Ctrl-C stops", err=True)
    try:
        _wait_for_signal()
    finally:
        a.stop()


@fleet.command()
@broker_dir_option
@click.option("--serial", "port", required=True, help="The board's serial port (/dev/ttyACM0, a pty, ...).")
@click.option("--board", required=True, help="The board's name (boards/*.toml).")
@click.option("--id", "device", default=None, help="Device id with credentials in the broker dir (default: --board).")
@click.option("--sensor", "sensors", multiple=True, help="A sensor of the board (repeatable).")
@click.option("--baud", default=115200, show_default=True)
@click.option("--timeout", "reply_timeout", default=5.0, show_default=True,
              help="Seconds to wait for the board's answer to one command.")
@click.option("--state", "state_dir", default=None, type=click.Path(file_okay=False),
              help="The gateway's record of the board: slots, download, boot state (default .tte/devices/ID).")
@click.option("--keepalive", default=10, show_default=True)
@click.option("--data", default=None, type=click.Path(dir_okay=False, exists=True),
              help=".npz with arrays x, y: the stream the board trains on, one sample per step.")
@mqtt_option
@user_errors
def bridge(broker_dir: str, port: str, board: str, device: str | None, sensors: tuple[str, ...], baud: int,
           reply_timeout: float, state_dir: str | None, keepalive: int, data: str | None, mqtt_version: str) -> None:
    """The fleet's device agent for a board running tte firmware behind a serial line (no network)."""
    from fleet.agent import AgentConfig
    from fleet.bridge import Bridge
    from tte.errors import TteError
    from tte.targets.boards import get_board
    from tte.targets.serial import SerialBoard

    device = device or board
    cfg = _config(broker_dir)
    if device not in cfg.credentials["devices"]:
        raise TteError(f"device '{device}' has no credentials (tte fleet broker --device {device})",
                       file=str(cfg.dir))
    get_board(board)  # an unknown board is refused before anything connects
    link = SerialBoard(port, baud=baud, timeout=reply_timeout)
    click.echo(f"board on {port}: tte firmware, {link.trainable_bytes:,} B trainable, input {link.input_bytes:,} B",
               err=True)
    a = Bridge(AgentConfig(device=device, broker=cfg.url, password=cfg.password(device),
                           state_dir=state_dir or str(Path(".tte/devices") / device), verify_key=str(cfg.verify_key),
                           fleet=cfg.fleet, board=board, sensors=list(sensors),
                           ca_file=str(cfg.ca_file) if cfg.ca_file else None, keepalive=keepalive, engine="serial",
                           data=data, mqtt_version=mqtt_version), link)
    a.start()
    click.echo(f"device {device} on {cfg.url} for the board on {port}; Ctrl-C stops", err=True)
    try:
        _wait_for_signal()
    finally:
        a.stop()


@fleet.command()
@click.option("--devices", "n", default=100, show_default=True, help="Simulated devices.")
@click.option("--broker-dir", default=None, type=click.Path(file_okay=False),
              help="Use this broker (and the `tte fleet serve` on it) instead of a private one.")
@click.option("--no-td", is_flag=True, help="Devices publish no Thing Description.")
@click.option("--timeout", default=120.0, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@user_errors
def simulate(n: int, broker_dir: str | None, no_td: bool, timeout: float, as_json: bool) -> None:
    """N device agents in this process; how long until all of them are in the knowledge graph."""
    from fleet.simulate import simulate as run

    r = run(n, broker_dir, timeout=timeout, publish_td=not no_td)
    if as_json:
        click.echo(json.dumps(r))
    else:
        click.echo(f"{r['kg_devices']} of {r['devices']} devices in the knowledge graph after "
                   f"{r['register_seconds']:.2f} s" + (f"; TDs after {r['td_seconds']:.2f} s" if "td_seconds" in r
                                                       else ""))


@fleet.command()
@broker_dir_option
@click.option("--json", "as_json", is_flag=True)
@user_errors
def status(broker_dir: str, as_json: bool) -> None:
    """The fleet's summary as the running manager last published it."""
    from fleet.simulate import StatusWatcher
    from tte.errors import TteError

    cfg = _config(broker_dir)
    try:
        w = StatusWatcher(cfg)
    except OSError as e:
        raise TteError(f"cannot reach the broker at {cfg.url}: {e}") from None
    got = w.got.wait(3)
    w.close()
    if not got:
        raise TteError(f"no status from a manager on {cfg.url} (is `tte fleet serve` running?)")
    if as_json:
        click.echo(json.dumps(w.status))
    else:
        s = w.status
        click.echo(f"fleet {s['fleet']}: {s['devices']} devices ({s['online']} online, {s['lost']} lost, "
                   f"{s['offline']} offline), {s['kg_devices']} in the knowledge graph, {s['errors']} errors")



@fleet.command()
@click.option("--report", type=click.Path(dir_okay=False, exists=True), default=None,
              help="A compiled model's report.json (default: compile the example CNN).")
@click.option("--model", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Its int8 .tflite (default: the example CNN).")
@click.option("--devices", default=4, show_default=True)
@user_errors
def demo(report: str | None, model: str | None, devices: int) -> None:
    """A short fleet session: broker, manager, devices, one deploy, one federated round."""
    import tempfile

    from fleet.demo import run_fleet_demo

    if report is not None:
        refuse_inference_only(report, "the demo's devices train the model; compile with a "
                                                    "training scheme")
    with tempfile.TemporaryDirectory(prefix="tte-fleet-demo-") as tmp:
        if report is None or model is None:
            import tte
            from tte.targets.paths import resource_dir

            example = resource_dir("examples") / "fmnist_cnn_int8.tflite"
            r = tte.compile(tte.load(example), board="stm32f746g-disco", scheme="last-k:2", emit_c=False,
                            name="fmnist_cnn")
            report = str(Path(tmp) / "report.json")
            Path(report).write_text(json.dumps(r, default=lambda o: o.item() if hasattr(o, "item") else str(o)))
            model = str(example)
        run_fleet_demo(Path(report), Path(model), devices, echo=click.echo)


COMMANDS = [fleet]
