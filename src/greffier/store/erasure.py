"""What the database still holds about a person: the rows an erasure must leave at zero,
and the bytes it must leave nowhere.

Read-only but for :meth:`ErasureStore.purge`: this is the census that proves an erasure.
It reads every table that can hold something of a person; the deleting is done by each
table's own store. Then the files themselves: deleted rows must not stay readable in the
database file or its write-ahead log (secure_delete, a merged full-text index, VACUUM,
a truncated log), and :meth:`residue` scans both files for samples of the erased text.
A PostgreSQL store does its own equivalent of both (VACUUM FULL of the tables involved;
there, the scan reads the tables' files or is replaced by the server's own guarantee).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from typing import ClassVar

from greffier.store.database import Database
from greffier.store.sqlite import id_list

# Text columns that may hold a copy of someone's words: a sample found in the files but
# also in one of these, in a row that survived, is someone else's copy, not residue.
_LIVE_TEXT = (
    ("chunks", "text"),
    ("chunks", "heading"),
    ("documents", "name"),
    ("documents", "error"),
    ("collections", "name"),
    ("collections", "description"),
    ("meetings", "title"),
    ("meetings", "audio_name"),
    ("meeting_segments", "text"),
    ("meeting_segments", "words"),
    ("meeting_speakers", "name"),
    ("meeting_minutes", "content"),
    ("conversations", "title"),
    ("conversation_messages", "content"),
    ("answers", "question"),
    ("answers", "answer"),
    ("feedback", "question"),
    ("feedback", "answer"),
    ("feedback", "correction"),
    ("audit_log", "query"),
    ("audit_log", "resources"),
    ("users", "name"),
    ("groups", "name"),
    ("jobs", "error"),
)


class ErasureStore:
    # Whether residue() reads the database's own files (SQLite); a server database's files
    # are not readable by its clients (PostgreSQL).
    scans_files: ClassVar[bool] = True

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
        where = _of(collection_ids, meeting_ids)
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

    def resources(
        self, collection_ids: Sequence[int], meeting_ids: Sequence[int]
    ) -> list[tuple[str, int, str]]:
        """(type, id, name) of each collection, document and meeting of the person, as the
        audit log names them."""
        c, m = id_list(collection_ids), id_list(meeting_ids)
        found = [
            ("collection", r[0], r[1])
            for r in self.db.query(f"SELECT id, name FROM collections WHERE id IN ({c})")
        ]
        found += [
            ("document", r[0], r[1])
            for r in self.db.query(
                f"SELECT id, name FROM documents WHERE {_of(collection_ids, meeting_ids)}"
            )
        ]
        found += [
            ("meeting", r[0], r[1])
            for r in self.db.query(f"SELECT id, title FROM meetings WHERE id IN ({m})")
        ]
        return found

    def samples(
        self, user_id: int, collection_ids: Sequence[int], meeting_ids: Sequence[int]
    ) -> list[tuple[str, str]]:
        """(label, text) pieces of the person's words to look for in the files after the
        erasure: a slice of their longest chunks, transcript segments and questions."""
        where = _of(collection_ids, meeting_ids)
        picked: list[tuple[str, str]] = []
        for label, sql, params in (
            ("chunk", f"SELECT text FROM chunks WHERE {where} ORDER BY length(text) DESC", ()),
            (
                "transcript",
                f"SELECT text FROM meeting_segments WHERE meeting_id IN ({id_list(meeting_ids)})"
                " ORDER BY length(text) DESC",
                (),
            ),
            (
                "question",
                "SELECT m.content FROM conversation_messages m JOIN conversations c "
                "ON c.id = m.conversation_id WHERE c.user_id = ? ORDER BY length(m.content) DESC",
                (user_id,),
            ),
            (
                "correction",
                "SELECT correction FROM feedback WHERE user_id = ? AND correction IS NOT NULL "
                "ORDER BY length(correction) DESC",
                (user_id,),
            ),
        ):
            for i, row in enumerate(self.db.query(sql + " LIMIT 3", params)):
                text = _slice(row[0])
                if text:
                    picked.append((f"{label} {i + 1}", text))
        return picked

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
            # Chat answers kept for feedback, the feedback they gave, and their name as the
            # curator of others' feedback.
            "answers": ("SELECT count(*) FROM answers WHERE user_id = ?", (user_id,)),
            "feedback": (
                "SELECT count(*) FROM feedback WHERE user_id = ? OR curated_by = ?",
                (user_id, name),
            ),
            "web_sessions": ("SELECT count(*) FROM web_sessions WHERE user_id = ?", (user_id,)),
            "credential_requests": (
                "SELECT count(*) FROM credential_requests WHERE user_id = ?",
                (user_id,),
            ),
            "account_notices": (
                "SELECT count(*) FROM account_notices WHERE user_id = ?",
                (user_id,),
            ),
            "accepted_shares": (
                "SELECT count(*) FROM accepted_shares WHERE user_id = ?",
                (user_id,),
            ),
            "signin_failures": (
                "SELECT count(*) FROM signin_failures WHERE subject = ?",
                ("account:" + name.strip().casefold(),),
            ),
        }
        return {table: self.db.scalar(sql, params) for table, (sql, params) in checks.items()}

    # --- the files themselves ------------------------------------------------------------

    def purge(self) -> bool:
        """Leave no deleted byte readable in the database's files: merge the full-text
        index (its deleted entries go), rewrite the file (VACUUM; secure_delete zeroes what
        is freed from then on) and empty the write-ahead log. False if another connection
        kept the log from being emptied."""
        with self.db.write() as conn:
            conn.execute("INSERT INTO chunks_fts (chunks_fts) VALUES ('optimize')")
        return self.db.compact()

    def residue(self, samples: Sequence[tuple[str, str]]) -> list[str]:
        """Labels of the samples whose bytes are still in the database file or its log and
        that no surviving row explains (someone else's copy of the same words is not
        residue)."""
        needles = [text.encode("utf-8") for _, text in samples]
        found = [False] * len(samples)
        for path in self.db.files():
            found = [a or b for a, b in zip(found, _holding(path, needles), strict=True)]
        return [
            label
            for (label, text), held in zip(samples, found, strict=True)
            if held and not self._live(text)
        ]

    def _live(self, text: str) -> bool:
        find = "instr" if self.db.dialect == "sqlite" else "strpos"
        return any(
            self.db.scalar(f"SELECT 1 FROM {table} WHERE {find}({column}, ?) > 0 LIMIT 1", (text,))
            for table, column in _LIVE_TEXT
        )


def _of(collection_ids: Sequence[int], meeting_ids: Sequence[int]) -> str:
    return (
        f"collection_id IN ({id_list(collection_ids)}) OR collection_id IN (SELECT id FROM "
        f"collections WHERE meeting_id IN ({id_list(meeting_ids)}))"
    )


def _slice(text: str, size: int = 48) -> str:
    """A piece of ``text`` distinctive enough to look for: its middle ``size`` characters
    (the whole text when shorter, if it has at least 16)."""
    text = text.strip()
    if len(text) < 16:
        return ""
    if len(text) <= size:
        return text
    start = (len(text) - size) // 2
    return text[start : start + size]


# Read in a child process. POSIX record locks belong to a process and are all released
# when it closes any descriptor of the file: reading the live database from the server's
# own process would drop the locks of its SQLite connections, and another connection
# closing would then delete the WAL and shared-memory files under them ("disk I/O error").
_SCAN = """
import mmap, sys
path, needles = sys.argv[1], [bytes.fromhex(n) for n in sys.argv[2:]]
try:
    with open(path, "rb") as handle:
        size = handle.seek(0, 2)
        data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        print("".join("1" if data.find(n) != -1 else "0" for n in needles))
except FileNotFoundError:
    print("0" * len(needles))
"""


def _holding(path, needles: Sequence[bytes]) -> list[bool]:
    """Which of ``needles`` the file at ``path`` holds (read by another process)."""
    if not needles:
        return []
    done = subprocess.run(
        [sys.executable, "-c", _SCAN, str(path), *(n.hex() for n in needles)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return [c == "1" for c in done.stdout.strip()]
