"""Answering a person's question: the use case behind ``/v1/chat/completions``.

In order: the model is found (an unknown one fails before anything is searched); when the
question asks to be grounded, access control and sensitivity routing decide which
collections and meetings may be searched, the passages are found and numbered
(services/grounding.py); the question, the model and the cited sources go to the audit
log; then the model answers — or, when no passage fits, Greffier says so without asking it.
The API route and any other caller (evaluation, voice) go through here.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from greffier.documents.attribution import attach
from greffier.errors import GreffierError, InvalidRequest, ModelFileError, UpstreamError
from greffier.models.backends.base import ChatBackend, Event, Finished, Generation, TextDelta
from greffier.services.access import AccessService, SensitivityRefused
from greffier.services.audit import AuditService, resources_of
from greffier.services.chat import Answer, ChatService
from greffier.services.grounding import ground
from greffier.services.principal import Principal
from greffier.services.search import Mode, SearchService
from greffier.store.interfaces import FeedbackStore
from greffier.store.records import KeptAnswer

PRUNE_EVERY_SECONDS = 600


@dataclass(frozen=True)
class Retrieval:
    """What to ground an answer on: named collections and meetings ("all" meetings), or
    everything the person may read when both are None."""

    collections: list[int] | None = None
    meetings: list[int] | str | None = None
    k: int = 4
    mode: Mode = "hybrid"


@dataclass(frozen=True)
class Prepared:
    """A question ready to answer: the model's request, its sources, or a canned reply."""

    model: str  # the catalogue id
    generation: Generation
    citations: list[dict] | None  # None when the question was not grounded
    canned: str | None  # Greffier's own answer ("nothing found"), the model not asked
    passages: tuple[str, ...] = ()  # the cited passages' whole texts
    # Filled by answer() and stream() once the answer is complete: each sentence of a
    # grounded answer with the passage supporting it (documents/attribution.py).
    sentences: list[dict] = field(default_factory=list)
    # The completion id under which the finished answer is kept for feedback (its author
    # may rate it); None: kept nowhere.
    kept_as: str | None = None
    user_id: int = 0
    question: str = ""


class AnsweringService:
    def __init__(
        self,
        chat: ChatService,
        access: AccessService,
        search: SearchService,
        audit: AuditService,
        relevance_floor: float | None = None,
        answers: FeedbackStore | None = None,
        answer_days: int = 30,
        instructions: str = "",
    ):
        self.chat = chat
        self.access = access
        self.search = search
        self.audit = audit
        # Below it, no passage answers the question (services/grounding.py); -1 is off.
        self.relevance_floor = (
            relevance_floor if relevance_floor is not None and relevance_floor > -1 else None
        )
        self.instructions = instructions  # the operator's grounding system message, if any
        self.answers = answers
        self.answer_days = answer_days
        self._pruned = float("-inf")  # when kept answers were last pruned (monotonic)

    def prepare(
        self,
        who: Principal,
        model: str | None,
        generation: Generation,
        retrieval: Retrieval | None = None,
        *,
        keep: bool = False,
    ) -> Prepared:
        """Check, search (blocking: embeds the question) and audit. ``keep``: the finished
        answer is kept, with its question and citations, under ``Prepared.kept_as`` (a
        ``chatcmpl-`` id), so that its author can rate it."""
        backend, ids = self._chosen(who, model, retrieval)
        citations, canned, passages = None, None, ()
        if retrieval is not None:
            _check_groundable(generation)
            grounding = ground(
                self.search,
                generation,
                ids,
                k=retrieval.k,
                mode=retrieval.mode,
                floor=self.relevance_floor,
                instructions=self.instructions,
            )
            generation, citations, canned, passages = (
                grounding.generation,
                grounding.citations,
                grounding.nothing_found,
                grounding.passages,
            )
        question = next((m.content for m in reversed(generation.messages) if m.role == "user"), "")
        self.audit.record(
            who,
            "chat",
            model=backend.entry.id,
            query=question if isinstance(question, str) else str(question),
            resources=resources_of(citations or []),
        )
        question = question if isinstance(question, str) else str(question)
        return Prepared(
            backend.entry.id,
            generation,
            citations,
            canned,
            passages,
            kept_as=f"chatcmpl-{uuid.uuid4().hex}" if keep and who.user_id else None,
            user_id=who.user_id,
            question=question,
        )

    def _chosen(
        self, who: Principal, model: str | None, retrieval: Retrieval | None
    ) -> tuple[ChatBackend, list[int]]:
        """The model that answers, and the collections it may draw from. A catalogue name
        is that model (an unknown one fails before anything is searched). An alias's
        models are tried in order: the first that is up and may see what was asked for
        answers — sensitivity routing applies to each, so a named sensitive collection
        skips an external model and goes to the next one, never the other way."""
        names = self.chat.candidates(model)
        refusal: GreffierError | None = None
        for name in names:
            try:
                backend = self.chat.backend_for(name)
                if len(names) > 1:
                    self.chat.require_up(backend)
                ids = []
                if retrieval is not None:
                    ids = self.access.scope(
                        who,
                        retrieval.collections,
                        retrieval.meetings,
                        location=backend.location,
                        model=backend.entry.id,
                    )
                return backend, ids
            except (SensitivityRefused, ModelFileError, UpstreamError) as exc:
                if len(names) == 1:
                    raise
                refusal = exc
        assert refusal is not None
        raise refusal

    def stream(self, who: Principal, prepared: Prepared) -> AsyncIterator[Event]:
        """The answer as events (TextDelta…, Finished); ``prepared.sentences`` is filled
        before the Finished event is yielded."""
        if prepared.canned is not None:
            return self._kept(prepared, _canned(prepared.canned))
        return self._kept(
            prepared,
            self._attributed(
                prepared, self.chat.generate(prepared.model, prepared.generation, who)
            ),
        )

    async def answer(self, who: Principal, prepared: Prepared) -> Answer:
        """The whole answer (``prepared.sentences`` filled)."""
        if prepared.canned is not None:
            answer = Answer(prepared.canned, "stop", 0, 0)
        else:
            answer = await self.chat.answer(prepared.model, prepared.generation, who)
            await asyncio.to_thread(self.attribute, prepared, answer.text)
        await asyncio.to_thread(self.keep, prepared, answer.text)
        return answer

    def keep(self, prepared: Prepared, text: str) -> None:
        """Keep a finished answer for feedback, when it was asked to be kept; answers kept
        longer than ``answer_days`` go (checked at most every ten minutes)."""
        if prepared.kept_as is None or self.answers is None:
            return
        if time.monotonic() - self._pruned > PRUNE_EVERY_SECONDS:
            self._pruned = time.monotonic()
            cutoff = datetime.now(UTC) - timedelta(days=self.answer_days)
            self.answers.forget_answers_before(cutoff.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
        self.answers.keep_answer(
            KeptAnswer(
                prepared.kept_as,
                prepared.user_id,
                prepared.model,
                prepared.question,
                text,
                prepared.citations or [],
            )
        )

    def _kept(self, prepared: Prepared, events: AsyncIterator[Event]) -> AsyncIterator[Event]:
        return _when_finished(events, lambda text: self.keep(prepared, text))

    def attribute(self, prepared: Prepared, text: str) -> list[dict]:
        """Attach each sentence of a grounded answer to the passage that supports it
        (blocking: embeds the sentences and passages); also adds each citation's
        ``spans``, the answer's sentences it supports."""
        if not prepared.passages:
            return prepared.sentences
        supports = attach(text, prepared.passages, self._similarity)
        prepared.sentences[:] = [asdict(s) for s in supports]
        for c in prepared.citations or []:
            c["spans"] = [
                {"start": s.start, "end": s.end} for s in supports if s.citation == c["index"]
            ]
        return prepared.sentences

    def _similarity(self, sentences: list[str], passages: list[str]) -> list[list[float]]:
        embedder = self.search.embedder
        queries = np.asarray(embedder.embed(sentences, "query"))
        documents = np.asarray(embedder.embed(passages, "passage"))
        return (queries @ documents.T).tolist()

    def _attributed(self, prepared: Prepared, events: AsyncIterator[Event]) -> AsyncIterator[Event]:
        return _when_finished(events, lambda text: self.attribute(prepared, text))


async def _when_finished(
    events: AsyncIterator[Event], then: Callable[[str], object]
) -> AsyncIterator[Event]:
    """The events, unchanged; ``then(whole text)`` runs (blocking, on a thread) before the
    Finished event is passed on."""
    text = []
    try:
        async for event in events:
            if isinstance(event, TextDelta):
                text.append(event.text)
            elif isinstance(event, Finished):
                await asyncio.to_thread(then, "".join(text))
            yield event
    finally:
        await events.aclose()


def _check_groundable(generation: Generation) -> None:
    """A grounded answer is prose citing its sources, or Greffier's own "nothing found":
    neither is a function call nor a JSON document, so these are refused together."""
    fmt = generation.response_format
    if generation.tools or (fmt is not None and fmt.type != "text"):
        raise InvalidRequest(
            "retrieval cannot be combined with tools or a JSON response_format: a grounded "
            "answer is text citing its sources. Search with POST /v1/search and pass the "
            "passages yourself, or drop retrieval.",
            param="retrieval",
            code="retrieval_with_tools",
        )


async def _canned(text: str) -> AsyncIterator[Event]:
    """An answer Greffier gives itself, without asking a model."""
    yield TextDelta(text)
    yield Finished("stop", 0, 0)
