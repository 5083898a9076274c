"""The Flower adapter: TinyReptile with 10 clients on Flower's simulation engine (Ray)
reaches the same model as the in-process transport, faults included."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("flwr")
pytest.importorskip("ray")

from federated import make_task, train_federated  # noqa: E402
from federated.algorithms import TinyReptile  # noqa: E402
from federated.client import DeviceFactory  # noqa: E402
from federated.transports import InProcessTransport  # noqa: E402
from federated.transports.flower import FlowerTransport  # noqa: E402


def test_flower_simulation_matches_in_process_transport():
    task = make_task("sine", 10, 0)
    factory = DeviceFactory("sine", 10, 0, faults=((3, "dropout"), (7, "nan")))
    strategy = TinyReptile()
    rounds = 16
    flower = train_federated(task, strategy, rounds=rounds, seed=0,
                             transport=FlowerTransport(factory, num_supernodes=10, num_cpus=1))
    local = train_federated(task, strategy, rounds=rounds, seed=0, transport=InProcessTransport(factory))
    assert flower.rounds == local.rounds == rounds
    for name in local.params:
        np.testing.assert_array_equal(flower.params[name], local.params[name])
    assert flower.bytes_up == local.bytes_up and flower.bytes_down == local.bytes_down
    assert [(e["round"], e["device"]) for e in flower.excluded] == [(e["round"], e["device"]) for e in local.excluded]
    assert {e["device"] for e in local.excluded} == {3, 7}  # both faulty devices were picked and excluded
    assert "dropped out" in " ".join(e["reason"] for e in flower.excluded)
    # and training moved the model
    init = task.spec.initial_params()
    assert any(not np.array_equal(local.params[n], init[n]) for n in init)
