"""Ingestion throughput: Greffier's whole pipeline against the bare embedder.

The same French documents (the CNIL FAQ contexts, written as text files) go through
Greffier's ingestion — store the file, parse, chunk, embed, index in SQLite — and, in the
same run, the same chunk texts through the embedder alone. Prints chunks/s for both and
the ratio: what parsing, chunking and indexing cost on top of embedding.
Run: `python benchmarks/ingest.py [--documents 150]`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from greffier.services.container import Services
from greffier.services.evaluation import load_squad
from greffier.settings import Settings

DATASET = Path(__file__).resolve().parents[2] / "shared/data/fr-qa/cnil-faq-squad.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=150)
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/ingest.json"))
    args = parser.parse_args()
    console = Console()
    documents, _ = load_squad(args.dataset, args.documents)
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(data_dir=Path(scratch), preload_default_model=False)
        services = Services.build(settings, run_jobs=False)
        who = services.identity.local_principal("bench", "admin")
        col = services.documents.create_collection(who, "bench")
        embedder = services.search.embedder
        embedder.embed(["échauffement"], "passage")  # load the model outside the timings
        files = [(name, text.encode("utf-8")) for name, text in documents]

        start = time.perf_counter()
        job = services.documents.submit(who, col.id, files).job_id
        services.documents.run_job(job)
        pipeline_s = time.perf_counter() - start

        rows = services.database.query("SELECT heading, text FROM chunks ORDER BY id")
        texts = [f"{r['heading']}\n{r['text']}" if r["heading"] else r["text"] for r in rows]
        start = time.perf_counter()
        for i in range(0, len(texts), 16):
            embedder.embed(texts[i : i + 16], "passage")
        bare_s = time.perf_counter() - start
    chunks = len(texts)
    report = {
        "documents": len(files),
        "chunks": chunks,
        "greffier_chunks_per_s": chunks / pipeline_s,
        "embedder_only_chunks_per_s": chunks / bare_s,
        "ratio": bare_s / pipeline_s,
    }
    table = Table(title=f"Ingestion of {len(files)} French documents ({chunks} chunks)")
    table.add_column("")
    table.add_column("chunks/s")
    table.add_row(
        "Greffier pipeline (store, parse, chunk, embed, index)",
        f"{report['greffier_chunks_per_s']:.2f}",
    )
    table.add_row(
        "multilingual-e5-small alone, same chunks", f"{report['embedder_only_chunks_per_s']:.2f}"
    )
    table.add_row("ratio", f"{report['ratio']:.3f}×")
    console.print(table)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
