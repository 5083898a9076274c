"""A generated fleet (devices over the real boards, model variants with report.json figures).

Used by the tests and bench/kg.py. Memory figures are drawn around the boards' capacities, with
some exactly at a capacity, so that "fits" is decided by the `<=` edge as well.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from semantic.describe import Description, describe_artifact, describe_board, describe_device, describe_model
from tte.targets.boards import Board

SCHEMES = ("full", "last-k:2", "last-k:4", "bias-only", "paper:mcunet:49kb")
SIGNATURES = (  # (input shape, output shape, dtype)
    ([1, 28, 28, 1], [1, 10], "int8"), ([1, 96, 96, 1], [1, 2], "int8"), ([1, 128, 128, 3], [1, 1000], "int8"),
    ([1, 49, 40, 1], [1, 12], "int8"), ([1, 32, 32, 3], [1, 10], "float32"),
)
SENSORS = ("camera", "microphone", "accelerometer", "temperature", "gyroscope")


@dataclass
class SyntheticModel:
    ident: str
    summary: dict[str, Any]
    created: str
    reports: list[dict[str, Any]] = field(default_factory=list)
    modality: str | None = None


@dataclass
class SyntheticDevice:
    ident: str
    board: str
    sensors: list[str]
    firmware: str
    deployed: str | None


@dataclass
class Fleet:
    boards: list[Board]
    models: list[SyntheticModel]
    devices: list[SyntheticDevice]

    def board(self, name: str) -> Board:
        return next(b for b in self.boards if b.name == name)


def _bytes(rng: random.Random, edges: list[int], lo: int, hi: int) -> int:
    if rng.random() < 0.05:
        return rng.choice(edges)  # exactly a capacity: fits, one more byte would not
    return int(lo * (hi / lo) ** rng.random())


def generate_fleet(boards: list[Board], n_devices: int, n_models: int, seed: int = 0) -> Fleet:
    rng = random.Random(seed)
    srams = sorted({b.sram_bytes for b in boards})
    flashes = sorted({b.flash_bytes for b in boards})
    models = []
    for i in range(n_models):
        shape_in, shape_out, dtype = rng.choice(SIGNATURES)
        n_layers = rng.randint(2, 4)
        nodes = [{"name": f"layer{j}", "op": rng.choice(("conv2d", "depthwise_conv2d", "fully_connected")),
                  "output_shape": shape_out if j == n_layers - 1 else [1, 8, 8, 16], "output_dtype": dtype}
                 for j in range(n_layers)]
        summary = {"name": f"variant{i}", "inputs": [{"name": "input", "dtype": dtype, "shape": shape_in}],
                   "outputs": [{"name": "output", "dtype": dtype, "shape": shape_out}], "nodes": nodes,
                   "macs": rng.randint(10**5, 10**8), "params": rng.randint(10**3, 10**6)}
        day = rng.randint(1, 28)
        created = f"2025-{rng.randint(1, 12):02d}-{day:02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z"
        m = SyntheticModel(f"m{i:05d}", summary, created)
        for scheme in rng.sample(SCHEMES, rng.randint(1, 3)):
            inference = _bytes(rng, srams, 16 * 1024, 700 * 1024)
            peak = inference + _bytes(rng, [0], 1024, 300 * 1024)
            if rng.random() < 0.05:
                peak = rng.choice(srams)
                inference = min(inference, peak)
            board = rng.choice(boards)
            flash = _bytes(rng, flashes, 64 * 1024, 3 * 1024 * 1024)
            m.reports.append({
                "scheme": scheme, "board": board.name, "precision": "fp32" if dtype == "float32" else "int8",
                "qas": dtype != "float32", "peak_sram_bytes": peak, "inference_peak_sram_bytes": inference,
                "flash_bytes": flash, "arena_bytes": inference // 2, "trainable_bytes": peak - inference,
                "stack_bytes": 2048, "macs_forward": summary["macs"], "macs_backward": 2 * summary["macs"],
                "fit": peak <= board.sram_bytes and flash <= board.flash_bytes})
        models.append(m)
    devices = []
    for i in range(n_devices):
        b = rng.choice(boards)
        deployed = rng.choice(models).ident if models and rng.random() < 0.8 else None
        devices.append(SyntheticDevice(f"dev{i:06d}", b.name, rng.sample(SENSORS, rng.randint(0, 2)),
                                       f"1.{rng.randint(0, 9)}.0", deployed))
    modalities = random.Random(seed + 1)  # its own stream: the figures above stay those of earlier runs
    for m in models:
        m.modality = modalities.choice((None, *SENSORS))
    return Fleet(list(boards), models, devices)


def fleet_descriptions(fleet: Fleet) -> Iterator[list[Description]]:
    """Batches in dependency order: boards, then each model with its artifacts, then devices."""
    yield [describe_board(b) for b in fleet.boards]
    batch: list[Description] = []
    for m in fleet.models:
        batch += describe_model(m.ident, m.summary, m.reports[0], m.created, m.modality)
        batch += [describe_artifact(m.ident, r) for r in m.reports[1:]]
        if len(batch) > 2000:
            yield batch
            batch = []
    if batch:
        yield batch
    batch = []
    for d in fleet.devices:
        batch.append(describe_device(d.ident, d.board, d.sensors, d.firmware, d.deployed))
        if len(batch) >= 2000:
            yield batch
            batch = []
    if batch:
        yield batch
