"""Where the knowledge graph lives: an embedded Oxigraph store in a directory, or a SPARQL 1.1 endpoint.

Both speak SPARQL only: `select`, `ask` and `update`. Each description is one named graph and the
default graph is the union of all of them (an endpoint must be configured that way: Oxigraph
`serve --union-default-graph`, Fuseki `tdb2:unionDefaultGraph true`). An update is one
transaction in both backends, so a batch of descriptions is written whole or not at all.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from rdflib import Graph

from tte.errors import TteError

Row = dict[str, Any]

_INT_TYPES = {f"http://www.w3.org/2001/XMLSchema#{t}" for t in (
    "integer", "int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger", "unsignedInt",
    "unsignedLong", "unsignedShort", "unsignedByte", "negativeInteger", "nonPositiveInteger")}
_BOOL = "http://www.w3.org/2001/XMLSchema#boolean"
_FLOATS = {f"http://www.w3.org/2001/XMLSchema#{t}" for t in ("double", "float", "decimal")}


def python_value(value: str, datatype: str | None) -> Any:
    """A SPARQL result term as a Python value: IRIs and strings as str, numbers and booleans typed."""
    if datatype in _INT_TYPES:
        return int(value)
    if datatype == _BOOL:
        return value in ("true", "1")
    if datatype in _FLOATS:
        return float(value)
    return value


class Store(Protocol):
    def select(self, query: str) -> list[Row]: ...
    def ask(self, query: str) -> bool: ...
    def update(self, update: str) -> None: ...


def _prepare_store_dir(d: Path) -> None:
    """Create the store's folder on first use; never open a folder of other files as a store
    (RocksDB would write its files among them)."""
    if d.exists() and not d.is_dir():
        raise TteError("knowledge graph store must be a folder", file=str(d))
    if d.is_dir() and any(d.iterdir()) and not (d / "CURRENT").is_file():
        raise TteError("folder is not empty and is not a knowledge graph store; give a new or empty folder",
                       file=str(d))
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise TteError(f"cannot create knowledge graph store: {e.strerror}", file=str(d)) from None


class LocalStore:
    """Oxigraph (RocksDB) in a directory: one writer process at a time."""

    def __init__(self, path: str | Path | None) -> None:
        import pyoxigraph

        if path is not None:
            _prepare_store_dir(Path(path))
        try:
            self._store = pyoxigraph.Store(str(path) if path is not None else None)
        except OSError as e:
            raise TteError(f"cannot open knowledge graph store: {e}", file=str(path)) from None
        self.path = path

    def select(self, query: str) -> list[Row]:
        import pyoxigraph as ox

        solutions = self._store.query(query, use_default_graph_as_union=True)
        assert isinstance(solutions, ox.QuerySolutions)
        names = [v.value for v in solutions.variables]
        rows = []
        for sol in solutions:
            row: Row = {}
            for name in names:
                term = sol[name]
                if term is None:
                    continue
                if isinstance(term, ox.Literal):
                    row[name] = python_value(term.value, term.datatype.value)
                else:
                    row[name] = term.value
            rows.append(row)
        return rows

    def ask(self, query: str) -> bool:
        return bool(self._store.query(query, use_default_graph_as_union=True))

    def update(self, update: str) -> None:
        self._store.update(update)

    def flush(self) -> None:
        self._store.flush()

    BULK_TRIPLES = 5000  # a batch this large of new graphs is bulk-loaded

    def replace_graphs_nt(self, graphs: list[tuple[str, str]]) -> None:
        """Replace each named graph by its N-Triples text, all or nothing.

        A large batch of graphs the store does not hold yet (a fleet being loaded) goes through
        Oxigraph's bulk loader: it writes the batch as sorted files and RocksDB ingests them in
        one call (atomic across its column families; tests/test_semantic_store.py kills a load
        midway), two to three times as fast as a transaction, whose cost is RocksDB's per-key
        locking. Anything else is one SPARQL update.
        """
        import pyoxigraph as ox

        n = sum(t.count("\n") for _, t in graphs)
        if n >= self.BULK_TRIPLES and not any(self._store.contains_named_graph(ox.NamedNode(g)) for g, _ in graphs):
            quads = "".join(f"{line[:-1]}<{g}> .\n" for g, t in graphs for line in t.splitlines() if line)
            self._store.bulk_load(quads, format=ox.RdfFormat.N_QUADS)
            return
        update = replace_graphs_nt(graphs)
        if update:
            self.update(update)


class EndpointStore:
    """A SPARQL 1.1 endpoint over HTTP (protocol: POST application/sparql-query / -update).

    `url` answers queries. Updates go to `update_url`; by default the same URL, or `.../update`
    when `url` ends in `/query` (Oxigraph server's layout).
    """

    def __init__(self, url: str, update_url: str | None = None, timeout: float = 60.0) -> None:
        self.url = url
        if update_url is None:
            update_url = url[: -len("/query")] + "/update" if url.endswith("/query") else url
        self.update_url = update_url
        self.timeout = timeout

    def _post(self, url: str, body: str, content_type: str, accept: str) -> bytes:
        req = urllib.request.Request(url, data=body.encode(), method="POST",
                                     headers={"Content-Type": f"{content_type}; charset=utf-8", "Accept": accept})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return resp.read()
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace").strip().splitlines()[:1]
            raise TteError(f"SPARQL endpoint answered {e.code}: {' '.join(detail)}", file=url) from None
        except (urllib.error.URLError, OSError) as e:
            raise TteError(f"cannot reach SPARQL endpoint: {e}", file=url) from None

    def _query(self, query: str) -> dict[str, Any]:
        raw = self._post(self.url, query, "application/sparql-query", "application/sparql-results+json")
        return json.loads(raw)

    def select(self, query: str) -> list[Row]:
        res = self._query(query)
        rows = []
        for b in res["results"]["bindings"]:
            rows.append({k: python_value(v["value"], v.get("datatype")) if v["type"] == "literal" else v["value"]
                         for k, v in b.items()})
        return rows

    def ask(self, query: str) -> bool:
        return bool(self._query(query)["boolean"])

    def update(self, update: str) -> None:
        self._post(self.update_url, update, "application/sparql-update", "*/*")


_OPEN: dict[Path, LocalStore] = {}


def open_store(store_dir: str | Path | None = None, endpoint: str | None = None) -> Store:
    """The store at `store_dir` or `endpoint`. A directory is opened once per process and the handle
    kept: RocksDB allows one open handle per directory, and pyoxigraph has no explicit close."""
    if store_dir is not None and endpoint is not None:
        raise TteError("give either --store DIR or --endpoint URL, not both")
    if endpoint is not None:
        return EndpointStore(endpoint)
    if store_dir is None:
        return LocalStore(None)
    key = Path(store_dir).resolve()
    if key not in _OPEN:
        _OPEN[key] = LocalStore(key)
    return _OPEN[key]


def replace_graphs(graphs: Iterable[tuple[str, Graph]]) -> str:
    """One SPARQL update that replaces each named graph by the given triples (a single transaction)."""
    parts = []
    inserts = []
    for name, g in graphs:
        parts.append(f"DROP SILENT GRAPH <{name}>")
        inserts.append(f"GRAPH <{name}> {{\n{g.serialize(format='nt')}}}")
    if not parts:
        return ""
    return " ;\n".join(parts) + " ;\nINSERT DATA {\n" + "\n".join(inserts) + "\n}"


def replace_graphs_nt(graphs: list[tuple[str, str]]) -> str:
    """One SPARQL update that replaces each named graph by its N-Triples text (one transaction)."""
    if not graphs:
        return ""
    drops = " ;\n".join(f"DROP SILENT GRAPH <{g}>" for g, _ in graphs)
    inserts = "\n".join(f"GRAPH <{g}> {{\n{t}}}" for g, t in graphs)
    return f"{drops} ;\nINSERT DATA {{\n{inserts}\n}}"
