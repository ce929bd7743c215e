"""EmbeddingGemma-300M against the default multilingual-e5-small, on the CNIL FAQ set.

Each embedder gets its own fresh index of the same CNIL contexts through Greffier's whole
ingestion (parse, chunk with the embedder's own tokenizer, embed, index), timed: chunks/s.
Then the same questions are asked in the three search modes (as `greffier eval
retrieval`): hit@1, hit@5, MRR, latency (each semantic and hybrid search embeds its
question). Same run, same machine; the ratios are printed.

Needs EmbeddingGemma pulled (`greffier models pull embeddinggemma-300m`, into the models
folder of the configured data directory) and the embedding-gemma extra installed.
Run: `python benchmarks/embedders.py [--limit N] [--keep]` (N contexts; default: all 524).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.progress import track
from rich.table import Table

from greffier.services.container import Services
from greffier.services.evaluation import evaluate, load_squad
from greffier.settings import Settings

HERE = Path(__file__).parent
DATASET = HERE.parent.parent / "shared" / "data" / "fr-qa" / "cnil-faq-squad.json"
MODELS = ("multilingual-e5-small", "embeddinggemma-300m")
BATCH = 32


def measure(model: str, documents, questions, models_dir: Path, keep: Path | None) -> dict:
    """Index the documents with ``model`` in a fresh data directory, then search."""
    with tempfile.TemporaryDirectory(prefix="greffier-embedders-") as scratch:
        if keep:  # where benchmarks/relevance_floor.py finds the index and reuses it
            shutil.rmtree(keep, ignore_errors=True)
            keep.mkdir(parents=True)
        data = keep or Path(scratch)
        (data / "models").symlink_to(models_dir)
        settings = Settings(data_dir=data, embedding_model=model, preload_default_model=False)
        services = Services.build(settings, run_jobs=False)
        who = services.identity.local_principal("bench", "admin")
        col = services.documents.ensure_collection(who, "cnil")
        embedder = services.search.embedder
        embedder.embed(["échauffement"], "passage")  # load the model outside the timings
        files = [(name, text.encode("utf-8")) for name, text in documents]
        start = time.perf_counter()
        for i in track(range(0, len(files), BATCH), description=f"Indexing with {model}"):
            job = services.documents.submit(who, col.id, files[i : i + BATCH]).job_id
            services.documents.run_job(job)
        ingest_s = time.perf_counter() - start
        chunks = services.search.store.counts()["chunks"]
        reports = evaluate(services.search, [col.id], questions)
    return {
        "model": model,
        "dimensions": embedder.dimensions,
        "documents": len(files),
        "chunks": chunks,
        "ingest_s": ingest_s,
        "chunks_per_s": chunks / ingest_s,
        "modes": [asdict(r) for r in reports],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="CNIL contexts (default all)")
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--json", type=Path, default=HERE / "results" / "embedders.json")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep each index in benchmarks/results/relevance-index-MODEL, where "
        "benchmarks/relevance_floor.py --model MODEL reuses it (use --limit 192 with it)",
    )
    args = parser.parse_args()
    documents, questions = load_squad(args.dataset, args.limit)
    models_dir = Settings().models_dir
    results = [
        measure(
            m,
            documents,
            questions,
            models_dir,
            HERE / "results" / f"relevance-index-{m}" if args.keep else None,
        )
        for m in MODELS
    ]
    base, other = results
    table = Table(
        title=f"CNIL FAQ: {len(documents)} contexts, {len(questions)} questions, "
        f"{base['model']} vs {other['model']}"
    )
    for column in ("", *MODELS, "ratio"):
        table.add_column(column, justify="right")
    ratios = {}
    for mode in ("semantic", "hybrid"):
        a = next(r for r in base["modes"] if r["mode"] == mode)
        b = next(r for r in other["modes"] if r["mode"] == mode)
        for field, label in (("hit_at_1", "hit@1"), ("hit_at_5", "hit@5"), ("mrr", "MRR")):
            ratios[f"{mode}_{field}"] = b[field] / a[field]
            table.add_row(
                f"{mode} {label}",
                f"{a[field]:.3f}",
                f"{b[field]:.3f}",
                f"{b[field] / a[field]:.2f}×",
            )
        ratios[f"{mode}_p50_ms"] = b["p50_ms"] / a["p50_ms"]
        table.add_row(
            f"{mode} p50 ms",
            f"{a['p50_ms']:.1f}",
            f"{b['p50_ms']:.1f}",
            f"{b['p50_ms'] / a['p50_ms']:.2f}×",
        )
    ratios["chunks_per_s"] = other["chunks_per_s"] / base["chunks_per_s"]
    table.add_row(
        "ingestion chunks/s",
        f"{base['chunks_per_s']:.2f}",
        f"{other['chunks_per_s']:.2f}",
        f"{ratios['chunks_per_s']:.2f}×",
    )
    table.add_row("chunks", str(base["chunks"]), str(other["chunks"]), "")
    Console().print(table)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps({"dataset": args.dataset.name, "results": results, "ratios": ratios}, indent=2)
        + "\n"
    )


if __name__ == "__main__":
    main()
