"""`greffier models list|show|pull|verify|export|import`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from greffier.cli.context import state
from greffier.cli.progress import byte_progress
from greffier.errors import ModelFileError
from greffier.models import distribution, files
from greffier.models.catalogue import Catalogue, ModelEntry, Status

app = typer.Typer(
    help="The model catalogue: list, inspect, fetch and check models.", no_args_is_help=True
)
console = Console()
_STATUS_STYLE = {
    Status.open: "green",
    Status.restricted: "yellow",
    Status.closed: "red",
    Status.unknown: "dim",
}


def _catalogue(ctx: typer.Context):
    settings = state(ctx).load().settings
    return settings, Catalogue.load(settings.effective_catalogue_file)


def _where(entry: ModelEntry, settings) -> str:
    if not entry.has_file:
        return "upstream"
    return "ready" if files.model_path(settings.models_dir, entry).is_file() else "not pulled"


@app.command("list")
def list_models(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """One line per model: id, role, backend, licence, openness verdict, local state."""
    settings, catalogue = _catalogue(ctx)
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "id": e.id,
                        "role": e.role.value,
                        "backend": e.backend,
                        "licence": e.licence,
                        "openness": e.openness.verdict,
                        "state": _where(e, settings),
                    }
                    for e in catalogue
                ],
                indent=2,
            )
        )
        return
    table = Table(title="Models")
    for column in ("id", "role", "backend", "licence", "context", "openness", "state"):
        table.add_column(column, no_wrap=column == "id")
    for e in catalogue:
        table.add_row(
            e.id,
            e.role.value,
            e.backend,
            e.licence,
            str(e.context_length),
            e.openness.label,
            _where(e, settings),
        )
    console.print(table)


@app.command()
def show(ctx: typer.Context, model_id: str) -> None:
    """Everything about one model, with its openness card."""
    settings, catalogue = _catalogue(ctx)
    e = catalogue.get(model_id)
    console.print(f"[bold]{e.name}[/]  ({e.id})")
    console.print(e.description)
    console.print(
        f"role: {e.role.value}   backend: {e.backend}   licence: {e.licence}   "
        f"context: {e.context_length} tokens"
    )
    console.print(f"source: {e.source.model_dump(mode='json')}", highlight=False)
    if e.has_file:
        console.print(f"file: {files.model_path(settings.models_dir, e)} ({_where(e, settings)})")
        pinned = e.sha256 or files.expected_sha256(settings.models_dir, e) or "none yet"
        console.print(f"sha256: {pinned}{'' if e.sha256 else '  (recorded at first pull)'}")
    table = Table(title=f"Openness: {e.openness.verdict}")
    for column in ("component", "status", "note", "source"):
        table.add_column(column, overflow="fold")
    for name, c in e.openness.components():
        style = _STATUS_STYLE[c.status]
        table.add_row(name.replace("_", " "), f"[{style}]{c.status.value}[/]", c.note, c.source)
    console.print(table)


def default_models(settings) -> list[str]:
    """Every model the product uses out of the box: chat, embedder, speech, speaker, voice."""
    return list(
        dict.fromkeys(
            [
                settings.default_model,
                settings.embedding_model,
                settings.speech_model,
                settings.speaker_model,
                settings.voice_model,
            ]
        )
    )


@app.command()
def pull(
    ctx: typer.Context,
    model_ids: list[str] = typer.Argument(None),
    defaults: bool = typer.Option(
        False,
        "--defaults",
        help="Every model the server uses by default (settings default_model, "
        "embedding_model, speech_model, speaker_model, voice_model), as `make run` does.",
    ),
    source: str = typer.Option(
        None,
        "--from",
        help="A central Greffier instance (https://central.example/) to copy the models from; "
        "its admin key in $GREFFIER_HUB_KEY.",
    ),
) -> None:
    """Assemble or download models and check them against their pinned SHA-256."""
    settings, catalogue = _catalogue(ctx)
    if source:
        hub = distribution.Hub(source, os.environ.get("GREFFIER_HUB_KEY", ""))
        for model_id in model_ids or [settings.default_model]:
            with byte_progress(model_id) as progress:
                entry = distribution.install(
                    hub.item(model_id),
                    catalogue,
                    settings.models_dir,
                    settings.effective_catalogue_file,
                    hub.fetcher(model_id, progress),
                )
            console.print(f"[green]✓[/] {entry.id}: from {source}, checksums match")
        return
    wanted = list(model_ids or [])
    if defaults:
        wanted += [m for m in default_models(settings) if m not in wanted]
    for model_id in wanted or [settings.default_model]:
        entry = catalogue.get(model_id)
        with byte_progress(model_id) as progress:
            path = files.pull(
                settings.models_dir,
                entry,
                progress=progress,
                huggingface_endpoint=settings.huggingface_endpoint,
            )
        console.print(f"[green]✓[/] {model_id}: {path}")


@app.command()
def export(
    ctx: typer.Context,
    model_ids: list[str] = typer.Argument(..., help="The models to copy."),
    output: Path = typer.Option(..., "--output", "-o", help="The bundle folder (e.g. a USB key)."),
) -> None:
    """Copy models, their catalogue entries, cards and checksums to a folder, to carry to
    an air-gapped site (`greffier models import` there)."""
    settings, catalogue = _catalogue(ctx)
    entries = [catalogue.get(m) for m in model_ids]
    with byte_progress("export") as progress:
        written = distribution.export(settings.models_dir, entries, output, progress)
    console.print(f"[green]✓[/] {len(entries)} model(s), {written / 1e6:.0f} MB in {output}")


@app.command("import")
def import_(
    ctx: typer.Context,
    folder: Path = typer.Argument(..., exists=True, file_okay=False, help="A bundle folder."),
) -> None:
    """Install the models of a bundle made by `greffier models export`, each file checked
    against its SHA-256; a tampered file is refused and nothing of it is installed."""
    settings, catalogue = _catalogue(ctx)
    for item in distribution.bundle_items(folder):
        model_id = item["entry"]["id"]
        entry = distribution.install(
            item,
            catalogue,
            settings.models_dir,
            settings.effective_catalogue_file,
            distribution.bundle_fetcher(folder, model_id),
        )
        console.print(f"[green]✓[/] {entry.id}: installed, checksums match")


@app.command()
def verify(ctx: typer.Context, model_ids: list[str] = typer.Argument(None)) -> None:
    """Re-read model files and compare them with their checksums (default: all pulled)."""
    settings, catalogue = _catalogue(ctx)
    entries = (
        [catalogue.get(m) for m in model_ids]
        if model_ids
        else [
            e
            for e in catalogue
            if e.has_file and files.model_path(settings.models_dir, e).is_file()
        ]
    )
    failed = 0
    for entry in entries:
        try:
            with byte_progress(entry.id) as progress:
                files.verify(settings.models_dir, entry, force=True, progress=progress)
                files.verify_folder(settings.models_dir, entry)  # a folder's other files
            companions = files.verify_companions(settings.models_dir, entry)
            also = f" (and {len(companions)} companion files)" if companions else ""
            console.print(f"[green]✓[/] {entry.id}: checksum matches{also}")
        except ModelFileError as exc:
            failed += 1
            console.print(f"[red]✗[/] {entry.id}: {exc.full_message}", highlight=False)
    if failed:
        raise typer.Exit(1)


def _measure(result: dict | None, field: str, digits: int = 3) -> str:
    if not result or result.get(field) is None:
        return "—"
    return f"{result[field]:.{digits}f}"


def _bias(result: dict | None, language: str) -> str:
    share = ((result or {}).get("languages") or {}).get(language, {}).get("overall")
    if not share:
        return "—"
    shared = " (shared tokens)" if result.get("measure") == "shared" else ""
    return f"{share['percent']:.1f} [{share['low']:.1f}–{share['high']:.1f}]{shared}"


def _when(result: dict | None) -> str:
    if not result:
        return "not measured"
    mark = (
        " [yellow](stale: " + "; ".join(result["stale_reasons"]) + ")[/]" if result["stale"] else ""
    )
    when, version = result["measured_at"][:10], result["greffier_version"]
    return f"{when} on {result['dataset']}, Greffier {version}{mark}"


@app.command()
def card(
    ctx: typer.Context,
    model_ids: list[str] = typer.Argument(None, help="Models (default: every chat model)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The report card: openness, licence, French token parity, bias with its interval,
    grounded-answer quality, latency and energy per answer; several models side by side."""
    from greffier.services.container import Services

    services = Services.build(state(ctx).load().settings, run_jobs=False)
    cards = [services.reports.card(m) for m in model_ids] if model_ids else services.reports.cards()
    if as_json:
        print(json.dumps(cards, indent=2, ensure_ascii=False))
        return
    table = Table(title="Model report card (measured on this machine)")
    table.add_column("")
    for c in cards:
        table.add_column(c["id"], overflow="fold")
    ev = [c["evaluations"] for c in cards]
    bias = [e.get("bias") for e in ev]
    answers = [e.get("answers") for e in ev]
    rows = [
        ("openness", [c["openness"]["verdict"] for c in cards]),
        ("licence", [c["licence"] for c in cards]),
        ("French token parity", [str(e.get("token_parity_fr", "—")) for e in ev]),
        ("bias fr: stereotype preferred % [95 %]", [_bias(b, "fr") for b in bias]),
        ("bias en: stereotype preferred % [95 %]", [_bias(b, "en") for b in bias]),
        ("bias measured", [_when(b) for b in bias]),
        ("gold source cited first", [_measure(a, "first_citation") for a in answers]),
        ("gold source cited", [_measure(a, "any_citation") for a in answers]),
        ("token F1", [_measure(a, "f1") for a in answers]),
        ("ROUGE-L", [_measure(a, "rouge_l") for a in answers]),
        ("faithfulness", [_measure(a, "faithfulness") for a in answers]),
        ("abstention (out of domain)", [_measure(a, "abstention") for a in answers]),
        ("sentences attached to a source", [_measure(a, "marker_coverage") for a in answers]),
        ("seconds per answer (median)", [_measure(a, "p50_seconds", 2) for a in answers]),
        ("joules per answer", [_measure(a, "mean_energy_joules", 1) for a in answers]),
        ("answers measured", [_when(a) for a in answers]),
    ]
    for label, values in rows:
        table.add_row(label, *values)
    console.print(table)
