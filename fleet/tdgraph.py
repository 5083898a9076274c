"""Thing Descriptions as N-Triples for a fleet of look-alike devices: JSON-LD expansion once per
kind of TD, not once per device.

The TDs of a fleet differ mostly in the device's own name (its id, title and topics). A TD whose
every occurrence of its device's name is replaced by a placeholder is the TD's *template*; the
template is expanded once (Oxigraph's JSON-LD parser, as `td_ntriples`), and each later TD of the
same template gets the template's triples with the name put back. That is the same RDF only when
JSON-LD treats the name as opaque text, which it does unless a string holding it is a term or a
keyword, or the name sits in a context or before a compact IRI's colon: such TDs (and any TD
holding the placeholder itself) are expanded on their own. The first TD of every template is
expanded both ways and compared (isomorphism): a template that does not give the same graph is
never used.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from typing import Any

PLACEHOLDER = "tteTdDeviceNamePlaceholder7q"  # a device-name-shaped string no context defines


def td_ntriples(td: dict[str, Any]) -> str:
    """A TD as N-Triples: JSON-LD expansion with the TD 1.1 context (the local copy) by Oxigraph,
    the store's own parser (2-3 x faster than rdflib's here; the same triples, xsd:string literals
    written plain as RDF 1.1 allows). Oxigraph labels blank nodes at random per parse, so TDs
    inserted by one update never share one (labels are scoped to the whole update)."""
    import pyoxigraph as ox

    from semantic.td import with_local_context

    doc = json.dumps(with_local_context(td)).encode()
    quads = ox.parse(doc, format=ox.RdfFormat.JSON_LD, base_iri=f"{td['id']}/")
    return ox.serialize(quads, format=ox.RdfFormat.N_TRIPLES).decode()


@cache
def _context_terms() -> frozenset[str]:
    """Every term the TD 1.1 context defines, scoped contexts included."""
    from semantic.td import td_context

    return frozenset(_strings(td_context(), values=False))


def _strings(obj: Any, values: bool = True) -> Iterator[str]:
    """Every key of a JSON value, at any depth, and (`values`) every string in it."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield from _strings(v, values)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v, values)
    elif values and isinstance(obj, str):
        yield obj


def _replace(obj: Any, old: str, new: str) -> Any:
    if isinstance(obj, dict):
        return {k.replace(old, new): _replace(v, old, new) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_replace(v, old, new) for v in obj]
    if isinstance(obj, str):
        return obj.replace(old, new)
    return obj


def _opaque(name: str, td: dict[str, Any]) -> bool:
    """Whether JSON-LD sees `name` in `td` as plain text only (see the module's docstring)."""
    if PLACEHOLDER in name or name in PLACEHOLDER:
        return False
    ctx = td.get("@context")
    if name in json.dumps(ctx) or PLACEHOLDER in json.dumps(td):
        return False
    terms = _context_terms() | frozenset(_strings(ctx, values=False))
    for s in _strings({k: v for k, v in td.items() if k != "@context"}):
        if name not in s:
            continue
        if s in terms or s.replace(name, PLACEHOLDER) in terms or s.startswith("@"):
            return False
        if ":" in s and name in s.split(":", 1)[0]:
            return False
    return True


def _with_labels(nt: str, tag: str) -> str:
    """The N-Triples with blank nodes labelled `t<k>x<tag>x`: unique per device within one update."""
    import pyoxigraph as ox

    names: dict[str, ox.BlankNode] = {}

    def term(t: Any) -> Any:
        if isinstance(t, ox.BlankNode):
            if t.value not in names:
                names[t.value] = ox.BlankNode(f"t{len(names)}x{tag}x")
            return names[t.value]
        return t
    triples = [ox.Triple(term(t.subject), t.predicate, term(t.object))
               for t in ox.parse(nt.encode(), format=ox.RdfFormat.N_TRIPLES)]
    return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode()


def _isomorphic(a: str, b: str) -> bool:
    from rdflib import Graph
    from rdflib.compare import isomorphic

    return isomorphic(Graph().parse(data=a, format="nt"), Graph().parse(data=b, format="nt"))


class TdConverter:
    """`ntriples(device, td)` = `td_ntriples(td)` (the same graph), by template where it can."""

    MAX_TEMPLATES = 256

    def __init__(self) -> None:
        self.templates: dict[str, str | None] = {}  # template JSON -> N-Triples with the placeholder
        self.hits = 0

    def ntriples(self, device: str, td: dict[str, Any]) -> str:
        if not _opaque(device, td):
            return td_ntriples(td)
        template = _replace(td, device, PLACEHOLDER)
        key = json.dumps(template, sort_keys=True)
        if key in self.templates:
            nt = self.templates[key]
            if nt is None:
                return td_ntriples(td)
            self.hits += 1
            return nt.replace(PLACEHOLDER, device)
        direct = td_ntriples(td)
        try:
            nt: str | None = _with_labels(td_ntriples(template), PLACEHOLDER)
        except (SyntaxError, ValueError):
            nt = None
        if nt is not None and not _isomorphic(nt.replace(PLACEHOLDER, device), direct):
            nt = None
        if len(self.templates) >= self.MAX_TEMPLATES:
            self.templates.clear()
        self.templates[key] = nt
        return direct
