"""Grounded answers measured end to end, through the AnsweringService the API uses: for
each question, the chat model answers with retrieval over an indexed collection; the
answer is scored for citations, correctness, faithfulness, abstention and cost
(evaluation/answers.py), and its sentences' attachment to passages for marker coverage
and precision."""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from greffier.errors import InvalidRequest
from greffier.evaluation.answers import abstained, correctness, faithfulness
from greffier.models.backends.base import Generation, Message
from greffier.services.answering import AnsweringService, Retrieval
from greffier.services.grounding import NOTHING_FOUND
from greffier.services.principal import Principal

# Questions about other domains, for abstention: none of an administration's documents
# should answer them.
OUT_OF_DOMAIN = (
    "Quel club a remporté la Coupe du monde de football des clubs en 1987 ?",
    "Combien de temps faut-il cuire un œuf à la coque ?",
    "Quelle est la distance moyenne entre la Terre et la planète Mars ?",
    "Qui a composé l'opéra Carmen ?",
    "Quelle est la hauteur du mont Kilimandjaro ?",
    "Comment remplacer la chaîne d'un vélo de course ?",
    "Quel est le plus long fleuve d'Amérique du Sud ?",
    "Combien de cordes a un violoncelle ?",
    "En quelle année la tour Eiffel a-t-elle été achevée ?",
    "Quelle est la recette traditionnelle de la ratatouille ?",
)


@dataclass(frozen=True)
class AnswerItem:
    question: str
    reference: str | None  # None: out of domain, the answer should be "nothing found"
    document: str | None  # the gold document's name


@dataclass
class AnswerResult:
    question: str
    reference: str | None
    document: str | None
    answer: str
    cited: list[str]  # documents of the citations, in order
    first_cited: bool
    any_cited: bool
    f1: float
    rouge_l: float
    faithfulness: float
    unfaithful: bool
    abstained: bool
    claims: int  # sentences that claim something
    attached: int  # of which Greffier attached to a passage
    attached_gold: int  # of which to a passage of the gold document
    model_markers: bool  # the model wrote at least one [n] marker itself
    seconds: float
    prompt_tokens: int
    completion_tokens: int
    energy_joules: float | None


@dataclass(frozen=True)
class AnswerReport:
    model: str
    questions: int  # answerable ones
    out_of_domain: int
    first_citation: float
    any_citation: float
    f1: float
    rouge_l: float
    faithfulness: float
    unfaithful: float  # share of answers flagged
    abstention: float  # share of out-of-domain questions answered "nothing found"
    false_abstention: float  # share of answerable questions refused
    marker_coverage: float  # claim sentences attached to a passage
    marker_precision: float  # attached sentences whose passage is of the gold document
    model_marker_share: float  # answers carrying at least one [n] of the model's own
    p50_seconds: float
    mean_tokens: float
    mean_energy_joules: float | None


def load_answer_set(path: Path, limit: int | None = None):
    """(documents as (name, text), items) from a SQuAD 1.1 file (each context a document,
    its first answer the reference) or a JSONL file of {"question", "answer", "document"}
    lines (``document`` names a file given separately; a line without ``answer`` is an
    out-of-domain question). JSONL returns no documents."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        items = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                items.append(AnswerItem(row["question"], row.get("answer"), row.get("document")))
            except (ValueError, KeyError, TypeError) as exc:
                raise InvalidRequest(
                    f"{path.name}, line {number}: expected a JSON object with "
                    f'"question", "answer" and "document" ({exc}).'
                ) from None
        return [], items[:limit] if limit else items
    data = json.loads(text)["data"]
    documents, items = [], []
    for i, article in enumerate(data[:limit] if limit else data):
        for j, paragraph in enumerate(article["paragraphs"]):
            name = f"doc-{i:04d}-{j}.txt"
            documents.append((name, paragraph["context"]))
            items.extend(
                AnswerItem(q["question"], q["answers"][0]["text"] if q["answers"] else None, name)
                for q in paragraph["qas"]
            )
    return documents, items


def summarise(model: str, results: Sequence[AnswerResult]) -> AnswerReport:
    answerable = [r for r in results if r.reference is not None]
    others = [r for r in results if r.reference is None]

    def mean(values) -> float:
        values = list(values)
        return sum(values) / len(values) if values else 0.0

    claims = sum(r.claims for r in answerable)
    attached = sum(r.attached for r in answerable)
    energies = [r.energy_joules for r in results if r.energy_joules is not None]
    return AnswerReport(
        model=model,
        questions=len(answerable),
        out_of_domain=len(others),
        first_citation=mean(r.first_cited for r in answerable),
        any_citation=mean(r.any_cited for r in answerable),
        f1=mean(r.f1 for r in answerable),
        rouge_l=mean(r.rouge_l for r in answerable),
        faithfulness=mean(r.faithfulness for r in answerable if not r.abstained),
        unfaithful=mean(r.unfaithful for r in answerable if not r.abstained),
        abstention=mean(r.abstained for r in others),
        false_abstention=mean(r.abstained for r in answerable),
        marker_coverage=attached / claims if claims else 0.0,
        marker_precision=sum(r.attached_gold for r in answerable) / attached if attached else 0.0,
        model_marker_share=mean(r.model_markers for r in answerable),
        p50_seconds=statistics.median([r.seconds for r in results]) if results else 0.0,
        mean_tokens=mean(r.prompt_tokens + r.completion_tokens for r in results),
        mean_energy_joules=mean(energies) if energies else None,
    )


def worst(results: Sequence[AnswerResult], n: int = 20) -> list[AnswerResult]:
    """The answers a person should read first: wrong source, wrong answer, unfaithful."""

    def badness(r: AnswerResult) -> float:
        if r.reference is None:
            return 0.0 if r.abstained else 3.0
        return (not r.any_cited) + (not r.first_cited) * 0.5 + (1 - r.f1) + r.unfaithful

    return sorted(results, key=badness, reverse=True)[:n]


class AnswerEvaluation:
    def __init__(self, answering: AnsweringService):
        self.answering = answering

    def evaluate(
        self,
        who: Principal,
        model: str,
        collection_ids: list[int],
        items: Sequence[AnswerItem],
        *,
        k: int = 4,
        max_tokens: int = 200,
        on_item: Callable[[], None] | None = None,
    ) -> tuple[AnswerReport, list[AnswerResult]]:
        """Ask every question (blocking; one event loop for the whole run). The caller
        keeps the summary for the report card (ModelReportService.record), in the
        operator's database even when the index was a scratch one."""
        results = asyncio.run(
            self._evaluate(who, model, collection_ids, items, k, max_tokens, on_item)
        )
        return summarise(model, results), results

    async def _evaluate(self, who, model, collection_ids, items, k, max_tokens, on_item):
        results = []
        for item in items:
            results.append(await self._one(who, model, collection_ids, item, k, max_tokens))
            if on_item:
                on_item()
        return results

    async def _one(self, who, model, collection_ids, item, k, max_tokens) -> AnswerResult:
        generation = Generation(
            messages=(Message("user", item.question),), max_tokens=max_tokens, temperature=0.0
        )
        started = time.perf_counter()
        prepared = await asyncio.to_thread(
            self.answering.prepare, who, model, generation, Retrieval(collection_ids, None, k)
        )
        answer = await self.answering.answer(who, prepared)
        seconds = time.perf_counter() - started
        citations = prepared.citations or []
        cited = [c["document"] for c in citations]
        by_index = {c["index"]: c["document"] for c in citations}
        f1, rouge = correctness(answer.text, item.reference) if item.reference else (0.0, 0.0)
        faithful, flagged = faithfulness(answer.text, prepared.passages)
        sentences = [s for s in prepared.sentences if s["supported"] is not None]
        attached = [s for s in sentences if s["citation"] is not None]
        return AnswerResult(
            question=item.question,
            reference=item.reference,
            document=item.document,
            answer=answer.text,
            cited=cited,
            first_cited=bool(cited) and cited[0] == item.document,
            any_cited=item.document in cited,
            f1=f1,
            rouge_l=rouge,
            faithfulness=faithful,
            unfaithful=flagged and prepared.canned is None,
            abstained=abstained(answer.text, list(NOTHING_FOUND.values())),
            claims=len(sentences),
            attached=len(attached),
            attached_gold=sum(by_index.get(s["citation"]) == item.document for s in attached),
            model_markers=bool(re.search(r"\[\d+\]", answer.text)),
            seconds=seconds,
            prompt_tokens=answer.prompt_tokens,
            completion_tokens=answer.completion_tokens,
            energy_joules=answer.extra.get("energy_joules"),
        )
