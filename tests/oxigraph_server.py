"""The Oxigraph server (`oxigraph serve`, from the pinned oxigraph package) as a SPARQL 1.1
endpoint for tests: a real server process on loopback, its store in a temporary folder."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

OXIGRAPH = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def oxigraph_server(location: Path) -> Iterator[str]:
    """The query URL (`.../query`; updates go to `.../update`) of a server over `location`, with the
    union of the named graphs as its default graph, as `semantic.store` expects."""
    if not Path(OXIGRAPH).exists():
        pytest.skip("the Oxigraph server binary is missing (pip install oxigraph==0.5.13)")
    port = _free_port()
    proc = subprocess.Popen([OXIGRAPH, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}",
                             "--union-default-graph"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"oxigraph serve exited: {proc.stderr.read().decode() if proc.stderr else ''}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("oxigraph serve did not listen within 20 s") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/query"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stderr:
            proc.stderr.close()
