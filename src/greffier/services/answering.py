"""Answering a person's question: the use case behind ``/v1/chat/completions``.

In order: the model is found (an unknown one fails before anything is searched); when the
question asks to be grounded, access control and sensitivity routing decide which
collections and meetings may be searched, the passages are found and numbered
(services/grounding.py); the question, the model and the cited sources go to the audit
log; then the model answers — or, when no passage fits, Greffier says so without asking it.
The API route and any other caller (evaluation, voice) go through here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from greffier.errors import GreffierError, InvalidRequest, ModelFileError, UpstreamError
from greffier.models.backends.base import ChatBackend, Event, Finished, Generation, TextDelta
from greffier.services.access import AccessService, SensitivityRefused
from greffier.services.audit import AuditService, resources_of
from greffier.services.chat import Answer, ChatService
from greffier.services.grounding import ground
from greffier.services.principal import Principal
from greffier.services.search import Mode, SearchService


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


class AnsweringService:
    def __init__(
        self, chat: ChatService, access: AccessService, search: SearchService, audit: AuditService
    ):
        self.chat = chat
        self.access = access
        self.search = search
        self.audit = audit

    def prepare(
        self,
        who: Principal,
        model: str | None,
        generation: Generation,
        retrieval: Retrieval | None = None,
    ) -> Prepared:
        """Check, search (blocking: embeds the question) and audit."""
        backend, ids = self._chosen(who, model, retrieval)
        citations, canned = None, None
        if retrieval is not None:
            _check_groundable(generation)
            grounding = ground(self.search, generation, ids, k=retrieval.k, mode=retrieval.mode)
            generation, citations, canned = (
                grounding.generation,
                grounding.citations,
                grounding.nothing_found,
            )
        question = next((m.content for m in reversed(generation.messages) if m.role == "user"), "")
        self.audit.record(
            who,
            "chat",
            model=backend.entry.id,
            query=question if isinstance(question, str) else str(question),
            resources=resources_of(citations or []),
        )
        return Prepared(backend.entry.id, generation, citations, canned)

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
        """The answer as events (TextDelta…, Finished)."""
        if prepared.canned is not None:
            return _canned(prepared.canned)
        return self.chat.generate(prepared.model, prepared.generation, who)

    async def answer(self, who: Principal, prepared: Prepared) -> Answer:
        """The whole answer."""
        if prepared.canned is not None:
            return Answer(prepared.canned, "stop", 0, 0)
        return await self.chat.answer(prepared.model, prepared.generation, who)


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
