"""`tte scheme search MODEL --data D --budget-kb N [--board B] -o scheme.toml`: find what to train.

Contribution analysis on the user's data (tte.training.contribution), then an evolutionary
search under the compiler's peak SRAM (tte.training.scheme_search) that fine-tunes a few
distinct candidates along the way, refits its gain model to them and chooses the best measured
(parts do not add up exactly); the table shows measured next to predicted gains. The scheme
is written in the .toml format `--scheme FILE` reads; `tte compile --scheme auto --data D` runs
the same search (``search_for_budget``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import numpy as np

from tte.cli.util import user_errors
from tte.errors import TteError
from tte.ir import Graph
from tte.training.sparse import UpdateScheme

HEADER = "written by tte scheme search"
CALIBRATION_SAMPLES = 500


def is_search_toml(path: Path) -> bool:
    """A scheme file this command wrote (its first line says so)."""
    try:
        with path.open(encoding="utf-8") as f:
            return f.readline().startswith(f"# {HEADER}")
    except (OSError, UnicodeDecodeError):
        return False


def load_model_and_data(model: str, data: str, *, calibration: str | None = None,
                        input_scale: float = 1.0, seed: int = 0) -> tuple[Graph, np.ndarray, np.ndarray]:
    """The int8 graph (quantized with the data if float) and the labelled training data."""
    import tte
    from tte.training.user_data import ModelInput, load_data

    g = tte.load(model)
    if len(g.inputs) != 1:
        raise TteError(f"scheme search supports single-input models; '{model}' has {len(g.inputs)}")
    inp = ModelInput.of_graph(g)
    train = load_data(data, inp, split="train", input_scale=input_scale)
    assert train.y is not None
    if not g.is_quantized:
        cx = train.x if calibration is None else load_data(calibration, inp, labels=False,
                                                           input_scale=input_scale).x
        cx = cx[np.random.default_rng(seed).permutation(len(cx))[:CALIBRATION_SAMPLES]]
        g = tte.quantize(g, calibration=cx)
    return g, train.x, train.y


def search_for_budget(graph: Graph, x: np.ndarray, y: np.ndarray, budget_bytes: int, *,
                      board: str = "stm32f746g-disco", seed: int = 0, evaluations: int = 200, measure: int = 3,
                      steps: int = 2000, lr: float = 0.02, val_samples: int = 250, repeats: int = 1,
                      progress: bool = True) -> tuple[UpdateScheme, dict[str, Any]]:
    """The best fitting scheme (the best of the ``measure`` candidates the search fine-tuned; with
    ``measure`` 0 the best predicted) and the search's table (JSON-ready)."""
    from tte.training.contribution import ContributionSettings, GainMeter, analyze_contributions
    from tte.training.scheme_search import SchemeSearch

    if budget_bytes <= 0:
        raise TteError(f"--budget-kb must be positive, got {budget_bytes / 1024:g}")
    settings = ContributionSettings(steps=steps, lr=lr, val_samples=min(val_samples, max(1, len(x) // 5)),
                                    repeats=repeats)
    contrib = analyze_contributions(graph, x, y, seed=seed, settings=settings, progress=progress)
    search = SchemeSearch(graph, contrib, budget_bytes, board=board)
    meter = GainMeter(graph, x, y, contrib, seed=seed, settings=settings)
    result = search.evolutionary(evaluations, seed=seed, measure=lambda g: meter.gain(g.scheme()), count=measure)
    if result.best is None:
        smallest = min(search.memory.cache.values())
        raise TteError(f"no update scheme fits {budget_bytes / 1024:g} KB: the smallest analysed needs "
                       f"{smallest / 1024:.1f} KB (raise --budget-kb)")
    last_k = search.last_k().best
    rows = [{"rank": i + 1, **cand.to_json()} for i, cand in enumerate(result.top)]
    best = result.best.genome.scheme(name=f"searched-{budget_bytes // 1024}kb")
    table = {"budget_bytes": budget_bytes, "board": search.memory.board.name, "seed": seed,
             "evaluations": result.evaluations, "measured": result.measured, "ceiling": result.ceiling,
             "memory": "tte.compiler.analysis peak_sram_bytes",
             "gain_over": "classifier-only (validation accuracy)", "classifier_only_accuracy": contrib.bias_acc[0],
             "bias_only_accuracy": contrib.baseline, "contribution_runs": contrib.runs,
             "contribution_settings": contrib.settings, "best": result.best.to_json(), "candidates": rows,
             "last_k": last_k.to_json() if last_k else None}
    return best, table


@click.group("scheme")
def scheme_group() -> None:
    """Sparse-update schemes: search one for a model, data and memory budget."""


@scheme_group.command("search")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--data", "data_name", required=True,
              help="Labelled training data: .npz with x and y, .csv, an image folder, or a data set name.")
@click.option("--budget-kb", type=float, required=True, help="Peak SRAM budget of a training step, in KB.")
@click.option("--board", default="stm32f746g-disco", show_default=True, help="Board name or boards/*.toml file.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The .toml scheme to write.")
@click.option("--force", is_flag=True, help="Replace a scheme file this command wrote earlier.")
@click.option("--evaluations", default=200, show_default=True, help="Candidates the search analyses.")
@click.option("--steps", default=2000, show_default=True,
              help="SGD steps (one sample each, as on the board) per contribution run.")
@click.option("--lr", default=0.02, show_default=True, type=float)
@click.option("--val-samples", default=250, show_default=True, help="Held-out samples that score each run.")
@click.option("--repeats", default=1, show_default=True,
              help="Training orders each contribution run is averaged over (less noise, that many times the time).")
@click.option("--measure", default=3, show_default=True,
              help="Candidates fine-tuned during the search to measure their gain; the best measured is chosen.")
@click.option("--calibration", default=None, help="Calibration data for a float MODEL (default: --data).")
@click.option("--input-scale", default=1.0, show_default=True, type=float,
              help="Multiply every input by this (255 for a model trained on 0..255 pixels).")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the search's table as JSON.")
@user_errors
def search_command(model: str, data_name: str, budget_kb: float, board: str, output: str, force: bool,
                   evaluations: int, steps: int, lr: float, val_samples: int, repeats: int, measure: int,
                   calibration: str | None,
                   input_scale: float, seed: int, as_json: bool) -> None:
    """Search the sparse-update scheme of MODEL that gains most on DATA within --budget-kb."""
    from tte.outputs import check_output_file, write_file_atomically
    from tte.targets.boards import get_board
    from tte.training.scheme_search import scheme_toml

    if Path(output).suffix != ".toml":
        raise TteError("scheme search writes a .toml scheme file", file=output)
    check_output_file(output, force=force, ours=is_search_toml)
    if evaluations < 1 or steps < 1 or repeats < 1 or measure < 0:
        raise TteError("--evaluations, --steps and --repeats must be at least 1, --measure at least 0")
    get_board(board)
    g, x, y = load_model_and_data(model, data_name, calibration=calibration, input_scale=input_scale, seed=seed)
    scheme, table = search_for_budget(g, x, y, int(budget_kb * 1024), board=board, seed=seed,
                                      evaluations=evaluations, measure=measure, steps=steps, lr=lr,
                                      val_samples=val_samples, repeats=repeats, progress=not as_json)
    best = table["best"]
    measured = "" if best["measured_gain"] is None else f", measured {best['measured_gain'] * 100:+.1f}"
    header = (f"{HEADER} for {Path(model).name} on {data_name}, budget {budget_kb:g} KB on {table['board']}\n"
              f"peak SRAM {best['peak_sram_bytes']:,} B (the compiler's plan), predicted gain "
              f"{best['predicted_gain'] * 100:+.1f}{measured} points over classifier-only")
    write_file_atomically(output, scheme_toml(scheme, header).encode())
    table["output"] = output
    if as_json:
        click.echo(json.dumps(table, indent=2))
        return
    click.echo(f"{'#':>2} {'peak SRAM':>11} {'predicted':>9} {'measured':>9}  scheme")
    for row in table["candidates"]:
        measured = "" if row["measured_gain"] is None else f"{row['measured_gain'] * 100:+8.1f}"
        click.echo(f"{row['rank']:>2} {row['peak_sram_bytes']:>9,} B {row['predicted_gain'] * 100:>+9.1f} "
                   f"{measured:>9}  {row['describe']}")
    if table["last_k"]:
        lk = table["last_k"]
        click.echo(f"largest last-k that fits: {lk['peak_sram_bytes']:,} B, predicted "
                   f"{lk['predicted_gain'] * 100:+.1f}  ({lk['describe']})")
    click.echo(f"wrote {output} (peak SRAM {best['peak_sram_bytes']:,} B of {budget_kb:g} KB)")


COMMANDS = [scheme_group]
