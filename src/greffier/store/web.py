"""What the web interface keeps: sessions and conversations (migration 010_web).

A session row is keyed by the SHA-256 of its cookie value: a copy of the database does not
give anyone a working session. Conversations and their messages belong to one user and go
with them. The two read helpers at the end serve the passage viewer (a cited chunk in its
document, a transcript's meeting); they read and never write the document tables.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from greffier.store.database import Database

_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"


def digest(token: str) -> str:
    # Session tokens are 256-bit random values: a fast hash is enough (as for API keys).
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SessionRecord:
    user_id: int
    key_id: int | None  # the API key signed in with; None for a password
    csrf: str
    expires_at: str


@dataclass(frozen=True)
class Conversation:
    id: int
    user_id: int
    title: str
    model: str
    sources: dict  # {"collections": [ids], "meetings": [ids]}
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class ChatMessage:
    id: int
    role: str
    content: str
    citations: list
    model: str
    created_at: str


def _conversation(row) -> Conversation:
    return Conversation(**(dict(row) | {"sources": json.loads(row["sources"])}))


class WebStore:
    def __init__(self, db: Database):
        self.db = db

    # --- sessions --------------------------------------------------------------------------

    def add_session(
        self, token: str, user_id: int, key_id: int | None, csrf: str, expires_at: str
    ) -> None:
        with self.db.write() as conn:
            conn.execute(f"DELETE FROM web_sessions WHERE expires_at <= {_NOW}")
            conn.execute(
                "INSERT INTO web_sessions (id, user_id, key_id, csrf, expires_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (digest(token), user_id, key_id, csrf, expires_at),
            )

    def session(self, token: str) -> SessionRecord | None:
        """The unexpired session of a cookie value, or None."""
        row = self.db.query_one(
            "SELECT user_id, key_id, csrf, expires_at FROM web_sessions "
            f"WHERE id = ? AND expires_at > {_NOW}",
            (digest(token),),
        )
        return SessionRecord(**dict(row)) if row else None

    def delete_session(self, token: str) -> None:
        with self.db.write() as conn:
            conn.execute("DELETE FROM web_sessions WHERE id = ?", (digest(token),))

    def delete_sessions_of(self, user_id: int) -> None:
        with self.db.write() as conn:
            conn.execute("DELETE FROM web_sessions WHERE user_id = ?", (user_id,))

    # --- conversations ---------------------------------------------------------------------

    def create_conversation(self, user_id: int, title: str, model: str, sources: dict) -> int:
        with self.db.write() as conn:
            return conn.execute(
                "INSERT INTO conversations (user_id, title, model, sources) VALUES (?, ?, ?, ?)",
                (user_id, title, model, json.dumps(sources)),
            ).lastrowid

    def conversation(self, conversation_id: int) -> Conversation | None:
        row = self.db.query_one("SELECT * FROM conversations WHERE id = ?", (conversation_id,))
        return _conversation(row) if row else None

    def conversations(self, user_id: int, limit: int = 100) -> list[Conversation]:
        rows = self.db.query(
            "SELECT * FROM conversations WHERE user_id = ? ORDER BY updated_at DESC, id DESC "
            "LIMIT ?",
            (user_id, limit),
        )
        return [_conversation(r) for r in rows]

    def add_message(
        self,
        conversation_id: int,
        role: str,
        content: str,
        citations: list,
        model: str,
        sources: dict | None = None,
    ) -> int:
        """Append a message; the conversation moves to the top of its owner's list and
        remembers the model and sources last used."""
        with self.db.write() as conn:
            message_id = conn.execute(
                "INSERT INTO conversation_messages (conversation_id, role, content, citations, "
                "model) VALUES (?, ?, ?, ?, ?)",
                (conversation_id, role, content, json.dumps(citations, ensure_ascii=False), model),
            ).lastrowid
            conn.execute(
                f"UPDATE conversations SET updated_at = {_NOW}, "
                "model = CASE WHEN ? = '' THEN model ELSE ? END, "
                "sources = COALESCE(?, sources) WHERE id = ?",
                (
                    model,
                    model,
                    None if sources is None else json.dumps(sources),
                    conversation_id,
                ),
            )
            return message_id

    def messages(self, conversation_id: int) -> list[ChatMessage]:
        rows = self.db.query(
            "SELECT id, role, content, citations, model, created_at FROM conversation_messages "
            "WHERE conversation_id = ? ORDER BY id",
            (conversation_id,),
        )
        return [ChatMessage(**(dict(r) | {"citations": json.loads(r["citations"])})) for r in rows]

    def rename_conversation(self, conversation_id: int, title: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                "UPDATE conversations SET title = ? WHERE id = ?", (title, conversation_id)
            )

    def delete_conversation(self, conversation_id: int) -> None:
        with self.db.write() as conn:
            conn.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    # --- the passage viewer (read-only) ----------------------------------------------------

    def document_chunks(self, document_id: int) -> list[dict]:
        """A document's chunks in text order: text, page, heading and offsets."""
        rows = self.db.query(
            "SELECT text, page, heading, char_start, char_end FROM chunks "
            "WHERE document_id = ? ORDER BY char_start, ordinal",
            (document_id,),
        )
        return [dict(r) for r in rows]

    def meeting_of_document(self, document_id: int) -> int | None:
        """The meeting whose transcript is indexed as this document, if any."""
        row = self.db.query_one("SELECT id FROM meetings WHERE document_id = ?", (document_id,))
        return row[0] if row else None
