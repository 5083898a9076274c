"""What every `tte` subcommand shares: user errors become one line and exit status 2."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click
import numpy as np

from tte.errors import TteError
from tte.ir import Graph

EXIT_USER_ERROR = 2


def user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn TteError into `tte: error: ...` on stderr and exit status 2, no traceback."""
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TteError as e:
            click.echo(f"tte: error: {e}", err=True)
            sys.exit(EXIT_USER_ERROR)
    return wrapper


def load_calibration(spec: str, limit: int, graph: Graph, input_scale: float = 1.0) -> np.ndarray:
    """Calibration inputs for ``graph`` in its source layout: the user's data (.npz, .npy, .csv,
    an image folder) or a built-in data set name (`fashion-mnist`), checked before use."""
    from tte.training.user_data import ModelInput, load_data

    return load_data(spec, ModelInput.of_graph(graph), labels=False, input_scale=input_scale).x[:limit]
