"""Meetings: the recording's metadata, timed transcript segments, speaker names, minutes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from greffier.store.database import Database
from greffier.store.records import Meeting, StoredMinutes, TranscriptSegment, from_row
from greffier.store.sqlite import id_list

_UPDATABLE = frozenset({"title", "sensitivity"})


def _meeting(row) -> Meeting:
    return from_row(Meeting, row)


class MeetingStore:
    def __init__(self, db: Database):
        self.db = db

    def create(
        self,
        owner_id: int,
        title: str,
        language: str | None,
        speakers: int | None,
        audio_name: str,
        audio_sha256: str,
        duration: float,
        sensitivity: str = "internal",
    ) -> int:
        with self.db.write() as conn:
            return conn.execute(
                "INSERT INTO meetings (owner_id, title, language, speakers_expected, status,"
                " audio_name, audio_sha256, duration, sensitivity)"
                " VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?) RETURNING id",
                (
                    owner_id,
                    title,
                    language,
                    speakers,
                    audio_name,
                    audio_sha256,
                    duration,
                    sensitivity,
                ),
            ).fetchone()[0]

    def get(self, meeting_id: int) -> Meeting | None:
        row = self.db.query_one("SELECT * FROM meetings WHERE id = ?", (meeting_id,))
        return _meeting(row) if row else None

    def for_document(self, document_id: int) -> int | None:
        """The meeting whose transcript is indexed as this document, if any."""
        return self.db.scalar("SELECT id FROM meetings WHERE document_id = ?", (document_id,))

    def listing(self, ids: Sequence[int]) -> list[Meeting]:
        rows = self.db.query(
            f"SELECT * FROM meetings WHERE id IN ({id_list(ids)}) ORDER BY created_at DESC"
        )
        return [_meeting(r) for r in rows]

    def owned_by(self, owner_id: int) -> list[int]:
        return [
            r[0] for r in self.db.query("SELECT id FROM meetings WHERE owner_id = ?", (owner_id,))
        ]

    def update(self, meeting_id: int, **fields) -> None:
        if not fields or set(fields) - _UPDATABLE:
            raise ValueError(f"unknown meeting fields: {set(fields) - _UPDATABLE}")
        columns = ", ".join(f"{name} = ?" for name in fields)
        with self.db.write() as conn:
            conn.execute(
                f"UPDATE meetings SET {columns}, updated_at = {self.db.now} WHERE id = ?",
                (*fields.values(), meeting_id),
            )

    def save_transcript(
        self,
        meeting_id: int,
        language: str,
        duration: float,
        segments: Sequence[TranscriptSegment],
    ) -> None:
        """Replace the transcript in one transaction (speaker names are kept apart)."""
        with self.db.write() as conn:
            conn.execute("DELETE FROM meeting_segments WHERE meeting_id = ?", (meeting_id,))
            conn.executemany(
                'INSERT INTO meeting_segments (meeting_id, ordinal, start, "end", speaker, text,'
                " words) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        meeting_id,
                        i,
                        s.start,
                        s.end,
                        s.speaker,
                        s.text,
                        json.dumps([list(w) for w in s.words], ensure_ascii=False),
                    )
                    for i, s in enumerate(segments)
                ],
            )
            conn.execute(
                f"UPDATE meetings SET status = 'transcribed', language = ?, duration = ?,"
                f" error = NULL, error_code = NULL, updated_at = {self.db.now} WHERE id = ?",
                (language, duration, meeting_id),
            )

    def fail(self, meeting_id: int, code: str, message: str) -> None:
        with self.db.write() as conn:
            conn.execute("DELETE FROM meeting_segments WHERE meeting_id = ?", (meeting_id,))
            conn.execute(
                f"UPDATE meetings SET status = 'failed', error_code = ?, error = ?,"
                f" updated_at = {self.db.now} WHERE id = ?",
                (code, message, meeting_id),
            )

    def segments(self, meeting_id: int) -> list[TranscriptSegment]:
        rows = self.db.query(
            "SELECT s.*, coalesce(n.name, s.speaker) AS speaker_name FROM meeting_segments s "
            "LEFT JOIN meeting_speakers n ON n.meeting_id = s.meeting_id AND n.label = s.speaker "
            "WHERE s.meeting_id = ? ORDER BY s.ordinal",
            (meeting_id,),
        )
        return [
            from_row(TranscriptSegment, r, words=[(s, e, w) for s, e, w in json.loads(r["words"])])
            for r in rows
        ]

    def rename_speaker(self, meeting_id: int, label: str, name: str) -> bool:
        with self.db.write() as conn:
            known = conn.execute(
                "SELECT 1 FROM meeting_segments WHERE meeting_id = ? AND speaker = ? LIMIT 1",
                (meeting_id, label),
            ).fetchone()
            if not known:
                return False
            conn.execute(
                "INSERT INTO meeting_speakers (meeting_id, label, name) VALUES (?, ?, ?) "
                "ON CONFLICT (meeting_id, label) DO UPDATE SET name = excluded.name",
                (meeting_id, label, name),
            )
            return True

    def delete(self, meeting_id: int) -> str | None:
        """Delete the meeting and everything derived; return its audio's sha256."""
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT audio_sha256 FROM meetings WHERE id = ?", (meeting_id,)
            ).fetchone()
            conn.execute("DELETE FROM meetings WHERE id = ?", (meeting_id,))
            return row[0] if row else None

    def audio_in_use(self, sha256: str) -> bool:
        return (
            self.db.scalar("SELECT 1 FROM meetings WHERE audio_sha256 = ?", (sha256,)) is not None
        )

    def forget_audio(self, meeting_id: int) -> str | None:
        """Mark a meeting's recording deleted; return its sha256 (the caller removes the
        file once no meeting uses it)."""
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT audio_sha256 FROM meetings WHERE id = ?", (meeting_id,)
            ).fetchone()
            conn.execute("UPDATE meetings SET audio_sha256 = NULL WHERE id = ?", (meeting_id,))
            return row[0] if row else None

    def with_audio_older_than(self, days: int) -> list[int]:
        cutoff = (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.%f")
        rows = self.db.query(
            "SELECT id FROM meetings WHERE audio_sha256 IS NOT NULL AND status != 'pending' "
            "AND created_at < ?",
            (cutoff[:-3] + "Z",),
        )
        return [r[0] for r in rows]

    def set_document(self, meeting_id: int, document_id: int | None) -> None:
        with self.db.write() as conn:
            conn.execute(
                "UPDATE meetings SET document_id = ? WHERE id = ?", (document_id, meeting_id)
            )

    def save_minutes(self, meeting_id: int, content: dict, model: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO meeting_minutes (meeting_id, content, model) VALUES (?, ?, ?) "
                "ON CONFLICT (meeting_id) DO UPDATE SET content = excluded.content, "
                f"model = excluded.model, created_at = {self.db.now}",
                (meeting_id, json.dumps(content, ensure_ascii=False), model),
            )

    def minutes(self, meeting_id: int) -> StoredMinutes | None:
        row = self.db.query_one("SELECT * FROM meeting_minutes WHERE meeting_id = ?", (meeting_id,))
        return from_row(StoredMinutes, row, content=json.loads(row["content"])) if row else None
