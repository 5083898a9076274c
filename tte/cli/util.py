"""What every `tte` subcommand shares: user errors become one line and exit status 2."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click
import numpy as np

from tte.errors import TteError

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


def load_calibration(spec: str, limit: int) -> np.ndarray:
    """A calibration set: a data set name (`fashion-mnist`) or an .npy file of inputs."""
    p = Path(spec)
    if p.suffix == ".npy":
        if not p.is_file():
            raise TteError("no such calibration file", file=spec)
        try:
            arr = np.load(p, allow_pickle=False)
        except (ValueError, OSError) as e:
            raise TteError(f"cannot read calibration array: {e}", file=spec) from None
        return np.asarray(arr, np.float32)[:limit]
    from tte.training.data import load_dataset
    xs, _ = load_dataset(spec, "train")
    return xs[:limit]
