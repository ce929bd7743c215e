"""`greffier db migrate --to postgresql://…`: move this installation into PostgreSQL."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from greffier.cli.context import state

console = Console()
app = typer.Typer(help="The database: move to PostgreSQL.", no_args_is_help=True)


@app.command()
def migrate(
    ctx: typer.Context,
    to: str = typer.Option(..., "--to", help="postgresql://user:password@host:5432/name"),
) -> None:
    """Copy this installation's SQLite database (people, keys, groups, grants, documents
    with their vectors, meetings, audit log, history) into an empty PostgreSQL database,
    then check every table's rows and a sample of searches. Then set database_url."""
    from greffier.services.database_move import move_to_postgresql

    settings = state(ctx).load().settings
    with Progress(
        TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(), console=console
    ) as bar:
        tasks: dict[str, int] = {}

        def progress(table: str, done: int, total: int) -> None:
            if table not in tasks:
                tasks[table] = bar.add_task(table, total=total or 1)
            bar.update(tasks[table], completed=done if total else 1)

        report = move_to_postgresql(settings, to, progress)
    table = Table(title="Rows copied")
    for column in ("table", "SQLite", "PostgreSQL"):
        table.add_column(column, justify="right" if column != "table" else "left")
    for name, (before, after) in report.rows.items():
        style = "" if before == after else "red"
        table.add_row(name, str(before), f"[{style}]{after}[/]" if style else str(after))
    console.print(table)
    for line in report.searches:
        console.print(f"[green]✓[/] {line}")
    for problem in report.problems:
        console.print(f"[red]✗[/] {problem}")
    if not report.complete:
        raise typer.Exit(1)
    console.print(
        "Done. Every node now needs database_url = the PostgreSQL URL, and files_dir = a "
        f"folder holding a copy of {settings.uploads_dir.parent}'s files/ and audio/."
    )
