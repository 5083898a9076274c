"""`tte kg add-device` refuses an existing id unless --replace, `tte kg list`, `tte kg remove`:
on the real embedded Oxigraph store, and a refusal leaves every quad of the store as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from semantic.describe import describe_model
from semantic.kg import KnowledgeGraph
from semantic.store import open_store
from semantic.synthetic import generate_fleet
from tte.cli import main
from tte.targets.boards import list_boards

BOARD = "stm32f746g-disco"


def run(store: Path, *args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, ["kg", "--store", str(store), *args])
    return r.exit_code, r.stdout, r.stderr


def one_line_error(code: int, err: str) -> str:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tte: error: "), err
    return lines[0]


def quads(store: Path) -> list[tuple[str, ...]]:
    rows = open_store(store).select("SELECT ?g ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }")
    return sorted(tuple(str(r[k]) for k in ("g", "s", "p", "o")) for r in rows)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A board, two models (m00000 with two schemes), d1 running m00000, d2 with nothing deployed."""
    s = tmp_path / "kg"
    assert run(s, "add-board", BOARD)[0] == 0
    fleet = generate_fleet(list_boards(), 0, 2, seed=5)
    kg = KnowledgeGraph(open_store(s))
    for m in fleet.models:
        kg.add(describe_model(m.ident, m.summary, {**m.reports[0], "board": BOARD, "scheme": "full"}, m.created))
    kg.add(describe_model("m00000", fleet.models[0].summary, {**fleet.models[0].reports[0], "board": BOARD,
                                                              "scheme": "bias-only"}, fleet.models[0].created)[1:])
    code, out, err = run(s, "add-device", "--id", "d1", "--board", BOARD, "--sensor", "camera",
                         "--sensor", "microphone", "--firmware", "1.2.0", "--model", "m00000")
    assert code == 0, err
    assert run(s, "add-device", "--id", "d2", "--board", BOARD)[0] == 0
    return s


def listing(store: Path) -> dict[str, list[dict[str, object]]]:
    code, out, err = run(store, "list", "--json")
    assert code == 0, err
    return json.loads(out)


def test_list_shows_what_was_registered(store: Path) -> None:
    got = listing(store)
    assert got["devices"] == [
        {"id": "d1", "board": BOARD, "firmware": "1.2.0", "model": "m00000", "status": None,
         "sensors": ["camera", "microphone"]},
        {"id": "d2", "board": BOARD, "firmware": None, "model": None, "status": None, "sensors": []}]
    assert [(m["id"], m["schemes"]) for m in got["models"]] == [("m00000", ["bias-only", "full"]),
                                                                 ("m00001", ["full"])]
    code, out, _ = run(store, "list")
    assert code == 0 and "d1\t" + BOARD in out and "runs m00000" in out and "models (2):" in out


def test_add_device_on_an_existing_id_refuses_and_changes_nothing(store: Path) -> None:
    before = quads(store)
    line = one_line_error(*run(store, "add-device", "--id", "d1", "--board", BOARD)[::2])
    assert "'d1' is already registered" in line and "--replace" in line
    assert quads(store) == before


def test_add_device_replace_replaces_the_whole_description(store: Path) -> None:
    code, out, err = run(store, "add-device", "--id", "d1", "--board", BOARD, "--sensor", "accelerometer",
                         "--replace")
    assert code == 0, err
    d1 = listing(store)["devices"][0]
    assert d1 == {"id": "d1", "board": BOARD, "firmware": None, "model": None, "status": None,
                  "sensors": ["accelerometer"]}


def test_remove_device_drops_its_graphs_only(store: Path) -> None:
    # a graph the fleet manager keeps under the device (presence) goes with it
    open_store(store).update('INSERT DATA { GRAPH <urn:tte:device:d1/presence> '
                             '{ <urn:tte:device:d1> <https://tte.invalid/ns#status> "online" } }')
    assert listing(store)["devices"][0]["status"] == "online"
    before = [q for q in quads(store) if not q[0].startswith("urn:tte:device:d1")]
    code, out, err = run(store, "remove", "d1")
    assert code == 0, err
    assert out.strip() == "removed device d1 (2 graphs)"
    assert quads(store) == before
    assert [d["id"] for d in listing(store)["devices"]] == ["d2"]


def test_remove_model_refused_while_deployed_then_removed_with_its_artifacts(store: Path) -> None:
    before = quads(store)
    line = one_line_error(*run(store, "remove", "m00000")[::2])
    assert "deployed on 1 device(s) (d1)" in line
    assert quads(store) == before
    assert run(store, "remove", "d1")[0] == 0
    code, out, err = run(store, "remove", "--model", "m00000")
    assert code == 0, err
    assert out.strip() == "removed model m00000 (3 graphs)"  # the model and its two compiled artifacts
    assert not any("m00000" in x for q in quads(store) for x in q)
    assert [m["id"] for m in listing(store)["models"]] == ["m00001"]


def test_remove_unknown_or_ambiguous_ids(store: Path) -> None:
    before = quads(store)
    assert "no device or model 'nope'" in one_line_error(*run(store, "remove", "nope")[::2])
    assert "unknown model 'd2'" in one_line_error(*run(store, "remove", "--model", "d2")[::2])
    assert "invalid device id" in one_line_error(*run(store, "remove", "bad id")[::2])
    assert run(store, "add-device", "--id", "m00001", "--board", BOARD)[0] == 0
    assert "both a device and a model" in one_line_error(*run(store, "remove", "m00001")[::2])
    assert quads(store) != before
    assert run(store, "remove", "--device", "m00001")[0] == 0
    assert quads(store) == before
