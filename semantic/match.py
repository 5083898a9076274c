"""Which models fit a device (for inference, for training with which scheme), which devices fit a
model, and which devices run a stale model.

A model fits for training when an artifact's peak_sram_bytes <= the board's SRAM and its
flash_bytes <= the board's flash; for inference, inference_peak_sram_bytes instead of the peak.
A model that names its input modality (tte:inputModality, e.g. camera) fits only devices with a
sensor of that name, or that declare no sensors at all (the rule the fleet's device agent applies
before it accepts a package): an image model does not fit an accelerometer-only device.
Missing FPU or DSP extension come back as warnings, never as filters.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from semantic import queries
from semantic.store import Store
from semantic.vocab import TTE, device_iri, local_id, model_iri
from tte.errors import TteError


def _exists(store: Store, iri: str, cls: str, kind: str, ident: str) -> None:
    if not store.ask(f"ASK {{ <{iri}> a <{cls}> }}"):
        raise TteError(f"unknown {kind} '{ident}'")


def _board_warnings(board: dict[str, Any], fp32_models: list[str]) -> list[str]:
    name = local_id(board["board"])
    out = []
    if not board["hasDSP"]:
        out.append(f"board {name} has no DSP extension: int8 kernels take the portable C path (slower)")
    if not board["hasFPU"] and fp32_models:
        out.append(f"board {name} has no FPU: fp32 models run in software floating point "
                   f"({', '.join(fp32_models[:5])}{', ...' if len(fp32_models) > 5 else ''})")
    return out


def _fp32(store: Store) -> set[str]:
    return {local_id(r["model"]) for r in store.select(queries.load("fp32-models"))}


def match_device(store: Store, device: str) -> dict[str, Any]:
    """{"device", "board", "inference": [model ids], "training": [{"model", "scheme"}], "warnings"}."""
    iri = device_iri(device)
    boards = store.select(queries.bind(queries.load("board-of-device"), device=iri))
    if not boards:
        raise TteError(f"unknown device '{device}'")
    board = boards[0]
    rows = store.select(queries.bind(queries.load("match-device"), device=iri))
    inference = sorted({local_id(r["model"]) for r in rows if r["inference"]})
    training = sorted(({"model": local_id(r["model"]), "scheme": r["scheme"]} for r in rows if r["training"]),
                      key=lambda d: (d["model"], d["scheme"]))
    fp32 = sorted(_fp32(store).intersection(inference)) if not board["hasFPU"] else []
    return {"device": device, "board": local_id(board["board"]), "inference": inference, "training": training,
            "warnings": _board_warnings(board, fp32)}


def match_model(store: Store, model: str) -> dict[str, Any]:
    """{"model", "inference": [device ids], "training": [{"device", "scheme"}], "warnings"}."""
    iri = model_iri(model)
    _exists(store, iri, str(TTE.Model), "model", model)
    inf_rows = store.select(queries.bind(queries.load("match-model-inference"), model=iri))
    tr_rows = store.select(queries.bind(queries.load("match-model-training"), model=iri))
    inference = sorted({local_id(r["device"]) for r in inf_rows})
    training = sorted(({"device": local_id(r["device"]), "scheme": r["scheme"]} for r in tr_rows),
                      key=lambda d: (d["device"], d["scheme"]))
    used = {r["board"] for r in inf_rows} | {r["board"] for r in tr_rows}
    fp32 = [model] if model in _fp32(store) else []
    warnings = [w for b in store.select(queries.load("boards")) if b["board"] in used
                for w in _board_warnings(b, fp32)]
    return {"model": model, "inference": inference, "training": training, "warnings": warnings}


def _instant(created: str) -> datetime:
    """An xsd:dateTime as an instant; a value without a zone counts as UTC."""
    t = datetime.fromisoformat(created)
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _later(row: dict[str, Any], than: dict[str, Any]) -> bool:
    """Whether `row` names the better newest model: created later, or as late with a lower id."""
    a, b = _instant(row["newest_created"]), _instant(than["newest_created"])
    return a > b or (a == b and row["newest"] < than["newest"])


def stale(store: Store) -> list[dict[str, Any]]:
    """Devices whose deployed model has a newer compatible model (the same signature, fits the
    board, its input modality among the device's sensors); the newest (ties: lowest id)."""
    best: dict[str, dict[str, Any]] = {}
    for r in store.select(queries.load("stale")):
        device = local_id(r["device"])
        row = {"device": device, "deployed": local_id(r["deployed"]), "deployed_created": r["deployedCreated"],
               "newest": local_id(r["newest"]), "newest_created": r["newestCreated"]}
        old = best.get(device)
        if old is None or _later(row, old):
            best[device] = row
    return [best[d] for d in sorted(best)]
