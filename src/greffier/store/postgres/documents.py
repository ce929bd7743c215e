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
