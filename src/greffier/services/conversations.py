"""Each person's chat history in the web interface: conversations and their messages.

The answers themselves come from ``/v1/chat/completions`` (the browser streams them); this
keeps what was said, with the citations, the model and the sources chosen, so that a
conversation can be read again and continued. Nobody reads another person's conversations,
admins included.
"""

from __future__ import annotations

from greffier.errors import InvalidRequest, NotFound
from greffier.services.principal import Principal
from greffier.store.interfaces import ConversationStore
from greffier.store.records import ChatMessage, Conversation

TITLE_CHARS = 80
MAX_MESSAGE_CHARS = 100_000


def title_of(question: str) -> str:
    """A conversation's title: its first question, on one line, cut at a word."""
    text = " ".join(question.split())
    if len(text) <= TITLE_CHARS:
        return text
    return text[:TITLE_CHARS].rsplit(" ", 1)[0] + "…"


def _sources(sources: dict | None) -> dict:
    sources = sources or {}
    return {
        "collections": [int(i) for i in sources.get("collections") or []],
        "meetings": [int(i) for i in sources.get("meetings") or []],
    }


class ConversationService:
    def __init__(self, store: ConversationStore):
        self.store = store

    def start(
        self, who: Principal, question: str, model: str = "", sources: dict | None = None
    ) -> Conversation:
        if not question.strip():
            raise InvalidRequest("A conversation starts with a question.", param="question")
        cid = self.store.create_conversation(
            who.user_id, title_of(question), model, _sources(sources)
        )
        return self.store.conversation(cid)

    def get(self, who: Principal, conversation_id: int) -> Conversation:
        found = self.store.conversation(conversation_id)
        if found is None or found.user_id != who.user_id:
            raise NotFound(f"No conversation with id {conversation_id}.", param="conversation_id")
        return found

    def list(self, who: Principal) -> list[Conversation]:
        return self.store.conversations(who.user_id)

    def messages(self, who: Principal, conversation_id: int) -> list[ChatMessage]:
        self.get(who, conversation_id)
        return self.store.messages(conversation_id)

    def add(
        self,
        who: Principal,
        conversation_id: int,
        role: str,
        content: str,
        citations: list | None = None,
        model: str = "",
        sources: dict | None = None,
        answer_id: str | None = None,
    ) -> int:
        """``answer_id``: the id /v1/chat/completions gave the answer, kept so that the
        answer can still be rated when the conversation is read again."""
        self.get(who, conversation_id)
        if role not in ("user", "assistant"):
            raise InvalidRequest("A message's role is 'user' or 'assistant'.", param="role")
        if len(content) > MAX_MESSAGE_CHARS:
            raise InvalidRequest("This message is too long to keep.", param="content")
        return self.store.add_message(
            conversation_id,
            role,
            content,
            citations or [],
            model,
            None if sources is None else _sources(sources),
            answer_id if role == "assistant" else None,
        )

    def rename(self, who: Principal, conversation_id: int, title: str) -> None:
        self.get(who, conversation_id)
        if not title.strip():
            raise InvalidRequest("A conversation needs a title.", param="title")
        self.store.rename_conversation(conversation_id, title_of(title))

    def delete(self, who: Principal, conversation_id: int) -> None:
        self.get(who, conversation_id)
        self.store.delete_conversation(conversation_id)
