"""Background jobs (the ``jobs`` table): what to do, for whom, and how far it went.

A job's kind says which handler runs it (``ingest``, ``meeting``, ``minutes``); its
subject is a collection or a meeting; ``params`` keeps what it needs beyond that (the
model chosen for minutes), so a job resumed after a restart runs as it was asked. The
queue that hands jobs to workers carries job ids only: the state lives here.
"""

from __future__ import annotations

import json

from greffier.store.database import Database
from greffier.store.records import Job, from_row

_FIELDS = frozenset({"status", "done", "total", "error"})


def _job(row) -> Job:
    return from_row(Job, row, params=json.loads(row["params"]))


class JobStore:
    def __init__(self, db: Database):
        self.db = db

    def create(
        self,
        job_id: str,
        kind: str,
        owner_id: int | None,
        *,
        collection_id: int | None = None,
        meeting_id: int | None = None,
        total: int = 1,
        params: dict | None = None,
    ) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO jobs (id, kind, owner_id, collection_id, meeting_id, status, total,"
                " params) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)",
                (
                    job_id,
                    kind,
                    owner_id,
                    collection_id,
                    meeting_id,
                    total,
                    json.dumps(params or {}),
                ),
            )

    def update(self, job_id: str, **fields) -> None:
        """Change status, done, total or error."""
        if not fields or set(fields) - _FIELDS:
            raise ValueError(f"unknown job fields: {set(fields) - _FIELDS}")
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self.db.write() as conn:
            conn.execute(
                f"UPDATE jobs SET {sets}, updated_at = {self.db.now} WHERE id = ?",
                (*fields.values(), job_id),
            )

    def finish_step(self, job_id: str, status: str, error: str | None = None) -> None:
        """A one-step job (meeting, minutes): done (1 of 1) once it ends, either way."""
        self.update(
            job_id, status=status, error=error, done=1 if status in ("done", "failed") else 0
        )

    def get(self, job_id: str) -> Job | None:
        row = self.db.query_one("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return _job(row) if row else None

    def unfinished(self) -> list[Job]:
        rows = self.db.query(
            "SELECT * FROM jobs WHERE status IN ('queued', 'running') ORDER BY created_at"
        )
        return [_job(r) for r in rows]

    def count_by_status(self) -> dict[str, int]:
        rows = self.db.query("SELECT status, count(*) FROM jobs GROUP BY status")
        return {status: 0 for status in ("queued", "running", "done", "failed")} | {
            r[0]: r[1] for r in rows
        }

    def delete_of_owner(self, owner_id: int) -> None:
        with self.db.write() as conn:
            conn.execute("DELETE FROM jobs WHERE owner_id = ?", (owner_id,))

    def count_of_owner(self, owner_id: int) -> int:
        return self.db.scalar("SELECT count(*) FROM jobs WHERE owner_id = ?", (owner_id,))

    def count_of_meeting(self, meeting_id: int) -> int:
        return self.db.scalar("SELECT count(*) FROM jobs WHERE meeting_id = ?", (meeting_id,))
