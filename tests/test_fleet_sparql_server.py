"""The manager writing to a real SPARQL server (the Oxigraph server, over the SPARQL 1.1 protocol)
instead of the embedded store: what a fleet that outgrows one process uses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fleetkit import agent_config, device_status, package_dir, running_broker, start_manager, wait_until
from oxigraph_server import oxigraph_server

from fleet.agent import Agent
from fleet.package import build, describe_package, load_signing_key
from fleet.rollout import deploy
from semantic.kg import KnowledgeGraph
from semantic.store import EndpointStore


@pytest.fixture
def sparql_server(tmp_path: Path) -> Iterator[str]:
    with oxigraph_server(tmp_path / "oxigraph") as url:
        yield url


def test_manager_on_oxigraph_server(tmp_path: Path, sparql_server: str) -> None:
    """The graph keeper and a separate deployer share the server, as `tte fleet serve` and
    `tte fleet deploy --endpoint` do."""
    store = EndpointStore(sparql_server)
    with running_broker(tmp_path / "broker", ["d1", "d2"]) as b:
        m = start_manager(b.config, store=store, roles=("graph",))
        agents = [Agent(agent_config(b.config, d, tmp_path / d, board="rp2040")) for d in ("d1", "d2")]
        for a in agents:
            a.start()
        assert wait_until(lambda: m.kg_devices() == 2 and len(m.tds) == 2, 20)
        deployer = start_manager(b.config, store=None, roles=("deploy",), client_id="deployer")
        pkg = build(package_dir(tmp_path / "pkg"), load_signing_key(b.config.signing_key))
        KnowledgeGraph(EndpointStore(sparql_server)).add(describe_package(pkg))
        assert deploy(deployer, pkg, ["d1", "d2"], job_id="j1").states == {"d1": "applied", "d2": "applied"}
        deployer.stop()
        assert wait_until(lambda: len(store.select(
            "SELECT ?d WHERE { ?d <https://tte.invalid/ns#deployedModel> <urn:tte:model:fmnist_cnn> }")) == 2, 10)
        agents[0].crash()
        assert wait_until(lambda: device_status(store, "d1") == "lost", 10)
        assert device_status(store, "d2") == "online"
        # an independent client of the server sees the same graph
        other = EndpointStore(sparql_server)
        rows = other.select("SELECT DISTINCT ?id WHERE { ?d a <https://tte.invalid/ns#Device> ; "
                            "<https://schema.org/identifier> ?id } ORDER BY ?id")
        assert [r["id"] for r in rows] == ["d1", "d2"]
        agents[1].stop()
        m.stop()
