"""The knowledge graph API: validated, transactional inserts of descriptions into a store."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rdflib import RDF, Graph, URIRef

from semantic import validate
from semantic.describe import Description
from semantic.store import LocalStore, Store, replace_graphs_nt
from semantic.vocab import TTE, device_iri, local_id, model_iri
from tte.errors import TteError

_CONTEXT = "urn:tte:validation:context"
# IRIs the batch mentions without typing them (the board of a device, ...): the store's types for them
# go into the validation store, so that sh:class can check references
_UNTYPED = """SELECT ?x WHERE {
  { SELECT DISTINCT ?x WHERE {
      { GRAPH ?g { ?s ?p ?x } } UNION { GRAPH ?g { ?x ?p ?o } }
      FILTER(isIRI(?x) && ?p != <http://www.w3.org/1999/02/22-rdf-syntax-ns#type>) } }
  FILTER NOT EXISTS { GRAPH ?h { ?x a ?t } }
}"""


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
        texts = [(d.name, d.ntriples()) for d in descriptions]
        if validate_shapes:
            self._validate(descriptions, texts)
        if isinstance(self.store, LocalStore):
            self.store.replace_graphs_nt(texts)
            return
        update = replace_graphs_nt(texts)
        if update:
            self.store.update(update)

    def _validate(self, descriptions: Sequence[Description], texts: list[tuple[str, str]]) -> None:
        """The compiled shape queries on the batch in an in-memory Oxigraph store with the types of
        what it refers to; pyshacl when the shapes or the data need it (see semantic/shape_queries)."""
        import pyoxigraph as ox

        from semantic.shape_queries import BATCH, RDFS_SUBCLASS, Unsupported

        mem = ox.Store()
        mem.load("".join(t for _, t in texts), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(BATCH))
        untyped = [sol["x"].value for sol in mem.query(_UNTYPED)]  # type: ignore[union-attr]
        ctx = context_types(self.store, untyped)
        mem.extend(ox.Quad(ox.NamedNode(str(s)), ox.NamedNode(str(RDF.type)), ox.NamedNode(str(o)),
                           ox.NamedNode(_CONTEXT)) for s, _, o in ctx)
        try:
            if mem.query(f"ASK {{ ?s <{RDFS_SUBCLASS}> ?o }}", use_default_graph_as_union=True):
                raise Unsupported("the data declares subclasses")
            found = validate.violations_in_store(mem)
        except Unsupported:
            data = Graph()
            for d in descriptions:
                data += d.graph
            validate.check(data + ctx, {str(s) for s in data.subjects(RDF.type)})
            return
        if found:
            raise validate.ShaclError(found, "\n".join(str(v) for v in found))

    def has_graph(self, name: str) -> bool:
        """Whether a description named `name` is in the store."""
        return self.store.ask(f"ASK {{ GRAPH <{name}> {{ ?s ?p ?o }} }}")

    def _graphs_under(self, iri: str) -> list[str]:
        """The description of `iri` and every graph named below it (`<iri>/...`: a model's compiled
        artifacts; a device's presence, deployment and Thing Description written by the fleet manager)."""
        rows = self.store.select(f"""SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }}
            FILTER(?g = <{iri}> || STRSTARTS(STR(?g), "{iri}/")) }}""")
        return sorted(r["g"] for r in rows)

    def kind_of(self, ident: str) -> list[str]:
        """Which of "device" and "model" `ident` names in the store."""
        return [kind for kind, iri, cls in (("device", device_iri(ident), TTE.Device),
                                            ("model", model_iri(ident), TTE.Model))
                if self.store.ask(f"ASK {{ <{iri}> a <{cls}> }}")]

    def remove(self, kind: str, ident: str) -> list[str]:
        """Drop a device or a model with everything described under its IRI, in one update; the
        names of the graphs dropped. A model that devices still run is refused (they would point
        at nothing), and so is an id the store does not hold."""
        iri = device_iri(ident) if kind == "device" else model_iri(ident)
        if kind not in self.kind_of(ident):
            raise TteError(f"unknown {kind} '{ident}'")
        if kind == "model":
            users = sorted(local_id(r["d"]) for r in self.store.select(
                f"SELECT DISTINCT ?d WHERE {{ ?d <{TTE.deployedModel}> <{iri}> }}"))
            if users:
                shown = ", ".join(users[:5]) + (", ..." if len(users) > 5 else "")
                raise TteError(f"model '{ident}' is deployed on {len(users)} device(s) ({shown}); "
                               "remove them or register them with another model first")
        names = self._graphs_under(iri)
        self.store.update(" ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in names))
        return names

    def list_devices(self) -> list[dict[str, object]]:
        """Every device: id, board, firmware, deployed model, sensors, status (when the fleet reports one)."""
        rows = self.store.select(f"""PREFIX tte: <{TTE}>
            PREFIX ssn: <http://www.w3.org/ns/ssn/>
            PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
            SELECT ?d ?board ?fw ?model ?status (GROUP_CONCAT(?sensor; separator=" ") AS ?sensors) WHERE {{
              ?d a tte:Device ; tte:onBoard ?board .
              OPTIONAL {{ ?d tte:firmwareVersion ?fw }}
              OPTIONAL {{ ?d tte:deployedModel ?model }}
              OPTIONAL {{ ?d tte:status ?status }}
              OPTIONAL {{ ?d ssn:hasSubSystem/rdfs:label ?sensor }}  # sensor ids have no spaces (check_id)
            }} GROUP BY ?d ?board ?fw ?model ?status ORDER BY ?d""")
        return [{"id": local_id(r["d"]), "board": local_id(r["board"]), "firmware": r.get("fw"),
                 "model": local_id(r["model"]) if "model" in r else None, "status": r.get("status"),
                 "sensors": sorted(s for s in r.get("sensors", "").split(" ") if s)} for r in rows]

    def list_models(self) -> list[dict[str, object]]:
        """Every model: id, creation time and the update schemes it is compiled for."""
        rows = self.store.select(f"""PREFIX tte: <{TTE}>
            PREFIX s3n: <http://w3id.org/s3n/>
            PREFIX schema: <https://schema.org/>
            SELECT ?m ?created ?scheme WHERE {{
              ?m a tte:Model .
              OPTIONAL {{ ?m schema:dateCreated ?created }}
              OPTIONAL {{ ?m s3n:hasProcedureFeature/tte:updateScheme ?scheme }}
            }}""")
        created: dict[str, object] = {}
        schemes: dict[str, set[str]] = {}
        for r in rows:
            created[r["m"]] = r.get("created")
            schemes.setdefault(r["m"], set()).update([r["scheme"]] if "scheme" in r else [])
        return [{"id": local_id(m), "created": created[m], "schemes": sorted(schemes[m])} for m in sorted(created)]

    def count_triples(self) -> int:
        return int(self.store.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")[0]["n"])
