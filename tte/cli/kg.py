"""`tte kg ...`: the knowledge graph of boards, devices and compiled models (semantic/)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from tte.cli.util import user_errors

DEFAULT_STORE = ".tte/kg"


def _store(ctx: click.Context) -> Any:
    from semantic.store import open_store

    opts = ctx.obj
    if opts["endpoint"]:
        return open_store(None, opts["endpoint"])
    return open_store(opts["store"] or os.environ.get("TTE_KG_STORE", DEFAULT_STORE))


def _kg(ctx: click.Context) -> Any:
    from semantic.kg import KnowledgeGraph

    return KnowledgeGraph(_store(ctx))


@click.group()
@click.option("--store", "store_dir", default=None, type=click.Path(file_okay=False),
              help=f"Embedded Oxigraph store directory (default: $TTE_KG_STORE or {DEFAULT_STORE}).")
@click.option("--endpoint", default=None, help="SPARQL 1.1 endpoint URL (query + update) instead of --store.")
@click.pass_context
@user_errors
def kg(ctx: click.Context, store_dir: str | None, endpoint: str | None) -> None:
    """Knowledge graph: which model can run and keep training on which device."""
    from tte.errors import TteError

    if store_dir and endpoint:
        raise TteError("give either --store DIR or --endpoint URL, not both")
    ctx.obj = {"store": store_dir, "endpoint": endpoint}


@kg.command("add-board")
@click.argument("board_file", type=click.Path(dir_okay=False))
@click.pass_context
@user_errors
def add_board(ctx: click.Context, board_file: str) -> None:
    """Describe a board from its .toml file (or a known board name)."""
    from semantic.describe import describe_board
    from tte.targets.boards import get_board

    d = describe_board(get_board(board_file))
    _kg(ctx).add([d])
    click.echo(f"added board {d.name}")


@kg.command("add-model")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--report", "report", required=True, type=click.Path(dir_okay=False),
              help="report.json of the compiled model.")
@click.option("--id", "model_id", default=None, help="Model id (default: the file stem).")
@click.option("--modality", default=None,
              help="The sensor its input comes from (camera, microphone, accelerometer, ...): "
                   "`match` offers it only to devices with that sensor.")
@click.pass_context
@user_errors
def add_model(ctx: click.Context, model: str, report: str, model_id: str | None, modality: str | None) -> None:
    """Describe MODEL and its compiled artifact (one update scheme) from report.json."""
    from semantic.describe import describe_model_file

    descs = describe_model_file(model, report, model_id, modality)
    _kg(ctx).add(descs)
    click.echo(f"added model {descs[0].name} ({descs[1].name})")


@kg.command("add-device")
@click.option("--id", "device_id", required=True, help="Device id.")
@click.option("--board", required=True, help="Board name (added before with add-board).")
@click.option("--sensor", "sensors", multiple=True, help="A sensor of the device (repeatable).")
@click.option("--firmware", default=None, help="Firmware version.")
@click.option("--model", "deployed", default=None, help="Id of the model the device runs now.")
@click.option("--replace", is_flag=True, help="Replace the description of a device that is already registered.")
@click.pass_context
@user_errors
def add_device(ctx: click.Context, device_id: str, board: str, sensors: tuple[str, ...], firmware: str | None,
               deployed: str | None, replace: bool) -> None:
    """Register a device: board, sensors, firmware, deployed model."""
    from semantic.describe import describe_device
    from tte.errors import TteError

    d = describe_device(device_id, board, list(sensors), firmware, deployed)
    graph = _kg(ctx)
    if not replace and graph.has_graph(d.name):
        raise TteError(f"device '{device_id}' is already registered; --replace replaces its whole description "
                       "(board, sensors, firmware, model)")
    graph.add([d])
    click.echo(f"{'replaced' if replace else 'added'} device {d.name}")


@kg.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the devices and models as JSON.")
@click.pass_context
@user_errors
def list_(ctx: click.Context, as_json: bool) -> None:
    """The registered devices and models."""
    graph = _kg(ctx)
    devices, models = graph.list_devices(), graph.list_models()
    if as_json:
        click.echo(json.dumps({"devices": devices, "models": models}, indent=2))
        return
    click.echo(f"devices ({len(devices)}):")
    for d in devices:
        extra = [f"sensors {','.join(d['sensors'])}" if d["sensors"] else "", f"firmware {d['firmware']}"
                 if d["firmware"] else "", f"runs {d['model']}" if d["model"] else "", str(d["status"] or "")]
        click.echo(f"  {d['id']}\t{d['board']}\t" + "\t".join(x for x in extra if x))
    click.echo(f"models ({len(models)}):")
    for m in models:
        click.echo(f"  {m['id']}\t{m['created'] or '-'}\tschemes {', '.join(m['schemes']) or '-'}")


@kg.command()
@click.argument("ident", metavar="ID")
@click.option("--device", "kind", flag_value="device", default=None, help="ID is a device.")
@click.option("--model", "kind", flag_value="model", help="ID is a model (with its compiled artifacts).")
@click.pass_context
@user_errors
def remove(ctx: click.Context, ident: str, kind: str | None) -> None:
    """Remove a device or a model (with its compiled artifacts) from the knowledge graph."""
    from tte.errors import TteError

    graph = _kg(ctx)
    if kind is None:
        kinds = graph.kind_of(ident)
        if not kinds:
            raise TteError(f"no device or model '{ident}' in the knowledge graph")
        if len(kinds) > 1:
            raise TteError(f"'{ident}' is both a device and a model; give --device or --model")
        kind = kinds[0]
    names = graph.remove(kind, ident)
    click.echo(f"removed {kind} {ident} ({len(names)} graph{'s' if len(names) != 1 else ''})")


@kg.command()
@click.argument("query_file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
@click.pass_context
@user_errors
def query(ctx: click.Context, query_file: str, as_json: bool) -> None:
    """Run a SPARQL SELECT query (.rq) over the union of all descriptions."""
    from semantic.queries import read_query_file
    from tte.errors import TteError

    text = read_query_file(query_file)
    try:
        rows = _store(ctx).select(text)
    except SyntaxError as e:
        raise TteError(f"invalid SPARQL: {e}", file=query_file) from None
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    cols = sorted({k for r in rows for k in r}, key=lambda k: next((list(r).index(k) for r in rows if k in r), 0))
    click.echo("\t".join(cols))
    for r in rows:
        click.echo("\t".join(str(r.get(c, "")) for c in cols))


@kg.command()
@click.option("--device", default=None, help="Models that fit this device.")
@click.option("--model", default=None, help="Devices that fit this model.")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.pass_context
@user_errors
def match(ctx: click.Context, device: str | None, model: str | None, as_json: bool) -> None:
    """Which models fit a device (inference; training with which scheme), or which devices fit a model."""
    from semantic.match import match_device, match_model
    from tte.errors import TteError

    if (device is None) == (model is None):
        raise TteError("give exactly one of --device ID or --model ID")
    store = _store(ctx)
    res = match_device(store, device) if device is not None else match_model(store, model or "")
    if as_json:
        click.echo(json.dumps(res, indent=2))
        return
    key = "model" if device is not None else "device"
    click.echo(f"inference ({len(res['inference'])}): {', '.join(res['inference']) or '-'}")
    click.echo(f"training ({len(res['training'])}): "
               + (", ".join(f"{t[key]} [{t['scheme']}]" for t in res["training"]) or "-"))
    for w in res["warnings"]:
        click.echo(f"warning: {w}")


@kg.command()
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.pass_context
@user_errors
def stale(ctx: click.Context, as_json: bool) -> None:
    """Devices whose deployed model is older than the newest compatible one."""
    from semantic.match import stale as find_stale

    rows = find_stale(_store(ctx))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(f"{r['device']}: runs {r['deployed']} ({r['deployed_created']}), "
                   f"newest compatible {r['newest']} ({r['newest_created']})")


@kg.command("export-td")
@click.argument("device_id")
@click.option("--base", default=None, help="Base URI of the forms (default: mqtt://localhost:1883/).")
@click.option("--fleet", "fleet_name", default="default", show_default=True,
              help="Fleet whose MQTT topic tree (tte/v1/<fleet>/<device>/...) the forms use.")
@click.option("-o", "--output", default=None, type=click.Path(dir_okay=False),
              help="Write to a file (a new one, or a Thing Description tte wrote with --force).")
@click.option("--force", is_flag=True, help="Replace OUTPUT if it is a Thing Description tte wrote.")
@click.pass_context
@user_errors
def export_td(ctx: click.Context, device_id: str, base: str | None, fleet_name: str, output: str | None,
              force: bool) -> None:
    """W3C WoT Thing Description 1.1 (JSON-LD) of a device, its forms on the fleet's MQTT topics."""
    from fleet import protocol
    from semantic.td import DEFAULT_BASE, thing_description
    from tte.errors import TteError
    from tte.outputs import check_output_file, write_file_atomically

    try:
        protocol.check_name("fleet", fleet_name)
        protocol.check_name("device", device_id)
    except protocol.ProtocolError as e:
        raise TteError(str(e)) from None
    if output:
        check_output_file(output, force=force, ours=_is_thing_description)
    td = thing_description(_store(ctx), device_id, lambda kind: protocol.topic(fleet_name, device_id, kind),
                           base or DEFAULT_BASE)
    text = json.dumps(td, indent=2)
    if output:
        write_file_atomically(output, (text + "\n").encode())
    else:
        click.echo(text)


def _is_thing_description(path: Path) -> bool:
    """A file that export-td wrote: JSON whose context is WoT TD 1.1 and whose id is a tte URN."""
    try:
        td = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    from semantic.td import TD_CONTEXT_URL

    ctx = td.get("@context") if isinstance(td, dict) else None
    ctxs = ctx if isinstance(ctx, list) else [ctx]
    return TD_CONTEXT_URL in ctxs and str(td.get("id", "")).startswith("urn:tte:")


COMMANDS = [kg]
