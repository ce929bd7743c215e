"""`greffier config`: effective settings and where each value came from."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from greffier.cli.context import state
from greffier.settings import Settings


def show_config(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Print every setting, its effective value and its origin (default, file, env, flag)."""
    loaded = state(ctx).load()
    values = loaded.settings.model_dump(mode="json")
    if as_json:
        print(
            json.dumps(
                {
                    "config_file": str(loaded.config_file),
                    "settings": {
                        k: {"value": values[k], "origin": str(loaded.origins[k])} for k in values
                    },
                },
                indent=2,
            )
        )
        return
    table = Table(title=f"Greffier settings (config file: {loaded.config_file})")
    table.add_column("setting")
    table.add_column("value")
    table.add_column("from")
    table.add_column("meaning", overflow="fold")
    for name, field in Settings.model_fields.items():
        table.add_row(name, json.dumps(values[name]), str(loaded.origins[name]), field.description)
    Console().print(table)
