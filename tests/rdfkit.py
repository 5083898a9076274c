"""Test helpers for RDF comparisons."""

from __future__ import annotations

from rdflib import XSD, Graph, Literal


def plain_strings(g: Graph) -> Graph:
    """xsd:string literals written plain: RDF 1.1 makes "x" and "x"^^xsd:string the same literal;
    rdflib keeps them apart."""
    out = Graph()
    for s, p, o in g:
        if isinstance(o, Literal) and o.datatype == XSD.string:
            o = Literal(str(o))
        out.add((s, p, o))
    return out
