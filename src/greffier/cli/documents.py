"""`greffier ingest`, `greffier reindex` and `greffier eval retrieval`."""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from greffier.cli.charts import grouped_bars
from greffier.cli.context import state
from greffier.services.container import Services
from greffier.services.evaluation import evaluate, load_squad
from greffier.services.identity import Principal
from greffier.services.principal import OPERATOR

console = Console()
eval_app = typer.Typer(help="Measure quality.", no_args_is_help=True)
BATCH = 32


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    )


def _operator(services: Services, user: str, role: str | None = None) -> Principal:
    """The CLI acts for a local user: created if new (a member unless ``role`` says
    admin); an existing user must have ``role`` when one is given."""
    return services.identity.local_principal(user, role)


def _files(folder: Path) -> tuple[list[Path], list[dict]]:
    root = folder.resolve()
    kept, refused = [], []
    for path in sorted(folder.rglob("*")):
        if path.is_dir() or any(p.startswith(".") for p in path.relative_to(folder).parts):
            continue
        if not path.resolve().is_relative_to(root):  # a link that leads out of the folder
            refused.append(
                {
                    "name": str(path.relative_to(folder)),
                    "code": "path_outside_folder",
                    "reason": f"{path} points outside {folder}.",
                }
            )
            continue
        kept.append(path)
    return kept, refused


def ingest(
    ctx: typer.Context,
    folder: Path = typer.Argument(..., exists=True, file_okay=False, help="Folder to ingest."),
    collection: str = typer.Option(..., "--collection", "-c", help="Collection name."),
    user: str = typer.Option("admin", help="Owner of the collection."),
    role: str = typer.Option(
        None,
        help="admin or member: for a new owner (a member by default); an existing one's "
        "role must match.",
    ),
) -> None:
    """Ingest a folder (recursively): parse, chunk, embed, index; report file by file."""
    services = Services.build(state(ctx).load().settings, run_jobs=False)
    who = _operator(services, user, role)
    col = services.documents.ensure_collection(who, collection)
    paths, report = _files(folder)
    with _progress() as bar:
        task = bar.add_task(f"Ingesting into '{collection}'", total=len(paths))

        def done(name: str, result: str, reason: str | None) -> None:
            report.append({"name": name, "code": result, "reason": reason or ""})
            bar.advance(task)

        for i in range(0, len(paths), BATCH):
            batch = [(str(p.relative_to(folder)), p.read_bytes()) for p in paths[i : i + BATCH]]
            sub = services.documents.submit(who, col.id, batch)
            report += sub.refused
            report += [{"name": n, "code": "unchanged", "reason": ""} for n in sub.unchanged]
            bar.advance(task, len(sub.refused) + len(sub.unchanged))
            if sub.job_id:
                services.documents.run_job(sub.job_id, on_document=done)
    table = Table(title=f"Collection '{collection}' (id {col.id})")
    for column in ("file", "result", "reason"):
        table.add_column(column, overflow="fold")
    styles = {"indexed": "green", "unchanged": "dim"}
    for row in sorted(report, key=lambda r: r["name"]):
        style = styles.get(row["code"], "red")
        table.add_row(row["name"], f"[{style}]{row['code']}[/]", row["reason"])
    console.print(table)
    counts = {k: sum(r["code"] == k for r in report) for k in ("indexed", "unchanged")}
    console.print(
        f"{counts['indexed']} indexed, {counts['unchanged']} unchanged, "
        f"{len(report) - sum(counts.values())} refused or failed."
    )


def reindex(ctx: typer.Context) -> None:
    """Embed every stored chunk again with the configured embedder (setting
    embedding_model), after changing it: search and ingestion wait for this."""
    services = Services.build(state(ctx).load().settings, run_jobs=False)
    with _progress() as bar:
        task = bar.add_task(f"Embedding with {services.settings.embedding_model}", total=None)
        done = services.documents.reindex(
            OPERATOR, lambda n, total: bar.update(task, completed=n, total=total)
        )
    console.print(
        f"[green]✓[/] {done.chunks} chunks embedded with {done.model} "
        f"({done.dimensions} dimensions; before: {done.previous or 'not recorded'})"
    )


@eval_app.command("retrieval")
def eval_retrieval(
    ctx: typer.Context,
    dataset: Path = typer.Argument(..., exists=True, dir_okay=False, help="SQuAD-format JSON."),
    limit: int | None = typer.Option(None, help="Use only the first N articles."),
    output: Path | None = typer.Option(None, "--json", help="Also write the report as JSON."),
    chart: Path | None = typer.Option(None, help="Also draw the metrics as an SVG chart."),
    index_dir: Path | None = typer.Option(
        None, help="Keep the index here and reuse it on the next run (default: a scratch one)."
    ),
) -> None:
    """hit@1, hit@5, MRR, nDCG@10 and latency per search mode, on a separate index."""
    documents, questions = load_squad(dataset, limit)
    with tempfile.TemporaryDirectory(prefix="greffier-eval-") as scratch:
        settings = state(ctx).load(data_dir=index_dir or Path(scratch)).settings
        services = Services.build(settings, run_jobs=False)
        who = _operator(services, "eval")
        col = services.documents.ensure_collection(who, "eval")
        batch = [(name, text.encode("utf-8")) for name, text in documents]
        with _progress() as bar:
            task = bar.add_task("Indexing contexts", total=len(batch))
            for i in range(0, len(batch), BATCH):
                sub = services.documents.submit(who, col.id, batch[i : i + BATCH])
                bar.advance(task, len(sub.unchanged))
                if sub.job_id:
                    services.documents.run_job(sub.job_id, on_document=lambda *_: bar.advance(task))
            asked = bar.add_task("Asking questions", total=3 * len(questions))
            reports = evaluate(
                services.search, [col.id], questions, on_question=lambda: bar.advance(asked)
            )
    table = Table(title=f"{dataset.name}: {len(documents)} documents, {len(questions)} questions")
    for column in ("mode", "hit@1", "hit@5", "MRR", "nDCG@10", "p50 ms", "p95 ms"):
        table.add_column(column)
    for r in reports:
        table.add_row(
            r.mode,
            f"{r.hit_at_1:.3f}",
            f"{r.hit_at_5:.3f}",
            f"{r.mrr:.3f}",
            f"{r.ndcg_at_10:.3f}",
            f"{r.p50_ms:.1f}",
            f"{r.p95_ms:.1f}",
        )
    console.print(table)
    if output:
        output.write_text(json.dumps([asdict(r) for r in reports], indent=2) + "\n")
    if chart:
        metrics = {"hit@1": "hit_at_1", "hit@5": "hit_at_5", "MRR": "mrr", "nDCG@10": "ndcg_at_10"}
        groups = {
            label: {r.mode: getattr(r, field) for r in reports} for label, field in metrics.items()
        }
        chart.write_text(grouped_bars(f"Retrieval on {dataset.name}", groups))
