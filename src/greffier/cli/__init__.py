"""The `greffier` command. One module per group of subcommands; errors are printed here."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import typer
from rich.console import Console

from greffier import __version__
from greffier.cli import (
    admin,
    config,
    datasets,
    db,
    documents,
    evaluation,
    finetune,
    meetings,
    models,
    serve,
    tokens,
    voice,
)
from greffier.cli.context import State
from greffier.errors import GreffierError

app = typer.Typer(
    name="greffier",
    help="Greffier: self-hosted generative AI that keeps your records at home.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(models.app, name="models")
app.add_typer(admin.app, name="admin")
documents.eval_app.command("bias")(evaluation.eval_bias)
documents.eval_app.command("answers")(evaluation.eval_answers)
app.add_typer(documents.eval_app, name="eval")
app.add_typer(meetings.app, name="meeting")
app.add_typer(db.app, name="db")
app.add_typer(datasets.app, name="dataset")
app.add_typer(tokens.tokens_app, name="tokens")
app.add_typer(tokens.tokenizer_app, name="tokenizer")
app.command("ingest")(documents.ingest)
app.command("reindex")(documents.reindex)
app.command("config")(config.show_config)
app.command("serve")(serve.serve)
app.command("worker")(serve.worker)
app.command("chat")(serve.chat)
app.command("say")(voice.say)
app.command("finetune")(finetune.finetune)


def _version(value: bool) -> None:
    if value:
        print(f"greffier {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    ctx: typer.Context,
    config_file: Path | None = typer.Option(
        None, "--config", help="TOML settings file (default: $GREFFIER_CONFIG or the user's)."
    ),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Where Greffier keeps its data."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True),
) -> None:
    ctx.obj = State(config_file=config_file, overrides={"data_dir": data_dir})


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except GreffierError as exc:
        Console(stderr=True).print(f"[bold red]Error:[/] {exc.full_message}", highlight=False)
        sys.exit(1)
