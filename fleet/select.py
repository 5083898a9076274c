"""Which devices a deployment goes to: `all` (every device whose retained state is online) or a
SPARQL SELECT over the knowledge graph whose first variable names devices (IRIs or ids)."""

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


def select_devices(to: str, online: list[str], store: Store | None) -> list[str]:
    if to == "all":
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
