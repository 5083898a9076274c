"""`tte ops [--json]`: every op tte imports, runs, differentiates and compiles."""

from __future__ import annotations

import json

import click

from tte.cli.util import user_errors


@click.command("ops")
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON.")
@user_errors
def ops_command(as_json: bool) -> None:
    """The supported ops: ONNX / TFLite names, IR op, forward, gradient and C support."""
    from tte.opsinfo import format_support, op_support

    s = op_support()
    click.echo(json.dumps(s, indent=2) if as_json else format_support(s))


COMMANDS = [ops_command]
