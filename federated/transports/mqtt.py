"""Federated rounds over MQTT (the fleet's broker and topics, fleet.protocol).

Which devices a round may select comes from the knowledge graph when the transport has one (the
devices online there, running the model, with a sensor for its input), else from all of them. The
server publishes each job on ``tte/v1/<fleet>/<device>/fed/task`` (the model message's
arrays as base64 with dtype and shape, the round's configuration, a round token) and collects
``.../fed/update`` replies until every selected device answered or ``timeout`` passed. A device
whose retained state is not ``online`` is not waited for (it comes back as an error reply), nor one
that goes offline or lost during the round (its will, with the Sparkplug bdseq rule); a
reply with an old round token (late) is dropped; one that does not decode is a malformed update;
the server loop excludes all of them from the round and logs why.

Devices are fleet agents (fleet.agent.Agent) whose ``fed_handler`` is ``device_handler(...)``:
it rebuilds the arrays bit for bit, so a run gives the same model as the in-process transport.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from federated.client import Device
from federated.transports.base import Job, Reply, Transport
from fleet import protocol
from fleet.mqtt import Endpoint, make_client
from semantic.store import Store

log = logging.getLogger("federated")
_ROUNDS = itertools.count(1)


def encode_arrays(arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
    return {k: {"dtype": str(v.dtype), "shape": list(v.shape), "data": base64.b64encode(
        np.ascontiguousarray(v).tobytes()).decode()} for k, v in arrays.items()}


def decode_arrays(obj: Any) -> dict[str, np.ndarray]:
    """The arrays of a message; ValueError names what is malformed."""
    if not isinstance(obj, dict):
        raise ValueError("arrays must be an object")
    out = {}
    for k, a in obj.items():
        try:
            dt = np.dtype(a["dtype"])
            if dt.kind not in "iuf":
                raise ValueError(f"dtype {dt} is not numeric")
            raw = base64.b64decode(a["data"], validate=True)
            out[k] = np.frombuffer(raw, dt).reshape([int(d) for d in a["shape"]]).copy()
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"array '{k}': {e}") from None
    return out


def _json_default(v: Any) -> Any:
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    raise TypeError(f"not JSON: {type(v).__name__}")


def device_handler(device: Callable[[], Device]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """What a device agent does with a task: train the device (built on first use) and answer."""
    built: list[Device] = []

    def handle(task: dict[str, Any]) -> dict[str, Any]:
        if not built:
            built.append(device())
        try:
            up, metrics = built[0].train(decode_arrays(task["model"]), task["config"])
        except Exception as e:  # the device's failure is the round's event, reported to the server
            return {"round": task["round"], "error": f"{type(e).__name__}: {e}"}
        return {"round": task["round"], "update": encode_arrays(up), "metrics": metrics}
    return handle


class MqttTransport(Transport):
    """Server side. ``names(i)`` is the fleet device id of federated device ``i``.

    With ``store`` (the knowledge graph `tte fleet serve` keeps), each round selects among the devices
    the graph holds as online, and with ``model`` / ``modality`` among those that run that model /
    whose sensors fit that input modality (fleet.select.online_in_graph); without it, among all and
    a device whose retained state is not online is excluded when the round starts."""

    def __init__(self, endpoint: Endpoint, password: str, fleet: str, names: Callable[[int], str], *,
                 username: str = "manager", timeout: float = 120.0, store: Store | None = None,
                 model: str | None = None, modality: str | None = None) -> None:
        self.fleet = fleet
        self.names = names
        self.timeout = timeout
        self.store, self.model, self.modality = store, model, modality
        self.lock = threading.Lock()
        self.replies: dict[str, dict[str, Any]] = {}
        self.round_token = ""
        self.states: dict[str, str] = {}
        self.bdseq: dict[str, int] = {}
        self.arrived = threading.Event()
        self.connected = threading.Event()
        self.client = make_client(endpoint, f"tte-fed-{fleet}-{time.monotonic_ns()}", username, password)
        self.subscribed = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.connect(endpoint.host, endpoint.port)
        self.client.loop_start()
        if not self.connected.wait(10) or not self.subscribed.wait(10):
            raise TimeoutError("federated transport could not connect to the broker")
        self._settle()

    def _settle(self, quiet: float = 0.2, limit: float = 5.0) -> None:
        """Wait for the retained device states that follow the subscription (until none came for `quiet` s)."""
        deadline = time.monotonic() + limit
        seen = -1
        while time.monotonic() < deadline:
            with self.lock:
                n = len(self.states)
            if n == seen:
                return
            seen = n
            time.sleep(quiet)

    def _on_connect(self, c: Any, ud: Any, flags: Any, rc: Any, props: Any = None) -> None:
        c.subscribe([(protocol.subscription(self.fleet, "fed/update"), 1),
                     (protocol.subscription(self.fleet, "state"), 1)])
        self.connected.set()

    def _on_message(self, c: Any, ud: Any, msg: Any) -> None:
        try:
            t = protocol.parse_topic(msg.topic)
            obj = protocol.decode(t.kind, msg.payload)
        except protocol.ProtocolError as e:
            log.warning("%s: %s", msg.topic, e)
            return
        with self.lock:
            if t.kind == "state":
                seq = self.bdseq.get(t.device, -1)
                if obj["state"] == "online" or obj["bdseq"] >= seq:  # not an old connection's late will
                    self.states[t.device], self.bdseq[t.device] = obj["state"], max(seq, obj["bdseq"])
                    self.arrived.set()
                return
            if obj["round"] != self.round_token:
                log.warning("%s: late update of round %s dropped", t.device, obj["round"])
                return
            self.replies[t.device] = obj
        self.arrived.set()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def available(self, n_devices: int) -> list[int] | None:
        if self.store is None:
            return None
        from fleet.select import online_in_graph

        online = set(online_in_graph(self.store, self.model, self.modality))
        pool = [i for i in range(n_devices) if self.names(i) in online]
        log.info("round pool from the knowledge graph: %d of %d devices online%s", len(pool), n_devices,
                 "".join(f", {k} {v}" for k, v in (("model", self.model), ("modality", self.modality)) if v))
        return pool

    def train_round(self, jobs: list[Job]) -> list[Reply]:
        token = f"r{next(_ROUNDS)}-{time.monotonic_ns()}"
        by_name = {self.names(j.device): j for j in jobs}
        with self.lock:
            self.round_token, self.replies = token, {}
            offline = {n for n in by_name if self.states.get(n) != "online"}
        for name, job in by_name.items():
            if name in offline:
                continue
            task = {"round": token, "config": job.config, "model": encode_arrays(job.msg)}
            payload = json.dumps(task, default=_json_default, separators=(",", ":")).encode()
            self.client.publish(protocol.topic(self.fleet, name, "fed/task"), payload, qos=1)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            with self.lock:
                pending = set(by_name) - offline - set(self.replies)
                if all(self.states.get(n) != "online" for n in pending):
                    break  # every answer still missing is from a device that dropped out: no use waiting
            self.arrived.wait(0.05)
            self.arrived.clear()
        with self.lock:
            got, self.round_token = dict(self.replies), ""
            states = dict(self.states)
        out = []
        for name, job in by_name.items():
            if name in offline:
                out.append(Reply(job.device, error=f"device {name} is not online"))
            elif name in got:
                out.append(self._reply(job.device, got[name]))
            elif states.get(name) != "online":
                out.append(Reply(job.device, error=f"device {name} dropped out ({states.get(name)}) during the round"))
        return out

    @staticmethod
    def _reply(device: int, obj: dict[str, Any]) -> Reply:
        if "error" in obj:
            return Reply(device, error=str(obj["error"])[:300])
        try:
            msg = decode_arrays(obj.get("update"))
            metrics = {str(k): float(v) for k, v in dict(obj.get("metrics") or {}).items()}
        except (ValueError, TypeError) as e:
            return Reply(device, error=f"malformed update: {e}")
        return Reply(device, msg, metrics)
