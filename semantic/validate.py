"""SHACL validation of descriptions before they reach the store (pyshacl)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from rdflib import XSD, Graph, Literal, URIRef
from rdflib.namespace import SH, NamespaceManager

from semantic.vocab import namespace_manager
from tte.errors import TteError

SHAPES_DIR = Path(__file__).resolve().parent / "shapes"


@cache
def shapes_graph() -> Graph:
    g = Graph()
    for f in sorted(SHAPES_DIR.glob("*.ttl")):
        g.parse(f, format="turtle")
    return g


@dataclass(frozen=True)
class Violation:
    focus: str
    path: str
    message: str
    value: str | None

    def __str__(self) -> str:
        where = f"{self.focus} {self.path}".strip()
        value = f" (got {self.value})" if self.value is not None else ""
        return f"{where}: {self.message}{value}"


class ShaclError(TteError):
    """A description does not conform to the shapes; nothing was written."""

    def __init__(self, violations: list[Violation], report_text: str) -> None:
        self.violations = violations
        self.report_text = report_text
        n = len(violations)
        super().__init__(f"description rejected, {n} SHACL violation{'s' if n != 1 else ''}: "
                         + "; ".join(str(v) for v in violations))


@cache
def _namespaces() -> NamespaceManager:
    return namespace_manager()


def _short(term: object) -> str:
    nm = _namespaces()
    if isinstance(term, URIRef):
        try:
            return nm.normalizeUri(term)
        except Exception:  # noqa: BLE001 - a term rdflib cannot shorten is printed whole
            return str(term)
    if isinstance(term, Literal):
        return repr(str(term)) if term.datatype is None else f"{term} ({_short(term.datatype)})"
    return str(term)


def _path(results: Graph, node: object) -> str:
    return _path_text(results, results.value(node, SH.resultPath))


def violations(data: Graph, focus: set[str] | None = None) -> tuple[list[Violation], str]:
    """Every violation of the shapes in `data` (only at the `focus` nodes when given, so that
    context copied from the store is not validated again), sorted, and pyshacl's text report."""
    from pyshacl import validate

    # Every node is validated and results outside `focus` dropped afterwards: pyshacl's own
    # focus_nodes option filters with a list scan per node (quadratic on a bulk batch).
    conforms, results, text = validate(data, shacl_graph=shapes_graph(), inference="none", advanced=False,
                                       allow_warnings=True)
    if conforms:
        return [], text
    assert isinstance(results, Graph)
    out = []
    keep = {URIRef(f) for f in focus} if focus is not None else None
    for r in results.subjects(SH.resultSeverity, SH.Violation):
        if keep is not None and results.value(r, SH.focusNode) not in keep:
            continue
        value = results.value(r, SH.value)
        out.append(Violation(_short(results.value(r, SH.focusNode)), _path(results, r),
                             str(results.value(r, SH.resultMessage)), None if value is None else _short(value)))
    return sorted(set(out), key=str), text


def check(data: Graph, focus: set[str] | None = None) -> None:
    found, text = violations(data, focus)
    if found:
        raise ShaclError(found, text)


def _path_text(g: Graph, p: object) -> str:
    """A SHACL path of graph `g` as violations print it: a shape's sh:path, or the sh:resultPath
    that pyshacl copies from it."""
    if p is None:
        return ""
    inverse = g.value(p, SH.inversePath)
    if inverse is not None:
        return f"^{_short(inverse)}"
    if isinstance(p, URIRef):
        return _short(p)
    from rdflib.collection import Collection
    try:
        return "/".join(_short(x) for x in Collection(g, p))
    except Exception:  # noqa: BLE001 - a path that is no list is printed whole
        return str(p)


def _rdflib_term(term: object) -> object:
    import pyoxigraph as ox

    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        dt = term.datatype.value
        # a plain literal is an xsd:string in Oxigraph; rdflib (and so pyshacl's report) keeps it plain
        return Literal(term.value, datatype=None if dt == str(XSD.string) else URIRef(dt))
    return term


def violations_in_store(store: object) -> list[Violation]:
    """Every violation of the shapes by the descriptions in graph `shape_queries.BATCH` of an
    Oxigraph store (which also holds their context), from the compiled shape queries. Raises
    `shape_queries.Unsupported` when the shapes need pyshacl."""
    from semantic.shape_queries import compile_shapes

    shapes = shapes_graph()
    out = set()
    for check in compile_shapes(shapes):
        path = _path_text(shapes, check.path)
        for sol in store.query(check.query, use_default_graph_as_union=True):  # type: ignore[attr-defined]
            value = sol["value"] if check.has_value else sol["this"] if check.focus_is_value else None
            out.add(Violation(_short(URIRef(sol["this"].value)), path, check.message,
                              None if value is None else _short(_rdflib_term(value))))
    return sorted(out, key=str)
