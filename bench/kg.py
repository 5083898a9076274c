"""Knowledge-graph benchmark: load a generated fleet into the embedded Oxigraph store and time the
match/stale queries (p50/p95), as `tte kg` runs them.

Fleet: 10,000 devices over the boards in boards/ and 1,000 model variants with 1-3 compiled
artifacts each (semantic/synthetic.py). Loading validates every batch with the SHACL shapes,
as `tte kg add-*` does (the shapes compiled to SPARQL, semantic/shape_queries.py).

The machine is shared, so each figure comes with the load average while it ran and a ratio
against the straightforward way measured in the same run: match_*_by_query (one plain query,
no fast path) beside match_*, and, on a tenth of the fleet (--baseline-fraction), loading with
pyshacl and one SPARQL update per batch (the way before the compiled shapes and the bulk
loader) beside loading the same tenth the current way.

Usage: python bench/kg.py [--devices 10000] [--models 1000] [--queries 200] [--no-validate]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine_info  # noqa: E402

from semantic import queries, validate  # noqa: E402
from semantic.describe import Description  # noqa: E402
from semantic.kg import KnowledgeGraph, context_types  # noqa: E402
from semantic.match import (  # noqa: E402
    match_device,
    match_device_by_query,
    match_model,
    match_model_by_query,
    stale,
)
from semantic.store import LocalStore, replace_graphs  # noqa: E402
from semantic.synthetic import fleet_descriptions, generate_fleet  # noqa: E402
from semantic.vocab import device_iri  # noqa: E402
from tte.targets.boards import list_boards  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def percentiles(xs: list[float]) -> dict[str, float]:
    s = sorted(xs)
    return {"p50_ms": round(statistics.median(s) * 1e3, 2),
            "p95_ms": round(s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))] * 1e3, 2),
            "max_ms": round(s[-1] * 1e3, 2), "n": len(s)}


def timed(fn: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def add_straightforward(kg: KnowledgeGraph, batch: list[Description]) -> None:
    """A batch the way before the compiled shapes: merged rdflib graph, pyshacl, one SPARQL update."""
    from rdflib import RDF, Graph, URIRef

    data = Graph()
    for d in batch:
        data += d.graph
    typed = set(data.subjects(RDF.type))
    mentioned = {t for s, p, o in data for t in (s, o) if isinstance(t, URIRef) and p != RDF.type}
    validate.check(data + context_types(kg.store, {str(t) for t in mentioned - typed}), {str(s) for s in typed})
    kg.store.update(replace_graphs((d.name, d.graph) for d in batch))


def load_seconds(fleet: Any, path: Path, add: Callable[[KnowledgeGraph, list[Description]], None]) -> float:
    kg = KnowledgeGraph(LocalStore(path))
    t = time.perf_counter()
    for batch in fleet_descriptions(fleet):
        add(kg, batch)
    return time.perf_counter() - t


def loadavg() -> float:
    return round(os.getloadavg()[0], 2)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=10_000)
    ap.add_argument("--models", type=int, default=1_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--no-validate", action="store_true")
    ap.add_argument("--baseline-fraction", type=float, default=0.1)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "kg.json"))
    args = ap.parse_args()

    fleet = generate_fleet(list_boards(), args.devices, args.models, seed=0)
    load_before = loadavg()
    with tempfile.TemporaryDirectory() as tmp:
        kg = KnowledgeGraph(LocalStore(Path(tmp) / "kg"))
        t0 = time.perf_counter()
        describe_s = 0.0
        batches = fleet_descriptions(fleet)
        while True:
            t = time.perf_counter()
            batch = next(batches, None)
            describe_s += time.perf_counter() - t
            if batch is None:
                break
            kg.add(batch, validate_shapes=not args.no_validate)
        load_s = time.perf_counter() - t0
        load_after = loadavg()
        triples = kg.count_triples()
        artifacts = sum(len(m.reports) for m in fleet.models)
        print(f"loaded {args.devices} devices, {args.models} models ({artifacts} artifacts), {triples} triples "
              f"in {load_s:.1f} s (describe {describe_s:.1f} s, validate+write {load_s - describe_s:.1f} s)")

        rng = random.Random(1)
        devs = [d.ident for d in rng.sample(fleet.devices, args.queries)]
        models = [m.ident for m in rng.sample(fleet.models, max(1, args.queries // 4))]
        match_device(kg.store, devs[0])  # warm-up
        it = iter(devs * 2)
        training_q = queries.load("match-training")
        it2 = iter(devs * 2)
        it3 = iter(models * 2)
        query_load = loadavg()
        paired: dict[str, list[float]] = {"match_device_by_query": [], "match_device_paired": [],
                                          "match_model_by_query": [], "match_model_paired": []}
        for kind, ids, fast, ref in (("device", devs[:max(1, len(devs) // 10)], match_device, match_device_by_query),
                                     ("model", models[:max(1, len(models) // 5)], match_model, match_model_by_query)):
            for ident in ids:  # interleaved, so that both see the same load
                paired[f"match_{kind}_by_query"] += timed(lambda: ref(kg.store, ident), 1)  # noqa: B023
                paired[f"match_{kind}_paired"] += timed(lambda: fast(kg.store, ident), 1)  # noqa: B023
        results = {
            **{k: percentiles(v) for k, v in paired.items()},
            "match_device": percentiles(timed(lambda: match_device(kg.store, next(it)), len(devs))),
            "match_training_query": percentiles(timed(
                lambda: kg.store.select(queries.bind(training_q, device=device_iri(next(it2)))), len(devs))),
            "match_model": percentiles(timed(lambda: match_model(kg.store, next(it3)), len(models))),
            "stale": percentiles(timed(lambda: stale(kg.store), 3)),
        }
        query_load = round((query_load + loadavg()) / 2, 2)
        small = generate_fleet(list_boards(), max(1, int(args.devices * args.baseline_fraction)),
                               max(1, int(args.models * args.baseline_fraction)), seed=0)
        base_load = loadavg()
        baseline = {"devices": len(small.devices), "models": len(small.models),
                    "straightforward_s": round(load_seconds(small, Path(tmp) / "b1", add_straightforward), 2),
                    "current_s": round(load_seconds(small, Path(tmp) / "b2", lambda k, b: k.add(b)), 2)}
        baseline["current_vs_straightforward"] = round(baseline["current_s"] / baseline["straightforward_s"], 3)
        baseline["load_avg_1min"] = round((base_load + loadavg()) / 2, 2)
        answers = {"mean_training_matches_per_device": round(statistics.mean(
            len(match_device(kg.store, d)["training"]) for d in devs[:20]), 1),
            "stale_devices": len(stale(kg.store))}
    for k, v in results.items():
        print(f"{k:<22} p50 {v['p50_ms']:>9.2f} ms   p95 {v['p95_ms']:>9.2f} ms   (n={v['n']})")
    print(answers)
    ratios = {f"match_{k}_vs_by_query_p50": round(results[f"match_{k}_paired"]["p50_ms"]
                                                  / results[f"match_{k}_by_query"]["p50_ms"], 3)
              for k in ("device", "model")}
    print(f"load of a {args.baseline_fraction:.0%} fleet: straightforward {baseline['straightforward_s']} s, "
          f"current {baseline['current_s']} s ({baseline['current_vs_straightforward']}x); query ratios {ratios}; "
          f"load average: loading {load_before}->{load_after}, queries {query_load}")
    out = {"machine": machine_info(), "devices": args.devices, "models": args.models, "artifacts": artifacts,
           "triples": triples, "validated": not args.no_validate, "load_s": round(load_s, 2),
           "describe_s": round(describe_s, 2), "load_avg_1min": {"loading": [load_before, load_after],
                                                                 "queries": query_load},
           "queries": results, "ratios": ratios, "load_baseline": baseline, "answers": answers,
           "target": "match p50 <= 100 ms on the embedded store; loading <= 10 s"}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
