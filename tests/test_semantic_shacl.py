"""Invalid descriptions are rejected with a readable SHACL report; the store stays unchanged;
the CLI prints one `tte: error:` line and exits 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rdflib import Literal, URIRef

from semantic.describe import describe_board, describe_device, describe_model
from semantic.kg import KnowledgeGraph
from semantic.store import LocalStore, open_store
from semantic.validate import ShaclError
from semantic.vocab import OM, SCHEMA, TTE
from tte.cli import main
from tte.targets.boards import get_board, list_boards

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "examples" / "fmnist_cnn.onnx"

REPORT = {"scheme": "last-k:2", "board": "stm32f746g-disco", "precision": "int8", "qas": True,
          "peak_sram_bytes": 180_000, "inference_peak_sram_bytes": 90_000, "flash_bytes": 400_000,
          "arena_bytes": 60_000, "trainable_bytes": 20_000, "stack_bytes": 2048, "macs_forward": 1_000_000,
          "macs_backward": 1_500_000, "fit": True, "created": "2025-06-01T12:00:00Z"}
SUMMARY = {"name": "tiny", "inputs": [{"name": "x", "dtype": "int8", "shape": [1, 28, 28, 1]}],
           "outputs": [{"name": "y", "dtype": "int8", "shape": [1, 10]}],
           "nodes": [{"name": "fc", "op": "fully_connected", "output_shape": [1, 10], "output_dtype": "int8"}],
           "macs": 7840, "params": 7850}


def snapshot(store: LocalStore) -> set[tuple[Any, ...]]:
    return {(str(q.subject), str(q.predicate), str(q.object), str(q.graph_name)) for q in store._store}


@pytest.fixture
def kg(tmp_path: Path) -> KnowledgeGraph:
    k = KnowledgeGraph(LocalStore(tmp_path / "kg"))
    k.add([describe_board(b) for b in list_boards()])
    return k


def test_valid_descriptions_pass(kg: KnowledgeGraph) -> None:
    kg.add(describe_model("tiny", SUMMARY, REPORT, REPORT["created"]))
    kg.add([describe_device("d1", "rp2040", ["camera", "humidity"], "1.0.0", "tiny")])
    assert kg.store.ask("ASK { <urn:tte:device:d1> <https://tte.invalid/ns#deployedModel> <urn:tte:model:tiny> }")


@pytest.mark.parametrize("drop", ["peak_sram_bytes", "inference_peak_sram_bytes", "flash_bytes"])
def test_missing_memory_rejected(kg: KnowledgeGraph, drop: str) -> None:
    before = snapshot(kg.store)  # type: ignore[arg-type]
    report = {k: v for k, v in REPORT.items() if k != drop}
    with pytest.raises(ShaclError) as e:
        kg.add(describe_model("tiny", SUMMARY, report, REPORT["created"]))
    assert "missing memory" in str(e.value)
    assert all(v.focus.startswith("<urn:tte:model:tiny/scheme/") for v in e.value.violations)
    assert snapshot(kg.store) == before  # type: ignore[arg-type]


def test_wrong_units_rejected(kg: KnowledgeGraph) -> None:
    before = snapshot(kg.store)  # type: ignore[arg-type]
    descs = describe_model("tiny", SUMMARY, REPORT, REPORT["created"])
    art = descs[1]
    node = URIRef(f"{art.name}/training-sram")
    art.graph.set((node, SCHEMA.unitCode, OM.kilobyte))
    with pytest.raises(ShaclError) as e:
        kg.add(descs)
    assert "memory must be given in bytes (schema:unitCode om:byte)" in str(e.value)
    assert "om:kilobyte" in str(e.value)
    assert snapshot(kg.store) == before  # type: ignore[arg-type]


def test_board_figures_must_agree(tmp_path: Path) -> None:
    k = KnowledgeGraph(LocalStore(tmp_path / "kg"))
    d = describe_board(get_board("rp2040"))
    d.graph.set((URIRef(d.name), TTE.sramBytes, Literal(1024)))
    with pytest.raises(ShaclError, match="disagree with the board's s3nx:RAM"):
        k.add([d])
    assert snapshot(k.store) == set()  # type: ignore[arg-type]


def test_unknown_board_rejected_and_batch_all_or_nothing(kg: KnowledgeGraph) -> None:
    before = snapshot(kg.store)  # type: ignore[arg-type]
    good = describe_device("ok1", "rp2040")
    bad = describe_device("bad1", "no-such-board")
    with pytest.raises(ShaclError) as e:
        kg.add([good, bad])
    assert str(e.value).count("unknown board") == 1 and "urn:tte:device:bad1" in str(e.value)
    assert snapshot(kg.store) == before  # type: ignore[arg-type]


# --- the CLI --------------------------------------------------------------------------------

def run(store: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["kg", "--store", str(store), *args])


@pytest.fixture
def cli_store(tmp_path: Path) -> Path:
    store = tmp_path / "kg"
    for b in ("rp2040", "stm32f746g-disco"):
        assert run(store, "add-board", str(ROOT / "boards" / f"{b}.toml")).exit_code == 0
    return store


def cli_snapshot(store: Path) -> set[tuple[Any, ...]]:
    s = open_store(store)  # the handle the CLI uses in this process
    assert isinstance(s, LocalStore)
    return snapshot(s)


def _one_error_line(res: Any) -> str:
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tte: error: "), res.stderr
    assert "Traceback" not in res.output
    return lines[0]


def test_cli_unknown_board(cli_store: Path) -> None:
    before = cli_snapshot(cli_store)
    line = _one_error_line(run(cli_store, "add-device", "--id", "x1", "--board", "esp32"))
    assert "unknown board" in line and "urn:tte:board:esp32" in line
    assert cli_snapshot(cli_store) == before


@pytest.mark.parametrize("case", ["missing", "units"])
def test_cli_bad_report(cli_store: Path, tmp_path: Path, case: str) -> None:
    report = dict(REPORT)
    if case == "missing":
        del report["peak_sram_bytes"]
    else:
        report["peak_sram_bytes"] = "180 KB"  # a figure with its unit in the string: not bytes
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    before = cli_snapshot(cli_store)
    line = _one_error_line(run(cli_store, "add-model", str(MODEL), "--report", str(path)))
    if case == "missing":
        assert "missing memory: training peak SRAM (report.json peak_sram_bytes)" in line
    else:
        assert "non-negative integer" in line and "180 KB" in line
    assert cli_snapshot(cli_store) == before


def test_cli_round_trip(cli_store: Path, tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_text(json.dumps(REPORT))
    res = run(cli_store, "add-model", str(MODEL), "--report", str(path))
    assert res.exit_code == 0, res.output
    assert run(cli_store, "add-device", "--id", "cam1", "--board", "stm32f746g-disco", "--sensor", "camera",
               "--model", "fmnist_cnn").exit_code == 0
    assert run(cli_store, "add-device", "--id", "pico1", "--board", "rp2040").exit_code == 0
    res = run(cli_store, "match", "--device", "cam1", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["inference"] == ["fmnist_cnn"] and out["training"] == [{"model": "fmnist_cnn", "scheme": "last-k:2"}]
    res = run(cli_store, "match", "--model", "fmnist_cnn", "--json")
    out = json.loads(res.output)
    assert out["inference"] == ["cam1", "pico1"]
    assert any("rp2040 has no DSP" in w for w in out["warnings"])
    q = tmp_path / "q.rq"
    q.write_text("SELECT (COUNT(?d) AS ?n) WHERE { ?d a <https://tte.invalid/ns#Device> }")
    res = run(cli_store, "query", str(q), "--json")
    assert json.loads(res.output) == [{"n": 2}]
    res = run(cli_store, "export-td", "cam1")
    assert res.exit_code == 0 and json.loads(res.output)["id"] == "urn:tte:device:cam1"
    _one_error_line(run(cli_store, "export-td", "nope"))
    _one_error_line(run(cli_store, "match", "--device", "nope"))


def test_cli_model_modality(cli_store: Path, tmp_path: Path) -> None:
    """add-model --modality: match offers the model only to devices with that sensor (or none declared)."""
    path = tmp_path / "report.json"
    path.write_text(json.dumps(REPORT))
    before = cli_snapshot(cli_store)
    line = _one_error_line(run(cli_store, "add-model", str(MODEL), "--report", str(path), "--modality", "a camera"))
    assert "invalid modality id" in line
    assert cli_snapshot(cli_store) == before
    res = run(cli_store, "add-model", str(MODEL), "--report", str(path), "--modality", "Camera")
    assert res.exit_code == 0, res.output
    for dev, sensors in (("imu1", ["accelerometer"]), ("cam1", ["camera", "accelerometer"]), ("bare1", [])):
        args = [a for s in sensors for a in ("--sensor", s)]
        assert run(cli_store, "add-device", "--id", dev, "--board", "stm32f746g-disco", *args).exit_code == 0
    res = run(cli_store, "match", "--model", "fmnist_cnn", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["inference"] == ["bare1", "cam1"]
    assert json.loads(run(cli_store, "match", "--device", "imu1", "--json").output)["inference"] == []


# --- the compiled shape queries refuse exactly what pyshacl refuses -------------------------

def _mutations() -> list[tuple[str, list[Any]]]:
    """(name, batch) pairs: one valid batch per kind and invalid ones touching every constraint kind
    of the shapes (counts, datatypes and ill-typed literals, ranges, sh:in, sh:class, sh:pattern,
    sh:node with its details, qualified counts, inverse and sequence paths, the SPARQL constraint)."""
    from rdflib import RDF, XSD

    from semantic.describe import describe_artifact
    from semantic.vocab import NNET, S3N, S3NX, SOSA, SSN, SSNS, board_iri

    def board(edit: Any = None) -> list[Any]:
        d = describe_board(get_board("rp2040"))
        d = type(d)(d.name.replace("rp2040", "rp2040x"), d.kind, d.graph)
        g = d.graph
        for t in list(g):  # the same board under another name, so it is new to the store
            g.remove(t)
            g.add(tuple(URIRef(str(x).replace("rp2040", "rp2040x")) if isinstance(x, URIRef) else x for x in t))
        if edit:
            edit(g, URIRef(d.name))
        return [d]

    def model(edit: Any = None, report: dict[str, Any] | None = None, modality: str | None = None) -> list[Any]:
        ds = describe_model("tiny", SUMMARY, report or REPORT, REPORT["created"], modality)
        if edit:
            edit(ds[0].graph, URIRef(ds[0].name), ds[1].graph, URIRef(ds[1].name))
        return ds

    def device(edit: Any = None, **kw: Any) -> list[Any]:
        d = describe_device("d9", kw.get("board", "rp2040"), kw.get("sensors", ["camera"]), "1.0", kw.get("model"))
        if edit:
            edit(d.graph, URIRef(d.name))
        return [d]

    cap = lambda b, s: URIRef(f"{b}/{s}")  # noqa: E731
    return [
        ("valid board", board()), ("valid model", model(modality="camera")), ("valid device", device()),
        ("board without name", board(lambda g, b: g.remove((b, SCHEMA.name, None)))),
        ("unknown core", board(lambda g, b: g.set((b, TTE.core, Literal("cortex-a53"))))),
        ("FPU as text", board(lambda g, b: g.set((b, TTE.hasFPU, Literal("yes"))))),
        ("clock zero", board(lambda g, b: g.set((b, TTE.clockHz, Literal(0))))),
        ("clock ill-typed", board(lambda g, b: g.set((b, TTE.clockHz, Literal("fast", datatype=XSD.integer))))),
        ("second RAM", board(lambda g, b: g.add((cap(b, "flash"), RDF.type, S3NX.RAM)))),
        ("no flash capacity", board(lambda g, b: g.remove((cap(b, "capability"), SSNS.hasSystemProperty,
                                                            cap(b, "flash"))))),
        ("negative capacity", board(lambda g, b: g.set((cap(b, "sram"), SCHEMA.value, Literal(-1))))),
        ("capacity in KB", board(lambda g, b: g.set((cap(b, "sram"), SCHEMA.unitCode, OM.kilobyte)))),
        ("figures disagree", board(lambda g, b: g.set((b, TTE.sramBytes, Literal(1024))))),
        ("no flat flash", board(lambda g, b: g.remove((b, TTE.flashBytes, None)))),
        ("device without id", device(lambda g, d: g.remove((d, SCHEMA.identifier, None)))),
        ("id as number", device(lambda g, d: g.set((d, SCHEMA.identifier, Literal(9))))),
        ("two boards", device(lambda g, d: g.add((d, TTE.onBoard, URIRef(board_iri("stm32f746g-disco")))))),
        ("unknown board", device(board="esp32")),
        ("unknown model", device(model="nope")),
        ("two firmwares", device(lambda g, d: g.add((d, TTE.firmwareVersion, Literal("2.0"))))),
        ("subsystem not a sensor", device(lambda g, d: g.remove((URIRef(f"{d}/sensor/camera"), RDF.type,
                                                                SOSA.Sensor)))),
        ("sensor count negative", device(lambda g, d: g.set((d, TTE.sensorCount, Literal(-1))))),
        ("sensor count text", device(lambda g, d: g.set((d, TTE.sensorCount, Literal("two"))))),
        ("sensor kind IRI", device(lambda g, d: g.add((d, TTE.sensorKind, URIRef("urn:x:camera"))))),
        ("subsystem literal", device(lambda g, d: g.add((d, SSN.hasSubSystem, Literal("camera"))))),
        ("no creation time", model(lambda g, m, a, ai: g.remove((m, SCHEMA.dateCreated, None)))),
        ("creation time ill-typed", model(lambda g, m, a, ai: g.set((m, SCHEMA.dateCreated,
                                                                      Literal("yesterday", datatype=XSD.dateTime))))),
        ("creation time as text", model(lambda g, m, a, ai: g.set((m, SCHEMA.dateCreated, Literal("2025"))))),
        ("negative MACs", model(lambda g, m, a, ai: g.set((m, NNET.hasMultiplyAccumulateOps, Literal(-5))))),
        ("no signature", model(lambda g, m, a, ai: g.remove((m, TTE.ioSignature, None)))),
        ("modality pattern", model(lambda g, m, a, ai: g.set((m, TTE.inputModality, Literal("Camera!"))))),
        ("two modalities", model(lambda g, m, a, ai: g.add((m, TTE.inputModality, Literal("microphone"))),
                                 modality="camera")),
        ("artifact of no model", model(lambda g, m, a, ai: a.remove((m, S3N.hasProcedureFeature, ai)))),
        ("artifact of two models", model(lambda g, m, a, ai: a.add((URIRef("urn:tte:model:other"),
                                                                    S3N.hasProcedureFeature, ai)))),
        ("no scheme", model(lambda g, m, a, ai: a.remove((ai, TTE.updateScheme, None)))),
        ("missing flash", model(report={k: v for k, v in REPORT.items() if k != "flash_bytes"})),
        ("requirement negative", model(lambda g, m, a, ai: a.set((URIRef(f"{ai}/flash"), SCHEMA.minValue,
                                                                  Literal(-5))))),
        ("requirement as text", model(report={**REPORT, "inference_peak_sram_bytes": "90 KB"})),
        ("two training SRAMs", model(lambda g, m, a, ai: a.add((URIRef(f"{ai}/flash"), RDF.type, TTE.TrainingSRAM)))),
        ("unknown target board", model(report={**REPORT, "board": "esp32"})),
        ("fit verdict text", model(lambda g, m, a, ai: a.set((ai, TTE.fits, Literal("yes"))))),
        ("artifact alone", [describe_artifact("ghost", REPORT)]),
    ]


def test_compiled_shapes_refuse_exactly_what_pyshacl_refuses(kg: KnowledgeGraph) -> None:
    from rdflib import RDF, Graph

    from semantic import validate
    from semantic.kg import context_types
    from semantic.shape_queries import compile_shapes

    assert len(compile_shapes(validate.shapes_graph())) > 40  # every constraint compiled, no pyshacl fallback
    before = snapshot(kg.store)  # type: ignore[arg-type]
    for name, batch in _mutations():
        data = Graph()
        for d in batch:
            data += d.graph
        typed = set(data.subjects(RDF.type))
        mentioned = {t for s, p, o in data for t in (s, o) if isinstance(t, URIRef) and p != RDF.type}
        want, _ = validate.violations(data + context_types(kg.store, {str(t) for t in mentioned - typed}),
                                      {str(s) for s in typed})
        try:
            kg.add(batch)
            got = []
        except ShaclError as e:
            got = e.violations
            assert snapshot(kg.store) == before, name
        assert got == want, name
        assert bool(want) == (not name.startswith("valid")), (name, want)
        before = snapshot(kg.store)  # type: ignore[arg-type]  # a valid batch was written
