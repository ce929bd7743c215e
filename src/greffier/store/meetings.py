"""Meetings: the recording's metadata, timed transcript segments and speaker names."""

from __future__ import annotations

import json
from collections.abc import Sequence

from greffier.models.backends.base import Segment
from greffier.store.database import Database

_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"


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
        job_id: str,
    ) -> int:
        with self.db.write() as conn:
            meeting_id = conn.execute(
                "INSERT INTO meetings (owner_id, title, language, speakers_expected, status,"
                " audio_name, audio_sha256, duration) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)",
                (owner_id, title, language, speakers, audio_name, audio_sha256, duration),
            ).lastrowid
            conn.execute(
                "INSERT INTO jobs (id, kind, owner_id, meeting_id, status, total) "
                "VALUES (?, 'meeting', ?, ?, 'queued', 1)",
                (job_id, owner_id, meeting_id),
            )
            return meeting_id

    def get(self, meeting_id: int):
        return self.db.query_one("SELECT * FROM meetings WHERE id = ?", (meeting_id,))

    def for_job(self, job_id: str):
        return self.db.query_one(
            "SELECT m.* FROM meetings m JOIN jobs j ON j.meeting_id = m.id WHERE j.id = ?",
            (job_id,),
        )

    def listing(self, ids: list[int]):
        marks = ",".join(str(int(i)) for i in ids) or "NULL"
        return self.db.query(
            f"SELECT * FROM meetings WHERE id IN ({marks}) ORDER BY created_at DESC"
        )

    def update(self, meeting_id: int, **fields) -> None:
        assert set(fields) <= {"title", "sensitivity"}
        columns = ", ".join(f"{name} = ?" for name in fields)
        with self.db.write() as conn:
            conn.execute(
                f"UPDATE meetings SET {columns}, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', "
                "'now') WHERE id = ?",
                (*fields.values(), meeting_id),
            )

    def save_transcript(
        self,
        meeting_id: int,
        language: str,
        duration: float,
        segments: Sequence[tuple[str, Segment]],
    ) -> None:
        """Replace the transcript in one transaction: (speaker label, segment) pairs."""
        with self.db.write() as conn:
            conn.execute("DELETE FROM meeting_segments WHERE meeting_id = ?", (meeting_id,))
            conn.executemany(
                "INSERT INTO meeting_segments (meeting_id, ordinal, start, end, speaker, text,"
                " words) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        meeting_id,
                        i,
                        s.start,
                        s.end,
                        speaker,
                        s.text,
                        json.dumps([[w.start, w.end, w.text] for w in s.words], ensure_ascii=False),
                    )
                    for i, (speaker, s) in enumerate(segments)
                ],
            )
            conn.execute(
                f"UPDATE meetings SET status = 'transcribed', language = ?, duration = ?,"
                f" error = NULL, error_code = NULL, updated_at = {_NOW} WHERE id = ?",
                (language, duration, meeting_id),
            )

    def fail(self, meeting_id: int, code: str, message: str) -> None:
        with self.db.write() as conn:
            conn.execute("DELETE FROM meeting_segments WHERE meeting_id = ?", (meeting_id,))
            conn.execute(
                f"UPDATE meetings SET status = 'failed', error_code = ?, error = ?,"
                f" updated_at = {_NOW} WHERE id = ?",
                (code, message, meeting_id),
            )

    def segments(self, meeting_id: int):
        return self.db.query(
            "SELECT s.*, coalesce(n.name, s.speaker) AS speaker_name FROM meeting_segments s "
            "LEFT JOIN meeting_speakers n ON n.meeting_id = s.meeting_id AND n.label = s.speaker "
            "WHERE s.meeting_id = ? ORDER BY s.ordinal",
            (meeting_id,),
        )

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
            self.db.query_one("SELECT 1 FROM meetings WHERE audio_sha256 = ?", (sha256,))
            is not None
        )

    def counts(self, meeting_id: int) -> dict[str, int]:
        return {
            table: self.db.query_one(
                f"SELECT count(*) FROM {table} WHERE meeting_id = ?", (meeting_id,)
            )[0]
            for table in ("meeting_segments", "meeting_speakers", "jobs")
        }

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
        rows = self.db.query(
            "SELECT id FROM meetings WHERE audio_sha256 IS NOT NULL AND status != 'pending' "
            "AND created_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?)",
            (f"-{days} days",),
        )
        return [r[0] for r in rows]

    def set_document(self, meeting_id: int, document_id: int | None) -> None:
        with self.db.write() as conn:
            conn.execute(
                "UPDATE meetings SET document_id = ? WHERE id = ?", (document_id, meeting_id)
            )

    def save_minutes(self, meeting_id: int, content: str, model: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO meeting_minutes (meeting_id, content, model) VALUES (?, ?, ?) "
                "ON CONFLICT (meeting_id) DO UPDATE SET content = excluded.content, "
                f"model = excluded.model, created_at = {_NOW}",
                (meeting_id, content, model),
            )

    def minutes(self, meeting_id: int):
        return self.db.query_one(
            "SELECT * FROM meeting_minutes WHERE meeting_id = ?", (meeting_id,)
        )

    def create_job(
        self, job_id: str, kind: str, owner_id: int, meeting_id: int, params: dict | None = None
    ) -> None:
        """A one-step job on a meeting (kind 'minutes'; transcription jobs come with
        :meth:`create`)."""
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO jobs (id, kind, owner_id, meeting_id, status, total, params) "
                "VALUES (?, ?, ?, ?, 'queued', 1, ?)",
                (job_id, kind, owner_id, meeting_id, json.dumps(params or {})),
            )

    def job_params(self, job_id: str) -> dict:
        row = self.db.query_one("SELECT params FROM jobs WHERE id = ?", (job_id,))
        return json.loads(row[0]) if row else {}

    def set_job(self, job_id: str, status: str, error: str | None = None) -> None:
        """A meeting job has one step: done (1) once it ends, either way."""
        with self.db.write() as conn:
            conn.execute(
                f"UPDATE jobs SET status = ?, error = ?, done = ?, updated_at = {_NOW} "
                "WHERE id = ?",
                (status, error, 1 if status in ("done", "failed") else 0, job_id),
            )
