"""Each person's conversations in the web interface and their messages (migration
010_web). Both go with their user."""

from __future__ import annotations

import json

from greffier.store.database import Database
from greffier.store.records import ChatMessage, Conversation, from_row


def _conversation(row) -> Conversation:
    return from_row(Conversation, row, sources=json.loads(row["sources"]))


class ConversationStore:
    def __init__(self, db: Database):
        self.db = db

    def create_conversation(self, user_id: int, title: str, model: str, sources: dict) -> int:
        with self.db.write() as conn:
            return conn.execute(
                "INSERT INTO conversations (user_id, title, model, sources) VALUES (?, ?, ?, ?) "
                "RETURNING id",
                (user_id, title, model, json.dumps(sources)),
            ).fetchone()[0]

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
        answer_id: str | None = None,
    ) -> int:
        """Append a message; the conversation moves to the top of its owner's list and
        remembers the model and sources last used."""
        with self.db.write() as conn:
            message_id = conn.execute(
                "INSERT INTO conversation_messages (conversation_id, role, content, citations, "
                "model, answer_id) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    conversation_id,
                    role,
                    content,
                    json.dumps(citations, ensure_ascii=False),
                    model,
                    answer_id,
                ),
            ).fetchone()[0]
            conn.execute(
                f"UPDATE conversations SET updated_at = {self.db.now}, "
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
            "SELECT id, role, content, citations, model, created_at, answer_id "
            "FROM conversation_messages "
            "WHERE conversation_id = ? ORDER BY id",
            (conversation_id,),
        )
        return [from_row(ChatMessage, r, citations=json.loads(r["citations"])) for r in rows]

    def rename_conversation(self, conversation_id: int, title: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                "UPDATE conversations SET title = ? WHERE id = ?", (title, conversation_id)
            )

    def delete_conversation(self, conversation_id: int) -> None:
        with self.db.write() as conn:
            conn.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
