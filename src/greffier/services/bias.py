"""Bias of a chat model on CrowS-Pairs: every pair's two sentences scored by the model's
own log-probabilities (in-process through llama.cpp, or an upstream server that returns
prompt log-probabilities), summarised with bootstrap intervals, and kept for the model's
report card."""

from __future__ import annotations

import json
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


class KeptScores:
    """Pair scores written to a JSON Lines file as they are computed, so that a run stopped
    half-way continues where it stopped: a line is reused only for the same model (its
    weights' checksum) and the same two sentences."""

    def __init__(self, path: Path, model: str, weights: str):
        self.path, self.model, self.weights = path, model, weights
        self.known: dict[tuple[str, str], tuple[float, float]] = {}
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        self._torn = bool(text) and not text.endswith("\n")  # cut short: start a fresh line
        for line in text.splitlines():
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                continue  # the line being written when the run was stopped
            if item.get("model") == model and item.get("weights") == weights:
                self.known[(item["sent_more"], item["sent_less"])] = (item["more"], item["less"])

    def get(self, pair: Pair) -> tuple[float, float] | None:
        return self.known.get((pair.more, pair.less))

    def keep(self, language: str, score: PairScore) -> None:
        line = {
            "model": self.model,
            "weights": self.weights,
            "language": language,
            "id": score.pair.id,
            "sent_more": score.pair.more,
            "sent_less": score.pair.less,
            "more": score.more,
            "less": score.less,
        }
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(("\n" if self._torn else "") + json.dumps(line, ensure_ascii=False) + "\n")
        self._torn = False


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
        kept: KeptScores | None = None,
        language: str = "",
    ) -> list[PairScore]:
        """Both sentences of each pair, each scored alone (no prompt); pairs already in
        ``kept`` are not scored again, new ones are added to it."""
        backend = self.registry.chat_backend(model_id or self.default_model)
        scores = []
        for pair in pairs:
            if known := kept and kept.get(pair):
                scores.append(PairScore(pair, *known))
            else:
                more, less = backend.score_texts([pair.more, pair.less])
                scores.append(PairScore(pair, more.logprob, less.logprob))
                if kept:
                    kept.keep(language, scores[-1])
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
        scores_file: Path | None = None,
    ) -> list[tuple[BiasReport, list[PairScore]]]:
        """Each file's pairs scored and summarised (its language from its name); the
        summaries are kept for the report card. With ``scores_file``, each pair's scores
        are written there as they come, and those already there are reused."""
        entry = self.registry.entry(model_id or self.default_model)
        model = entry.id
        kept = KeptScores(scores_file, model, entry.weights_sha256) if scores_file else None
        loaded = [(language_of(path), load_pairs(path, limit)) for path in datasets]
        results = []
        for language, pairs in loaded:
            if on_language:
                on_language(language, len(pairs))
            scores = self.score_pairs(model, pairs, on_pair, kept, language)
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
