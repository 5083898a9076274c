"""The SPARQL queries in semantic/queries/*.rq and how a variable gets bound to an IRI."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from tte.errors import TteError

QUERIES_DIR = Path(__file__).resolve().parent / "queries"


@cache
def load(name: str) -> str:
    return (QUERIES_DIR / f"{name}.rq").read_text()


BIND_MARK = "# bind here"


def bind(query: str, **values: str) -> str:
    """Bind variables to IRIs with a VALUES block: after a `# bind here` comment line when the query
    has one (e.g. inside the subquery that should start the evaluation), else at the start of the
    first WHERE group.

    (A VALUES clause at the end of the query is standard too, but Oxigraph joins it last, after
    enumerating every pair; placed first it seeds the evaluation.)
    """
    mark = query.find(BIND_MARK)
    if mark >= 0:
        at = query.index("\n", mark)
    else:
        at = query.find("WHERE {")
        if at < 0:
            raise ValueError("query has no 'WHERE {' to bind into")
        at += len("WHERE {")
    block = "".join(f"\n  VALUES ?{var} {{ <{iri}> }}" for var, iri in values.items())
    return query[:at] + block + query[at:]


def read_query_file(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as e:
        raise TteError(f"cannot read query: {e}", file=path) from None
