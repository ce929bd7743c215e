"""Feedback on answers, and its curation into alignment data sets.

A person rates an answer they were given — up or down, with a corrected answer and a
reason if they like — by the id the API returned (``chatcmpl-…`` for chat completions,
kept at answer time; ``resp_…`` for stored Responses). The rating is stored with a copy of
the question, the answer, the passages cited and the model, so that data sets can be built
from it later (services/datasets.py).

Access follows the conversation: an answer is its author's, and so is its feedback; an id
of someone else's is "not found". Curators — admins, and members (directly or through
nested groups) of the group named by the setting ``curators_group`` — list everyone's
feedback and accept or reject it; a curator sees only items whose cited passages they may
read themselves (the answer may quote them). Whoever reads an item, its author included,
sees only the citations of collections they may still read. Curation is audited.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from greffier.errors import InvalidRequest, NotFound, PermissionDenied
from greffier.services.access import AccessService
from greffier.services.audit import AuditService
from greffier.services.principal import Principal
from greffier.store.interfaces import FeedbackStore, ResponseStore
from greffier.store.records import FeedbackRecord, KeptAnswer

RATINGS = ("up", "down")
DECISIONS = ("accepted", "rejected", "pending")
MAX_CORRECTION_CHARS = 20_000
MAX_REASON_CHARS = 2_000


@dataclass(frozen=True)
class FeedbackView:
    """A feedback item as one reader may see it: the citations they may not read left
    out (``hidden_citations`` says how many)."""

    record: FeedbackRecord
    hidden_citations: int = 0


class FeedbackService:
    def __init__(
        self,
        store: FeedbackStore,
        responses: ResponseStore,
        access: AccessService,
        audit: AuditService,
        curators_group: str,
    ):
        self.store = store
        self.responses = responses
        self.access = access
        self.audit = audit
        self.curators_group = curators_group

    # --- the author ------------------------------------------------------------------------

    def give(
        self,
        who: Principal,
        answer_id: str,
        rating: str,
        correction: str | None = None,
        reason: str | None = None,
    ) -> FeedbackView:
        """Rate one of one's own answers (again: the new rating replaces the old one and
        goes back to curation)."""
        if rating not in RATINGS:
            raise InvalidRequest("'rating' is 'up' or 'down'.", param="rating")
        correction = _text(correction, "correction", MAX_CORRECTION_CHARS)
        reason = _text(reason, "reason", MAX_REASON_CHARS)
        answer = self._answer(who, answer_id)
        record = self.store.give(answer, rating, correction, reason)
        self.audit.record(
            who,
            "feedback",
            model=answer.model,
            query=rating,
            resources=[{"type": "answer", "id": answer_id, "name": None}],
        )
        return self._view(who, record)

    def ratings(self, who: Principal, answer_ids: list[str]) -> dict[str, str]:
        """The ratings one has already given, by answer id (for a conversation read again)."""
        found = (self.store.of_answer(answer_id) for answer_id in answer_ids)
        return {f.answer_id: f.rating for f in found if f and f.user_id == who.user_id}

    def mine(self, who: Principal, answer_id: str) -> FeedbackView:
        found = self.store.of_answer(answer_id)
        if found is None or found.user_id != who.user_id:
            raise NotFound(f"No feedback on an answer with id '{answer_id}'.", param="id")
        return self._view(who, found)

    def _answer(self, who: Principal, answer_id: str) -> KeptAnswer:
        missing = NotFound(
            f"No answer with id '{answer_id}' (answers asked with \"store\": false are not kept).",
            param="id",
        )
        if answer_id.startswith("resp_"):
            response = self.responses.get(answer_id)
            if response is None or response.user_id != who.user_id:
                raise missing
            question = next(
                (
                    m["content"]
                    for m in reversed(response.conversation[:-1])
                    if m["role"] == "user" and isinstance(m["content"], str)
                ),
                "",
            )
            text = "".join(o["text"] for o in response.output if o["type"] == "message")
            return KeptAnswer(response.id, response.user_id, response.model, question, text, [])
        answer = self.store.answer(answer_id)
        if answer is None or answer.user_id != who.user_id:
            raise missing
        return answer

    # --- curation --------------------------------------------------------------------------

    def is_curator(self, who: Principal) -> bool:
        return who.is_admin or self.access.in_group(who, self.curators_group)

    def list(self, who: Principal, status: str | None = None) -> list[FeedbackView]:
        """A curator's queue (every item they may see), or a person's own feedback."""
        if status is not None and status not in DECISIONS:
            raise InvalidRequest("'status' is pending, accepted or rejected.", param="status")
        if not self.is_curator(who):
            return [self._view(who, r) for r in self.store.find(status, who.user_id)]
        readable = self._readable(who)
        return [
            self._view(who, r, readable)
            for r in self.store.find(status)
            if r.user_id == who.user_id or _all_readable(r, readable)
        ]

    def curate(self, who: Principal, feedback_id: int, status: str) -> FeedbackView:
        if not self.is_curator(who):
            raise PermissionDenied(
                f"Curating feedback is for admins and members of the group "
                f"'{self.curators_group}'.",
                code="curator_only",
            )
        if status not in DECISIONS:
            raise InvalidRequest("'status' is accepted, rejected or pending.", param="status")
        found = self.store.get(feedback_id)
        readable = self._readable(who)
        if found is None or not (found.user_id == who.user_id or _all_readable(found, readable)):
            raise NotFound(f"No feedback with id {feedback_id}.", param="feedback_id")
        self.store.curate(feedback_id, status, who.user)
        self.audit.record(
            who,
            "feedback_curation",
            model=found.model,
            query=status,
            resources=[{"type": "feedback", "id": feedback_id, "name": None}],
        )
        record = self.store.get(feedback_id)
        assert record is not None
        return self._view(who, record, readable)

    def accepted(self) -> list[FeedbackRecord]:
        """Every accepted item, whole: for the console's data set builder (the operator)."""
        return self.store.find("accepted")

    # --- what a reader sees ----------------------------------------------------------------

    def _readable(self, who: Principal) -> set[int] | None:
        """Collections (documents and meeting transcripts) ``who`` may read; None: all
        (the operator at the console)."""
        if who.user_id == 0:
            return None
        return set(self.access.collection_ids(who, "read", meetings=None))

    def _view(
        self, who: Principal, record: FeedbackRecord, readable: set[int] | None = None
    ) -> FeedbackView:
        readable = self._readable(who) if readable is None else readable
        if readable is None:
            return FeedbackView(record)
        kept = [c for c in record.citations if c.get("collection_id") in readable]
        return FeedbackView(replace(record, citations=kept), len(record.citations) - len(kept))


def _all_readable(record: FeedbackRecord, readable: set[int] | None) -> bool:
    return readable is None or all(c.get("collection_id") in readable for c in record.citations)


def _text(value: str | None, param: str, limit: int) -> str | None:
    if value is None or not value.strip():
        return None
    if len(value) > limit:
        raise InvalidRequest(f"'{param}' is longer than {limit} characters.", param=param)
    return value.strip()
