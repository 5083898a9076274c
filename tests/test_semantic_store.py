"""The store: a bulk load killed with SIGKILL mid-batch leaves all of the batch or none of it;
the SPARQL 1.1 protocol backend (the real Oxigraph server) answers like the embedded store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from oxigraph_server import oxigraph_server

from semantic.describe import describe_board, describe_device
from semantic.kg import KnowledgeGraph
from semantic.match import match_device, match_model
from semantic.store import EndpointStore, LocalStore
from semantic.synthetic import fleet_descriptions, generate_fleet
from tte.errors import TteError
from tte.targets.boards import list_boards

ROOT = Path(__file__).resolve().parent.parent
BATCH = 6000  # devices per batch: one SPARQL update of ~80,000 quads, long enough to be killed inside

CHILD = textwrap.dedent("""
    import sys
    from semantic.describe import describe_board, describe_device
    from semantic.store import LocalStore, replace_graphs
    from tte.targets.boards import list_boards

    store = LocalStore(sys.argv[1])
    n = int(sys.argv[2])
    bulk = sys.argv[3] == "bulk"


    class Announcing:  # says when Oxigraph's bulk loader starts, so that the kill lands inside it
        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def bulk_load(self, *args, **kwargs):
            print("bulk_load", flush=True)
            return self.inner.bulk_load(*args, **kwargs)


    store._store = Announcing(store._store)
    store.update(replace_graphs((d.name, d.graph) for d in [describe_board(b) for b in list_boards()]))
    updates = []
    for k in range(3):
        devs = [describe_device(f"b{k}-{i:05d}", "rp2040", ["camera"], "1.0") for i in range(n)]
        updates.append([(d.name, d.ntriples()) for d in devs] if bulk
                       else replace_graphs((d.name, d.graph) for d in devs))
    for k, batch in enumerate(updates):
        print(f"writing {k}", flush=True)
        store.replace_graphs_nt(batch) if bulk else store.update(batch)
        print(f"written {k}", flush=True)
""")


def count_batch(store: LocalStore, k: int) -> tuple[int, int]:
    """(devices of batch k, triples of batch k) in the store."""
    prefix = f"urn:tte:device:b{k}-"
    n = store.select(f"""SELECT (COUNT(?d) AS ?n) WHERE {{
        ?d a <https://tte.invalid/ns#Device> FILTER(STRSTARTS(STR(?d), "{prefix}")) }}""")[0]["n"]
    t = store.select(f"""SELECT (COUNT(*) AS ?t) WHERE {{
        ?s ?p ?o FILTER(STRSTARTS(STR(?s), "{prefix}")) }}""")[0]["t"]
    return n, t


@pytest.mark.parametrize("mode", ["update", "bulk"])
def test_sigkill_mid_batch_all_or_nothing(tmp_path: Path, mode: str) -> None:
    """A SPARQL update (one transaction), and a batch of new graphs through the bulk loader (one
    ingestion of its files), are each written whole or not at all."""
    script = tmp_path / "load.py"
    script.write_text(CHILD)
    store_dir = tmp_path / "kg"
    n = BATCH if mode == "update" else 3 * BATCH  # the bulk loader is faster: a larger batch to be killed in
    proc = subprocess.Popen([sys.executable, str(script), str(store_dir), str(n), mode], stdout=subprocess.PIPE,
                            text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line.strip())
        if seen[-1:] == ["writing 1"] if mode == "update" else seen[-2:] == ["writing 1", "bulk_load"]:
            break
    assert seen[-1] == ("writing 1" if mode == "update" else "bulk_load"), seen
    time.sleep(0.15 if mode == "update" else 0.1)  # inside the second write
    proc.send_signal(signal.SIGKILL)
    rest = proc.stdout.read()
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert "written 1" not in rest, "the batch finished before the kill; make BATCH larger"

    store = LocalStore(store_dir)
    per_device = len(describe_device("x", "rp2040", ["camera"], "1.0").graph)
    assert count_batch(store, 0) == (n, n * per_device)  # committed before the kill: all of it
    n1, t1 = count_batch(store, 1)
    assert (n1, t1) in ((0, 0), (n, n * per_device))  # killed mid-write: all or nothing
    assert count_batch(store, 2) == (0, 0)
    # the reopened store is writable and consistent
    kg = KnowledgeGraph(store)
    kg.add([describe_device("after", "rp2040")])
    assert store.ask("ASK { <urn:tte:device:after> ?p ?o }")


def test_ntriples_of_a_description_equal_rdflib_serialization() -> None:
    """Descriptions write their N-Triples without building an rdflib graph; Oxigraph reads the same
    triples from them as from rdflib's serializer, quotes, backslashes, newlines and non-ASCII
    text included."""
    import pyoxigraph as ox

    from semantic.describe import describe_model

    fleet = generate_fleet(list_boards(), 30, 10, seed=9)
    summary = {**fleet.models[0].summary, "name": 'odd "name"\\ with\nnewline\r and é ✓'}
    descs = [d for batch in fleet_descriptions(fleet) for d in batch]
    descs += describe_model("odd", summary, fleet.models[0].reports[0], fleet.models[0].created, "camera")

    def triples(text: str) -> set[ox.Triple]:
        return set(ox.parse(text, format=ox.RdfFormat.N_TRIPLES))

    for d in descs:
        fast = d.ntriples()
        reference = d.graph.serialize(format="nt")  # builds the rdflib graph from the same triples
        assert triples(fast) == triples(reference) and len(triples(fast)) == len(d.graph), d.name
    assert any("newline" in d.ntriples() for d in descs)


# --- the Oxigraph server: a SPARQL 1.1 protocol endpoint (HTTP), union default graph ---

@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[str]:
    with oxigraph_server(tmp_path / "oxigraph") as url:
        yield url


def test_endpoint_answers_like_embedded_store(endpoint: str, tmp_path: Path) -> None:
    fleet = generate_fleet(list_boards(), 120, 40, seed=5)
    remote = KnowledgeGraph(EndpointStore(endpoint))
    local = KnowledgeGraph(LocalStore(tmp_path / "kg"))
    for batch in fleet_descriptions(fleet):
        remote.add(batch)  # validated: the shapes see the board types through the endpoint too
        local.add(batch)
    assert remote.count_triples() == local.count_triples() > 0
    for d in fleet.devices[:10]:
        assert match_device(remote.store, d.ident) == match_device(local.store, d.ident)
    for m in fleet.models[:5]:
        assert match_model(remote.store, m.ident) == match_model(local.store, m.ident)
    with pytest.raises(TteError, match="unknown board"):
        remote.add([describe_device("zz", "no-board")])
    with pytest.raises(TteError, match="SPARQL endpoint answered 400"):
        remote.store.select("SELECT nonsense")
    # replacing a description replaces it whole
    remote.add([describe_board(b) for b in list_boards()])
    assert remote.count_triples() == local.count_triples()


def test_endpoint_unreachable() -> None:
    with pytest.raises(TteError, match="cannot reach SPARQL endpoint"):
        EndpointStore("http://127.0.0.1:9/query", timeout=2).select("SELECT * WHERE { ?s ?p ?o }")
