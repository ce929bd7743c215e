"""The audit log: one row per access worth accounting for (who, what, which resources)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from greffier.store.database import Database
from greffier.store.records import AuditEntry, from_row

ERASED = "[erased]"  # what an erased person's name becomes in other people's rows


class AuditStore:
    # The condition "this entry names resource (type ?, id ?)", in the database's JSON.
    naming_resource = (
        "EXISTS (SELECT 1 FROM json_each(resources) r WHERE "
        "json_extract(r.value, '$.type') = ? AND json_extract(r.value, '$.id') = ?)"
    )

    def __init__(self, db: Database):
        self.db = db

    def record(
        self,
        *,
        user_id: int | None,
        user_name: str | None,
        key_id: int | None,
        action: str,
        status: int,
        model: str | None,
        query: str | None,
        resources: list[dict],
    ) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO audit_log (user_id, user_name, key_id, action, status, model, query,"
                " resources) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    user_id,
                    user_name,
                    key_id,
                    action,
                    status,
                    model,
                    query,
                    json.dumps(resources, ensure_ascii=False),
                ),
            )

    def entries(
        self,
        *,
        user: str | None = None,
        action: str | None = None,
        resource: tuple[str, int] | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int | None = None,
    ) -> Iterator[AuditEntry]:
        """Newest first; ``resource`` keeps entries naming that document or meeting."""
        where, params = ["TRUE"], []
        for clause, value in (
            ("user_name = ?", user),
            ("action = ?", action),
            ("at >= ?", since),
            ("at < ?", until),
        ):
            if value is not None:
                where.append(clause)
                params.append(value)
        if resource is not None:
            where.append(self.naming_resource)
            params += list(resource)
        sql = f"SELECT * FROM audit_log WHERE {' AND '.join(where)} ORDER BY id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        for row in self.db.query(sql, tuple(params)):
            yield from_row(AuditEntry, row, resources=json.loads(row["resources"]))

    def forget_user(self, user_id: int) -> int:
        """Erasure: keep that an access happened, drop who asked and what they asked."""
        with self.db.write() as conn:
            return conn.execute(
                "UPDATE audit_log SET user_name = NULL, query = NULL, user_id = NULL, "
                "key_id = NULL WHERE user_id = ?",
                (user_id,),
            ).rowcount

    def mentions_user(self, user_id: int, name: str) -> int:
        return self.db.scalar(
            "SELECT count(*) FROM audit_log WHERE user_id = ? OR user_name = ?", (user_id, name)
        )

    def scrub(self, names: list[str], resources: list[tuple[str, int]]) -> int:
        """In every row: each of ``names`` cut out of the query text (as a whole word), and
        the name of each listed resource (type, id) dropped. Returns the rows changed."""
        wanted = set(resources)
        pattern = _words(names)
        changed = 0
        with self.db.write() as conn:
            for row in conn.execute("SELECT id, query, resources FROM audit_log").fetchall():
                query = row["query"]
                if query and pattern is not None:
                    query = pattern.sub(ERASED, query)
                listed = json.loads(row["resources"])
                for r in listed:
                    if (r.get("type"), r.get("id")) in wanted:
                        r["name"] = None
                encoded = json.dumps(listed, ensure_ascii=False)
                if query != row["query"] or encoded != row["resources"]:
                    conn.execute(
                        "UPDATE audit_log SET query = ?, resources = ? WHERE id = ?",
                        (query, encoded, row["id"]),
                    )
                    changed += 1
        return changed

    def mentions(self, names: list[str], resources: list[tuple[str, int]]) -> int:
        """Rows whose query still holds one of ``names`` as a word, or that still name one
        of ``resources``: what an erasure must leave at zero."""
        wanted = set(resources)
        pattern = _words(names)
        found = 0
        for row in self.db.query("SELECT query, resources FROM audit_log"):
            named = any(
                (r.get("type"), r.get("id")) in wanted and r.get("name") is not None
                for r in json.loads(row["resources"])
            )
            said = pattern is not None and bool(pattern.search(row["query"] or ""))
            found += named or said
        return found


def _words(names: list[str]) -> re.Pattern | None:
    """One pattern matching any of ``names`` as a whole word (longest first)."""
    kept = sorted({n for n in names if n and n.strip()}, key=len, reverse=True)
    if not kept:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(n) for n in kept) + r")(?!\w)")
