"""`tte fed`: federated meta-learning across simulated devices that train with tte."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import click

from tte.cli.util import user_errors


@click.group()
def fed() -> None:
    """Federated meta-learning (FedAvg, Reptile, TinyReptile, TinyMetaFed) on simulated devices."""


def _choices() -> tuple[list[str], list[str]]:
    from federated.algorithms import ALGORITHMS
    from federated.tasks import TASKS
    return list(TASKS), list(ALGORITHMS)


@fed.command()
@click.option("--task", "task_name", default="sine", show_default=True, type=click.Choice(_choices()[0]))
@click.option("--algo", default="tinyreptile", show_default=True, type=click.Choice(_choices()[1]))
@click.option("--devices", default=10, show_default=True, type=int, help="Training devices.")
@click.option("--rounds", default=50, show_default=True, type=int)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--clients-per-round", default=None, type=int, help="Devices per round (default: the algorithm's).")
@click.option("--meta-lr", default=None, type=float, help="Meta step size beta_0 (default: the algorithm's).")
@click.option("--top-p", default=None, type=click.FloatRange(0.0, 1.0, min_open=True),
              help="Fraction of entries a device sends back (default: the algorithm's; TinyMetaFed 0.25).")
@click.option("--split", default="test", show_default=True, type=click.Choice(["test", "validation"]),
              help="Score on the held-out test devices or on the validation devices.")
@click.option("--heldout", default=None, type=int, help="Evaluate on at most this many held-out devices.")
@click.option("--adapt-lr", default=None, type=click.FloatRange(0.0, min_open=True),
              help="Learning rate of the held-out devices' k-shot adaptation, baseline included "
                   "(default: the task's on-device rate).")
@click.option("--engine", default="ref", show_default=True, type=click.Choice(["ref", "c"]),
              help="tte engine the devices train with.")
@click.option("--transport", default="inprocess", show_default=True, type=click.Choice(["inprocess", "flower"]))
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder holding the data sets (omniglot/, fsdd/); default: ../shared/data.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@user_errors
def run(task_name: str, algo: str, devices: int, rounds: int, seed: int, clients_per_round: int | None,
        meta_lr: float | None, top_p: float | None, split: str, heldout: int | None, adapt_lr: float | None,
        engine: str, transport: str, data_dir: Path | None, as_json: bool) -> None:
    """Meta-train on --devices devices, then adapt k-shot on held-out devices (and from the initial weights)."""
    from tqdm import tqdm

    from federated.experiment import run_experiment

    if data_dir is not None:  # an environment variable, so that Flower's worker processes see it too
        os.environ["TTE_DATA_DIR"] = str(data_dir)

    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s", stream=sys.stderr)
    with tqdm(total=rounds, desc=f"{algo} on {task_name}", unit="round", file=sys.stderr,
              disable=not sys.stderr.isatty()) as bar:
        def on_round(rnd: int, stats: dict[str, float]) -> None:
            bar.set_postfix(loss=f"{stats['loss']:.3g}", excluded=int(stats["excluded"]))
            bar.update(1)

        result = run_experiment(task_name, algo, devices=devices, rounds=rounds, seed=seed, engine=engine,
                                transport=transport, clients_per_round=clients_per_round, n_heldout=heldout,
                                on_round=on_round, split=split, adapt_lr=adapt_lr,
                                strategy_kwargs={k: v for k, v in (("meta_lr", meta_lr), ("top_p", top_p))
                                                 if v is not None})
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    m = result["metric"]
    click.echo(f"{result['task']} / {result['algo']}: {m} after {result['k_shot']}-shot adaptation on "
               f"{result['heldout_devices']} {'validation' if split == 'validation' else 'held-out test'} devices: "
               f"{result['value']:.4g} "
               f"(no meta-learning: {result['baseline_value']:.4g})")
    click.echo(f"per device: {result['bytes_up_per_device']:,.0f} B up, {result['bytes_down_per_device']:,.0f} B down; "
               f"training step SRAM {result['device_memory_bytes']:,} B; {len(result['excluded'])} exclusions; "
               f"{result['wall_s']:.1f} s")
    for board, r in result.get("boards", {}).items():
        code = "" if r["flash_code_bytes"] else " (model data; code not built)"
        click.echo(f"{board}: peak SRAM {r['peak_sram_bytes']:,} B, flash {r['flash_bytes']:,} B{code}")


COMMANDS = [fed]
