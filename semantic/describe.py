"""RDF descriptions: of a board (boards/*.toml), of a model (its file + report.json) and of a device.

Each description is one named graph, so that adding it again replaces it whole. Every node
gets a minted IRI (no blank nodes) under the IRI of the thing described.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rdflib import RDF, RDFS, XSD, Graph, Literal, URIRef
from rdflib.term import Node

from semantic.vocab import (
    NNET,
    OM,
    S3N,
    S3NX,
    SCHEMA,
    SOSA,
    SOSAX,
    SSN,
    SSNS,
    TTE,
    artifact_iri,
    board_iri,
    check_id,
    device_iri,
    model_iri,
)
from tte.errors import TteError
from tte.targets.boards import Board

Triple = tuple[Node, Node, Node]
_BAD_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\]')
_NT_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})


def _nt_term(t: Node) -> str:
    if isinstance(t, URIRef):
        if _BAD_IRI.search(t):
            raise ValueError(t)
        return f"<{t}>"
    if isinstance(t, Literal):
        lexical = str(t).translate(_NT_ESCAPES)
        if t.language:
            return f'"{lexical}"@{t.language}'
        if t.datatype is not None and t.datatype != XSD.string:
            return f'"{lexical}"^^<{t.datatype}>'
        return f'"{lexical}"'
    raise ValueError(t)


class Description:
    """The triples describing one thing, kept in the named graph `name` (kind: board, device,
    model or artifact).

    The describe functions collect plain triples; the rdflib graph is built on first use of
    `graph` (and from then on is what counts, edits included): a fleet of descriptions goes to
    the store as N-Triples without an rdflib graph per description.
    """

    def __init__(self, name: str, kind: str, graph: Graph | list[Triple]) -> None:
        self.name = name
        self.kind = kind
        self._graph = graph if isinstance(graph, Graph) else None
        self._triples = None if isinstance(graph, Graph) else graph

    def __repr__(self) -> str:
        return f"Description({self.name!r}, {self.kind!r})"

    @property
    def graph(self) -> Graph:
        if self._graph is None:
            g = _graph()
            for t in self._triples or ():
                g.add(t)
            self._graph, self._triples = g, None
        return self._graph

    def ntriples(self) -> str:
        """The description as N-Triples."""
        if self._triples is not None:
            try:
                return "".join(f"{_nt_term(s)} {_nt_term(p)} {_nt_term(o)} .\n" for s, p, o in self._triples)
            except ValueError:
                pass  # a term N-Triples cannot write plainly: rdflib's serializer decides
        return self.graph.serialize(format="nt")


class _Triples(list[Triple]):
    """What the describe functions add their triples to (a list: no indexes to keep)."""

    def add(self, triple: Triple) -> None:
        self.append(triple)


def _graph() -> Graph:
    return Graph(bind_namespaces="none")


def _lit(value: Any) -> Literal:
    """A literal typed from the JSON value, so a wrong type stays visible to the SHACL shapes."""
    if isinstance(value, bool):
        return Literal(value)
    if isinstance(value, int):
        return Literal(value, datatype=XSD.integer)
    return Literal(value)


def _memory(g: _Triples, node: URIRef, cls: URIRef, value: Any, prop: URIRef, label: str) -> None:
    g.add((node, RDF.type, cls))
    g.add((node, RDFS.label, Literal(label)))
    g.add((node, prop, _lit(value)))
    g.add((node, SCHEMA.unitCode, OM.byte))


# --- boards ---------------------------------------------------------------------------

SENSOR_CLASSES = {
    "accelerometer": SOSAX.Accelerometer, "camera": SOSAX.Camera, "gyroscope": SOSAX.Gyroscope,
    "magnetometer": SOSAX.Magnetometer, "microphone": SOSAX.Microphone, "temperature": SOSAX.Thermometer,
    "thermometer": SOSAX.Thermometer,
}


def describe_board(board: Board) -> Description:
    b = URIRef(board_iri(board.name))
    g = _Triples()
    g.add((b, RDF.type, TTE.Board))
    g.add((b, SCHEMA.name, Literal(board.name)))
    if board.display_name:
        g.add((b, RDFS.label, Literal(board.display_name)))
    if board.mcu:
        g.add((b, SCHEMA.model, Literal(board.mcu)))
    g.add((b, TTE.core, Literal(board.core)))
    if board.fpu:
        g.add((b, TTE.fpu, Literal(board.fpu)))
    g.add((b, TTE.hasFPU, Literal(board.has_fpu)))
    g.add((b, TTE.hasDSP, Literal(bool(board.dsp))))
    g.add((b, TTE.clockHz, _lit(board.clock_hz)))
    if board.qemu_machine:
        g.add((b, TTE.qemuMachine, Literal(board.qemu_machine)))
    cap = URIRef(f"{b}/capability")
    g.add((b, S3N.hasSystemCapability, cap))
    g.add((cap, RDF.type, SSNS.SystemCapability))
    for suffix, cls, value, label, flat in (("sram", S3NX.RAM, board.sram_bytes, "usable SRAM", TTE.sramBytes),
                                            ("flash", S3NX.Flash, board.flash_bytes, "usable flash", TTE.flashBytes)):
        g.add((b, flat, _lit(value)))  # the same figure, one hop away, for fast matching
        node = URIRef(f"{b}/{suffix}")
        g.add((cap, SSNS.hasSystemProperty, node))
        _memory(g, node, cls, value, SCHEMA.value, label)
    for s in board.sensors:
        g.add((b, TTE.supportsSensor, Literal(s)))
    return Description(str(b), "board", g)


# --- devices --------------------------------------------------------------------------

def describe_device(ident: str, board: str, sensors: list[str] | tuple[str, ...] = (), firmware: str | None = None,
                    deployed_model: str | None = None) -> Description:
    d = URIRef(device_iri(ident))
    g = _Triples()
    g.add((d, RDF.type, TTE.Device))
    g.add((d, SCHEMA.identifier, Literal(ident)))
    g.add((d, TTE.onBoard, URIRef(board_iri(board))))
    if firmware:
        g.add((d, TTE.firmwareVersion, Literal(firmware)))
    if deployed_model:
        g.add((d, TTE.deployedModel, URIRef(model_iri(deployed_model))))
    # the sensor kinds and their count, one hop from the device, for matching input modalities fast
    g.add((d, TTE.sensorCount, _lit(len(sensors))))
    for s in sensors:
        g.add((d, TTE.sensorKind, Literal(s.lower())))
    for s in sensors:
        node = URIRef(f"{d}/sensor/{check_id('sensor', s)}")
        g.add((d, SSN.hasSubSystem, node))
        g.add((node, RDF.type, SOSA.Sensor))
        if s.lower() in SENSOR_CLASSES:
            g.add((node, RDF.type, SENSOR_CLASSES[s.lower()]))
        g.add((node, RDFS.label, Literal(s)))
    return Description(str(d), "device", g)


# --- models ---------------------------------------------------------------------------

LAYER_TYPES = {
    "conv2d": NNET.Conv2D, "depthwise_conv2d": NNET.DepthwiseConv2D, "fully_connected": NNET.FullyConnected,
    "matmul": NNET.FullyConnected, "avgpool2d": NNET.AveragePool2D, "maxpool2d": NNET.MaxPool2D,
    "reshape": NNET.Reshape, "softmax": NNET.Softmax, "quantize": NNET.Quantize, "dequantize": NNET.Dequantize,
    "logistic": NNET.Logistic, "sigmoid": NNET.Logistic,
}
QUANT = {"int8": NNET.Int8, "int16": NNET.Int16, "float32": NNET.Float32, "float16": NNET.Float16}


def io_signature(summary: dict[str, Any]) -> str:
    def part(items: list[dict[str, Any]]) -> str:
        return ",".join(f"{d['dtype']}{list(d['shape'])}" for d in items)
    return f"{part(summary['inputs'])}->{part(summary['outputs'])}"


def scheme_name(report: dict[str, Any]) -> str:
    s = report.get("scheme")
    if isinstance(s, dict):
        s = s.get("name")
    if not isinstance(s, str) or not s:
        raise TteError("report.json has no scheme name")
    return s


def describe_model(model_id: str, summary: dict[str, Any], report: dict[str, Any], created: str,
                   modality: str | None = None) -> list[Description]:
    """The model (from `tte.inspect.summarize`) and its compiled artifact for the report's scheme.
    `modality`: the kind of sensor its input comes from (camera, microphone, accelerometer, ...):
    `match` then offers the model only to devices with such a sensor (or with no sensors declared)."""
    m = URIRef(model_iri(model_id))
    g = _Triples()
    g.add((m, RDF.type, TTE.Model))
    g.add((m, RDF.type, NNET.NeuralNetwork))
    g.add((m, SCHEMA.identifier, Literal(model_id)))
    g.add((m, SCHEMA.name, Literal(summary.get("name") or model_id)))
    g.add((m, SCHEMA.dateCreated, Literal(created, datatype=XSD.dateTime)))
    g.add((m, SCHEMA.runtimePlatform, Literal("tte")))
    g.add((m, NNET.hasMultiplyAccumulateOps, _lit(summary["macs"])))
    g.add((m, TTE.parameterCount, _lit(summary["params"])))
    g.add((m, TTE.ioSignature, Literal(io_signature(summary))))
    if modality is not None:
        g.add((m, TTE.inputModality, Literal(check_id("modality", modality).lower())))
    for kind, items, prop, cls in (("input", summary["inputs"], SSN.hasInput, NNET.NetworkInput),
                                   ("output", summary["outputs"], SSN.hasOutput, NNET.NetworkOutput)):
        for i, d in enumerate(items):
            node = URIRef(f"{m}/{kind}/{i}")
            g.add((m, prop, node))
            g.add((node, RDF.type, cls))
            g.add((node, RDFS.label, Literal(d["name"])))
            g.add((node, NNET.shapeIn if kind == "input" else NNET.shapeOut, Literal(json.dumps(list(d["shape"])))))
    nodes = summary.get("nodes", [])
    for i, n in enumerate(nodes):
        layer = URIRef(f"{m}/layer/{i}")
        prop = NNET.inputLayer if i == 0 else NNET.outputLayer if i == len(nodes) - 1 else NNET.middleLayer
        g.add((m, prop, layer))
        g.add((layer, RDF.type, NNET.Layer))
        g.add((layer, NNET.hasIndex, _lit(i)))
        g.add((layer, RDFS.label, Literal(n["name"])))
        g.add((layer, TTE.op, Literal(n["op"])))
        if n["op"] in LAYER_TYPES:
            g.add((layer, NNET.hasType, LAYER_TYPES[n["op"]]))
        if n.get("output_dtype") in QUANT:
            g.add((layer, NNET.hasQuantization, QUANT[n["output_dtype"]]))
        g.add((layer, NNET.shapeOut, Literal(json.dumps(list(n["output_shape"])))))
    return [Description(str(m), "model", g), describe_artifact(model_id, report)]


_FLAT = {"peak_sram_bytes": TTE.peakSramBytes, "inference_peak_sram_bytes": TTE.inferencePeakSramBytes,
         "flash_bytes": TTE.flashBytes}
_PLAIN_INTS = {"arena_bytes": TTE.arenaBytes, "trainable_bytes": TTE.trainableBytes, "stack_bytes": TTE.stackBytes,
               "macs_forward": TTE.macsForward, "macs_backward": TTE.macsBackward,
               "instructions_per_step": TTE.instructionsPerStep}


def describe_artifact(model_id: str, report: dict[str, Any]) -> Description:
    scheme = scheme_name(report)
    a = URIRef(artifact_iri(model_id, scheme))
    m = URIRef(model_iri(model_id))
    g = _Triples()
    g.add((m, S3N.hasProcedureFeature, a))
    g.add((a, RDF.type, TTE.CompiledArtifact))
    g.add((a, RDF.type, S3N.ProcedureFeature))
    g.add((a, TTE.updateScheme, Literal(scheme)))
    for key, suffix, cls, label in (("peak_sram_bytes", "training-sram", TTE.TrainingSRAM, "training peak SRAM"),
                                    ("inference_peak_sram_bytes", "inference-sram", TTE.InferenceSRAM,
                                     "inference peak SRAM"),
                                    ("flash_bytes", "flash", S3NX.Flash, "flash")):
        if key not in report:
            continue  # the shapes say what is missing
        g.add((a, _FLAT[key], _lit(report[key])))  # the same figure, one hop away, for fast matching
        node = URIRef(f"{a}/{suffix}")
        g.add((a, SSNS.inCondition, node))
        _memory(g, node, cls, report[key], SCHEMA.minValue, label)
    for key, prop in _PLAIN_INTS.items():
        if key in report:
            g.add((a, prop, _lit(report[key])))
    if isinstance(report.get("macs_forward"), int) and isinstance(report.get("macs_backward"), int):
        g.add((a, TTE.macsPerTrainingStep, _lit(report["macs_forward"] + report["macs_backward"])))
    if report.get("precision"):
        g.add((a, TTE.precision, Literal(str(report["precision"]))))
    if "qas" in report:
        g.add((a, TTE.usesQAS, Literal(bool(report["qas"]))))
    if report.get("board"):
        board = report["board"]
        g.add((a, TTE.compiledFor, URIRef(board_iri(board if isinstance(board, str) else board["name"]))))
    fit = report.get("fit")
    if isinstance(fit, dict):
        fit = fit.get("fits", fit.get("ok"))
    if isinstance(fit, bool):
        g.add((a, TTE.fits, Literal(fit)))
    return Description(str(a), "artifact", g)


def read_report(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    try:
        report = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise TteError(f"cannot read report: {e}", file=str(p)) from None
    if not isinstance(report, dict):
        raise TteError("report.json must hold a JSON object", file=str(p))
    return report


def report_created(report: dict[str, Any], path: str | Path) -> str:
    """When the artifact was compiled: the report's `created` field, else the report file's mtime (UTC)."""
    if isinstance(report.get("created"), str):
        return report["created"]
    return datetime.fromtimestamp(Path(path).stat().st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def describe_model_file(model: str | Path, report_path: str | Path, model_id: str | None = None,
                        modality: str | None = None) -> list[Description]:
    """`tte kg add-model MODEL --report report.json [--id ID] [--modality M]`: the id defaults to the file stem."""
    import tte
    from tte.inspect import summarize

    report = read_report(report_path)
    ident = check_id("model", model_id or Path(model).stem)
    summary = summarize(tte.load(str(model)))
    return describe_model(ident, summary, report, report_created(report, report_path), modality)
