"""Search at scale: 100,000 chunks in Greffier's store.

Synthetic chunks — random unit vectors, and text drawn from a 20,000-word vocabulary with
Zipf-like frequencies, as in real prose — are written into a real store, spread over ten
collections. Each query runs Greffier's hybrid search over all of them (scope-local BM25,
exact KNN over the RAM copy of the vectors, rank fusion, fetching the chunks) and, in the
same run, the same KNN answered by sqlite-vec itself and by a bare numpy product over the
same vectors. The lexical part is also timed over one collection of the ten (a member's
scope), beside FTS5's own bm25() (statistics of the whole index, what Greffier no longer
returns) on the same queries and scopes. Prints p50/p95 latencies, the vector part's
recall@10 against the exact answer, and the ratios.
Run: `python benchmarks/search_scale.py [--chunks 100000] [--queries 200]`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import track
from rich.table import Table

from greffier.documents.analysis import index_text
from greffier.services.search import fuse
from greffier.store.database import EMBEDDING_DIM, Database
from greffier.store.documents import DocumentStore

SYLLABLES = "ba be bi bo bu da de di do du la le li lo lu ma me mi mo mu ra re ri ro ru".split()


def vocabulary(rng: np.random.Generator, size: int = 20_000) -> tuple[list[str], np.ndarray]:
    words = sorted({"".join(rng.choice(SYLLABLES, 4)) for _ in range(size * 2)})[:size]
    weights = 1.0 / np.arange(1, len(words) + 1) ** 1.07  # Zipf: the n-th word ~ 1/n
    return words, weights / weights.sum()


COLLECTIONS = range(1, 11)


def home(chunk_id: int) -> int:
    """The collection a chunk is written to: ten collections, chunks dealt in turn."""
    return (chunk_id - 1) % len(COLLECTIONS) + 1


def timing(values: list[float]) -> dict[str, float]:
    return {"p50": statistics.median(values), "p95": percentile(values, 0.95)}


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
    words, weights = vocabulary(rng)

    def sentence(n: int) -> str:
        return " ".join(words[i] for i in rng.choice(len(words), n, p=weights))

    vectors = rng.standard_normal((args.chunks, EMBEDDING_DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    with tempfile.TemporaryDirectory() as scratch:
        db = Database(Path(scratch) / "scale.db")
        store = DocumentStore(db)
        with db.write() as conn:
            conn.execute("INSERT INTO users (name, role) VALUES ('bench', 'admin')")
            for c in COLLECTIONS:
                conn.execute("INSERT INTO collections (name, owner_id) VALUES (?, 1)", (f"c{c}",))
                conn.execute(
                    "INSERT INTO documents (collection_id, name, sha256, size, status) "
                    "VALUES (?, 'synthetic', '', 0, 'indexed')",
                    (c,),
                )
        batch = 5000
        for start in track(range(0, args.chunks, batch), description="Writing chunks"):
            ids = range(start + 1, min(start + batch, args.chunks) + 1)
            texts = [sentence(60) for _ in ids]
            with db.write() as conn:
                conn.executemany(
                    "INSERT INTO chunks (id, document_id, collection_id, ordinal, text, "
                    "char_start, char_end, tokens) VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
                    [
                        (i, home(i), home(i), i, t, len(t), len(t.split()))
                        for i, t in zip(ids, texts, strict=True)
                    ],
                )
                conn.executemany(
                    "INSERT INTO chunks_fts (rowid, body) VALUES (?, ?)",
                    [(i, index_text(t)) for i, t in zip(ids, texts, strict=True)],
                )
                conn.executemany(
                    "INSERT INTO chunks_vec (chunk_id, collection_id, embedding) VALUES (?, ?, ?)",
                    [(i, home(i), vectors[i - 1].tobytes()) for i in ids],
                )
                conn.executemany(
                    "INSERT INTO vector_log (chunk_id, op) VALUES (?, 'add')", [(i,) for i in ids]
                )
        queries = rng.standard_normal((args.queries, EMBEDDING_DIM)).astype(np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        texts = [sentence(4) for _ in range(args.queries)]
        greffier_ms, lexical_ms, vec_ms, brute_ms, recalls = [], [], [], [], []
        lexical_fts5_ms, one_ms, one_fts5_ms, overlap = [], [], [], []
        everything, one = list(COLLECTIONS), [1]
        store.semantic(queries[0], everything, 10)  # load the RAM copy once, as a server does
        store.semantic_sqlite_vec(queries[0], everything, 10)
        for q, text in track(list(zip(queries, texts, strict=True)), description="Querying"):
            start = time.perf_counter()
            lexical = store.lexical(text, everything, 50)
            lexical_ms.append((time.perf_counter() - start) * 1000)
            semantic = store.semantic(q, everything, 50)
            scores = fuse([lexical, semantic])
            best = sorted(scores, key=scores.get, reverse=True)[:10]
            store.chunks_with_documents(best)
            greffier_ms.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            reference = store.lexical_fts5(text, everything, 50)
            lexical_fts5_ms.append((time.perf_counter() - start) * 1000)
            ours, theirs = {c.chunk_id for c in lexical[:10]}, {c.chunk_id for c in reference[:10]}
            if theirs:
                overlap.append(len(ours & theirs) / len(theirs))
            start = time.perf_counter()
            store.lexical(text, one, 50)
            one_ms.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            store.lexical_fts5(text, one, 50)
            one_fts5_ms.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            store.semantic_sqlite_vec(q, everything, 50)
            vec_ms.append((time.perf_counter() - start) * 1000)
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
        "lexical_part_ms": timing(lexical_ms),
        "fts5_bm25_index_wide_ms": timing(lexical_fts5_ms),
        "lexical_one_collection_ms": timing(one_ms),
        "fts5_bm25_one_collection_ms": timing(one_fts5_ms),
        "lexical_top10_overlap_with_fts5": statistics.mean(overlap),
        "sqlite_vec_knn_ms": {"p50": statistics.median(vec_ms), "p95": percentile(vec_ms, 0.95)},
        "numpy_exact_knn_ms": {
            "p50": statistics.median(brute_ms),
            "p95": percentile(brute_ms, 0.95),
        },
        "vector_recall_at_10": statistics.mean(recalls),
    }
    report["p95_ratio_vs_sqlite_vec"] = (
        report["greffier_hybrid_ms"]["p95"] / report["sqlite_vec_knn_ms"]["p95"]
    )
    table = Table(title=f"Search over {args.chunks:,} chunks, {args.queries} queries")
    for column in ("", "p50 ms", "p95 ms", "recall@10"):
        table.add_column(column)
    g, b = report["greffier_hybrid_ms"], report["numpy_exact_knn_ms"]
    lx, sv = report["lexical_part_ms"], report["sqlite_vec_knn_ms"]
    rows = [
        ("Greffier hybrid search, whole", g, f"{report['vector_recall_at_10']:.3f}"),
        ("  of which lexical (scope-local BM25)", lx, ""),
        ("FTS5 bm25() alone, index-wide statistics", report["fts5_bm25_index_wide_ms"], ""),
        ("Greffier lexical, one collection of ten", report["lexical_one_collection_ms"], ""),
        ("FTS5 bm25() alone, one collection of ten", report["fts5_bm25_one_collection_ms"], ""),
        ("sqlite-vec KNN alone, same vectors", sv, "1.000"),
        ("numpy exact KNN alone, in RAM", b, "1.000"),
    ]
    for label, spent, recall in rows:
        table.add_row(label, f"{spent['p50']:.1f}", f"{spent['p95']:.1f}", recall)
    table.add_row(
        "Greffier hybrid / sqlite-vec KNN (p95)",
        "",
        f"{report['p95_ratio_vs_sqlite_vec']:.2f}×",
        "",
    )
    for label, ours, theirs in (
        ("all", "lexical_part_ms", "fts5_bm25_index_wide_ms"),
        ("one collection", "lexical_one_collection_ms", "fts5_bm25_one_collection_ms"),
    ):
        ratio = report[ours]["p95"] / report[theirs]["p95"]
        report[f"lexical_p95_ratio_vs_fts5_{label.replace(' ', '_')}"] = ratio
        table.add_row(f"scope-local lexical / FTS5 bm25() ({label}, p95)", "", f"{ratio:.2f}×", "")
    table.add_row(
        "top-10 lexical chunks shared with FTS5 bm25()",
        "",
        "",
        f"{report['lexical_top10_overlap_with_fts5']:.3f}",
    )
    console.print(table)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
