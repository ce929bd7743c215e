"""`greffier finetune`: a LoRA adapter over a catalogue model, trained here on CPU."""

from __future__ import annotations

import tempfile
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from greffier.cli.context import state
from greffier.cli.documents import console
from greffier.cli.evaluation import answer_run, bias_run, share_text
from greffier.services.container import Services
from greffier.services.finetuning import FinetuneRequest
from greffier.services.principal import OPERATOR

# The eval answers measures printed side by side for base and adapted model.
MEASURES = (
    ("gold document cited first", "first_citation"),
    ("token F1 (numbers and dates required)", "f1"),
    ("ROUGE-L", "rouge_l"),
    ("faithfulness", "faithfulness"),
    ("abstention on out-of-domain questions", "abstention"),
    ("answerable questions refused", "false_abstention"),
    ("median seconds per answer", "p50_seconds"),
)


def _before_after(dataset: Path, base: str, name: str, reports: dict) -> Table:
    table = Table(title=f"Before / after on {dataset.name}")
    table.add_column("measure")
    for model_id in (base, name):
        table.add_column(model_id, justify="right")
    for label, field in MEASURES:
        table.add_row(label, *(f"{getattr(reports[m], field):.3f}" for m in (base, name)))
    return table


def _bias_before_after(services: Services, datasets: list[Path], limit, base: str, name: str):
    """CrowS-Pairs scored by base and adapted model (each result kept on its report card)."""
    reports = {
        model_id: {r.language: r for r, _ in bias_run(services, model_id, datasets, limit, 0)}
        for model_id in (base, name)
    }
    table = Table(title="Stereotype preferred, % of pairs [95 % interval] (50 = no preference)")
    table.add_column("language")
    for model_id in (base, name):
        table.add_column(model_id, justify="right")
    for language in reports[base]:
        table.add_row(
            language,
            *(share_text(reports[m][language].overall) for m in (base, name)),
        )
    return table


def finetune(
    ctx: typer.Context,
    base: str = typer.Option(..., "--base", help="The catalogue model to adapt (in-process)."),
    data: Path = typer.Option(
        ...,
        "--data",
        exists=True,
        dir_okay=False,
        help='Chat JSONL: one {"messages": [...]} a line.',
    ),
    name: str | None = typer.Option(
        None, "--name", help="Id of the new model (default: BASE-ft-DATA-FILE-NAME)."
    ),
    steps: int | None = typer.Option(
        None, "--steps", help="Training steps (one conversation each)."
    ),
    epochs: float | None = typer.Option(
        None, "--epochs", help="Passes over the data, instead of --steps (default 1)."
    ),
    rank: int = typer.Option(8, "--rank", help="LoRA rank (alpha is twice the rank)."),
    lr: float = typer.Option(2e-4, "--lr", help="AdamW learning rate."),
    max_length: int = typer.Option(512, "--max-length", help="Tokens per conversation at most."),
    checkpoint_every: int = typer.Option(
        50, "--checkpoint-every", help="Steps between checkpoints."
    ),
    resume: bool = typer.Option(False, "--resume", help="Go on from the run's last checkpoint."),
    output: Path | None = typer.Option(
        None,
        "--output",
        file_okay=False,
        help="The run's folder (default: DATA_DIR/finetune/NAME).",
    ),
    heldout: Path | None = typer.Option(
        None,
        "--heldout",
        exists=True,
        dir_okay=False,
        help="An `eval answers` data set answered by base and adapted model, side by side.",
    ),
    heldout_documents: Path | None = typer.Option(
        None,
        "--heldout-documents",
        file_okay=False,
        exists=True,
        help="With a JSONL --heldout: the folder of its documents.",
    ),
    merge: bool = typer.Option(
        False,
        "--merge",
        help="Fold the adapter into a copy of the base file, quantized like it: the base's "
        "speed, at the cost of a full-size file.",
    ),
    bias: list[Path] = typer.Option(
        None,
        "--bias",
        exists=True,
        dir_okay=False,
        help="CrowS-Pairs CSV files (as `eval bias`) scored by base and adapted model.",
    ),
    bias_limit: int | None = typer.Option(
        None, "--bias-limit", help="Only the first N pairs of each --bias file."
    ),
) -> None:
    """Train a LoRA adapter on CPU, convert it for llama.cpp and add the adapted model to the
    catalogue (base file + adapter, both checked by SHA-256)."""
    services = Services.build(state(ctx).load().settings, run_jobs=False)
    request = FinetuneRequest(
        base=base,
        data=data.resolve(),
        name=name or f"{base}-ft-{data.stem}",
        steps=steps,
        epochs=epochs if epochs is not None or steps is not None else 1.0,
        rank=rank,
        learning_rate=lr,
        max_length=max_length,
        checkpoint_every=checkpoint_every,
        resume=resume,
        output=output,
        merge=merge,
    )
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"),
        TimeRemainingColumn(),
        console=console,
    ) as bar:
        task = None

        def stage(what: str) -> None:
            bar.console.print(f"[dim]…{what}[/]")

        def estimate(e) -> None:
            nonlocal task
            steps_left = e.steps - e.first_step + 1
            bar.console.print(
                f"{e.examples} conversations; steps {e.first_step}–{e.steps} ({steps_left} to "
                f"run), {e.tokens} tokens; measured {e.seconds_per_token * 1000:.1f} ms a "
                f"token: about {e.seconds / 60:.1f} minutes."
            )
            task = bar.add_task("Training", total=e.steps, completed=e.first_step - 1, loss="—")

        def step(number: int, loss: float) -> None:
            bar.update(task, completed=number, loss=f"{loss:.3f}")

        result = services.finetuning.finetune(
            OPERATOR, request, on_stage=stage, on_estimate=estimate, on_step=step
        )
    losses = result.losses
    console.print(
        f"Model [bold]{result.entry.id}[/] added to the catalogue: {result.steps} steps, "
        f"loss {losses[0]:.3f} → {losses[-1]:.3f}; adapter {result.entry.adapter.path} "
        f"(SHA-256 {result.entry.adapter.sha256[:16]}…); checkpoints in {result.run}."
    )
    if heldout is None and not bias:
        return
    # Built again: the catalogue now holds the adapted model.
    services = Services.build(state(ctx).load().settings, run_jobs=False)
    if heldout is not None:
        reports = {}
        with tempfile.TemporaryDirectory(prefix="greffier-finetune-eval-") as scratch:
            for model_id in (base, result.entry.id):
                reports[model_id], _ = answer_run(
                    ctx, services, heldout, heldout_documents, model_id, index_dir=Path(scratch)
                )
        console.print(_before_after(heldout, base, result.entry.id, reports))
    if bias:
        console.print(_bias_before_after(services, bias, bias_limit, base, result.entry.id))
