"""What the database still holds about a person: the rows an erasure must leave at zero.

Read-only: this is the census that proves an erasure, so it reads every table that can
hold something of a person. The deleting is done by each table's own store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from greffier.store.database import Database
from greffier.store.sqlite import id_list


class ErasureStore:
    # Tables of the search index apart from chunks (SQLite's full text and vectors), by the
    # column holding the chunk id.
    index_tables: ClassVar[dict[str, str]] = {"chunks_fts": "rowid", "chunks_vec": "chunk_id"}

    def __init__(self, db: Database):
        self.db = db

    def owned(self, user_id: int) -> tuple[list[int], list[int]]:
        """(document collection ids, meeting ids) the user owns."""
        collections = self.db.query(
            "SELECT id FROM collections WHERE owner_id = ? AND meeting_id IS NULL", (user_id,)
        )
        meetings = self.db.query("SELECT id FROM meetings WHERE owner_id = ?", (user_id,))
        return [r[0] for r in collections], [r[0] for r in meetings]

    def derived(self, collection_ids: Sequence[int], meeting_ids: Sequence[int]):
        """Chunk ids and file hashes derived from these collections and meetings."""
        where = (
            f"collection_id IN ({id_list(collection_ids)}) OR collection_id IN (SELECT id FROM "
            f"collections WHERE meeting_id IN ({id_list(meeting_ids)}))"
        )
        chunks = [r[0] for r in self.db.query(f"SELECT id FROM chunks WHERE {where}")]
        files = [r[0] for r in self.db.query(f"SELECT sha256 FROM documents WHERE {where}")]
        audio = [
            r[0]
            for r in self.db.query(
                f"SELECT audio_sha256 FROM meetings WHERE id IN ({id_list(meeting_ids)}) "
                "AND audio_sha256 IS NOT NULL"
            )
        ]
        return chunks, files, audio

    def remaining(
        self,
        user_id: int,
        name: str,
        collection_ids: Sequence[int],
        meeting_ids: Sequence[int],
        chunk_ids: Sequence[int],
    ) -> dict[str, int]:
        """Rows left that belong to or name the person, table by table."""
        c, m, k = id_list(collection_ids), id_list(meeting_ids), id_list(chunk_ids)
        checks = {
            "users": ("SELECT count(*) FROM users WHERE id = ? OR name = ?", (user_id, name)),
            "api_keys": ("SELECT count(*) FROM api_keys WHERE user_id = ?", (user_id,)),
            "group_members": ("SELECT count(*) FROM group_members WHERE user_id = ?", (user_id,)),
            "grants": (
                "SELECT count(*) FROM grants WHERE subject_type = 'user' AND subject_id = ?",
                (user_id,),
            ),
            "collections": (
                f"SELECT count(*) FROM collections WHERE owner_id = ? OR id IN ({c})",
                (user_id,),
            ),
            "documents": (f"SELECT count(*) FROM documents WHERE collection_id IN ({c})", ()),
            "chunks": (f"SELECT count(*) FROM chunks WHERE id IN ({k})", ()),
            **{
                table: (f"SELECT count(*) FROM {table} WHERE {key} IN ({k})", ())
                for table, key in self.index_tables.items()
            },
            "meetings": (
                f"SELECT count(*) FROM meetings WHERE owner_id = ? OR id IN ({m})",
                (user_id,),
            ),
            "meeting_segments": (
                f"SELECT count(*) FROM meeting_segments WHERE meeting_id IN ({m})",
                (),
            ),
            "meeting_speakers": (
                f"SELECT count(*) FROM meeting_speakers WHERE meeting_id IN ({m})",
                (),
            ),
            "meeting_minutes": (
                f"SELECT count(*) FROM meeting_minutes WHERE meeting_id IN ({m})",
                (),
            ),
            "jobs": ("SELECT count(*) FROM jobs WHERE owner_id = ?", (user_id,)),
            "usage_by_key": ("SELECT count(*) FROM usage_by_key WHERE user_id = ?", (user_id,)),
            "audit_log": (
                "SELECT count(*) FROM audit_log WHERE user_id = ? OR user_name = ?",
                (user_id, name),
            ),
            # The web interface's history (its messages go with each conversation).
            "conversations": ("SELECT count(*) FROM conversations WHERE user_id = ?", (user_id,)),
            # Answers of /v1/responses kept for previous_response_id.
            "responses": ("SELECT count(*) FROM responses WHERE user_id = ?", (user_id,)),
        }
        return {table: self.db.scalar(sql, params) for table, (sql, params) in checks.items()}
