"""SPARQL match/stale on a generated fleet equal a brute-force Python computation on the same data."""

from __future__ import annotations

import os
import random
import time
from typing import Any

import pytest

from semantic.kg import KnowledgeGraph
from semantic.match import match_device, match_model, stale
from semantic.store import LocalStore
from semantic.synthetic import Fleet, fleet_descriptions, generate_fleet
from tte.targets.boards import list_boards

N_DEVICES = int(os.environ.get("TTE_KG_TEST_DEVICES", "10000"))
N_MODELS = int(os.environ.get("TTE_KG_TEST_MODELS", "1000"))


# --- the oracle: plain Python over the generator's own records (no RDF) ----------------------

def sensor_fits(m: Any, d: Any) -> bool:
    """The model's input modality is a sensor of the device, or either side says nothing."""
    return m.modality is None or not d.sensors or m.modality in d.sensors


def brute_device(fleet: Fleet, device_id: str) -> dict[str, Any]:
    dev = next(d for d in fleet.devices if d.ident == device_id)
    b = fleet.board(dev.board)
    inference, training = set(), set()
    for m in fleet.models:
        if not sensor_fits(m, dev):
            continue
        for r in m.reports:
            if r["flash_bytes"] <= b.flash_bytes:
                if r["inference_peak_sram_bytes"] <= b.sram_bytes:
                    inference.add(m.ident)
                if r["peak_sram_bytes"] <= b.sram_bytes:
                    training.add((m.ident, r["scheme"]))
    return {"inference": sorted(inference), "training": [{"model": m, "scheme": s} for m, s in sorted(training)]}


def brute_model(fleet: Fleet, model_id: str) -> dict[str, Any]:
    m = next(x for x in fleet.models if x.ident == model_id)
    inference, training = set(), set()
    for d in fleet.devices:
        b = fleet.board(d.board)
        if not sensor_fits(m, d):
            continue
        for r in m.reports:
            if r["flash_bytes"] <= b.flash_bytes:
                if r["inference_peak_sram_bytes"] <= b.sram_bytes:
                    inference.add(d.ident)
                if r["peak_sram_bytes"] <= b.sram_bytes:
                    training.add((d.ident, r["scheme"]))
    return {"inference": sorted(inference), "training": [{"device": d, "scheme": s} for d, s in sorted(training)]}


def brute_stale(fleet: Fleet) -> list[tuple[str, str, str]]:
    models = {m.ident: m for m in fleet.models}

    def sig(m: Any) -> tuple[Any, ...]:
        return tuple((d["dtype"], tuple(d["shape"])) for d in m.summary["inputs"] + m.summary["outputs"])

    out = []
    for d in fleet.devices:
        if d.deployed is None:
            continue
        b = fleet.board(d.board)
        dep = models[d.deployed]
        newer = [m for m in fleet.models if sig(m) == sig(dep) and m.created > dep.created and sensor_fits(m, d)
                 and any(r["inference_peak_sram_bytes"] <= b.sram_bytes and r["flash_bytes"] <= b.flash_bytes
                         for r in m.reports)]
        if newer:
            latest = max(m.created for m in newer)
            out.append((d.ident, dep.ident, min(m.ident for m in newer if m.created == latest)))
    return sorted(out)


@pytest.fixture(scope="module")
def fleet_kg(tmp_path_factory: pytest.TempPathFactory) -> tuple[Fleet, KnowledgeGraph, float]:
    fleet = generate_fleet(list_boards(), N_DEVICES, N_MODELS, seed=7)
    kg = KnowledgeGraph(LocalStore(tmp_path_factory.mktemp("kg")))
    t = time.perf_counter()
    for batch in fleet_descriptions(fleet):
        kg.add(batch, validate_shapes=False)  # validation has its own tests; this one is about the queries
    return fleet, kg, time.perf_counter() - t


def test_fleet_is_nontrivial(fleet_kg: tuple[Fleet, KnowledgeGraph, float]) -> None:
    fleet, _, _ = fleet_kg
    # every board gets devices, and the memory figures straddle every board's capacities
    assert {d.board for d in fleet.devices} == {b.name for b in fleet.boards}
    for b in fleet.boards:
        peaks = [r["peak_sram_bytes"] for m in fleet.models for r in m.reports]
        assert any(p <= b.sram_bytes for p in peaks) and any(p > b.sram_bytes for p in peaks)
    assert any(r["peak_sram_bytes"] == b.sram_bytes for m in fleet.models for r in m.reports for b in fleet.boards)
    # models with and without an input modality; devices with and without a matching sensor
    with_modality = [m for m in fleet.models if m.modality]
    assert with_modality and len(with_modality) < len(fleet.models)
    m = with_modality[0]
    assert any(not sensor_fits(m, d) for d in fleet.devices) and any(m.modality in d.sensors for d in fleet.devices)
    assert any(not d.sensors for d in fleet.devices)


def test_match_device_equals_brute_force(fleet_kg: tuple[Fleet, KnowledgeGraph, float]) -> None:
    fleet, kg, _ = fleet_kg
    rng = random.Random(1)
    sample = rng.sample(fleet.devices, 25)
    sample += [next(d for d in fleet.devices if d.board == b.name) for b in fleet.boards]  # every board
    for d in sample:
        got = match_device(kg.store, d.ident)
        want = brute_device(fleet, d.ident)
        assert got["inference"] == want["inference"], d.ident
        assert got["training"] == want["training"], d.ident
        assert got["board"] == d.board


def test_match_model_equals_brute_force(fleet_kg: tuple[Fleet, KnowledgeGraph, float]) -> None:
    fleet, kg, _ = fleet_kg
    rng = random.Random(2)
    for m in rng.sample(fleet.models, 8):
        got = match_model(kg.store, m.ident)
        want = brute_model(fleet, m.ident)
        assert got["inference"] == want["inference"], m.ident
        assert got["training"] == want["training"], m.ident


def test_stale_equals_brute_force(tmp_path: Any) -> None:
    # the stale query compares every deployed model with every model of its signature: a smaller fleet
    fleet = generate_fleet(list_boards(), 600, 150, seed=3)
    kg = KnowledgeGraph(LocalStore(tmp_path / "kg"))
    for batch in fleet_descriptions(fleet):
        kg.add(batch, validate_shapes=False)
    got = [(r["device"], r["deployed"], r["newest"]) for r in stale(kg.store)]
    want = brute_stale(fleet)
    assert len(want) > 50
    assert got == want


def test_all_pairs_queries_equal_brute_force(tmp_path: Any) -> None:
    """match-inference.rq / match-training.rq unbound (as `tte kg query` runs them): every pair."""
    from semantic import queries
    from semantic.vocab import local_id

    fleet = generate_fleet(list_boards(), 60, 40, seed=11)
    kg = KnowledgeGraph(LocalStore(tmp_path / "kg"))
    for batch in fleet_descriptions(fleet):
        kg.add(batch)
    got_inf = {(local_id(r["device"]), local_id(r["model"])) for r in kg.store.select(queries.load("match-inference"))}
    got_tr = {(local_id(r["device"]), local_id(r["model"]), r["scheme"])
              for r in kg.store.select(queries.load("match-training"))}
    want_inf, want_tr = set(), set()
    for d in fleet.devices:
        want = brute_device(fleet, d.ident)
        want_inf |= {(d.ident, m) for m in want["inference"]}
        want_tr |= {(d.ident, t["model"], t["scheme"]) for t in want["training"]}
    assert want_inf and want_tr
    assert got_inf == want_inf and got_tr == want_tr


def test_an_image_model_does_not_fit_an_accelerometer_only_device(tmp_path: Any) -> None:
    from semantic.describe import describe_board, describe_device, describe_model

    fleet = generate_fleet(list_boards(), 0, 1, seed=4)
    m = fleet.models[0]
    report = {**m.reports[0], "peak_sram_bytes": 1024, "inference_peak_sram_bytes": 512, "flash_bytes": 1024}
    kg = KnowledgeGraph(LocalStore(tmp_path / "kg"))
    kg.add([describe_board(b) for b in list_boards()])
    kg.add(describe_model("vision", m.summary, report, m.created, modality="camera")
           + describe_model("anything", m.summary, report, m.created))
    kg.add([describe_device("imu", "rp2040", ["accelerometer"]), describe_device("cam", "rp2040", ["Camera", "gyro"]),
            describe_device("bare", "rp2040")])
    assert match_device(kg.store, "imu")["inference"] == ["anything"]
    assert match_device(kg.store, "cam")["inference"] == ["anything", "vision"]
    assert match_device(kg.store, "bare")["inference"] == ["anything", "vision"]  # no sensors declared
    assert match_model(kg.store, "vision")["inference"] == ["bare", "cam"]
    assert [t["device"] for t in match_model(kg.store, "vision")["training"]] == ["bare", "cam"]
    assert match_model(kg.store, "anything")["inference"] == ["bare", "cam", "imu"]


def test_fast_paths_equal_the_straightforward_queries(tmp_path: Any) -> None:
    """match_device/match_model (board figures as constants, devices as one string per board, the
    modality rule as set arithmetic) answer exactly as the straightforward queries, warnings
    included, on a random fleet with some devices described by hand: no sensor count (written
    before devices had one), a sensor count of zero with a sensor kind, and a second board."""
    from rdflib import Literal, URIRef

    from semantic.describe import describe_device
    from semantic.match import match_device_by_query, match_model_by_query
    from semantic.vocab import TTE, board_iri

    fleet = generate_fleet(list_boards(), 400, 120, seed=21)
    kg = KnowledgeGraph(LocalStore(tmp_path / "kg"))
    for batch in fleet_descriptions(fleet):
        kg.add(batch, validate_shapes=False)
    odd = [describe_device(f"odd{i}", fleet.devices[i].board, ["camera", "microphone"][: i % 3]) for i in range(6)]
    odd[0].graph.remove((URIRef(odd[0].name), TTE.sensorCount, None))
    odd[1].graph.remove((URIRef(odd[1].name), TTE.sensorCount, None))
    odd[2].graph.set((URIRef(odd[2].name), TTE.sensorCount, Literal(0)))
    odd[3].graph.add((URIRef(odd[3].name), TTE.onBoard, URIRef(board_iri(fleet.boards[0].name))))
    kg.add(odd, validate_shapes=False)
    rng = random.Random(3)
    devices = [d.ident for d in rng.sample(fleet.devices, 60)] + [f"odd{i}" for i in range(6)]
    for d in devices:
        assert match_device(kg.store, d) == match_device_by_query(kg.store, d), d
    models = [m.ident for m in rng.sample(fleet.models, 40)]
    assert {fleet.models[int(m[1:])].modality is None for m in models} == {True, False}
    for m in models:
        assert match_model(kg.store, m) == match_model_by_query(kg.store, m), m


def test_stale_offers_only_a_model_the_devices_sensors_fit(tmp_path: Any) -> None:
    """A newer image model does not make an accelerometer-only device stale; a newer model without
    a modality, or a device with a camera or no declared sensors, does."""
    from semantic.describe import describe_board, describe_device, describe_model

    m = generate_fleet(list_boards(), 0, 1, seed=4).models[0]
    report = {**m.reports[0], "peak_sram_bytes": 1024, "inference_peak_sram_bytes": 512, "flash_bytes": 1024}
    kg = KnowledgeGraph(LocalStore(tmp_path / "kg"))
    kg.add([describe_board(b) for b in list_boards()])
    kg.add(describe_model("old", m.summary, report, "2025-01-01T00:00:00Z")
           + describe_model("vision", m.summary, report, "2025-03-01T00:00:00Z", modality="camera"))
    kg.add([describe_device("imu", "rp2040", ["accelerometer"], deployed_model="old"),
            describe_device("cam", "rp2040", ["camera"], deployed_model="old"),
            describe_device("bare", "rp2040", deployed_model="old")])
    assert [(r["device"], r["newest"]) for r in stale(kg.store)] == [("bare", "vision"), ("cam", "vision")]
    kg.add(describe_model("motion", m.summary, report, "2025-02-01T00:00:00Z", modality="accelerometer"))
    assert [(r["device"], r["newest"]) for r in stale(kg.store)] == [("bare", "vision"), ("cam", "vision"),
                                                                      ("imu", "motion")]
    kg.add(describe_model("generic", m.summary, report, "2025-04-01T00:00:00+02:00"))
    assert {r["device"]: r["newest"] for r in stale(kg.store)} == {"bare": "generic", "cam": "generic",
                                                                   "imu": "generic"}
