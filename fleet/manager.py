"""The fleet manager: registrations, Thing Descriptions and presence into the knowledge graph; the
blocks of deployed packages to the devices that ask for them; job states from the devices.

Every message is checked (fleet.protocol) before it is used. A malformed, oversize, out-of-order
or invalid one (SHACL for registrations, the TD 1.1 JSON Schema for TDs) becomes an error event
on ``tte/v1/<fleet>/_fleet/events`` and in ``Manager.events``; the manager keeps running.

Threads: paho's network thread answers block requests and takes job states at once (no graph work
on that path) and queues everything else; one worker writes the graph in batches (registrations first, then
presence, then TDs, which cost most to convert to RDF).
"""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt

from fleet import protocol
from fleet.mqtt import Endpoint, make_client
from fleet.package import Package
from fleet.tdgraph import TdConverter
from semantic.store import Store, replace_graphs

log = logging.getLogger("fleet.manager")

TTE = "https://tte.invalid/ns#"
XSD = "http://www.w3.org/2001/XMLSchema#"
_DEVICE_IN = re.compile(r"urn:tte:device:([A-Za-z0-9._-]+?)(?:/|>|$)")
BATCH = 200  # registrations validated and written per graph update
TD_QUIET_S = 0.5  # no registration for this long: the TDs' turn
TD_BATCH_BUSY = 25  # TDs per update while registrations still come
# what each role of the manager subscribes to: the graph keeper (`tte fleet serve`) and the deployer
# (`tte fleet deploy`); one process may do both
ROLE_KINDS = {"graph": ("state", "register", "td", "heartbeat", "telemetry"),
              "deploy": ("state", "job/status", "stream/get")}


def presence_graph(device: str) -> str:
    return f"urn:tte:device:{device}/presence"


def deployment_graph(device: str) -> str:
    return f"urn:tte:device:{device}/deployment"


def td_graph(device: str) -> str:
    return f"urn:tte:device:{device}/td"


@dataclass
class JobState:
    job: str
    device: str
    sha256: str
    message: bytes
    package: Package | None = None
    block_size: int = protocol.DEFAULT_BLOCK
    stream: bool = False  # offered with the package stream
    state: str = "sent"
    seq: int = 0
    detail: str = ""
    bytes_received: int = 0
    bytes_resent: int = 0
    resumed_blocks: int = 0
    sent_at: float = field(default_factory=time.monotonic)
    done_at: float | None = None
    reached: dict[str, float] = field(default_factory=dict)  # when each state was first reported

    @property
    def final(self) -> bool:
        return self.state in protocol.JOB_FINAL


class Manager:
    def __init__(self, endpoint: Endpoint, password: str, store: Store | None, fleet: str = "default",
                 username: str = "manager", mqtt_version: str = "3.1.1", keepalive: int = 10,
                 on_event: Callable[[dict[str, Any]], None] | None = None,
                 roles: tuple[str, ...] = ("graph", "deploy"), client_id: str | None = None) -> None:
        from semantic.kg import KnowledgeGraph

        self.fleet = protocol.check_name("fleet", fleet)
        self.endpoint = endpoint
        unknown = set(roles) - set(ROLE_KINDS)
        if unknown or not roles:
            raise ValueError(f"roles must be among {sorted(ROLE_KINDS)}, got {roles}")
        self.kinds = tuple(dict.fromkeys(k for r in roles for k in ROLE_KINDS[r]))
        self.graph = "graph" in roles
        if self.graph and store is None:
            raise ValueError("the graph role needs a store")
        self.kg = KnowledgeGraph(store) if store is not None else None
        self.store: Any = store
        self.on_event = on_event
        self.events: deque[dict[str, Any]] = deque(maxlen=10000)
        self.presence: dict[str, dict[str, Any]] = {}
        self.last_seen: dict[str, float] = {}  # monotonic time of a device's last message
        self.keepalive_of: dict[str, int] = {}
        self.registrations: dict[str, dict[str, Any]] = {}
        self.registered: set[str] = set()
        self.tds: set[str] = set()
        self.pending_tds: dict[str, dict[str, Any]] = {}  # converted when nothing else waits
        self.td_converter = TdConverter()
        self.last_registration = 0.0
        self.timings = {"register": 0.0, "presence": 0.0, "td": 0.0}  # seconds of graph work
        self.status_every = 1.0
        self._last_status: dict[str, Any] | None = None
        self._next_status = 0.0
        self.telemetry: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, JobState] = {}
        self._packed: dict[tuple[int, int], tuple[Package, list[bytes]]] = {}  # holds the package: ids stay
        self.blocks_sent = 0
        self.bytes_sent = 0  # block bytes sent to devices (a package stream's once per device it was for)
        self.bytes_published = 0  # block bytes the manager published itself
        self.streamed: set[tuple[str, int]] = set()  # (sha256, block size) of package streams gone out
        self.broadcasts: list[dict[str, Any]] = []  # when each package stream went out, for how many devices
        self.lock = threading.RLock()
        self.inbox: queue.Queue[tuple[str, str, bytes]] = queue.Queue()
        self.stopping = threading.Event()
        self.connected = threading.Event()
        self.idle = threading.Event()
        self.client = make_client(endpoint, client_id or f"tte-manager-{fleet}", username, password, mqtt_version)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *a: self.connected.clear()
        self.client.on_message = self._on_message
        self.keepalive = keepalive
        self.worker = threading.Thread(target=self._work, name="fleet-manager", daemon=True)
        if self.graph:
            self._add_boards()

    # --- lifecycle ---------------------------------------------------------------------------

    def _add_boards(self) -> None:
        from semantic.describe import describe_board
        from tte.targets.boards import list_boards

        if not self.store.ask(f"ASK {{ ?b a <{TTE}Board> }}"):
            self.kg.add([describe_board(b) for b in list_boards()])

    def start(self, timeout: float = 10.0) -> None:
        self.worker.start()
        self.client.connect_async(self.endpoint.host, self.endpoint.port, keepalive=self.keepalive)
        self.client.loop_start()
        if not self.connected.wait(timeout):
            raise TimeoutError(f"manager could not connect to {self.endpoint.host}:{self.endpoint.port}")

    def stop(self) -> None:
        self.stopping.set()
        self.client.disconnect()
        self.client.loop_stop()
        self.worker.join(timeout=10)

    def _on_connect(self, c: mqtt.Client, ud: Any, flags: Any, rc: Any, props: Any = None) -> None:
        if rc.is_failure:
            self.event("error", None, "", f"broker refused the manager: {rc}")
            return
        c.subscribe([(protocol.subscription(self.fleet, k), 1) for k in self.kinds])
        self.connected.set()
        with self.lock:  # a broker restart loses what was in flight: offer the open jobs again
            for j in self.jobs.values():
                if not j.final:
                    c.publish(protocol.topic(self.fleet, j.device, "job"), j.message, qos=1)

    # --- events ---------------------------------------------------------------------------------

    def event(self, kind: str, device: str | None, topic: str, message: str, **extra: Any) -> dict[str, Any]:
        ev = {"type": kind, "device": device, "topic": topic, "message": message, "ts": time.time(), **extra}
        self.events.append(ev)
        if kind == "error":
            log.warning("%s: %s", topic or device, message)
        if self.connected.is_set():
            self.client.publish(protocol.events_topic(self.fleet), json.dumps(ev, default=str), qos=0)
        if self.on_event is not None:
            self.on_event(ev)
        return ev

    def errors(self) -> list[dict[str, Any]]:
        return [e for e in list(self.events) if e["type"] == "error"]

    # --- the network thread: block requests now, the rest to the worker --------------------------------

    def _on_message(self, c: mqtt.Client, ud: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            t = protocol.parse_topic(msg.topic)
            if t.fleet != self.fleet or t.kind not in self.kinds:
                raise protocol.ProtocolError(f"unexpected topic {msg.topic}")
            if len(msg.payload) > protocol.limit(t.kind):
                raise protocol.ProtocolError(f"{t.kind}: oversize payload ({len(msg.payload)} bytes > "
                                             f"{protocol.limit(t.kind)})")
            self.last_seen[t.device] = time.monotonic()
            if t.kind == "stream/get":
                self._serve(t.device, protocol.decode("stream/get", msg.payload))
            elif t.kind == "job/status":  # cheap, and a rollout waits for it: not behind graph work
                self._job_status(t.device, protocol.decode("job/status", msg.payload), msg.topic)
            else:
                self.idle.clear()
                self.inbox.put((t.device, t.kind, msg.payload))
        except protocol.ProtocolError as e:
            dev = msg.topic.split("/")[3] if msg.topic.count("/") >= 3 else None
            self.event("error", dev, msg.topic, str(e))
        except Exception as e:  # a bug must not take the manager down with it
            log.exception("while handling %s", msg.topic)
            self.event("error", None, msg.topic, f"internal error: {type(e).__name__}: {e}")

    def _serve(self, device: str, req: dict[str, Any]) -> None:
        job = self.jobs.get(device)
        pkg = job.package if job is not None else None
        if pkg is None or job is None or job.sha256 != req["sha256"]:
            raise protocol.ProtocolError(f"stream/get: no open job of this device for artifact {req['sha256'][:12]}")
        wanted = protocol.bitmap_decode(req["bitmap"], req["offset"])
        n = protocol.block_count(len(pkg.data), req["block_size"])
        beyond = [i for i in wanted if i >= n]
        if beyond:
            raise protocol.ProtocolError(f"stream/get: block {beyond[0]} beyond the artifact's {n} blocks")
        self._send_blocks(device, pkg, req["block_size"], wanted)

    def _send_blocks(self, device: str, pkg: Package, bs: int, indices: Iterable[int]) -> None:
        blocks = self._blocks(pkg, bs)
        out = protocol.topic(self.fleet, device, "stream/data")
        for i in indices:
            self.client.publish(out, blocks[i], qos=0)
            self.blocks_sent += 1
            self.bytes_sent += len(blocks[i]) - protocol.BLOCK_HEADER.size
            self.bytes_published += len(blocks[i]) - protocol.BLOCK_HEADER.size

    def _blocks(self, pkg: Package, bs: int) -> list[bytes]:
        """The artifact's blocks of size `bs`, packed once for every device that asks."""
        key = (id(pkg), bs)  # the package object, not its claimed hash: a forged one must get its own bytes
        if key not in self._packed:
            if len(self._packed) > 8:
                self._packed.clear()
            self._packed[key] = (pkg, [protocol.pack_block(pkg.sha256, len(pkg.data), bs, i,
                                                           pkg.data[i * bs:(i + 1) * bs])
                                       for i in range(protocol.block_count(len(pkg.data), bs))])
        return self._packed[key][1]

    # --- the worker: the knowledge graph ---------------------------------------------------------------

    def _work(self) -> None:
        while not self.stopping.is_set():
            try:
                self._watchdog()
            except Exception as e:  # noqa: BLE001 - reported, the loop goes on
                self.event("error", None, "", f"internal error: {type(e).__name__}: {e}")
            self._publish_status()
            # TDs cost the most: while devices still register, a few at a time when nothing else waits
            if self.inbox.empty() and self.pending_tds:
                settled = time.monotonic() - self.last_registration > TD_QUIET_S
                self._drain_tds(BATCH if settled else TD_BATCH_BUSY)
                continue
            try:
                first = self.inbox.get(timeout=0.05)
            except queue.Empty:
                if not self.pending_tds:
                    self.idle.set()
                continue
            batch = [first]
            deadline = time.monotonic() + 0.02
            while len(batch) < 4 * BATCH and time.monotonic() < deadline:
                try:
                    batch.append(self.inbox.get_nowait())
                except queue.Empty:
                    time.sleep(0.002)
            try:
                self._handle(batch)
            except Exception as e:  # keep serving: the batch is reported, not retried
                log.exception("manager worker")
                self.event("error", None, "", f"internal error: {type(e).__name__}: {e}")
            if self.inbox.empty() and not self.pending_tds:
                self.idle.set()

    def _drain_tds(self, n: int = BATCH) -> None:
        batch = {}
        with self.lock:
            for d in list(self.pending_tds)[:n]:
                batch[d] = self.pending_tds.pop(d)
        t0 = time.perf_counter()
        try:
            self._store_tds(batch)
            self.timings["td"] += time.perf_counter() - t0
        except Exception as e:  # noqa: BLE001 - reported; the next TDs still go in
            log.exception("storing TDs")
            self.event("error", None, "", f"internal error: {type(e).__name__}: {e}")

    def kg_devices(self) -> int:
        rows = self.store.select(f"SELECT (COUNT(DISTINCT ?d) AS ?n) WHERE {{ ?d a <{TTE}Device> ; "
                                 "<https://schema.org/identifier> ?id }")
        return int(rows[0]["n"])

    def _publish_status(self) -> None:
        """The fleet's summary, retained on tte/v1/<fleet>/_fleet/status (what `tte fleet status` reads)."""
        now = time.monotonic()
        if now < self._next_status or not self.connected.is_set() or not self.graph:
            return
        self._next_status = now + self.status_every
        st = {**self.status(), "kg_devices": self.kg_devices()}
        if st != self._last_status:
            self._last_status = st
            self.client.publish(protocol.status_topic(self.fleet), json.dumps(st), qos=1, retain=True)

    def _handle(self, batch: list[tuple[str, str, bytes]]) -> None:
        regs: dict[str, dict[str, Any]] = {}
        states: dict[str, dict[str, Any]] = {}
        tds: dict[str, dict[str, Any]] = {}
        for device, kind, payload in batch:
            topic = protocol.topic(self.fleet, device, kind)
            try:
                obj = protocol.decode(kind, payload)
            except protocol.ProtocolError as e:
                self.event("error", device, topic, str(e))
                continue
            if kind == "register":
                regs[device] = obj
                self.last_registration = time.monotonic()
                if "keepalive" in obj:
                    self.keepalive_of[device] = obj["keepalive"]
            elif kind == "state":
                if self._presence(device, obj, topic):
                    states[device] = self.presence[device]
            elif kind == "td":
                tds[device] = obj
            elif kind == "heartbeat":
                back = self._heartbeat(device, obj)
                if back is not None:
                    states[device] = back
            elif kind == "telemetry":
                self.telemetry[device] = {**obj, "at": time.time()}
        if not self.graph:
            return
        if regs:
            t0 = time.perf_counter()
            self._register(regs)
            self.timings["register"] += time.perf_counter() - t0
        if states:
            t0 = time.perf_counter()
            self._write_presence(states)
            self.timings["presence"] += time.perf_counter() - t0
        if tds:
            with self.lock:
                self.pending_tds.update(tds)

    def _watchdog(self) -> None:
        """Online devices silent for 1.5 of their keepalives are lost (the broker's will comes later)."""
        now = time.monotonic()
        lost = {}
        for device, p in list(self.presence.items()):
            k = self.keepalive_of.get(device)
            if p["state"] == "online" and k and now - self.last_seen.get(device, now) > 1.5 * k:
                with self.lock:
                    self.presence[device] = {**p, "state": "lost", "since": time.time(), "silent": True}
                lost[device] = self.presence[device]
                self.event("presence", device, "", "lost", bdseq=p["bdseq"], reason="no heartbeat")
        if lost and self.graph:
            self._write_presence(lost)

    def _heartbeat(self, device: str, hb: dict[str, Any]) -> dict[str, Any] | None:
        """A heartbeat of the current connection brings back a device the watchdog had given up."""
        p = self.presence.get(device)
        if p is not None and p.get("silent") and p["state"] == "lost" and hb["bdseq"] == p["bdseq"]:
            with self.lock:
                self.presence[device] = {"state": "online", "bdseq": p["bdseq"], "since": time.time()}
            self.event("presence", device, "", "online", bdseq=p["bdseq"], reason="heartbeat")
            return self.presence[device]
        return None

    def _presence(self, device: str, st: dict[str, Any], topic: str) -> bool:
        """Apply a birth or will unless it is older than what is known (a late will); True if changed."""
        cur = self.presence.get(device)
        if cur is not None and st["state"] != "online" and st["bdseq"] < cur["bdseq"]:
            self.event("stale", device, topic, f"ignored '{st['state']}' of connection {st['bdseq']}: "
                                               f"connection {cur['bdseq']} is newer")
            return False
        if cur is not None and cur["state"] == st["state"] and cur["bdseq"] == st["bdseq"]:
            return False
        with self.lock:
            self.presence[device] = {"state": st["state"], "bdseq": st["bdseq"], "since": time.time()}
            job = self.jobs.get(device)
        if st["state"] == "online" and job is not None and not job.final:
            self.client.publish(protocol.topic(self.fleet, device, "job"), job.message, qos=1)
        self.event("presence", device, topic, st["state"], bdseq=st["bdseq"])
        return True

    def _write_presence(self, states: dict[str, dict[str, Any]]) -> None:
        from rdflib import XSD as RX
        from rdflib import Graph, Literal, URIRef

        graphs = []
        for device, st in states.items():
            g = Graph()
            d = URIRef(f"urn:tte:device:{device}")
            g.add((d, URIRef(TTE + "status"), Literal(st["state"])))
            g.add((d, URIRef(TTE + "birthSequence"), Literal(st["bdseq"], datatype=RX.integer)))
            graphs.append((presence_graph(device), g))
        self.store.update(replace_graphs(graphs))

    def _register(self, regs: dict[str, dict[str, Any]]) -> None:
        """New or changed descriptions are SHACL-checked into the graph; the model a device runs goes
        to its own small graph (``<device>/deployment``) when the graph knows that model, so that a
        device that only changed its model (after a deploy) costs one small update, no validation."""
        from semantic.describe import describe_device
        from semantic.validate import ShaclError

        known_models = {r["m"] for r in self.store.select(f"SELECT ?m WHERE {{ ?m a <{TTE}Model> }}")}
        deployments = {d: r.get("model") for d, r in regs.items()}
        descs = {}
        accepted = set()
        for device, r in regs.items():
            old = self.registrations.get(device)
            if old is not None and all(old.get(k) == r.get(k) for k in ("board", "sensors", "firmware")):
                accepted.add(device)  # the description stands
                continue
            try:
                descs[device] = describe_device(device, r["board"], r.get("sensors", []), r.get("firmware"))
            except Exception as e:
                self.event("error", device, protocol.topic(self.fleet, device, "register"), str(e))
        items = list(descs.items())
        for i in range(0, len(items), BATCH):
            chunk = dict(items[i:i + BATCH])
            try:
                self.kg.add(list(chunk.values()))
            except ShaclError as e:
                by_device: dict[str, list[str]] = {}
                for v in e.violations:
                    m = _DEVICE_IN.search(v.focus)
                    if m and m.group(1) in chunk:
                        by_device.setdefault(m.group(1), []).append(str(v))
                bad = set(by_device)
                for d in sorted(bad):
                    why = "; ".join(by_device[d])
                    self.event("error", d, protocol.topic(self.fleet, d, "register"), f"registration refused: {why}")
                rest = [desc for d, desc in chunk.items() if d not in bad]
                if not bad:  # a violation not tied to one device: refuse the chunk whole
                    for d in chunk:
                        self.event("error", d, protocol.topic(self.fleet, d, "register"), f"registration refused: {e}")
                    continue
                if rest:
                    self.kg.add(rest)
                chunk = {d: desc for d, desc in chunk.items() if d not in bad}
            accepted.update(chunk)
        with self.lock:
            for d in accepted:
                self.registered.add(d)
                self.registrations[d] = regs[d]
        self._write_deployments({d: deployments[d] for d in accepted}, known_models)

    def _write_deployments(self, models: dict[str, str | None], known: set[str]) -> None:
        from rdflib import Graph, URIRef

        graphs = []
        for device, model in models.items():
            g = Graph()
            if model and f"urn:tte:model:{model}" in known:
                g.add((URIRef(f"urn:tte:device:{device}"), URIRef(TTE + "deployedModel"),
                       URIRef(f"urn:tte:model:{model}")))
            elif model:
                self.event("warning", device, protocol.topic(self.fleet, device, "register"),
                           f"runs model '{model}', which the knowledge graph does not know")
            graphs.append((deployment_graph(device), g))
        if graphs:
            self.store.update(replace_graphs(graphs))

    def _store_tds(self, tds: dict[str, dict[str, Any]]) -> None:
        from semantic.td import schema_errors

        parts = []
        stored = []
        for device, td in tds.items():
            topic = protocol.topic(self.fleet, device, "td")
            if td.get("id") != f"urn:tte:device:{device}":
                self.event("error", device, topic, f"Thing Description id {td.get('id')!r} is not this device's")
                continue
            errors = schema_errors(td)
            if errors:
                self.event("error", device, topic, "Thing Description refused: " + "; ".join(errors[:3]))
                continue
            try:
                nt = self.td_converter.ntriples(device, td)
            except (SyntaxError, ValueError) as e:  # JSON-LD that cannot be expanded
                self.event("error", device, topic, f"Thing Description refused: {e}")
                continue
            parts.append((td_graph(device), nt))
            stored.append(device)
        if parts:
            self.store.update(" ;\n".join(f"DROP SILENT GRAPH <{g}>" for g, _ in parts) + " ;\nINSERT DATA {\n"
                              + "\n".join(f"GRAPH <{g}> {{\n{nt}}}" for g, nt in parts) + "\n}")
            with self.lock:
                self.tds.update(stored)

    def _job_status(self, device: str, st: dict[str, Any], topic: str) -> None:
        with self.lock:
            job = self.jobs.get(device)
            if job is None or job.job != st["job"]:
                self.event("error", device, topic, f"status of unknown job {st['job']!r}")
                return
            if st["seq"] <= job.seq:
                self.event("error", device, topic, f"out-of-order job status: seq {st['seq']} after {job.seq}")
                return
            prev = None if job.state == "sent" else job.state
            if st["state"] not in protocol.JOB_REACHABLE[prev] and st["state"] != prev:
                self.event("error", device, topic, f"job state {st['state']!r} cannot follow {prev!r}")
                return
            job.seq, job.state, job.detail = st["seq"], st["state"], st.get("detail", "")
            job.reached.setdefault(job.state, time.monotonic())
            job.bytes_received = st.get("bytes_received", job.bytes_received)
            job.bytes_resent = st.get("bytes_resent", job.bytes_resent)
            job.resumed_blocks = st.get("resumed_blocks", job.resumed_blocks)
            if job.final and job.done_at is None:
                job.done_at = time.monotonic()
            late = (job.stream and job.state == "downloading" and prev != "downloading" and job.package is not None
                    and (job.sha256, job.block_size) in self.streamed)
        if late:  # it began to listen after its package stream went out: its blocks, straight away
            assert job.package is not None
            self._send_blocks(device, job.package, job.block_size,
                              range(protocol.block_count(len(job.package.data), job.block_size)))
        if job.final:
            self.event("job", device, topic, job.state, job=job.job, detail=job.detail)

    # --- deployments ------------------------------------------------------------------------------

    def offer(self, package: Package, device: str, job_id: str, block_size: int = protocol.DEFAULT_BLOCK,
              stream: bool = False) -> JobState:
        """Send a device the job for `package` (it then pulls the blocks; with `stream`, it first
        listens to the package stream, which `broadcast` publishes)."""
        job = {"job": job_id, "package": package.manifest, "signature": package.signature, "block_size": block_size}
        if stream:
            job["stream"] = protocol.stream_topic(self.fleet, package.sha256)
        msg = protocol.encode("job", job)
        with self.lock:
            job = JobState(job_id, device, package.sha256, msg, package, block_size, stream)
            self.jobs[device] = job
        self.client.publish(protocol.topic(self.fleet, device, "job"), msg, qos=1)
        return job

    def broadcast(self, package: Package, devices: list[str], block_size: int = protocol.DEFAULT_BLOCK,
                  quiet_s: float = 1.0, max_wait_s: float = 10.0) -> int:
        """Publish every block of `package` once on its package stream, for the devices offered it with
        `stream` that listen (report `downloading`): when all of them do, or when some do and no other
        has come for `quiet_s`, or after `max_wait_s` (a device that comes later asks for its blocks
        itself). The number of devices it was for."""
        start = last_change = time.monotonic()
        seen = -1
        while True:
            with self.lock:
                jobs = [self.jobs[d] for d in devices if d in self.jobs and self.jobs[d].sha256 == package.sha256]
                waiting = [j for j in jobs if j.state in ("sent", "queued")]
                listening = [j for j in jobs if j.state == "downloading"]
            now = time.monotonic()
            if len(waiting) != seen:
                seen, last_change = len(waiting), now
            if not waiting or (listening and now - last_change > quiet_s) or now - start > max_wait_s:
                break
            time.sleep(0.005)
        with self.lock:  # from here a device that starts listening is sent its blocks (_job_status)
            self.streamed.add((package.sha256, block_size))
        self.broadcasts.append({"sha256": package.sha256, "devices": len(listening), "waited_s": now - start,
                                "at": now})
        if not listening:
            return 0
        out = protocol.stream_topic(self.fleet, package.sha256)
        payload = 0
        for block in self._blocks(package, block_size):
            self.client.publish(out, block, qos=0)
            payload += len(block) - protocol.BLOCK_HEADER.size
        with self.lock:
            self.blocks_sent += len(self._blocks(package, block_size))
            self.bytes_published += payload
            self.bytes_sent += payload * len(listening)
        return len(listening)

    def add_package_to_graph(self, package: Package) -> None:
        """The package's model and compiled artifact as descriptions (validated like any other)."""
        from fleet.package import describe_package

        assert self.kg is not None, "the deployer role keeps no graph"
        self.kg.add(describe_package(package))

    def wait_idle(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle.wait(0.05) and self.inbox.empty() and not self.pending_tds:
                return True
        return False

    def status(self) -> dict[str, Any]:
        with self.lock:
            states = [p["state"] for p in self.presence.values()]
            return {"fleet": self.fleet, "devices": len(self.presence), "registered": len(self.registered),
                    "online": states.count("online"), "lost": states.count("lost"),
                    "offline": states.count("offline"), "tds": len(self.tds),
                    "jobs": {s: sum(1 for j in self.jobs.values() if j.state == s)
                             for s in ("sent", *protocol.JOB_STATES)},
                    "errors": len(self.errors())}
