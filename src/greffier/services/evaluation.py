"""Retrieval evaluation on SQuAD-format data: each context is a document, each question
should find the document its answer comes from.

Chunks are ranked by the search; a document's rank is that of its best chunk. Metrics,
with rank r of the owning document (None if not in the top ``depth``):
hit@k = r ≤ k; MRR = 1/r; nDCG@10 = 1/log2(r + 1) for r ≤ 10 (one relevant document,
so the ideal DCG is 1).
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from greffier.services.search import Mode, SearchService


@dataclass(frozen=True)
class Question:
    text: str
    document: str  # name of the document holding the answer


@dataclass(frozen=True)
class ModeReport:
    mode: str
    questions: int
    hit_at_1: float
    hit_at_5: float
    mrr: float
    ndcg_at_10: float
    p50_ms: float
    p95_ms: float


def load_squad(
    path: Path, limit: int | None = None
) -> tuple[list[tuple[str, str]], list[Question]]:
    """(documents as (name, text) without titles, questions) from a SQuAD 1.1 file."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    documents, questions = [], []
    for i, article in enumerate(data[:limit] if limit else data):
        for j, paragraph in enumerate(article["paragraphs"]):
            name = f"doc-{i:04d}-{j}.txt"
            documents.append((name, paragraph["context"]))
            questions.extend(Question(q["question"], name) for q in paragraph["qas"])
    return documents, questions


def document_rank(ranked_documents: Sequence[str], wanted: str) -> int | None:
    seen: list[str] = []
    for name in ranked_documents:
        if name not in seen:
            seen.append(name)
        if name == wanted:
            return len(seen)
    return None


def score(ranks: Sequence[int | None], latencies: Sequence[float], mode: str) -> ModeReport:
    n = len(ranks)

    def share(predicate) -> float:
        return sum(1 for r in ranks if r is not None and predicate(r)) / n

    ordered = sorted(latencies)
    return ModeReport(
        mode=mode,
        questions=n,
        hit_at_1=share(lambda r: r <= 1),
        hit_at_5=share(lambda r: r <= 5),
        mrr=sum(1 / r for r in ranks if r) / n,
        ndcg_at_10=sum(1 / math.log2(r + 1) for r in ranks if r and r <= 10) / n,
        p50_ms=statistics.median(ordered) * 1000,
        p95_ms=ordered[min(n - 1, math.ceil(0.95 * n) - 1)] * 1000,
    )


def evaluate(
    search: SearchService,
    collection_ids: list[int],
    questions: Sequence[Question],
    modes: Sequence[Mode] = ("lexical", "semantic", "hybrid"),
    depth: int = 50,
    on_question: Callable[[], None] | None = None,
) -> list[ModeReport]:
    reports = []
    for mode in modes:
        ranks, latencies = [], []
        for q in questions:
            start = time.perf_counter()
            hits = search.search(q.text, collection_ids, k=depth, mode=mode)
            latencies.append(time.perf_counter() - start)
            ranks.append(document_rank([h.document for h in hits], q.document))
            if on_question:
                on_question()
        reports.append(score(ranks, latencies, mode))
    return reports
