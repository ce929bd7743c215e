"""Answers grounded in documents: retrieve passages, number them, ask the model to cite.

The model sees the passages as numbered sources and is told to answer only from them, in
the question's language, citing [1], [2]… The list of sources (document, page, heading,
excerpt) goes back to the caller beside the answer, so a person can check every claim.
When no passage shares a single content word with the question, or none is close enough to
it in meaning (the embedding model's relevance floor), the model is not asked at all:
Greffier says it found nothing rather than let a small model improvise.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from greffier.documents.analysis import guess_language
from greffier.models.backends.base import Generation, Message
from greffier.services.search import Hit, Mode, SearchService

EXCERPT_CHARS = 300

_INSTRUCTIONS = {
    "fr": (
        "Tu réponds aux questions à partir des sources numérotées ci-dessous, et d'elles "
        "seules. Réponds en français, brièvement. Après chaque information, indique sa "
        "source entre crochets, par exemple [1]. Si les sources ne contiennent pas la "
        "réponse, dis-le.\n\nSources :\n{sources}"
    ),
    "en": (
        "Answer the question from the numbered sources below, and from them only. Answer "
        "in {language_name}, briefly. After each piece of information, give its source in "
        "square brackets, for example [1]. If the sources do not contain the answer, say so."
        "\n\nSources:\n{sources}"
    ),
}
NOTHING_FOUND = {
    "fr": "Je n'ai trouvé dans les documents consultés aucun passage qui réponde à cette question.",
    "en": "I found no passage in the consulted documents that answers this question.",
    "de": "In den durchsuchten Dokumenten habe ich keine Stelle gefunden, die diese Frage "
    "beantwortet.",
    "es": "No he encontrado en los documentos consultados ningún pasaje que responda a esta "
    "pregunta.",
    "it": "Non ho trovato nei documenti consultati alcun passaggio che risponda a questa domanda.",
}
LANGUAGE_NAMES = {
    "en": "English",
    "fr": "French",
    "de": "German",
    "es": "Spanish",
    "it": "Italian",
}


@dataclass(frozen=True)
class Grounding:
    generation: Generation  # the request with the sources added
    citations: list[dict]
    nothing_found: str | None  # the answer to give instead of asking the model
    passages: tuple[str, ...] = ()  # each cited passage's whole text, in citation order


def citation(index: int, hit: Hit) -> dict:
    excerpt = hit.text if len(hit.text) <= EXCERPT_CHARS else hit.text[:EXCERPT_CHARS] + "…"
    return {
        "index": index,
        "document_id": hit.document_id,
        "document": hit.document,
        "collection_id": hit.collection_id,
        "collection": hit.collection,
        "page": hit.page,
        "heading": hit.heading,
        "excerpt": excerpt,
        "char_start": hit.char_start,
        "char_end": hit.char_end,
        "score": hit.score,
        "meeting_id": hit.meeting_id,
    }


def _close_enough(hits: list[Hit], floor: float) -> bool:
    """A passage among the semantic list's is at least ``floor`` similar to the question.
    Hits found by words alone carry no similarity: the semantic list did not rank them."""
    return any(h.similarity is not None and h.similarity >= floor for h in hits)


def ground(
    search: SearchService,
    generation: Generation,
    collection_ids: list[int],
    *,
    k: int = 4,
    mode: Mode = "hybrid",
    floor: float | None = None,
    instructions: str = "",
) -> Grounding:
    """Blocking (embeds the question). ``floor``: the least question–passage similarity
    of the best passage (None: no floor); ``instructions``: the operator's system message
    (with ``{sources}``) instead of the built-in one."""
    question = next((m.content for m in reversed(generation.messages) if m.role == "user"), "")
    language = guess_language(question)
    hits = search.search(question, collection_ids, k=k, mode=mode) if question else []
    if not hits or (mode != "semantic" and all(h.lexical_rank is None for h in hits)):
        return Grounding(generation, [], NOTHING_FOUND[language])
    if floor is not None and mode != "lexical" and not _close_enough(hits, floor):
        return Grounding(generation, [], NOTHING_FOUND[language])
    sources = "\n\n".join(
        f"[{i}] ({h.document}{f', page {h.page}' if h.page else ''}"
        f"{f', {h.heading}' if h.heading else ''})\n{h.text}"
        for i, h in enumerate(hits, start=1)
    )
    template = instructions or _INSTRUCTIONS["fr" if language == "fr" else "en"]
    # str.replace, not str.format: document text may contain braces.
    filled = template.replace("{language_name}", LANGUAGE_NAMES.get(language, "English"))
    system = Message("system", filled.replace("{sources}", sources))
    others = tuple(m for m in generation.messages if m.role != "system")
    return Grounding(
        replace(generation, messages=(system, *others)),
        [citation(i, h) for i, h in enumerate(hits, start=1)],
        None,
        tuple(h.text for h in hits),
    )
