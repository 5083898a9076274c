"""The knowledge graph API: validated, transactional inserts of descriptions into a store."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rdflib import RDF, Graph, URIRef

from semantic import validate
from semantic.describe import Description
from semantic.store import Store, replace_graphs


def _untyped(g: Graph) -> set[str]:
    """IRIs the batch mentions without describing them (the board of a device, ...)."""
    typed = set(g.subjects(RDF.type))
    mentioned = {t for s, p, o in g for t in (s, o) if isinstance(t, URIRef) and p != RDF.type}
    return {str(t) for t in mentioned - typed}


def context_types(store: Store, iris: Iterable[str], chunk: int = 500) -> Graph:
    """The rdf:type triples the store holds for `iris`, so the shapes can check references."""
    ctx = Graph()
    items = sorted(iris)
    for i in range(0, len(items), chunk):
        values = " ".join(f"<{x}>" for x in items[i:i + chunk])
        for row in store.select(f"SELECT ?s ?t WHERE {{ VALUES ?s {{ {values} }} ?s a ?t }}"):
            ctx.add((URIRef(row["s"]), RDF.type, URIRef(row["t"])))
    return ctx


class KnowledgeGraph:
    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, descriptions: Sequence[Description], *, validate_shapes: bool = True) -> None:
        """Validate the batch against the shapes, then replace each description's graph in one update.

        An invalid batch raises `validate.ShaclError` and writes nothing.
        """
        if validate_shapes:
            data = Graph()
            for d in descriptions:
                data += d.graph
            focus = {str(s) for s in data.subjects(RDF.type)}
            validate.check(data + context_types(self.store, _untyped(data)), focus)
        update = replace_graphs((d.name, d.graph) for d in descriptions)
        if update:
            self.store.update(update)

    def count_triples(self) -> int:
        return int(self.store.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")[0]["n"])
