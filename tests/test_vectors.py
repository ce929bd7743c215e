"""The RAM copy of the vectors answers exactly what sqlite-vec answers, and follows writes
made by another process (another DocumentStore on the same file)."""

from __future__ import annotations

import numpy as np

from greffier.store.database import EMBEDDING_DIM, Database
from greffier.store.documents import ChunkRow, DocumentStore


def rows(rng, n: int) -> list[ChunkRow]:
    vectors = rng.standard_normal((n, EMBEDDING_DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [ChunkRow(i, f"t{i}", None, "", 0, 1, 1, f"t{i}", v) for i, v in enumerate(vectors)]


def setup(db: Database, store: DocumentStore) -> tuple[int, int]:
    with db.write() as conn:
        conn.execute("INSERT INTO users (name, role) VALUES ('u', 'admin')")
    a = store.create_collection("a", "", 1, "internal")
    b = store.create_collection("b", "", 1, "internal")
    return a, b


def test_same_answers_as_sqlite_vec_and_follows_other_writers(tmp_path):
    rng = np.random.default_rng(3)
    db = Database(tmp_path / "g.db")
    writer, reader = DocumentStore(db), DocumentStore(Database(tmp_path / "g.db"))
    a, b = setup(db, writer)
    docs = [writer.upsert_pending(c, f"d{i}", "sha", 1, "job") for i, c in enumerate((a, b, a))]
    for doc in docs:
        writer.replace_chunks(doc, "text", None, [], rows(rng, 40))
    queries = rng.standard_normal((20, EMBEDDING_DIM)).astype(np.float32)

    def agree(collections):
        for q in queries:
            ours = [c.chunk_id for c in reader.semantic(q, collections, 10)]
            theirs = [c.chunk_id for c in reader.semantic_sqlite_vec(q, collections, 10)]
            assert ours == theirs

    agree([a])
    agree([a, b])
    assert all(c.chunk_id > 0 for c in reader.semantic(queries[0], [b], 100))
    assert len(reader.semantic(queries[0], [b], 100)) == 40  # only b's chunks, all of them
    # Another process replaces one document and deletes another: the reader follows.
    writer.replace_chunks(docs[0], "text", None, [], rows(rng, 5))
    writer.delete_document(docs[2])
    agree([a])
    assert len(reader.semantic(queries[0], [a], 1000)) == 5
    assert reader.semantic(queries[0], [], 10) == []


def test_reader_behind_a_pruned_log_reloads(tmp_path, monkeypatch):
    import greffier.store.documents as documents

    monkeypatch.setattr(documents, "LOG_KEEP", 3)
    rng = np.random.default_rng(4)
    db = Database(tmp_path / "g.db")
    writer, reader = DocumentStore(db), DocumentStore(Database(tmp_path / "g.db"))
    a, _ = setup(db, writer)
    doc = writer.upsert_pending(a, "d", "sha", 1, "job")
    writer.replace_chunks(doc, "text", None, [], rows(rng, 10))
    q = rng.standard_normal(EMBEDDING_DIM).astype(np.float32)
    assert len(reader.semantic(q, [a], 100)) == 10
    for _ in range(3):  # each replacement deletes (and logs) the old rows, pruning the log
        writer.replace_chunks(doc, "text", None, [], rows(rng, 7))
    ours = [c.chunk_id for c in reader.semantic(q, [a], 100)]
    assert sorted(ours) == sorted(c.chunk_id for c in reader.semantic_sqlite_vec(q, [a], 100))
    assert len(ours) == 7
