"""Which devices a deployment goes to: `all` (every device whose retained state is online; with the
package's input modality, those whose sensors fit it) or a SPARQL SELECT over the knowledge graph whose
first variable names devices (IRIs or ids); and which devices a federated round may select (those
online in the graph)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from semantic.store import LocalStore, Store
from tte.errors import TteError


class ReadOnlyStore(LocalStore):
    """An embedded store opened read-only, beside the `tte fleet serve` that writes it."""

    def __init__(self, path: str | Path) -> None:
        import pyoxigraph

        try:
            self._store = pyoxigraph.Store.read_only(str(path))
        except OSError as e:
            raise TteError(f"cannot open knowledge graph store read-only: {e}", file=str(path)) from None
        self.path = path


def select_devices(to: str, online: list[str], store: Store | None, modality: str | None = None) -> list[str]:
    """`all` with a `modality` and a graph: the online devices whose sensors fit that input (match's
    rule), so that a rollout does not count the others' refusals as failures."""
    if to == "all":
        if modality is not None and store is not None:
            fit = set(_graph_devices(store, False, None, modality))
            return sorted(d for d in online if d in fit)
        return sorted(online)
    if store is None:
        raise TteError("a device query needs the knowledge graph: give --store DIR or --endpoint URL")
    try:
        rows = store.select(to)
    except Exception as e:  # the store's own parse or evaluation error, shown to the user
        raise TteError(f"device query failed: {e}") from None
    out: list[str] = []
    for r in rows:
        value: Any = next(iter(r.values()), None) if r else None
        if isinstance(value, str):
            out.append(value.removeprefix("urn:tte:device:"))
    return sorted(dict.fromkeys(out))


def online_in_graph(store: Store, model: str | None = None, modality: str | None = None) -> list[str]:
    """Devices the knowledge graph holds as online (the manager keeps tte:status true from presence):
    with `model`, only those that run it (tte:deployedModel); with `modality`, only those with a sensor
    of that kind or no declared sensors (the rule match applies to a model's input modality)."""
    return _graph_devices(store, True, model, modality)


def _graph_devices(store: Store, online: bool, model: str | None, modality: str | None) -> list[str]:
    from fleet.protocol import check_name

    where = ["?d a tte:Device ; schema:identifier ?id ." + (' ?d tte:status "online" .' if online else "")]
    if model is not None:
        where.append(f"?d tte:deployedModel <urn:tte:model:{check_name('model', model)}> .")
    if modality is not None:
        kind = check_name("modality", modality).lower()
        where.append(f'FILTER(EXISTS {{ ?d tte:sensorKind "{kind}" }} '
                     "|| NOT EXISTS { ?d tte:sensorCount ?n FILTER(?n > 0) })")
    rows = store.select("PREFIX tte: <https://tte.invalid/ns#>\nPREFIX schema: <https://schema.org/>\n"
                        "SELECT DISTINCT ?id WHERE {\n  " + "\n  ".join(where) + "\n}")
    return sorted(str(r["id"]) for r in rows)
