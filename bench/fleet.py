"""Fleet benchmark on a real Mosquitto (loopback): registration of a simulated fleet into the knowledge
graph, and a deployment's throughput against the broker's own throughput for the same bytes.

1. A private broker with credentials for --devices devices; the manager (in this process, with an
   in-memory Oxigraph store); the device agents in --agent-processes child processes (fleet.simulate). Timed from the
   agents' start until every device is in the graph (SHACL-validated), then until every Thing
   Description is in it too.
2. A compiled package (report.json and the int8 .tflite, signed) deployed to --deploy of those
   devices, for two packages in turn: the example CNN (51 KB) and MCUNet-5fps (660 KB). Every
   block is requested by bitmap, written and persisted; the artifact is verified (SHA-256,
   Ed25519) and applied to an A/B slot. The rollout publishes the blocks once on the package
   stream, which all its devices read (the broker fans out); each device then asks for what it
   missed. Throughput = devices x package bytes / time from the first job offer to the last
   `applied` (and to the last `verifying`: the transfer alone).
3. Baselines in the same run: a plain paho publisher (this process) delivers the same messages
   (block header included) to every device, QoS 0, to subscribers in child processes (split over
   --agent-processes, as the devices are): one subscriber for all copies, once a plain paho client
   and once the fleet's own client (fleet.mqtt.BufferedClient, which reads a packet in one system
   call, not paho's three or four); the faster of the two is the broker's own throughput, the
   ratio's baseline. Then plain paho with one subscriber per device on its own topic (a copy
   published per device), and one subscriber per device on one shared topic (each message
   published once, the broker fans out: the deploy's own layout without its protocol); from the
   first publish to the last byte; the best of three runs of each.
4. CPU seconds of both sides (the figures that do not depend on the machine's load), the
   manager's peak resident memory, the load average.

Usage: python bench/fleet.py [--devices 1000] [--deploy 200] [--block-size 4096] [--packages fmnist,mcunet]
       [--agent-processes CORES]
Writes bench/results/fleet.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

# This file is named like the package it measures: take bench/ off the path so `fleet` is the package.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))
sys.path.append(str(HERE))

from machine import machine_info  # noqa: E402

from fleet import protocol  # noqa: E402
from fleet.broker import MANAGER, Broker, BrokerConfig, write_config  # noqa: E402
from fleet.manager import Manager  # noqa: E402
from fleet.mqtt import Endpoint, make_client  # noqa: E402
from fleet.package import Package, build, load_signing_key  # noqa: E402
from fleet.rollout import deploy  # noqa: E402
from fleet.simulate import SWITCH_INTERVAL_S, device_names, scratch_dir  # noqa: E402
from semantic.store import LocalStore  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "fmnist_cnn_int8.tflite"
SUBSCRIBERS = """
import json, sys, threading, time
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from fleet.mqtt import BufferedClient
from fleet.pump import Pump
sys.setswitchinterval(float(sys.argv[2]))
spec = json.loads(open(sys.argv[1]).read())
Client = BufferedClient if spec["client"] == "fleet" else mqtt.Client
got = {"bytes": 0, "msgs": 0, "last": None}
subscribed = threading.Semaphore(0)
def on_message(c, ud, m):  # all clients run on the pump's one thread
    got["bytes"] += len(m.payload); got["msgs"] += 1; got["last"] = time.time()
pump = Pump()
clients = []
for i, (user, pw, topic) in enumerate(spec["clients"]):
    c = Client(CallbackAPIVersion.VERSION2, client_id=f"bench-sub-{spec['tag']}-{i}")
    c.username_pw_set(user, pw)
    c.on_message = on_message
    c.on_connect = lambda c, ud, f, rc, p=None, t=topic: c.subscribe(t, 0)
    c.on_subscribe = lambda *a: subscribed.release()
    pump.attach(c)
    c.connect(spec["host"], spec["port"], 60)
    clients.append(c)
for _ in clients:
    subscribed.acquire()
print(json.dumps({"ready": True}), flush=True)
deadline = time.time() + 60
while got["bytes"] < spec["total"] and time.time() < deadline:
    time.sleep(0.002)
for c in clients:
    c.disconnect()
time.sleep(0.2)
pump.stop()
got["cpu_seconds"] = time.process_time()
print(json.dumps(got), flush=True)
"""


def rss() -> dict[str, int]:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM"):
            out[k] = int(v.split()[0]) * 1024
    return out


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of process `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def mosquitto_version() -> str:
    r = subprocess.run(["mosquitto", "-h"], capture_output=True, text=True, check=False)
    return (r.stdout or r.stderr).splitlines()[0].strip() if (r.stdout or r.stderr) else ""


def _write_package_dir(directory: Path, report: dict[str, Any], model_name: str, model: bytes) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "report.json").write_text(json.dumps(report, default=lambda o: o.item() if hasattr(o, "item")
                                                      else str(o)))
    (directory / model_name).write_bytes(model)


def make_package(cfg: BrokerConfig, which: str, directory: Path) -> Package:
    """`fmnist`: the example CNN (a 51 KB package); `mcunet`: the paper's MCUNet-5fps at 96x96 with
    seeded random weights, int8 (a 660 KB package: a package the size of what fills an MCU's flash)."""
    import numpy as np

    import tte

    if which == "fmnist":
        q = tte.load(EXAMPLE)
        model = EXAMPLE.read_bytes()
    else:
        from tte.models.paper import build_paper_onnx

        g = tte.load(build_paper_onnx("mcunet-5fps", resolution=96).SerializeToString(), name="mcunet")
        q = tte.quantize(g, calibration=np.random.default_rng(0).normal(size=(8, 3, 96, 96)).astype(np.float32))
        tte.export(q, directory.with_suffix(".tflite"))
        model = directory.with_suffix(".tflite").read_bytes()
    report = tte.compile(q, board="stm32f746g-disco", scheme="last-k:2", emit_c=False, name=which)
    _write_package_dir(directory, report, f"{which}.tflite", model)
    return build(directory, load_signing_key(cfg.signing_key))


def deploy_run(manager: Manager, pkg: Package, targets: list[str], block_size: int, agents_pids: list[int],
               job_id: str) -> dict[str, Any]:
    manager.wait_idle(30)
    sent0, published0 = manager.bytes_sent, manager.bytes_published
    cpu1, rss_before, agents_cpu1 = cpu(), rss(), sum(map(proc_cpu, agents_pids))
    r = deploy(manager, pkg, targets, stages="100%", block_size=block_size, stage_timeout=600, job_id=job_id)
    cpu_dep, agents_cpu = cpu() - cpu1, sum(map(proc_cpu, agents_pids)) - agents_cpu1
    first_offer = min(manager.jobs[d].sent_at for d in targets)
    verifying = [manager.jobs[d].reached.get("verifying") for d in targets]
    transfer_s = max(v for v in verifying if v is not None) - first_offer if all(verifying) else None
    total = len(targets) * len(pkg.data)
    return {
        "model": pkg.manifest["model"], "devices": len(targets),
        "applied": sum(1 for s in r.states.values() if s == "applied"), "package_bytes": len(pkg.data),
        "block_size": block_size, "blocks_per_device": protocol.block_count(len(pkg.data), block_size),
        "seconds": round(r.seconds, 3), "payload_bytes_per_s": round(total / r.seconds),
        "transfer_seconds": round(transfer_s, 3) if transfer_s else None,
        "transfer_payload_bytes_per_s": round(total / transfer_s) if transfer_s else None,
        "bytes_sent": manager.bytes_sent - sent0, "bytes_published": manager.bytes_published - published0,
        "bytes_resent": sum(manager.jobs[d].bytes_resent for d in targets),
        "manager_cpu_seconds": round(cpu_dep, 3), "agents_cpu_seconds": round(agents_cpu, 3),
        "manager_rss_bytes_before": rss_before.get("VmRSS"),
        "timeline_s": timeline(manager, targets, first_offer),
        "stream": manager.broadcasts[-1] if manager.broadcasts else None}


def timeline(manager: Manager, targets: list[str], t0: float) -> dict[str, dict[str, float]]:
    """When the devices first reported each job state, seconds after the first offer (median, last)."""
    out = {}
    for state in ("queued", "downloading", "verifying", "applied"):
        ts = sorted(manager.jobs[d].reached[state] - t0 for d in targets if state in manager.jobs[d].reached)
        if ts:
            out[state] = {"median": round(ts[len(ts) // 2], 3), "last": round(ts[-1], 3), "devices": len(ts)}
    return out


def baseline(cfg: BrokerConfig, pkg: Package, devices: list[str], block_size: int, layout: str,
             tmp: Path, processes: int = 1, client: str = "paho") -> dict[str, Any]:
    """Plain paho, QoS 0: the same messages (block header + bytes) as the deploy, one copy per device,
    from a publisher here to subscribers in a child process: one subscriber for all copies
    (`layout` "one": the broker's own throughput), one per device on its own topic with the
    device's credentials ("per_device": a copy published per device), or one per device on the
    package stream ("fanout": each message published once, the broker copies it to every device: the
    deploy's client layout without its protocol). The subscribers run on one network thread
    (fleet.pump), as the simulated devices do."""
    n = protocol.block_count(len(pkg.data), block_size)
    msgs = [protocol.pack_block(pkg.sha256, len(pkg.data), block_size, i, pkg.data[i * block_size:(i + 1) * block_size])
            for i in range(n)]
    total = len(devices) * sum(len(m) for m in msgs)
    if layout == "per_device":
        topics = [protocol.topic(cfg.fleet, d, "stream/data") for d in devices]
        clients = [[d, cfg.password(d), t] for d, t in zip(devices, topics)]
    elif layout == "fanout":
        topics = [protocol.stream_topic(cfg.fleet, pkg.sha256)]
        clients = [[d, cfg.password(d), topics[0]] for d in devices]
    else:
        topics = [protocol.topic(cfg.fleet, "baseline", "stream/data")] * len(devices)
        clients = [[MANAGER, cfg.password(MANAGER), topics[0]]]
    per_copy = sum(len(m) for m in msgs)
    subs = []
    for i in range(min(processes, len(clients))):  # the subscribers split over processes as the devices are
        mine = clients[i::processes]
        spec = tmp / f"subscribers-{layout}-{i}.json"
        spec.write_text(json.dumps({"host": "127.0.0.1", "port": cfg.port, "clients": mine, "client": client,
                                    "tag": f"{layout}-{client}-{i}",
                                    "total": total if len(clients) == 1 else per_copy * len(mine)}))
        subs.append(subprocess.Popen([sys.executable, "-c", SUBSCRIBERS, str(spec), str(SWITCH_INTERVAL_S)],
                                     stdout=subprocess.PIPE, text=True, cwd=ROOT,
                                     env={**os.environ, "PYTHONPATH": str(ROOT)}))
    for sub in subs:
        json.loads(sub.stdout.readline())  # type: ignore[union-attr]  # all subscribed
    pub = make_client(Endpoint.parse(cfg.url), "bench-pub", MANAGER, cfg.password(MANAGER))
    connected = threading.Event()
    pub.on_connect = lambda *a: connected.set()
    pub.connect("127.0.0.1", cfg.port, 60)
    pub.loop_start()
    connected.wait(10)
    cpu0 = cpu()
    t0 = time.time()
    for topic in topics:
        for m in msgs:
            pub.publish(topic, m, qos=0)
    results = [json.loads(sub.stdout.readline()) for sub in subs]  # type: ignore[union-attr]
    pub_cpu = cpu() - cpu0
    for sub in subs:
        sub.wait()
    got = {"bytes": sum(r["bytes"] for r in results), "last": max(r["last"] or t0 for r in results),
           "cpu_seconds": sum(r["cpu_seconds"] for r in results)}
    pub.disconnect()
    pub.loop_stop()
    seconds = got["last"] - t0
    return {"client": client, "subscribers": len(clients), "processes": len(subs), "messages": len(devices) * n,
            "published": len(topics) * n, "bytes_sent": total,
            "bytes_received": got["bytes"], "seconds": round(seconds, 3),
            "payload_bytes_per_s": round(len(devices) * len(pkg.data) / seconds),
            "publisher_cpu_seconds": round(pub_cpu, 3),
            "subscriber_cpu_seconds": round(got["cpu_seconds"], 3),
            "note": "subscriber CPU includes its start-up and connections"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--deploy", type=int, default=200)
    ap.add_argument("--block-size", type=int, default=protocol.DEFAULT_BLOCK)
    ap.add_argument("--no-td", action="store_true", help="devices publish no Thing Description")
    ap.add_argument("--agent-processes", type=int, default=os.cpu_count() or 1,
                    help="simulated devices in this many processes (default: one per core; real devices each "
                         "have a CPU of their own)")
    ap.add_argument("--packages", default="fmnist,mcunet", help="which packages to deploy, in turn")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "fleet.json"))
    args = ap.parse_args()
    sys.setswitchinterval(SWITCH_INTERVAL_S)  # as the simulated devices' process does

    result: dict[str, Any] = {"machine": machine_info(), "versions": {"mosquitto": mosquitto_version()},
                              "load_average_at_start": os.getloadavg()[0], "agent_processes": args.agent_processes}
    import paho.mqtt

    result["versions"]["paho-mqtt"] = paho.mqtt.__version__
    devices = device_names(args.devices)
    with tempfile.TemporaryDirectory(prefix="tte-bench-fleet-") as tmp, scratch_dir("tte-bench-fleet-") as flash:
        cfg = write_config(Path(tmp) / "broker", fleet="sim", devices=[*devices, "baseline"])
        broker = Broker(cfg)
        broker.start()
        children: list[subprocess.Popen[str]] = []
        manager = Manager(Endpoint.parse(cfg.url), cfg.password(MANAGER), LocalStore(None), fleet=cfg.fleet)
        try:
            manager.start()
            cpu0, wall0 = cpu(), time.monotonic()
            for i in range(args.agent_processes):  # device i in process i % P: each gets some deploy targets
                spec = Path(tmp) / f"agents-{i}.json"
                spec.write_text(json.dumps({"broker_dir": str(cfg.dir), "devices": devices[i::args.agent_processes],
                                            "root": flash, "agent": {"publish_td": not args.no_td}}))
                children.append(subprocess.Popen([sys.executable, "-m", "fleet.simulate", str(spec)], cwd=ROOT,
                                                 text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                                 env={**os.environ, "PYTHONPATH": str(ROOT)}))
            started = min(json.loads(c.stdout.readline())["starting"] for c in children)  # type: ignore[union-attr]
            last_report = time.time()
            while len(manager.registered) < args.devices or manager.kg_devices() < args.devices:
                time.sleep(0.05)
                if time.time() - last_report > 5:
                    last_report = time.time()
                    print(f"  ... {time.time() - started:.0f} s: {manager.status()}", file=sys.stderr, flush=True)
                if time.time() - started > 300:
                    raise SystemExit(f"registration did not finish within 300 s: {manager.status()}")
            register_s = time.time() - started
            kg_devices = manager.kg_devices()
            td_s = None
            if not args.no_td:
                while len(manager.tds) < args.devices and time.time() - started < 600:
                    time.sleep(0.1)
                    if time.time() - last_report > 5:
                        last_report = time.time()
                        print(f"  ... {time.time() - started:.0f} s: {len(manager.tds)} TDs", file=sys.stderr,
                              flush=True)
                td_s = time.time() - started
            cpu_reg, wall_reg = cpu() - cpu0, time.monotonic() - wall0
            result["registration"] = {
                "devices": args.devices, "registered": len(manager.registered), "kg_devices": kg_devices,
                "online": manager.status()["online"], "register_seconds": round(register_s, 3),
                "target_seconds": 10.0, "tds": len(manager.tds),
                "td_seconds": round(td_s, 3) if td_s is not None else None,
                "manager_graph_seconds": {k: round(v, 3) for k, v in manager.timings.items()},
                "manager_cpu_seconds": round(cpu_reg, 3), "wall_seconds": round(wall_reg, 3),
                "errors": len(manager.errors())}

            targets = devices[:args.deploy]
            packages = {which: make_package(cfg, which, Path(tmp) / which) for which in args.packages.split(",")}
            deploys = {which: deploy_run(manager, pkg, targets, args.block_size, [c.pid for c in children],
                                         f"bench-{which}")
                       for which, pkg in packages.items()}
            for c in children:
                c.stdin.write("stop\n")  # type: ignore[union-attr]
                c.stdin.flush()  # type: ignore[union-attr]
            for c in children:
                c.wait(timeout=120)
            children = []
            result["deploy"] = []
            for which, dep in deploys.items():
                # best of three: the ratio is taken against the broker at its fastest in this run
                def best(layout: str, client: str = "paho", which: str = which) -> dict[str, Any]:
                    return max((baseline(cfg, packages[which], targets, args.block_size, layout, Path(tmp),
                                         args.agent_processes, client) for _ in range(3)),
                               key=lambda b: b["payload_bytes_per_s"])
                plain, ours = best("one"), best("one", "fleet")
                per_dev, fanout = best("per_device"), best("fanout")
                base = max(plain, ours, key=lambda b: b["payload_bytes_per_s"])
                dep["baseline_paho"] = plain
                dep["baseline_fleet_client"] = ours
                dep["baseline"] = base["client"]
                dep["baseline_paho_per_device"] = per_dev
                dep["baseline_paho_fanout"] = fanout
                dep["ratio_to_baseline"] = round(dep["payload_bytes_per_s"] / base["payload_bytes_per_s"], 3)
                dep["ratio_to_baseline_paho"] = round(dep["payload_bytes_per_s"] / plain["payload_bytes_per_s"], 3)
                dep["ratio_to_baseline_per_device"] = round(dep["payload_bytes_per_s"]
                                                            / per_dev["payload_bytes_per_s"], 3)
                dep["ratio_to_baseline_fanout"] = round(dep["payload_bytes_per_s"] / fanout["payload_bytes_per_s"], 3)
                if dep["transfer_payload_bytes_per_s"]:
                    dep["transfer_ratio_to_baseline"] = round(dep["transfer_payload_bytes_per_s"]
                                                              / base["payload_bytes_per_s"], 3)
                dep["target_ratio"] = 0.5
                # the same comparison in CPU seconds per byte (independent of the machine's load): the
                # manager serving blocks against the plain publisher, and the agents against the subscribers
                dep["cpu_ratio_manager_to_publisher"] = round(base["publisher_cpu_seconds"]
                                                              / dep["manager_cpu_seconds"], 3)
                dep["cpu_ratio_agents_to_subscriber"] = round(base["subscriber_cpu_seconds"]
                                                              / dep["agents_cpu_seconds"], 3)
                result["deploy"].append(dep)
            mem = rss()
            result["manager_memory"] = {"rss_bytes": mem.get("VmRSS"), "peak_rss_bytes": mem.get("VmHWM"),
                                        "note": "this process: the manager, its in-memory store, the imports of "
                                                "tte/semantic/fleet and the baseline publisher"}
        finally:
            for c in children:
                c.kill()
            manager.stop()
            broker.stop()

    reg = result["registration"]
    print(f"{'registration':<36}{reg['registered']:>6} devices {reg['register_seconds']:>7.2f} s (target <= 10 s); "
          f"TDs {reg['tds']} in {reg['td_seconds']} s; manager CPU {reg['manager_cpu_seconds']} s")
    for dep in result["deploy"]:
        base, per_dev, fanout = dep["baseline_paho"], dep["baseline_paho_per_device"], dep["baseline_paho_fanout"]
        ours = dep["baseline_fleet_client"]
        print(f"deploy {dep['model']} ({dep['package_bytes']:,} B, {dep['blocks_per_device']} blocks) to "
              f"{dep['devices']} devices:")
        print(f"{'  offer to applied':<36}{dep['applied']:>6} applied {dep['seconds']:>7.2f} s "
              f"{dep['payload_bytes_per_s'] / 1e6:7.2f} MB/s")
        print(f"{'  offer to last verifying':<36}{'':>14} {dep['transfer_seconds'] or 0:>7.2f} s "
              f"{(dep['transfer_payload_bytes_per_s'] or 0) / 1e6:7.2f} MB/s")
        for name, b in (("  paho, 1 subscriber", base), ("  fleet client, 1 subscriber", ours),
                        ("  paho, 1 subscriber per device", per_dev),
                        ("  paho, fan-out to each device", fanout)):
            print(f"{name:<36}{b['messages']:>6} msgs    {b['seconds']:>7.2f} s "
                  f"{b['payload_bytes_per_s'] / 1e6:7.2f} MB/s")
        print(f"{'  ratio to 1 subscriber (faster)':<36}{dep['ratio_to_baseline']:>6.3f} (target >= 0.5); per device "
              f"{dep['ratio_to_baseline_per_device']:.3f}; fan-out {dep['ratio_to_baseline_fanout']:.3f}")
        print(f"{'  CPU s: manager + agents':<36}{dep['manager_cpu_seconds']:>6.2f} + {dep['agents_cpu_seconds']:.2f}; "
              f"paho: publisher {base['publisher_cpu_seconds']:.2f} + subscriber {base['subscriber_cpu_seconds']:.2f}")
        print(f"{'  CPU ratio manager/publisher':<36}{dep['cpu_ratio_manager_to_publisher']:>6.3f}; agents/subscriber "
              f"{dep['cpu_ratio_agents_to_subscriber']:.3f}")
    print(f"{'load average at the end':<36}{os.getloadavg()[0]:>6.1f} (2 cores)")
    print(f"{'manager peak RSS':<36}{result['manager_memory']['peak_rss_bytes'] / 2**20:>6.0f} MB")
    result["load_average_at_end"] = os.getloadavg()[0]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
