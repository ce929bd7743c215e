"""`greffier dataset build | export | import`: alignment data sets from curated feedback
and a collection's passages, shared as ZIP archives that carry their checksums."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from greffier.cli.context import state
from greffier.cli.evaluation import await_close
from greffier.services.container import Services
from greffier.services.datasets import Synthetic
from greffier.services.principal import OPERATOR

console = Console()
app = typer.Typer(help="Alignment data sets: build, export, import.", no_args_is_help=True)

STAGES = {"feedback": "Accepted feedback", "synthetic": "Synthetic pairs"}


@app.command()
def build(
    ctx: typer.Context,
    directory: Path = typer.Argument(..., help="Folder to write (new or empty)."),
    licence: str = typer.Option(..., "--licence", help="The data set's licence, e.g. CC-BY-4.0."),
    synthetic: int | None = typer.Option(
        None, "--synthetic", help="Also write question–answer pairs from this collection (id)."
    ),
    count: int = typer.Option(20, "--count", min=1, help="Passages to write pairs from."),
    k: int = typer.Option(
        4,
        "-k",
        min=1,
        max=20,
        help="A pair is kept when retrieval finds its passage again in this many.",
    ),
    model: str | None = typer.Option(None, "--model", "-m", help="Model writing the pairs."),
    heldout: float = typer.Option(
        0.0, "--heldout", min=0.0, max=0.9, help="Share of examples held out for evaluation."
    ),
    seed: int = typer.Option(0, help="Seed of the passages picked and of the split."),
    max_tokens: int = typer.Option(160, help="Longest synthetic pair, in tokens."),
) -> None:
    """Build a data set: chat JSONL (sft.jsonl), preference JSONL (preference.jsonl),
    held-out files, personal identifiers masked, DATASET.md and card.json."""
    services = Services.build(state(ctx).load().settings, run_jobs=False)
    try:
        with Progress(
            TextColumn("{task.description:<20}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
        ) as bar:
            tasks: dict[str, int] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(STAGES.get(stage, stage), total=total or 1)
                bar.update(tasks[stage], completed=done if total else 1)

            built = services.datasets.build(
                OPERATOR,
                directory,
                licence=licence,
                synthetic=Synthetic(synthetic, count, k, model, max_tokens)
                if synthetic is not None
                else None,
                heldout=heldout,
                seed=seed,
                progress=progress,
            )
    finally:
        await_close(services)
    table = Table(title=f"Data set {built.directory}")
    for column in ("file", "examples", "SHA-256"):
        table.add_column(column)
    for name, f in sorted(built.card.files.items()):
        table.add_row(name, str(built.card.counts.get(name, "")), f.sha256[:16] + "…")
    console.print(table)
    masked = built.card.masking["masked"]
    console.print(
        "Personal identifiers masked: "
        + (", ".join(f"{kind} {n}" for kind, n in sorted(masked.items())) or "none found")
    )
    console.print(f"card.json SHA-256: {built.card_sha256}")


@app.command("export")
def export(
    ctx: typer.Context,
    directory: Path = typer.Argument(..., exists=True, file_okay=False),
    output: Path = typer.Option(..., "-o", "--output", help="The ZIP file to write."),
) -> None:
    """Check a data set against its card and pack it into one ZIP file."""
    services = Services.build(state(ctx).load().settings, run_jobs=False)
    try:
        sha = services.datasets.export(OPERATOR, directory, output)
    finally:
        await_close(services)
    console.print(f"Wrote {output}. Give the receiver the card's SHA-256 as well: {sha}")


@app.command("import")
def load(
    ctx: typer.Context,
    archive: Path = typer.Argument(..., exists=True, dir_okay=False),
    directory: Path | None = typer.Option(
        None, "-d", "--directory", help="Where to unpack (default: the archive's name)."
    ),
    card_sha256: str | None = typer.Option(
        None, "--card-sha256", help="The card's SHA-256 as the sender announced it."
    ),
) -> None:
    """Check every file of a shared data set against its card, then unpack it; a damaged
    or altered archive is refused and nothing is written."""
    target = directory or archive.with_suffix("")
    services = Services.build(state(ctx).load().settings, run_jobs=False)
    try:
        card = services.datasets.load(OPERATOR, archive, target, card_sha256)
    finally:
        await_close(services)
    console.print(
        f"Imported {card.name} into {target}: licence {card.licence}, "
        + ", ".join(f"{name} {n}" for name, n in sorted(card.counts.items()))
    )
