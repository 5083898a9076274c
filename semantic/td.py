"""W3C WoT Thing Description 1.1 (JSON-LD) of a device, checked against the official TD JSON Schema.

The TD context and schema are the W3C files in semantic/w3c/ (see LICENSE-W3C.txt); JSON-LD
processing here never fetches a context from the network.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from rdflib import Graph

from semantic import queries
from semantic.store import Store
from semantic.vocab import OM, SOSAX, TTE, device_iri, local_id
from tte.errors import TteError

W3C_DIR = Path(__file__).resolve().parent / "w3c"
TD_CONTEXT_URL = "https://www.w3.org/2022/wot/td/v1.1"
DEFAULT_BASE = "mqtt://localhost:1883/"


@cache
def td_context() -> dict[str, Any]:
    """The TD 1.1 context document (td-context-1.1.jsonld)."""
    return json.loads((W3C_DIR / "td-context-1.1.jsonld").read_text())


@cache
def td_schema() -> dict[str, Any]:
    return json.loads((W3C_DIR / "td-json-schema-validation.json").read_text())


# The copied schema ("version": "1.1-12-March-2025", from the main branch of
# w3c/wot-thing-description, where TD 2.0 is being drafted) accepts only this temporary context
# URI as the first @context entry, not the TD 1.1 URI that TD 1.1 documents must start with.
SCHEMA_CONTEXT_URL = "https://www.w3.org/ns/wot-next/td"


@cache
def _schema_validator() -> Any:
    """Built once: building it costs ten times what checking one TD does."""
    import jsonschema

    cls = jsonschema.validators.validator_for(td_schema())
    return cls(td_schema(), format_checker=cls.FORMAT_CHECKER)


def raw_schema_errors(td: dict[str, Any]) -> list[str]:
    """Violations of the copied official TD JSON Schema, as it stands (empty when valid)."""
    v = _schema_validator()
    return sorted(f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in v.iter_errors(td))


def context_errors(td: dict[str, Any]) -> list[str]:
    """TD 1.1 @context rule: the TD 1.1 URI first, then only prefix maps with string values or URIs."""
    ctx = td.get("@context")
    items = ctx if isinstance(ctx, list) else [ctx]
    if not items or items[0] != TD_CONTEXT_URL:
        return [f"@context: must start with {TD_CONTEXT_URL}"]
    bad = [c for c in items[1:] if not (isinstance(c, str) or (isinstance(c, dict)
                                                                and all(isinstance(v, str) for v in c.values())))]
    return [f"@context: entry {c!r} is neither a URI nor a prefix map" for c in bad]


def schema_errors(td: dict[str, Any]) -> list[str]:
    """Violations of TD 1.1: the official JSON Schema for everything but the context URI (whose
    TD 1.1 value the copied schema does not list), and the TD 1.1 context rule for that."""
    errors = context_errors(td)
    probe = dict(td)
    ctx = td.get("@context")
    items = list(ctx) if isinstance(ctx, list) else [ctx]
    if items and items[0] == TD_CONTEXT_URL:
        probe["@context"] = [SCHEMA_CONTEXT_URL, *items[1:]]
    return errors + raw_schema_errors(probe)


def with_local_context(doc: dict[str, Any]) -> dict[str, Any]:
    """The document with the TD context URL replaced by the context itself (offline JSON-LD)."""
    out = copy.deepcopy(doc)
    ctx = out.get("@context")
    items = ctx if isinstance(ctx, list) else [ctx]
    local = td_context()["@context"]
    out["@context"] = [local if c == TD_CONTEXT_URL else c for c in items]
    return out


def to_rdf(td: dict[str, Any]) -> Graph:
    """The TD as RDF: JSON-LD expansion with the TD 1.1 context (local copy)."""
    g = Graph()
    g.parse(data=json.dumps(with_local_context(td)), format="json-ld", publicID=f"{td.get('id', 'urn:tte:td')}/")
    return g


def _form(topic: str, ops: list[str]) -> dict[str, Any]:
    return {"href": topic, "op": ops, "contentType": "application/json"}


def _sensor_property(label: str, sensor_type: str | None, topic: str) -> dict[str, Any]:
    p: dict[str, Any] = {"title": label, "type": "object", "readOnly": True, "observable": True,
                         "forms": [_form(topic, ["readproperty", "observeproperty"])]}
    if sensor_type and sensor_type.startswith(str(SOSAX)):
        p["@type"] = "sosax:" + sensor_type[len(str(SOSAX)):]
    return p


TopicOf = Callable[[str], str]
"""The MQTT topic of one of the device's topic kinds ("register", "job", "telemetry", ...). The fleet
protocol (fleet/protocol.py) owns the topic tree; the caller passes it in, so that semantic/ does
not depend on fleet/."""


def thing_description(store: Store, device: str, topic: TopicOf, base: str = DEFAULT_BASE) -> dict[str, Any]:
    """The TD of a registered device: its memory, firmware, deployed model, sensors (all in the
    registration the device publishes); deploy and train actions; telemetry and job status events."""
    iri = device_iri(device)
    rows = store.select(queries.bind(queries.load("device-info"), device=iri))
    if not rows:
        raise TteError(f"unknown device '{device}'")
    r = rows[0]
    board = local_id(r["board"])
    register = topic("register")
    byte = {"type": "integer", "minimum": 0, "unit": "om:byte", "readOnly": True}
    props: dict[str, Any] = {
        "sramBytes": {**byte, "title": "Usable SRAM", "const": r["sram"],
                      "forms": [_form(register, ["readproperty"])]},
        "flashBytes": {**byte, "title": "Usable flash", "const": r["flash"],
                       "forms": [_form(register, ["readproperty"])]},
        "firmwareVersion": {"type": "string", "readOnly": True,
                            "forms": [_form(register, ["readproperty"])]},
        "deployedModel": {"type": "string", "readOnly": True, "observable": True,
                          "forms": [_form(register, ["readproperty", "observeproperty"])]},
    }
    for s in rows:
        if "sensor" in s:
            label = s["sensorLabel"]
            props[f"sensor-{label}"] = _sensor_property(label, s.get("sensorType"), register)
    td: dict[str, Any] = {
        "@context": [TD_CONTEXT_URL, {"tte": str(TTE), "om": str(OM), "sosax": str(SOSAX)}],
        "@type": ["Thing", "tte:Device"],
        "id": iri,
        "title": device,
        "description": f"tte device on board {r.get('boardName', board)} ({r['core']})",
        "tte:onBoard": {"@id": r["board"]},
        "base": base,
        "securityDefinitions": {"basic_sc": {"scheme": "basic", "in": "header"}},  # the broker's passwords
        "security": ["basic_sc"],
        "properties": props,
        "actions": {
            "deployModel": {
                "title": "Deploy a compiled model",
                "input": {"type": "object", "required": ["model"],
                          "properties": {"model": {"type": "string"}, "scheme": {"type": "string"}}},
                "forms": [_form(topic("job"), ["invokeaction"])]},
            "trainStep": {
                "title": "Run on-device training steps on buffered samples",
                "input": {"type": "object", "properties": {"steps": {"type": "integer", "minimum": 1}}},
                "forms": [_form(topic("fed/task"), ["invokeaction"])]},
        },
        "events": {
            "telemetry": {"title": "Loss, accuracy and memory after training steps",
                          "data": {"type": "object"},
                          "forms": [_form(topic("telemetry"), ["subscribeevent", "unsubscribeevent"])]},
            "jobStatus": {"title": "Deployment job state", "data": {"type": "object"},
                          "forms": [_form(topic("job/status"), ["subscribeevent", "unsubscribeevent"])]},
        },
    }
    if r.get("firmware"):
        props["firmwareVersion"]["const"] = r["firmware"]
    if r.get("deployed"):
        td["tte:deployedModel"] = {"@id": r["deployed"]}
    errors = schema_errors(td)
    if errors:  # a bug in this module, not a user error
        raise AssertionError("generated TD violates the TD 1.1 JSON Schema: " + "; ".join(errors))
    return td
