"""Thing Descriptions: the official TD JSON Schema, and JSON-LD expansion with the TD 1.1 context
(local copy; checked against pyld's expansion, with the network switched off)."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import pytest
from rdfkit import plain_strings
from rdflib import RDF, Graph, URIRef
from rdflib.compare import isomorphic

from fleet import protocol
from semantic import td as tdmod
from semantic.describe import describe_board, describe_device, describe_model
from semantic.kg import KnowledgeGraph
from semantic.store import LocalStore
from tte.targets.boards import list_boards

TDNS = "https://www.w3.org/2019/wot/td#"


def topics(device: str, fleet: str = "lab") -> tdmod.TopicOf:
    return lambda kind: protocol.topic(fleet, device, kind)
# The W3C files as published, in the shared anchors beside the project (absent on a user's
# machine: the comparison is then a named skip; CI sets TTE_REQUIRE_ANCHORS=1 to fail instead).
ANCHOR = Path(__file__).resolve().parents[1].parent / "shared" / "anchors" / "w3c"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OSError("network access attempted")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module")
def kg(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeGraph:
    k = KnowledgeGraph(LocalStore(tmp_path_factory.mktemp("kg")))
    k.add([describe_board(b) for b in list_boards()])
    summary = {"name": "kws", "inputs": [{"name": "x", "dtype": "int8", "shape": [1, 49, 40, 1]}],
               "outputs": [{"name": "y", "dtype": "int8", "shape": [1, 12]}], "nodes": [], "macs": 5, "params": 5}
    report = {"scheme": "bias-only", "peak_sram_bytes": 1, "inference_peak_sram_bytes": 1, "flash_bytes": 1}
    k.add(describe_model("kws", summary, report, "2025-01-01T00:00:00Z"))
    k.add([describe_device("mic-7", "arduino-nano-33-ble-sense", ["microphone", "humidity"], "2.1.0", "kws"),
           describe_device("bare", "qemu-mps2-an500")])
    return k


def test_copied_w3c_files_are_the_anchor_files() -> None:
    assert "W3C Software and Document" in (tdmod.W3C_DIR / "LICENSE-W3C.txt").read_text()
    if not ANCHOR.is_dir():
        if os.environ.get("TTE_REQUIRE_ANCHORS") == "1":
            pytest.fail(f"anchor folder {ANCHOR} is missing")
        pytest.skip(f"no anchor folder {ANCHOR} on this machine (it sits beside the project in CI)")
    for name in ("td-json-schema-validation.json", "td-context-1.1.jsonld"):
        assert (tdmod.W3C_DIR / name).read_bytes() == (ANCHOR / name).read_bytes()


@pytest.mark.parametrize("device", ["mic-7", "bare"])
def test_td_valid_against_official_schema(kg: KnowledgeGraph, device: str) -> None:
    td = tdmod.thing_description(kg.store, device, topics(device))
    assert tdmod.schema_errors(td) == []
    # The copied schema differs from TD 1.1 on one point only: the context URI it lists.
    raw = tdmod.raw_schema_errors(td)
    assert raw and all(e.startswith("@context:") for e in raw)


def test_schema_can_fail(kg: KnowledgeGraph) -> None:
    td = tdmod.thing_description(kg.store, "mic-7", topics("mic-7"))
    broken = dict(td)
    del broken["security"]
    assert any("security" in e for e in tdmod.schema_errors(broken))
    broken = json.loads(json.dumps(td))
    broken["properties"]["sramBytes"]["forms"][0]["op"] = ["fly"]
    assert tdmod.schema_errors(broken)
    broken = dict(td, **{"@context": ["https://example.org/ctx"]})
    assert tdmod.schema_errors(broken)


def _pyld_rdf(td: dict[str, Any]) -> Graph:
    from pyld import jsonld

    def loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
        if url != tdmod.TD_CONTEXT_URL:
            raise OSError(f"unexpected context fetch: {url}")
        doc = json.loads((tdmod.W3C_DIR / "td-context-1.1.jsonld").read_text())
        return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url, "document": doc}

    opts = {"documentLoader": loader, "base": f"{td['id']}/"}
    expanded = jsonld.expand(td, opts)
    assert expanded and expanded[0]["@id"] == td["id"]
    nq = jsonld.to_rdf(td, {**opts, "format": "application/n-quads"})
    g = Graph()
    g.parse(data=nq, format="nquads")
    return Graph() + g  # a plain triple graph


def test_td_expands_with_td11_context(kg: KnowledgeGraph) -> None:
    td = tdmod.thing_description(kg.store, "mic-7", topics("mic-7"))
    ours = tdmod.to_rdf(td)
    thing = URIRef("urn:tte:device:mic-7")
    assert (thing, RDF.type, URIRef(TDNS + "Thing")) in ours
    assert (thing, RDF.type, URIRef("https://tte.invalid/ns#Device")) in ours
    props = list(ours.objects(thing, URIRef(TDNS + "hasPropertyAffordance")))
    assert len(props) == len(td["properties"]) == 6
    assert len(list(ours.objects(thing, URIRef(TDNS + "hasActionAffordance")))) == 2
    unit = URIRef("http://schema.org/unitCode")
    assert URIRef("http://www.ontology-of-units-of-measure.org/resource/om-2/byte") in set(ours.objects(None, unit))
    # an independent JSON-LD processor, fed the same local context, gives the same graph
    assert isomorphic(plain_strings(ours), plain_strings(_pyld_rdf(td)))


def test_td_export_cli(kg: KnowledgeGraph, tmp_path: Path) -> None:
    td = tdmod.thing_description(kg.store, "mic-7", topics("mic-7"), base="mqtt://broker.example:1883/")
    assert td["base"] == "mqtt://broker.example:1883/"
    assert td["tte:deployedModel"] == {"@id": "urn:tte:model:kws"}
    assert td["properties"]["sensor-microphone"]["@type"] == "sosax:Microphone"
    assert "@type" not in td["properties"]["sensor-humidity"]


def forms(td: dict[str, Any]) -> dict[str, list[str]]:
    """affordance name -> the hrefs of its forms."""
    return {name: [f["href"] for f in a["forms"]]
            for group in ("properties", "actions", "events") for name, a in td[group].items()}


def test_td_forms_are_the_fleets_v1_topics(kg: KnowledgeGraph) -> None:
    """Every form is a topic the fleet protocol parses back to this fleet and device, and the
    actions and events use the topics the device agent's own TD (fleet/describe.py) gives them."""
    from fleet.describe import device_td

    td = tdmod.thing_description(kg.store, "mic-7", topics("mic-7", fleet="lab"))
    hrefs = forms(td)
    for name, hs in hrefs.items():
        for h in hs:
            t = protocol.parse_topic(h)
            assert (t.fleet, t.device) == ("lab", "mic-7"), (name, h)
    assert {protocol.parse_topic(h).kind for h in hrefs["sramBytes"] + hrefs["sensor-microphone"]} == {"register"}
    agent = forms(device_td("lab", "mic-7", "arduino-nano-33-ble-sense", ["microphone"]))
    assert hrefs["deployModel"] == agent["deploy"]
    assert hrefs["trainStep"] == agent["train"]
    assert hrefs["telemetry"] == agent["telemetry"]
    assert hrefs["jobStatus"] == agent["jobStatus"]
    assert not any(h.startswith("tte/devices/") for hs in hrefs.values() for h in hs)


def test_export_td_cli_uses_the_fleet_topics(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from tte.cli import main

    def run(*args: str) -> Any:
        return CliRunner().invoke(main, ["kg", "--store", str(tmp_path / "kg"), *args])

    assert run("add-board", "arduino-nano-33-ble-sense").exit_code == 0
    assert run("add-device", "--id", "mic-7", "--board", "arduino-nano-33-ble-sense").exit_code == 0
    r = run("export-td", "mic-7", "--fleet", "plant4")
    assert r.exit_code == 0, r.stderr
    td = json.loads(r.stdout)
    assert td["actions"]["deployModel"]["forms"][0]["href"] == "tte/v1/plant4/mic-7/job"
    r = run("export-td", "mic-7", "--fleet", "a/b")
    assert r.exit_code == 2 and "invalid fleet name" in r.stderr
