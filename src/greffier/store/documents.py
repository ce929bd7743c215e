"""Collections, documents, chunks, and their full-text and vector rows.

Every statement that reads chunks takes the set of collection ids the caller may read and
applies it inside the query, before ranking and ``LIMIT``: nothing outside that set is
ever scored, counted or returned.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence

import numpy as np

from greffier.documents import analysis
from greffier.store.database import Database
from greffier.store.records import (
    Candidate,
    Chunk,
    ChunkRow,
    ChunkSource,
    Collection,
    Document,
    EmbeddingSpace,
    from_row,
)
from greffier.store.sqlite import id_list
from greffier.store.vectors import LOG_KEEP, VectorIndex, vec0_table

# Lexical search leaves out terms found in more than COMMON_SHARE of the chunks, and in
# more than COMMON_MIN of them (small collections are fast whatever the terms).
COMMON_SHARE = 0.05
COMMON_MIN = 2000
# BM25's usual constants (FTS5 uses the same): term-frequency saturation, length weight.
BM25_K1 = 1.2
BM25_B = 0.75


_COLLECTION = (
    "SELECT c.*, (SELECT count(*) FROM documents d WHERE d.collection_id = c.id) AS documents "
    "FROM collections c"
)


def _collection(row) -> Collection:
    return from_row(Collection, row)


def _document(row) -> Document:
    return from_row(
        Document,
        row,
        warnings=json.loads(row["warnings"]),
        personal_data=json.loads(row["pii"]),
    )


def _chunk(row) -> Chunk:
    return from_row(Chunk, row)


class DocumentStore:
    def __init__(self, db: Database):
        self.db = db
        self.vectors = VectorIndex(db)

    # --- collections -------------------------------------------------------------------

    def create_collection(
        self,
        name: str,
        description: str,
        owner_id: int,
        sensitivity: str,
        pii_policy: str = "report",
        meeting_id: int | None = None,
    ) -> int:
        with self.db.write() as conn:
            return conn.execute(
                "INSERT INTO collections (name, description, owner_id, sensitivity, pii_policy,"
                " meeting_id) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (name, description, owner_id, sensitivity, pii_policy, meeting_id),
            ).fetchone()[0]

    def update_collection(self, collection_id: int, **fields) -> None:
        assert set(fields) <= {"description", "sensitivity", "pii_policy", "name"}
        columns = ", ".join(f"{name} = ?" for name in fields)
        with self.db.write() as conn:
            conn.execute(
                f"UPDATE collections SET {columns} WHERE id = ?", (*fields.values(), collection_id)
            )

    def meeting_collection(self, meeting_id: int) -> Collection | None:
        row = self.db.query_one(f"{_COLLECTION} WHERE c.meeting_id = ?", (meeting_id,))
        return _collection(row) if row else None

    def collection_by_name(self, owner_id: int, name: str) -> Collection | None:
        row = self.db.query_one(
            f"{_COLLECTION} WHERE c.owner_id = ? AND c.name = ?", (owner_id, name)
        )
        return _collection(row) if row else None

    def collection(self, collection_id: int) -> Collection | None:
        row = self.db.query_one(f"{_COLLECTION} WHERE c.id = ?", (collection_id,))
        return _collection(row) if row else None

    def collections(self, ids: Sequence[int]) -> list[Collection]:
        rows = self.db.query(f"{_COLLECTION} WHERE c.id IN ({id_list(ids)}) ORDER BY c.id")
        return [_collection(r) for r in rows]

    def delete_collection(self, collection_id: int) -> list[str]:
        """Delete a collection and everything derived; return the sha256 of its files."""
        with self.db.write() as conn:
            shas = [
                r[0]
                for r in conn.execute(
                    "SELECT sha256 FROM documents WHERE collection_id = ?", (collection_id,)
                )
            ]
            chunk_ids = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM chunks WHERE collection_id = ?", (collection_id,)
                )
            ]
            self._delete_chunk_rows(conn, chunk_ids)
            conn.execute("DELETE FROM collections WHERE id = ?", (collection_id,))
        return shas

    # --- documents ---------------------------------------------------------------------

    def document(self, document_id: int) -> Document | None:
        row = self.db.query_one("SELECT * FROM documents WHERE id = ?", (document_id,))
        return _document(row) if row else None

    def document_by_name(self, collection_id: int, name: str) -> Document | None:
        row = self.db.query_one(
            "SELECT * FROM documents WHERE collection_id = ? AND name = ?", (collection_id, name)
        )
        return _document(row) if row else None

    def documents(self, collection_id: int) -> list[Document]:
        rows = self.db.query(
            "SELECT * FROM documents WHERE collection_id = ? ORDER BY name", (collection_id,)
        )
        return [_document(r) for r in rows]

    def documents_of_job(self, job_id: str) -> list[Document]:
        rows = self.db.query("SELECT * FROM documents WHERE job_id = ? ORDER BY id", (job_id,))
        return [_document(r) for r in rows]

    def upsert_pending(
        self, collection_id: int, name: str, sha256: str, size: int, job_id: str
    ) -> int:
        """Register a file to index; its old chunks stay searchable until it is replaced."""
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT id FROM documents WHERE collection_id = ? AND name = ?",
                (collection_id, name),
            ).fetchone()
            if row:
                conn.execute(
                    "UPDATE documents SET sha256 = ?, size = ?, status = 'pending', error = NULL,"
                    f" error_code = NULL, job_id = ?, updated_at = {self.db.now} WHERE id = ?",
                    (sha256, size, job_id, row[0]),
                )
                return row[0]
            return conn.execute(
                "INSERT INTO documents (collection_id, name, sha256, size, status, job_id) "
                "VALUES (?, ?, ?, ?, 'pending', ?) RETURNING id",
                (collection_id, name, sha256, size, job_id),
            ).fetchone()[0]

    def pending_documents(self, job_id: str) -> list[Document]:
        rows = self.db.query(
            "SELECT * FROM documents WHERE job_id = ? AND status = 'pending' ORDER BY id",
            (job_id,),
        )
        return [_document(r) for r in rows]

    def replace_chunks(
        self,
        document_id: int,
        fmt: str,
        pages: int | None,
        warnings: list[str],
        chunks: Sequence[ChunkRow],
        pii: dict[str, int] | None = None,
    ) -> None:
        """Swap a document's chunks for new ones in one transaction: readers see the old
        set or the new one, never a mix, and a crash leaves the old set."""
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT collection_id FROM documents WHERE id = ?", (document_id,)
            ).fetchone()
            if row is None:  # deleted (or its collection) while it was being indexed
                return
            collection_id = row[0]
            old = [
                r[0]
                for r in conn.execute("SELECT id FROM chunks WHERE document_id = ?", (document_id,))
            ]
            self._delete_chunk_rows(conn, old)
            for c in chunks:
                self._insert_chunk(conn, document_id, collection_id, c)
            conn.execute(
                "UPDATE documents SET status = 'indexed', format = ?, pages = ?, warnings = ?,"
                " chunks = ?, pii = ?, error = NULL, error_code = NULL,"
                f" updated_at = {self.db.now} WHERE id = ?",
                (
                    fmt,
                    pages,
                    json.dumps(warnings, ensure_ascii=False),
                    len(chunks),
                    json.dumps(pii or {}),
                    document_id,
                ),
            )

    def mark_failed(self, document_id: int, code: str, message: str) -> None:
        """A file that could not be indexed: no chunk of it remains."""
        with self.db.write() as conn:
            old = [
                r[0]
                for r in conn.execute("SELECT id FROM chunks WHERE document_id = ?", (document_id,))
            ]
            self._delete_chunk_rows(conn, old)
            conn.execute(
                "UPDATE documents SET status = 'failed', error_code = ?, error = ?, chunks = 0,"
                f" updated_at = {self.db.now} WHERE id = ?",
                (code, message, document_id),
            )

    def delete_document(self, document_id: int) -> str | None:
        """Delete a document, its chunks, vectors and full-text rows; return its sha256."""
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT sha256 FROM documents WHERE id = ?", (document_id,)
            ).fetchone()
            if row is None:
                return None
            old = [
                r[0]
                for r in conn.execute("SELECT id FROM chunks WHERE document_id = ?", (document_id,))
            ]
            self._delete_chunk_rows(conn, old)
            conn.execute("DELETE FROM documents WHERE id = ?", (document_id,))
            return row[0]

    def chunks_of(self, document_id: int) -> list[Chunk]:
        rows = self.db.query(
            "SELECT * FROM chunks WHERE document_id = ? ORDER BY ordinal", (document_id,)
        )
        return [_chunk(r) for r in rows]

    def sha_in_use(self, sha256: str) -> bool:
        return self.db.query_one("SELECT 1 FROM documents WHERE sha256 = ?", (sha256,)) is not None

    # --- the index: SQLite's own (FTS5, sqlite-vec, the vector log); store/postgres differs

    def _insert_chunk(self, conn, document_id: int, collection_id: int, c: ChunkRow) -> None:
        chunk_id = conn.execute(
            "INSERT INTO chunks (document_id, collection_id, ordinal, text, page, heading,"
            " char_start, char_end, tokens) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                document_id,
                collection_id,
                c.ordinal,
                c.text,
                c.page,
                c.heading,
                c.char_start,
                c.char_end,
                c.tokens,
            ),
        ).fetchone()[0]
        conn.execute("INSERT INTO chunks_fts (rowid, body) VALUES (?, ?)", (chunk_id, c.index_text))
        conn.execute(
            "INSERT INTO chunks_vec (chunk_id, collection_id, embedding) VALUES (?, ?, ?)",
            (chunk_id, collection_id, c.vector.astype(np.float32).tobytes()),
        )
        conn.execute("INSERT INTO vector_log (chunk_id, op) VALUES (?, 'add')", (chunk_id,))

    def _delete_chunk_rows(self, conn, chunk_ids: Sequence[int]) -> None:
        if not chunk_ids:
            return
        ids = id_list(chunk_ids)
        conn.execute(f"DELETE FROM chunks_fts WHERE rowid IN ({ids})")
        conn.execute(f"DELETE FROM chunks_vec WHERE chunk_id IN ({ids})")
        conn.execute(f"DELETE FROM chunks WHERE id IN ({ids})")
        conn.executemany(
            "INSERT INTO vector_log (chunk_id, op) VALUES (?, 'del')", [(i,) for i in chunk_ids]
        )
        conn.execute(
            "DELETE FROM vector_log WHERE seq <= (SELECT max(seq) FROM vector_log) - ?", (LOG_KEEP,)
        )

    # --- the embedder the vectors come from -----------------------------------------------

    def embedding_space(self) -> EmbeddingSpace | None:
        row = self.db.query_one("SELECT model, dimensions FROM embedding_space")
        return EmbeddingSpace(row[0], int(row[1])) if row else None

    def vector_dimensions(self) -> int:
        sql = self.db.scalar("SELECT sql FROM sqlite_master WHERE name = 'chunks_vec'")
        return int(re.search(r"float\[(\d+)\]", sql).group(1))

    def has_chunks(self) -> bool:
        return self.db.query_one("SELECT 1 FROM chunks LIMIT 1") is not None

    def set_embedding_space(self, model: str, dimensions: int) -> None:
        with self.db.write() as conn:
            if dimensions != self.vector_dimensions():
                if conn.execute("SELECT 1 FROM chunks LIMIT 1").fetchone():
                    raise ValueError(
                        f"the index holds vectors of {self.vector_dimensions()} dimensions"
                    )
                self._recreate_vectors(conn, dimensions)
            self._record_space(conn, model, dimensions)

    def chunk_texts(self, after_id: int, limit: int) -> list[tuple[int, str, str]]:
        rows = self.db.query(
            "SELECT id, heading, text FROM chunks WHERE id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def replace_vectors(
        self, model: str, dimensions: int, vectors: Sequence[tuple[int, np.ndarray]]
    ) -> None:
        with self.db.write() as conn:
            collection = dict(conn.execute("SELECT id, collection_id FROM chunks").fetchall())
            if set(collection) - {cid for cid, _ in vectors}:
                raise ValueError("chunks were added while re-indexing: run it again")
            self._recreate_vectors(conn, dimensions)
            conn.executemany(
                "INSERT INTO chunks_vec (chunk_id, collection_id, embedding) VALUES (?, ?, ?)",
                [
                    (cid, collection[cid], np.asarray(v, dtype=np.float32).tobytes())
                    for cid, v in vectors
                    if cid in collection
                ],
            )
            # Every process's RAM copy is reloaded: the log restarts above its old end.
            conn.execute("DELETE FROM vector_log")
            conn.executemany(
                "INSERT INTO vector_log (chunk_id, op) VALUES (?, 'add')",
                [(cid,) for cid in collection],
            )
            self._record_space(conn, model, dimensions)

    def _recreate_vectors(self, conn, dimensions: int) -> None:
        conn.execute("DROP TABLE chunks_vec")
        conn.execute(vec0_table(dimensions))

    def _record_space(self, conn, model: str, dimensions: int) -> None:
        conn.execute(
            "INSERT INTO embedding_space (id, model, dimensions) VALUES (1, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET model = excluded.model, "
            f"dimensions = excluded.dimensions, updated_at = {self.db.now}",
            (model, dimensions),
        )

    def counts(self) -> dict[str, int]:
        """Rows per table: what a deletion test compares."""
        return {
            t: self.db.query_one(f"SELECT count(*) FROM {t}")[0]
            for t in ("documents", "chunks", "chunks_fts", "chunks_vec")
        }

    # --- search --------------------------------------------------------------------------

    def lexical(self, query: str, collection_ids: Sequence[int], limit: int) -> list[Candidate]:
        """BM25 over the query's analysed terms (any of them may match), every statistic taken from
        the collections searched and nothing else: how many chunks they hold, their average
        length, how many of their chunks hold each term. So neither the scores nor the order
        say anything about text outside ``collection_ids`` (FTS5's own ``bm25()`` counts the
        whole index: a member could tell whether a word occurs in documents they cannot
        read). FTS5 only finds the matching chunks; the score is computed here, with a
        term's presence in a chunk (not its count) and the chunk's length in embedder
        tokens (docs/benchmarks.md measures what that costs in quality and time)."""
        terms = list(dict.fromkeys(analysis.terms(query)))
        if not terms or not collection_ids:
            return []
        scope = id_list(collection_ids)
        total, average = self.db.query_one(
            f"SELECT count(*), avg(tokens) FROM chunks WHERE collection_id IN ({scope})"
        )
        if not total:
            return []
        marks = ",".join("?" * len(terms))
        everywhere = dict(
            self.db.query(f"SELECT term, doc FROM chunks_vocab WHERE term IN ({marks})", terms)
        )
        whole_index = total == self.db.scalar("SELECT count(*) FROM chunks")
        # A term found in a large share of the chunks searched adds little to BM25 (its idf
        # is near zero) but costs a scan of much of the index: at 100,000 chunks, ~100 ms.
        # Such terms count only when nothing rarer is left in the query.
        common = max(COMMON_SHARE * total, COMMON_MIN)
        matches: dict[str, dict[int, int]] = {}  # term -> {chunk id: length}
        frequency: dict[str, int] = {}  # term -> chunks searched that hold it
        for term in terms:
            anywhere = everywhere.get(term, 0)
            if not anywhere:
                continue
            if whole_index:  # the index's own counts are the scope's
                frequency[term] = anywhere
            elif anywhere <= common:  # no more in the scope than in the whole index
                matches[term] = self._matches(term, scope)
                frequency[term] = len(matches[term])
            else:
                frequency[term] = self._count(term, scope, int(common) + 1)
        present = {t: n for t, n in frequency.items() if n}
        if not present:
            return []
        chosen = [t for t, n in present.items() if n <= common] or [min(present, key=present.get)]
        scores: dict[int, float] = {}
        for term in chosen:
            found = matches.get(term)
            if found is None:
                found = self._matches(term, scope)
            n = len(found)
            idf = math.log(1 + (total - n + 0.5) / (n + 0.5))
            for chunk_id, length in found.items():
                norm = BM25_K1 * (1 - BM25_B + BM25_B * length / average)
                scores[chunk_id] = scores.get(chunk_id, 0.0) + idf * (BM25_K1 + 1) / (1 + norm)
        best = sorted(scores, key=lambda cid: (-scores[cid], cid))[:limit]
        return [Candidate(cid, i + 1, scores[cid]) for i, cid in enumerate(best)]

    def _matches(self, term: str, scope: str) -> dict[int, int]:
        """Chunks of the scope holding ``term``, with their lengths. CROSS JOIN: the full-
        text match first, then each match's collection (never a full-text lookup per chunk
        of the scope)."""
        rows = self.db.query(
            "SELECT c.id, c.tokens FROM chunks_fts CROSS JOIN chunks c ON c.id = chunks_fts.rowid "
            f"WHERE chunks_fts MATCH ? AND c.collection_id IN ({scope})",
            (f'"{term}"',),
        )
        return {r[0]: r[1] for r in rows}

    def _count(self, term: str, scope: str, cap: int) -> int:
        """How many chunks of the scope hold ``term``, counted up to ``cap``."""
        return self.db.scalar(
            "SELECT count(*) FROM (SELECT 1 FROM chunks_fts CROSS JOIN chunks c "
            f"ON c.id = chunks_fts.rowid WHERE chunks_fts MATCH ? AND c.collection_id IN ({scope}) "
            "LIMIT ?)",
            (f'"{term}"', cap),
        )

    def lexical_fts5(
        self, query: str, collection_ids: Sequence[int], limit: int
    ) -> list[Candidate]:
        """FTS5's own BM25, whose statistics span the whole index (not scope-local: kept
        only to compare with, in benchmarks/search_scale.py)."""
        terms = list(dict.fromkeys(analysis.terms(query)))
        if not terms:
            return []
        marks = ",".join("?" * len(terms))
        frequency = dict(
            self.db.query(f"SELECT term, doc FROM chunks_vocab WHERE term IN ({marks})", terms)
        )
        present = [t for t in terms if frequency.get(t)]
        if not present:
            return []
        total = self.db.query_one("SELECT count(*) FROM chunks")[0]
        common = max(COMMON_SHARE * total, COMMON_MIN)
        rare = [t for t in present if frequency[t] <= common]
        chosen = rare or [min(present, key=frequency.get)]
        match = " OR ".join(f'"{t}"' for t in chosen)
        rows = self.db.query(
            "SELECT c.id, bm25(chunks_fts) AS score FROM chunks_fts "
            "CROSS JOIN chunks c ON c.id = chunks_fts.rowid "
            f"WHERE chunks_fts MATCH ? AND c.collection_id IN ({id_list(collection_ids)}) "
            "ORDER BY score LIMIT ?",
            (match, limit),
        )
        # bm25() is lower-is-better; report higher-is-better.
        return [Candidate(r[0], i + 1, -r[1]) for i, r in enumerate(rows)]

    def semantic(
        self, vector: np.ndarray, collection_ids: Sequence[int], limit: int
    ) -> list[Candidate]:
        hits = self.vectors.search(vector, collection_ids, limit)
        return [Candidate(cid, i + 1, score) for i, (cid, score) in enumerate(hits)]

    def semantic_sqlite_vec(
        self, vector: np.ndarray, collection_ids: Sequence[int], limit: int
    ) -> list[Candidate]:
        """The same search answered by sqlite-vec itself (slower; kept for comparison)."""
        rows = self.db.query(
            "SELECT chunk_id, distance FROM chunks_vec WHERE embedding MATCH ? AND k = ? "
            f"AND collection_id IN ({id_list(collection_ids)}) ORDER BY distance",
            (vector.astype(np.float32).tobytes(), limit),
        )
        return [Candidate(r[0], i + 1, 1.0 - r[1]) for i, r in enumerate(rows)]

    def chunks_with_documents(self, chunk_ids: Sequence[int]) -> dict[int, ChunkSource]:
        """The chunks found by a search, by id, with where they come from."""
        rows = self.db.query(
            "SELECT c.*, d.name AS document_name, "
            "CASE WHEN col.meeting_id IS NULL THEN col.name ELSE 'Réunions' END "
            "AS collection_name, col.meeting_id FROM chunks c "
            "JOIN documents d ON d.id = c.document_id "
            f"JOIN collections col ON col.id = d.collection_id WHERE c.id IN ({id_list(chunk_ids)})"
        )
        return {
            r["id"]: ChunkSource(
                _chunk(r), r["document_name"], r["collection_name"], r["meeting_id"]
            )
            for r in rows
        }
