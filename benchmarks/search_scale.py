"""Search at scale: 100,000 chunks in Greffier's SQLite store against exact brute force.

Synthetic chunks (random unit vectors, French-like text from a fixed vocabulary) are
written straight into a real store. Each query runs Greffier's hybrid search path (FTS5
BM25 + sqlite-vec KNN + reciprocal rank fusion + fetching the chunks) and, in the same run,
an exact numpy brute-force KNN over the same vectors. Prints p50/p95 latency of both, the
vector part's recall@10 against the exact answer, and the ratios.
Run: `python benchmarks/search_scale.py [--chunks 100000] [--queries 200]`.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import track
from rich.table import Table

from greffier.documents.analysis import index_text, match_expression
from greffier.services.search import fuse
from greffier.store.database import EMBEDDING_DIM, Database
from greffier.store.documents import DocumentStore

VOCABULARY = (
    "budget conseil municipal délibération commune maire adjoint voirie école cantine "
    "personnel agent contrat recrutement formation congé retraite salaire prime marché "
    "public appel offre subvention association culture sport piscine médiathèque urbanisme "
    "permis construire logement social transport bus vélo parking environnement déchet "
    "eau assainissement énergie éclairage sécurité police incendie santé crèche jeunesse"
).split()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/search_scale.json"))
    args = parser.parse_args()
    console = Console()
    rng = np.random.default_rng(7)
    words = random.Random(7)
    vectors = rng.standard_normal((args.chunks, EMBEDDING_DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    with tempfile.TemporaryDirectory() as scratch:
        db = Database(Path(scratch) / "scale.db")
        store = DocumentStore(db)
        with db.write() as conn:
            conn.execute("INSERT INTO users (name, role) VALUES ('bench', 'admin')")
            conn.execute("INSERT INTO collections (name, owner_id) VALUES ('scale', 1)")
            conn.execute(
                "INSERT INTO documents (collection_id, name, sha256, size, status) "
                "VALUES (1, 'synthetic', '', 0, 'indexed')"
            )
        batch = 5000
        for start in track(range(0, args.chunks, batch), description="Writing chunks"):
            with db.write() as conn:
                for i in range(start, min(start + batch, args.chunks)):
                    text = " ".join(words.choices(VOCABULARY, k=60))
                    conn.execute(
                        "INSERT INTO chunks (id, document_id, collection_id, ordinal, text, "
                        "char_start, char_end, tokens) VALUES (?, 1, 1, ?, ?, 0, ?, 60)",
                        (i + 1, i, text, len(text)),
                    )
                    conn.execute(
                        "INSERT INTO chunks_fts (rowid, body) VALUES (?, ?)",
                        (i + 1, index_text(text)),
                    )
                    conn.execute(
                        "INSERT INTO chunks_vec (chunk_id, collection_id, embedding) "
                        "VALUES (?, 1, ?)",
                        (i + 1, vectors[i].tobytes()),
                    )
        queries = rng.standard_normal((args.queries, EMBEDDING_DIM)).astype(np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        texts = [" ".join(words.choices(VOCABULARY, k=4)) for _ in range(args.queries)]
        greffier_ms, brute_ms, recalls = [], [], []
        store.semantic(queries[0], [1], 10)  # warm the page cache once
        for q, text in track(list(zip(queries, texts, strict=True)), description="Querying"):
            start = time.perf_counter()
            lexical = store.lexical(match_expression(text), [1], 50)
            semantic = store.semantic(q, [1], 50)
            scores = fuse([lexical, semantic])
            best = sorted(scores, key=scores.get, reverse=True)[:10]
            store.chunks_with_documents(best)
            greffier_ms.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            exact = np.argpartition(-(vectors @ q), 10)[:10] + 1
            brute_ms.append((time.perf_counter() - start) * 1000)
            found = {c.chunk_id for c in semantic[:10]}
            recalls.append(len(found & set(exact.tolist())) / 10)
    report = {
        "chunks": args.chunks,
        "queries": args.queries,
        "greffier_hybrid_ms": {
            "p50": statistics.median(greffier_ms),
            "p95": percentile(greffier_ms, 0.95),
        },
        "numpy_exact_knn_ms": {
            "p50": statistics.median(brute_ms),
            "p95": percentile(brute_ms, 0.95),
        },
        "vector_recall_at_10": statistics.mean(recalls),
    }
    report["p95_ratio"] = report["greffier_hybrid_ms"]["p95"] / report["numpy_exact_knn_ms"]["p95"]
    table = Table(title=f"Search over {args.chunks:,} chunks, {args.queries} queries")
    for column in ("", "p50 ms", "p95 ms", "recall@10"):
        table.add_column(column)
    g, b = report["greffier_hybrid_ms"], report["numpy_exact_knn_ms"]
    table.add_row(
        "Greffier hybrid (FTS5 + sqlite-vec + RRF)",
        f"{g['p50']:.1f}",
        f"{g['p95']:.1f}",
        f"{report['vector_recall_at_10']:.3f}",
    )
    table.add_row(
        "numpy exact KNN (vectors only, in RAM)", f"{b['p50']:.1f}", f"{b['p95']:.1f}", "1.000"
    )
    table.add_row("ratio (p95)", "", f"{report['p95_ratio']:.2f}×", "")
    console.print(table)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
