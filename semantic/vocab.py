"""Namespaces and the IRIs tte mints for boards, devices, models and compiled artifacts."""

from __future__ import annotations

import re
from urllib.parse import quote

from rdflib import Namespace
from rdflib.namespace import NamespaceManager

from tte.errors import TteError

# Our own terms. The host name is reserved (RFC 2606): the IRIs identify, they do not resolve.
TTE = Namespace("https://tte.invalid/ns#")
NNET = Namespace("https://w3id.org/tinyml-schema/neural-network-schema#")
S3N = Namespace("http://w3id.org/s3n/")
S3NX = Namespace("https://w3id.org/tinyml-schema/neural-network-schema/s3n_extend/")
SOSAX = Namespace("https://w3id.org/tinyml-schema/neural-network-schema/sosa_extend/")
SOSA = Namespace("http://www.w3.org/ns/sosa/")
SSN = Namespace("http://www.w3.org/ns/ssn/")
SSNS = Namespace("http://www.w3.org/ns/ssn/systems/")
SCHEMA = Namespace("https://schema.org/")
OM = Namespace("http://www.ontology-of-units-of-measure.org/resource/om-2/")
TD = Namespace("https://www.w3.org/2019/wot/td#")

PREFIXES: dict[str, Namespace] = {
    "tte": TTE, "nnet": NNET, "s3n": S3N, "s3nx": S3NX, "sosax": SOSAX, "sosa": SOSA, "ssn": SSN,
    "ssns": SSNS, "schema": SCHEMA, "om": OM, "td": TD,
}

BOARD = "urn:tte:board:"
DEVICE = "urn:tte:device:"
MODEL = "urn:tte:model:"

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def check_id(kind: str, ident: str) -> str:
    """Ids become IRIs: letters, digits, '.', '_' and '-' only."""
    if not _ID.match(ident):
        raise TteError(f"invalid {kind} id '{ident}' (use letters, digits, '.', '_', '-')")
    return ident


def board_iri(name: str) -> str:
    return BOARD + check_id("board", name)


def device_iri(ident: str) -> str:
    return DEVICE + check_id("device", ident)


def model_iri(ident: str) -> str:
    return MODEL + check_id("model", ident)


def artifact_iri(model_id: str, scheme: str) -> str:
    """One compiled artifact per (model, update scheme)."""
    return f"{model_iri(model_id)}/scheme/{quote(scheme, safe='')}"


def local_id(iri: str) -> str:
    """The id at the end of a minted IRI (urn:tte:device:d1 -> d1)."""
    for prefix in (BOARD, DEVICE, MODEL):
        if iri.startswith(prefix):
            return iri[len(prefix):]
    return iri


def namespace_manager() -> NamespaceManager:
    from rdflib import Graph

    nm = NamespaceManager(Graph(), bind_namespaces="core")
    for p, ns in PREFIXES.items():
        nm.bind(p, ns, override=True)
    return nm
