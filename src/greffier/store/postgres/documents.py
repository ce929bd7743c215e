"""Documents on PostgreSQL: full text with PostgreSQL's own French configuration and
vectors in pgvector, both columns of ``chunks`` (store/postgres/migrations.py).

- Lexical: the question is analysed by the same ``greffier_french`` configuration as the
  chunks (stemming, accents folded, stop words out); any of its words may match; ranking
  is ``ts_rank``, which reads only the chunk's own text — no statistic of the whole index,
  so a score tells nothing about documents outside the caller's reach.
- Semantic: cosine distance through the HNSW index, the collection filter inside the same
  query; pgvector's iterative scan (set on every connection) keeps looking when the filter
  removes most candidates. No copy of the vectors in any process's memory.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from greffier.store.documents import DocumentStore
from greffier.store.records import Candidate, ChunkRow
from greffier.store.sqlite import id_list


class PgDocumentStore(DocumentStore):
    def __init__(self, db):
        self.db = db  # no RAM copy of the vectors: the HNSW index serves every process

    def _insert_chunk(self, conn, document_id: int, collection_id: int, c: ChunkRow) -> None:
        conn.execute(
            "INSERT INTO chunks (document_id, collection_id, ordinal, text, page, heading,"
            " char_start, char_end, tokens, embedding) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                np.asarray(c.vector, dtype=np.float32),
            ),
        )

    def _delete_chunk_rows(self, conn, chunk_ids: Sequence[int]) -> None:
        if chunk_ids:
            conn.execute(f"DELETE FROM chunks WHERE id IN ({id_list(chunk_ids)})")

    def counts(self) -> dict[str, int]:
        return {t: self.db.scalar(f"SELECT count(*) FROM {t}") for t in ("documents", "chunks")}

    def lexical(self, query: str, collection_ids: Sequence[int], limit: int) -> list[Candidate]:
        rows = self.db.query(
            "WITH q AS (SELECT to_tsquery('simple', string_agg(quote_literal(lexeme), ' | '))"
            " AS query FROM unnest(tsvector_to_array(to_tsvector('greffier_french', ?)))"
            " AS lexeme) "
            "SELECT c.id, ts_rank(c.tsv, q.query) AS score FROM chunks c, q "
            f"WHERE c.tsv @@ q.query AND c.collection_id IN ({id_list(collection_ids)}) "
            "ORDER BY score DESC, c.id LIMIT ?",
            (query, limit),
        )
        return [Candidate(r[0], i + 1, float(r[1])) for i, r in enumerate(rows)]

    def semantic(
        self, vector: np.ndarray, collection_ids: Sequence[int], limit: int
    ) -> list[Candidate]:
        query = np.asarray(vector, dtype=np.float32)
        rows = self.db.query(
            "SELECT id, 1 - (embedding <=> ?) AS score FROM chunks "
            f"WHERE collection_id IN ({id_list(collection_ids)}) "
            "ORDER BY embedding <=> ? LIMIT ?",
            (query, query, limit),
        )
        # The iterative scan may return near-ties slightly out of order.
        ranked = sorted(rows, key=lambda r: -r[1])
        return [Candidate(r[0], i + 1, float(r[1])) for i, r in enumerate(ranked)]

    # --- the embedder the vectors come from -----------------------------------------------

    def vector_dimensions(self) -> int:
        # pgvector keeps a column's length as its type modifier.
        return int(
            self.db.scalar(
                "SELECT atttypmod FROM pg_attribute WHERE attrelid = 'chunks'::regclass "
                "AND attname = 'embedding'"
            )
        )

    def resize_vectors(self, dimensions: int) -> None:
        """Give the empty index's vector column another length (``greffier db migrate`` of
        an index built with another embedder)."""
        with self.db.write() as conn:
            self._recreate_vectors(conn, dimensions)
            self._index_vectors(conn)

    def replace_vectors(
        self, model: str, dimensions: int, vectors: Sequence[tuple[int, np.ndarray]]
    ) -> None:
        with self.db.write() as conn:
            self._recreate_vectors(conn, dimensions)
            conn.executemany(
                "UPDATE chunks SET embedding = ? WHERE id = ?",
                [(np.asarray(v, dtype=np.float32), cid) for cid, v in vectors],
            )
            if conn.execute("SELECT 1 FROM chunks WHERE embedding IS NULL LIMIT 1").fetchone():
                raise ValueError("chunks were added while re-indexing: run it again")
            self._index_vectors(conn)
            self._record_space(conn, model, dimensions)

    def set_embedding_space(self, model: str, dimensions: int) -> None:
        with self.db.write() as conn:
            if dimensions != self.vector_dimensions():
                if conn.execute("SELECT 1 FROM chunks LIMIT 1").fetchone():
                    raise ValueError(
                        f"the index holds vectors of {self.vector_dimensions()} dimensions"
                    )
                self._recreate_vectors(conn, dimensions)
                self._index_vectors(conn)
            self._record_space(conn, model, dimensions)

    def _recreate_vectors(self, conn, dimensions: int) -> None:
        conn.execute("DROP INDEX IF EXISTS chunks_embedding")
        conn.execute("ALTER TABLE chunks ALTER COLUMN embedding DROP NOT NULL")
        conn.execute(
            f"ALTER TABLE chunks ALTER COLUMN embedding TYPE VECTOR({int(dimensions)}) USING NULL"
        )

    def _index_vectors(self, conn) -> None:
        conn.execute("ALTER TABLE chunks ALTER COLUMN embedding SET NOT NULL")
        conn.execute(
            "CREATE INDEX chunks_embedding ON chunks USING hnsw (embedding vector_cosine_ops)"
        )
