"""Token parity on held-out parallel text: Greffier's trained tokenizer against others.

Trains Greffier's European tokenizer (byte-level BPE, 65,536 tokens, languages balanced)
on the training split of Debian's reference manual in en, fr, de, es, it, then measures,
in the same run and on the held-out sections only, how many tokens each tokenizer needs
per language relative to English. Needs `greffier tokens fetch` for the reference
tokenizers (cl100k, GPT-2, Llama 3…) and Debian's debian-reference-* packages.
Run: `python benchmarks/token_parity.py [--vocab-size 65536]`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from greffier.cli.tokens import draw
from greffier.models.catalogue import Catalogue
from greffier.settings import load_settings
from greffier.tokens.corpus import load_debian_reference
from greffier.tokens.parity import as_dicts, measure
from greffier.tokens.tokenizers import HuggingFaceTokenizer, discover
from greffier.tokens.training import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab-size", type=int, default=65536)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/token_parity.json"))
    parser.add_argument("--chart", type=Path, default=Path("docs/token_parity"))
    args = parser.parse_args()
    console = Console()
    settings = load_settings().settings
    corpus = load_debian_reference()
    training, held_out = corpus.split(held_out=0.2, seed=0)
    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        path = train(training, Path(scratch) / "greffier-eu", args.vocab_size)
        trained_s = time.perf_counter() - start
        ours = HuggingFaceTokenizer(f"greffier-eu ({args.vocab_size // 1024}k)", path)
        others = discover(
            settings.models_dir,
            settings.data_dir / "tokenizers",
            Catalogue.load(settings.effective_catalogue_file),
        )
        rows = []
        for tokenizer in [ours, *others]:
            rows += as_dicts(measure(tokenizer, held_out))
    table = Table(
        title=f"Parity on {len(held_out.sections)} held-out sections "
        f"(trained on {len(training.sections)} in {trained_s:.0f} s)"
    )
    table.add_column("tokenizer")
    for lang in held_out.languages:
        table.add_column(lang)
    for name in dict.fromkeys(r["tokenizer"] for r in rows):
        cells = {r["language"]: r["parity"] for r in rows if r["tokenizer"] == name}
        table.add_row(name, *(f"{cells[lang]:.2f}" for lang in held_out.languages))
    console.print(table)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {"corpus": corpus.source, "held_out": len(held_out.sections), "rows": rows},
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )
    draw(
        rows,
        list(held_out.languages),
        args.chart,
        "Tokens relative to English, held-out Debian reference sections",
    )


if __name__ == "__main__":
    main()
