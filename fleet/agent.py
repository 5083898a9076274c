"""A device agent: presence, registration, telemetry, and deployments that survive resets.

Presence: each connection gets the next birth sequence number (bdseq, persisted), a client id
``<device>.<bdseq>``, a retained ``online`` birth and a retained ``lost`` will with the same
bdseq. A will from an older connection that lands after the new birth is answered by
publishing the birth again, so the retained state ends right.

Deploy: a job names a signed manifest; the agent requests the artifact's blocks by offset with a
bitmap of the missing ones (a window at a time, re-requested after a silence), writes each
block at its offset in ``download/<sha256>.part`` and persists the received-block bitmap beside
it, so a restarted agent asks only for what it still misses. A job that names a package stream
(a rollout to many devices) is first received from that stream, which the manager publishes
once for all; the agent asks for what it still misses when the stream's last block came or the
stream stayed silent for STREAM_WAIT_S (after a shorter silence, for the blocks the stream skipped
only: those still to come would then go out once per device). When complete it checks size,
SHA-256 and the Ed25519 signature, then installs into the inactive A/B slot, switches
``boot.json`` atomically (unconfirmed), runs the self-test and confirms, or switches back
(rolled back). An unconfirmed switch found at start-up is rolled back (MCUboot's test/confirm).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import shutil
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from fleet import protocol
from fleet.engine import DeviceModel
from fleet.mqtt import Endpoint, make_client
from fleet.package import load_verify_key, unpack, verify
from fleet.pump import Pump
from tte.errors import TteError

log = logging.getLogger("fleet.agent")

WINDOW = 32  # blocks requested at a time
RETRY_S = 3.0  # re-request the missing blocks of the window after this much silence (blocks are QoS 0)
STREAM_WAIT_S = 3.0  # how long a job's package stream may stay silent before the agent asks for the rest itself
STREAM_GAP_S = 0.5  # once its blocks arrive, a silence this long: ask for the ones it skipped (dropped QoS 0
# blocks), not for those still to come, which a stalled broker would then send every device twice
FLUSH_BLOCKS = 16  # the received-block bitmap is persisted every this many blocks ...
FLUSH_S = 0.1  # ... and this often (one pwrite each, not one per block)


@dataclass
class AgentConfig:
    device: str
    broker: str
    password: str
    state_dir: str
    verify_key: str
    fleet: str = "default"
    board: str = "stm32f746g-disco"
    sensors: list[str] = field(default_factory=list)
    firmware: str = "tte-1"
    ca_file: str | None = None
    keepalive: int = 10
    telemetry_s: float = 5.0
    engine: str = "none"
    mqtt_version: str = "3.1.1"
    publish_td: bool = True
    block_rate: float = 0.0  # blocks per second the link carries (0 = unlimited), a slow radio
    window: int = WINDOW
    app_sram_bytes: int = 0  # SRAM the device's own application keeps: a package gets the rest
    data: str | None = None  # .npz with arrays x, y: the device's sensor stream, trained on online
    train_every_s: float = 0.5

    @classmethod
    def from_json(cls, path: str | Path) -> AgentConfig:
        return cls(**json.loads(Path(path).read_text()))


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, sort_keys=True))
    os.replace(tmp, path)


def _read_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return default


@lru_cache(maxsize=32)
def _board(name: str) -> Any:
    """The board description (boards/*.toml), None for a board tte does not know."""
    from tte.targets.boards import get_board

    try:
        return get_board(name)
    except TteError:
        return None


class Download:
    """One artifact being received: the .part file and, beside it, the persisted bitmap of received
    blocks (``<sha256>.<block size>.bits``: an 8-byte count of the bytes that came more than once,
    then one bit per block). A block is written at its offset at once; the bitmap (and the count)
    with one pwrite every FLUSH_BLOCKS blocks and every FLUSH_S seconds (`flush`), always after
    the blocks it marks, so a reset loses at most the blocks since the last flush (asked for
    again) and the bitmap never claims a block that was not written."""

    COUNTER = struct.Struct(">Q")

    def __init__(self, root: Path, job: dict[str, Any]) -> None:
        m = job["package"]
        self.sha, self.size, self.block_size = m["sha256"], int(m["size"]), int(job["block_size"])
        self.n = protocol.block_count(self.size, self.block_size)
        self.part = root / f"{self.sha}.part"
        self.bits_path = root / f"{self.sha}.{self.block_size}.bits"
        nbytes = (self.n + 7) // 8
        resume = self.part.exists() and self.bits_path.exists() and \
            self.bits_path.stat().st_size == self.COUNTER.size + nbytes and self.part.stat().st_size == self.size
        for name in os.listdir(root):
            if name.startswith(f"{self.sha}.") and name.endswith(".bits") and name != self.bits_path.name:
                (root / name).unlink()  # another block size: those bits mean other blocks
        if resume:
            raw = self.bits_path.read_bytes()
            self.resent = self.COUNTER.unpack_from(raw)[0]
            self.bits = bytearray(raw[self.COUNTER.size:])
        else:
            with open(self.part, "wb") as f:
                f.truncate(self.size)
            self.resent = 0
            self.bits = bytearray(nbytes)
            self.bits_path.write_bytes(self.COUNTER.pack(0) + bytes(self.bits))
        self.resumed_blocks = self.count()
        self.top = -1  # the highest block received in this session
        self._received = self.resumed_blocks
        self._low = 0
        self.unflushed = 0
        self.flushed_at = time.monotonic()
        self.part_fd = os.open(self.part, os.O_WRONLY)
        self.bits_fd = os.open(self.bits_path, os.O_WRONLY)

    def has(self, i: int) -> bool:
        return bool(self.bits[i // 8] >> (i % 8) & 1)

    def count(self) -> int:
        return sum(bin(b).count("1") for b in self.bits)

    def missing(self, limit: int) -> list[int]:
        """The first `limit` blocks not yet received."""
        while self._low < self.n and self.has(self._low):
            self._low += 1  # everything below is received: start there next time
        out = []
        for i in range(self._low, self.n):
            if not self.has(i):
                out.append(i)
                if len(out) == limit:
                    break
        return out

    @property
    def complete(self) -> bool:
        return self._received == self.n

    @property
    def bytes_resent(self) -> int:
        return self.resent

    @property
    def received_total(self) -> int:
        """Bytes received over all sessions: each block once, and the duplicates."""
        held = self._received * self.block_size
        if self.has(self.n - 1):
            held -= self.n * self.block_size - self.size  # the last block is short
        return held + self.resent

    def put(self, block: protocol.Block) -> bool:
        """Write a block at its offset, then mark it received; a duplicate is counted, not written."""
        if self.has(block.index):
            self.resent += len(block.data)
            self.unflushed += 1
            return False
        os.pwrite(self.part_fd, block.data, block.offset)
        self.bits[block.index // 8] |= 1 << (block.index % 8)
        self.top = max(self.top, block.index)
        self._received += 1
        self.unflushed += 1
        if self.unflushed >= FLUSH_BLOCKS:
            self.flush()
        return True

    def flush(self) -> None:
        """Persist the bitmap and the count of duplicate bytes (one pwrite)."""
        if self.unflushed:
            os.pwrite(self.bits_fd, self.COUNTER.pack(self.resent) + self.bits, 0)
            self.unflushed = 0
        self.flushed_at = time.monotonic()

    def close(self) -> None:
        try:
            self.flush()
        except OSError:
            pass
        for fd in (self.part_fd, self.bits_fd):
            try:
                os.close(fd)
            except OSError:
                pass

    def discard(self) -> None:
        self.close()
        self.part.unlink(missing_ok=True)
        self.bits_path.unlink(missing_ok=True)


class Agent:
    def __init__(self, cfg: AgentConfig, pump: Pump | None = None) -> None:
        """`pump`: a network thread shared with other agents (simulated fleets); else paho's own."""
        protocol.check_name("device", cfg.device)
        self.cfg = cfg
        self.pump = pump
        self.dir = Path(cfg.state_dir)
        for sub in ("slots/a", "slots/b", "download"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        self.endpoint = Endpoint.parse(cfg.broker, cfg.ca_file)
        self.data_topic = protocol.topic(cfg.fleet, cfg.device, "stream/data")
        self.streams = protocol.stream_topic(cfg.fleet, "0" * 64)[:-64]  # where package streams are
        self.key = load_verify_key(cfg.verify_key)
        self.lock = threading.RLock()
        self.client: mqtt.Client | None = None
        self.bdseq = int(_read_json(self.dir / "bdseq.json", {"bdseq": 0})["bdseq"])
        self.connected = threading.Event()
        self.disconnected = threading.Event()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.download: Download | None = None
        self.job: dict[str, Any] | None = None
        self.last_block = 0.0
        self.stream_started = False  # a block of the awaited package stream has arrived
        self.skipped_asked_at = 0.0  # when the blocks the stream skipped were last asked for
        self.requested: set[int] = set()
        self.stream_topic: str | None = None  # the package stream the current download listens to
        self.stream_mid: int | None = None  # the SUBSCRIBE of that stream, until its SUBACK
        self.awaiting_stream = False  # blocks come from the stream: no requests of our own yet
        self.reported: Download | None = None  # the download `downloading` was reported for
        self.applying: Download | None = None  # the download being verified and installed (off the network thread)
        self.model: DeviceModel | None = None
        self.backoff = 0.2
        # answers federated round tasks (federated.transports.mqtt.device_handler); None: ignored
        self.fed_handler: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None
        self.boot = self._recover_boot()

    # --- A/B slots -------------------------------------------------------------------------

    def _recover_boot(self) -> dict[str, Any]:
        boot = _read_json(self.dir / "boot.json", {"active": None, "previous": None, "confirmed": True,
                                                   "build_id": None, "model": None})
        if not boot.get("confirmed", True):  # reset during a self-test: go back
            boot = {"active": boot.get("previous"), "previous": None, "confirmed": True,
                    "build_id": boot.get("previous_build_id"), "model": boot.get("previous_model")}
            _write_json(self.dir / "boot.json", boot)
        return boot

    @property
    def build_id(self) -> str | None:
        return self.boot.get("build_id")

    def _install(self, data: bytes, manifest: dict[str, Any]) -> str | None:
        """Install into the inactive slot, switch, self-test; None when applied, else why it was rolled back."""
        files = unpack(data)
        slot = "b" if self.boot.get("active") == "a" else "a"
        target = self.dir / "slots" / slot
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for name, content in files.items():
            (target / name).write_bytes(content)
        (target / "manifest.json").write_text(json.dumps(manifest, sort_keys=True))
        old = dict(self.boot)
        trial = {"active": slot, "previous": old.get("active"), "confirmed": False, "build_id": manifest["build_id"],
                 "model": manifest["model"], "previous_build_id": old.get("build_id"),
                 "previous_model": old.get("model")}
        _write_json(self.dir / "boot.json", trial)
        try:
            model = self.open_model(target)
            if isinstance(model, DeviceModel):  # the verified package hash names the model's bytes
                model.self_test(package_sha256=manifest["sha256"])
            else:
                model.self_test()
        except Exception as e:  # any failure of the new model sends the device back to the old one
            _write_json(self.dir / "boot.json", old)
            self.boot = old
            return f"self-test failed: {type(e).__name__}: {e}"
        trial["confirmed"] = True
        _write_json(self.dir / "boot.json", trial)
        self.boot = trial
        self.model = model
        return None

    def open_model(self, slot: Path) -> DeviceModel:
        """The model of the package installed in `slot`, on the agent's engine (fleet.bridge: on a board)."""
        return DeviceModel(slot, self.cfg.engine)

    # --- connection ---------------------------------------------------------------------------

    def topic(self, kind: str) -> str:
        return protocol.topic(self.cfg.fleet, self.cfg.device, kind)

    def start(self) -> None:
        t = threading.Thread(target=self._supervise, name=f"agent-{self.cfg.device}", daemon=True)
        t.start()
        self.threads.append(t)
        self.next_telemetry = time.monotonic() + self.cfg.telemetry_s
        self.next_heartbeat = 0.0
        TICKER.add(self)
        if self.cfg.data and self.cfg.engine != "none":
            t3 = threading.Thread(target=self._train_online, name=f"agent-train-{self.cfg.device}", daemon=True)
            t3.start()
            self.threads.append(t3)

    def _connect_once(self) -> mqtt.Client:
        self.bdseq += 1
        _write_json(self.dir / "bdseq.json", {"bdseq": self.bdseq})
        c = make_client(self.endpoint, f"{self.cfg.device}.{self.bdseq}", self.cfg.device, self.cfg.password,
                        self.cfg.mqtt_version)
        c.will_set(self.topic("state"), protocol.encode("state", {"state": "lost", "bdseq": self.bdseq}),
                   qos=1, retain=True)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        c.on_subscribe = self._on_subscribe
        if self.pump is not None:
            self.pump.attach(c)
        c.connect(self.endpoint.host, self.endpoint.port, keepalive=self.cfg.keepalive)
        return c

    def _supervise(self) -> None:
        """One paho client per connection (its own bdseq, will and client id), run by paho's network
        thread (loop_start: publishes from other threads are then queued, never written concurrently)."""
        while not self.stopping.is_set():
            self.disconnected.clear()  # before connecting: with a pump, callbacks may come at once
            try:
                c = self._connect_once()
            except (OSError, ValueError) as e:
                log.debug("%s: connect failed: %s", self.cfg.device, e)
                self.stopping.wait(self.backoff)
                self.backoff = min(self.backoff * 2, 2.0)
                continue
            with self.lock:
                self.client = c
            if self.stopping.is_set():  # stop() came while connecting
                self.disconnected.set()
            if self.pump is None:
                c.loop_start()
            self.disconnected.wait()  # set by on_disconnect, stop() and crash(): no polling (a thousand
            # simulated agents' supervisors waking twice a second cost more than all their traffic)
            if self.pump is None:
                c.loop_stop()
            self.connected.clear()
            if not self.stopping.is_set():
                self.stopping.wait(self.backoff)
                self.backoff = min(self.backoff * 2, 2.0)

    def _on_connect(self, c: mqtt.Client, ud: Any, flags: Any, rc: Any, props: Any = None) -> None:
        if rc.is_failure:
            log.warning("%s: broker refused the connection: %s", self.cfg.device, rc)
            c.disconnect()  # the supervisor tries again after its back-off
            return
        for kind in ("job", "stream/data", "state", "fed/task"):
            c.subscribe(self.topic(kind), qos=1 if kind != "stream/data" else 0)
        self._birth(c)
        self.backoff = 0.2
        self.connected.set()
        with self.lock:
            if self.download is not None:
                self.awaiting_stream = False  # what the stream sent meanwhile is lost: ask
                self.stream_mid = None
                self._downloading()
                self._request(force=True)

    def _registration(self) -> bytes:
        return protocol.encode("register", {
            "board": self.cfg.board, "sensors": list(self.cfg.sensors), "firmware": self.cfg.firmware,
            "model": self.boot.get("model"), "build_id": self.build_id, "bdseq": self.bdseq,
            "keepalive": self.cfg.keepalive})

    def _birth(self, c: mqtt.Client) -> None:
        c.publish(self.topic("register"), self._registration(), qos=1, retain=True)
        if self.cfg.publish_td:
            from fleet.describe import device_td

            td = device_td(self.cfg.fleet, self.cfg.device, self.cfg.board, self.cfg.sensors, self.cfg.firmware)
            c.publish(self.topic("td"), protocol.encode("td", td), qos=1, retain=True)
        c.publish(self.topic("state"), protocol.encode("state", {"state": "online", "bdseq": self.bdseq}),
                  qos=1, retain=True)

    def _on_disconnect(self, c: mqtt.Client, ud: Any, flags: Any, rc: Any, props: Any = None) -> None:
        self.connected.clear()
        c.disconnect()  # no automatic reconnect: the supervisor connects anew with the next bdseq
        self.disconnected.set()

    def stop(self) -> None:
        """A clean shutdown: retained state `offline`, then DISCONNECT (no will)."""
        self.stopping.set()
        TICKER.remove(self)
        with self.lock:
            c = self.client
        if c is not None and self.connected.is_set():
            info = c.publish(self.topic("state"), protocol.encode("state", {"state": "offline", "bdseq": self.bdseq}),
                             qos=1, retain=True)
            try:
                info.wait_for_publish(timeout=2)
            except (RuntimeError, ValueError):
                pass
            c.disconnect()
        self.disconnected.set()
        for t in self.threads:
            t.join(timeout=5)
        if self.download is not None:
            self.download.close()

    def crash(self) -> None:
        """Drop the connection without DISCONNECT, as a reset would (the broker sends the will)."""
        self.stopping.set()
        TICKER.remove(self)
        with self.lock:
            c = self.client
        if c is not None:
            sock = c.socket()
            if sock is not None:
                sock.close()  # type: ignore[union-attr]
            c.disconnect()
        self.disconnected.set()
        for t in self.threads:
            t.join(timeout=5)

    # --- messages -------------------------------------------------------------------------------

    def _on_message(self, c: mqtt.Client, ud: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            # blocks are most of the traffic: their topic is known, no need to parse it
            t = msg.topic
            if t.startswith(self.streams) and t != self.stream_topic:
                return  # a stream's blocks still in flight after the download ended
            kind = "stream/data" if t == self.data_topic or t == self.stream_topic else protocol.parse_topic(t).kind
            if kind == "stream/data":
                self._on_block(protocol.unpack_block(msg.payload))
            elif kind == "job":
                self._on_job(protocol.decode("job", msg.payload))
            elif kind == "state":
                st = protocol.decode("state", msg.payload)
                if st["state"] != "online" and st["bdseq"] < self.bdseq and not self.stopping.is_set():
                    c.publish(self.topic("state"), protocol.encode("state", {"state": "online", "bdseq": self.bdseq}),
                              qos=1, retain=True)  # an old connection's will overtook this birth
            elif kind == "fed/task":
                self._on_fed_task(protocol.decode("fed/task", msg.payload))
        except protocol.ProtocolError as e:
            log.warning("%s: ignored %s: %s", self.cfg.device, msg.topic, e)

    def _on_subscribe(self, c: mqtt.Client, ud: Any, mid: int, *rest: Any) -> None:
        """The package stream's SUBACK: now the manager may publish it (it waits for `downloading`)."""
        with self.lock:
            if mid != self.stream_mid or self.download is None:
                return
            self.stream_mid = None
            self.last_block = time.monotonic()
            self._downloading()

    def _on_fed_task(self, task: dict[str, Any]) -> None:
        handler = self.fed_handler
        if handler is not None:
            reply = handler(task)
            if reply is not None and self.client is not None:
                self.client.publish(self.topic("fed/update"), protocol.encode("fed/update", reply), qos=1)

    def _status(self, state: str, detail: str = "") -> None:
        assert self.job is not None
        job = self.job
        job["seq"] = int(job.get("seq", 0)) + 1
        job["state"] = state
        _write_json(self.dir / "job.json", job)
        msg: dict[str, Any] = {"job": job["job"], "seq": job["seq"], "state": state, "build_id": self.build_id}
        if detail:
            msg["detail"] = detail[:1000]
        if self.download is not None:
            msg["bytes_received"] = self.download.received_total
            msg["bytes_resent"] = self.download.bytes_resent
            msg["resumed_blocks"] = self.download.resumed_blocks
        elif "bytes_received" in job:
            msg.update({k: job[k] for k in ("bytes_received", "bytes_resent", "resumed_blocks") if k in job})
        if self.client is not None:
            self.client.publish(self.topic("job/status"), protocol.encode("job/status", msg), qos=1)

    def _on_job(self, job: dict[str, Any]) -> None:
        with self.lock:
            saved = _read_json(self.dir / "job.json", None)
            if saved and saved.get("job") == job["job"]:
                self.job = saved
                if saved.get("state") in protocol.JOB_FINAL:
                    self._status(saved["state"], saved.get("detail", ""))  # the manager asks again: repeat
                    return
                if self.download is not None and self.download.sha == job["package"]["sha256"]:
                    if not self.awaiting_stream:
                        self._request()  # the manager asks again (it reconnected): go on, no need to re-ask
                    return
            else:
                self.job = {**job, "seq": 0}
                if job["package"]["build_id"] == self.build_id:
                    self._finish("applied", "already running this build")
                    return
                self._status("queued")
            fit = self._fit(job["package"])
            if fit:
                self._finish("failed", fit)
                return
            if self.download is not None:
                self.download.close()
            self.download = Download(self.dir / "download", job)
            stream = job.get("stream")
            if stream is not None and stream != protocol.stream_topic(self.cfg.fleet, job["package"]["sha256"]):
                log.warning("%s: ignored the job's stream %r: not its package's", self.cfg.device, stream)
                stream = None
            if self.download.complete:
                self._apply_in_background()
            elif stream is not None and self.client is not None and self.connected.is_set():
                self._listen(stream)  # `downloading` follows with the SUBACK
            else:
                self._downloading()
                self._request(force=True)

    def _listen(self, stream: str) -> None:
        assert self.client is not None
        if self.stream_topic is not None and self.stream_topic != stream:
            self.client.unsubscribe(self.stream_topic)
        self.stream_topic = stream
        self.awaiting_stream = True
        self.stream_started = False
        self.last_block = time.monotonic()
        rc, self.stream_mid = self.client.subscribe(stream, qos=0)
        if rc != mqtt.MQTT_ERR_SUCCESS:  # not connected after all: ask for the blocks instead
            self.awaiting_stream = False
            self._downloading()
            self._request(force=True)

    def _downloading(self) -> None:
        """Report `downloading` once per download (a restarted download reports it again)."""
        if self.reported is not self.download:
            self.reported = self.download
            self._status("downloading")

    def _fit(self, manifest: dict[str, Any]) -> str | None:
        """Why the package cannot run here (its input's sensor, SRAM, flash), or None."""
        need = manifest.get("input_modality")
        if need and self.cfg.sensors and need not in self.cfg.sensors:
            return f"does not fit: the model's input comes from a {need}, the device has {', '.join(self.cfg.sensors)}"
        board = _board(self.cfg.board)
        if board is None:
            return None
        free = board.sram_bytes - self.cfg.app_sram_bytes
        if manifest.get("peak_sram_bytes", 0) > free:
            return (f"does not fit: needs {manifest['peak_sram_bytes']:,} B SRAM, {free:,} B of board {board.name}'s "
                    "SRAM are free")
        if manifest.get("flash_bytes", 0) > board.flash_bytes:
            return (f"does not fit: needs {manifest['flash_bytes']:,} B flash, board {board.name} has "
                    f"{board.flash_bytes:,} B")
        return None

    def _finish(self, state: str, detail: str = "") -> None:
        assert self.job is not None
        if self.download is not None:
            self.job.update(bytes_received=self.download.received_total, bytes_resent=self.download.bytes_resent,
                            resumed_blocks=self.download.resumed_blocks)
        self.job["detail"] = detail
        self._status(state, detail)
        self.download = None
        self.requested.clear()
        self.awaiting_stream = False
        self.stream_mid = None
        if self.stream_topic is not None and self.client is not None:
            self.client.unsubscribe(self.stream_topic)
        self.stream_topic = None
        if self.client is not None:  # the retained registration carries the running build
            self.client.publish(self.topic("register"), self._registration(), qos=1, retain=True)

    def _request(self, force: bool = False) -> None:
        """Ask for more missing blocks when fewer than half a window are outstanding (`force`: forget
        what was asked and ask for the first window of missing blocks again)."""
        d = self.download
        if d is None or self.client is None or not self.connected.is_set():
            return
        if force:
            self.requested.clear()
        elif len(self.requested) > self.cfg.window // 2:
            return
        room = self.cfg.window - len(self.requested)
        want = [i for i in d.missing(self.cfg.window + len(self.requested)) if i not in self.requested][:room]
        if self.cfg.block_rate:
            want = want[:1]
        if not want:
            return
        self.requested.update(want)
        self.last_block = time.monotonic()
        self._ask(d, want)

    def _request_skipped(self) -> None:
        """Ask for the blocks the package stream skipped (missing below the highest received); the
        stream goes on, and its silence keeps counting towards STREAM_WAIT_S."""
        d = self.download
        if d is None or self.client is None or not self.connected.is_set():
            return
        want = [i for i in d.missing(self.cfg.window) if i < d.top]
        if want:
            self._ask(d, want)

    def _ask(self, d: Download, want: list[int]) -> None:
        assert self.client is not None
        req = {"sha256": d.sha, "block_size": d.block_size, "offset": want[0],
               "bitmap": protocol.bitmap_encode(want, want[0])}
        self.client.publish(self.topic("stream/get"), protocol.encode("stream/get", req), qos=0)

    def _on_block(self, block: protocol.Block) -> None:
        if self.applying is not None:
            return  # complete: blocks still streaming to other devices
        with self.lock:
            d = self.download
            if d is None or block.sha256 != d.sha or block.block_size != d.block_size:
                return
            if self.cfg.block_rate:
                time.sleep(1.0 / self.cfg.block_rate)
            d.put(block)
            self.stream_started = True
            self.last_block = time.monotonic()
            if d.complete:
                self._apply_in_background()
            elif self.awaiting_stream:
                if block.index == d.n - 1:  # the stream is over: ask for what it did not bring
                    self.awaiting_stream = False
                    self._request(force=True)
            else:
                self.requested.discard(block.index)
                self._request()

    def _apply_in_background(self) -> None:
        """Verify and install off the MQTT network thread: a slow self-test (firmware booting in
        QEMU, a board behind a UART) must not hold it, since its silence past 1.5 keepalives would
        make the broker drop the connection mid-deploy."""
        d = self.download
        if d is None or self.applying is d:
            return
        self.applying = d
        INSTALLER.submit(self._apply_worker, d)

    def _apply_worker(self, d: Download) -> None:
        try:
            with self.lock:
                if self.download is d:
                    self._verify_and_apply()
        finally:
            self.applying = None

    def _verify_and_apply(self) -> None:
        d, job = self.download, self.job
        assert d is not None and job is not None
        self._downloading()
        self._status("verifying")
        data = d.part.read_bytes()
        why = verify(data, job["package"], job["signature"], self.key)
        if why is not None:
            d.discard()  # never applied, never resumed from
            self._finish("failed", f"verification failed: {why}")
            return
        why = self._install(data, job["package"])
        d.discard()
        if why is not None:
            self._finish("rolled_back", why)
        else:
            self._finish("applied")

    # --- periodic work -----------------------------------------------------------------------

    def tick(self, now: float) -> None:
        """Periodic work (heartbeat, telemetry, block re-requests), called by the shared ticker."""
        if self.connected.is_set() and self.client is not None:
            if now >= self.next_heartbeat:
                self.next_heartbeat = now + self.cfg.keepalive / 2
                self.client.publish(self.topic("heartbeat"), protocol.encode("heartbeat", {"bdseq": self.bdseq}))
            if now >= self.next_telemetry:
                self.next_telemetry = now + self.cfg.telemetry_s
                self.publish_telemetry()
        d = self.download
        if d is None or self.applying is not None:
            return  # the apply thread holds the lock: the shared ticker must not wait for it
        if now - d.flushed_at > FLUSH_S:
            with self.lock:
                if self.download is d:
                    d.flush()
        silent = now - self.last_block
        if self.awaiting_stream and self.stream_started and STREAM_GAP_S < silent <= STREAM_WAIT_S:
            if now >= self.skipped_asked_at + STREAM_GAP_S:
                self.skipped_asked_at = now
                with self.lock:
                    self._request_skipped()
            return
        if silent > (STREAM_WAIT_S if self.awaiting_stream else RETRY_S):
            with self.lock:
                if self.download is not None:
                    self.awaiting_stream = False
                    self._downloading()
                    self._request(force=True)

    def _train_online(self) -> None:
        """One training step on the next sample of the data stream every `train_every_s` seconds, with
        the running package's model; accuracy on the stream's last 32 samples every 20 steps."""
        import numpy as np

        assert self.cfg.data is not None
        with np.load(self.cfg.data) as f:
            xs, ys = f["x"], f["y"]
        held = max(1, min(32, len(xs) // 4))
        i = 0
        while not self.stopping.wait(self.cfg.train_every_s):
            with self.lock:
                if self.model is None and self.boot.get("active"):
                    try:
                        self.model = self.open_model(self.dir / "slots" / str(self.boot["active"]))
                    except Exception as e:  # a package this engine cannot run: report, keep the agent up
                        log.warning("%s: cannot train the installed package: %s", self.cfg.device, e)
                        return
                m = self.model
            if m is None or m.trainer is None:
                continue
            k = i % (len(xs) - held)
            try:
                m.train(xs[k:k + 1], ys[k:k + 1])
                i += 1
                if i % 20 == 0:
                    m.last_accuracy = m.evaluate(xs[-held:], ys[-held:])
            except TteError as e:  # a board behind a serial line that did not answer: try again, not at once
                log.warning("%s: training step: %s", self.cfg.device, e)
                self.stopping.wait(min(5.0, 50 * self.cfg.train_every_s))

    def publish_telemetry(self) -> None:
        m = self.model
        t: dict[str, Any] = {"steps": m.steps if m else 0, "loss": m.last_loss if m else None,
                             "accuracy": m.last_accuracy if m else None,
                             "ram_bytes": int(self._ram()), "build_id": self.build_id}
        if self.client is not None:
            self.client.publish(self.topic("telemetry"), protocol.encode("telemetry", t), qos=0)

    def _ram(self) -> int:
        report_peak = 0
        if self.boot.get("active"):
            rep = _read_json(self.dir / "slots" / str(self.boot["active"]) / "report.json", {})
            report_peak = int(rep.get("peak_sram_bytes", 0))
        return report_peak


class Ticker:
    """One thread that drives the periodic work of every agent in the process (ten times a second),
    so that a thousand simulated agents do not need a thousand timer threads."""

    def __init__(self, period: float = 0.1) -> None:
        self.period = period
        self.agents: set[Agent] = set()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def add(self, agent: Agent) -> None:
        with self.lock:
            self.agents.add(agent)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="agent-ticker", daemon=True)
                self.thread.start()

    def remove(self, agent: Agent) -> None:
        with self.lock:
            self.agents.discard(agent)

    def _run(self) -> None:
        while True:
            time.sleep(self.period)
            with self.lock:
                agents = list(self.agents)
            now = time.monotonic()
            for a in agents:
                try:
                    a.tick(now)
                except Exception:  # one agent's fault must not stop the others' heartbeats
                    log.exception("agent %s tick", a.cfg.device)


TICKER = Ticker()


class Installer:
    """A few threads that verify and install for every agent in the process. A simulated fleet
    finishes a streamed package on hundreds of agents at once: a thread each would have them all
    contend for the interpreter with the network thread that still delivers blocks to the others."""

    def __init__(self, workers: int = 4) -> None:
        self.workers = workers
        self.tasks: queue.SimpleQueue[tuple[Callable[..., None], tuple[Any, ...]]] = queue.SimpleQueue()
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()

    def submit(self, fn: Callable[..., None], *args: Any) -> None:
        self.tasks.put((fn, args))
        with self.lock:
            self.threads = [t for t in self.threads if t.is_alive()]
            if len(self.threads) < self.workers:
                t = threading.Thread(target=self._run, name=f"agent-install-{len(self.threads)}", daemon=True)
                t.start()
                self.threads.append(t)

    def _run(self) -> None:
        while True:
            fn, args = self.tasks.get()
            try:
                fn(*args)
            except Exception:  # one agent's failed install must not stop the others'
                log.exception("agent install")


INSTALLER = Installer()


def main(argv: list[str] | None = None) -> None:
    """Run one agent from a JSON config file until interrupted (``python -m fleet.agent CONFIG``)."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    agent = Agent(AgentConfig.from_json(args[0]))
    agent.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        agent.stop()


if __name__ == "__main__":
    main()
