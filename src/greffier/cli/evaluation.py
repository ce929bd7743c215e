"""`greffier eval bias` (and the other model evaluations)."""

from __future__ import annotations

import asyncio
import json
import tempfile
from dataclasses import asdict
from pathlib import Path

import typer
from rich.table import Table

from greffier.cli.charts import grouped_bars
from greffier.cli.context import state
from greffier.cli.documents import BATCH, _progress, console
from greffier.evaluation.bias import BiasReport, Share
from greffier.services.answer_evaluation import (
    OUT_OF_DOMAIN,
    AnswerItem,
    AnswerReport,
    load_answer_set,
    worst,
)
from greffier.services.container import Services


def share_text(share: Share) -> str:
    return f"{share.percent:.1f} [{share.low:.1f}–{share.high:.1f}]"


def _bias_table(model: str, reports: list[BiasReport], measure: str) -> Table:
    table = Table(
        title=f"{model}: stereotype preferred, % of pairs [95 % interval] (50 = no preference)"
        + ("; shared tokens only" if measure == "shared" else "")
    )
    table.add_column("bias type")
    table.add_column("pairs", justify="right")
    for report in reports:
        table.add_column(report.language, justify="right")
    types = sorted({t for r in reports for t in r.by_type})
    for t in types:
        counts = {r.by_type[t].pairs for r in reports if t in r.by_type}
        table.add_row(
            t,
            "/".join(str(c) for c in sorted(counts)),
            *(share_text(r.by_type[t]) if t in r.by_type else "—" for r in reports),
        )
    table.add_section()
    table.add_row(
        "[bold]all[/]",
        "/".join(str(c) for c in sorted({r.overall.pairs for r in reports})),
        *(f"[bold]{share_text(r.overall)}[/]" for r in reports),
    )
    return table


def _strongest_table(report: BiasReport) -> Table:
    table = Table(title=f"Pairs the model prefers most strongly ({report.language})")
    for column in ("id", "type", "margin (nats)", "preferred (sent_more)", "other (sent_less)"):
        table.add_column(column, overflow="fold")
    for s in report.strongest:
        table.add_row(s.pair.id, s.pair.bias_type, f"{s.margin:.2f}", s.pair.more, s.pair.less)
    return table


def bias_run(
    services: Services,
    model_id: str,
    datasets: list[Path],
    limit,
    strongest: int,
    scores_file: Path | None = None,
    measure: str = "total",
):
    """``services.bias.evaluate`` with a progress bar per language (each result is kept on
    the model's report card)."""
    with _progress() as bar:
        tasks: list = []

        def start(language: str, total: int) -> None:
            tasks.append(bar.add_task(f"{model_id}: scoring {language} pairs", total=total))

        return services.bias.evaluate(
            model_id,
            datasets,
            limit=limit,
            strongest=strongest,
            on_language=start,
            on_pair=lambda: bar.advance(tasks[-1]),
            scores_file=scores_file,
            measure=measure,
        )


def eval_bias(
    ctx: typer.Context,
    datasets: list[Path] = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        help="CrowS-Pairs CSV files (e.g. crows_pairs_fr.csv crows_pairs_en.csv); the "
        "language is the end of the file name.",
    ),
    model: str | None = typer.Option(
        None, "--model", "-m", help="Chat model (default: the default model)."
    ),
    limit: int | None = typer.Option(None, help="Use only the first N pairs of each file."),
    strongest: int = typer.Option(
        10, help="How many of the most strongly preferred pairs to print."
    ),
    output: Path | None = typer.Option(None, "--json", help="Also write the report as JSON."),
    chart: Path | None = typer.Option(None, help="Also draw the shares as an SVG chart."),
    scores: Path | None = typer.Option(
        None,
        "--scores",
        dir_okay=False,
        help="Write each pair's log-probabilities to this JSON Lines file as they are "
        "computed, and reuse those already in it for the same model and sentences: a run "
        "stopped half-way, given the same file, continues where it stopped.",
    ),
    measure: str = typer.Option(
        "total",
        help="total: each sentence's whole log-probability; shared: only the tokens both "
        "sentences share (how probable the rest is once the group is named, leaving out "
        "how probable the group's own word is).",
    ),
) -> None:
    """How often the model prefers the more stereotyping sentence of a CrowS-Pairs pair
    (each sentence scored alone by its log-probability), with 95 % bootstrap intervals,
    per bias type and per language."""
    services = Services.build(state(ctx).load().settings, run_jobs=False)
    model_id = model or services.settings.default_model
    results = bias_run(services, model_id, datasets, limit, strongest, scores, measure)
    reports = [report for report, _ in results]
    scored = {
        report.language: [
            {"id": s.pair.id, "bias_type": s.pair.bias_type, "more": s.more, "less": s.less}
            for s in scores
        ]
        for report, scores in results
    }
    console.print(_bias_table(model_id, reports, measure))
    for report in reports:
        if report.strongest:
            console.print(_strongest_table(report))
    if output:
        document = {
            "model": model_id,
            "measure": measure,
            "datasets": [str(p) for p in datasets],
            "reports": [asdict(r) for r in reports],
            "pairs": scored,  # each sentence's log-probability by the measure (nats)
        }
        output.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    if chart:
        groups = {"all": {r.language: r.overall for r in reports}}
        for t in sorted({t for r in reports for t in r.by_type}):
            groups[t] = {r.language: r.by_type[t] for r in reports if t in r.by_type}
        chart.write_text(
            grouped_bars(
                f"{model_id}: stereotype preferred (% of pairs, 95 % interval"
                + (", shared tokens)" if measure == "shared" else ")"),
                {g: {k: s.percent for k, s in v.items()} for g, v in groups.items()},
                maximum=100.0,
                intervals={
                    g: {k: (s.low, s.high) for k, s in v.items()} for g, v in groups.items()
                },
                reference=50.0,
            )
        )


def await_close(services: Services) -> None:
    """Release the models and the database of a Services built for one command."""
    asyncio.run(services.close())


def _index(services: Services, documents: list[tuple[str, bytes]]):
    """Index the evaluation's documents into a collection "eval" (reused when unchanged)."""
    who = services.identity.local_principal("eval", "admin")
    col = services.documents.ensure_collection(who, "eval")
    with _progress() as bar:
        task = bar.add_task("Indexing documents", total=len(documents))
        for i in range(0, len(documents), BATCH):
            sub = services.documents.submit(who, col.id, documents[i : i + BATCH])
            bar.advance(task, len(sub.unchanged) + len(sub.refused))
            if sub.job_id:
                services.documents.run_job(sub.job_id, on_document=lambda *_: bar.advance(task))
    return who, col


def answer_run(
    ctx: typer.Context,
    operator: Services,
    dataset: Path,
    documents: Path | None,
    model_id: str,
    *,
    limit: int | None = None,
    questions: int | None = None,
    out_of_domain: int = 5,
    k: int = 4,
    max_tokens: int = 200,
    index_dir: Path | None = None,
) -> tuple[AnswerReport, list]:
    """One model's answers to an evaluation set, indexed in a separate data folder (kept in
    ``index_dir`` when given, so a second model reuses the index); the summary recorded
    for the model's report card. Also used by `greffier finetune` for base and adapter."""
    docs, items = load_answer_set(dataset, limit)
    if dataset.suffix == ".jsonl":
        if documents is None:
            raise typer.BadParameter(
                "a JSONL data set needs --documents FOLDER", param_hint="--documents"
            )
        docs = [
            (str(p.relative_to(documents)), p.read_bytes())
            for p in sorted(documents.rglob("*"))
            if p.is_file()
        ]
    else:
        docs = [(name, text.encode("utf-8")) for name, text in docs]
    answerable = [i for i in items if i.reference is not None][:questions]
    asked = (
        answerable
        + [i for i in items if i.reference is None]
        + [AnswerItem(q, None, None) for q in OUT_OF_DOMAIN[:out_of_domain]]
    )
    with tempfile.TemporaryDirectory(prefix="greffier-eval-") as scratch:
        # A separate index, answered with the operator's models and catalogue.
        data_dir = index_dir or Path(scratch)
        data_dir.mkdir(parents=True, exist_ok=True)
        if not (data_dir / "models").exists() and operator.settings.models_dir.is_dir():
            (data_dir / "models").symlink_to(operator.settings.models_dir.resolve())
        settings = (
            state(ctx)
            .load(data_dir=data_dir, catalogue_file=operator.settings.effective_catalogue_file)
            .settings
        )
        services = Services.build(settings, run_jobs=False)
        who, col = _index(services, docs)
        with _progress() as bar:
            task = bar.add_task(f"Answering questions ({model_id})", total=len(asked))
            report, results = services.answer_evaluation.evaluate(
                who,
                model_id,
                [col.id],
                asked,
                k=k,
                max_tokens=max_tokens,
                on_item=lambda: bar.advance(task),
            )
        await_close(services)
    summary = {**asdict(report), "k": k, "max_tokens": max_tokens}
    operator.reports.record(model_id, "answers", [dataset], summary)
    return report, results


def _answers_table(title: str, report: AnswerReport) -> Table:
    table = Table(title=title)
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        ("questions (answerable / out of domain)", f"{report.questions} / {report.out_of_domain}"),
        ("gold document cited first", f"{report.first_citation:.3f}"),
        ("gold document cited at all", f"{report.any_citation:.3f}"),
        ("token F1 (numbers and dates required)", f"{report.f1:.3f}"),
        ("ROUGE-L (numbers and dates required)", f"{report.rouge_l:.3f}"),
        ("faithfulness (answer units in passages)", f"{report.faithfulness:.3f}"),
        ("answers flagged unfaithful", f"{report.unfaithful:.3f}"),
        ("abstention on out-of-domain questions", f"{report.abstention:.3f}"),
        ("answerable questions refused", f"{report.false_abstention:.3f}"),
        ("sentences attached to a passage (coverage)", f"{report.marker_coverage:.3f}"),
        ("attached to the gold document (precision)", f"{report.marker_precision:.3f}"),
        ("answers with a marker of the model's own", f"{report.model_marker_share:.3f}"),
        ("median seconds per answer", f"{report.p50_seconds:.2f}"),
        ("mean tokens per answer", f"{report.mean_tokens:.0f}"),
        (
            "mean energy per answer (J)",
            "—" if report.mean_energy_joules is None else f"{report.mean_energy_joules:.1f}",
        ),
    ]
    for row in rows:
        table.add_row(*row)
    return table


def _worst_table(results) -> Table:
    table = Table(title=f"The {len(results)} answers to read first")
    for column in ("question", "reference", "answer", "cited", "F1", "faithful"):
        table.add_column(column, overflow="fold")
    for r in results:
        table.add_row(
            r.question,
            r.reference or "(out of domain)",
            r.answer,
            ", ".join(dict.fromkeys(r.cited)) or "—",
            f"{r.f1:.2f}",
            f"{r.faithfulness:.2f}{' ⚑' if r.unfaithful else ''}",
        )
    return table


def eval_answers(
    ctx: typer.Context,
    dataset: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        help="SQuAD-format JSON, or JSONL of question/answer/document.",
    ),
    documents: Path | None = typer.Option(
        None, file_okay=False, exists=True, help="With JSONL: the folder of the documents it names."
    ),
    model: str | None = typer.Option(
        None, "--model", "-m", help="Chat model (default: the default model)."
    ),
    limit: int | None = typer.Option(
        None, help="SQuAD: only the first N articles; JSONL: N lines."
    ),
    questions: int | None = typer.Option(None, help="Ask only the first N answerable questions."),
    out_of_domain: int = typer.Option(5, help="Out-of-domain questions added (abstention)."),
    k: int = typer.Option(4, help="Passages given to the model."),
    max_tokens: int = typer.Option(200, help="Longest answer, in tokens."),
    output: Path | None = typer.Option(None, "--json", help="Also write the report as JSON."),
    chart: Path | None = typer.Option(None, help="Also draw the measures as an SVG chart."),
    worst_count: int = typer.Option(20, "--worst", help="How many of the worst answers to print."),
    index_dir: Path | None = typer.Option(
        None, help="Keep the index here and reuse it on the next run (default: a scratch one)."
    ),
) -> None:
    """Grounded answers end to end, through the service the API uses: citation accuracy,
    correctness, faithfulness, abstention, sentence attachment, latency, tokens, energy."""
    operator = Services.build(state(ctx).load().settings, run_jobs=False)
    model_id = operator.registry.entry(model or operator.settings.default_model).id
    report, results = answer_run(
        ctx,
        operator,
        dataset,
        documents,
        model_id,
        limit=limit,
        questions=questions,
        out_of_domain=out_of_domain,
        k=k,
        max_tokens=max_tokens,
        index_dir=index_dir,
    )
    console.print(_answers_table(f"{model_id} on {dataset.name}", report))
    console.print(_worst_table(worst(results, worst_count)))
    if output:
        document = {
            "model": model_id,
            "dataset": str(dataset),
            "report": asdict(report),
            "answers": [asdict(r) for r in results],
        }
        output.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    if chart:
        measures = {
            "cited first": report.first_citation,
            "cited": report.any_citation,
            "F1": report.f1,
            "ROUGE-L": report.rouge_l,
            "faithful": report.faithfulness,
            "abstention": report.abstention,
            "coverage": report.marker_coverage,
            "precision": report.marker_precision,
        }
        chart.write_text(
            grouped_bars(
                f"Grounded answers on {dataset.name}",
                {name: {model_id: value} for name, value in measures.items()},
            )
        )
