"""Which models fit a device (for inference, for training with which scheme), which devices fit a
model, and which devices run a stale model.

A model fits for training when an artifact's peak_sram_bytes <= the board's SRAM and its
flash_bytes <= the board's flash, unless the artifact is inference only (scheme none); for
inference, inference_peak_sram_bytes instead of the peak.
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


def _is_fp32(store: Store, model_iri_: str) -> bool:
    return store.ask(queries.bind(queries.load("model-is-fp32"), model=model_iri_))


def _positive(value: Any) -> bool:
    """SPARQL's `?value > 0`: true for a number above zero; a boolean or a string is no number."""
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _device_result(device: str, board: dict[str, Any], rows: list[dict[str, Any]], store: Store) -> dict[str, Any]:
    inference = sorted({local_id(r["model"]) for r in rows if r["inference"]})
    training = sorted(({"model": local_id(r["model"]), "scheme": r["scheme"]} for r in rows if r["training"]),
                      key=lambda d: (d["model"], d["scheme"]))
    fp32 = sorted(_fp32(store).intersection(inference)) if not board["hasFPU"] else []
    return {"device": device, "board": local_id(board["board"]), "inference": inference, "training": training,
            "warnings": _board_warnings(board, fp32)}


def match_device_by_query(store: Store, device: str) -> dict[str, Any]:
    """match_device as one straightforward query (match-device.rq): the reference for the fast path."""
    iri = device_iri(device)
    boards = store.select(queries.bind(queries.load("board-of-device"), device=iri))
    if not boards:
        raise TteError(f"unknown device '{device}'")
    rows = store.select(queries.bind(queries.load("match-device"), device=iri))
    return _device_result(device, boards[0], rows, store)


def match_device(store: Store, device: str) -> dict[str, Any]:
    """{"device", "board", "inference": [model ids], "training": [{"model", "scheme"}], "warnings"}.

    The board's SRAM and flash are read first and written into the artifact scan as constants,
    and the modality filter is left out for a device that declares no sensors; a description
    outside what that needs (two boards, a figure that is not an integer) takes the
    straightforward query instead."""
    iri = device_iri(device)
    profile = store.select(queries.bind(queries.load("device-profile"), device=iri))
    if not profile:
        raise TteError(f"unknown device '{device}'")
    boards = {tuple(sorted((k, v) for k, v in r.items() if k != "sensors")) for r in profile}
    board = profile[0]
    if len(boards) != 1 or not all(isinstance(board[k], int) and not isinstance(board[k], bool)
                                   for k in ("sram", "flash")):
        return match_device_by_query(store, device)
    modality = ""
    if any(_positive(r.get("sensors")) for r in profile):
        modality = (f"FILTER NOT EXISTS {{ ?model tte:inputModality ?modality . "
                    f"FILTER NOT EXISTS {{ <{iri}> tte:sensorKind ?modality }} }}")
    query = (queries.load("match-device-fast").replace("$SRAM", str(board["sram"]))
             .replace("$FLASH", str(board["flash"])).replace("$MODALITY", modality))
    return _device_result(device, board, store.select(query), store)


def _model_result(model: str, inference: set[str], training: list[dict[str, str]], used: set[str],
                  store: Store) -> dict[str, Any]:
    fp32 = [model] if _is_fp32(store, model_iri(model)) else []
    warnings = [w for b in store.select(queries.load("boards")) if b["board"] in used
                for w in _board_warnings(b, fp32)]
    return {"model": model, "inference": sorted(inference), "training": training, "warnings": warnings}


def match_model_by_query(store: Store, model: str) -> dict[str, Any]:
    """match_model as two straightforward queries (match-model-*.rq): the reference for the fast path."""
    iri = model_iri(model)
    _exists(store, iri, str(TTE.Model), "model", model)
    inf_rows = store.select(queries.bind(queries.load("match-model-inference"), model=iri))
    tr_rows = store.select(queries.bind(queries.load("match-model-training"), model=iri))
    training = sorted(({"device": local_id(r["device"]), "scheme": r["scheme"]} for r in tr_rows),
                      key=lambda d: (d["device"], d["scheme"]))
    used = {r["board"] for r in inf_rows} | {r["board"] for r in tr_rows}
    return _model_result(model, {local_id(r["device"]) for r in inf_rows}, training, used, store)


def _iri_list(text: str | None) -> set[str]:
    """The device IRIs of a GROUP_CONCAT (IRIs hold no spaces)."""
    return set(text.split(" ")) - {""} if text else set()


def match_model(store: Store, model: str) -> dict[str, Any]:
    """{"model", "inference": [device ids], "training": [{"device", "scheme"}], "warnings"}.

    The boards that the model's artifacts fit are found first (a handful of rows); their devices
    come back as one string per board, and the modality rule is applied as set arithmetic on
    two more such lists (devices with sensors, devices with a sensor of the model's input
    modality): no per-device filter in the query, no row per device."""
    iri = model_iri(model)
    _exists(store, iri, str(TTE.Model), "model", model)
    fits = store.select(queries.bind(queries.load("model-board-fit"), model=iri))
    boards = sorted({r["board"] for r in fits})
    if not boards:
        return _model_result(model, set(), [], set(), store)
    values = " ".join(f"<{b}>" for b in boards)
    on_board = {r["board"]: _iri_list(r.get("devices")) for r in store.select(
        queries.load("devices-on-boards").replace("$BOARDS", values))}
    kinds = store.select(queries.bind(queries.load("devices-with-modality"), model=iri))
    if kinds:  # a device with sensors must have one of each modality the model names
        with_all = set.intersection(*(_iri_list(r.get("devices")) for r in kinds))
        refused = _iri_list(store.select(queries.load("devices-with-sensors"))[0].get("devices")) - with_all
        on_board = {b: ds - refused for b, ds in on_board.items()}
    inference: set[str] = set()
    schemes: dict[str, set[str]] = {}
    for r in fits:
        if r["inference"]:
            inference |= on_board.get(r["board"], set())
        if r["training"]:
            schemes.setdefault(r["board"], set()).add(r["scheme"])
    training = sorted(({"device": local_id(d), "scheme": s} for b, ss in schemes.items()
                       for d in on_board.get(b, ()) for s in ss), key=lambda d: (d["device"], d["scheme"]))
    used = {b for b, ds in on_board.items() if ds}  # every board listed fits for inference or training
    return _model_result(model, {local_id(d) for d in inference}, training, used, store)


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
