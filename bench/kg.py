"""Knowledge-graph benchmark: load a generated fleet into the embedded Oxigraph store and time the
match/stale queries (p50/p95), as `tte kg` runs them.

Fleet: 10,000 devices over the boards in boards/ and 1,000 model variants with 1-3 compiled
artifacts each (semantic/synthetic.py). Loading validates every batch with the SHACL shapes,
as `tte kg add-*` does.

Usage: python bench/kg.py [--devices 10000] [--models 1000] [--queries 200] [--no-validate]
"""

from __future__ import annotations

import argparse
import json
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

from semantic import queries  # noqa: E402
from semantic.kg import KnowledgeGraph  # noqa: E402
from semantic.match import match_device, match_model, stale  # noqa: E402
from semantic.store import LocalStore  # noqa: E402
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=10_000)
    ap.add_argument("--models", type=int, default=1_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--no-validate", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "kg.json"))
    args = ap.parse_args()

    fleet = generate_fleet(list_boards(), args.devices, args.models, seed=0)
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
        results = {
            "match_device": percentiles(timed(lambda: match_device(kg.store, next(it)), len(devs))),
            "match_training_query": percentiles(timed(
                lambda: kg.store.select(queries.bind(training_q, device=device_iri(next(it2)))), len(devs))),
            "match_model": percentiles(timed(lambda: match_model(kg.store, next(it3)), len(models))),
            "stale": percentiles(timed(lambda: stale(kg.store), 3)),
        }
        answers = {"mean_training_matches_per_device": round(statistics.mean(
            len(match_device(kg.store, d)["training"]) for d in devs[:20]), 1),
            "stale_devices": len(stale(kg.store))}
    for k, v in results.items():
        print(f"{k:<22} p50 {v['p50_ms']:>9.2f} ms   p95 {v['p95_ms']:>9.2f} ms   (n={v['n']})")
    print(answers)
    out = {"machine": machine_info(), "devices": args.devices, "models": args.models, "artifacts": artifacts,
           "triples": triples, "validated": not args.no_validate, "load_s": round(load_s, 2),
           "describe_s": round(describe_s, 2), "queries": results, "answers": answers,
           "target": "match p50 < 100 ms on the embedded store"}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
