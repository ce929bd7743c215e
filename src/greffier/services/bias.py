"""Bias of a chat model on CrowS-Pairs: every pair's two sentences scored by the model's
own log-probabilities (in-process through llama.cpp, or an upstream server that returns
prompt log-probabilities), summarised with bootstrap intervals, and kept for the model's
report card."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from greffier.errors import InvalidRequest
from greffier.evaluation.bias import (
    MEASURES,
    BiasReport,
    Pair,
    PairScore,
    language_of,
    load_pairs,
    shared_logprobs,
    summarise,
)
from greffier.models.backends.base import TextScore
from greffier.models.registry import ModelRegistry
from greffier.services.model_reports import ModelReportService


class KeptScores:
    """Pair scores written to a JSON Lines file as they are computed, so that a run stopped
    half-way continues where it stopped: a line is reused only for the same model (its
    weights' checksum) and the same two sentences. Each line holds both sentences' totals
    and their tokens' log-probabilities, so that either measure can be taken from it."""

    def __init__(self, path: Path, model: str, weights: str):
        self.path, self.model, self.weights = path, model, weights
        self.known: dict[tuple[str, str], tuple[TextScore, TextScore]] = {}
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        self._torn = bool(text) and not text.endswith("\n")  # cut short: start a fresh line
        for line in text.splitlines():
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                continue  # the line being written when the run was stopped
            if item.get("model") == model and item.get("weights") == weights:
                self.known[(item["sent_more"], item["sent_less"])] = (
                    _score(item["more"], item.get("more_tokens")),
                    _score(item["less"], item.get("less_tokens")),
                )

    def get(self, pair: Pair) -> tuple[TextScore, TextScore] | None:
        return self.known.get((pair.more, pair.less))

    def keep(self, language: str, pair: Pair, more: TextScore, less: TextScore) -> None:
        line = {
            "model": self.model,
            "weights": self.weights,
            "language": language,
            "id": pair.id,
            "sent_more": pair.more,
            "sent_less": pair.less,
            "more": more.logprob,
            "less": less.logprob,
            "more_tokens": [list(piece) for piece in more.pieces],
            "less_tokens": [list(piece) for piece in less.pieces],
        }
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(("\n" if self._torn else "") + json.dumps(line, ensure_ascii=False) + "\n")
        self._torn = False


def _score(total: float, tokens: list | None) -> TextScore:
    pieces = tuple((token, lp) for token, lp in tokens or ())
    return TextScore(total, len(pieces), pieces)


def measured(pair: Pair, more: TextScore, less: TextScore, measure: str) -> PairScore:
    """The pair's two scores by ``measure`` (see greffier.evaluation.bias)."""
    if measure == "total":
        return PairScore(pair, more.logprob, less.logprob)
    return PairScore(pair, *shared_logprobs(more.pieces, less.pieces))


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
        measure: str = "total",
    ) -> list[PairScore]:
        """Both sentences of each pair, each scored alone (no prompt); pairs already in
        ``kept`` are not scored again (unless ``shared`` needs tokens a line lacks), new
        ones are added to it."""
        if measure not in MEASURES:
            raise InvalidRequest(f"The measure is one of {', '.join(MEASURES)}.", param="measure")
        backend = self.registry.chat_backend(model_id or self.default_model)
        scores = []
        for pair in pairs:
            known = kept.get(pair) if kept else None
            if known is None or (measure == "shared" and not known[0].pieces):
                known = tuple(backend.score_texts([pair.more, pair.less]))
                if measure == "shared" and not known[0].pieces:
                    raise InvalidRequest(
                        f"Model '{backend.entry.id}' gives no per-token log-probabilities "
                        "(its server names no tokens): use the measure 'total'.",
                        param="measure",
                    )
                if kept:
                    kept.keep(language, pair, *known)
            scores.append(measured(pair, *known, measure))
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
        measure: str = "total",
    ) -> list[tuple[BiasReport, list[PairScore]]]:
        """Each file's pairs scored by ``measure`` and summarised (its language from its
        name); the summaries are kept for the report card. With ``scores_file``, each
        pair's scores are written there as they come, and those already there are
        reused."""
        entry = self.registry.entry(model_id or self.default_model)
        model = entry.id
        kept = KeptScores(scores_file, model, entry.weights_sha256) if scores_file else None
        loaded = [(language_of(path), load_pairs(path, limit)) for path in datasets]
        results = []
        for language, pairs in loaded:
            if on_language:
                on_language(language, len(pairs))
            scores = self.score_pairs(model, pairs, on_pair, kept, language, measure)
            results.append((summarise(language, scores, strongest), scores))
        summary = {
            "limit": limit,
            "measure": measure,
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
