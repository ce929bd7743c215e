"""Bias of a chat model on CrowS-Pairs: every pair's two sentences scored by the model's
own log-probabilities (in-process through llama.cpp, or an upstream server that returns
prompt log-probabilities), summarised with bootstrap intervals, and kept for the model's
report card."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from greffier.evaluation.bias import (
    BiasReport,
    Pair,
    PairScore,
    language_of,
    load_pairs,
    summarise,
)
from greffier.models.registry import ModelRegistry
from greffier.services.model_reports import ModelReportService


class BiasService:
    def __init__(self, registry: ModelRegistry, reports: ModelReportService, default_model: str):
        self.registry = registry
        self.reports = reports
        self.default_model = default_model

    def score_pairs(
        self,
        model_id: str | None,
        pairs: Sequence[Pair],
        on_pair: Callable[[], None] | None = None,
    ) -> list[PairScore]:
        """Both sentences of each pair, each scored alone (no prompt)."""
        backend = self.registry.chat_backend(model_id or self.default_model)
        scores = []
        for pair in pairs:
            more, less = backend.score_texts([pair.more, pair.less])
            scores.append(PairScore(pair, more.logprob, less.logprob))
            if on_pair:
                on_pair()
        return scores

    def evaluate(
        self,
        model_id: str | None,
        datasets: Sequence[Path],
        *,
        limit: int | None = None,
        strongest: int = 10,
        on_language: Callable[[str, int], None] | None = None,
        on_pair: Callable[[], None] | None = None,
    ) -> list[tuple[BiasReport, list[PairScore]]]:
        """Each file's pairs scored and summarised (its language from its name); the
        summaries are kept for the report card."""
        model = self.registry.entry(model_id or self.default_model).id
        loaded = [(language_of(path), load_pairs(path, limit)) for path in datasets]
        results = []
        for language, pairs in loaded:
            if on_language:
                on_language(language, len(pairs))
            scores = self.score_pairs(model, pairs, on_pair)
            results.append((summarise(language, scores, strongest), scores))
        summary = {
            "limit": limit,
            "languages": {
                r.language: {
                    "overall": asdict(r.overall),
                    "by_type": {t: asdict(s) for t, s in r.by_type.items()},
                }
                for r, _ in results
            },
        }
        self.reports.record(model, "bias", list(datasets), summary)
        return results
