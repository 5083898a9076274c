"""Flower adapter: the same strategies and devices on Flower's simulation engine.

The server loop (``federated.server``) runs inside a Flower ``ServerApp``; each round's
jobs become Flower ``Message``s (the model as an ``ArrayRecord``, the round's settings as a
``ConfigRecord``) sent through the ``Grid`` to virtual SuperNodes, whose ``ClientApp``
rebuilds the device from a picklable ``DeviceFactory`` and trains it with tte. A ClientApp
that raises comes back as an error reply, a node that does not answer within ``timeout``
as a missing one; the server loop excludes both and logs them.

For several machines the same ``ServerApp``/``ClientApp`` pair runs under SuperLink and
SuperNodes (``flwr run``); ``server_app()``/``client_app()`` build them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from federated.client import Device, DeviceFactory
from federated.transports.base import Job, Reply, Transport
from tte.errors import TteError

T = TypeVar("T")
log = logging.getLogger("federated")

try:
    from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
    from flwr.clientapp import ClientApp
    from flwr.serverapp import Grid, ServerApp
except ImportError:  # pragma: no cover - depends on the optional extra
    ClientApp = ServerApp = None  # type: ignore[assignment,misc]

_DEVICES: dict[tuple[DeviceFactory, int], Device] = {}


def _require_flower() -> None:
    if ClientApp is None:
        raise TteError("the Flower transport needs Flower: pip install 'tte[flower]'")


def _records(arrays: dict[str, np.ndarray]) -> ArrayRecord:
    return ArrayRecord(array_dict={k: Array(np.ascontiguousarray(v)) for k, v in arrays.items()})


def _arrays(record: ArrayRecord) -> dict[str, np.ndarray]:
    return {k: v.numpy() for k, v in record.items()}


def _last_line(reason: str) -> str:
    """The useful end of a remote traceback ('... Message: <what the device said>')."""
    lines = [ln.strip() for ln in str(reason).splitlines() if ln.strip() and ln.strip() != "'>"]
    last = lines[-1] if lines else str(reason)
    return last.split("Message: ", 1)[-1].rstrip("'>")[:300]


def client_app(factory: DeviceFactory) -> ClientApp:
    """A ClientApp whose ``train`` handler runs device ``config['device']`` of ``factory``."""
    _require_flower()
    app = ClientApp()

    @app.train()
    def train(msg: Message, context: Context) -> Message:
        config = dict(msg.content["config"])
        key = (factory, int(config["device"]))
        if key not in _DEVICES:  # a Ray actor runs one message at a time
            _DEVICES[key] = factory(key[1])
        device = _DEVICES[key]
        up, metrics = device.train(_arrays(msg.content["model"]), config)
        content = RecordDict({"update": _records(up),
                              "metrics": MetricRecord({**metrics, "device": int(config["device"])})})
        return Message(content, reply_to=msg)

    return app


class FlowerTransport(Transport):
    """Run the server loop on Flower's simulation engine (Ray backend) with
    ``num_supernodes`` virtual nodes, ``num_cpus`` CPUs for Ray, one CPU per ClientApp."""

    def __init__(self, factory: DeviceFactory, *, num_supernodes: int = 10, num_cpus: int = 1,
                 timeout: float | None = None) -> None:
        _require_flower()
        self.factory = factory
        self.num_supernodes = num_supernodes
        self.num_cpus = num_cpus
        self.timeout = timeout
        self._grid: Grid | None = None

    def session(self, loop: Callable[[Transport], T]) -> T:
        from flwr.simulation import run_simulation

        outcome: dict[str, Any] = {}
        server = ServerApp()

        @server.main()
        def main(grid: Grid, context: Context) -> None:
            self._grid = grid
            try:
                outcome["result"] = loop(self)
            except BaseException as e:  # handed back to the caller below
                outcome["error"] = e
            finally:
                self._grid = None

        run_simulation(server_app=server, client_app=client_app(self.factory), num_supernodes=self.num_supernodes,
                       backend_config={"client_resources": {"num_cpus": 1, "num_gpus": 0.0},
                                       "init_args": {"num_cpus": self.num_cpus, "num_gpus": 0,
                                                     "include_dashboard": False, "log_to_driver": False}})
        if "error" in outcome:
            raise outcome["error"]
        if "result" not in outcome:
            raise TteError("the Flower simulation ended without running the server loop")
        return outcome["result"]  # type: ignore[no-any-return]

    def _nodes(self, grid: Grid, wait_s: float = 60.0) -> list[int]:
        """The SuperNodes' ids. On a loaded machine the ServerApp can start before the
        simulated SuperNodes have registered (seen: none at round 0): wait for all of them,
        up to ``wait_s``, then go on with those that did register."""
        deadline = time.monotonic() + wait_s
        nodes = sorted(grid.get_node_ids())
        while len(nodes) < self.num_supernodes and time.monotonic() < deadline:
            time.sleep(0.1)
            nodes = sorted(grid.get_node_ids())
        if not nodes:
            raise TteError(f"no Flower SuperNode registered within {wait_s:.0f} s")
        return nodes

    def train_round(self, jobs: list[Job]) -> list[Reply]:
        grid = self._grid
        if grid is None:
            raise RuntimeError("FlowerTransport.train_round outside a session")
        nodes = self._nodes(grid)
        replies: list[Reply] = []
        # one job per node at a time, so a reply's source node names its device
        for start in range(0, len(jobs), len(nodes)):
            wave = jobs[start:start + len(nodes)]
            by_node: dict[int, Job] = {}
            messages = []
            for node, job in zip(nodes, wave):
                by_node[node] = job
                content = RecordDict({"model": _records(job.msg),
                                      "config": ConfigRecord({**job.config, "device": job.device})})
                messages.append(Message(content, dst_node_id=node, message_type="train"))
            for reply in grid.send_and_receive(messages, timeout=self.timeout):
                job = by_node.get(reply.metadata.src_node_id)
                if job is None:
                    continue
                if reply.has_error():
                    replies.append(Reply(job.device, error=f"ClientApp error: {_last_line(reply.error.reason)}"))
                    continue
                metrics = {k: float(v) for k, v in reply.content["metrics"].items() if k != "device"}  # type: ignore[arg-type]
                replies.append(Reply(job.device, _arrays(reply.content["update"]), metrics))
        return replies
